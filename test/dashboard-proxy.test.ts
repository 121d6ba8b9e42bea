/**
 * The dashboard behind a proxy and with several users: users from a file of salted scrypt
 * hashes, a session secret from the environment (restarts and replicas keep sessions),
 * `trust proxy` (the cookie stays Secure behind TLS, the login throttle counts real
 * clients), throttling per user as well as per address, short passwords refused, and
 * requests for a host the dashboard does not answer to refused (DNS rebinding).
 * Real registry on PostgreSQL; real HTTP on 127.0.0.1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, createLogger, loadConfig } from '@engine/shared';
import { authMode, createDashboard, hashPasswordLine } from '@engine/dashboard';
import { startDashboardFixture, type DashboardFixture } from '../packages/dashboard/test/support/dashboard-fixture';

interface Reply {
  status: number;
  setCookie: string | null;
  body: string;
}

/** One HTTP request with any headers (Host included), no redirects followed. */
function send(port: number, method: string, urlPath: string, headers: Record<string, string> = {}, form?: Record<string, string>): Promise<Reply> {
  const body = form ? new URLSearchParams(form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path: urlPath, headers: { accept: 'text/html', ...(body ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookie: ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0] ?? null, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the dashboard behind a proxy, with several users', () => {
  let fx: DashboardFixture;
  let dir: string;
  let usersFile: string;
  const servers: { close(): void }[] = [];
  const SECRET = 'a-shared-session-secret-of-at-least-32-characters';

  /** A dashboard on the fixture's registry with this environment, listening on a free port. */
  async function serve(env: Record<string, string>): Promise<number> {
    const d = createDashboard({ config: loadConfig(env), registry: fx.registry, logger: createLogger({ level: 'silent' }) });
    const server = await new Promise<import('node:http').Server>((resolve) => {
      const s = d.app.listen(0, '127.0.0.1', () => resolve(s));
    });
    servers.push({ close: () => (server.closeAllConnections(), server.close()) });
    return (server.address() as AddressInfo).port;
  }

  const login = (port: number, user: string, password: string, headers: Record<string, string> = {}) =>
    send(port, 'POST', '/login', { origin: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, ...headers }, { user, password, next: '/' });

  beforeAll(async () => {
    fx = await startDashboardFixture({ failedJob: false });
    dir = mkdtempSync(path.join(tmpdir(), 'dash-users-'));
    usersFile = path.join(dir, 'users');
    writeFileSync(usersFile, `# ops team\n${hashPasswordLine('ops-carol', 'carol-long-password')}\n\n${hashPasswordLine('ops-dave', 'dave-long-password!')}\n`);
  });
  afterAll(async () => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
    await fx?.close();
  });

  test('refuses passwords shorter than 12 characters and malformed user files, naming the line', () => {
    const base = loadConfig({}).dashboard;
    expect(() => authMode({ ...base, user: 'ops', password: 'elevenchars' })).toThrow(/11 characters, at least 12/);
    expect(() => hashPasswordLine('ops', 'short')).toThrow(ConfigError);
    const bad = path.join(dir, 'bad-users');
    writeFileSync(bad, `${hashPasswordLine('ok-user', 'a-good-long-password')}\nmallory:plain:hunter2\n`);
    expect(() => authMode({ ...base, usersFile: bad })).toThrow(new RegExp(`${bad}:2: expected user:scrypt`));
  });

  test('signs in every user of the users file (and the environment user), and no one else', async () => {
    const port = await serve({ DASHBOARD_USERS_FILE: usersFile, DASHBOARD_USER: 'ops-erin', DASHBOARD_PASSWORD: 'erin-long-password' });
    for (const [u, p] of [['ops-carol', 'carol-long-password'], ['ops-dave', 'dave-long-password!'], ['ops-erin', 'erin-long-password']] as const) {
      const r = await login(port, u, p);
      expect(r.status).toBe(303);
      const page = await send(port, 'GET', '/', { cookie: r.setCookie!.split(';')[0]!, host: `127.0.0.1:${port}` });
      expect(page.body).toContain(`Signed in as <strong>${u}</strong>`);
    }
    expect((await login(port, 'ops-carol', 'dave-long-password!')).status).toBe(401);
    expect((await login(port, 'nobody', 'carol-long-password')).status).toBe(401);
  });

  test('a session secret from the environment: a restart or another replica keeps the session; another secret does not', async () => {
    const env = { DASHBOARD_USERS_FILE: usersFile, DASHBOARD_SESSION_SECRET: SECRET };
    const a = await serve(env);
    const b = await serve(env);
    const other = await serve({ ...env, DASHBOARD_SESSION_SECRET: `${SECRET}-rotated` });
    const cookie = (await login(a, 'ops-carol', 'carol-long-password')).setCookie!.split(';')[0]!;
    expect((await send(b, 'GET', '/', { cookie, host: `127.0.0.1:${b}` })).status).toBe(200);
    expect((await send(other, 'GET', '/', { cookie, host: `127.0.0.1:${other}` })).status).toBe(302);
    expect(() => loadConfig({ DASHBOARD_SESSION_SECRET: 'too-short' })).toThrow(/DASHBOARD_SESSION_SECRET: expected at least 32 characters/);
  });

  test('behind a trusted proxy the cookie is Secure and the throttle counts each real client; untrusted, forwarded headers are ignored', async () => {
    const trusted = await serve({ DASHBOARD_USERS_FILE: usersFile, DASHBOARD_TRUST_PROXY: '1' });
    const ok = await login(trusted, 'ops-carol', 'carol-long-password', { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.1' });
    expect(ok.setCookie).toMatch(/; Secure/);
    for (let i = 0; i < 8; i++) expect((await login(trusted, 'ops-dave', 'wrong-password-guess', { 'x-forwarded-for': '203.0.113.66' })).status).toBe(401);
    expect((await login(trusted, 'ops-dave', 'dave-long-password!', { 'x-forwarded-for': '203.0.113.66' })).status).toBe(429);
    // Another client behind the same proxy is not locked out by the first one's failures.
    expect((await login(trusted, 'ops-dave', 'dave-long-password!', { 'x-forwarded-for': '198.51.100.7' })).status).toBe(303);

    const direct = await serve({ DASHBOARD_USERS_FILE: usersFile });
    const plain = await login(direct, 'ops-carol', 'carol-long-password', { 'x-forwarded-proto': 'https' });
    expect(plain.setCookie).not.toMatch(/Secure/);
  });

  test('guessing one user from many addresses is throttled per user; other users still sign in', async () => {
    const port = await serve({ DASHBOARD_USERS_FILE: usersFile, DASHBOARD_TRUST_PROXY: '1' });
    for (let i = 0; i < 20; i++) expect((await login(port, 'ops-carol', `guess-number-${i}`, { 'x-forwarded-for': `192.0.2.${i + 1}` })).status).toBe(401);
    expect((await login(port, 'ops-carol', 'carol-long-password', { 'x-forwarded-for': '192.0.2.200' })).status).toBe(429);
    expect((await login(port, 'ops-dave', 'dave-long-password!', { 'x-forwarded-for': '192.0.2.201' })).status).toBe(303);
  });

  test('answers only to its own host names: a DNS-rebinding page gets nothing, even anonymously', async () => {
    const anon = await serve({ DASHBOARD_ALLOW_ANONYMOUS: 'true' });
    expect((await send(anon, 'GET', '/', { host: `localhost:${anon}` })).status).toBe(200);
    const rebound = await send(anon, 'GET', '/', { host: `evil.example:${anon}` });
    expect(rebound.status).toBe(421);
    expect(rebound.body).toMatch(/does not answer to host 'evil.example/);
    expect((await send(anon, 'POST', '/jobs/train/x/retry', { host: `evil.example:${anon}`, origin: `http://evil.example:${anon}` }, { _csrf: 'x' })).status).toBe(421);
    expect((await send(anon, 'GET', '/healthz', { host: 'anything', accept: 'application/json' })).status).toBe(200);

    const named = await serve({ DASHBOARD_USERS_FILE: usersFile, DASHBOARD_ALLOWED_HOSTS: 'dash.example' });
    expect((await send(named, 'GET', '/login', { host: `dash.example:${named}` })).status).toBe(200);
    expect((await send(named, 'GET', '/login', { host: `127.0.0.1:${named}` })).status).toBe(421);
    expect(() => createDashboard({ config: loadConfig({ DASHBOARD_ALLOW_ANONYMOUS: 'true', DASHBOARD_HOST: '0.0.0.0' }), registry: fx.registry, logger: createLogger({ level: 'silent' }) })).toThrow(/must name the hosts it answers to/);
  });
});
