/**
 * The dashboard refuses every page, action and Bull Board route without a session, lets
 * /healthz through, signs users in with a signed HttpOnly SameSite=Strict cookie, and
 * refuses forged cookies, cross-site posts, missing CSRF tokens and (read-only) writes.
 * Against a real registry on PostgreSQL and real BullMQ queues on Redis.
 */
import { ConfigError, createLogger, loadConfig } from '@engine/shared';
import { createDashboard } from '@engine/dashboard';
import { PASSWORD, startDashboardFixture, USER, type DashboardFixture } from '../packages/dashboard/test/support/dashboard-fixture';
import { csrfOf, login, request } from './support/dashboard-http';

describe('dashboard authentication', () => {
  let fx: DashboardFixture;
  beforeAll(async () => {
    fx = await startDashboardFixture();
  });
  afterAll(async () => {
    await fx?.close();
  });

  test('/healthz answers without a session', async () => {
    const r = await request(fx, 'GET', '/healthz', { accept: 'application/json' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ status: 'ok' });
  });

  test('every page and Bull Board route refuses an anonymous request', async () => {
    const pages = ['/', '/symbols/BTC-USDT', `/models/${fx.models.btcNew.id}`, '/symbols/BTC-USDT/rollback', '/queues', '/queues/queue/train', '/queues/api/queues', '/no-such-page'];
    for (const path of pages) {
      const html = await request(fx, 'GET', path);
      expect({ path, status: html.status }).toEqual({ path, status: 302 });
      expect(html.location).toBe(`/login?next=${encodeURIComponent(path)}`);
      expect(html.body).not.toContain('Signed in as');
      expect(html.body).not.toContain('BTC/USDT');
      const api = await request(fx, 'GET', path, { accept: 'application/json' });
      expect({ path, status: api.status }).toEqual({ path, status: 401 });
      expect(api.body).not.toContain('BTC/USDT');
    }
  });

  test('every action refuses an anonymous request and changes nothing', async () => {
    const posts: [string, Record<string, string> | undefined, unknown][] = [
      [`/jobs/train/${fx.failedJobId}/retry`, { _csrf: 'x' }, undefined],
      ['/symbols/BTC-USDT/rollback', { _csrf: 'x', reason: 'anonymous attempt', model: fx.models.btcNew.id }, undefined],
      [`/queues/api/queues/train/${fx.failedJobId}/retry/failed`, undefined, {}],
      ['/queues/api/queues/train/retry/failed', undefined, {}],
      ['/queues/api/queues/train/clean/failed', undefined, {}],
    ];
    for (const [path, form, json] of posts) {
      const r = await request(fx, 'POST', path, { form, json, origin: fx.url, accept: 'application/json' });
      expect({ path, status: r.status }).toEqual({ path, status: 401 });
    }
    expect(await (await fx.trainQueue.getJob(fx.failedJobId!))!.getState()).toBe('failed');
    expect((await fx.registry.liveModel('BTC/USDT'))!.modelId).toBe(fx.models.btcNew.id);
  });

  test('wrong credentials are refused; right ones give a signed HttpOnly SameSite=Strict cookie', async () => {
    const wrong = await request(fx, 'POST', '/login', { form: { user: USER, password: 'wrong', next: '/' }, origin: fx.url });
    expect(wrong.status).toBe(401);
    expect(wrong.setCookie).toBeNull();
    expect(wrong.body).toContain('Wrong user or password.');
    const wrongUser = await request(fx, 'POST', '/login', { form: { user: 'mallory', password: PASSWORD, next: '/' }, origin: fx.url });
    expect(wrongUser.status).toBe(401);

    const ok = await request(fx, 'POST', '/login', { form: { user: USER, password: PASSWORD, next: '/symbols/BTC-USDT' }, origin: fx.url });
    expect(ok.status).toBe(303);
    expect(ok.location).toBe('/symbols/BTC-USDT');
    expect(ok.setCookie).toMatch(/^engine_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const cookie = ok.setCookie!.split(';')[0]!;

    const fleet = await request(fx, 'GET', '/', { cookie });
    expect(fleet.status).toBe(200);
    expect(fleet.body).toContain('BTC/USDT');
    expect(fleet.body).toContain(`Signed in as <strong>${USER}</strong>`);
    const board = await request(fx, 'GET', '/queues', { cookie });
    expect(board.status).toBe(200);
    const api = await request(fx, 'GET', '/queues/api/queues', { cookie, accept: 'application/json' });
    expect(api.status).toBe(200);
    expect((JSON.parse(api.body) as { queues: { name: string }[] }).queues.map((q) => q.name).sort()).toEqual(['run', 'sync', 'train']);

    // A login form that tries to send the user elsewhere afterwards lands on the dashboard.
    const open = await request(fx, 'POST', '/login', { form: { user: USER, password: PASSWORD, next: '//evil.example/' }, origin: fx.url });
    expect(open.location).toBe('/');
  });

  test('a forged or altered session cookie is refused', async () => {
    const cookie = await login(fx);
    const [name, value] = cookie.split('=') as [string, string];
    const [payload, mac] = value.split('.') as [string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ u: 'admin', s: 'x', e: Date.now() + 3_600_000 })).toString('base64url');
    for (const bad of [`${name}=${forgedPayload}.${mac}`, `${name}=${payload}.${mac.slice(0, -4)}AAAA`, `${name}=${payload}`]) {
      const r = await request(fx, 'GET', '/', { cookie: bad });
      expect(r.status).toBe(302);
    }
  });

  test('actions need the session CSRF token and a same-origin request', async () => {
    const cookie = await login(fx);
    const token = csrfOf((await request(fx, 'GET', '/', { cookie })).body);
    const path = `/jobs/train/${fx.failedJobId}/retry`;
    const noToken = await request(fx, 'POST', path, { cookie, form: {}, origin: fx.url });
    expect(noToken.status).toBe(403);
    expect(noToken.body).toMatch(/CSRF token missing or wrong/);
    const otherSession = csrfOf((await request(fx, 'GET', '/', { cookie: await login(fx) })).body);
    expect((await request(fx, 'POST', path, { cookie, form: { _csrf: otherSession }, origin: fx.url })).status).toBe(403);
    const crossSite = await request(fx, 'POST', path, { cookie, form: { _csrf: token }, origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body).toMatch(/must come from this dashboard/);
    // Bull Board's JSON API gets the same Origin check.
    expect((await request(fx, 'POST', '/queues/api/queues/train/retry/failed', { cookie, json: {}, origin: 'https://evil.example' })).status).toBe(403);
    expect(await (await fx.trainQueue.getJob(fx.failedJobId!))!.getState()).toBe('failed');
  });

  test('logout ends the session, even for a copy of the cookie', async () => {
    const cookie = await login(fx);
    const token = csrfOf((await request(fx, 'GET', '/', { cookie })).body);
    const out = await request(fx, 'POST', '/logout', { cookie, form: { _csrf: token }, origin: fx.url });
    expect(out.status).toBe(303);
    expect(out.setCookie).toMatch(/^engine_session=; .*Max-Age=0/);
    expect((await request(fx, 'GET', '/', { cookie })).status).toBe(302);
  });

  test('no credentials and no explicit anonymous access: the dashboard refuses to start', () => {
    expect(() => createDashboard({ config: loadConfig({}), registry: fx.registry, logger: createLogger({ level: 'silent' }) })).toThrow(ConfigError);
  });

  test('explicit anonymous access lets visitors in as "anonymous", still with CSRF-protected forms', async () => {
    const anon = createDashboard({ config: loadConfig({ DASHBOARD_ALLOW_ANONYMOUS: 'true' }), registry: fx.registry, logger: createLogger({ level: 'silent' }) });
    const server = anon.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const r = await fetch(`${base}/symbols/BTC-USDT`, { redirect: 'manual' });
      expect(r.status).toBe(200);
      expect(r.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
      const body = await r.text();
      expect(body).toContain('Signed in as <strong>anonymous</strong>');
      // No Redis here: the queues page says why there is no Bull Board.
      expect(await (await fetch(`${base}/queues`)).text()).toContain('No Redis is configured');
      const noToken = await fetch(`${base}/symbols/BTC-USDT/rollback`, { method: 'POST', redirect: 'manual', headers: { cookie: r.headers.get('set-cookie')!.split(';')[0]!, 'content-type': 'application/x-www-form-urlencoded' }, body: 'reason=no+token+given' });
      expect(noToken.status).toBe(403);
    } finally {
      await new Promise((r) => server.close(r));
      await anon.close();
    }
  });
});

