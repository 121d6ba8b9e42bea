import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ConfigError, type Config, type Logger } from '@engine/shared';
import { loginPage } from '../views/login';
import { readCookie, sessionCookie, SessionCodec, type Session } from './session';
import { UserDirectory } from './users';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'engine_session';

/** Who may use the dashboard: the configured users, or anyone when anonymous access is allowed. */
export type AuthMode = { kind: 'password'; users: UserDirectory } | { kind: 'anonymous' };

/**
 * Decide the authentication mode from the configuration, or refuse to start: with no
 * users (DASHBOARD_USERS_FILE, DASHBOARD_USER + DASHBOARD_PASSWORD) and
 * DASHBOARD_ALLOW_ANONYMOUS not true, a dashboard that can retry jobs and roll back
 * models must not come up open. Passwords shorter than 12 characters are refused.
 */
export function authMode(dashboard: Config['dashboard']): AuthMode {
  const users = new UserDirectory();
  if (dashboard.usersFile !== undefined) users.addFile(dashboard.usersFile);
  if (dashboard.user !== undefined && dashboard.password !== undefined) users.addPlain(dashboard.user, dashboard.password, 'DASHBOARD_USER / DASHBOARD_PASSWORD');
  if (users.size > 0) return { kind: 'password', users };
  if (dashboard.allowAnonymous) return { kind: 'anonymous' };
  throw new ConfigError(
    'the dashboard needs credentials: set DASHBOARD_USERS_FILE, or DASHBOARD_USER and DASHBOARD_PASSWORD, or DASHBOARD_ALLOW_ANONYMOUS=true to run it without a login (found none)',
  );
}

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

/**
 * The Host names the dashboard answers to (DNS rebinding: a page on evil.example that
 * resolves to this machine sends `Host: evil.example`). DASHBOARD_ALLOWED_HOSTS when
 * set; else the listening host plus the loopback names; null (any) only for a login-
 * protected dashboard listening on every interface. An anonymous dashboard on every
 * interface must name its hosts.
 */
export function allowedHosts(dashboard: Config['dashboard'], mode: AuthMode): Set<string> | null {
  if (dashboard.allowedHosts !== undefined && dashboard.allowedHosts.length > 0) return new Set(dashboard.allowedHosts);
  const host = dashboard.host.toLowerCase();
  if (WILDCARD_HOSTS.has(host)) {
    if (mode.kind === 'anonymous') {
      throw new ConfigError(`an anonymous dashboard listening on every interface (DASHBOARD_HOST=${dashboard.host}) must name the hosts it answers to: set DASHBOARD_ALLOWED_HOSTS (e.g. dashboard.internal,10.0.0.5)`);
    }
    return null;
  }
  return new Set([...LOOPBACK_HOSTS, host.includes(':') && !host.startsWith('[') ? `[${host}]` : host]);
}

/** Whether a Host header (`name`, `name:port`, `[v6]:port`) is one of `allowed` (entries with a port must match it too). */
export function hostAllowed(header: string | undefined, allowed: Set<string>): boolean {
  if (header === undefined || header === '') return false;
  const h = header.toLowerCase();
  if (allowed.has(h)) return true;
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d+$/, '');
  return allowed.has(name);
}

/** The session of an authenticated request (set by `Auth.requireSession`). */
export function sessionOf(res: Response): Session {
  const s = res.locals.session as Session | undefined;
  if (s === undefined) throw new Error('sessionOf called on a route that is not behind requireSession');
  return s;
}

/** Failed logins per key (a client address, a user name): after `max` failures within `windowMs`, refuse for the rest of the window. */
class LoginThrottle {
  private readonly failures = new Map<string, { count: number; first: number }>();
  constructor(private readonly max = 8, private readonly windowMs = 10 * 60_000) {}

  blocked(key: string, now = Date.now()): boolean {
    const f = this.failures.get(key);
    if (f === undefined) return false;
    if (now - f.first > this.windowMs) {
      this.failures.delete(key);
      return false;
    }
    return f.count >= this.max;
  }

  fail(key: string, now = Date.now()): void {
    const f = this.failures.get(key);
    if (f === undefined || now - f.first > this.windowMs) this.failures.set(key, { count: 1, first: now });
    else f.count++;
    // Bound memory under a spray of addresses: forget the oldest entries.
    if (this.failures.size > 10_000) {
      for (const k of [...this.failures.keys()].slice(0, 1000)) this.failures.delete(k);
    }
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }
}

