import { readFileSync } from 'node:fs';
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '@engine/shared';
import { safeEqual } from './session';

/** Shortest password accepted anywhere (the environment's DASHBOARD_PASSWORD, `hash-password`). */
export const MIN_PASSWORD_LENGTH = 12;

/** scrypt cost of new hashes: N = 2^15, r = 8, p = 1 (≈ 32 MiB, tens of ms per check). */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, keyLength: 32 } as const;

/** The `DASHBOARD_USERS_FILE` line of a user: `name:scrypt:N:r:p:salt(base64):hash(base64)`. */
export function hashPasswordLine(user: string, password: string, salt = randomBytes(16)): string {
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(user)) throw new ConfigError(`user name '${user}' must be 1–64 of [A-Za-z0-9._@-]`);
  if (password.length < MIN_PASSWORD_LENGTH) throw new ConfigError(`a dashboard password needs at least ${MIN_PASSWORD_LENGTH} characters, got ${password.length}`);
  const hash = scryptSync(password, salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 128 * SCRYPT.N * SCRYPT.r * 2 });
  return `${user}:scrypt:${SCRYPT.N}:${SCRYPT.r}:${SCRYPT.p}:${salt.toString('base64')}:${hash.toString('base64')}`;
}

interface Verifier {
  check(password: string): boolean;
}

function scryptVerifier(params: { N: number; r: number; p: number; salt: Buffer; hash: Buffer }): Verifier {
  return {
    check(password) {
      const got = scryptSync(password, params.salt, params.hash.length, { N: params.N, r: params.r, p: params.p, maxmem: 128 * params.N * params.r * 2 });
      return timingSafeEqual(got, params.hash);
    },
  };
}

/**
 * Who may sign in: the users of DASHBOARD_USERS_FILE (salted scrypt hashes) and/or the
 * one DASHBOARD_USER / DASHBOARD_PASSWORD of the environment. Checking an unknown user
 * costs the same as a known one, so timing does not tell which names exist.
 */
export class UserDirectory {
  private readonly users = new Map<string, Verifier>();
  private readonly decoy = scryptVerifier({ N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, salt: randomBytes(16), hash: randomBytes(32) });

  get size(): number {
    return this.users.size;
  }

  names(): string[] {
    return [...this.users.keys()];
  }

  /** Add the environment's user (plain password from a secret variable). */
  addPlain(user: string, password: string, where: string): void {
    if (user.trim() === '' || password.length === 0) throw new ConfigError(`invalid configuration: ${where}: user and password must not be empty`);
    if (password.length < MIN_PASSWORD_LENGTH) {
      throw new ConfigError(`invalid configuration: ${where}: the password has ${password.length} characters, at least ${MIN_PASSWORD_LENGTH} are required`);
    }
    // The decoy check keeps a plain user as slow as a file user or an unknown name.
    this.add(
      user,
      {
        check: (p) => {
          this.decoy.check(p);
          return safeEqual(p, password);
        },
      },
      where,
    );
  }

  /** Read a users file; every malformed line is a ConfigError naming the file and line. */
  addFile(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`DASHBOARD_USERS_FILE ${file} cannot be read: ${(err as Error).message}`);
    }
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const where = `${file}:${i + 1}`;
      const f = line.split(':');
      const [user, kind, N, r, p, salt, hash] = f;
      const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : NaN);
      if (f.length !== 7 || kind !== 'scrypt' || !(num(N) >= 1024 && (num(N) & (num(N) - 1)) === 0) || !(num(r) >= 1) || !(num(p) >= 1) || !salt || !hash) {
        throw new ConfigError(`${where}: expected user:scrypt:N:r:p:salt:hash (as \`engine dashboard hash-password\` writes), found ${f.length} fields`);
      }
      const h = Buffer.from(hash, 'base64');
      if (h.length < 16) throw new ConfigError(`${where}: the hash is ${h.length} bytes, expected at least 16`);
      this.add(user!, scryptVerifier({ N: num(N), r: num(r), p: num(p), salt: Buffer.from(salt, 'base64'), hash: h }), where);
    });
  }

  private add(user: string, v: Verifier, where: string): void {
    if (this.users.has(user)) throw new ConfigError(`${where}: user '${user}' is defined twice`);
    this.users.set(user, v);
  }

  /** True when `password` is `user`'s. Unknown users are checked against a decoy at the same cost. */
  verify(user: string, password: string): boolean {
    const v = this.users.get(user);
    if (v === undefined) {
      this.decoy.check(password);
      return false;
    }
    return v.check(password);
  }
}
