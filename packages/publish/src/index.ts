/**
 * @engine/publish: the publish targets (Dropbox through the official SDK, or a local
 * folder in the same layout), Dropbox's content hash, and the publisher that writes
 * bundles and `latest.json` pointers in the one layout of @engine/model.
 */
export * from './types';
export * from './content-hash';
export * from './file-safety';
export * from './folder-files';
export * from './dropbox-files';
export * from './publisher';
