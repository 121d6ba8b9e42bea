import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Dropbox: the v2 HTTP endpoints the sync uses, spoken the way api.dropboxapi.com
 * and content.dropboxapi.com speak them, so the real `dropbox` SDK runs against it.
 *
 * - `POST /oauth2/token` — refresh_token grant (query string or form body) → a short-lived
 *   bearer token; an unknown refresh token or client is `400 invalid_grant`.
 * - every `/2/…` call needs a live bearer token: unknown → `401 invalid_access_token`,
 *   expired (TTL or `expireTokens()`) → `401 expired_access_token`.
 * - `files/upload`, `files/upload_session/start|append_v2|finish` (offsets checked,
 *   `incorrect_offset` with `correct_offset`), `files/get_metadata`, `files/list_folder`
 *   (+ `/continue`, paginated), `files/download`, `files/delete_v2`.
 * - metadata carries `content_hash` computed with Dropbox's algorithm (own implementation
 *   here, independent of the code under test).
 * - `failures(req)` injects an HTTP error (e.g. `{ status: 429, retryAfter: 1 }`) for any
 *   request; `latencyMs` delays every answer; `hold(req)` keeps one API call in flight until
 *   the promise it returns resolves.
 */
export interface FakeDropboxRequest {
  /** `oauth2/token`, `files/upload`, `files/upload_session/append_v2`, … */
  endpoint: string;
  /** The call's argument: Dropbox-API-Arg header or JSON body (token requests: the grant's fields). */
  arg: Record<string, unknown>;
  /** Bytes of the body for upload-style calls. */
  bodyBytes: number;
  /** Status answered. */
  status: number;
}

export interface FakeDropboxOptions {
  latencyMs?: number;
  failures?: (req: FakeDropboxRequest) => { status: number; retryAfter?: number } | undefined;
  /** Awaited before an API call (not a token request) is answered: a test holds a request in flight until it resolves. */
  hold?: (req: FakeDropboxRequest) => Promise<void> | undefined;
  appKey?: string;
  appSecret?: string;
  refreshToken?: string;
  /** Lifetime of issued access tokens (default 4 h, as Dropbox). */
  tokenTtlSeconds?: number;
  /** list_folder page size (default 2000). */
  pageSize?: number;
}

export interface FakeDropbox {
  /** `http://127.0.0.1:PORT`: pass as `DROPBOX_API_URL`. */
  url: string;
  appKey: string;
  appSecret: string;
  refreshToken: string;
  /** Stored files by path (as uploaded). */
  files: Map<string, Buffer>;
  /** Every request, in arrival order. */
  requests: FakeDropboxRequest[];
  /** Access tokens issued so far. */
  tokensIssued(): number;
  /** Expire every access token issued so far (the next API call gets `401 expired_access_token`). */
  expireTokens(): void;
  close(): Promise<void>;
}

const BLOCK = 4 * 1024 * 1024;

function contentHash(bytes: Buffer): string {
  const digests: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += BLOCK) digests.push(createHash('sha256').update(bytes.subarray(i, i + BLOCK)).digest());
  return createHash('sha256').update(Buffer.concat(digests)).digest('hex');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

class DbxError extends Error {
  constructor(
    readonly status: number,
    readonly summary: string,
    readonly body: Record<string, unknown>,
  ) {
    super(summary);
  }
}

const notFound = (): DbxError => new DbxError(409, 'path/not_found/..', { '.tag': 'path', path: { '.tag': 'not_found' } });

