#!/usr/bin/env node
import { createLogger, loadConfig, serveUntilSignal } from '@engine/shared';
import { startWorkerRole } from '@engine/fleet';

/**
 * A worker process (role from ENGINE_WORKER_ROLE): config → worker → wait for SIGTERM/SIGINT
 * → drain within ENGINE_SHUTDOWN_DEADLINE_MS. Exit 0 when drained, 1 when the deadline cut
 * a job short (the training worker hands that job back to the queue first, so another worker
 * starts it at once).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, name: `worker-${config.worker.role}` });
  const worker = await startWorkerRole(config, log);
  const clean = await serveUntilSignal([worker], config.worker.shutdownDeadlineMs, log);
  process.exit(clean ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`worker: ${(err as Error).message}\n`);
  process.exit(1);
});
