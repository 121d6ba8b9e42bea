import type { Logger } from '@engine/shared';

/** Something a process started and must close on the way out. */
export interface Closeable {
  /** Shown in logs. */
  readonly name: string;
  close(): Promise<void>;
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
    log.warn({ deadlineMs }, 'shutdown deadline passed before everything closed; exiting anyway (an interrupted job is retried by another worker once its lock expires)');
    return false;
  }
  return true;
}
