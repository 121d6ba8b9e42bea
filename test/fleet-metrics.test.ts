/**
 * `/metrics` (issue 19, item 1) scraped from each process that serves it: a training
 * worker, the scheduler (both on their health port) and the dashboard — in Prometheus' text
 * format, behind the bearer token of ENGINE_METRICS_TOKEN when it is set, without a
 * dashboard session, and without secrets. Real BullMQ on the real Redis, the registry on the
 * real PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger, loadConfig } from '@engine/shared';
import { FleetMetrics, JOB_NAMES, QUEUES, mergeExpositions, startScheduler, startSyncWorker, startTrainWorker, type Scheduler, type SyncWorker, type TrainWorker } from '@engine/fleet';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { TEST_DATABASE_URL } from '../packages/registry/test/support/pg';
import { PASSWORD, startDashboardFixture, type DashboardFixture } from '../packages/dashboard/test/support/dashboard-fixture';
import { REDIS_URL, dropRedisPrefix, freePort } from './support/fleet-harness';
import { REPO_ROOT } from './support/paths';

// js-yaml is a root dev dependency; no types needed for one call.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { load(s: string): unknown };

const TOKEN = 'scrape-token-0123456789abcdef';


async function scrape(url: string, token?: string): Promise<{ status: number; type: string; body: string }> {
  const r = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

/** The value of the sample `name` carrying every label of `labels` (in any order); undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const l of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(l);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

/** Every metric family is announced once (a scraper refuses a second HELP), and every sample line parses. */
function wellFormed(text: string): void {
  const helps = text.split('\n').filter((l) => l.startsWith('# HELP ')).map((l) => l.split(' ')[2]);
  expect(new Set(helps).size).toBe(helps.length);
  for (const l of text.split('\n')) {
    if (l === '' || l.startsWith('#')) continue;
    expect(l).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/);
  }
}

