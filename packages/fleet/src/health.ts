import { timingSafeEqual } from 'node:crypto';
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

/** What `/metrics` serves: a Prometheus text exposition and its content type. */
export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

/** True when the request carries `Authorization: Bearer <token>` (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const want = Buffer.from(`Bearer ${token}`);
  const got = Buffer.from(header ?? '');
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * A liveness endpoint for containers and pods: `GET /healthz` answers 200 with the report
 * while Redis is ready, 503 with it while Redis is down (the process is alive but can take
 * no job), as JSON. With `metrics`, `GET /metrics` serves Prometheus' text format, guarded
 * by a bearer token when `metricsToken` is set (ENGINE_METRICS_TOKEN). Nothing else is served.
 */
export async function startHealthServer(opts: { host: string; port: number; report: () => HealthReport; logger?: Logger; metrics?: MetricsSource; metricsToken?: string }): Promise<HealthServer> {
  const started = Date.now();
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/metrics' && opts.metrics) {
      if (opts.metricsToken && !bearerMatches(req.headers.authorization, opts.metricsToken)) {
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('a bearer token is required (ENGINE_METRICS_TOKEN)\n');
        return;
      }
      const m = opts.metrics;
      m.render().then(
        (text) => res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store' }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${(err as Error).message}\n`),
      );
      return;
    }
    if (req.method !== 'GET' || req.url !== '/healthz') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(opts.metrics ? 'only GET /healthz and GET /metrics\n' : 'only GET /healthz\n');
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
