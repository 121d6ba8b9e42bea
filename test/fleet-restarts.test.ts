/**
 * Restart and outage tests of the fleet with real processes (`node apps/…/dist/main.js`) on a
 * Redis server of this file's own (append-only file, fsync always, as production's compose
 * file runs it, so queue data survives a restart) and the real PostgreSQL:
 * - Redis killed and restarted while a run trains → the workers reconnect, the run completes:
 *   one model per symbol, each synced (uploaded) once;
 * - Redis killed and restarted while a sync job is held inside a Dropbox upload → the model
 *   ends synced exactly once;
 * - PostgreSQL unreachable from the training workers (a TCP proxy cut) while a job trains →
 *   its attempt fails on the database, the retry after the restore records one model;
 * - the worker holding a job killed (-9) twice → BullMQ's maxStalledCount (2) lets the job
 *   stall twice; the third worker completes it; one model;
 * - two triggers of the same run racing, the scheduler killed (-9) and restarted, and two
 *   more triggers → one run, each symbol trained once;
 * - Dropbox refusing (503) longer than the sync retry budget → the sync job fails, the model
 *   stays pending and latest.json keeps its old pointer; once Dropbox recovers the sync
 *   sweep publishes the model once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FlowProducer, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES, jobIds, startRun, type RunProducer, type RunResult } from '@engine/fleet';
import { createLogger, type RetrySettings } from '@engine/shared';
import { Registry, createPgDb, type Db } from '@engine/registry';
import { startFakeDropbox, type FakeDropbox, type FakeDropboxRequest } from './fakes/fake-dropbox';
import { OHLCV_DIR } from './support/paths';
import { TcpProxy } from './support/proxy';
import { RoleProcess, cleanUp, freePort, freshDatabase, jobFinished, jobInFolds, modelRowCount, modelSynced, requireCandleFiles, until } from './support/fleet-harness';

jest.setTimeout(240_000);

const DAYS = 30;
/** Few trees: CI time. */
const TRAINING = { model: { nEstimators: 30 }, confidence_model: { nEstimators: 20 } };
/** Quick training retries (the default first backoff is 15 s). */
const TRAIN_RETRY: RetrySettings = { attempts: 4, backoffMs: 3_000 };
const log = createLogger({ level: 'silent' });
const slug = (symbol: string) => symbol.replace('/', '-');


/**
 * A redis-server of this file's own on a free port, append-only with fsync on every write:
 * `kill9()` and `start()` again on the same port and directory is a Redis restart that keeps
 * every queue. A detached watchdog kills it if jest dies without its afterAll.
 */
class OwnRedis {
  private proc: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  private constructor(readonly port: number, readonly dir: string) {}

