/**
 * @engine/registry: the model registry (PostgreSQL or embedded PGlite), the staging
 * store that hands bundles from training workers to the sync worker, and the model sync
 * that publishes recorded models through @engine/publish.
 */
export * from './types';
export * from './db';
export type { PgliteConstructor, PgliteLike } from './pglite';
export * from './pglite-upgrade';
export * from './migrations';
export * from './registry';
export * from './artifact-store';
export * from './model-sync';
export * from './context';
export * from './trial-ledger';
export * from './fit-cache-store';
