import { Router } from 'express';
import { readEquity, readFolds, readImportance } from '../bundle-data';
import { fleetStatus } from '../fleet-status';
import { listFailedJobs } from '../queues';
import { fleetPage } from '../views/fleet';
import { modelPage } from '../views/model';
import { symbolPage } from '../views/symbol';
import { trialsPage } from '../views/trials';
import { parseTrialsQuery } from '../trials-query';
import { trialsReport } from '../trials-report';
import { formatUtcDay } from '@engine/shared';
import type { RouteContext } from './route-context';
import { listReplays, readReplay, retrainDates, type ReplayReport } from '@engine/fleet';
import { replayPage, replaysPage } from '../views/replays';

/** The read-only pages: the fleet, one symbol's history, its trials, one model. */
export function pageRoutes(rc: RouteContext): Router {
  const router = Router();
  const { registry, queues } = rc;

  router.get('/', async (req, res) => {
    rc.page(res, 200, fleetPage(rc.ctxOf(res), await fleetStatus(registry, queues, rc.config.universe), rc.notice(req)));
  });

  router.get('/symbols/:slug', async (req, res) => {
    const symbol = rc.symbolOf(req.params.slug);
    if (symbol === null) return rc.notFound(res, `'${req.params.slug}' is not a symbol (expected BASE-QUOTE such as BTC-USDT)`);
    const [live, models, events, failed] = await Promise.all([
      registry.liveModel(symbol),
      registry.listModels({ symbol, limit: 200 }),
      registry.events(symbol, 100),
      queues.length > 0 ? listFailedJobs(queues, 100) : Promise.resolve([]),
    ]);
    const livePanel = live === null ? undefined : { trades: await registry.liveTrades(live.modelId), monitoring: await registry.latestMonitoring(live.modelId), demoted: live.demoted };
    rc.page(res, 200, symbolPage(rc.ctxOf(res), { symbol, live, models, events, failed: failed.filter((f) => f.symbol === symbol), ...(livePanel ? { livePanel } : {}) }, rc.notice(req)));
  });

  router.get('/symbols/:slug/trials', async (req, res) => {
    const symbol = rc.symbolOf(req.params.slug);
    if (symbol === null) return rc.notFound(res, `'${req.params.slug}' is not a symbol (expected BASE-QUOTE such as BTC-USDT)`);
    const query = parseTrialsQuery(req.query);
    if (!query.ok) return rc.badRequest(res, `Trials of ${symbol}: ${query.reason}.`);
    const out = await trialsReport({ registry, trials: rc.trials, universe: rc.config.universe }, symbol, query.value, formatUtcDay(rc.now()));
    if (!out.ok) return out.status === 404 ? rc.notFound(res, out.reason) : rc.badRequest(res, `Trials of ${symbol}: ${out.reason}.`);
    rc.page(res, 200, trialsPage(rc.ctxOf(res), out.report));
  });

  router.get('/replays', async (_req, res) => {
    rc.page(res, 200, replaysPage(rc.ctxOf(res), await listReplays(registry.db)));
  });

  router.get('/replays/:id', async (req, res) => {
    const r = await readReplay(registry.db, String(req.params.id));
    if (r === null) return rc.notFound(res, `no replay '${req.params.id}' in this registry (ids are 12 hex digits; see /replays)`);
    rc.page(res, 200, replayPage(rc.ctxOf(res), { ...r, report: r.report as ReplayReport | null, dates: retrainDates(r.request) }));
  });

  router.get('/models/:id', async (req, res) => {
    const m = await registry.getModel(String(req.params.id));
    if (m === null) return rc.notFound(res, `no model with id '${req.params.id}' in the registry`);
    const [read, trades, monitoring, live] = await Promise.all([rc.bundles.read(m), registry.liveTrades(m.id), registry.latestMonitoring(m.id), registry.liveModel(m.symbol)]);
    const files = read.files ?? new Map<string, Uint8Array>();
    rc.page(res, 200, modelPage(rc.ctxOf(res), m, {
      bundleError: read.error,
      equity: readEquity(files),
      folds: readFolds(files),
      importance: readImportance(files),
      topFeatures: 25,
      live: { trades, monitoring, demoted: live !== null && live.modelId === m.id ? live.demoted : null },
    }));
  });
  return router;
}
