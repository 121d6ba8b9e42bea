import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { QUEUES, type RunResult, type TrainResult, createRedisConnection, openRunProducer, closeRunProducer, startRun, startScheduler, summariseRun, type RunProducer } from '../src';
import { createLogger, DEFAULT_RETRY, formatUtcDay, loadConfig } from '@engine/shared';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = createLogger({ level: 'silent' });

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a run: one parent, one child per symbol, deterministic ids', () => {
  const prefix = `t-sched-${process.pid}-${Date.now()}`;
  const connection = createRedisConnection(REDIS_URL, 'worker');
  let producer: RunProducer;
  let train: Queue;

  beforeAll(() => {
    producer = openRunProducer(connection, prefix);
    train = new Queue(QUEUES.train, { connection, prefix });
  });
  afterAll(async () => {
    await train.obliterate({ force: true });
    await producer.runQueue.obliterate({ force: true });
    await train.close();
    await closeRunProducer(producer);
    await connection.quit();
  });

  const req = { runDate: '2026-03-01', symbols: ['BTC/USDT', 'ETH/USDT', 'SUI/USDT'], source: 'csv:/nowhere', windowDays: 30, trigger: 'manual' as const, retry: { attempts: DEFAULT_RETRY.train.attempts, backoffMs: 10 } };

  it('adds the run once, even when two triggers race, and a later trigger adds nothing', async () => {
    const [a, b] = await Promise.all([startRun(producer, req, log), startRun(producer, req, log)]);
    expect(a.runJobId).toBe('run-2026-03-01');
    expect(a.trainJobIds).toEqual(['train-2026-03-01-BTC-USDT', 'train-2026-03-01-ETH-USDT', 'train-2026-03-01-SUI-USDT']);
    expect(b.trainJobIds).toEqual(a.trainJobIds);
    const counts = await train.getJobCounts();
    expect(counts.waiting).toBe(3);
    const parent = await producer.runQueue.getJob('run-2026-03-01');
    expect(await parent!.getState()).toBe('waiting-children');

    const again = await startRun(producer, { ...req, trigger: 'schedule' }, log);
    expect(again).toMatchObject({ added: false, existingState: 'waiting-children' });
    expect((await train.getJobCounts()).waiting).toBe(3);
    const job = await train.getJob('train-2026-03-01-ETH-USDT');
    expect(job!.data).toEqual({ runDate: '2026-03-01', symbol: 'ETH/USDT', windowDays: 30, source: 'csv:/nowhere' });
  });

  it('a symbol that fails permanently never blocks the others; the parent lists it', async () => {
    const trainWorker = new Worker<{ symbol: string; runDate: string }, TrainResult>(
      QUEUES.train,
      async (job) => {
        if (job.data.symbol === 'ETH/USDT') throw new UnrecoverableError('[CANDLES_INVALID] ETH/USDT is broken');
        return { modelId: '00000000-0000-4000-8000-000000000000', symbol: job.data.symbol, runDate: job.data.runDate, verdict: job.data.symbol === 'BTC/USDT' ? 'published' : 'rejected', reasons: [], bundleRef: 'x' };
      },
      { connection, prefix },
    );
    let summary: RunResult | undefined;
    const runWorker = new Worker(QUEUES.run, async (job) => (summary = await summariseRun(job, prefix)), { connection, prefix });
    try {
      const s = await until('the run summary', async () => summary);
      expect(s).toEqual({ runDate: '2026-03-01', symbols: req.symbols, published: ['BTC/USDT'], rejected: ['SUI/USDT'], failed: { 'ETH/USDT': '[CANDLES_INVALID] ETH/USDT is broken' }, decisions: [] });
      const eth = await train.getJob('train-2026-03-01-ETH-USDT');
      expect(eth!.attemptsMade).toBe(1);
    } finally {
      await trainWorker.close();
      await runWorker.close();
    }
  });

  it('rejects a malformed request before touching Redis', async () => {
    await expect(startRun(producer, { ...req, runDate: '2026-02-30' }, log)).rejects.toThrow(/runDate: expected a UTC day/);
    await expect(startRun(producer, { ...req, symbols: ['not a pair'] }, log)).rejects.toThrow(/expected an upper-case pair/);
  });
});

describe('the daily Job Scheduler', () => {
  it('a cron fire starts the run of its UTC day for the universe, once', async () => {
    const prefix = `t-daily-${process.pid}-${Date.now()}`;
    const config = loadConfig({ REDIS_URL, ENGINE_QUEUE_PREFIX: prefix, ENGINE_SCHEDULE_CRON: '* * * * * *', ENGINE_UNIVERSE: 'BTC/USDT,TAO/USDT', ENGINE_WINDOW_DAYS: '40', ENGINE_CANDLE_SOURCE: 'csv:/data', ENGINE_TRAIN_ATTEMPTS: '5', ENGINE_TRAIN_BACKOFF_MS: '1234' });
    const scheduler = await startScheduler(config, log);
    const connection = createRedisConnection(REDIS_URL, 'worker');
    const train = new Queue(QUEUES.train, { connection, prefix });
    const run = new Queue(QUEUES.run, { connection, prefix });
    try {
      const today = formatUtcDay(Date.now());
      const parent = await until('the day’s run', async () => (await run.getJob(`run-${today}`)) ?? undefined, 10_000);
      expect(parent.data).toEqual({ runDate: today, symbols: ['BTC/USDT', 'TAO/USDT'], trigger: 'schedule' });
      // Let a few more fires happen: they find the run and add nothing.
      await until('three fires', async () => ((await run.getJobCounts('completed')).completed >= 3 ? true : undefined), 10_000);
      const jobs = await train.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
      expect(jobs.map((j) => j.id).sort()).toEqual([`train-${today}-BTC-USDT`, `train-${today}-TAO-USDT`]);
      const tao = jobs.find((j) => j.id === `train-${today}-TAO-USDT`)!;
      expect(tao.data).toEqual({ runDate: today, symbol: 'TAO/USDT', windowDays: 40, source: 'csv:/data' });
      // the retry policy comes from the configuration
      expect(tao.opts.attempts).toBe(5);
      expect(tao.opts.backoff).toEqual({ type: 'exponential', delay: 1234 });
      expect(await run.getJobSchedulersCount()).toBe(1);
    } finally {
      await scheduler.close();
      await train.obliterate({ force: true });
      await run.obliterate({ force: true });
      await train.close();
      await run.close();
      await connection.quit();
    }
  });
});
