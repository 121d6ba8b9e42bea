import { DEFAULT_PUBLISH_ROOT, pointerPath } from '@engine/model';
import { DropboxFiles, FolderFiles, UnsafeFileError, type DownloadOptions, type DropboxFilesOptions } from '@engine/publish';
import { EngineError } from '@engine/shared';
import { ModelFetchError, UnsafeModelFileError } from './errors';

/**
 * The most the consumer reads of a file `latest.json` does not size — the pointer itself
 * (a few hundred bytes in practice): 64 MiB. Every file the pointer names is read up to
 * its declared `bytes` and no further.
 */
export const MAX_UNSIZED_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Read access to a publish target (the registry's `RemoteFiles` satisfies it): absolute
 * paths in the publish layout, `null` when the file does not exist.
 */
export interface ReadableFiles {
  /** For logs and error messages; never a credential. */
  describe(): string;
  /**
   * The bytes at `path`, or null when absent. Should read no more than `opts.maxBytes`
   * (the consumer checks the length it gets either way) and throw `UnsafeFileError`
   * (@engine/publish) for a file it must not read.
   */
  download(path: string, opts?: DownloadOptions): Promise<Uint8Array | null>;
}

/**
 * Where Hamilton reads published models from.
 * - `folder`: a local folder in the publish layout (`<dir>/Runpodhuracan/latest/BTC-USDT.json`, …),
 *   as single-machine mode publishes it or as a Dropbox desktop sync mirrors it. Only
 *   regular files below `dir` are read, never through a symlink (`dir` itself may be
 *   one); a read that takes longer than `readTimeoutMs` (default 30 s) is a transient
 *   `ModelFetchError`.
 * - `dropbox`: Dropbox through the official SDK with refresh-token auth (the registry's
 *   `DropboxFiles`: retries 429/5xx honouring Retry-After, refreshes tokens), either
 *   built from `config` or passed in as `files` (e.g. `dropboxFromConfig(loadConfig())`).
 * - `files`: any other `ReadableFiles`.
 *
 * `root` is the publish root (default `/Runpodhuracan`).
 */
export type ModelSourceSpec =
  | { kind: 'folder'; dir: string; root?: string; readTimeoutMs?: number }
  | { kind: 'dropbox'; config: DropboxFilesOptions; root?: string }
  | { kind: 'dropbox'; files: ReadableFiles; root?: string }
  | { kind: 'files'; files: ReadableFiles; root?: string };

/** A resolved source: the files and the root the pointer lives under. */
export interface ModelSource {
  files: ReadableFiles;
  root: string;
  /** Path of the symbol's `latest.json` pointer. */
  pointerPath(symbol: string): string;
  describe(): string;
}

/** Build a `ModelSource` from its spec. */
export function resolveSource(spec: ModelSourceSpec): ModelSource {
  const root = (spec.root ?? DEFAULT_PUBLISH_ROOT).replace(/\/+$/, '');
  if (!root.startsWith('/')) {
    throw new ModelFetchError(`publish root must be an absolute path such as /Runpodhuracan, got '${root}'`, { root });
  }
  const files = spec.kind === 'folder' ? new FolderFiles(spec.dir, { readTimeoutMs: spec.readTimeoutMs }) : 'config' in spec ? new DropboxFiles(spec.config) : spec.files;
  return {
    files,
    root,
    pointerPath: (symbol) => pointerPath(root, symbol),
    describe: () => `${files.describe()}${root}`,
  };
}

/** How much of a file to read, and what to call it in a refusal. */
export interface ReadLimit {
  /** Refuse the file when it is larger than this. */
  maxBytes: number;
  /** Where the limit comes from, for messages: `latest.json`, `MAX_UNSIZED_FILE_BYTES`. */
  declaredBy: string;
  /** What the file is, for messages, e.g. `model 7f… (BTC/USDT): 'model.onnx' at /Runpodhuracan/…`. Default: its path. */
  what?: string;
}

/**
 * Download one file, no larger than `limit.maxBytes` (default `MAX_UNSIZED_FILE_BYTES`);
 * `null` when absent. A file the source must not read (a symlink, a FIFO or device, a
 * path out of the folder, too large) is refused with `UnsafeModelFileError`, a
 * `ModelRefusedError`. Failures that are not ours (network, Dropbox 5xx, disk, a read
 * timeout) become a `ModelFetchError` naming the path, so a watcher retries them at the
 * next poll instead of mistaking them for a broken model.
 */
export async function readSourceFile(source: ModelSource, path: string, limit: ReadLimit = { maxBytes: MAX_UNSIZED_FILE_BYTES, declaredBy: 'MAX_UNSIZED_FILE_BYTES' }): Promise<Uint8Array | null> {
  const what = `${limit.what ?? path} from ${source.files.describe()}`;
  const tooLarge = (found: number | null, cause?: unknown): UnsafeModelFileError =>
    new UnsafeModelFileError(`${what}: expected at most ${limit.maxBytes} bytes (${limit.declaredBy}), found ${found ?? 'more'}`, { reason: 'too_large', path, limit: limit.maxBytes, found }, cause);
  let bytes: Uint8Array | null;
  try {
    bytes = await source.files.download(path, { maxBytes: limit.maxBytes });
  } catch (err) {
    if (err instanceof UnsafeFileError) {
      if (err.reason === 'too_large') throw tooLarge(err.found ?? null, err);
      const at = err.path === path ? '' : `${err.path} `;
      throw new UnsafeModelFileError(`${what}: ${at}${err.problem}`, { ...err.details, reason: err.reason, path: err.path, file: path }, err);
    }
    if (err instanceof EngineError && err.permanent) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new ModelFetchError(`cannot read ${path} from ${source.files.describe()}: ${msg}`, { path }, err);
  }
  // A source that does not honour maxBytes still cannot hand over more than declared.
  if (bytes !== null && bytes.length > limit.maxBytes) throw tooLarge(bytes.length);
  return bytes;
}
