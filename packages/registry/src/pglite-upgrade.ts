import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { PermanentError, type Logger } from '@engine/shared';
import { MIGRATIONS, migrate } from './migrations';
import { loadPglite, pgliteDb, startPglite, type PgliteConstructor, type PgliteLike } from './pglite';

/**
 * The embedded registry across PostgreSQL majors.
 *
 * PGlite 0.5 is PostgreSQL 18; single-machine registries written before it (PGlite 0.3)
 * are PostgreSQL 17 folders, and PostgreSQL never reads another major's files (PGlite only
 * says "failed to initialize"). `upgradeEmbeddedRegistry` moves such a folder across by
 * dump and restore: the old folder is opened with the old PGlite, a new folder gets the
 * same schema (our migrations, up to the version the data was written with) and every row
 * (COPY in CSV, sequences included), the two are compared table by table, and only then
 * does the new folder take the old one's place. The old folder is kept beside it.
 */

/** The PostgreSQL major of the PGlite the registry runs on (@electric-sql/pglite 0.5). */
export const PGLITE_PG_MAJOR = 18;

/**
 * Older majors we can read, each through an npm alias of the PGlite release built on it. The
 * alias is an optional peer of this package; the repository's dev dependencies provide it.
 */
const READERS: Readonly<Record<number, { alias: string; pglite: string; load: () => Promise<PgliteConstructor> }>> = {
  17: { alias: 'pglite-0-3', pglite: '0.3', load: async () => (await import('pglite-0-3')).PGlite as unknown as PgliteConstructor },
};

/** What an upgrade did, for the log. */
export interface PgliteUpgradeReport {
  dataDir: string;
  from: number;
  to: number;
  /** Where the old folder now is. */
  backup: string;
  /** Rows copied per table (`schema.table`). */
  rows: Record<string, number>;
}

