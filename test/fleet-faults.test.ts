/**
 * Fault tests of the fleet with real processes (the scheduler, two training workers and a sync worker as
 * `node apps/…/dist/main.js`) on the real Redis and PostgreSQL:
 * - broken candles for one symbol → that job fails permanently, once, with a clear reason,
 *   while the other symbol of the run is trained and published;
 * - Dropbox answers 429 (Retry-After) and then succeeds → the model is synced once;
 * - PostgreSQL unreachable from the sync worker (a TCP proxy cut, then restored) → the sync
 *   job is retried and completes; nothing lost, nothing doubled;
 * - `kill -9` of the training worker in the middle of a job → the other worker finishes
 *   it once the lock expires; exactly one model row;
 * - SIGTERM in the middle of a job → the worker finishes it within the drain deadline and
 *   exits 0; with the default 4 s deadline (a spot pod) it hands the job back, exits 1, and another worker finishes it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { FlowProducer, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES, jobIds, startRun, type RunProducer } from '@engine/fleet';
import { createLogger, DEFAULT_RETRY, loadConfig } from '@engine/shared';
import { Registry, createPgDb, type Db } from '@engine/registry';
import { startFakeDropbox, type FakeDropbox, type FakeDropboxRequest } from './fakes/fake-dropbox';
import { OHLCV_DIR } from './support/paths';
import { TcpProxy } from './support/proxy';
import { REDIS_URL, RoleProcess, cleanUp, dropRedisPrefix, freshDatabase, jobFinished, jobInFolds, modelRowCount, modelSynced, requireCandleFiles } from './support/fleet-harness';

jest.setTimeout(240_000);

const DAYS = 30;
/** Few trees: CI time. */
const TRAINING = { model: { nEstimators: 30 }, confidence_model: { nEstimators: 20 } };
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const log = createLogger({ level: 'silent' });

/** SUI/USDT's real candles for the window before `runDate`, with one row whose high is below its low. */
async function writeBrokenSui(dir: string, runDate: string): Promise<{ brokenTs: number }> {
  const end = Date.parse(`${runDate}T00:00:00Z`);
  const start = end - DAYS * 86_400_000;
  const brokenTs = start + 10 * 86_400_000 + 37 * 60_000;
  const lines: string[] = [];
  const rl = createInterface({ input: createReadStream(path.join(OHLCV_DIR, 'SUIUSDT-1m.csv.gz')).pipe(createGunzip()) });
  for await (const line of rl) {
    if (lines.length === 0) {
      lines.push(line);
      continue;
    }
    const ts = Number(line.slice(0, line.indexOf(',')));
    if (ts < start || ts >= end) continue;
    if (ts === brokenTs) {
      const [t, o, h, , c, v] = line.split(',');
      lines.push([t, o, h, String(Number(h) * 1.5), c, v].join(',')); // low far above high
    } else lines.push(line);
  }
  await writeFile(path.join(dir, 'SUIUSDT-1m.csv'), `${lines.join('\n')}\n`);
  return { brokenTs };
}

