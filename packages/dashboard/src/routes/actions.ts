import { Router } from 'express';
import { EngineError, pairSlug, parsePair } from '@engine/shared';
import { sessionOf } from '../auth/auth';
import { html } from '../html';
import { retryFailedJob } from '../queues';
import { layout } from '../views/layout';
import { rollbackPage } from '../views/rollback';
import type { RouteContext } from './route-context';

/** The two actions: retry a failed job, roll back a symbol's live model (CSRF-checked, refused when read-only). */
export function actionRoutes(rc: RouteContext): Router {
  const router = Router();
  const { registry, logger, auth } = rc;

  router.post('/jobs/:queue/:id/retry', rc.refuseReadOnly, rc.form, auth.requireCsrf, async (req, res) => {
    const user = sessionOf(res).user;
    const back = typeof req.body?.back === 'string' && /^\/(symbols\/[A-Z0-9-]+)?$/.test(req.body.back) ? req.body.back : '/';
    try {
      const job = await retryFailedJob(rc.queues, String(req.params.queue), String(req.params.id));
      logger.info({ user, queue: job.queue, jobId: job.id, symbol: job.symbol, reason: job.reason }, 'failed job retried from the dashboard');
      res.redirect(303, `${back}?notice=retried`);
    } catch (err) {
      if (!(err instanceof EngineError && err.permanent)) throw err;
      rc.page(res, 409, layout('Retry refused', rc.ctxOf(res), html`<h1>Retry refused</h1><div class="notice error">${err.message}</div><p><a href="${back}">Back</a></p>`));
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

  router.get('/symbols/:slug/rollback', async (req, res) => {
    const symbol = rc.symbolOf(req.params.slug);
    if (symbol === null) return rc.notFound(res, `'${req.params.slug}' is not a symbol`);
    if (rc.readOnly) return rc.page(res, 403, layout('Read-only', rc.ctxOf(res), html`<h1>Read-only</h1><p>The dashboard runs read-only (DASHBOARD_READ_ONLY=true): rollbacks are disabled.</p>`));
    rc.page(res, 200, rollbackPage(rc.ctxOf(res), { symbol, ...(await rollbackTarget(symbol)) }));
  });

  router.post('/symbols/:slug/rollback', rc.refuseReadOnly, rc.form, auth.requireCsrf, async (req, res) => {
    const symbol = rc.symbolOf(String(req.params.slug));
    if (symbol === null) return rc.notFound(res, `'${req.params.slug}' is not a symbol`);
    const user = sessionOf(res).user;
    const reason = typeof req.body?.reason === 'string' ? req.body.reason.trim() : '';
    const confirmed = typeof req.body?.model === 'string' ? req.body.model : '';
    const target = await rollbackTarget(symbol);
    const again = (status: number, error: string) => rc.page(res, status, rollbackPage(rc.ctxOf(res), { symbol, ...target, reason, error }));
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
  return router;
}