/** A local path to return to after login; anything else (another host, `//evil`) becomes `/`. */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || next.length > 2000) return '/';
  return next;
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Authentication, sessions and CSRF defences for the whole app:
 * - `checkOrigin` (first): a state-changing request whose `Origin` names another host,
 *   or that the browser marks cross-site (`Sec-Fetch-Site`), is refused. It covers Bull
 *   Board's JSON API as well as our forms.
 * - `routes`: `GET/POST /login`, `POST /logout`.
 * - `requireSession`: a valid signed session cookie, or a refusal — a redirect to the
 *   login form for a page, 401 for anything else (Bull Board's API, scripts).
 * - `requireCsrf`: our form POSTs carry the session's token in `_csrf`.
 * The session cookie is HttpOnly and SameSite=Strict, so another site can neither read
 * it nor make the browser send it.
 */
export class Auth {
  /** Per client address (the real one behind a trusted proxy). */
  private readonly throttle = new LoginThrottle();
  /** Per user name: guessing one user's password from many addresses is throttled too. */
  private readonly userThrottle = new LoginThrottle(20);
  /** Sessions ended by logout before they expire: session id → expiry (cookies are stateless). */
  private readonly revoked = new Map<string, number>();

  constructor(
    readonly mode: AuthMode,
    readonly codec: SessionCodec,
    private readonly logger: Logger,
    private readonly opts: { queues: boolean; allowedHosts?: Set<string> | null },
  ) {}

  /** Every request (first): a Host the dashboard does not answer to is refused, whatever the method. */
  readonly checkHost: RequestHandler = (req, res, next) => {
    const allowed = this.opts.allowedHosts;
    if (allowed === undefined || allowed === null || hostAllowed(req.get('host'), allowed)) return next();
    this.logger.warn({ host: req.get('host'), path: req.path }, 'request for another host refused');
    res.status(421).type('text/plain').send(`refused: this dashboard does not answer to host '${req.get('host') ?? ''}' (DASHBOARD_ALLOWED_HOSTS)`);
  };

  private setSession(req: Request, res: Response, s: Session): void {
    res.setHeader('Set-Cookie', sessionCookie(SESSION_COOKIE, this.codec.encode(s), { maxAgeMs: s.exp - Date.now(), secure: req.secure }));
  }

  readonly checkOrigin: RequestHandler = (req, res, next) => {
    if (!UNSAFE_METHODS.has(req.method)) return next();
    const origin = req.get('origin');
    const host = req.get('host');
    let ok: boolean;
    if (origin !== undefined && origin !== 'null') {
      try {
        ok = new URL(origin).host === host;
      } catch {
        ok = false;
      }
    } else if (origin === 'null') {
      ok = false;
    } else {
      const site = req.get('sec-fetch-site');
      ok = site === undefined || site === 'same-origin' || site === 'none';
    }
    if (!ok) {
      this.logger.warn({ method: req.method, path: req.path, origin, host }, 'cross-origin request refused');
      res.status(403).type('text/plain').send(`refused: a ${req.method} to ${req.path} must come from this dashboard (Origin ${origin ?? 'absent'}, host ${host ?? 'absent'})`);
      return;
    }
    next();
  };

  readonly requireSession: RequestHandler = (req, res, next) => {
    let s = this.codec.decode(readCookie(req.get('cookie'), SESSION_COOKIE));
    if (s !== null && this.revoked.has(s.sid)) s = null;
    if (s === null && this.mode.kind === 'anonymous') {
      s = this.codec.create('anonymous');
      this.setSession(req, res, s);
    }
    if (s === null) {
      const wantsPage = req.method === 'GET' && (req.get('accept') ?? '').includes('text/html');
      if (wantsPage) {
        res.redirect(302, `/login?next=${encodeURIComponent(req.originalUrl)}`);
      } else {
        res.status(401).json({ error: 'authentication required: sign in at /login' });
      }
      return;
    }
    res.locals.session = s;
    next();
  };

  readonly requireCsrf: RequestHandler = (req, res, next) => {
    const s = sessionOf(res);
    const token = (req.body as Record<string, unknown> | undefined)?._csrf;
    if (!this.codec.checkCsrf(s, token)) {
      this.logger.warn({ user: s.user, path: req.path }, 'CSRF token missing or wrong');
      res.status(403).type('text/plain').send('refused: the form is stale or did not come from this dashboard (CSRF token missing or wrong); reload the page and try again');
      return;
    }
    next();
  };

  /** `GET/POST /login` and `POST /logout`. */
  routes(): express.Router {
    const r = express.Router();
    const form = express.urlencoded({ extended: false, limit: '8kb' });

    r.get('/login', (req, res) => {
      if (this.mode.kind === 'anonymous') return res.redirect(302, safeNext(req.query.next));
      res.type('html').send(loginPage({ next: safeNext(req.query.next), queues: this.opts.queues }));
    });

    r.post('/login', form, (req: Request, res: Response) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const next = safeNext(body.next);
      if (this.mode.kind === 'anonymous') return res.redirect(303, next);
      const client = req.ip ?? 'unknown';
      const user = typeof body.user === 'string' ? body.user.slice(0, 128) : '';
      const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
      if (this.throttle.blocked(client) || this.userThrottle.blocked(user)) {
        this.logger.warn({ client, user: user.slice(0, 64) }, 'login refused: too many failed attempts');
        res.status(429).type('html').send(loginPage({ next, error: 'Too many failed sign-in attempts from this address or for this user; wait 10 minutes.', queues: this.opts.queues }));
        return;
      }
      if (!this.mode.users.verify(user, password)) {
        this.throttle.fail(client);
        this.userThrottle.fail(user);
        this.logger.warn({ client, user: user.slice(0, 64) }, 'login failed');
        res.status(401).type('html').send(loginPage({ next, user, error: 'Wrong user or password.', queues: this.opts.queues }));
        return;
      }
      this.throttle.succeed(client);
      this.userThrottle.succeed(user);
      const s = this.codec.create(user);
      this.setSession(req, res, s);
      this.logger.info({ client, user: s.user }, 'login');
      res.redirect(303, next);
    });

    r.post('/logout', form, this.requireSession, this.requireCsrf, (req: Request, res: Response) => {
      const s = sessionOf(res);
      const now = Date.now();
      for (const [sid, exp] of this.revoked) if (exp <= now) this.revoked.delete(sid);
      this.revoked.set(s.sid, s.exp);
      res.setHeader('Set-Cookie', sessionCookie(SESSION_COOKIE, '', { maxAgeMs: 0, secure: req.secure }));
      this.logger.info({ user: s.user }, 'logout');
      res.redirect(303, '/login');
    });
    return r;
  }
}

/** Express's error-handler shape, for the app's last middleware. */
export type ErrorHandler = (err: unknown, req: Request, res: Response, next: NextFunction) => void;
