import type { Command } from 'commander';
import { ConfigError, createLogger, loadConfig, serveUntilSignal, type Config } from '@engine/shared';
import { hashPasswordLine, MIN_PASSWORD_LENGTH, startDashboard } from '@engine/dashboard';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError(`--port must be a whole number in 1‥65535, got '${v}'`);
  return n;
}

/**
 * `engine dashboard`: serve Bull Board and the model registry pages until SIGTERM/SIGINT
 * (what the compose file's `dashboard` service runs, for use without Docker).
 */
/** The password for `hash-password`: stdin's first line (piped), or typed without echo on a terminal. */
async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const chunk of stdin) text += String(chunk);
    return text.split('\n')[0]!.replace(/\r$/, '');
  }
  process.stderr.write('password (not shown): ');
  stdin.setRawMode(true);
  stdin.resume();
  let pw = '';
  try {
    for await (const chunk of stdin) {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n') return pw;
        if (ch === '\u0003') throw new ConfigError('cancelled');
        if (ch === '\u007f') pw = pw.slice(0, -1);
        else pw += ch;
      }
    }
    return pw;
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}

export function registerDashboardCommands(program: Command): void {
  program
    .command('hash-password')
    .description(`print a DASHBOARD_USERS_FILE line (user:scrypt:N:r:p:salt:hash) for a user; the password (at least ${MIN_PASSWORD_LENGTH} characters) is read from stdin or typed without echo`)
    .requiredOption('--user <name>', 'user name ([A-Za-z0-9._@-], up to 64)')
    .action(async (opts: { user: string }) => {
      process.stdout.write(`${hashPasswordLine(opts.user, await readPassword())}\n`);
    });

  program
    .command('dashboard')
    .description(
      'serve the dashboard until SIGTERM/SIGINT: Bull Board at /queues and the model registry pages, behind a login ' +
        '(DASHBOARD_USER + DASHBOARD_PASSWORD, or DASHBOARD_ALLOW_ANONYMOUS=true); DASHBOARD_READ_ONLY=true disables retries and rollbacks',
    )
    .option('--port <n>', 'port to listen on (default: DASHBOARD_PORT, 3000)', port)
    .option('--host <host>', 'address to listen on (default: DASHBOARD_HOST, 127.0.0.1)')
    .action(async (opts: { port?: number; host?: string }) => {
      const config = loadConfig();
      const effective: Config = { ...config, dashboard: { ...config.dashboard, port: opts.port ?? config.dashboard.port, host: opts.host ?? config.dashboard.host } };
      const log = createLogger({ level: config.logLevel, name: 'dashboard' });
      const running = await startDashboard(effective, log);
      process.stdout.write(`dashboard at ${running.url}/ (queues at ${running.url}/queues); Ctrl-C stops it\n`);
      if (!(await serveUntilSignal([running], config.worker.shutdownDeadlineMs, log))) process.exitCode = 1;
    });
}
