import * as path from 'node:path';
import { ConfigError, type Config, type Logger } from '@engine/shared';
import { FitCacheStore, FolderArtifactStore, PgArtifactStore, Registry, TrialLedger, describeRegistryDb, openRegistryDb, type ArtifactStore, type Db } from '@engine/registry';
import { replayId, replaySchema, type ReplayRequest } from './plan';

/** One (symbol, retrain date) of a replay, once its run has decided. */
export interface ReplayStep {
  symbol: string;
  runDate: string;
  /** The model trained that day (null: the job failed, see `error`). */
  modelId: string | null;
  /** Its verdict after the run's decision (gates and false-discovery control). */
  verdict: 'published' | 'rejected' | null;
  /** The symbol's live model in the replay's registry once the day was decided (null: none). */
  liveModelId: string | null;
  error: string | null;
}

/**
 * A replay's namespace: the registry's own tables (models, gates, append-only publish log,
 * live pointers, trials, staged bundles) in the schema `engine_replay_<id>`, migrated by
 * the same code as production's, so publishing, rollback and the trial ledger follow the
 * production rules — and no statement of the replay names a production table. Beside them
 * the replay's own two tables: the request, its report, and the decided steps.
 */
export interface ReplayContext {
  id: string;
  schema: string;
  db: Db;
  registry: Registry;
  trials: TrialLedger;
  /** The replay's fold-fit cache (its schema's `fit_cache`): consecutive retrain dates share most folds. */
  fitCache: FitCacheStore;
  /** The replay's staged bundles: PostgreSQL bytes in its schema (fleet), `<data dir>/replays/<id>/staging` (PGlite). */
  store: ArtifactStore;
  where: string;
  steps(): Promise<ReplayStep[]>;
  recordStep(s: ReplayStep): Promise<void>;
  /** The request this namespace was made for (null before `begin`). */
  request(): Promise<ReplayRequest | null>;
  saveReport(report: unknown): Promise<void>;
  report(): Promise<unknown>;
  close(): Promise<void>;
}

/** The decided steps of the replay in the (quoted) schema `s`, by date then symbol. */
async function readSteps(db: Db, s: string): Promise<ReplayStep[]> {
  const rows = await db.query<{ symbol: string; run_date: string; model_id: string | null; verdict: string | null; live_model_id: string | null; error: string | null }>(
    `SELECT symbol, run_date::text AS run_date, model_id::text AS model_id, verdict, live_model_id::text AS live_model_id, error FROM ${s}.replay_steps ORDER BY run_date, symbol`,
  );
  return rows.map((r) => ({ symbol: r.symbol, runDate: r.run_date, modelId: r.model_id, verdict: r.verdict as ReplayStep['verdict'], liveModelId: r.live_model_id, error: r.error }));
}

/** A replay's namespace on an open database handle (the fleet's workers share one handle per thread). */
export type ReplayNamespace = Omit<ReplayContext, 'close' | 'where'> & { setRequest(r: ReplayRequest): Promise<void> };

