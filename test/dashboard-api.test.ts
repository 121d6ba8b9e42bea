/**
 * The dashboard's JSON API (issue 19, item 2): what the pages show, behind the same sign-in,
 * every route described by the OpenAPI document it serves. A real registry on PostgreSQL
 * and real BullMQ queues on Redis (the dashboard fixture).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PASSWORD, startDashboardFixture, type DashboardFixture } from '../packages/dashboard/test/support/dashboard-fixture';
import { login, request } from './support/dashboard-http';
import { REPO_ROOT } from './support/paths';

describe('the JSON API', () => {
  let fx: DashboardFixture;
  let cookie: string;
  beforeAll(async () => {
    fx = await startDashboardFixture({ now: () => Date.parse('2026-07-16T12:00:00Z') });
    cookie = await login(fx);
  });
  afterAll(async () => {
    await fx?.close();
  });
  const get = async (p: string, signedIn = true) => {
    const r = await request(fx, 'GET', p, { accept: 'application/json', ...(signedIn ? { cookie } : {}) });
    return { status: r.status, json: JSON.parse(r.body) as Record<string, unknown>, body: r.body };
  };

  test('every route answers 401 JSON without a session', async () => {
    for (const p of ['/api/fleet', '/api/symbols/BTC-USDT', '/api/symbols/BTC-USDT/trials', `/api/models/${fx.models.btcNew.id}`, '/api/events', '/api/openapi.json']) {
      const r = await get(p, false);
      expect([p, r.status, r.json.error]).toEqual([p, 401, expect.stringMatching(/authentication required/)]);
    }
  });

  test('fleet, symbol, model, trials and publish log: the pages\' data, as of the clock', async () => {
    const fleet = await get('/api/fleet');
    expect(fleet.status).toBe(200);
    expect(fleet.json.as_of).toBe('2026-07-16T12:00:00.000Z');
    const symbols = fleet.json.symbols as { symbol: string; live: { modelId: string } | null }[];
    expect(symbols.map((s) => s.symbol)).toEqual(['BTC/USDT', 'ETH/USDT', 'SOL/USDT']);
    expect(symbols[0]!.live!.modelId).toBe(fx.models.btcNew.id);
    expect((fleet.json.failed as { id: string }[]).map((f) => f.id)).toContain(fx.failedJobId);

    const btc = await get('/api/symbols/BTC-USDT');
    expect(btc.status).toBe(200);
    expect((btc.json.models as { id: string }[]).map((m) => m.id).sort()).toEqual([fx.models.btcOld.id, fx.models.btcNew.id].sort());

    const model = await get(`/api/models/${fx.models.btcNew.id}`);
    expect(model.status).toBe(200);
    const m = model.json.model as { id: string; manifest: { model_id: string; non_default_settings: string[] } };
    expect(m.manifest.model_id).toBe(fx.models.btcNew.id);
    expect(m.manifest.non_default_settings).toEqual(['threshold.min_trades: 5 (default 10)']);
    expect((model.json.folds as unknown[]).length).toBe(7);

    const trials = await get('/api/symbols/BTC-USDT/trials');
    expect(trials.status).toBe(200);
    const events = await get('/api/events?symbol=BTC-USDT&limit=5');
    expect((events.json.events as { symbol: string }[]).every((e) => e.symbol === 'BTC/USDT')).toBe(true);
    // Nothing secret in any answer.
    for (const r of [fleet, btc, model, trials, events]) expect(r.body).not.toContain(PASSWORD);
  });

  test('bad input: 404 for an unknown symbol, model or route, 400 for a bad limit, each saying why', async () => {
    expect(await get('/api/symbols/NOT_A_PAIR')).toMatchObject({ status: 404, json: { error: expect.stringMatching(/is not a symbol/) } });
    expect(await get('/api/models/00000000-0000-4000-8000-000000000000')).toMatchObject({ status: 404, json: { error: expect.stringMatching(/no model with id/) } });
    expect(await get('/api/events?limit=5000')).toMatchObject({ status: 400, json: { error: expect.stringMatching(/limit must be an integer from 1 to 1000/) } });
    expect(await get('/api/nothing')).toMatchObject({ status: 404, json: { error: expect.stringMatching(/openapi\.json/) } });
  });

  test('the OpenAPI document describes every route the API serves', async () => {
    const doc = await get('/api/openapi.json');
    expect(doc.json.openapi).toBe('3.1.0');
    const documented = Object.keys(doc.json.paths as Record<string, unknown>).map((p) => p.replace(/\{(\w+)\}/g, ':$1')).sort();
    const source = readFileSync(path.join(REPO_ROOT, 'packages/dashboard/src/routes/api.ts'), 'utf8');
    const served = [...source.matchAll(/router\.get\('([^']+)'/g)].map((x) => x[1]!).sort();
    expect(documented).toEqual(served);
  });
});
