import { DEFAULT_PUBLISH_ROOT, pointerPath } from '@engine/model';
import { DropboxFiles, FolderFiles, type DropboxFilesOptions } from '@engine/publish';
import { EngineError } from '@engine/shared';
import { ModelFetchError } from './errors';

/**
 * Read access to a publish target (the registry's `RemoteFiles` satisfies it): absolute
 * paths in the publish layout, `null` when the file does not exist.
 */
export interface ReadableFiles {
  /** For logs and error messages; never a credential. */
  describe(): string;
  download(path: string): Promise<Uint8Array | null>;
}

/**
 * Where Hamilton reads published models from.
 * - `folder`: a local folder in the publish layout (`<dir>/Runpodhuracan/latest/BTC-USDT.json`, …),
 *   as single-machine mode publishes it or as a Dropbox desktop sync mirrors it.
 * - `dropbox`: Dropbox through the official SDK with refresh-token auth (the registry's
 *   `DropboxFiles`: retries 429/5xx honouring Retry-After, refreshes tokens), either
 *   built from `config` or passed in as `files` (e.g. `dropboxFromConfig(loadConfig())`).
 * - `files`: any other `ReadableFiles`.
 *
 * `root` is the publish root (default `/Runpodhuracan`).
 */
export type ModelSourceSpec =
  | { kind: 'folder'; dir: string; root?: string }
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
  const files = spec.kind === 'folder' ? new FolderFiles(spec.dir) : 'config' in spec ? new DropboxFiles(spec.config) : spec.files;
  return {
    files,
    root,
    pointerPath: (symbol) => pointerPath(root, symbol),
    describe: () => `${files.describe()}${root}`,
  };
}

/**
 * Download one file; `null` when absent. Failures that are not ours (network, Dropbox
 * 5xx, disk) become a `ModelFetchError` naming the path, so a watcher retries them at
 * the next poll instead of mistaking them for a broken model.
 */
export async function readSourceFile(source: ModelSource, path: string): Promise<Uint8Array | null> {
  try {
    return await source.files.download(path);
  } catch (err) {
    if (err instanceof EngineError && err.permanent) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new ModelFetchError(`cannot read ${path} from ${source.files.describe()}: ${msg}`, { path }, err);
  }
}
