import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Dropbox, DropboxAuth, DropboxResponseError, type files } from 'dropbox';
import { ConfigError, PermanentError, TransientError, type Config, type Logger } from '@engine/shared';
import { dropboxContentHash } from './content-hash';
import { UnsafeFileError, downloadLimit } from './file-safety';
import type { DownloadOptions, RemoteFiles } from './types';

/** Options of the Dropbox publish target. */
export interface DropboxFilesOptions {
  /** App key (OAuth client id). */
  appKey: string;
  /** App secret; absent for PKCE apps. */
  appSecret?: string;
  /** Long-lived refresh token: the SDK exchanges it for short-lived access tokens, so nothing expires mid-run. */
  refreshToken: string;
  /**
   * Send every request here instead of Dropbox's hosts (`api.dropboxapi.com`,
   * `content.dropboxapi.com`), e.g. `http://127.0.0.1:PORT` for the test fake.
   */
  apiUrl?: string;
  /** Files larger than this go through an upload session (default 8 MiB; Dropbox's single-call limit is 150 MiB). */
  sessionThresholdBytes?: number;
  /** Upload-session chunk size (default 8 MiB, a multiple of Dropbox's 4 MiB block). */
  chunkBytes?: number;
  /** Tries per request before giving up with a TransientError (default 6). */
  maxAttempts?: number;
  /** First backoff delay after a 5xx / network error, doubled each time (default 500 ms). */
  baseDelayMs?: number;
  /** Longest wait between tries (default 30 s). A Retry-After above it is handed to the job's own backoff. */
  maxDelayMs?: number;
  /** Per-request timeout (default 120 s). */
  requestTimeoutMs?: number;
  logger?: Logger;
}

type DropboxErrorBody = { error_summary?: string; error?: Record<string, unknown> & { '.tag'?: string; retry_after?: number } };

const MiB = 1024 * 1024;

/** `error_summary` of a Dropbox error, or its status. */
function summary(err: DropboxResponseError<unknown>): string {
  const body = err.error as DropboxErrorBody | string | undefined;
  if (typeof body === 'string') return `HTTP ${err.status}: ${body.slice(0, 200)}`;
  return `HTTP ${err.status}: ${body?.error_summary ?? JSON.stringify(body ?? null).slice(0, 200)}`;
}

/** Retry-After of a 429/503, in ms: the header, else the body's `retry_after` (seconds). */
function retryAfterMs(err: DropboxResponseError<unknown>): number | undefined {
  const headers = err.headers as { get?: (k: string) => string | null } | undefined;
  const header = typeof headers?.get === 'function' ? headers.get('retry-after') : null;
  if (header !== null && header !== undefined && header !== '') {
    const secs = Number(header);
    if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
    const at = Date.parse(header);
    if (!Number.isNaN(at)) return Math.max(0, at - Date.now());
  }
  const body = err.error as DropboxErrorBody | undefined;
  const secs = body?.error?.retry_after;
  return typeof secs === 'number' ? secs * 1000 : undefined;
}

/** The size limit of the download in progress (per async context, so concurrent downloads keep their own). */
const downloadCap = new AsyncLocalStorage<{ path: string; maxBytes: number; where: string }>();

/**
 * The body of a successful `files/download` answer, refused (`UnsafeFileError`,
 * `too_large`) when Dropbox's metadata or Content-Length says it is larger than allowed,
 * and read no further than one byte past the limit when neither says.
 */