describe('dashboard in read-only mode', () => {
  let fx: DashboardFixture;
  beforeAll(async () => {
    fx = await startDashboardFixture({ readOnly: true });
  });
  afterAll(async () => {
    await fx?.close();
  });

  test('pages show no action buttons and every write is refused', async () => {
    const cookie = await login(fx);
    const fleet = await request(fx, 'GET', '/', { cookie });
    expect(fleet.body).toContain('read-only');
    expect(fleet.body).not.toContain('/retry"');
    const token = csrfOf(fleet.body);
    const symbol = await request(fx, 'GET', '/symbols/BTC-USDT', { cookie });
    expect(symbol.body).not.toContain('rollback-link');
    expect((await request(fx, 'POST', `/jobs/train/${fx.failedJobId}/retry`, { cookie, form: { _csrf: token }, origin: fx.url })).status).toBe(403);
    expect((await request(fx, 'POST', '/symbols/BTC-USDT/rollback', { cookie, form: { _csrf: token, reason: 'read-only test', model: fx.models.btcNew.id }, origin: fx.url })).status).toBe(403);
    expect((await request(fx, 'POST', `/queues/api/queues/train/${fx.failedJobId}/retry/failed`, { cookie, json: {}, origin: fx.url })).status).toBe(403);
    expect(await (await fx.trainQueue.getJob(fx.failedJobId!))!.getState()).toBe('failed');
    expect((await fx.registry.liveModel('BTC/USDT'))!.modelId).toBe(fx.models.btcNew.id);
  });
});
