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

/** One ioredis connection for BullMQ, configured for its role; connection errors go to `log` when given. */
export function createRedisConnection(url: string, role: RedisRole, log?: Logger): Redis {
  const conn = new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : role === 'viewer' ? 2 : 3,
    enableOfflineQueue: role !== 'producer',
    connectTimeout: role === 'viewer' ? 5_000 : 10_000,
    lazyConnect: false,
  });
  // Without a listener ioredis prints every reconnect error as an unhandled event.
  conn.on('error', (err: Error) => log?.warn({ err: err.message, redis: redactUrl(url), role }, 'redis connection error'));
  return conn;
}

/** Wait until the connection is usable; a clear transient error naming the (redacted) URL otherwise. */
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
