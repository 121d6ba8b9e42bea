import * as path from 'node:path';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { Pool, type PoolClient } from 'pg';
import { PermanentError, TransientError, redactUrl, type Config } from '@engine/shared';
import type { Db, Queryable, Row } from './types';

/** SQLSTATE classes worth a retry: connection loss, server shutdown, lock timeouts, serialization. */
const TRANSIENT_SQLSTATE = /^(08|53|57P|40)/;
/** Node socket errors that mean "the database is not reachable right now". */
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/**
 * Turn a driver error into an Engine error: unreachable / dropped connections are
 * transient (the job retries), everything else (constraint, syntax) is permanent.
 * The SQL text is kept in details, never the parameters (they may hold bundle bytes).
 */
export function classifyDbError(err: unknown, sql: string): Error {
  if (err instanceof PermanentError || err instanceof TransientError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const statement = sql.replace(/\s+/g, ' ').trim().slice(0, 160);
  const transient =
    (code !== undefined && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_NODE_CODES.has(code))) ||
    /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(message);
  if (transient) {
    return new TransientError('DB_UNAVAILABLE', `registry database unavailable: ${message} (while running: ${statement})`, { code, statement }, err);
  }
  return new PermanentError('DB_QUERY_FAILED', `registry query failed: ${message} (SQLSTATE ${code ?? 'none'}; statement: ${statement})`, { code, statement }, err);
}

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

/** Loaded on first use: the fleet, on PostgreSQL, never pays for PGlite's WASM bundle. */
const loadPGlite = async () => (await import('@electric-sql/pglite')).PGlite;
type PGlite = InstanceType<Awaited<ReturnType<typeof loadPGlite>>>;

/** A `;` followed by more SQL: a script of several statements. */
const MULTI_STATEMENT = /;\s*\S/;

/** Options of the embedded implementation. */
export interface PgliteDbOptions {
  /** Folder holding the database files; absent → in memory (tests). */
  dataDir?: string;
}

/**
 * Single-machine mode's database: PGlite (PostgreSQL compiled to WASM) in-process.
 * It has one connection; PGlite itself queues statements behind an open transaction,
 * so a query from elsewhere never runs inside someone else's BEGIN … COMMIT.
 */
export async function createPgliteDb(opts: PgliteDbOptions = {}): Promise<Db> {
  let unlock: () => Promise<void> = async () => undefined;
  if (opts.dataDir !== undefined) {
    await mkdir(opts.dataDir, { recursive: true });
    unlock = await lockDataDir(opts.dataDir);
  }
  const PGliteImpl = await loadPGlite();
  let pg: PGlite;
  try {
    pg = new PGliteImpl({ dataDir: opts.dataDir });
    await pg.waitReady;
  } catch (err) {
    await unlock();
    throw err;
  }
  const run = async <R extends Row>(q: Pick<PGlite, 'query' | 'exec'>, text: string, params: readonly unknown[] = []): Promise<R[]> => {
    try {
      // The extended protocol (query) takes one statement; a parameterless script such as
      // a migration goes through the simple protocol (exec), like pg does for it.
      if (params.length === 0 && MULTI_STATEMENT.test(text)) {
        const results = await q.exec(text);
        return (results[results.length - 1]?.rows ?? []) as R[];
      }
      const r = await q.query<R>(text, params as unknown[]);
      return r.rows;
    } catch (err) {
      throw classifyDbError(err, text);
    }
  };
  return {
    kind: 'pglite',
    query: (text, params) => run(pg, text, params),
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return pg.transaction(async (t) => fn({ query: (text, params) => run(t, text, params) }));
    },
    async close() {
      try {
        await pg.close();
      } finally {
        await unlock();
      }
    },
  };
}

/**
 * PGlite has exactly one connection: two processes opening the same folder (say
 * `engine models list` while `engine train` runs) would corrupt it. A lock file beside
 * the folder holds the owner's pid; a lock whose process is gone is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = `${dataDir.replace(/[\\/]+$/, '')}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
        throw new PermanentError(
          'REGISTRY_LOCKED',
          `the embedded registry ${dataDir} is open in process ${owner}${owner === process.pid ? ' (this one)' : ''}; single-machine mode allows one process at a time: stop it, or set DATABASE_URL to share a PostgreSQL`,
          { dataDir, owner },
        );
      }
      await rm(lockPath, { force: true }); // stale: its process is gone
    }
  }
  throw new TransientError('REGISTRY_LOCKED', `could not take the lock ${lockPath}: another process took it at the same moment`, { dataDir });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The database for this configuration: `DATABASE_URL` when set (the fleet), otherwise an
 * embedded PGlite under `<ENGINE_DATA_DIR>/registry` (single-machine mode).
 */
export async function openRegistryDb(config: Pick<Config, 'databaseUrl' | 'dataDir'>, opts: { max?: number; applicationName?: string } = {}): Promise<Db> {
  if (config.databaseUrl !== undefined) {
    return createPgDb({ connectionString: config.databaseUrl, ...opts });
  }
  return createPgliteDb({ dataDir: path.join(config.dataDir, 'registry') });
}

/** Where `openRegistryDb` connects, for logs (credentials removed). */
export function describeRegistryDb(config: Pick<Config, 'databaseUrl' | 'dataDir'>): string {
  return config.databaseUrl !== undefined ? redactUrl(config.databaseUrl) : `pglite:${path.join(config.dataDir, 'registry')}`;
}
