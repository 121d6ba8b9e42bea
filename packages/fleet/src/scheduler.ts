import { FlowProducer, Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { ConfigError, type Closeable, type Config, type Logger, type RetrySettings } from '@engine/shared';
import { JOB_NAMES, JOB_OPTIONS, QUEUES, SCHEDULER_IDS, jobIds, parseJob, type RunResult, type TrainResult } from './jobs';
import { startHealthServer } from './health';
import { createRedisConnection, ensureRedis, redisHealth } from './redis';
import { runDateOfFire, startRun, type RunProducer, type RunStarted } from './run';
import { openRegistryContext, type RegistryContext } from '@engine/registry';
import { decideRun, type RunDecision } from './false-discovery';
import { enqueueModelSync } from './sync-queue';
import { FleetMetrics } from './metrics';
import { resolveTrainConfig, type TrainConfigOverrides } from '@engine/training';

/** What the daily trigger trains: the universe and how. */
export interface DailyPlan {
  cron: string;
  tz: string;
  universe: string[];
  source: string;
  windowDays: number;
  /** Overrides every scheduled job trains with: the venue of ENGINE_COST_PROFILE (checked here, at start-up), else none. */
  training?: TrainConfigOverrides;
  /** Training attempts and first backoff of each symbol (ENGINE_TRAIN_ATTEMPTS / _BACKOFF_MS). */
  trainRetry: RetrySettings;
}

/** The scheduler process: the daily Job Scheduler plus the worker of the `run` queue. */
export interface Scheduler extends Closeable {
  readonly producer: RunProducer;
}

/** Overrides checked against the training configuration now (an unknown profile fails at start-up, not at 02:00). */
function checkedOverrides(o: TrainConfigOverrides, what: string): TrainConfigOverrides {
  try {
    resolveTrainConfig(o);
  } catch (e) {
    throw new ConfigError(`${what}: ${(e as Error).message}`);
  }
  return o;
}

/** The plan the configuration describes. */
export function dailyPlanFrom(config: Config): DailyPlan {
  return {
    cron: config.schedule.cron,
    tz: config.schedule.tz,
    universe: config.universe,
    source: config.candleSource,
    windowDays: config.windowDays,
    ...(config.costProfile !== undefined ? { training: checkedOverrides({ cost_profile: config.costProfile }, 'ENGINE_COST_PROFILE') } : {}),
    trainRetry: config.retry.train,
  };
}

/** Open the producer side (run queue + flow producer) on a connection. */
export function openRunProducer(connection: Redis, prefix: string): RunProducer {
  return {
    flow: new FlowProducer({ connection, prefix }),
    runQueue: new Queue(QUEUES.run, { connection, prefix }),
    prefix,
  };
}

/** Close what openRunProducer opened (not the connection). */
export async function closeRunProducer(p: RunProducer): Promise<void> {
  await p.flow.close();
  await p.runQueue.close();
}

/**
 * Summarise a finished run from its children: the training results of those that
 * completed and the reasons of those that failed.
 */
export async function summariseRun(job: Job, prefix: string): Promise<RunResult> {
  const run = parseJob(QUEUES.run, job.data);
  const values = await job.getChildrenValues<TrainResult>();
  const failures = await job.getIgnoredChildrenFailures();
  const keyOf = (symbol: string) => `${prefix}:${QUEUES.train}:${jobIds.train(run.runDate, symbol)}`;
  const result: RunResult = { runDate: run.runDate, symbols: run.symbols, published: [], rejected: [], failed: {}, decisions: [] };
  for (const symbol of run.symbols) {
    const v = values[keyOf(symbol)];
    const failure = failures[keyOf(symbol)];
    if (v) (v.verdict === 'published' ? result.published : result.rejected).push(symbol);
    else result.failed[symbol] = failure ?? 'no result recorded (the training job was removed or never ran)';
  }
  return result;
}

/** The summary after the decision: published and rejected as decided, with each candidate's p and adjusted p. */
export function finishSummary(summary: RunResult, decisions: readonly RunDecision[]): RunResult {
  if (decisions.length === 0) return summary;
  const verdictOf = new Map(decisions.map((d) => [d.symbol, d.verdict]));
  const all = [...summary.published, ...summary.rejected];
  return {
    ...summary,
    published: all.filter((s) => (verdictOf.get(s) ?? (summary.published.includes(s) ? 'published' : 'rejected')) === 'published'),
    rejected: all.filter((s) => (verdictOf.get(s) ?? (summary.published.includes(s) ? 'published' : 'rejected')) === 'rejected'),
    decisions: decisions.map((d) => ({ symbol: d.symbol, modelId: d.modelId, candidate: d.candidate, p: d.p, pAdjusted: d.pAdjusted, verdict: d.verdict })),
  };
}

/**
 * Start the scheduler: upsert the daily Job Scheduler (idempotent, so restarts and several
 * replicas never duplicate it) and process the run queue: a `daily` tick starts the run of
 * the fire's UTC day; a `run` parent, processed when all its children are done, decides
 * the run (false-discovery control over the candidates), hands every model to the sync
 * queue and is summarised.
 */
export async function startScheduler(config: Config, log: Logger, plan: DailyPlan = dailyPlanFrom(config)): Promise<Scheduler> {
  if (!config.redisUrl) throw new ConfigError('the scheduler needs REDIS_URL (without it, use single-machine mode: `engine train`)');
  const prefix = config.queuePrefix;
  const connection = createRedisConnection(config.redisUrl, 'worker', log);
  await ensureRedis(connection, config.redisUrl);
  const producer = openRunProducer(connection, prefix);
  const syncQueue = new Queue(QUEUES.sync, { connection, prefix });
  // The registry is opened by the first run that finishes (PostgreSQL down at start does not stop the schedule).
  let registry: Promise<RegistryContext> | undefined;
  const openRegistry = (): Promise<RegistryContext> =>
    (registry ??= openRegistryContext(config, { actor: 'scheduler', logger: log, poolSize: 2 }).catch((err: unknown) => {
      registry = undefined;
      throw err;
    }));

  await producer.runQueue.upsertJobScheduler(SCHEDULER_IDS.daily, { pattern: plan.cron, tz: plan.tz }, { name: JOB_NAMES.daily, data: {}, opts: JOB_OPTIONS.daily() });
  const next = (await producer.runQueue.getJobScheduler(SCHEDULER_IDS.daily))?.next;
  log.info({ cron: plan.cron, tz: plan.tz, universe: plan.universe, source: plan.source, windowDays: plan.windowDays, next: next ? new Date(next).toISOString() : null, prefix }, 'daily schedule upserted');

  const worker = new Worker<unknown, RunStarted | RunResult>(
    QUEUES.run,
    async (job) => {
      if (job.name === JOB_NAMES.daily) {
        const fire = job.opts.prevMillis ?? job.timestamp;
        return startRun(producer, { runDate: runDateOfFire(fire), symbols: plan.universe, source: plan.source, windowDays: plan.windowDays, ...(plan.training ? { training: plan.training } : {}), trigger: 'schedule', retry: plan.trainRetry }, log.child({ jobId: job.id }));
      }
      const summary = await summariseRun(job, prefix);
      // Every symbol evaluated: adjust the candidates together, release, publish (retried on failure: idempotent).
      const reg = await openRegistry();
      const decisions = await decideRun(summary.runDate, reg, {
        settings: config.falseDiscovery,
        actor: 'scheduler',
        decidedBy: job.id ?? jobIds.run(summary.runDate),
        log: log.child({ jobId: job.id }),
        publish: (ref) => enqueueModelSync(syncQueue, ref, config.retry.sync),
      });
      const decided = finishSummary(summary, decisions);
      log.info({ jobId: job.id, ...decided }, 'run finished');
      return decided;
    },
    { connection, prefix, concurrency: 1 },
  );
  worker.on('failed', (job, err) => log.error({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'run job failed'));
  worker.on('error', (err) => log.error({ err: err.message }, 'run worker error'));
  // Metrics: the run worker's jobs, every queue's BullMQ gauges (the scheduler sees the whole fleet), the schedule.
  const metrics = new FleetMetrics('scheduler');
  metrics.watchWorker(worker, QUEUES.run);
  const trainQueue = new Queue(QUEUES.train, { connection, prefix });
  metrics.addQueues([producer.runQueue, trainQueue, syncQueue]);
  const setNext = (ms: number | undefined) => (ms !== undefined ? metrics.nextRun.set(ms / 1000) : undefined);
  setNext(next);
  worker.on('completed', (job) => {
    if (job.name !== JOB_NAMES.daily) return;
    metrics.lastRun.set(Date.now() / 1000);
    void producer.runQueue.getJobScheduler(SCHEDULER_IDS.daily).then((s) => setNext(s?.next), () => undefined);
  });
  const health =
    config.health.port > 0
      ? await startHealthServer({ host: config.health.host, port: config.health.port, logger: log, metrics, metricsToken: config.metricsToken, report: () => ({ role: 'scheduler', redis: redisHealth(connection), details: { cron: plan.cron, tz: plan.tz } }) })
      : null;

  return {
    name: 'scheduler',
    producer,
    async close() {
      await worker.close();
      await health?.close();
      await syncQueue.close();
      await trainQueue.close();
      if (registry !== undefined) await (await registry.catch(() => null))?.close();
      await closeRunProducer(producer);
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
