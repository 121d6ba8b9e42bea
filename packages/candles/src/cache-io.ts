import { randomBytes } from 'node:crypto';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '@engine/shared';

/**
 * Write a cache file whole or not at all: the bytes go to a temporary file beside it that
 * is renamed over the old one, so a reader (or a crash) only ever sees a complete file.
 * Concurrent writers do not corrupt it; the last rename wins. A temporary file left by a
 * failed write is removed.
 */
export async function writeFileAtomic(file: string, bytes: Uint8Array | string, cacheDir: string): Promise<void> {
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw cacheFolderError(err, cacheDir, file, 'write');
  }
}

/**
 * A cache folder the process cannot use (read-only, a file where a folder should be, no
 * permission) is a configuration error that says where and what to do, not a stack trace.
 */
export function cacheFolderError(err: unknown, cacheDir: string, file: string, op: 'read' | 'write'): Error {
  const e = err as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'the file system is read-only',
    ENOTDIR: 'a path component is a file, not a folder',
    EEXIST: 'a path component is a file, not a folder',
    EISDIR: 'the cache file is a folder',
  };
  if (e.code === undefined || why[e.code] === undefined) return e;
  return new ConfigError(
    `the candle cache folder ${cacheDir} cannot be ${op === 'read' ? 'read' : 'written'} (${e.code}: ${why[e.code]}, at ${file}): expected a writable folder; set ENGINE_DATA_DIR or --cache-dir to one`,
    { cacheDir, file, code: e.code },
  );
}
