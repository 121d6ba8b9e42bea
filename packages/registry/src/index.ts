/**
 * @engine/registry: the model registry (PostgreSQL or embedded PGlite), the staging
 * store that hands bundles from training workers to the sync worker, and publishing to
 * Dropbox (or a local folder) in the layout Hamilton reads.
 */
export * from './types';
export * from './db';
export * from './migrations';
export * from './bundle-io';
export * from './registry';
export * from './artifact-store';
export * from './content-hash';
export * from './layout';
export * from './folder-files';
export * from './dropbox-files';
export * from './publisher';
export * from './model-sync';
export * from './context';