/** The PostgreSQL major a data folder was written by (its PG_VERSION), or null when it holds no database. */
export async function pgDataDirMajor(dataDir: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(path.join(dataDir, 'PG_VERSION'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const major = Number(text.trim());
  if (!Number.isInteger(major) || major <= 0) {
    throw new PermanentError('REGISTRY_UNREADABLE', `the embedded registry ${dataDir} has a PG_VERSION of '${text.trim()}', expected a PostgreSQL major version`, { dataDir });
  }
  return major;
}

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);
const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Bring the embedded registry in `dataDir` to PostgreSQL {@link PGLITE_PG_MAJOR} if an older
 * PGlite wrote it; null when there was nothing to do. The caller holds the folder's lock.
 * Safe to interrupt: the new folder is built beside the old one, and a marker written after
 * the comparison lets the next open finish the two renames.
 */
export async function upgradeEmbeddedRegistry(dataDir: string, opts: { logger?: Logger } = {}): Promise<PgliteUpgradeReport | null> {
  const dir = dataDir.replace(/[\\/]+$/, '');
  const staging = `${dir}.upgrading`;
  const marker = `${dir}.upgrading.json`;
  await finishInterruptedSwap(dir, staging, marker);

  const from = await pgDataDirMajor(dir);
  if (from === null || from === PGLITE_PG_MAJOR) return null;
  if (from > PGLITE_PG_MAJOR) {
    throw new PermanentError(
      'REGISTRY_TOO_NEW',
      `the embedded registry ${dir} was written by PostgreSQL ${from}, newer than this Engine's PGlite (PostgreSQL ${PGLITE_PG_MAJOR}): run the Engine version that wrote it`,
      { dataDir: dir, major: from },
    );
  }
  const reader = READERS[from];
  if (reader === undefined) {
    throw new PermanentError('REGISTRY_TOO_OLD', `the embedded registry ${dir} was written by PostgreSQL ${from}; this Engine can upgrade only PostgreSQL ${Object.keys(READERS).join(', ')} folders`, { dataDir: dir, major: from });
  }
  let Old: PgliteConstructor;
  try {
    Old = await reader.load();
  } catch (err) {
    throw new PermanentError(
      'REGISTRY_NEEDS_UPGRADE',
      `the embedded registry ${dir} was written by PGlite ${reader.pglite} (PostgreSQL ${from}) and must be upgraded to PostgreSQL ${PGLITE_PG_MAJOR}, which needs the package '${reader.alias}' (a dev dependency: run \`npm ci\` in the checkout, then open the registry again)`,
      { dataDir: dir, major: from },
      err,
    );
  }

  opts.logger?.info({ dataDir: dir, from, to: PGLITE_PG_MAJOR }, 'upgrading the embedded registry to a new PostgreSQL major (dump and restore)');
  await rm(staging, { recursive: true, force: true }); // an earlier attempt that did not finish
  const old = await startPglite(Old, dir);
  let rows: Record<string, number>;
  try {
    const fresh = await startPglite(await loadPglite(), staging);
    try {
      rows = await copyRegistry(old, fresh, dir);
    } finally {
      await fresh.close();
    }
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  } finally {
    await old.close();
  }

  let backup = `${dir}.pg${from}`;
  if (await exists(backup)) backup = `${backup}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await writeFile(marker, JSON.stringify({ backup }));
  await finishInterruptedSwap(dir, staging, marker);
  const report: PgliteUpgradeReport = { dataDir: dir, from, to: PGLITE_PG_MAJOR, backup, rows };
  // warn, not info: a one-time change to the user's data folder that leaves a copy behind.
  opts.logger?.warn(report, `the embedded registry now runs on PostgreSQL ${PGLITE_PG_MAJOR}; the PostgreSQL ${from} folder is kept at ${backup} (delete it once you no longer need it)`);
  return report;
}

/**
 * The last step of an upgrade, and its recovery: once the marker exists the new folder is
 * complete and checked, so move the old folder to the backup (unless already moved), the
 * new one into place (unless already there) and drop the marker. Without a marker, a
 * leftover new folder is an unfinished copy, removed by the caller.
 */
async function finishInterruptedSwap(dir: string, staging: string, marker: string): Promise<void> {
  let backup: string;
  try {
    backup = (JSON.parse(await readFile(marker, 'utf8')) as { backup: string }).backup;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (await exists(staging)) {
    if ((await pgDataDirMajor(dir)) !== null) await rename(dir, backup);
    else await rm(dir, { recursive: true, force: true }); // an empty folder made since
    await rename(staging, dir);
  }
  await rm(marker, { force: true });
}

/**
 * Copy every registry schema (a schema with our `schema_migrations`) from `old` to `fresh`,
 * then compare them. Anything else in the database stops the upgrade: it is not ours to
 * rebuild.
 */
async function copyRegistry(old: PgliteLike, fresh: PgliteLike, dir: string): Promise<Record<string, number>> {
  const tables = (
    await old.query<{ schema: string; table: string }>(
      `SELECT table_schema AS schema, table_name AS table FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
    )
  ).rows;
  const schemas = [...new Set(tables.filter((t) => t.table === 'schema_migrations').map((t) => t.schema))];
  const strays = tables.filter((t) => !schemas.includes(t.schema));
  if (strays.length > 0) {
    throw new PermanentError(
      'REGISTRY_UPGRADE_UNKNOWN',
      `the embedded registry ${dir} holds tables the registry did not create (${strays.map((t) => `${t.schema}.${t.table}`).join(', ')}); it was left as it is: move them out, or upgrade the folder by hand with pg_dump`,
      { dataDir: dir },
    );
  }

  const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
  const freshDb = pgliteDb(fresh);
  for (const schema of schemas) {
    const s = ident(schema);
    const version = Number((await old.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${s}.schema_migrations`)).rows[0]?.v ?? 0);
    if (version > latest) {
      throw new PermanentError('REGISTRY_TOO_NEW', `the embedded registry ${dir} has schema ${schema} at version ${version}, newer than this Engine's ${latest}`, { dataDir: dir, schema, version });
    }
    // The same DDL the data was written under; the migrations after it run on the next open.
    await migrate(freshDb, { schema, upTo: version });
  }

  const rows: Record<string, number> = {};
  for (const schema of schemas) {
    const s = ident(schema);
    const own = tables.filter((t) => t.schema === schema);
    await fresh.transaction(async (tx) => {
      // Rows go in as they are: no foreign-key checks or triggers (the publish log's
      // append-only guard included) while the tables fill in whatever order.
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(`DELETE FROM ${s}.schema_migrations`); // rebuilt above, with today's applied_at
      for (const { table } of own) {
        const columns = (
          await old.query<{ name: string }>(`SELECT column_name AS name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, [schema, table])
        ).rows.map((c) => ident(c.name));
        const target = `${s}.${ident(table)} (${columns.join(', ')})`;
        const { blob } = await old.query(`COPY ${target} TO '/dev/blob' WITH (FORMAT csv)`);
        if (blob !== undefined && blob.size > 0) await tx.query(`COPY ${target} FROM '/dev/blob' WITH (FORMAT csv)`, [], { blob });
      }
    });
    const sequences = (await old.query<{ name: string }>(`SELECT sequence_name AS name FROM information_schema.sequences WHERE sequence_schema = $1`, [schema])).rows;
    for (const { name } of sequences) {
      const seq = `${s}.${ident(name)}`;
      const state = (await old.query<{ last: string; called: boolean }>(`SELECT last_value::text AS last, is_called AS called FROM ${seq}`)).rows[0]!;
      await fresh.query('SELECT setval($1::regclass, $2::bigint, $3)', [seq, state.last, state.called]);
    }
    for (const { table } of own) {
      const [a, b] = await Promise.all([fingerprint(old, schema, table), fingerprint(fresh, schema, table)]);
      if (a.n !== b.n || a.digest !== b.digest) {
        throw new PermanentError(
          'REGISTRY_UPGRADE_MISMATCH',
          `upgrading the embedded registry ${dir}: ${schema}.${table} has ${a.n} rows (digest ${a.digest}) in the old folder but ${b.n} (digest ${b.digest}) in the new one; the old folder was left as it is`,
          { dataDir: dir, schema, table },
        );
      }
      rows[`${schema}.${table}`] = a.n;
    }
  }
  return rows;
}

/** Row count and a digest of every row's text, in a collation-independent order. */
async function fingerprint(pg: PgliteLike, schema: string, table: string): Promise<{ n: number; digest: string }> {
  const r = await pg.query<{ n: number; digest: string }>(
    `SELECT count(*)::int AS n, coalesce(md5(string_agg(h, '' ORDER BY h COLLATE "C")), '') AS digest
       FROM (SELECT md5(t::text) AS h FROM ${ident(schema)}.${ident(table)} t) x`,
  );
  return r.rows[0]!;
}