describe('/metrics on the fleet', () => {
  const prefix = `metrics-${process.pid}-${Date.now()}`;
  const log = createLogger({ level: 'silent' });
  let worker: TrainWorker;
  let scheduler: Scheduler;
  let workerPort: number;
  let schedulerPort: number;
  let syncPort: number;
  let sync: SyncWorker;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'engine-metrics-'));
  let redis: Redis;

  beforeAll(async () => {
    [workerPort, schedulerPort] = [await freePort(), await freePort()];
    const env = { REDIS_URL, DATABASE_URL: TEST_DATABASE_URL, ENGINE_QUEUE_PREFIX: prefix, ENGINE_METRICS_TOKEN: TOKEN, ENGINE_SCHEDULE_CRON: '0 2 * * *' };
    worker = await startTrainWorker(loadConfig({ ...env, ENGINE_HEALTH_PORT: String(workerPort) }), log);
    scheduler = await startScheduler(loadConfig({ ...env, ENGINE_HEALTH_PORT: String(schedulerPort) }), log);
    syncPort = await freePort();
    sync = await startSyncWorker(loadConfig({ ...env, ENGINE_DATA_DIR: dataDir, ENGINE_HEALTH_PORT: String(syncPort) }), log);
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    await worker?.close();
    await scheduler?.close();
    await sync?.close();
    rmSync(dataDir, { recursive: true, force: true });
    await redis?.quit();
    await dropRedisPrefix(prefix);
  });

  test('a training worker: 401 without the token; with it, its jobs by queue and outcome, liveness, and nothing secret', async () => {
    // A job the worker must refuse at once (permanent): its failure is counted and timed.
    const q = new Queue(QUEUES.train, { connection: redis, prefix });
    const events = new QueueEvents(QUEUES.train, { connection: redis, prefix });
    await events.waitUntilReady();
    const failed = new Promise<void>((resolve) => events.on('failed', () => resolve()));
    await q.add(JOB_NAMES.train, { symbol: 'not a pair' }, { jobId: 'bad-payload' });
    await failed;
    await q.close();
    await events.close();

    const url = `http://127.0.0.1:${workerPort}/metrics`;
    const denied = await scrape(url);
    expect(denied.status).toBe(401);
    expect((await scrape(url, 'wrong-token-0123456789abcdef')).status).toBe(401);
    const r = await scrape(url, TOKEN);
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    wellFormed(r.body);
    const role = { role: 'worker-train' };
    expect(sample(r.body, 'engine_up', role)).toBe(1);
    expect(sample(r.body, 'engine_jobs_failed_total', { ...role, queue: 'train', final: 'true' })).toBe(1);
    expect(sample(r.body, 'engine_job_duration_seconds_count', { ...role, queue: 'train', outcome: 'failed' })).toBe(1);
    expect(sample(r.body, 'engine_worker_active_jobs', { ...role, queue: 'train' })).toBe(0);
    expect(sample(r.body, 'engine_process_resident_memory_bytes', role)).toBeGreaterThan(0);
    expect(r.body).not.toContain(TOKEN);
    expect(r.body).not.toContain('postgres://');
    expect(r.body).not.toContain('not a pair');
    // /healthz stays open.
    expect((await scrape(`http://127.0.0.1:${workerPort}/healthz`)).status).toBe(200);
  });

  test('a training job that fails while loading candles is counted as a candle fetch error, by code', async () => {
    const q = new Queue(QUEUES.train, { connection: redis, prefix });
    const events = new QueueEvents(QUEUES.train, { connection: redis, prefix });
    await events.waitUntilReady();
    const failed = new Promise<void>((resolve) => events.on('failed', ({ jobId }) => jobId === 'no-candles' && resolve()));
    await q.add(JOB_NAMES.train, { runDate: '2026-07-15', symbol: 'BTC/USDT', windowDays: 30, source: 'csv:/nonexistent-candle-folder' }, { jobId: 'no-candles', attempts: 1 });
    await failed;
    const reason = (await q.getJob('no-candles'))!.failedReason;
    await q.close();
    await events.close();
    const code = /^\[([A-Z_]+)\]/.exec(reason)?.[1];
    expect(code).toBeDefined();
    const r = await scrape(`http://127.0.0.1:${workerPort}/metrics`, TOKEN);
    expect(sample(r.body, 'engine_candle_fetch_errors_total', { role: 'worker-train', code: code! })).toBe(1);
    // The refused payload of the first test never reached the candles: not counted.
    expect(sample(r.body, 'engine_candle_fetch_errors_total', { role: 'worker-train', code: 'PAYLOAD_INVALID' })).toBeUndefined();
  });

  test('the sync worker: its own jobs and liveness, behind the token', async () => {
    expect((await scrape(`http://127.0.0.1:${syncPort}/metrics`)).status).toBe(401);
    const r = await scrape(`http://127.0.0.1:${syncPort}/metrics`, TOKEN);
    expect(r.status).toBe(200);
    wellFormed(r.body);
    expect(sample(r.body, 'engine_up', { role: 'worker-sync' })).toBe(1);
    expect(r.body).toContain('# TYPE engine_job_duration_seconds histogram');
    expect(r.body).not.toContain(TOKEN);
  });

  test('the scheduler: the next scheduled run and every queue of the fleet, each family announced once', async () => {
    const r = await scrape(`http://127.0.0.1:${schedulerPort}/metrics`, TOKEN);
    expect(r.status).toBe(200);
    wellFormed(r.body);
    const next = Number(/^engine_schedule_next_run_timestamp_seconds\{role="scheduler"\} (\S+)$/m.exec(r.body)?.[1]);
    expect(next * 1000).toBeGreaterThan(Date.now());
    expect(next * 1000 - Date.now()).toBeLessThanOrEqual(24 * 3_600_000);
    for (const queue of ['run', 'train', 'sync']) expect(r.body).toMatch(new RegExp(`^bullmq_job_count\\{queue="${queue}", state="failed", role="scheduler"\\} \\d+$`, 'm'));
    expect(r.body).toMatch(/^bullmq_job_count\{queue="train", state="failed", role="scheduler"\} 2$/m); // the two refused above
    expect(r.body.split('\n').filter((l) => l === '# HELP bullmq_job_count Number of jobs in the queue by state')).toHaveLength(1);
  });
});

