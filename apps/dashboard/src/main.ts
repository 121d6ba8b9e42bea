import { createLogger, loadConfig } from '@engine/shared';
import { startDashboard } from './service';

/** The dashboard service: config → context → listen → SIGINT/SIGTERM → close within the deadline. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'dashboard' });
  const running = await startDashboard(config, logger);
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error({ deadlineMs: config.worker.shutdownDeadlineMs }, 'shutdown deadline passed; exiting');
      process.exit(1);
    }, config.worker.shutdownDeadlineMs);
    deadline.unref();
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`dashboard: ${(err as Error).message}\n`);
  process.exit(err instanceof Error && 'permanent' in err && err.permanent === true ? 2 : 1);
});
