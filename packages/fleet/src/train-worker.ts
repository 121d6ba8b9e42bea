import { Worker, type Job } from 'bullmq';
import { compiledSibling, ConfigError, type Config, type Logger, type Closeable } from '@engine/shared';
import { QUEUES, type SweepPointResult, type TrainResult } from './jobs';
import { startHealthServer } from './health';
import { createRedisConnection, ensureRedis, redisHealth } from './redis';
import { workerIdentity, type WorkerIdentity } from './identity';
import { FleetMetrics } from './metrics';

/** Tuning of a training worker; defaults come from the configuration. */
export interface TrainWorkerOptions {
  /** Jobs run at once by this process (each in its own worker thread). */
  concurrency: number;
  /** How long a job's lock lives without renewal (the main thread renews it at half). */
  lockDurationMs: number;
  /**
   * How often this worker looks for stalled jobs (locks that expired because their worker
   * died). Default: min(lockDuration, 30 s).
   */
  stalledIntervalMs?: number;
  /** How many times a job may stall (its worker died) before it fails. Default 2. */
  maxStalledCount?: number;
  /**
   * The environment the job threads read their configuration from (each thread runs
   * `loadConfig()`). Default: this process's environment, as in a pod.
   */
  env?: Record<string, string | undefined>;
}

export interface TrainWorker extends Closeable {
  readonly identity: WorkerIdentity;
  readonly worker: Worker<unknown, TrainResult | SweepPointResult>;
}

/**
 * Start a training worker: BullMQ runs each job in a sandboxed processor in a worker
 * thread (`train-processor.js`, from dist), so the CPU-bound pipeline never blocks the
 * event loop that renews job locks. Closing stops taking new jobs and waits for the current
 * ones (the caller bounds the wait with the shutdown deadline).
 */
export async function startTrainWorker(config: Config, log: Logger, opts: Partial<TrainWorkerOptions> = {}): Promise<TrainWorker> {
  if (!config.redisUrl) throw new ConfigError('a training worker needs REDIS_URL (without it, use single-machine mode: `engine train`)');
  if (!config.databaseUrl) throw new ConfigError('a training worker needs DATABASE_URL (the registry and the staging store live in PostgreSQL)');
  const o: TrainWorkerOptions = {
    concurrency: opts.concurrency ?? config.worker.concurrency,
    lockDurationMs: opts.lockDurationMs ?? config.worker.lockDurationMs,
    stalledIntervalMs: opts.stalledIntervalMs,
    maxStalledCount: opts.maxStalledCount ?? 2,
    env: opts.env,
  };
  const identity = workerIdentity(config);
  const connection = createRedisConnection(config.redisUrl, 'worker', log);
  await ensureRedis(connection, config.redisUrl);

  const processorFile = compiledSibling(__dirname, __filename, 'train-processor');
  const worker = new Worker<unknown, TrainResult | SweepPointResult>(QUEUES.train, processorFile, {
    connection,
    prefix: config.queuePrefix,
    name: identity.id,
    useWorkerThreads: true,
    ...(o.env !== undefined ? { workerThreadsOptions: { env: o.env } } : {}),
    concurrency: o.concurrency,
    lockDuration: o.lockDurationMs,
    stalledInterval: o.stalledIntervalMs ?? Math.min(o.lockDurationMs, 30_000),
    maxStalledCount: o.maxStalledCount,
  });
  // jobs this process holds, with their lock tokens, to hand back if the shutdown deadline passes
  const active = new Map<string, Job>();
  worker.on('active', (job) => active.set(job.id!, job));
  worker.on('completed', (job) => active.delete(job.id!));
  worker.on('failed', (job) => {
    if (job) active.delete(job.id!);
  });
  worker.on('active', (job) => log.info({ jobId: job.id, symbol: (job.data as { symbol?: string }).symbol, attempt: job.attemptsMade + 1 }, 'training job started'));
  worker.on('completed', (job, r) =>
    'sweepId' in r
      ? log.info({ jobId: job.id, symbol: r.symbol, attempt: job.attemptsMade, sweep: r.sweepId, point: r.point, passed: r.passed }, 'sweep point evaluated')
      : log.info({ jobId: job.id, symbol: r.symbol, attempt: job.attemptsMade, modelId: r.modelId, verdict: r.verdict }, 'training job completed'),
  );
  worker.on('failed', (job, err) =>
    log.error({ jobId: job?.id, symbol: (job?.data as { symbol?: string } | undefined)?.symbol, attempt: job?.attemptsMade, err: err.message, final: job ? job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError' : true }, 'training job failed'),
  );
  worker.on('stalled', (jobId) => log.warn({ jobId }, 'a training job stalled (its worker died); it goes back to the queue'));
  const metrics = new FleetMetrics('worker-train');
  metrics.watchWorker(worker, QUEUES.train);
  worker.on('error', (err) => log.error({ err: err.message }, 'training worker error'));
  const health =
    config.health.port > 0
      ? await startHealthServer({ host: config.health.host, port: config.health.port, logger: log, metrics, metricsToken: config.metricsToken, report: () => ({ role: 'worker-train', redis: redisHealth(connection), details: { worker: identity.id, active_jobs: [...active.keys()] } }) })
      : null;
  log.info({ worker: identity.id, podId: identity.podId, hostname: identity.hostname, gpu: identity.gpu, concurrency: o.concurrency, lockDurationMs: o.lockDurationMs, prefix: config.queuePrefix, health: health?.url ?? null }, 'training worker ready');

  return {
    name: 'train-worker',
    identity,
    worker,
    async close() {
      await worker.close();
      await health?.close();
      await connection.quit().catch(() => connection.disconnect());
    },
    async abandon() {
      // Back to the queue now, not when the lock expires (ENGINE_LOCK_DURATION_MS): the next
      // worker starts it at once. The attempt is not counted; the sandboxed run here is cut
      // short when the process exits, and its late result is refused (the lock is gone).
      for (const job of active.values()) {
        await job.moveToWait(job.token);
        log.warn({ jobId: job.id }, 'shutdown deadline passed: training job handed back to the queue');
      }
      active.clear();
    },
  };
}
