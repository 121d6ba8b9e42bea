import * as path from 'node:path';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { PermanentError } from '@engine/shared';
import { dropboxContentHash } from './content-hash';
import type { RemoteFiles } from './types';

/**
 * The publish target of single-machine mode without Dropbox credentials: the same
 * layout in a local folder (`/Runpodhuracan/…` → `<dir>/Runpodhuracan/…`). Each file
 * is written to a temporary name and renamed, so a reader sees whole files only.
 */
export class FolderFiles implements RemoteFiles {
  readonly kind = 'folder' as const;

  constructor(readonly dir: string) {}

  describe(): string {
    return `folder:${this.dir}`;
  }

  /** Local path of a remote path; refuses anything that could escape the folder. */
  localPath(remote: string): string {
    const parts = remote.split('/').filter((p) => p !== '');
    if (!remote.startsWith('/') || parts.some((p) => p === '.' || p === '..')) {
      throw new PermanentError('PUBLISH_PATH_INVALID', `publish path '${remote}' must be absolute without '.' or '..' segments`, { path: remote });
    }
    return path.join(this.dir, ...parts);
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

  async download(remote: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(this.localPath(remote)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
}
