import { ConfigError, loadConfig } from '@engine/shared';
import { authMode, safeNext } from '../src/auth/auth';
import { readCookie, safeEqual, sessionCookie, SessionCodec } from '../src/auth/session';

describe('SessionCodec', () => {
  const codec = new SessionCodec(Buffer.alloc(32, 7), 60_000);
  const now = Date.UTC(2026, 6, 16, 12);

  test('a session round-trips through its cookie value', () => {
    const s = codec.create('alice', now);
    expect(codec.decode(codec.encode(s), now + 1000)).toEqual(s);
  });

  test('a tampered, foreign or expired cookie is refused', () => {
    const s = codec.create('alice', now);
    const v = codec.encode(s);
    const [payload, mac] = v.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ u: 'admin', s: s.sid, e: s.exp }), 'utf8').toString('base64url');
    expect(codec.decode(`${forged}.${mac}`, now)).toBeNull();
    expect(codec.decode(`${payload}.${mac.slice(0, -2)}AA`, now)).toBeNull();
    expect(new SessionCodec(Buffer.alloc(32, 8)).decode(v, now)).toBeNull();
    expect(codec.decode(v, s.exp)).toBeNull();
    expect(codec.decode('garbage', now)).toBeNull();
    expect(codec.decode(undefined, now)).toBeNull();
  });

  test('the CSRF token belongs to one session', () => {
    const a = codec.create('alice', now);
    const b = codec.create('alice', now);
    expect(codec.checkCsrf(a, codec.csrfToken(a))).toBe(true);
    expect(codec.checkCsrf(a, codec.csrfToken(b))).toBe(false);
    expect(codec.checkCsrf(a, '')).toBe(false);
    expect(codec.checkCsrf(a, undefined)).toBe(false);
  });

  test('a short secret is refused', () => {
    expect(() => new SessionCodec(Buffer.alloc(16))).toThrow(/at least 32 bytes/);
  });
});

describe('cookies and redirects', () => {
  test('the session cookie is HttpOnly and SameSite=Strict, Secure over HTTPS', () => {
    const c = sessionCookie('engine_session', 'v.x', { maxAgeMs: 3_600_000, secure: true });
    expect(c).toBe('engine_session=v.x; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600; Secure');
    expect(sessionCookie('n', 'v', { maxAgeMs: 0, secure: false })).not.toContain('Secure');
  });

  test('readCookie finds one cookie among several', () => {
    expect(readCookie('a=1; engine_session=abc.def; b=2', 'engine_session')).toBe('abc.def');
    expect(readCookie('a=1', 'engine_session')).toBeUndefined();
    expect(readCookie(undefined, 'x')).toBeUndefined();
  });

  test('only local paths are followed after login', () => {
    expect(safeNext('/models/abc?x=1')).toBe('/models/abc?x=1');
    expect(safeNext('//evil.example/')).toBe('/');
    expect(safeNext('/\\evil.example')).toBe('/');
    expect(safeNext('https://evil.example/')).toBe('/');
    expect(safeNext(undefined)).toBe('/');
  });

  test('safeEqual compares whole strings', () => {
    expect(safeEqual('secret', 'secret')).toBe(true);
    expect(safeEqual('secret', 'secreT')).toBe(false);
    expect(safeEqual('secret', 'secret-longer')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });
});

describe('authMode', () => {
  test('credentials, explicit anonymous, or a ConfigError', () => {
    const mode = authMode(loadConfig({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'a-long-enough-pw' }).dashboard);
    expect(mode.kind === 'password' && mode.users.names()).toEqual(['ops']);
    expect(mode.kind === 'password' && mode.users.verify('ops', 'a-long-enough-pw')).toBe(true);
    expect(mode.kind === 'password' && mode.users.verify('ops', 'a-long-enough-pW')).toBe(false);
    expect(authMode(loadConfig({ DASHBOARD_ALLOW_ANONYMOUS: 'true' }).dashboard)).toEqual({ kind: 'anonymous' });
    expect(() => authMode(loadConfig({}).dashboard)).toThrow(ConfigError);
    expect(() => authMode(loadConfig({}).dashboard)).toThrow(/set DASHBOARD_USERS_FILE, or DASHBOARD_USER and DASHBOARD_PASSWORD, or DASHBOARD_ALLOW_ANONYMOUS=true/);
  });
});