describe('/metrics on the dashboard', () => {
  let open: DashboardFixture;
  let guarded: DashboardFixture;
  beforeAll(async () => {
    open = await startDashboardFixture({ failedJob: false, now: () => Date.parse('2026-07-16T12:00:00Z') });
    guarded = await startDashboardFixture({ failedJob: false, env: { ENGINE_METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await open?.close();
    await guarded?.close();
  });

  test('answers without a session: live model age per symbol, models by verdict, the queues', async () => {
    const r = await scrape(`${open.url}/metrics`);
    expect(r.status).toBe(200);
    wellFormed(r.body);
    // BTC's live model is the 2026-07-15 one: 36 h old at the pinned clock.
    expect(r.body).toMatch(/^engine_live_model_age_seconds\{symbol="BTC\/USDT",role="dashboard"\} 129600$/m);
    expect(r.body).toMatch(/^engine_live_models\{role="dashboard"\} 1$/m);
    expect(r.body).toMatch(/^engine_models_recorded\{verdict="published",role="dashboard"\} 2$/m);
    expect(r.body).toMatch(/^engine_models_recorded\{verdict="rejected",role="dashboard"\} 1$/m);
    expect(r.body).toMatch(/^bullmq_job_count\{queue="train", state="waiting", role="dashboard"\} 0$/m);
    expect(r.body).not.toContain(PASSWORD);
  });

  test('with ENGINE_METRICS_TOKEN: 401 without the bearer token, 200 with it', async () => {
    expect((await scrape(`${guarded.url}/metrics`)).status).toBe(401);
    expect((await scrape(`${guarded.url}/metrics`, TOKEN)).status).toBe(200);
  });
});

test('mergeExpositions keeps one HELP and TYPE per family and every sample', () => {
  const a = '# HELP x X\n# TYPE x gauge\nx{q="a"} 1\n';
  const b = '# HELP x X\n# TYPE x gauge\nx{q="b"} 2\n# HELP y Y\n# TYPE y counter\ny 3';
  expect(mergeExpositions([a, b])).toBe('# HELP x X\n# TYPE x gauge\nx{q="a"} 1\nx{q="b"} 2\n# HELP y Y\n# TYPE y counter\ny 3\n');
});

test('infra/: the Prometheus scrape config reaches every role, and each Grafana panel reads a metric Engine exports', () => {
  const prom = yaml.load(readFileSync(path.join(REPO_ROOT, 'infra/prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string; static_configs?: { targets: string[] }[]; dns_sd_configs?: { names: string[]; port: number }[] }[] };
  const targets = prom.scrape_configs.flatMap((c) => [...(c.static_configs ?? []).flatMap((s) => s.targets), ...(c.dns_sd_configs ?? []).flatMap((d) => d.names.map((n) => `${n}:${d.port}`))]);
  expect(targets.sort()).toEqual(['dashboard:3000', 'scheduler:9464', 'sync-worker:9464', 'train-worker:9464']);
  const grafana = JSON.parse(readFileSync(path.join(REPO_ROOT, 'infra/grafana-dashboard.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
  const exported = readFileSync(path.join(REPO_ROOT, 'packages/fleet/src/metrics.ts'), 'utf8') + readFileSync(path.join(REPO_ROOT, 'packages/dashboard/src/metrics.ts'), 'utf8');
  for (const p of grafana.panels) {
    for (const t of p.targets) {
      for (const name of t.expr.match(/\b(engine|bullmq)_[a-z_]+/g) ?? []) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        expect([p.title, base.startsWith('bullmq_') || exported.includes(`'${base}'`)]).toEqual([p.title, true]);
      }
    }
  }
});

test('a training result counts its verdict and, when rejected, each gate it failed once', async () => {
  const m = new FleetMetrics('worker-train');
  m.recordTrainResult({ modelId: 'a', symbol: 'ETH/USDT', runDate: '2026-07-15', verdict: 'rejected', bundleRef: 'x', reasons: ['sharpe_ratio: -11.89 < 0.7 (annualised…)', 'profit_factor: 0.69 < 1.1', 'sharpe_ratio: again'] });
  m.recordTrainResult({ modelId: 'b', symbol: 'BTC/USDT', runDate: '2026-07-15', verdict: 'published', bundleRef: 'y', reasons: [] });
  const text = await m.render();
  expect(sample(text, 'engine_models_total', { verdict: 'rejected' })).toBe(1);
  expect(sample(text, 'engine_models_total', { verdict: 'published' })).toBe(1);
  expect(sample(text, 'engine_gate_failures_total', { gate: 'sharpe_ratio' })).toBe(1);
  expect(sample(text, 'engine_gate_failures_total', { gate: 'profit_factor' })).toBe(1);
});
