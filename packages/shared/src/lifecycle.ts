import type { Logger } from './logger';

/** Something a process started and must close on the way out. */
export interface Closeable {
  /** Shown in logs. */
  readonly name: string;
  close(): Promise<void>;
  /**
   * Called when the shutdown deadline passes before close() finished: give back what is
   * still held (a training worker returns its active jobs to the queue at once, instead of
   * leaving them locked until the lock expires).
   */
  abandon?(): Promise<void>;
}

/** Resolves with the first SIGINT or SIGTERM the process receives. */
export function waitForShutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/**
 * Close services in reverse start order, all within `deadlineMs` (RunPod gives a pod a few
 * seconds after SIGTERM). Returns true when everything closed in time; false when the
 * deadline cut a close short, in which case the caller exits anyway: a training job that
 * was still running is retried elsewhere through BullMQ's stalled-job check.
 */
export async function closeWithin(deadlineMs: number, started: Closeable[], log: Logger): Promise<boolean> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), deadlineMs);
  });
  const closeAll = (async () => {
    for (const s of [...started].reverse()) {
      try {
        await s.close();
        log.info({ service: s.name, ms: Date.now() - t0 }, 'closed');
      } catch (err) {
        log.error({ service: s.name, err }, 'close failed');
      }
    }
    return 'closed' as const;
  })();
  const outcome = await Promise.race([closeAll, expired]);
  clearTimeout(timer);
  if (outcome === 'expired') {
    log.warn({ deadlineMs }, 'shutdown deadline passed before everything closed; handing back unfinished jobs and exiting');
    for (const s of started) {
      try {
        await s.abandon?.();
      } catch (err) {
        // the job's lock still expires: another worker takes it then
        log.error({ service: s.name, err }, 'could not hand back unfinished work; it is retried once its lock expires');
      }
    }
    return false;
  }
  return true;
}

/**
 * The life of a service process after start: wait for SIGINT or SIGTERM, then close the
 * started services within the deadline (see {@link closeWithin}). Resolves true when
 * everything closed in time; the caller exits non-zero otherwise.
 */
export async function serveUntilSignal(started: Closeable[], deadlineMs: number, log: Logger): Promise<boolean> {
  const signal = await waitForShutdownSignal();
  log.info({ signal, deadlineMs }, 'shutting down: no new work; closing within the deadline');
  return closeWithin(deadlineMs, started, log);
}
