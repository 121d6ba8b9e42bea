import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/**
 * Field names that hold secrets anywhere in a logged object. Redaction is configured
 * here, once, so no call site has to remember it.
 */
const SECRET_KEYS = ['password', 'secret', 'token', 'refreshToken', 'accessToken', 'appSecret', 'databaseUrl', 'redisUrl', 'authorization', 'DATABASE_URL', 'REDIS_URL', 'DROPBOX_REFRESH_TOKEN', 'DROPBOX_APP_SECRET', 'DASHBOARD_PASSWORD', 'DASHBOARD_SESSION_SECRET', 'sessionSecret'];

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const k of SECRET_KEYS) paths.push(k, `*.${k}`, `*.*.${k}`);
  return paths;
}

/** The one root logger of a process. Children carry `jobId`, `symbol`, `attempt`. */
export function createLogger(opts: { level?: string; name?: string } = {}, destination?: DestinationStream): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      name: opts.name,
      redact: { paths: redactPaths(), censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ dest: 2, sync: true }),
  );
}

/** Strip credentials from a URL before it is shown anywhere: `postgres://u:***@host/db`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