export async function openReplayNamespace(db: Db, config: Pick<Config, 'databaseUrl' | 'dataDir'>, id: string): Promise<ReplayNamespace> {
  const schema = replaySchema(id);
  const registry = await Registry.open(db, { schema });
  const s = `"${schema}"`;
  await db.query(`CREATE TABLE IF NOT EXISTS ${s}.replay_meta (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${s}.replay_steps (
      symbol text NOT NULL, run_date date NOT NULL, model_id uuid, verdict text, live_model_id uuid, error text,
      decided_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (symbol, run_date))`);
  const store: ArtifactStore = config.databaseUrl !== undefined ? new PgArtifactStore(db, { schema }) : new FolderArtifactStore(path.join(config.dataDir, 'replays', id, 'staging'));
  const getMeta = async (key: string): Promise<unknown> => (await db.query<{ value: unknown }>(`SELECT value FROM ${s}.replay_meta WHERE key = $1`, [key]))[0]?.value ?? null;
  const setMeta = async (key: string, value: unknown): Promise<void> => {
    await db.query(`INSERT INTO ${s}.replay_meta (key, value) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, [key, JSON.stringify(value)]);
  };
  return {
    id,
    schema,
    db,
    registry,
    trials: new TrialLedger(db, { schema }),
    fitCache: new FitCacheStore(db, { schema }),
    store,
    steps: () => readSteps(db, s),
    async recordStep(st) {
      // First decision wins: a resumed replay never rewrites a decided day.
      await db.query(`INSERT INTO ${s}.replay_steps (symbol, run_date, model_id, verdict, live_model_id, error) VALUES ($1, $2::date, $3, $4, $5, $6) ON CONFLICT (symbol, run_date) DO NOTHING`, [
        st.symbol, st.runDate, st.modelId, st.verdict, st.liveModelId, st.error,
      ]);
    },
    request: async () => (await getMeta('request')) as ReplayRequest | null,
    saveReport: (report) => setMeta('report', report),
    report: () => getMeta('report'),
    setRequest: (r) => setMeta('request', r),
  };
}

/**
 * Open (creating on first use) the namespace of `req`'s replay in this configuration's
 * registry database (DATABASE_URL, or the embedded PGlite under the data dir). A namespace
 * made for another request under the same id is refused (it cannot happen unless the hash
 * collides, or someone wrote the table by hand).
 */
export async function openReplayContext(config: Config, req: ReplayRequest, opts: { actor: string; logger?: Logger; poolSize?: number }): Promise<ReplayContext> {
  const id = replayId(req);
  const db = await openRegistryDb(config, { max: opts.poolSize, applicationName: `engine-replay-${id}`, logger: opts.logger });
  try {
    const ns = await openReplayNamespace(db, config, id);
    const have = await ns.request();
    if (have === null) await ns.setRequest(req);
    else if (replayId(have) !== id) throw new ConfigError(`replay namespace ${ns.schema} holds another request (id ${replayId(have)}); refusing to mix them`);
    const { setRequest: _set, ...rest } = ns;
    return { ...rest, where: describeRegistryDb(config), close: () => db.close() };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

/** Replays recorded in this database: ids and their requests (for `engine replay --list` and the dashboard). */
export async function listReplays(db: Db): Promise<{ id: string; request: ReplayRequest; steps: number; decided: number; reported: boolean }[]> {
  const schemas = await db.query<{ schema_name: string }>(`SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'engine\\_replay\\_%' ORDER BY schema_name`);
  const out: { id: string; request: ReplayRequest; steps: number; decided: number; reported: boolean }[] = [];
  for (const { schema_name } of schemas) {
    const id = schema_name.slice('engine_replay_'.length);
    const s = `"${replaySchema(id)}"`;
    try {
      const meta = await db.query<{ key: string; value: unknown }>(`SELECT key, value FROM ${s}.replay_meta`);
      const request = meta.find((m) => m.key === 'request')?.value as ReplayRequest | undefined;
      if (request === undefined) continue;
      const n = (await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${s}.replay_steps`))[0]?.n ?? '0';
      const dates = Math.ceil((Date.parse(`${request.to}T00:00:00Z`) - Date.parse(`${request.from}T00:00:00Z`)) / 86_400_000 / request.retrainEveryDays);
      out.push({ id, request, steps: dates * request.symbols.length, decided: Number(n), reported: meta.some((m) => m.key === 'report') });
    } catch {
      // a schema without the replay tables (being created): skip it
    }
  }
  return out;
}

/** One replay read without writing anything (the dashboard): its request, decided steps and report; null when there is no such replay. */
export async function readReplay(db: Db, id: string): Promise<{ id: string; request: ReplayRequest; steps: ReplayStep[]; report: unknown } | null> {
  if (!/^[0-9a-f]{12}$/.test(id)) return null;
  const schema = replaySchema(id);
  const exists = await db.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'replay_steps'`, [schema]);
  if (exists.length === 0) return null;
  const s = `"${schema}"`;
  const meta = await db.query<{ key: string; value: unknown }>(`SELECT key, value FROM ${s}.replay_meta`);
  const request = meta.find((m) => m.key === 'request')?.value as ReplayRequest | undefined;
  if (request === undefined) return null;
  return { id, request, steps: await readSteps(db, s), report: meta.find((m) => m.key === 'report')?.value ?? null };
}
