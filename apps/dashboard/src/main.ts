import { createLogger, loadConfig, serveUntilSignal } from '@engine/shared';
import { startDashboard } from '@engine/dashboard';

/** The dashboard service: config → context → listen → SIGINT/SIGTERM → close within the deadline. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'dashboard' });
  const running = await startDashboard(config, logger);
  const clean = await serveUntilSignal([running], config.worker.shutdownDeadlineMs, logger);
  process.exit(clean ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`dashboard: ${(err as Error).message}\n`);
  process.exit(err instanceof Error && 'permanent' in err && err.permanent === true ? 2 : 1);
});
