import * as path from 'node:path';
import { constants, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { PermanentError, TransientError } from '@engine/shared';

const MiB = 1024 * 1024;

/**
 * The most any download reads into memory, whatever the caller allows: 1 GiB. A model
 * bundle is a few MiB at most (40 trees of depth 4 are ~50 KB of ONNX); a reader asked
 * for more is reading something that is not a model.
 */
export const MAX_FILE_BYTES = 1024 * MiB;

/** How long a folder read may take, open to last byte, before it is given up (30 s). */
export const DEFAULT_READ_TIMEOUT_MS = 30_000;

/** `maxBytes` of a download, bounded by the ceiling. */
export function downloadLimit(opts: { maxBytes?: number } | undefined): number {
  const max = opts?.maxBytes ?? MAX_FILE_BYTES;
  if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`maxBytes must be an integer ≥ 0, got ${max}`);
  return Math.min(max, MAX_FILE_BYTES);
}

/** Why a file was not read. */
export type UnsafeFileReason =
  /** The file, or a folder on the way to it, is a symbolic link. */
  | 'symlink'
  /** The file is a FIFO, a device, a socket or a folder. */
  | 'not_regular_file'
  /** Something on the way to the file is not a folder. */
  | 'not_a_folder'
  /** The path leaves the folder (`..`, `.`, an empty segment, NUL, not absolute). */
  | 'outside_root'
  /** The file is larger than the reader allows. */
  | 'too_large';

/**
 * A file a reader must not read: it is not a regular file inside the target, or it is
 * larger than allowed. Permanent: the same path fails the same way until someone changes
 * what is there. `path` is the remote path of the offending component (the file, or the
 * folder on the way to it); `problem` says what was expected and what was found.
 */
export class UnsafeFileError extends PermanentError {
  readonly reason: UnsafeFileReason;
  readonly path: string;
  readonly problem: string;
  /** For `too_large`: the limit, and the size found (null when only "more than the limit" is known). */
  readonly limit: number | undefined;
  readonly found: number | null | undefined;

  constructor(where: string, p: { reason: UnsafeFileReason; path: string; problem: string; file?: string; limit?: number; found?: number | null }) {
    const on = p.file !== undefined && p.file !== p.path ? ` (on the way to ${printable(p.file)})` : '';
    super('UNSAFE_FILE', `${where} ${printable(p.path)}${on}: ${p.problem}`, { reason: p.reason, path: p.path, ...(p.file !== undefined ? { file: p.file } : {}), ...(p.limit !== undefined ? { limit: p.limit, found: p.found ?? null } : {}) });
    this.reason = p.reason;
    this.path = p.path;
    this.problem = p.problem;
    this.limit = p.limit;
    this.found = p.found;
  }
}

/** A path as a message shows it: quoted and escaped when it holds control characters (NUL, newline). */
function printable(p: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(p) ? JSON.stringify(p) : p;
}

/** `a FIFO`, `a symbolic link`, … for messages. */
export function describeKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a folder';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'something that is not a file';
}

/**
 * The segments of an absolute remote path, refusing anything that could leave the folder:
 * not absolute, an empty, `.` or `..` segment, or a NUL byte.
 */
export function safeSegments(remote: string, where: string): string[] {
  const parts = remote.split('/').slice(1);
  const bad = !remote.startsWith('/') || remote.includes('\0') || parts.length === 0 || parts.some((p) => p === '' || p === '.' || p === '..');
  if (bad) {
    throw new UnsafeFileError(where, { reason: 'outside_root', path: remote, problem: "expected an absolute path without empty, '.' or '..' segments or NUL bytes" });
  }
  return parts;
}

interface ReadBelowOptions {
  /** For messages: `folder:/data/publish`. */
  where: string;
  maxBytes: number;
  timeoutMs: number;
}

const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const CHUNK = MiB;

