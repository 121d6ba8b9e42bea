#!/usr/bin/env node
import { createLogger, loadConfig, serveUntilSignal } from '@engine/shared';
import { startScheduler } from '@engine/fleet';

/** The scheduler process: config → scheduler → wait for a signal → close within the deadline. */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, name: 'scheduler' });
  const scheduler = await startScheduler(config, log);
  log.info({ pid: process.pid }, 'scheduler ready');
  const clean = await serveUntilSignal([scheduler], config.worker.shutdownDeadlineMs, log);
  process.exit(clean ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`scheduler: ${(err as Error).message}\n`);
  process.exit(1);
});
