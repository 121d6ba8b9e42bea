import type { Worker } from 'node:worker_threads';
import { TransientError } from '@engine/shared';

/**
 * Feed `queue` (in order) to `workers`, one job per worker at a time: a worker answers a
 * job with a message carrying the job's `id`, `accept` takes it (a throw, e.g. for a reply
 * that reports an error, fails the run), and the worker gets the next job. Rejects on the
 * first failure, a crashed worker (`what` names its kind) or an abort; resolves when every
 * job is accepted. Shared by the fold trainer pool and the agent trainer.
 */
export function runOnWorkers<J extends { id: number }, R extends { id: number }>(workers: readonly Worker[], queue: readonly J[], accept: (job: J, reply: R) => void, what: string, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let next = 0;
    let running = 0;
    let failed = false;
    const fail = (e: unknown): void => {
      if (failed) return;
      failed = true;
      reject(e);
    };
    const onAbort = (): void => fail(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const feed = (w: Worker): void => {
      if (failed) return;
      if (next >= queue.length) {
        if (running === 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }
        return;
      }
      const job = queue[next++]!;
      running++;
      const onMessage = (r: R): void => {
        if (r.id !== job.id) return;
        w.off('message', onMessage);
        w.off('error', onError);
        running--;
        try {
          accept(job, r);
        } catch (e) {
          fail(e);
          return;
        }
        feed(w);
      };
      const onError = (e: Error): void => {
        w.off('message', onMessage);
        fail(new TransientError('TRAINING_WORKER_FAILED', `${what} crashed: ${e.message}`, {}, e));
      };
      w.on('message', onMessage);
      w.once('error', onError);
      w.postMessage(job);
    };
    if (signal?.aborted) fail(signal.reason);
    else for (const w of workers) feed(w);
  });
}
