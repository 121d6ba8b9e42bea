import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Redis } from 'ioredis';
import { openRegistryContext, type RegistryContext } from '@engine/registry';
import type { Config, Logger } from '@engine/shared';
import { createRedisConnection } from '@engine/fleet';
import { authMode } from './auth/auth';
import { createDashboard, type Dashboard } from './dashboard';

/** A dashboard serving HTTP, with everything it opened. */
export interface RunningDashboard {
  /** `dashboard`, for shutdown logs. */
  readonly name: 'dashboard';
  /** `http://host:port` it listens on. */
  url: string;
  dashboard: Dashboard;
  /** Stop accepting requests, then close queues, Redis and the registry, in that order. */
  close(): Promise<void>;
}

/**
 * Build the dashboard's context from the configuration and listen: the registry (and its
 * staging store and publish target, for the model pages' bundle files) per
 * `DATABASE_URL` / `ENGINE_DATA_DIR`, the catalog queues on `REDIS_URL` when set, then
 * `DASHBOARD_HOST:DASHBOARD_PORT`. Refuses to start (ConfigError) without credentials
 * unless anonymous access is explicitly allowed — checked before anything is opened.
 */
export async function startDashboard(config: Config, logger: Logger): Promise<RunningDashboard> {
  const log = logger.child({ component: 'dashboard' });
  // Fail on the configuration before touching Redis or PostgreSQL.
  authMode(config.dashboard);

  const opened: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const c of opened.reverse()) await c().catch((err: unknown) => log.warn({ err }, 'close failed'));
  };
  try {
    const ctx: RegistryContext = await openRegistryContext(config, { actor: 'dashboard', logger: log, poolSize: 3, keepStaged: true });
    opened.push(() => ctx.close());
    let redis: Redis | undefined;
    if (config.redisUrl !== undefined) {
      const r = createRedisConnection(config.redisUrl, 'viewer', log);
      redis = r;
      opened.push(() => r.quit());
    }
    const dashboard = createDashboard({
      config,
      registry: ctx.registry,
      trials: ctx.trials,
      logger: log,
      connection: redis,
      bundles: { store: ctx.store, published: ctx.publisher.files },
    });
    opened.push(() => dashboard.close());
    const server: Server = await new Promise((resolve, reject) => {
      const s = dashboard.app.listen(config.dashboard.port, config.dashboard.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    });
    opened.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const addr = server.address() as AddressInfo;
    const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    log.info({ url, registry: ctx.where, queues: dashboard.queues.map((q) => q.name), readOnly: config.dashboard.readOnly, auth: dashboard.auth.kind }, 'dashboard listening');
    return { name: 'dashboard', url, dashboard, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
