import type { Verdict } from '@engine/model';

/** One published file of a synced model: where it went and what its bytes hash to. */
export interface PublishedFile {
  /** Full remote path, e.g. `/Runpodhuracan/2026-07-16/models/BTC-USDT_model.onnx`. */
  path: string;
  /** SHA-256 hex of the bytes (the manifest's artifact hash). */
  sha256: string;
  /** Dropbox content hash (4 MiB blocks) of the bytes. */
  contentHash: string;
  bytes: number;
}

/** Limits on one download. */
export interface DownloadOptions {
  /**
   * Refuse the file (`UnsafeFileError`, reason `too_large`) when it is larger than this,
   * without reading more than this plus one byte. Default and ceiling: `MAX_FILE_BYTES`.
   */
  maxBytes?: number;
}

/**
 * A publish target's file operations (Dropbox or a local folder). Paths are absolute
 * (`/Runpodhuracan/…`). `contentHash` is Dropbox's content hash of the stored bytes.
 */
export interface RemoteFiles {
  readonly kind: 'dropbox' | 'folder';
  /** For logs: `dropbox` or the folder path (never a credential). */
  describe(): string;
  /** Content hash of the file at `path`, or null when there is none. */
  contentHash(path: string): Promise<string | null>;
  /** Write (overwrite) `path`; returns the content hash the target computed for what it stored. */
  upload(path: string, bytes: Uint8Array): Promise<{ contentHash: string }>;
  /**
   * The bytes at `path`, or null when there is none. Only a regular file is read, never
   * more than `opts.maxBytes` (`MAX_FILE_BYTES` at most); anything else is an `UnsafeFileError`.
   */
  download(path: string, opts?: DownloadOptions): Promise<Uint8Array | null>;
}

/** What the publisher needs of a registry record to write its `latest.json` (the registry's ModelRecord is one). */
export interface PublishableModel {
  id: string;
  symbol: string;
  runDate: string;
  createdAt: string;
  recipeVersion: string;
  recipeHash: string;
  verdict: Verdict;
  /** Bundle file name → where it was published; null until synced. */
  publishedFiles: Record<string, PublishedFile> | null;
}
