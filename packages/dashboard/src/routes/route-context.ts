import express, { type NextFunction, type Request, type Response } from 'express';
import type { Queue } from 'bullmq';
import { pairSlug, parsePair, type Config, type Logger } from '@engine/shared';
import type { Registry, TrialLedger } from '@engine/registry';
import { sessionOf, type Auth } from '../auth/auth';
import type { BundleReader } from '../bundle-reader';
import { html } from '../html';
import { layout, type PageContext } from '../views/layout';

const NOTICES: Record<string, string> = {
  retried: 'Job sent back to the queue for another attempt.',
  'rolled-back': 'Rolled back: the previous published model is live; the publish log records who and why.',
};

/** Our pages run no script and load nothing from elsewhere; Bull Board (its own bundle) is exempt. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** What every route file gets: the dashboard's collaborators and the helpers its pages share. */
export interface RouteContext {
  config: Config;
  registry: Registry;
  /** The trial ledger (in the registry's schema). */
  trials: TrialLedger;
  logger: Logger;
  auth: Auth;
  queues: readonly Queue[];
  bundles: BundleReader;
  readOnly: boolean;
  /** Epoch ms now: the trials page's "last N days" ends today by this clock. */
  now(): number;
  /** The page frame's view of this request (user, CSRF token, read-only, queues). */
  ctxOf(res: Response): PageContext;
  /** The notice a redirect asked for (`?notice=retried`), if any. */
  notice(req: Request): { text: string } | undefined;
  /** Send an HTML page with our security headers. */
  page(res: Response, status: number, body: string): void;
  notFound(res: Response, what: string): void;
  /** 400 with a page saying what was wrong with the request. */
  badRequest(res: Response, what: string): void;
  /** `BTC-USDT` → `BTC/USDT`; null unless the slug is exactly a pair's slug. */
  symbolOf(slug: string): string | null;
  /** Middleware: 403 when the dashboard runs read-only. */
  refuseReadOnly(req: Request, res: Response, next: NextFunction): void;
  /** Middleware: parse a small urlencoded form. */
  form: express.RequestHandler;
}

export function routeContext(base: Pick<RouteContext, 'config' | 'registry' | 'trials' | 'logger' | 'auth' | 'queues' | 'bundles' | 'readOnly' | 'now'>): RouteContext {
  const hasQueues = base.queues.length > 0;
  const ctxOf = (res: Response): PageContext => {
    const s = sessionOf(res);
    return { user: s.user, csrf: base.auth.codec.csrfToken(s), readOnly: base.readOnly, queues: hasQueues, now: base.now() };
  };
  const page = (res: Response, status: number, body: string): void => {
    res.status(status).set('Content-Security-Policy', PAGE_CSP).type('html').send(body);
  };
  return {
    ...base,
    ctxOf,
    page,
    notice(req) {
      const n = typeof req.query.notice === 'string' ? NOTICES[req.query.notice] : undefined;
      return n === undefined ? undefined : { text: n };
    },
    notFound(res, what) {
      page(res, 404, layout('Not found', ctxOf(res), html`<h1>Not found</h1><p>${what}</p><p><a href="/">Back to the fleet</a></p>`));
    },
    badRequest(res, what) {
      page(res, 400, layout('Bad request', ctxOf(res), html`<h1>Bad request</h1><p>${what}</p><p><a href="/">Back to the fleet</a></p>`));
    },
    symbolOf(slug) {
      try {
        const p = parsePair(slug);
        return pairSlug(p) === slug ? p.symbol : null;
      } catch {
        return null;
      }
    },
    refuseReadOnly(_req, res, next) {
      if (!base.readOnly) return next();
      res.status(403).type('text/plain').send('refused: the dashboard runs read-only (DASHBOARD_READ_ONLY=true)');
    },
    form: express.urlencoded({ extended: false, limit: '16kb' }),
  };
}
