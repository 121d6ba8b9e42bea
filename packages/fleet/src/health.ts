import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Closeable, Logger } from '@engine/shared';
import type { RedisHealth } from './redis';

/** What a process reports on its health endpoint. */
export interface HealthReport {
  /** `worker-train`, `worker-sync`, `scheduler`. */
  role: string;
  redis: RedisHealth | null;
  /** Anything else worth seeing (active jobs, the worker's id). */
  details?: Record<string, unknown>;
}

export interface HealthServer extends Closeable {
  /** `http://host:port`. */
  url: string;
}

/**
 * A liveness endpoint for containers and pods: `GET /healthz` answers 200 with the report
 * while Redis is ready, 503 with it while Redis is down (the process is alive but can take
 * no job), as JSON. Nothing else is served.
 */
export async function startHealthServer(opts: { host: string; port: number; report: () => HealthReport; logger?: Logger }): Promise<HealthServer> {
  const started = Date.now();
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/healthz') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /healthz\n');
      return;
    }
    const r = opts.report();
    const ok = r.redis?.state === 'ready';
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(`${JSON.stringify({ status: ok ? 'ok' : 'redis_unavailable', role: r.role, uptime_s: Math.round((Date.now() - started) / 1000), redis: r.redis, ...(r.details ?? {}) })}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  opts.logger?.info({ url: `${url}/healthz` }, 'health endpoint listening');
  return {
    name: 'health',
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