describe('fleet faults', () => {
  const prefix = `t-faults-${process.pid}-${Date.now()}`;
  let dataDir: string;
  let brokenDir: string;
  let db: { url: string; drop(): Promise<void> };
  let proxy: TcpProxy;
  let dropbox: FakeDropbox;
  let inject: ((req: FakeDropboxRequest) => { status: number; retryAfter?: number } | undefined) | undefined;
  const workers: RoleProcess[] = [];
  let sync: RoleProcess;
  let scheduler: RoleProcess;
  let registryDb: Db;
  let registry: Registry;
  let redis: Redis;
  let producer: RunProducer;
  let trainQueue: Queue;
  let syncQueue: Queue;
  let env: Record<string, string>;

  const run = (runDate: string, symbols: string[], source = `csv:${OHLCV_DIR}`, training: Record<string, unknown> = TRAINING) =>
    startRun(producer, { runDate, symbols, source, windowDays: DAYS, trigger: 'manual', retry: DEFAULT_RETRY.train, training }, log);
  const finished = (id: string, timeoutMs = 150_000) => jobFinished(trainQueue, id, timeoutMs);
  /** Wait until job `id` runs on some worker and is in the walk-forward folds; returns that worker's pod id. */
  const midJob = (id: string) => jobInFolds(trainQueue, id);
  const syncedModel = (symbol: string, runDate: string, timeoutMs = 60_000) => modelSynced(registry, symbol, runDate, timeoutMs);
  const modelRows = (symbol: string, runDate: string) => modelRowCount(registryDb, symbol, runDate);

  beforeAll(async () => {
    requireCandleFiles(OHLCV_DIR, ['BTCUSDT', 'ETHUSDT', 'SUIUSDT', 'TAOUSDT']);
    dataDir = await mkdtemp(path.join(tmpdir(), 'engine-faults-'));
    brokenDir = await mkdtemp(path.join(tmpdir(), 'engine-broken-csv-'));
    for (const f of ['BTCUSDT-1m.csv.gz', 'ETHUSDT-1m.csv.gz']) await symlink(path.join(OHLCV_DIR, f), path.join(brokenDir, f));
    db = await freshDatabase('faults');
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(db.url).port || 5432) });
    dropbox = await startFakeDropbox({ failures: (req) => inject?.(req) });
    env = {
      REDIS_URL,
      DATABASE_URL: db.url,
      ENGINE_QUEUE_PREFIX: prefix,
      ENGINE_DATA_DIR: dataDir,
      ENGINE_TRAIN_THREADS: '1',
      ENGINE_LOCK_DURATION_MS: '5000',
      // Long enough for a loaded CI machine to finish the job it holds when SIGTERM comes.
      ENGINE_SHUTDOWN_DEADLINE_MS: '90000',
      DROPBOX_APP_KEY: dropbox.appKey,
      DROPBOX_APP_SECRET: dropbox.appSecret,
      DROPBOX_REFRESH_TOKEN: dropbox.refreshToken,
      DROPBOX_API_URL: dropbox.url,
    };
    workers.push(new RoleProcess('train-a', 'apps/worker/dist/main.js', { ...env, ENGINE_WORKER_ROLE: 'train', RUNPOD_POD_ID: 'pod-a' }));
    workers.push(new RoleProcess('train-b', 'apps/worker/dist/main.js', { ...env, ENGINE_WORKER_ROLE: 'train', RUNPOD_POD_ID: 'pod-b' }));
    // The sync worker reaches PostgreSQL only through the proxy the test can cut.
    sync = new RoleProcess('sync', 'apps/worker/dist/main.js', { ...env, ENGINE_WORKER_ROLE: 'sync', DATABASE_URL: proxy.rewrite(db.url) });
    // The scheduler decides each run once its symbols are evaluated (false-discovery control) and hands the models to the sync queue.
    scheduler = new RoleProcess('scheduler', 'apps/scheduler/dist/main.js', env);
    await Promise.all([...workers.map((w) => w.waitForLog(/training worker ready/)), sync.waitForLog(/sync worker ready/), scheduler.waitForLog(/scheduler ready/)]);
    registryDb = createPgDb({ connectionString: db.url });
    registry = new Registry(registryDb);
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    producer = { flow: new FlowProducer({ connection: redis, prefix }), runQueue: new Queue(QUEUES.run, { connection: redis, prefix }), prefix };
    trainQueue = new Queue(QUEUES.train, { connection: redis, prefix });
    syncQueue = new Queue(QUEUES.sync, { connection: redis, prefix });
  });

  afterAll(async () => {
    const all = [...workers, ...(sync ? [sync] : []), ...(scheduler ? [scheduler] : [])];
    const exits = await Promise.all(all.map((r) => r.stop()));
    await cleanUp([
      () => producer?.flow.close(),
      () => producer?.runQueue.close(),
      () => trainQueue?.close(),
      () => syncQueue?.close(),
      () => redis?.disconnect(),
      () => registryDb?.close(),
      () => dropbox?.close(),
      () => proxy?.close(),
      () => dropRedisPrefix(prefix),
      () => db?.drop(),
      () => dataDir && rm(dataDir, { recursive: true, force: true }),
      () => brokenDir && rm(brokenDir, { recursive: true, force: true }),
    ]);
    // Every worker drained and exited 0 on SIGTERM, except the one killed with -9 and the
    // one whose deadline was too short (both checked in their test).
    const expected = exits.map((e, i) => (e.signal === 'SIGKILL' || all[i]!.name === 'train-c' ? e : { code: 0, signal: null }));
    expect(exits).toEqual(expected);
  });

  it('broken candles fail that symbol permanently with a clear reason; the other symbol is published', async () => {
    const runDate = '2026-07-17';
    const { brokenTs } = await writeBrokenSui(brokenDir, runDate);
    await run(runDate, ['ETH/USDT', 'SUI/USDT'], `csv:${brokenDir}`);
    const sui = await finished(jobIds.train(runDate, 'SUI/USDT'));
    expect(sui.state).toBe('failed');
    expect(sui.job.attemptsMade).toBe(1); // permanent: no retries wasted
    // Code, symbol, the offending candle, the source and the rule broken.
    expect(sui.job.failedReason).toMatch(new RegExp(`^\\[CANDLES_INVALID\\] SUI/USDT candle ${new Date(brokenTs).toISOString().replace(/\./g, '\\.')} from csv:.+ breaks rule '[a-z-]+'`));
    const eth = await finished(jobIds.train(runDate, 'ETH/USDT'));
    expect(eth.state).toBe('completed');
    await syncedModel('ETH/USDT', runDate);
    expect(await modelRows('SUI/USDT', runDate)).toBe(0);
  });

  it('Dropbox answers 429 with Retry-After, then succeeds: the model is synced once', async () => {
    const runDate = '2026-07-16';
    let rateLimited = 0;
    inject = (req) => (req.endpoint === 'files/upload' && rateLimited++ === 0 ? { status: 429, retryAfter: 1 } : undefined);
    try {
      await run(runDate, ['BTC/USDT']);
      expect((await finished(jobIds.train(runDate, 'BTC/USDT'))).state).toBe('completed');
      const m = await syncedModel('BTC/USDT', runDate);
      expect(dropbox.requests.filter((r) => r.status === 429)).toHaveLength(1);
      expect((await registry.events('BTC/USDT')).filter((e) => e.event === 'synced' && e.modelId === m.id)).toHaveLength(1);
      const dir = m.verdict === 'published' ? `/Runpodhuracan/${runDate}/models/BTC-USDT_model.onnx` : `/Runpodhuracan/${runDate}/rejected/BTC-USDT/model.onnx`;
      const detail = (await registry.getModel(m.id))!;
      expect(sha256(dropbox.files.get(dir)!)).toBe(detail.manifest.artifacts['model.onnx']);
    } finally {
      inject = undefined;
    }
  });

  it('PostgreSQL unreachable during sync: retried after the connection is restored, nothing lost', async () => {
    const runDate = '2026-07-15';
    proxy.cut();
    try {
      await run(runDate, ['ETH/USDT']);
      expect((await finished(jobIds.train(runDate, 'ETH/USDT'))).state).toBe('completed');
      const modelId = (await registry.findModel('ETH/USDT', runDate))!.id;
      // The sync worker tries, fails on the database, and backs off.
      await sync.waitForLog(/sync job failed/, (l) => l.jobId === jobIds.sync(modelId) && /registry database unavailable|Connection terminated|ECONNRESET/i.test(String(l.err)), 60_000);
      expect((await registry.findModel('ETH/USDT', runDate))!.syncState).toBe('pending');
    } finally {
      proxy.restore();
    }
    const m = await syncedModel('ETH/USDT', runDate);
    const job = (await syncQueue.getJob(jobIds.sync(m.id)))!;
    expect(await job.getState()).toBe('completed');
    expect(job.attemptsMade).toBeGreaterThanOrEqual(2);
    expect(await modelRows('ETH/USDT', runDate)).toBe(1);
    expect((await registry.events('ETH/USDT')).filter((e) => e.event === 'synced' && e.modelId === m.id)).toHaveLength(1);
  });

  it('kill -9 of a training worker mid-job: the other worker finishes it, exactly one model', async () => {
    const runDate = '2026-07-14';
    const id = jobIds.train(runDate, 'SUI/USDT');
    await run(runDate, ['SUI/USDT']);
    // Wait until the job is deep in training (walk-forward folds), then kill its worker.
    const pod = await midJob(id);
    const victim = workers.find((w) => pod === (w.name === 'train-a' ? 'pod-a' : 'pod-b'))!;
    const survivor = workers.find((w) => w !== victim)!;
    victim.kill9();
    expect((await victim.exited).signal).toBe('SIGKILL');

    const done = await finished(id, 180_000);
    expect(done.state).toBe('completed');
    expect(done.job.processedBy).toBe(survivor.name === 'train-a' ? 'pod-a' : 'pod-b');
    const m = await syncedModel('SUI/USDT', runDate);
    expect(await modelRows('SUI/USDT', runDate)).toBe(1);
    expect(done.job.returnvalue).toMatchObject({ modelId: m.id, symbol: 'SUI/USDT', runDate });
  });

  it('SIGTERM drains: the current job finishes within the deadline; past a short deadline the worker exits and another finishes the job', async () => {
    // The remaining worker (90 s deadline) gets SIGTERM in the middle of a job: it stops
    // taking jobs, finishes this one, exits 0.
    const runDate = '2026-07-13';
    const id = jobIds.train(runDate, 'TAO/USDT');
    const survivor = workers.find((w) => w.child.exitCode === null && w.child.signalCode === null)!;
    await run(runDate, ['TAO/USDT']);
    await midJob(id);
    survivor.child.kill('SIGTERM');
    expect((await survivor.exited).code).toBe(0);
    const done = await finished(id, 5_000);
    expect(done.state).toBe('completed');
    expect(done.job.processedBy).toBe(survivor.name === 'train-a' ? 'pod-a' : 'pod-b');

    // A spot pod: the default 4 s deadline (below RunPod's ~5 s kill window) and a job that
    // needs far longer. The worker exits at the deadline (code 1), handing the job back to
    // the queue first (not waiting for its lock to expire); the next worker finishes it: one model.
    const runDate2 = '2026-07-12';
    const id2 = jobIds.train(runDate2, 'TAO/USDT');
    const hasty = new RoleProcess('train-c', 'apps/worker/dist/main.js', { ...env, ENGINE_WORKER_ROLE: 'train', RUNPOD_POD_ID: 'pod-c', ENGINE_SHUTDOWN_DEADLINE_MS: String(loadConfig({}).worker.shutdownDeadlineMs) });
    expect(loadConfig({}).worker.shutdownDeadlineMs).toBe(4_000);
    workers.push(hasty);
    await hasty.waitForLog(/training worker ready/);
    // Trees enough that every fit takes seconds: no way to finish inside the deadline.
    await run(runDate2, ['TAO/USDT'], `csv:${OHLCV_DIR}`, { model: { nEstimators: 400 }, confidence_model: { nEstimators: 100 } });
    expect(await midJob(id2)).toBe('pod-c');
    const t0 = Date.now();
    hasty.child.kill('SIGTERM');
    expect((await hasty.exited).code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(hasty.output).toMatch(/shutdown deadline passed/);
    expect(hasty.output).toMatch(/training job handed back to the queue/);
    // waiting again already, well inside its 5 s lock, with the attempt not counted
    const back = (await trainQueue.getJob(id2))!;
    expect(await back.getState()).toBe('waiting');
    expect(back.attemptsMade).toBe(0);
    const next = new RoleProcess('train-d', 'apps/worker/dist/main.js', { ...env, ENGINE_WORKER_ROLE: 'train', RUNPOD_POD_ID: 'pod-d' });
    workers.push(next);
    const done2 = await finished(id2, 120_000);
    expect(done2.state).toBe('completed');
    expect(done2.job.processedBy).toBe('pod-d');
    await syncedModel('TAO/USDT', runDate2);
    expect(await modelRows('TAO/USDT', runDate2)).toBe(1);
  });
});
