import type { BackoffStrategy, Queue } from 'bullmq';
import type { RetrySettings } from '@engine/shared';
import { JOB_NAMES, JOB_OPTIONS, QUEUES, parseJob, type SyncJob } from './jobs';

/** Longest wait between two sync attempts, whatever the server asks for. */
export const MAX_BACKOFF_MS = 15 * 60_000;

/**
 * Exponential backoff (`base · 2^(attempt−1)`, capped) that honours a server's hint: when
 * the error carries `retryAfterMs` (a TransientError built from a 429's Retry-After), the
 * next attempt waits at least that long.
 */
export function retryAfterBackoff(baseMs: number): BackoffStrategy {
  return (attemptsMade, _type, err) => {
    const exponential = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attemptsMade - 1));
    const hint = (err as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    return typeof hint === 'number' && Number.isFinite(hint) && hint > 0 ? Math.min(MAX_BACKOFF_MS, Math.max(exponential, hint)) : exponential;
  };
}

/**
 * Ask the sync worker to publish a recorded model. The id is `sync-<model id>`, so asking
 * twice (a retried training job, the sweep) adds one job.
 */
export async function enqueueModelSync(queue: Queue, ref: { modelId: string; symbol: string; runDate: string }, retry: RetrySettings): Promise<void> {
  const data: SyncJob = parseJob(QUEUES.sync, { kind: 'model', ...ref });
  await queue.add(JOB_NAMES.syncModel, data, JOB_OPTIONS.sync(ref.modelId, retry));
}
