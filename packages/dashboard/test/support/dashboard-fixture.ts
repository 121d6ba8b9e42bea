import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { createLogger, loadConfig } from '@engine/shared';
import { jobIds, JOB_NAMES, QUEUES, type TrainJob } from '@engine/fleet';
import { createPgDb, dropSchema, PgArtifactStore, Registry, stagingKey, TrialLedger, type Db, type ModelRecord } from '@engine/registry';
import { createDashboard, type Dashboard } from '../../src';
import { buildBundle, type SeedSpec } from './seed-bundles';

/** The real services of the test machine; each fixture uses its own schema and queue prefix. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export const USER = 'ops-alice';
export const PASSWORD = 'correct horse battery staple';

/** The registry's seed: two published BTC models (the newer one live) and a rejected ETH model. */
export const SEEDS: Record<'btcOld' | 'btcNew' | 'eth', SeedSpec> = {
  btcOld: { symbol: 'BTC/USDT', runDate: '2026-07-14', seed: 6, edgeGbp: 0.4, expect: 'published' },
  btcNew: { symbol: 'BTC/USDT', runDate: '2026-07-15', seed: 19, edgeGbp: 0.4, expect: 'published', counted: true },
  eth: { symbol: 'ETH/USDT', runDate: '2026-07-15', seed: 1, edgeGbp: -0.6, expect: 'rejected' },
};

/** What the failing training job says: the reason the fleet page must show. */
export const FAILURE_REASON = 'not enough history for SOL/USDT: 12 of 150 days of candles in [2026-02-15, 2026-07-15) (csv:/data/ohlcv)';

export interface DashboardFixture {
  url: string;
  dashboard: Dashboard;
  registry: Registry;
  /** The trial ledger in the fixture's schema (empty: tests record what they need). */
  trials: TrialLedger;
  db: Db;
  schema: string;
  prefix: string;
  models: Record<keyof typeof SEEDS, ModelRecord>;
  /** The failed training job (queue `train`), or null without `failedJob`. */
  failedJobId: string | null;
  /** A Queue handle on the fixture's `train` queue, to check job states. */
  trainQueue: Queue;
  close(): Promise<void>;
}

/**
 * A dashboard over a real registry (PostgreSQL, own schema, seeded through the registry
 * API with bundles staged in its PostgreSQL store) and real BullMQ queues (Redis, own
 * prefix), listening on a free local port.
 */
export async function startDashboardFixture(opts: { readOnly?: boolean; failedJob?: boolean; now?: () => number; env?: Record<string, string> } = {}): Promise<DashboardFixture> {
  const tag = randomBytes(4).toString('hex');
  const schema = `dash_${tag}`;
  const prefix = `dashtest-${tag}`;
  const db = createPgDb({ connectionString: TEST_DATABASE_URL, max: 3 });
  const registry = await Registry.open(db, { schema });
  const store = new PgArtifactStore(db, { schema });
  const trials = new TrialLedger(db, { schema });
  const models = {} as Record<keyof typeof SEEDS, ModelRecord>;
  for (const [name, spec] of Object.entries(SEEDS) as [keyof typeof SEEDS, SeedSpec][]) {
    const bundle = buildBundle(spec);
    const key = stagingKey({ modelId: bundle.manifest.model_id, symbol: spec.symbol, runDate: spec.runDate });
    await store.put(key, bundle);
    models[name] = (await registry.recordModel(bundle, key, { actor: 'sync@fixture' })).model;
  }

  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const trainQueue = new Queue(QUEUES.train, { connection: redis, prefix });
  let failedJobId: string | null = null;
  if (opts.failedJob ?? true) {
    const data: TrainJob = { runDate: '2026-07-15', symbol: 'SOL/USDT', windowDays: 150, source: 'csv:/data/ohlcv' };
    failedJobId = jobIds.train(data.runDate, data.symbol);
    // A worker whose job fails the way a training job with too little history does: permanently, at once.
    const worker = new Worker(
      QUEUES.train,
      async () => {
        throw new UnrecoverableError(FAILURE_REASON);
      },
      { connection: redis, prefix, autorun: false },
    );
    const failed = new Promise<void>((resolve) => worker.on('failed', () => resolve()));
    await trainQueue.add(JOB_NAMES.train, data, { jobId: failedJobId, attempts: 3 });
    void worker.run();
    await failed;
    await worker.close();
  }

  const config = loadConfig({
    DASHBOARD_USER: USER,
    DASHBOARD_PASSWORD: PASSWORD,
    DASHBOARD_READ_ONLY: opts.readOnly ? 'true' : 'false',
    ENGINE_QUEUE_PREFIX: prefix,
    ENGINE_UNIVERSE: 'BTC/USDT,ETH/USDT,SOL/USDT',
    ...(opts.env ?? {}),
  });
  const dashboard = createDashboard({ config, registry, trials, logger: createLogger({ level: 'silent' }), connection: redis, bundles: { store }, now: opts.now });
  const server: Server = await new Promise((resolve) => {
    const s = dashboard.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    dashboard,
    registry,
    trials,
    db,
    schema,
    prefix,
    models,
    failedJobId,
    trainQueue,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      for (const q of dashboard.queues) await q.obliterate({ force: true });
      await dashboard.close();
      await trainQueue.close();
      await redis.quit();
      await dropSchema(db, schema);
      await db.close();
    },
  };
}