/**
 * Read the regular file at `dir/<parts…>`, or null when it (or a folder on the way) does
 * not exist. Refused with `UnsafeFileError`: a symlink anywhere below `dir` (each folder
 * is `lstat`ed, the file is opened with O_NOFOLLOW), anything that is not a regular file
 * (checked before opening, so a FIFO or a device is never opened, and again with `fstat`
 * on the open descriptor), a file larger than `maxBytes` (by its size before reading,
 * and by what was read, which never goes past `maxBytes + 1`). `dir` itself may be a
 * symlink: it is the folder the caller configured.
 *
 * The whole read, open to last byte, must finish within `timeoutMs` (a hung network or
 * FUSE file system): otherwise a `TransientError` (`READ_TIMEOUT`), and the descriptor is
 * closed once the pending system call returns. The event loop is never blocked: every
 * step is an asynchronous call, and FIFOs are opened non-blocking should one appear
 * between the check and the open.
 */
export async function readRegularFileBelow(dir: string, parts: readonly string[], opts: ReadBelowOptions): Promise<Uint8Array | null> {
  const state = { expired: false };
  const work = readBelow(dir, parts, opts, state);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      state.expired = true;
      reject(new TransientError('READ_TIMEOUT', `${opts.where} /${parts.join('/')}: expected the read to finish within ${opts.timeoutMs} ms, it did not (slow or hung file system)`, { path: `/${parts.join('/')}`, timeoutMs: opts.timeoutMs }));
    }, opts.timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    // After a timeout the work finishes (or fails) on its own and closes its descriptor.
    work.catch(() => undefined);
  }
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await lstat(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

async function readBelow(dir: string, parts: readonly string[], opts: ReadBelowOptions, state: { expired: boolean }): Promise<Uint8Array | null> {
  const remote = `/${parts.join('/')}`;
  const refuse = (p: { reason: UnsafeFileReason; path: string; problem: string; limit?: number; found?: number | null }): never => {
    throw new UnsafeFileError(opts.where, { ...p, file: remote });
  };
  let local = dir;
  for (let i = 0; i < parts.length - 1; i++) {
    local = path.join(local, parts[i]!);
    const st = await lstatOrNull(local);
    if (state.expired) return null;
    if (st === null) return null;
    if (!st.isDirectory()) {
      const at = `/${parts.slice(0, i + 1).join('/')}`;
      refuse({ reason: st.isSymbolicLink() ? 'symlink' : 'not_a_folder', path: at, problem: `expected a folder, found ${describeKind(st)}` });
    }
  }
  const file = path.join(dir, ...parts);
  const before = await lstatOrNull(file);
  if (state.expired || before === null) return null;
  if (!before.isFile()) refuse({ reason: before.isSymbolicLink() ? 'symlink' : 'not_regular_file', path: remote, problem: `expected a regular file, found ${describeKind(before)}` });
  if (before.size > opts.maxBytes) refuse({ reason: 'too_large', path: remote, problem: `expected at most ${opts.maxBytes} bytes, found ${before.size}`, limit: opts.maxBytes, found: before.size });

  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    // Replaced by a symlink (ELOOP) or a socket (ENXIO) since the check above.
    if (code === 'ELOOP') refuse({ reason: 'symlink', path: remote, problem: 'expected a regular file, found a symbolic link' });
    if (code === 'ENXIO') refuse({ reason: 'not_regular_file', path: remote, problem: 'expected a regular file, found a socket or a device' });
    throw err;
  }
  try {
    if (state.expired) return null;
    const st = await handle.stat();
    if (!st.isFile()) refuse({ reason: 'not_regular_file', path: remote, problem: `expected a regular file, found ${describeKind(st)}` });
    if (st.size > opts.maxBytes) refuse({ reason: 'too_large', path: remote, problem: `expected at most ${opts.maxBytes} bytes, found ${st.size}`, limit: opts.maxBytes, found: st.size });
    // Read at most maxBytes + 1: one byte more than allowed proves the file is too large
    // (it grew since fstat) without reading the rest of it.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(CHUNK, opts.maxBytes + 1 - total);
      if (want <= 0) break;
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(buf, 0, want, null);
      if (state.expired) return null;
      if (bytesRead === 0) break;
      chunks.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
      total += bytesRead;
    }
    if (total > opts.maxBytes) refuse({ reason: 'too_large', path: remote, problem: `expected at most ${opts.maxBytes} bytes, found more`, limit: opts.maxBytes, found: null });
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  } finally {
    await handle.close();
  }
}