export async function startFakeDropbox(opts: FakeDropboxOptions = {}): Promise<FakeDropbox> {
  const appKey = opts.appKey ?? 'fake-app-key';
  const appSecret = opts.appSecret ?? 'fake-app-secret';
  const refreshToken = opts.refreshToken ?? 'fake-refresh-token';
  const ttl = opts.tokenTtlSeconds ?? 14_400;
  const pageSize = opts.pageSize ?? 2000;
  const files = new Map<string, Buffer>();
  const meta = new Map<string, { rev: number; modified: string }>();
  const sessions = new Map<string, Buffer[]>();
  const cursors = new Map<string, { entries: Record<string, unknown>[]; pos: number }>();
  const tokens = new Map<string, number>(); // token → expiry (ms)
  const requests: FakeDropboxRequest[] = [];
  let issued = 0;
  let rev = 0;

  const lower = (p: string): string => p.toLowerCase();
  const findKey = (p: string): string | undefined => [...files.keys()].find((k) => lower(k) === lower(p));
  const fileMeta = (p: string): Record<string, unknown> => {
    const bytes = files.get(p)!;
    const m = meta.get(p)!;
    return {
      '.tag': 'file',
      name: p.slice(p.lastIndexOf('/') + 1),
      id: `id:${createHash('md5').update(lower(p)).digest('hex').slice(0, 16)}`,
      path_lower: lower(p),
      path_display: p,
      size: bytes.length,
      content_hash: contentHash(bytes),
      rev: m.rev.toString(16).padStart(9, '0'),
      client_modified: m.modified,
      server_modified: m.modified,
      is_downloadable: true,
    };
  };
  const folderMeta = (p: string): Record<string, unknown> => ({ '.tag': 'folder', name: p.slice(p.lastIndexOf('/') + 1), id: `id:folder-${lower(p)}`, path_lower: lower(p), path_display: p });
  const isFolder = (p: string): boolean => [...files.keys()].some((k) => lower(k).startsWith(`${lower(p)}/`));

  const store = (arg: Record<string, unknown>, bytes: Buffer): Record<string, unknown> => {
    const path = String(arg.path ?? '');
    if (!path.startsWith('/')) throw new DbxError(400, `Error in call: 'path' did not match pattern`, {});
    if (arg.content_hash !== undefined && arg.content_hash !== contentHash(bytes)) {
      throw new DbxError(409, 'content_hash_mismatch/', { '.tag': 'content_hash_mismatch' });
    }
    const mode = (arg.mode as { '.tag'?: string } | string | undefined) ?? 'add';
    const tag = typeof mode === 'string' ? mode : mode['.tag'];
    const existing = findKey(path);
    if (existing !== undefined && tag !== 'overwrite') {
      throw new DbxError(409, 'path/conflict/file/..', { '.tag': 'path', reason: { '.tag': 'conflict', conflict: { '.tag': 'file' } } });
    }
    if (existing !== undefined) {
      files.delete(existing);
      meta.delete(existing);
    }
    files.set(path, bytes);
    meta.set(path, { rev: ++rev, modified: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
    return fileMeta(path);
  };

  const listEntries = (path: string, recursive: boolean): Record<string, unknown>[] => {
    const base = path === '' || path === '/' ? '' : lower(path);
    if (base !== '' && !isFolder(path)) throw notFound();
    const entries: Record<string, unknown>[] = [];
    const folders = new Set<string>();
    for (const k of [...files.keys()].sort()) {
      const lk = lower(k);
      if (!lk.startsWith(`${base}/`)) continue;
      const rest = k.slice(base.length + 1).split('/');
      for (let depth = 1; depth < rest.length; depth++) {
        if (!recursive && depth > 1) break;
        const folder = `${k.slice(0, base.length)}/${rest.slice(0, depth).join('/')}`;
        if (!folders.has(lower(folder))) {
          folders.add(lower(folder));
          entries.push(folderMeta(folder));
        }
      }
      if (recursive || rest.length === 1) entries.push(fileMeta(k));
    }
    return entries;
  };

  const page = (cursor: string): Record<string, unknown> => {
    const c = cursors.get(cursor);
    if (c === undefined) throw new DbxError(409, 'reset/..', { '.tag': 'reset' });
    const entries = c.entries.slice(c.pos, c.pos + pageSize);
    c.pos += entries.length;
    return { entries, cursor, has_more: c.pos < c.entries.length };
  };

  type Handler = (arg: Record<string, unknown>, body: Buffer) => { json?: unknown; bytes?: Buffer; result?: Record<string, unknown> };
  const handlers: Record<string, Handler> = {
    'files/upload': (arg, body) => ({ json: store(arg, body) }),
    'files/upload_session/start': (_arg, body) => {
      const id = randomBytes(12).toString('hex');
      sessions.set(id, [body]);
      return { json: { session_id: id } };
    },
    'files/upload_session/append_v2': (arg, body) => {
      const cursor = arg.cursor as { session_id: string; offset: number };
      const parts = sessions.get(cursor.session_id);
      if (parts === undefined) throw new DbxError(409, 'not_found/', { '.tag': 'not_found' });
      const have = parts.reduce((n, b) => n + b.length, 0);
      if (cursor.offset !== have) throw new DbxError(409, 'incorrect_offset/', { '.tag': 'incorrect_offset', correct_offset: have });
      parts.push(body);
      return { json: null };
    },
    'files/upload_session/finish': (arg, body) => {
      const cursor = arg.cursor as { session_id: string; offset: number };
      const parts = sessions.get(cursor.session_id);
      if (parts === undefined) throw new DbxError(409, 'lookup_failed/not_found/', { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'not_found' } });
      const have = parts.reduce((n, b) => n + b.length, 0);
      if (cursor.offset !== have) {
        throw new DbxError(409, 'lookup_failed/incorrect_offset/', { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'incorrect_offset', correct_offset: have } });
      }
      const all = Buffer.concat([...parts, body]);
      const result = store(arg.commit as Record<string, unknown>, all);
      sessions.delete(cursor.session_id);
      return { json: result };
    },
    'files/get_metadata': (arg) => {
      const path = String(arg.path);
      const k = findKey(path);
      if (k !== undefined) return { json: fileMeta(k) };
      if (isFolder(path)) return { json: folderMeta(path) };
      throw notFound();
    },
    'files/list_folder': (arg) => {
      const cursor = randomBytes(8).toString('hex');
      cursors.set(cursor, { entries: listEntries(String(arg.path ?? ''), arg.recursive === true), pos: 0 });
      return { json: page(cursor) };
    },
    'files/list_folder/continue': (arg) => ({ json: page(String(arg.cursor)) }),
    'files/download': (arg) => {
      const k = findKey(String(arg.path));
      if (k === undefined) throw notFound();
      return { bytes: files.get(k)!, result: fileMeta(k) };
    },
    'files/delete_v2': (arg) => {
      const k = findKey(String(arg.path));
      if (k === undefined) throw new DbxError(409, 'path_lookup/not_found/..', { '.tag': 'path_lookup', path_lookup: { '.tag': 'not_found' } });
      const m = fileMeta(k);
      files.delete(k);
      meta.delete(k);
      return { json: { metadata: m } };
    },
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const body = await readBody(req);
      const record: FakeDropboxRequest = { endpoint: url.pathname.replace(/^\/(2\/)?/, ''), arg: {}, bodyBytes: 0, status: 200 };
      requests.push(record);
      const answer = (status: number, send: () => void): void => {
        record.status = status;
        send();
      };
      try {
        if (opts.latencyMs) await new Promise((r) => setTimeout(r, opts.latencyMs));
        if (req.method !== 'POST') throw new DbxError(405, 'method not allowed', {});
        if (url.pathname === '/oauth2/token') {
          const form = new URLSearchParams(req.headers['content-type']?.includes('x-www-form-urlencoded') ? body.toString('utf8') : '');
          const field = (k: string): string | null => url.searchParams.get(k) ?? form.get(k);
          record.arg = { grant_type: field('grant_type'), client_id: field('client_id') };
          const injected = opts.failures?.(record);
          if (injected !== undefined) throw new DbxError(injected.status, 'injected', { retry_after: injected.retryAfter });
          if (field('grant_type') !== 'refresh_token' || field('refresh_token') !== refreshToken || field('client_id') !== appKey || (field('client_secret') ?? appSecret) !== appSecret) {
            return answer(400, () => sendJson(res, 400, { error: 'invalid_grant', error_description: 'refresh token is malformed or client mismatch' }));
          }
          const token = `sl.fake-${randomBytes(16).toString('hex')}`;
          tokens.set(token, Date.now() + ttl * 1000);
          issued++;
          return answer(200, () => sendJson(res, 200, { access_token: token, token_type: 'bearer', expires_in: ttl }));
        }
        const endpoint = record.endpoint;
        const handler = url.pathname.startsWith('/2/') ? handlers[endpoint] : undefined;
        if (handler === undefined) throw new DbxError(404, `unknown endpoint ${url.pathname}`, {});
        const headerArg = req.headers['dropbox-api-arg'];
        const isUpload = typeof headerArg === 'string' && endpoint !== 'files/download';
        record.arg = typeof headerArg === 'string' ? (JSON.parse(headerArg) as Record<string, unknown>) : body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
        record.bodyBytes = isUpload ? body.length : 0;
        await opts.hold?.(record);
        const injected = opts.failures?.(record);
        if (injected !== undefined) throw new DbxError(injected.status, 'injected', { retry_after: injected.retryAfter });
        const auth = req.headers.authorization ?? '';
        const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
        const expiry = tokens.get(token);
        if (expiry === undefined) throw new DbxError(401, 'invalid_access_token/..', { '.tag': 'invalid_access_token' });
        if (expiry <= Date.now()) throw new DbxError(401, 'expired_access_token/..', { '.tag': 'expired_access_token' });
        const out = handler(record.arg, isUpload ? body : Buffer.alloc(0));
        if (out.bytes !== undefined) {
          return answer(200, () => {
            res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Dropbox-API-Result': JSON.stringify(out.result).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) });
            res.end(out.bytes);
          });
        }
        return answer(200, () => sendJson(res, 200, out.json ?? null));
      } catch (err) {
        if (err instanceof DbxError) {
          if (err.message === 'injected') {
            const retryAfter = err.body.retry_after as number | undefined;
            const headers: Record<string, string> = retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) };
            const body429 = err.status === 429 ? { error_summary: 'too_many_requests/..', error: { reason: { '.tag': 'too_many_requests' }, retry_after: retryAfter ?? 1 } } : { error_summary: 'internal_error/..', error: { '.tag': 'internal_error' } };
            return answer(err.status, () => sendJson(res, err.status, body429, headers));
          }
          return answer(err.status, () => sendJson(res, err.status, { error_summary: err.summary, error: err.body }));
        }
        return answer(500, () => sendJson(res, 500, { error_summary: `fake crashed: ${(err as Error).message}` }));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    appKey,
    appSecret,
    refreshToken,
    files,
    requests,
    tokensIssued: () => issued,
    expireTokens: () => {
      for (const k of tokens.keys()) tokens.set(k, 0);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
