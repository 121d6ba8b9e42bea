import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { ConnectionOptions, Queue } from 'bullmq';
import { EngineError, type Config, type Logger } from '@engine/shared';
import { TrialLedger, type Registry } from '@engine/registry';
import { allowedHosts, Auth, authMode, type AuthMode } from './auth/auth';
import { SessionCodec } from './auth/session';
import { BundleReader, type BundleSources } from './bundle-reader';
import { openCatalogQueues } from './queues';
import { DashboardMetrics } from './metrics';
import { bearerMatches } from '@engine/fleet';
import { actionRoutes } from './routes/actions';
import { apiRoutes } from './routes/api';
import { pageRoutes } from './routes/pages';
import { queueBoardRoutes } from './routes/queue-board';
import { routeContext } from './routes/route-context';

export { QUEUES_PATH } from './routes/queue-board';

export interface DashboardOptions {
  config: Config;
  registry: Registry;
  /** The trial ledger (default: the one in the registry's database and schema, where migration 3 puts it). */
  trials?: TrialLedger;
  logger: Logger;
  /** Queues to show and act on (the caller owns and closes them)… */
  queues?: Queue[];
  /** …or a Redis connection: one Queue per catalog queue is opened under `config.queuePrefix` and closed by `close()`. */
  connection?: ConnectionOptions;
  /** Where the model page reads folds.json, equity.json and feature importance. */
  bundles?: BundleSources;
  /** HMAC key of the session cookies, ≥ 32 bytes (default: DASHBOARD_SESSION_SECRET, else random per process). */
  sessionSecret?: Buffer;
  /** Epoch ms now (default Date.now): "the last N days" of the trials page end today by it; tests pin it. */
  now?: () => number;
}

export interface Dashboard {
  /** The express app: `app.listen(port, host)`, or hand it to a test. */
  app: Express;
  auth: AuthMode;
  queues: readonly Queue[];
  /** Close what the dashboard opened (queues made from `connection`); not the registry. */
  close(): Promise<void>;
}

/**
 * The dashboard: Bull Board over every catalog queue at `/queues`, the registry pages
 * (fleet, symbol history, model with gates, folds and server-rendered SVG plots, a
 * symbol's trials with the deflated Sharpe of its candidate) and two
 * actions (retry a failed job, roll back a symbol's live model), all behind a login;
 * only `/healthz` and `/metrics` (Prometheus; a bearer token when ENGINE_METRICS_TOKEN is set) are open.
 *
 * Throws ConfigError when no credentials are configured and anonymous access is not
 * explicitly allowed.
 */
export function createDashboard(opts: DashboardOptions): Dashboard {
  const { config, registry, logger } = opts;
  const mode = authMode(config.dashboard);
  if (mode.kind === 'anonymous') logger.warn('DASHBOARD_ALLOW_ANONYMOUS=true and no credentials: anyone who reaches the port can use the dashboard');
  else if (config.dashboard.allowAnonymous) logger.warn('DASHBOARD_ALLOW_ANONYMOUS is ignored: credentials are configured, so everyone signs in');
  const ownsQueues = opts.queues === undefined && opts.connection !== undefined;
  const queues: Queue[] = opts.queues ?? (opts.connection !== undefined ? openCatalogQueues(opts.connection, config.queuePrefix) : []);
  const readOnly = config.dashboard.readOnly;
  const secret = opts.sessionSecret ?? (config.dashboard.sessionSecret !== undefined ? Buffer.from(config.dashboard.sessionSecret, 'utf8') : undefined);
  if (secret === undefined) logger.warn('DASHBOARD_SESSION_SECRET is not set: sessions end when this process restarts and are not shared with other replicas');
  const auth = new Auth(mode, new SessionCodec(secret), logger, { queues: queues.length > 0, allowedHosts: allowedHosts(config.dashboard, mode) });

  const trials = opts.trials ?? new TrialLedger(registry.db, { schema: registry.schema });
  const rc = routeContext({ config, registry, trials, logger, auth, queues, bundles: new BundleReader(opts.bundles ?? {}), readOnly, now: opts.now ?? Date.now });

  const app = express();
  app.disable('x-powered-by');
  // Behind a TLS proxy: req.secure (the cookie's Secure flag) and req.ip (the login throttle) come from X-Forwarded-*.
  app.set('trust proxy', config.dashboard.trustProxy);
  app.use((_req, res, next) => {
    res.set({ 'X-Frame-Options': 'DENY', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin', 'Cache-Control': 'no-store' });
    next();
  });

  // Open to any Host (a container's own healthcheck asks for localhost); says nothing but "ok".
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Prometheus scrapes without a session; ENGINE_METRICS_TOKEN, when set, is the bearer token it must send.
  const metrics = new DashboardMetrics(registry, queues, opts.now ?? Date.now);
  app.get('/metrics', (req, res, next) => {
    if (config.metricsToken && !bearerMatches(req.headers.authorization, config.metricsToken)) {
      res.status(401).set('WWW-Authenticate', 'Bearer').type('text/plain').send('a bearer token is required (ENGINE_METRICS_TOKEN)\n');
      return;
    }
    metrics.render().then((text) => res.type(metrics.contentType).send(text), next);
  });
  app.use(auth.checkHost);
  app.use(auth.checkOrigin);
  app.use(auth.routes());
  // Everything below needs a session: pages, actions, Bull Board and unknown paths alike.
  app.use(auth.requireSession);
  app.use(queueBoardRoutes(rc));
  app.use(apiRoutes(rc));
  app.use(pageRoutes(rc));
  app.use(actionRoutes(rc));

  app.use((req, res) => rc.notFound(res, `nothing at ${req.path}`));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as Error;
    logger.error({ err: e, path: req.path, method: req.method }, 'dashboard request failed');
    if (res.headersSent) return;
    const message = err instanceof EngineError ? e.message : 'internal error (see the dashboard log)';
    res.status(err instanceof EngineError && !err.permanent ? 503 : 500).type('text/plain').send(`error: ${message}`);
  });

  return {
    app,
    auth: mode,
    queues,
    async close() {
      if (ownsQueues) await Promise.all(queues.map((q) => q.close()));
    },
  };
}
