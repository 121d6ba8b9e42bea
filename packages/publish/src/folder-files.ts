import * as path from 'node:path';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dropboxContentHash } from './content-hash';
import { DEFAULT_READ_TIMEOUT_MS, downloadLimit, readRegularFileBelow, safeSegments } from './file-safety';
import type { DownloadOptions, RemoteFiles } from './types';

/** Options of the folder publish target. */
export interface FolderFilesOptions {
  /** Longest a download may take, open to last byte (default `DEFAULT_READ_TIMEOUT_MS`, 30 s). */
  readTimeoutMs?: number;
}

/**
 * The publish target of single-machine mode without Dropbox credentials: the same
 * layout in a local folder (`/Runpodhuracan/…` → `<dir>/Runpodhuracan/…`). Each file
 * is written to a temporary name and renamed, so a reader sees whole files only.
 *
 * Downloads read regular files inside the folder only (see `readRegularFileBelow`): a
 * symlink below `dir` (file or folder), a FIFO, a device or a socket is refused with an
 * `UnsafeFileError`, as is a file larger than `maxBytes`; a read that hangs gives up
 * after `readTimeoutMs`. `dir` itself may be a symlink.
 */
export class FolderFiles implements RemoteFiles {
  readonly kind = 'folder' as const;
  private readonly readTimeoutMs: number;

  constructor(
    readonly dir: string,
    opts: FolderFilesOptions = {},
  ) {
    this.readTimeoutMs = opts.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    if (!(this.readTimeoutMs > 0)) throw new RangeError(`readTimeoutMs must be > 0, got ${this.readTimeoutMs}`);
  }

  describe(): string {
    return `folder:${this.dir}`;
  }

  /** Local path of a remote path; refuses anything that could escape the folder (`UnsafeFileError`, `outside_root`). */
  localPath(remote: string): string {
    return path.join(this.dir, ...safeSegments(remote, this.describe()));
  }

  async contentHash(remote: string): Promise<string | null> {
    const bytes = await this.download(remote);
    return bytes === null ? null : dropboxContentHash(bytes);
  }

  async upload(remote: string, bytes: Uint8Array): Promise<{ contentHash: string }> {
    const dest = this.localPath(remote);
    await mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.${randomUUID()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, dest);
    return { contentHash: dropboxContentHash(await readFile(dest)) };
  }

  async download(remote: string, opts?: DownloadOptions): Promise<Uint8Array | null> {
    const parts = safeSegments(remote, this.describe());
    return readRegularFileBelow(this.dir, parts, { where: this.describe(), maxBytes: downloadLimit(opts), timeoutMs: this.readTimeoutMs });
  }
}
