import { Queue, type ConnectionOptions, type Job } from 'bullmq';
import { PermanentError } from '@engine/shared';
import { QUEUES, type QueueName } from '@engine/fleet';

/** Every queue of the job catalog, in catalog order. */
export const CATALOG_QUEUES: readonly QueueName[] = Object.values(QUEUES);

/** One `Queue` per catalog queue on `connection`, under `prefix` (ENGINE_QUEUE_PREFIX). The caller closes them. */
export function openCatalogQueues(connection: ConnectionOptions, prefix: string): Queue[] {
  return CATALOG_QUEUES.map((name) => new Queue(name, { connection, prefix }));
}

/** A failed job as the pages show it. */
export interface FailedJob {
  queue: string;
  id: string;
  name: string;
  /** `symbol` of the payload (train, sync) or null (run, sweep). */
  symbol: string | null;
  runDate: string | null;
  reason: string;
  attemptsMade: number;
  /** Epoch ms the job last failed. */
  failedAt: number | null;
}

function toFailed(queue: string, job: Job): FailedJob {
  const data = (job.data ?? {}) as Record<string, unknown>;
  return {
    queue,
    id: String(job.id),
    name: job.name,
    symbol: typeof data.symbol === 'string' ? data.symbol : null,
    runDate: typeof data.runDate === 'string' ? data.runDate : null,
    reason: job.failedReason || '(no reason recorded)',
    attemptsMade: job.attemptsMade,
    failedAt: job.finishedOn ?? null,
  };
}

/** The newest `limit` failed jobs of each queue, newest first overall. */
export async function listFailedJobs(queues: readonly Queue[], limit = 50): Promise<FailedJob[]> {
  const all: FailedJob[] = [];
  for (const q of queues) {
    const jobs = await q.getFailed(0, limit - 1);
    for (const j of jobs) if (j) all.push(toFailed(q.name, j));
  }
  return all.sort((a, b) => (b.failedAt ?? 0) - (a.failedAt ?? 0));
}

/** Job counts per queue, for the fleet page's summary. */
export async function queueCounts(queues: readonly Queue[]): Promise<{ queue: string; counts: Record<string, number> }[]> {
  const out: { queue: string; counts: Record<string, number> }[] = [];
  for (const q of queues) out.push({ queue: q.name, counts: await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'waiting-children') });
  return out;
}

/**
 * Failures whose cause is in the job's own payload or the configuration it was given: the
 * same job fails the same way however often it is retried. (Bad or missing candles are
 * permanent too, but fixing the data and retrying does help: those keep their button.)
 */
const PAYLOAD_CODES = new Set(['CONFIG_INVALID', 'PAYLOAD_INVALID', 'SYMBOL_INVALID', 'SYMBOL_UNKNOWN', 'SOURCE_INVALID', 'DATE_INVALID', 'WINDOW_INVALID', 'LABELS_CONFIG', 'LABELS_UNWINNABLE']);

/** The code of a permanent failure (`[CODE] message`, as the fleet records them) that no retry can fix; null otherwise. */
export function retryCannotFix(reason: string): string | null {
  const m = /^\[([A-Z_]+)\]/.exec(reason);
  return m !== null && PAYLOAD_CODES.has(m[1]!) ? m[1]! : null;
}

/**
 * Retry a failed job: it goes back to waiting with its attempts reset. Refuses (a
 * PermanentError saying why) when the queue is not in the catalog, the job does not
 * exist, or it is not failed (a second click after a retry).
 */
export async function retryFailedJob(queues: readonly Queue[], queueName: string, jobId: string): Promise<FailedJob> {
  const q = queues.find((x) => x.name === queueName);
  if (q === undefined) {
    throw new PermanentError('QUEUE_UNKNOWN', `retry: queue '${queueName}' is not one of ${queues.map((x) => x.name).join(', ')}`, { queue: queueName });
  }
  const job = await q.getJob(jobId);
  if (!job) throw new PermanentError('JOB_NOT_FOUND', `retry: job '${jobId}' does not exist in queue '${queueName}' (removed or cleaned)`, { queue: queueName, jobId });
  const state = await job.getState();
  if (state !== 'failed') {
    throw new PermanentError('JOB_NOT_FAILED', `retry: job '${jobId}' in queue '${queueName}' is ${state}, not failed; nothing to retry`, { queue: queueName, jobId, state });
  }
  const before = toFailed(queueName, job);
  const code = retryCannotFix(before.reason);
  if (code !== null) {
    throw new PermanentError('JOB_NOT_RETRYABLE', `retry: job '${jobId}' failed with ${code}, a fault of the job itself: retrying it would fail the same way; fix the request or configuration and start a new run`, { queue: queueName, jobId, code });
  }
  await job.retry('failed');
  return before;
}
