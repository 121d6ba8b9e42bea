import { Queue, Worker } from 'bullmq';
import { ConfigError, type Config, type Logger, type Closeable } from '@engine/shared';
import { JOB_NAMES, JOB_OPTIONS, QUEUES, SCHEDULER_IDS, parseJob } from './jobs';
import { openRegistryContext, type RegistryContext, type SweepOutcome, type SyncOutcome } from '@engine/registry';
import { startHealthServer } from './health';
import { FleetMetrics } from './metrics';
import { ingestAndMonitor } from './live-monitor';
import { createRedisConnection, ensureRedis, redisHealth } from './redis';
import { workerIdentity, type WorkerIdentity } from './identity';
import { toJobError } from './job-errors';
import { retryAfterBackoff } from './sync-queue';

export interface SyncWorker extends Closeable {
  readonly identity: WorkerIdentity;
  readonly worker: Worker<unknown, SyncOutcome | SweepOutcome>;
}

/**
 * Open the registry context (registry, staging store, publisher, ModelSync), retrying while
 * PostgreSQL is not reachable yet (a fleet starting up); a permanent error fails at once.
 */
export async function openRegistryWithRetry(config: Config, log: Logger, actor: string, timeoutMs = 60_000): Promise<RegistryContext> {
  const t0 = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await openRegistryContext(config, { actor, logger: log, poolSize: 4 });
    } catch (err) {
      const e = err as { permanent?: boolean; message: string };
      if (e.permanent === true || Date.now() - t0 > timeoutMs) throw err;
      log.warn({ attempt, err: e.message }, 'registry not reachable yet; retrying');
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt)));
    }
  }
}

/**
 * Start the sync worker: processes the `sync` queue (one job per finished model: record if
 * needed, publish to Dropbox with hashes verified, move `latest.json`) and upserts the sweep
 * Job Scheduler (ENGINE_SYNC_SWEEP_CRON, every 30 minutes by default) that re-syncs
 * anything still pending. Transient failures retry with exponential backoff that honours
 * Retry-After; permanent ones fail at once with their reason.
 */
export async function startSyncWorker(config: Config, log: Logger): Promise<SyncWorker> {
  if (!config.redisUrl) throw new ConfigError('the sync worker needs REDIS_URL (without it, use single-machine mode: `engine train`)');
  if (!config.databaseUrl) throw new ConfigError('the sync worker needs DATABASE_URL (the registry and the staging store live in PostgreSQL)');
  const identity = workerIdentity(config);
  const connection = createRedisConnection(config.redisUrl, 'worker', log);
  await ensureRedis(connection, config.redisUrl);
  const reg = await openRegistryWithRetry(config, log, `sync@${identity.id}`);
  const modelSync = reg.sync;

  const queue = new Queue(QUEUES.sync, { connection, prefix: config.queuePrefix });
  await queue.upsertJobScheduler(
    SCHEDULER_IDS.syncSweep,
    { pattern: config.schedule.syncSweepCron, tz: config.schedule.tz },
    { name: JOB_NAMES.sweep, data: { kind: 'sweep' }, opts: JOB_OPTIONS.sweep() },
  );

  const worker = new Worker<unknown, SyncOutcome | SweepOutcome>(
    QUEUES.sync,
    async (job) => {
      const where = job.name === JOB_NAMES.sweep ? 'sync sweep' : `sync of ${String((job.data as { modelId?: unknown }).modelId)}`;
      try {
        const out = await modelSync.handle(parseJob(QUEUES.sync, job.data));
        if (job.name === JOB_NAMES.sweep) {
          // The live loop rides on the sweep: ingest the traders' feedback, judge every live model, demote on a breach.
          try {
            const monitored = await ingestAndMonitor(reg, { actor: `monitor@${identity.id}`, log });
            log.info({ live: monitored.length, demoted: monitored.filter((m) => m.demoted).map((m) => m.symbol), trades: monitored.reduce((a, m) => a + m.ingested.trades, 0) }, 'live models monitored');
          } catch (err) {
            log.error({ err: (err as Error).message }, 'live monitoring failed this sweep; the next sweep tries again');
          }
        }
        return out;
      } catch (err) {
        const e = toJobError(err, where);
        log.warn({ jobId: job.id, attempt: job.attemptsMade + 1, err: e.message, permanent: e.name === 'UnrecoverableError', retryAfterMs: (err as { retryAfterMs?: number }).retryAfterMs }, 'sync job failed');
        throw e;
      }
    },
    {
      connection,
      prefix: config.queuePrefix,
      name: identity.id,
      concurrency: 2,
      settings: { backoffStrategy: retryAfterBackoff(config.retry.sync.backoffMs) },
    },
  );
  worker.on('completed', (job, r) => log.info({ jobId: job.id, attempt: job.attemptsMade, ...('state' in r ? { modelId: r.modelId, state: r.state, uploaded: r.uploaded, pointer: r.pointer } : { synced: r.synced.length, failed: r.failed.length }) }, 'sync job completed'));
  worker.on('error', (err) => log.error({ err: err.message }, 'sync worker error'));
  const metrics = new FleetMetrics('worker-sync');
  metrics.watchWorker(worker, QUEUES.sync);
  const health =
    config.health.port > 0 ? await startHealthServer({ host: config.health.host, port: config.health.port, logger: log, metrics, metricsToken: config.metricsToken, report: () => ({ role: 'worker-sync', redis: redisHealth(connection), details: { worker: identity.id, target: reg.publisher.target() } }) }) : null;
  log.info({ worker: identity.id, podId: identity.podId, hostname: identity.hostname, gpu: identity.gpu, sweepCron: config.schedule.syncSweepCron, registry: reg.where, target: reg.publisher.target(), prefix: config.queuePrefix, health: health?.url ?? null }, 'sync worker ready');

  return {
    name: 'sync-worker',
    identity,
    worker,
    async close() {
      await worker.close();
      await health?.close();
      await queue.close();
      await reg.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
