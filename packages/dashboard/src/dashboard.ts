import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { ConnectionOptions, Queue } from 'bullmq';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { EngineError, pairSlug, parsePair, type Config, type Logger } from '@engine/shared';
import type { Registry } from '@engine/registry';
import { Auth, authMode, sessionOf, type AuthMode } from './auth/auth';
import { SessionCodec } from './auth/session';
import { BundleReader, type BundleSources } from './bundle-reader';
import { readEquity, readFolds, readImportance } from './bundle-data';
import { fleetStatus } from './fleet-status';
import { listFailedJobs, openCatalogQueues, retryFailedJob } from './queues';
import { html } from './html';
import { fleetPage } from './views/fleet';
import { layout, type PageContext } from './views/layout';
import { modelPage } from './views/model';
import { rollbackPage } from './views/rollback';
import { symbolPage } from './views/symbol';

/** Where Bull Board is mounted. */
export const QUEUES_PATH = '/queues';

export interface DashboardOptions {
  config: Config;
  registry: Registry;
  logger: Logger;
  /** Queues to show and act on (the caller owns and closes them)… */
  queues?: Queue[];
  /** …or a Redis connection: one Queue per catalog queue is opened under `config.queuePrefix` and closed by `close()`. */
  connection?: ConnectionOptions;
  /** Where the model page reads folds.json, equity.json and feature importance. */
  bundles?: BundleSources;
  /** HMAC key of the session cookies, ≥ 32 bytes (default: random per process; share it between replicas). */
  sessionSecret?: Buffer;
}

export interface Dashboard {
  /** The express app: `app.listen(port, host)`, or hand it to a test. */
  app: Express;
  auth: AuthMode;
  queues: readonly Queue[];
  /** Close what the dashboard opened (queues made from `connection`); not the registry. */
  close(): Promise<void>;
}

const NOTICES: Record<string, string> = {
  retried: 'Job sent back to the queue for another attempt.',
  'rolled-back': 'Rolled back: the previous published model is live; the publish log records who and why.',
};

