import { Redis } from 'ioredis';
import { redactUrl, TransientError, type Logger } from '@engine/shared';

/**
 * Who uses the connection. BullMQ workers block on Redis and must never give up on a
 * command (`maxRetriesPerRequest: null`, or a Redis restart kills the worker); producers
 * such as `engine run-now` should fail fast instead of hanging when Redis is down; a
 * viewer (the dashboard) queues commands while reconnecting but gives up on one after a
 * few tries, so a page answers with an error instead of hanging.
 */
export type RedisRole = 'worker' | 'producer' | 'viewer';

/** Where a connection stands, for logs and the health endpoint. */
export interface RedisHealth {
  /** `ready` when commands run; anything else means they wait or fail. */
  state: 'connecting' | 'ready' | 'reconnecting' | 'down' | 'closed';
  /** Since when (ISO) it has been in that state. */
  since: string;
  /** Connection attempts since it was last ready. */
  attempts: number;
  /** The last connection error, when not ready. */
  lastError: string | null;
  /** ioredis's wait before its next attempt, ms (it backs off up to 2 s). */
  nextRetryMs: number | null;
}

const health = new WeakMap<Redis, RedisHealth>();

/** How often a connection that stays down is reported again (the first failure is reported at once). */
export const REDIS_DOWN_REPORT_MS = 30_000;

/**
 * One ioredis connection for BullMQ, configured for its role. Its state is logged as it
 * changes — the first failure at once with the retry schedule, then every 30 s while Redis
 * stays unreachable, and the recovery — and kept for `redisHealth` (the health endpoint).
 */
export function createRedisConnection(url: string, role: RedisRole, log?: Logger): Redis {
  const conn = new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : role === 'viewer' ? 2 : 3,
    enableOfflineQueue: role !== 'producer',
    connectTimeout: role === 'viewer' ? 5_000 : 10_000,
    lazyConnect: false,
  });
  const h: RedisHealth = { state: 'connecting', since: new Date().toISOString(), attempts: 0, lastError: null, nextRetryMs: null };
  health.set(conn, h);
  const where = redactUrl(url);
  let downSince: number | null = null;
  let lastReport = 0;
  const set = (state: RedisHealth['state']): void => {
    if (h.state !== state) h.since = new Date().toISOString();
    h.state = state;
  };
  conn.on('ready', () => {
    if (downSince !== null) log?.info({ redis: where, role, downMs: Date.now() - downSince, attempts: h.attempts }, 'redis reachable again');
    downSince = null;
    set('ready');
    h.attempts = 0;
    h.lastError = null;
    h.nextRetryMs = null;
  });
  // Without an 'error' listener ioredis prints every reconnect error as an unhandled event.
  conn.on('error', (err: Error) => {
    h.lastError = err.message;
    const now = Date.now();
    if (downSince === null) {
      downSince = now;
      lastReport = now;
      log?.warn({ redis: where, role, err: err.message }, 'redis unreachable: retrying (backoff up to 2 s); jobs wait, nothing is lost');
    } else if (now - lastReport >= REDIS_DOWN_REPORT_MS) {
      lastReport = now;
      log?.warn({ redis: where, role, err: err.message, downMs: now - downSince, attempts: h.attempts, nextRetryMs: h.nextRetryMs }, 'redis still unreachable');
    }
  });
  conn.on('reconnecting', (delayMs: number) => {
    h.attempts++;
    h.nextRetryMs = delayMs;
    set('reconnecting');
  });
  conn.on('close', () => {
    if (h.state === 'ready') set('down');
  });
  conn.on('end', () => set('closed'));
  return conn;
}

/** The state of a connection made by `createRedisConnection` (null for any other). */
export function redisHealth(conn: Redis): RedisHealth | null {
  const h = health.get(conn);
  return h === undefined ? null : { ...h };
}

/** Wait until the connection is usable; a transient error naming the (redacted) URL otherwise. */
export async function ensureRedis(conn: Redis, url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await conn.ping()) === 'PONG') return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new TransientError('REDIS_UNAVAILABLE', `Redis at ${redactUrl(url)} is not reachable after ${timeoutMs} ms: ${(err as Error).message}`, { url: redactUrl(url) }, err);
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
