import { createHash } from 'node:crypto';

/** Dropbox hashes content in blocks of this size. */
export const DROPBOX_BLOCK_BYTES = 4 * 1024 * 1024;

/**
 * Dropbox's `content_hash`: split the bytes into 4 MiB blocks, SHA-256 each block, then
 * SHA-256 the concatenation of the block digests; lower-case hex. (An empty file hashes
 * the empty concatenation.) The same value Dropbox returns in file metadata, so an
 * upload can be verified end to end and a re-sync can skip identical files.
 */
export function dropboxContentHash(bytes: Uint8Array): string {
  const outer = createHash('sha256');
  for (let off = 0; off < bytes.length; off += DROPBOX_BLOCK_BYTES) {
    outer.update(createHash('sha256').update(bytes.subarray(off, Math.min(off + DROPBOX_BLOCK_BYTES, bytes.length))).digest());
  }
  return outer.digest('hex');
}
