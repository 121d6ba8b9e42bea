/**
 * A worker is never silent about Redis: when its connection drops it logs at once that
 * Redis is unreachable and how it retries, keeps saying so while it stays down, logs the
 * recovery, and its health endpoint (GET /healthz) answers 503 with the connection state
 * until Redis is back. A real training worker on the real Redis, through a TCP proxy the
 * test cuts and restores.
 */
import { Writable } from 'node:stream';
import { createLogger, loadConfig } from '@engine/shared';
import { startTrainWorker, type TrainWorker } from '@engine/fleet';
import { TEST_DATABASE_URL } from '../packages/registry/test/support/pg';
import { TcpProxy } from './support/proxy';
import { freePort } from './support/fleet-harness';

const REDIS = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');


async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a worker when Redis goes away', () => {
  let proxy: TcpProxy;
  let worker: TrainWorker;
  const lines: Record<string, unknown>[] = [];
  let port: number;

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: REDIS.hostname, port: Number(REDIS.port || 6379) });
    port = await freePort();
    const sink = new Writable({
      write(chunk, _e, cb) {
        for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const config = loadConfig({ REDIS_URL: proxy.rewrite(REDIS.toString()), DATABASE_URL: TEST_DATABASE_URL, ENGINE_QUEUE_PREFIX: `health-${process.pid}`, ENGINE_HEALTH_PORT: String(port) });
    worker = await startTrainWorker(config, createLogger({ level: 'info' }, sink));
  });
  afterAll(async () => {
    proxy.restore();
    await worker?.close();
    await proxy?.close();
  }, 30_000);

  const healthz = async () => {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    return { status: r.status, body: (await r.json()) as { status: string; role: string; redis: { state: string; attempts: number; last_error?: string; lastError: string | null } } };
  };

  test('ready: 200 and the connection state', async () => {
    const h = await healthz();
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', role: 'worker-train', redis: { state: 'ready' } });
  });

  test('cut: logged at once with the retry schedule, 503 on /healthz; restored: logged, 200 again', async () => {
    proxy.cut();
    const down = await until('a 503', async () => {
      const h = await healthz();
      return h.status === 503 ? h : undefined;
    });
    expect(down.body.status).toBe('redis_unavailable');
    expect(down.body.redis.state).not.toBe('ready');
    const warned = await until('the unreachable log line', async () => lines.find((l) => l.msg === 'redis unreachable: retrying (backoff up to 2 s); jobs wait, nothing is lost'));
    expect(warned).toMatchObject({ level: 40, role: 'worker' });
    expect(String(warned.redis)).toContain(`127.0.0.1:${proxy.port}`);

    proxy.restore();
    const up = await until('a 200', async () => {
      const h = await healthz();
      return h.status === 200 ? h : undefined;
    });
    expect(up.body.redis.state).toBe('ready');
    await until('the recovery log line', async () => lines.find((l) => l.msg === 'redis reachable again'));
  }, 60_000);
});
