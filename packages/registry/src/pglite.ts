import { open, readFile, rm } from 'node:fs/promises';
import { PermanentError, TransientError } from '@engine/shared';
import { classifyDbError } from './db-errors';
import type { Db, Queryable, Row } from './types';

/**
 * The part of PGlite the registry uses. The current PGlite (0.5, PostgreSQL 18) has it, and
 * so has the one that reads registries written before it (0.3, PostgreSQL 17).
 */
export interface PgliteLike {
  readonly waitReady: Promise<void>;
  query<R>(text: string, params?: unknown[], options?: { blob?: Blob }): Promise<{ rows: R[]; blob?: Blob }>;
  exec(text: string): Promise<Array<{ rows: unknown[] }>>;
  transaction<T>(fn: (tx: Pick<PgliteLike, 'query' | 'exec'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A PGlite class: `new PGlite({ dataDir })`. */
export type PgliteConstructor = new (options: { dataDir?: string }) => PgliteLike;

/** The current PGlite, loaded on first use: the fleet, on PostgreSQL, never pays for its WASM bundle. */
export async function loadPglite(): Promise<PgliteConstructor> {
  return (await import('@electric-sql/pglite')).PGlite as unknown as PgliteConstructor;
}

/** Start a PGlite on `dataDir` (absent: in memory) and wait until it accepts queries. */
export async function startPglite(PGlite: PgliteConstructor, dataDir: string | undefined): Promise<PgliteLike> {
  const pg = new PGlite({ dataDir });
  await pg.waitReady;
  return pg;
}

/** A `;` followed by more SQL: a script of several statements. */
const MULTI_STATEMENT = /;\s*\S/;

/**
 * The registry's `Db` over one PGlite. It has one connection; PGlite itself queues
 * statements behind an open transaction, so a query from elsewhere never runs inside
 * someone else's BEGIN … COMMIT. `afterClose` runs once PGlite is closed (the lock).
 */
export function pgliteDb(pg: PgliteLike, afterClose: () => Promise<void> = async () => undefined): Db {
  const run = async <R extends Row>(q: Pick<PgliteLike, 'query' | 'exec'>, text: string, params: readonly unknown[] = []): Promise<R[]> => {
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
        await afterClose();
      }
    },
  };
}

/**
 * PGlite has exactly one connection: two processes opening the same folder (say
 * `engine models list` while `engine train` runs) would corrupt it. A lock file beside
 * the folder holds the owner's pid; a lock whose process is gone is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
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
