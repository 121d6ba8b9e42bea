import * as path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { Pool, type PoolClient } from 'pg';
import { redactUrl, type Config, type Logger } from '@engine/shared';
import { classifyDbError } from './db-errors';
import { loadPglite, lockDataDir, pgliteDb, startPglite, type PgliteConstructor } from './pglite';
import { upgradeEmbeddedRegistry } from './pglite-upgrade';
import type { Db, Queryable, Row } from './types';

export { classifyDbError } from './db-errors';

class PgQueryable implements Queryable {
  constructor(private readonly client: Pool | PoolClient) {}
  async query<R extends Row = Row>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    try {
      const r = await this.client.query(text, params as unknown[]);
      return r.rows as R[];
    } catch (err) {
      throw classifyDbError(err, text);
    }
  }
}

/** Options of the `pg` implementation. */
export interface PgDbOptions {
  connectionString: string;
  /** Pool size (default 5: the registry does short transactions). */
  max?: number;
  /** Shown in `pg_stat_activity` (default `engine-registry`). */
  applicationName?: string;
  /** Give up connecting after this long (default 10 s) so a dead database fails a job instead of hanging it. */
  connectionTimeoutMillis?: number;
}

/** The fleet's database: a `pg` connection pool. */
export function createPgDb(opts: PgDbOptions): Db {
  const pool = new Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 5,
    application_name: opts.applicationName ?? 'engine-registry',
    connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 10_000,
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const top = new PgQueryable(pool);
  return {
    kind: 'pg',
    query: (text, params) => top.query(text, params),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw classifyDbError(err, 'connect');
      }
      const tx = new PgQueryable(client);
      let broken = false;
      try {
        await tx.query('BEGIN');
        const out = await fn(tx);
        await tx.query('COMMIT');
        return out;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // connection is gone: discard it instead of returning it to the pool
        }
        throw err;
      } finally {
        client.release(broken ? true : undefined);
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/** Options of the embedded implementation. */
export interface PgliteDbOptions {
  /** Folder holding the database files; absent → in memory (tests). */
  dataDir?: string;
  /**
   * The PGlite class to open the folder with. Default: the current @electric-sql/pglite,
   * after upgrading a folder an older PGlite wrote (the upgrade's test writes one with it).
   */
  pglite?: PgliteConstructor;
  /** Where an upgrade of the folder is reported. */
  logger?: Logger;
}

/**
 * Single-machine mode's database: PGlite (PostgreSQL compiled to WASM) in-process, one
 * process at a time (a lock file beside the folder). A folder written by an older PGlite is
 * upgraded first (pglite-upgrade.ts).
 */
export async function createPgliteDb(opts: PgliteDbOptions = {}): Promise<Db> {
  let unlock: () => Promise<void> = async () => undefined;
  if (opts.dataDir !== undefined) {
    await mkdir(path.dirname(path.resolve(opts.dataDir)), { recursive: true });
    unlock = await lockDataDir(opts.dataDir);
  }
  try {
    if (opts.dataDir !== undefined) {
      if (opts.pglite === undefined) await upgradeEmbeddedRegistry(opts.dataDir, { logger: opts.logger });
      await mkdir(opts.dataDir, { recursive: true });
    }
    const pg = await startPglite(opts.pglite ?? (await loadPglite()), opts.dataDir);
    return pgliteDb(pg, unlock);
  } catch (err) {
    await unlock();
    throw err;
  }
}

/**
 * The database for this configuration: `DATABASE_URL` when set (the fleet), otherwise an
 * embedded PGlite under `<ENGINE_DATA_DIR>/registry` (single-machine mode).
 */
export async function openRegistryDb(config: Pick<Config, 'databaseUrl' | 'dataDir'>, opts: { max?: number; applicationName?: string; logger?: Logger } = {}): Promise<Db> {
  if (config.databaseUrl !== undefined) {
    return createPgDb({ connectionString: config.databaseUrl, max: opts.max, applicationName: opts.applicationName });
  }
  return createPgliteDb({ dataDir: path.join(config.dataDir, 'registry'), logger: opts.logger });
}

/** Where `openRegistryDb` connects, for logs (credentials removed). */
export function describeRegistryDb(config: Pick<Config, 'databaseUrl' | 'dataDir'>): string {
  return config.databaseUrl !== undefined ? redactUrl(config.databaseUrl) : `pglite:${path.join(config.dataDir, 'registry')}`;
}