async function readCappedBody(res: Response, cap: { path: string; maxBytes: number; where: string }): Promise<Buffer> {
  const tooLarge = (found: number | null): UnsafeFileError =>
    new UnsafeFileError(cap.where, { reason: 'too_large', path: cap.path, problem: `expected at most ${cap.maxBytes} bytes, found ${found ?? 'more'}`, limit: cap.maxBytes, found });
  let announced: number | null = null;
  try {
    const size = (JSON.parse(res.headers.get('dropbox-api-result') ?? 'null') as { size?: unknown } | null)?.size;
    if (typeof size === 'number') announced = size;
  } catch {
    // no usable metadata: the length header and the byte count decide
  }
  const length = Number(res.headers.get('content-length') ?? NaN);
  const declared = Math.max(announced ?? -1, Number.isFinite(length) ? length : -1);
  if (declared > cap.maxBytes) {
    await res.body?.cancel();
    throw tooLarge(declared);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (res.body !== null) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > cap.maxBytes) {
        await reader.cancel();
        throw tooLarge(null);
      }
      chunks.push(value);
    }
  }
  return Buffer.concat(chunks, total);
}

/** True when a 409 is the given path / lookup error (`path/not_found/..`, `incorrect_offset`, …). */
function tagged(err: DropboxResponseError<unknown>, re: RegExp): boolean {
  const body = err.error as DropboxErrorBody | undefined;
  return err.status === 409 && re.test(body?.error_summary ?? '');
}

/**
 * Dropbox through the official SDK (`dropbox` 10.47+, on Node's own fetch) with refresh-token auth.
 *
 * Every call retries 429 and 5xx (honouring Retry-After) and network errors with capped
 * exponential backoff, refreshes the access token once on a 401, and gives up with a
 * TransientError (so the sync job retries later); other 4xx / 409 answers are
 * PermanentErrors that quote Dropbox's `error_summary`. Uploads overwrite, carry the
 * content hash for Dropbox to check, and verify the hash Dropbox returns.
 */
