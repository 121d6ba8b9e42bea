import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Who is logged in, in which session, until when. */
export interface Session {
  /** User name (the actor recorded in the publish log). */
  user: string;
  /** Random session id; the CSRF token is derived from it. */
  sid: string;
  /** Expiry, epoch ms. */
  exp: number;
}

/**
 * Constant-time string equality. Both sides are HMAC'd with a per-call random key first,
 * so the comparison takes the same time whatever the lengths and wherever they differ.
 */
export function safeEqual(a: string, b: string): boolean {
  const key = randomBytes(32);
  const ha = createHmac('sha256', key).update(a, 'utf8').digest();
  const hb = createHmac('sha256', key).update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Signed, stateless session cookies: `base64url(JSON) . base64url(HMAC-SHA256)`. The
 * secret lives only in this process (by default), so a restart logs everyone out; run
 * several replicas with one shared `secret`.
 */
export class SessionCodec {
  private readonly secret: Buffer;

  /**
   * @param secret HMAC key, at least 32 bytes (default: 32 random bytes).
   * @param ttlMs how long a session lasts after login (default 12 h).
   */
  constructor(secret?: Buffer, readonly ttlMs = 12 * 3_600_000) {
    if (secret !== undefined && secret.length < 32) {
      throw new RangeError(`session secret must be at least 32 bytes, got ${secret.length}`);
    }
    this.secret = secret ?? randomBytes(32);
  }

  private mac(text: string): string {
    return createHmac('sha256', this.secret).update(text, 'utf8').digest('base64url');
  }

  /** A new session for `user`, valid from `now` for the TTL. */
  create(user: string, now = Date.now()): Session {
    return { user, sid: randomBytes(18).toString('base64url'), exp: now + this.ttlMs };
  }

  /** The cookie value of a session. */
  encode(s: Session): string {
    const payload = Buffer.from(JSON.stringify({ u: s.user, s: s.sid, e: s.exp }), 'utf8').toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  /** The session in a cookie value, or null when it is malformed, forged or expired. */
  decode(value: string | undefined, now = Date.now()): Session | null {
    if (value === undefined) return null;
    const dot = value.indexOf('.');
    if (dot <= 0) return null;
    const payload = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1), 'base64url');
    const want = Buffer.from(this.mac(payload), 'base64url');
    if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
    try {
      const o = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { u?: unknown; s?: unknown; e?: unknown };
      if (typeof o.u !== 'string' || typeof o.s !== 'string' || typeof o.e !== 'number') return null;
      if (o.e <= now) return null;
      return { user: o.u, sid: o.s, exp: o.e };
    } catch {
      return null;
    }
  }

  /** The session's CSRF token: an HMAC of its id, so it needs no storage and dies with the session. */
  csrfToken(s: Session): string {
    return this.mac(`csrf:${s.sid}`);
  }

  /** Whether `token` is this session's CSRF token (constant time). */
  checkCsrf(s: Session, token: unknown): boolean {
    if (typeof token !== 'string' || token.length === 0) return false;
    const a = Buffer.from(token, 'utf8');
    const b = Buffer.from(this.csrfToken(s), 'utf8');
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

/** The value of cookie `name` in a `Cookie` header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(v);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** A `Set-Cookie` value for the session cookie: HttpOnly, SameSite=Strict, Secure over HTTPS. */
export function sessionCookie(name: string, value: string, opts: { maxAgeMs: number; secure: boolean }): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(opts.maxAgeMs / 1000))}`];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}
