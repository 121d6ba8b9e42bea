import { Router, type Response } from 'express';
import { formatUtcDay } from '@engine/shared';
import { readFolds } from '../bundle-data';
import { fleetStatus } from '../fleet-status';
import { listFailedJobs } from '../queues';
import { parseTrialsQuery } from '../trials-query';
import { trialsReport } from '../trials-report';
import type { RouteContext } from './route-context';

/**
 * The JSON API (issue 19, item 2): what the pages show, for scripts and other tools, behind
 * the same sign-in (a session cookie; without one: 401 JSON). Read-only. Described by
 * {@link OPENAPI} at `/api/openapi.json`; a test checks that every route is documented.
 */
export function apiRoutes(rc: RouteContext): Router {
  const router = Router();
  const { registry, queues } = rc;
  const notFound = (res: Response, error: string) => res.status(404).json({ error });
  const asOf = () => new Date(rc.now()).toISOString();

  router.get('/api/openapi.json', (_req, res) => {
    res.json(OPENAPI);
  });

  router.get('/api/fleet', async (_req, res) => {
    res.json({ as_of: asOf(), ...(await fleetStatus(registry, queues, rc.config.universe)) });
  });

  router.get('/api/symbols/:slug', async (req, res) => {
    const symbol = rc.symbolOf(req.params.slug);
    if (symbol === null) return notFound(res, `'${req.params.slug}' is not a symbol (expected BASE-QUOTE such as BTC-USDT)`);
    const [live, models, events, failed] = await Promise.all([
      registry.liveModel(symbol),
      registry.listModels({ symbol, limit: 200 }),
      registry.events(symbol, 100),
      queues.length > 0 ? listFailedJobs(queues, 100) : Promise.resolve([]),
    ]);
    res.json({ as_of: asOf(), symbol, live, models, events, failed: failed.filter((f) => f.symbol === symbol) });
  });

  router.get('/api/symbols/:slug/trials', async (req, res) => {
    const symbol = rc.symbolOf(req.params.slug);
    if (symbol === null) return notFound(res, `'${req.params.slug}' is not a symbol (expected BASE-QUOTE such as BTC-USDT)`);
    const query = parseTrialsQuery(req.query);
    if (!query.ok) return res.status(400).json({ error: query.reason });
    const out = await trialsReport({ registry, trials: rc.trials, universe: rc.config.universe }, symbol, query.value, formatUtcDay(rc.now()));
    if (!out.ok) return res.status(out.status === 404 ? 404 : 400).json({ error: out.reason });
    res.json({ as_of: asOf(), ...out.report });
  });

  router.get('/api/models/:id', async (req, res) => {
    const m = await registry.getModel(String(req.params.id));
    if (m === null) return notFound(res, `no model with id '${req.params.id}' in the registry`);
    const read = await rc.bundles.read(m);
    const folds = readFolds(read.files ?? new Map<string, Uint8Array>());
    res.json({ as_of: asOf(), model: m, folds: folds.ok ? folds.value : null, folds_error: folds.ok ? (read.error ?? null) : folds.reason });
  });

  router.get('/api/events', async (req, res) => {
    const limit = Number(req.query.limit ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return res.status(400).json({ error: `limit must be an integer from 1 to 1000, got '${String(req.query.limit)}'` });
    const slug = req.query.symbol;
    const symbol = typeof slug === 'string' ? rc.symbolOf(slug) : undefined;
    if (symbol === null) return notFound(res, `'${String(slug)}' is not a symbol (expected BASE-QUOTE such as BTC-USDT)`);
    res.json({ as_of: asOf(), events: await registry.events(symbol, limit) });
  });

  router.use('/api', (req, res) => notFound(res, `no API route ${req.method} ${req.originalUrl}; see /api/openapi.json`));
  return router;
}

const error = { type: 'object', required: ['error'], properties: { error: { type: 'string' } } } as const;
const json = (description: string, schema: object) => ({ description, content: { 'application/json': { schema } } });
const errors = { '401': json('not signed in', error), '404': json('no such symbol or model', error) };
const slug = { name: 'slug', in: 'path', required: true, description: 'a pair as BASE-QUOTE, e.g. BTC-USDT', schema: { type: 'string', pattern: '^[A-Z0-9]+-[A-Z0-9]+$' } };
const asOf = { as_of: { type: 'string', format: 'date-time', description: 'when the answer was computed (UTC)' } };

/** OpenAPI 3.1 description of {@link apiRoutes}. */
export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Engine dashboard API',
    version: '1',
    description:
      "Read-only JSON of what the dashboard's pages show. Sign in first (POST /login with user and password, as the login form does) and send the session cookie; without it every route answers 401. Models are the registry's records, manifests included (SPEC §2, packages/model/schema/manifest.schema.json).",
  },
  components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'engine_session' } } },
  security: [{ session: [] }],
  paths: {
    '/api/openapi.json': { get: { summary: 'This document', responses: { '200': json('the OpenAPI document', { type: 'object' }), '401': errors['401'] } } },
    '/api/fleet': {
      get: {
        summary: 'The fleet page: every symbol with its live model, newest model and failure, queue counts, failed jobs, the newest publish-log entries',
        responses: { '200': json('fleet status', { type: 'object', required: ['as_of', 'symbols', 'failed', 'counts', 'events'], properties: { ...asOf, symbols: { type: 'array' }, failed: { type: 'array' }, counts: { type: 'array' }, events: { type: 'array' } } }), '401': errors['401'] },
      },
    },
    '/api/symbols/{slug}': {
      get: {
        summary: "A symbol's page: live model, its models (newest 200), publish log (newest 100) and failed jobs",
        parameters: [slug],
        responses: { '200': json('symbol history', { type: 'object', required: ['as_of', 'symbol', 'live', 'models', 'events', 'failed'], properties: { ...asOf, symbol: { type: 'string' }, live: { type: ['object', 'null'] }, models: { type: 'array' }, events: { type: 'array' }, failed: { type: 'array' } } }), ...errors },
      },
    },
    '/api/symbols/{slug}/trials': {
      get: {
        summary: "A symbol's trials in the ledger and the deflated Sharpe of the candidate (the trials page)",
        parameters: [
          slug,
          { name: 'days', in: 'query', required: false, schema: { type: 'integer', minimum: 1 }, description: 'window length, days (default 90)' },
          { name: 'candidate', in: 'query', required: false, schema: { type: 'string' }, description: 'configuration hash or a unique prefix' },
          { name: 'controls', in: 'query', required: false, schema: { type: 'string', enum: ['0', '1'] }, description: 'list negative controls too' },
        ],
        responses: { '200': json('trials report', { type: 'object', required: ['as_of'], properties: { ...asOf } }), '400': json('bad query', error), ...errors },
      },
    },
    '/api/models/{id}': {
      get: {
        summary: 'A model: its registry record (manifest, metrics, verdict, sync state) and its fold table',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        responses: { '200': json('model', { type: 'object', required: ['as_of', 'model', 'folds'], properties: { ...asOf, model: { type: 'object' }, folds: { type: ['array', 'null'] }, folds_error: { type: ['string', 'null'] } } }), ...errors },
      },
    },
    '/api/events': {
      get: {
        summary: 'The publish log, newest first (published, rejected, synced, rolled back, …)',
        parameters: [
          { name: 'symbol', in: 'query', required: false, schema: { type: 'string' }, description: 'BASE-QUOTE; all symbols when absent' },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        ],
        responses: { '200': json('publish log', { type: 'object', required: ['as_of', 'events'], properties: { ...asOf, events: { type: 'array' } } }), '400': json('bad limit', error), ...errors },
      },
    },
  },
} as const;