export class DropboxFiles implements RemoteFiles {
  readonly kind = 'dropbox' as const;
  private readonly dbx: Dropbox;
  private readonly auth: DropboxAuth;
  private readonly threshold: number;
  private readonly chunk: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly opts: DropboxFilesOptions) {
    if (opts.appKey === '' || opts.refreshToken === '') {
      throw new ConfigError('Dropbox needs DROPBOX_APP_KEY and DROPBOX_REFRESH_TOKEN (refresh-token auth)');
    }
    this.threshold = opts.sessionThresholdBytes ?? 8 * MiB;
    this.chunk = opts.chunkBytes ?? 8 * MiB;
    if (this.chunk < 1 || this.threshold < 0) throw new ConfigError(`Dropbox chunk size must be ≥ 1 byte and threshold ≥ 0 (got ${this.chunk}, ${this.threshold})`);
    this.maxAttempts = opts.maxAttempts ?? 6;
    this.baseDelayMs = opts.baseDelayMs ?? 500;
    this.maxDelayMs = opts.maxDelayMs ?? 30_000;
    const timeoutMs = opts.requestTimeoutMs ?? 120_000;
    const base = opts.apiUrl === undefined ? null : new URL(opts.apiUrl);
    const basePath = base === null ? '' : base.pathname.replace(/\/$/, '');
    const fetchImpl = async (url: string, init: RequestInit): Promise<Response> => {
      let target = url;
      if (base !== null) {
        const u = new URL(url);
        target = `${base.origin}${basePath}${u.pathname}${u.search}`;
      }
      // Our timeout covers every request, token refreshes included; a signal the SDK passes still applies.
      const timeout = AbortSignal.timeout(timeoutMs);
      const res = await fetch(target, { ...init, signal: init.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
      const cap = downloadCap.getStore();
      if (cap !== undefined && res.ok && new URL(url).pathname.endsWith('/files/download')) {
        // Read (and bound) the body here, then hand the SDK a response over those bytes: a
        // rejected fetch reaches the caller, whereas a failing body read inside the SDK would not.
        const body = await readCappedBody(res, cap);
        return new Response(new Uint8Array(body), { status: res.status, statusText: res.statusText, headers: res.headers });
      }
      return res;
    };
    this.auth = new DropboxAuth({ clientId: opts.appKey, clientSecret: opts.appSecret, refreshToken: opts.refreshToken, fetch: fetchImpl });
    this.dbx = new Dropbox({ auth: this.auth, fetch: fetchImpl });
  }

  describe(): string {
    return this.opts.apiUrl === undefined ? 'dropbox' : `dropbox@${new URL(this.opts.apiUrl).host}`;
  }

  /**
   * Run one API call with the retry policy. `ok409` lets the caller turn an expected
   * 409 (not found, incorrect offset) into a value instead of an error.
   */
  private async call<T>(what: string, fn: () => Promise<T>, ok409?: (err: DropboxResponseError<unknown>) => T | undefined): Promise<T> {
    let refreshed = false;
    let last = '';
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      let waitMs: number;
      try {
        return await fn();
      } catch (err) {
        if (err instanceof DropboxResponseError) {
          const e = err as DropboxResponseError<unknown>;
          last = summary(e);
          if (e.status === 401 && !refreshed) {
            // An expired or revoked access token: get a fresh one from the refresh token and retry at once.
            refreshed = true;
            this.opts.logger?.info({ what }, 'dropbox access token rejected; refreshing');
            await this.call('token refresh', () => this.auth.refreshAccessToken() as unknown as Promise<void>);
            attempt--;
            continue;
          }
          if (e.status === 409 && ok409 !== undefined) {
            const v = ok409(e);
            if (v !== undefined) return v;
          }
          if (e.status === 429 || e.status >= 500) {
            const hinted = retryAfterMs(e);
            if (hinted !== undefined && hinted > this.maxDelayMs) {
              throw new TransientError('DROPBOX_RATE_LIMITED', `Dropbox ${what}: ${last}; Retry-After ${Math.round(hinted / 1000)} s exceeds the ${this.maxDelayMs} ms cap, leaving it to the job's retry`, { retryAfterMs: hinted, status: e.status }, err);
            }
            waitMs = hinted ?? Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
          } else {
            throw new PermanentError('DROPBOX_REJECTED', `Dropbox ${what}: ${last}`, { status: e.status }, err);
          }
        } else if (err instanceof PermanentError || err instanceof TransientError) {
          throw err;
        } else {
          // Network failure or timeout: transient.
          last = (err as Error).message;
          waitMs = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        }
      }
      if (attempt < this.maxAttempts) {
        this.opts.logger?.warn({ what, attempt, waitMs, error: last }, 'dropbox call failed; retrying');
        await delay(waitMs);
      }
    }
    throw new TransientError('DROPBOX_UNAVAILABLE', `Dropbox ${what} failed ${this.maxAttempts} times; last: ${last}`, { attempts: this.maxAttempts });
  }

  async contentHash(path: string): Promise<string | null> {
    const meta = await this.call(
      `get_metadata ${path}`,
      async () => (await this.dbx.filesGetMetadata({ path })).result as files.FileMetadataReference | files.FolderMetadataReference | null,
      (e) => (tagged(e, /^path\/not_found/) ? null : undefined),
    );
    if (meta === null) return null;
    if (meta['.tag'] !== 'file') {
      throw new PermanentError('DROPBOX_NOT_A_FILE', `Dropbox path ${path} is a ${meta['.tag']}, expected a file`, { path });
    }
    return (meta as files.FileMetadataReference).content_hash ?? null;
  }

  /**
   * The file's bytes, or null when there is none. A file larger than `opts.maxBytes`
   * (`MAX_FILE_BYTES` at most) is refused with an `UnsafeFileError` (`too_large`) from
   * Dropbox's metadata or the length header before its body is read, or as soon as the
   * body passes the limit.
   */
  async download(path: string, opts?: DownloadOptions): Promise<Uint8Array | null> {
    const cap = { path, maxBytes: downloadLimit(opts), where: this.describe() };
    const res = await downloadCap.run(cap, () =>
      this.call(
        `download ${path}`,
        async () => (await this.dbx.filesDownload({ path })).result as files.FileMetadata & { fileBinary?: Buffer },
        (e) => (tagged(e, /^path\/not_found/) ? null : undefined),
      ),
    );
    if (res === null) return null;
    const bytes = new Uint8Array(res.fileBinary ?? Buffer.alloc(0));
    if (bytes.length > cap.maxBytes) {
      throw new UnsafeFileError(cap.where, { reason: 'too_large', path, problem: `expected at most ${cap.maxBytes} bytes, found ${bytes.length}`, limit: cap.maxBytes, found: bytes.length });
    }
    return bytes;
  }

  async upload(path: string, bytes: Uint8Array): Promise<{ contentHash: string }> {
    const expected = dropboxContentHash(bytes);
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const commit: files.CommitInfo = { path, mode: { '.tag': 'overwrite' }, autorename: false, mute: true, strict_conflict: false };
    let meta: files.FileMetadata | null;
    if (bytes.length <= this.threshold) {
      meta = await this.call(`upload ${path}`, async () => (await this.dbx.filesUpload({ ...commit, contents: buf, content_hash: expected })).result);
    } else {
      meta = await this.uploadSession(path, buf, commit);
    }
    if (meta === null) {
      // The finish call's answer was lost and the session is gone: ask what is there now.
      const now = await this.contentHash(path);
      if (now === expected) return { contentHash: now };
      throw new TransientError('DROPBOX_UPLOAD_LOST', `Dropbox upload session for ${path} ended without a result and the file's content hash is ${now ?? 'absent'}, expected ${expected}`, { path });
    }
    if (meta.content_hash !== expected) {
      throw new TransientError('DROPBOX_HASH_MISMATCH', `Dropbox stored ${path} with content hash ${meta.content_hash ?? 'none'}, expected ${expected} (${bytes.length} bytes)`, { path, expected, actual: meta.content_hash });
    }
    return { contentHash: expected };
  }

  /** start → append_v2 … → finish, one chunk at a time; a retried append that already landed is recognised by its offset. */
  private async uploadSession(path: string, buf: Buffer, commit: files.CommitInfo): Promise<files.FileMetadata | null> {
    const first = buf.subarray(0, Math.min(this.chunk, buf.length));
    const sessionId = await this.call(`upload_session/start ${path}`, async () => (await this.dbx.filesUploadSessionStart({ close: false, contents: first })).result.session_id);
    let offset = first.length;
    while (buf.length - offset > this.chunk) {
      const part = buf.subarray(offset, offset + this.chunk);
      const at = offset;
      await this.call(
        `upload_session/append_v2 ${path} @${at}`,
        async () => {
          await this.dbx.filesUploadSessionAppendV2({ cursor: { session_id: sessionId, offset: at }, close: false, contents: part });
          return true;
        },
        (e) => {
          const body = e.error as DropboxErrorBody;
          const correct = (body.error?.correct_offset as number | undefined) ?? undefined;
          return tagged(e, /^incorrect_offset/) && correct === at + part.length ? true : undefined;
        },
      );
      offset += part.length;
    }
    const last = buf.subarray(offset);
    const at = offset;
    return this.call(
      `upload_session/finish ${path}`,
      async () => (await this.dbx.filesUploadSessionFinish({ cursor: { session_id: sessionId, offset: at }, commit, contents: last })).result as files.FileMetadata | null,
      (e) => (tagged(e, /^lookup_failed\/(not_found|closed)/) ? null : undefined),
    );
  }
}

/** Dropbox from configuration, or null when no Dropbox credentials are configured. */
export function dropboxFromConfig(config: Pick<Config, 'dropbox'>, extra: Partial<DropboxFilesOptions> = {}): DropboxFiles | null {
  const d = config.dropbox;
  if (d.appKey === undefined || d.refreshToken === undefined) return null;
  return new DropboxFiles({ appKey: d.appKey, appSecret: d.appSecret, refreshToken: d.refreshToken, apiUrl: d.apiUrl, ...extra });
}