/** Our pages run no script and load nothing from elsewhere; Bull Board (its own bundle) is exempt. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The dashboard: Bull Board over every catalog queue at `/queues`, the registry pages
 * (fleet, symbol history, model with gates, folds and server-rendered SVG plots) and two
 * actions (retry a failed job, roll back a symbol's live model), all behind a login;
 * only `/healthz` is open.
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
  const hasQueues = queues.length > 0;
  const auth = new Auth(mode, new SessionCodec(opts.sessionSecret), logger, { queues: hasQueues });
  const bundles = new BundleReader(opts.bundles ?? {});

  const ctxOf = (res: Response): PageContext => {
    const s = sessionOf(res);
    return { user: s.user, csrf: auth.codec.csrfToken(s), readOnly, queues: hasQueues };
  };
  const notice = (req: Request) => {
    const n = typeof req.query.notice === 'string' ? NOTICES[req.query.notice] : undefined;
    return n === undefined ? undefined : { text: n };
  };
  const page = (res: Response, status: number, body: string) => {
    res.status(status).set('Content-Security-Policy', PAGE_CSP).type('html').send(body);
  };
  const symbolOf = (slug: string): string | null => {
    try {
      const p = parsePair(slug);
      return pairSlug(p) === slug ? p.symbol : null;
    } catch {
      return null;
    }
  };
  const notFound = (res: Response, what: string) => page(res, 404, layout('Not found', ctxOf(res), html`<h1>Not found</h1><p>${what}</p><p><a href="/">Back to the fleet</a></p>`));
  const form = express.urlencoded({ extended: false, limit: '16kb' });
  const refuseReadOnly = (_req: Request, res: Response, next: NextFunction) => {
    if (!readOnly) return next();
    res.status(403).type('text/plain').send('refused: the dashboard runs read-only (DASHBOARD_READ_ONLY=true)');
  };

  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.set({ 'X-Frame-Options': 'DENY', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin', 'Cache-Control': 'no-store' });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(auth.checkOrigin);
  app.use(auth.routes());
  // Everything below needs a session: pages, actions, Bull Board and unknown paths alike.
  app.use(auth.requireSession);

  if (hasQueues) {
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(QUEUES_PATH);
    createBullBoard({
      queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: readOnly, allowRetries: !readOnly })),
      serverAdapter,
      options: { uiConfig: { boardTitle: 'Engine queues', hideDocsLink: true, miscLinks: [{ text: 'Models (fleet)', url: '/' }] } },
    });
    // Bull Board enforces read-only itself; refusing its writes here as well costs nothing.
    app.use(QUEUES_PATH, (req, res, next) => (req.method === 'GET' ? next() : refuseReadOnly(req, res, next)), serverAdapter.getRouter());
  } else {
    app.get(QUEUES_PATH, (_req, res) => page(res, 200, layout('Queues', ctxOf(res), html`<h1>Queues</h1><p>No Redis is configured (single-machine mode, REDIS_URL unset): there are no queues.</p>`)));
  }

  app.get('/', async (req, res) => {
    page(res, 200, fleetPage(ctxOf(res), await fleetStatus(registry, queues, config.universe), notice(req)));
  });

  app.get('/symbols/:slug', async (req, res) => {
    const symbol = symbolOf(req.params.slug);
    if (symbol === null) return notFound(res, `'${req.params.slug}' is not a symbol (expected BASE-QUOTE such as BTC-USDT)`);
    const [live, models, events, failed] = await Promise.all([
      registry.liveModel(symbol),
      registry.listModels({ symbol, limit: 200 }),
      registry.events(symbol, 100),
      hasQueues ? listFailedJobs(queues, 100) : Promise.resolve([]),
    ]);
    page(res, 200, symbolPage(ctxOf(res), { symbol, live, models, events, failed: failed.filter((f) => f.symbol === symbol) }, notice(req)));
  });

  app.get('/models/:id', async (req, res) => {
    const m = await registry.getModel(String(req.params.id));
    if (m === null) return notFound(res, `no model with id '${req.params.id}' in the registry`);
    const read = await bundles.read(m);
    const files = read.files ?? new Map<string, Uint8Array>();
    page(res, 200, modelPage(ctxOf(res), m, {
      bundleError: read.error,
      equity: readEquity(files),
      folds: readFolds(files),
      importance: readImportance(files, m.manifest),
      topFeatures: 25,
    }));
  });

  app.post('/jobs/:queue/:id/retry', refuseReadOnly, form, auth.requireCsrf, async (req, res) => {
    const user = sessionOf(res).user;
    const back = typeof req.body?.back === 'string' && /^\/(symbols\/[A-Z0-9-]+)?$/.test(req.body.back) ? req.body.back : '/';
    try {
      const job = await retryFailedJob(queues, String(req.params.queue), String(req.params.id));
      logger.info({ user, queue: job.queue, jobId: job.id, symbol: job.symbol, reason: job.reason }, 'failed job retried from the dashboard');
      res.redirect(303, `${back}?notice=retried`);
    } catch (err) {
      if (!(err instanceof EngineError && err.permanent)) throw err;
      page(res, 409, layout('Retry refused', ctxOf(res), html`<h1>Retry refused</h1><div class="notice error">${err.message}</div><p><a href="${back}">Back</a></p>`));
    }
  });

  const rollbackTarget = async (symbol: string) => {
    const live = await registry.liveModel(symbol);
    const models = await registry.listModels({ symbol, verdict: 'published', limit: 200 });
    // Display only: the registry picks the target itself when the rollback is posted.
    const liveRow = models.find((m) => m.id === live?.modelId);
    const next = liveRow === undefined ? null : models.find((m) => m.id !== liveRow.id && m.rolledBackAt === null && (m.runDate < liveRow.runDate || (m.runDate === liveRow.runDate && m.recordedAt < liveRow.recordedAt))) ?? null;
    return { live, next };
  };

  app.get('/symbols/:slug/rollback', async (req, res) => {
    const symbol = symbolOf(req.params.slug);
    if (symbol === null) return notFound(res, `'${req.params.slug}' is not a symbol`);
    if (readOnly) return page(res, 403, layout('Read-only', ctxOf(res), html`<h1>Read-only</h1><p>The dashboard runs read-only (DASHBOARD_READ_ONLY=true): rollbacks are disabled.</p>`));
    page(res, 200, rollbackPage(ctxOf(res), { symbol, ...(await rollbackTarget(symbol)) }));
  });

  app.post('/symbols/:slug/rollback', refuseReadOnly, form, auth.requireCsrf, async (req, res) => {
    const symbol = symbolOf(String(req.params.slug));
    if (symbol === null) return notFound(res, `'${req.params.slug}' is not a symbol`);
    const user = sessionOf(res).user;
    const reason = typeof req.body?.reason === 'string' ? req.body.reason.trim() : '';
    const confirmed = typeof req.body?.model === 'string' ? req.body.model : '';
    const target = await rollbackTarget(symbol);
    const again = (status: number, error: string) => page(res, status, rollbackPage(ctxOf(res), { symbol, ...target, reason, error }));
    if (reason.length < 3) return again(400, 'A reason is required (at least 3 characters): it is recorded in the publish log.');
    if (target.live === null || target.live.modelId !== confirmed) {
      return again(409, `The live model of ${symbol} changed since this page was opened (now ${target.live?.modelId ?? 'none'}, confirmed ${confirmed || 'none'}); review it and confirm again.`);
    }
    try {
      const r = await registry.rollback(symbol, { actor: user, reason });
      logger.info({ user, symbol, from: r.from, to: r.to, reason }, 'live model rolled back from the dashboard');
      res.redirect(303, `/symbols/${pairSlug(parsePair(symbol))}?notice=rolled-back`);
    } catch (err) {
      if (!(err instanceof EngineError && err.permanent)) throw err;
      again(409, err.message);
    }
  });

  app.use((req, res) => notFound(res, `nothing at ${req.path}`));
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
