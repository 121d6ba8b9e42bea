import { UnrecoverableError } from 'bullmq';
import { EngineError, isPermanent, wrapError } from '@engine/shared';

/**
 * Translate an Engine error for BullMQ at the edge of a processor: a permanent error
 * becomes an `UnrecoverableError` (the job fails now, no attempts wasted) whose message is
 * the original reason with its code; anything else is rethrown as a transient Engine error
 * (wrapped if unknown) so BullMQ retries it with backoff.
 */
export function toJobError(err: unknown, context: string): Error {
  const e: EngineError = wrapError(err, context);
  if (isPermanent(e)) {
    const u = new UnrecoverableError(`[${e.code}] ${e.message}`);
    return u;
  }
  return e;
}