  static async create(dir: string): Promise<OwnRedis> {
    const r = new OwnRedis(await freePort(), dir);
    const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; kill -KILL "$(cat '${dir}/redis.pid' 2>/dev/null)" 2>/dev/null; rm -rf '${dir}'`;
    spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir, '--pidfile', path.join(this.dir, 'redis.pid')];
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.on('exit', resolve));
    await until(`redis-server on ${this.port} to accept connections\n${out}`, () => {
      if (proc.exitCode !== null) throw new Error(`redis-server exited ${proc.exitCode}: ${out}`);
      return /Ready to accept connections/.test(out) ? true : undefined;
    }, 20_000, 50);
  }

  async kill9(): Promise<void> {
    if (this.proc === undefined || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** Kill -9, stay down `downMs`, start again with the same data: returns when it accepts connections. */
  async restart(downMs: number): Promise<void> {
    await this.kill9();
    await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }
}

/** The path a Dropbox upload request writes. */
const uploadPath = (r: FakeDropboxRequest): string =>
  String(r.endpoint === 'files/upload_session/finish' ? (r.arg.commit as { path?: unknown } | undefined)?.path : r.arg.path);
const isUpload = (r: FakeDropboxRequest) => r.endpoint === 'files/upload' || r.endpoint === 'files/upload_session/finish';

describe('fleet restarts and outages', () => {
  const prefix = `t-restarts-${process.pid}-${Date.now()}`;
  let redisDir: string;
  let dataDir: string;
  let ownRedis: OwnRedis;
  let db: { url: string; drop(): Promise<void> };
  let pgProxy: TcpProxy;
  let dropbox: FakeDropbox;
  let inject: ((req: FakeDropboxRequest) => { status: number; retryAfter?: number } | undefined) | undefined;
  let hold: ((req: FakeDropboxRequest) => Promise<void> | undefined) | undefined;
  /** Every role process started (killed ones included), for afterAll. */
  const roles: RoleProcess[] = [];
  const trainers: RoleProcess[] = [];
  let sync: RoleProcess;
  let scheduler: RoleProcess;
  let registryDb: Db;
  let registry: Registry;
  let redis: Redis;
  let producer: RunProducer;
  let trainQueue: Queue;
  let syncQueue: Queue;
  let env: Record<string, string>;
  let podSeq = 0;

  const role = (name: string, script: string, extra: Record<string, string>) => {
    const r = new RoleProcess(name, script, { ...env, ...extra });
    roles.push(r);
    return r;
  };
  /** A fresh training worker; it reaches PostgreSQL only through the proxy the test can cut. */
  const startTrainer = async () => {
    const pod = `pod-${String.fromCharCode(97 + podSeq++)}`;
    const w = role(`train-${pod}`, 'apps/worker/dist/main.js', { ENGINE_WORKER_ROLE: 'train', RUNPOD_POD_ID: pod, DATABASE_URL: pgProxy.rewrite(db.url) });
    trainers.push(w);
    await w.waitForLog(/training worker ready/);
    return w;
  };
  const podOf = (w: RoleProcess) => w.name.replace(/^train-/, '');
  const alive = (w: RoleProcess) => w.child.exitCode === null && w.child.signalCode === null;

  const quiet = <T extends { on(ev: 'error', f: (e: Error) => void): unknown }>(x: T): T => {
    x.on('error', () => undefined); // reconnect errors while Redis restarts
    return x;
  };
  const openProducer = (connection: Redis): RunProducer => ({ flow: quiet(new FlowProducer({ connection, prefix })), runQueue: quiet(new Queue(QUEUES.run, { connection, prefix })), prefix });
  const run = (runDate: string, symbols: string[], p: RunProducer = producer) =>
    startRun(p, { runDate, symbols, source: `csv:${OHLCV_DIR}`, windowDays: DAYS, trigger: 'manual', retry: TRAIN_RETRY, training: TRAINING }, log);
  const finished = (queue: Queue, id: string, timeoutMs = 150_000) => jobFinished(queue, id, timeoutMs);
  const inFolds = (id: string) => jobInFolds(trainQueue, id);
  const syncedModel = (symbol: string, runDate: string, timeoutMs = 90_000) => modelSynced(registry, symbol, runDate, timeoutMs);
  const modelRows = (symbol: string, runDate: string) => modelRowCount(registryDb, symbol, runDate);
  const syncedEvents = async (symbol: string, modelId: string) => (await registry.events(symbol, 1000)).filter((e) => e.event === 'synced' && e.modelId === modelId).length;
  /** Successful uploads of a model's ONNX file (published or rejected layout). */
  const modelUploads = (symbol: string, runDate: string) =>
    dropbox.requests.filter((r) => isUpload(r) && r.status === 200 && uploadPath(r).includes(`/${runDate}/`) && uploadPath(r).includes(slug(symbol)) && uploadPath(r).endsWith('model.onnx')).length;
  /** The symbol's pointer (`latest.json` in the docs): `<root>/latest/BASE-QUOTE.json`. */
  const latestPath = (symbol: string) => `/Runpodhuracan/latest/${slug(symbol)}.json`;
  const latestUploads = (symbol: string) => dropbox.requests.filter((r) => isUpload(r) && r.status === 200 && uploadPath(r) === latestPath(symbol));
  /** Write a file to the fake Dropbox through its API, as an earlier publisher would have. */
  const seedDropbox = async (file: string, bytes: Buffer) => {
    const token = (await (await fetch(`${dropbox.url}/oauth2/token?grant_type=refresh_token&refresh_token=${dropbox.refreshToken}&client_id=${dropbox.appKey}&client_secret=${dropbox.appSecret}`, { method: 'POST' })).json()) as { access_token: string };
    const res = await fetch(`${dropbox.url}/2/files/upload`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token.access_token}`, 'Content-Type': 'application/octet-stream', 'Dropbox-API-Arg': JSON.stringify({ path: file, mode: 'overwrite' }) },
      body: bytes,
    });
    expect(res.status).toBe(200);
  };
  const trainStarts = (id: string) => roles.reduce((n, w) => n + w.logs().filter((l) => l.msg === 'training job started' && l.jobId === id).length, 0);
  /** Model rows, synced events and ONNX uploads per symbol, after the run is synced. */
  const expectOnceEach = async (runDate: string, symbols: string[]) => {
    for (const symbol of symbols) {
      const m = await syncedModel(symbol, runDate);
      expect(await modelRows(symbol, runDate)).toBe(1);
      expect(await syncedEvents(symbol, m.id)).toBe(1);
      expect(modelUploads(symbol, runDate)).toBe(1);
    }
  };

  beforeAll(async () => {
    requireCandleFiles(OHLCV_DIR, ['BTCUSDT', 'ETHUSDT']);
    redisDir = await mkdtemp(path.join(tmpdir(), 'engine-restarts-redis-'));
    dataDir = await mkdtemp(path.join(tmpdir(), 'engine-restarts-'));
    ownRedis = await OwnRedis.create(redisDir);
    db = await freshDatabase('restarts');
    pgProxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(db.url).port || 5432) });
    dropbox = await startFakeDropbox({ failures: (req) => inject?.(req), hold: (req) => hold?.(req) });
    env = {
      REDIS_URL: ownRedis.url,
      DATABASE_URL: db.url,
      ENGINE_QUEUE_PREFIX: prefix,
      ENGINE_DATA_DIR: dataDir,
      ENGINE_TRAIN_THREADS: '1',
      ENGINE_LOCK_DURATION_MS: '5000',
      ENGINE_SHUTDOWN_DEADLINE_MS: '60000',
      // A small sync retry budget (3 attempts, 0.5 s then 1 s apart): the Dropbox outage outlasts it.
      ENGINE_SYNC_ATTEMPTS: '3',
      ENGINE_SYNC_BACKOFF_MS: '500',
      // No sweep while the other faults run (1 January); the last test turns a fast one on.
      ENGINE_SYNC_SWEEP_CRON: '0 0 1 1 *',
      DROPBOX_APP_KEY: dropbox.appKey,
      DROPBOX_APP_SECRET: dropbox.appSecret,
      DROPBOX_REFRESH_TOKEN: dropbox.refreshToken,
      DROPBOX_API_URL: dropbox.url,
    };
    sync = role('sync', 'apps/worker/dist/main.js', { ENGINE_WORKER_ROLE: 'sync' });
    scheduler = role('scheduler', 'apps/scheduler/dist/main.js', {});
    await Promise.all([startTrainer(), startTrainer(), sync.waitForLog(/sync worker ready/), scheduler.waitForLog(/scheduler ready/)]);
    registryDb = createPgDb({ connectionString: db.url });
    registry = new Registry(registryDb);
    redis = quiet(new Redis(ownRedis.url, { maxRetriesPerRequest: null }));
    producer = openProducer(redis);
    trainQueue = quiet(new Queue(QUEUES.train, { connection: redis, prefix }));
    syncQueue = quiet(new Queue(QUEUES.sync, { connection: redis, prefix }));
  });

  afterAll(async () => {
    const exits = await Promise.all(roles.map((r) => r.stop()));
    await cleanUp([
      () => producer?.flow.close(),
      () => producer?.runQueue.close(),
      () => trainQueue?.close(),
      () => syncQueue?.close(),
      () => redis?.disconnect(),
      () => registryDb?.close(),
      () => dropbox?.close(),
      () => pgProxy?.close(),
      () => ownRedis?.kill9(),
      () => db?.drop(),
      () => redisDir && rm(redisDir, { recursive: true, force: true }),
      () => dataDir && rm(dataDir, { recursive: true, force: true }),
    ]);
    // Every role drained and exited 0 on SIGTERM, except those killed with -9 on purpose.
    expect(exits).toEqual(exits.map((e) => (e.signal === 'SIGKILL' ? e : { code: 0, signal: null })));
  });

  it('Redis killed and restarted mid-training: the workers reconnect, the run completes, one model per symbol synced once', async () => {
    const runDate = '2026-07-17';
    const symbols = ['BTC/USDT', 'ETH/USDT'];
    const t0 = Date.now();
    await run(runDate, symbols);
    await inFolds(jobIds.train(runDate, 'BTC/USDT'));
    const activeAtKill = await Promise.all(symbols.map(async (s) => (await trainQueue.getJob(jobIds.train(runDate, s)))!.getState()));
    await ownRedis.restart(1_500);
    expect(activeAtKill).toContain('active');
    const parent = await finished(producer.runQueue, jobIds.run(runDate), 180_000);
    expect(parent.state).toBe('completed');
    const result = parent.job.returnvalue as RunResult;
    expect(result.failed).toEqual({});
    expect([...result.published, ...result.rejected].sort()).toEqual(symbols);
    await expectOnceEach(runDate, symbols);
    // every role saw Redis go and come back
    for (const r of [...trainers, sync, scheduler]) expect(r.output).toMatch(/redis reachable again/);
    for (const s of symbols) expect(await (await trainQueue.getJob(jobIds.train(runDate, s)))!.getState()).toBe('completed');
    console.log(`redis restart mid-training: states at the kill ${activeAtKill.join(',')}, ${symbols.length} models, ${Date.now() - t0} ms; train starts ${symbols.map((s) => trainStarts(jobIds.train(runDate, s))).join(',')}`);
  });

  it('Redis killed and restarted mid-sync (upload held in flight): the model ends synced exactly once', async () => {
    const runDate = '2026-07-16';
    const symbol = 'BTC/USDT';
    const t0 = Date.now();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held: FakeDropboxRequest | undefined;
    hold = (req) => {
      if (held !== undefined || !isUpload(req) || !uploadPath(req).includes(`/${runDate}/`)) return undefined;
      held = req;
      return gate;
    };
    try {
      await run(runDate, [symbol]);
      await until('an upload of the model to be held', () => held, 150_000);
      const modelId = (await registry.findModel(symbol, runDate))!.id;
      expect(await (await syncQueue.getJob(jobIds.sync(modelId)))!.getState()).toBe('active');
      await ownRedis.restart(1_500);
      await sync.waitForLog(/redis reachable again/, () => true, 30_000);
      release();
    } finally {
      hold = undefined;
      release();
    }
    const m = await syncedModel(symbol, runDate);
    expect(held!.status).toBe(200); // the upload held across the restart went through
    const job = await finished(syncQueue, jobIds.sync(m.id), 60_000);
    expect(job.state).toBe('completed');
    expect(await modelRows(symbol, runDate)).toBe(1);
    expect(await syncedEvents(symbol, m.id)).toBe(1);
    expect(modelUploads(symbol, runDate)).toBe(1);
    // latest.json moved at most once, and only to this model
    const pointers = latestUploads(symbol).filter((r) => dropbox.requests.indexOf(r) > dropbox.requests.indexOf(held!));
    expect(pointers.length).toBeLessThanOrEqual(1);
    if (pointers.length === 1) expect(JSON.parse(dropbox.files.get(latestPath(symbol))!.toString()).model_id).toBe(m.id);
    if (m.verdict === 'rejected') expect(pointers).toHaveLength(0);
    console.log(`redis restart mid-sync: verdict ${m.verdict}, sync attempts ${job.job.attemptsMade}, ${Date.now() - t0} ms`);
  });

  it('PostgreSQL unreachable from the training workers mid-job: the attempt fails, the retry after the restore records one model', async () => {
    const runDate = '2026-07-15';
    const symbol = 'ETH/USDT';
    const id = jobIds.train(runDate, symbol);
    const t0 = Date.now();
    await run(runDate, [symbol]);
    await inFolds(id);
    pgProxy.cut();
    try {
      // The job reaches the registry, finds no database and fails this attempt (transient: retried).
      await until('the training attempt to fail on the database', async () => ((await trainQueue.getJob(id))?.attemptsMade ?? 0) >= 1 || undefined, 150_000, 200);
      const job = (await trainQueue.getJob(id))!;
      expect(await job.getState()).not.toBe('failed');
      expect(job.failedReason).toMatch(/database|Connection terminated|ECONNRESET|ECONNREFUSED|connect/i);
      expect(await modelRows(symbol, runDate)).toBe(0);
      await new Promise((r) => setTimeout(r, 4_000));
    } finally {
      pgProxy.restore();
    }
    const done = await finished(trainQueue, id, 150_000);
    expect(done.state).toBe('completed');
    expect(done.job.attemptsMade).toBeGreaterThanOrEqual(2);
    await expectOnceEach(runDate, [symbol]);
    console.log(`pg down during training: attempts ${done.job.attemptsMade}, ${Date.now() - t0} ms`);
  });

  it('the worker holding a job killed -9 twice: the job stalls twice (maxStalledCount 2) and the third worker completes it, one model', async () => {
    const runDate = '2026-07-14';
    const symbol = 'BTC/USDT';
    const id = jobIds.train(runDate, symbol);
    const t0 = Date.now();
    await run(runDate, [symbol]);
    const killed: RoleProcess[] = [];
    for (let stall = 1; stall <= 2; stall++) {
      // The worker running the job now: it logged the start and holds the job (active, its pod).
      const holder = await until(`a live worker to start ${id} (stall ${stall})`, async () => {
        const job = await trainQueue.getJob(id);
        const state = await job?.getState();
        if (state === 'completed' || state === 'failed') throw new Error(`the job is ${state} before stall ${stall} (${job?.failedReason ?? 'no failure'})`);
        const w = trainers.find((t) => alive(t) && podOf(t) === job?.processedBy && t.logs().some((l) => l.msg === 'training job started' && l.jobId === id));
        return w !== undefined && state === 'active' ? w : undefined;
      }, 120_000, 100);
      // Killed within a second of taking it: the job (a few seconds long) is still running.
      holder.kill9();
      expect((await holder.exited).signal).toBe('SIGKILL');
      expect(await (await trainQueue.getJob(id))!.getState()).toBe('active'); // its lock outlives the worker
      killed.push(holder);
      await startTrainer();
    }
    const done = await finished(trainQueue, id, 150_000);
    expect(done.state).toBe('completed');
    expect(done.job.stalledCounter).toBe(2);
    expect(killed.map(podOf)).not.toContain(done.job.processedBy);
    expect(trainStarts(id)).toBe(3);
    expect(roles.some((r) => r.logs().some((l) => /stalled/.test(String(l.msg)) && l.jobId === id))).toBe(true);
    await expectOnceEach(runDate, [symbol]);
    console.log(`two stalls: ${Date.now() - t0} ms, final worker ${done.job.processedBy}`);
  });

  it('two triggers racing, the scheduler killed -9 and restarted, two more triggers: one run, each symbol trained once', async () => {
    const runDate = '2026-07-13';
    const symbols = ['BTC/USDT', 'ETH/USDT'];
    const t0 = Date.now();
    const other = quiet(new Redis(ownRedis.url, { maxRetriesPerRequest: null }));
    const second = openProducer(other);
    // The losing side of startRun's check-then-add race, every time: on its own connection, it
    // read "no run for this day" just before the other trigger added it, and adds the flow again.
    const racer: RunProducer = { flow: second.flow, runQueue: { getJob: () => Promise.resolve(undefined) } as unknown as Queue, prefix };
    try {
      const first = await Promise.all([run(runDate, symbols), run(runDate, symbols, racer)]);
      expect(first.map((r) => r.added)).toEqual([true, true]);
      await inFolds(jobIds.train(runDate, symbols[0]!));
      scheduler.kill9();
      expect((await scheduler.exited).signal).toBe('SIGKILL');
      scheduler = role('scheduler-2', 'apps/scheduler/dist/main.js', {});
      await scheduler.waitForLog(/scheduler ready/);
      // Trigger again once a child has completed (its parent still waiting, or done).
      await until('a training job of the run to complete', async () => ((await Promise.all(symbols.map(async (s) => (await trainQueue.getJob(jobIds.train(runDate, s)))?.getState()))).includes('completed') ? true : undefined), 120_000, 100);
      const states = await Promise.all(symbols.map(async (s) => (await trainQueue.getJob(jobIds.train(runDate, s)))!.getState()));
      const parentState = await (await producer.runQueue.getJob(jobIds.run(runDate)))!.getState();
      const again = await Promise.all([run(runDate, symbols), run(runDate, symbols, second), run(runDate, symbols, racer)]);
      expect(again.map((r) => r.added)).toEqual([false, false, true]);
      const parent = await finished(producer.runQueue, jobIds.run(runDate), 180_000);
      expect(parent.state).toBe('completed');
      expect((parent.job.returnvalue as RunResult).failed).toEqual({});
      expect([...(parent.job.returnvalue as RunResult).published, ...(parent.job.returnvalue as RunResult).rejected].sort()).toEqual(symbols);
      for (const s of symbols) {
        const job = (await trainQueue.getJob(jobIds.train(runDate, s)))!;
        expect(await job.getState()).toBe('completed');
        expect(trainStarts(jobIds.train(runDate, s))).toBe(1);
      }
      const runJobs = (await producer.runQueue.getJobs(['completed', 'failed', 'active', 'waiting', 'waiting-children', 'delayed'])).filter((j) => j.name === 'run' && (j.data as { runDate?: string }).runDate === runDate);
      expect(runJobs).toHaveLength(1);
      await expectOnceEach(runDate, symbols);
      console.log(`racing triggers across a scheduler restart: second triggers when train jobs were ${states.join(',')} and the run ${parentState}; ${Date.now() - t0} ms`);
    } finally {
      await second.flow.close();
      await second.runQueue.close();
      other.disconnect();
    }
  });

  it('Dropbox refusing past the sync retry budget: the sync job fails, the model stays pending and latest.json unchanged; the sweep publishes it once after recovery', async () => {
    const runDate = '2026-07-12';
    const symbol = 'ETH/USDT';
    const t0 = Date.now();
    // The previous pointer, as an earlier day's publisher left it.
    const pointer = latestPath(symbol);
    const previous = Buffer.from(JSON.stringify({ symbol, model_id: '00000000-0000-4000-8000-000000000000', run_date: '2026-07-01' }));
    await seedDropbox(pointer, previous);
    const pointerWrites = latestUploads(symbol).length;
    let refusing = true;
    inject = (req) => (refusing && isUpload(req) ? { status: 503 } : undefined);
    let modelId: string;
    try {
      await run(runDate, [symbol]);
      expect((await finished(trainQueue, jobIds.train(runDate, symbol))).state).toBe('completed');
      modelId = await until('the model to be recorded and released', async () => {
        const m = await registry.findModel(symbol, runDate);
        return m && (await syncQueue.getJob(jobIds.sync(m.id))) ? m.id : undefined;
      }, 90_000);
      // 3 attempts, each retrying the 503 inside the Dropbox client (6 tries, 0.5 s doubling) first.
      const failed = await finished(syncQueue, jobIds.sync(modelId), 150_000);
      expect(failed.state).toBe('failed');
      expect(failed.job.attemptsMade).toBe(3);
      expect(failed.job.failedReason).toMatch(/503|internal_error|unavailable/i);
      expect((await registry.findModel(symbol, runDate))!.syncState).toBe('pending');
      expect((await registry.events(symbol, 1000)).filter((e) => e.event === 'sync_failed' && e.modelId === modelId)).toHaveLength(3);
      expect(modelUploads(symbol, runDate)).toBe(0);
      expect(dropbox.files.get(pointer)).toEqual(previous);
    } finally {
      refusing = false;
      inject = undefined;
    }
    // Dropbox is back, but the failed job is not retried: the model waits for the sweep.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await registry.findModel(symbol, runDate))!.syncState).toBe('pending');
    expect(modelUploads(symbol, runDate)).toBe(0);

    // The sync worker restarted with a sweep every 3 s (production: every 30 minutes).
    expect((await sync.stop()).code).toBe(0);
    sync = role('sync-2', 'apps/worker/dist/main.js', { ENGINE_WORKER_ROLE: 'sync', ENGINE_SYNC_SWEEP_CRON: '*/3 * * * * *' });
    const m = await syncedModel(symbol, runDate, 60_000);
    expect(m.id).toBe(modelId!);
    const recoveredMs = Date.now() - t0;
    await sync.waitForLog(/sync sweep done/, (l) => Number(l.synced) >= 1, 10_000);
    // two more sweeps: nothing published again
    const sweeps = () => sync.logs().filter((l) => l.msg === 'sync sweep done').length;
    const seen = sweeps();
    await until('two more sweeps', () => (sweeps() >= seen + 2 ? true : undefined), 30_000);
    expect(await modelRows(symbol, runDate)).toBe(1);
    expect(await syncedEvents(symbol, m.id)).toBe(1);
    expect(modelUploads(symbol, runDate)).toBe(1);
    if ((await registry.liveModel(symbol))?.modelId === m.id) {
      // published and live: the pointer moves to it, once
      await until('latest.json to name the model', () => (JSON.parse(dropbox.files.get(pointer)?.toString() ?? '{}').model_id === m.id ? true : undefined), 30_000);
      expect(latestUploads(symbol).length).toBe(pointerWrites + 1);
    } else {
      // rejected (or not live): the previous pointer stays, never rewritten
      expect(dropbox.files.get(pointer)).toEqual(previous);
      expect(latestUploads(symbol).length).toBe(pointerWrites);
    }
    console.log(`dropbox outage: verdict ${m.verdict}, synced by the sweep after ${recoveredMs} ms`);
  });
});
