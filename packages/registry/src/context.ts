import * as path from 'node:path';
import { ConfigError, type Config, type Logger } from '@engine/shared';
import { FolderArtifactStore, PgArtifactStore } from './artifact-store';
import { describeRegistryDb, openRegistryDb } from './db';
import { FolderFiles, Publisher, dropboxFromConfig, type DropboxFilesOptions } from '@engine/publish';
import { ModelSync, type TargetPolicy } from './model-sync';
import { Registry } from './registry';
import { TrialLedger } from './trial-ledger';
import { FitCacheStore } from './fit-cache-store';
import type { ArtifactStore, Db } from './types';

/** Everything a process needs to record, stage and publish models. */
export interface RegistryContext {
  db: Db;
  registry: Registry;
  /** PostgreSQL bytes with DATABASE_URL (the fleet), `<data dir>/staging` otherwise. */
  store: ArtifactStore;
  /** Dropbox when DROPBOX_APP_KEY + DROPBOX_REFRESH_TOKEN are set, else the folder `<data dir>/publish`. */
  publisher: Publisher;
  sync: ModelSync;
  /** The trial ledger (migration 3): every evaluated configuration. */
  trials: TrialLedger;
  /** The fold fits' content-addressed cache (migration 6). */
  fitCache: FitCacheStore;
  /** Where the registry lives, credentials removed (for logs). */
  where: string;
  close(): Promise<void>;
}

export interface RegistryContextOptions {
  /** Publish-log actor, e.g. `sync@<pod id or hostname>`, `cli@<user>`. */
  actor: string;
  logger?: Logger;
  /** PostgreSQL schema (default `engine_registry`). */
  schema?: string;
  /** Pool size for `pg` (default 5). */
  poolSize?: number;
  /** Dropbox tuning (thresholds, retries); credentials always come from the config. */
  dropbox?: Partial<Omit<DropboxFilesOptions, 'appKey' | 'appSecret' | 'refreshToken' | 'apiUrl'>>;
  /** Keep staged bundles after sync (default: prune them). */
  keepStaged?: boolean;
  /**
   * How syncs relate to the registry's publish target (see ModelSync). Default: `claim` for
   * the fleet and for an embedded registry (this process is its publisher); `join` for a
   * single-machine process on a shared PostgreSQL (DATABASE_URL without REDIS_URL), or
   * `side` when ENGINE_SIDE_PUBLISH says so.
   */
  targetPolicy?: TargetPolicy;
}

/** The target policy a configuration implies (see RegistryContextOptions.targetPolicy). */
export function defaultTargetPolicy(config: Pick<Config, 'mode' | 'databaseUrl' | 'sidePublish'>): TargetPolicy {
  if (config.databaseUrl === undefined || config.mode === 'fleet') return 'claim';
  return config.sidePublish ? 'side' : 'join';
}

/**
 * Open the registry, staging store and publisher for this configuration, migrating the
 * schema first (safe when several processes start together). The fleet (REDIS_URL set)
 * requires DATABASE_URL: its machines share only Redis and PostgreSQL. Single-machine
 * mode uses PGlite under `<ENGINE_DATA_DIR>/registry` unless DATABASE_URL is set.
 */
export async function openRegistryContext(config: Config, opts: RegistryContextOptions): Promise<RegistryContext> {
  if (config.mode === 'fleet' && config.databaseUrl === undefined) {
    throw new ConfigError('the fleet (REDIS_URL set) needs DATABASE_URL: training and sync workers may run on different machines and share only Redis and PostgreSQL');
  }
  const db = await openRegistryDb(config, { max: opts.poolSize, applicationName: `engine-${opts.actor.replace(/[^A-Za-z0-9_.@-]/g, '_')}`.slice(0, 63), logger: opts.logger });
  try {
    const registry = await Registry.open(db, { schema: opts.schema });
    const store: ArtifactStore = config.databaseUrl !== undefined ? new PgArtifactStore(db, { schema: opts.schema }) : new FolderArtifactStore(path.join(config.dataDir, 'staging'));
    const files = dropboxFromConfig(config, { ...opts.dropbox, logger: opts.logger }) ?? new FolderFiles(path.join(config.dataDir, 'publish'));
    const publisher = new Publisher(files, { root: config.dropbox.root, logger: opts.logger });
    const sync = new ModelSync({ registry, store, publisher, actor: opts.actor, logger: opts.logger, pruneStaged: !(opts.keepStaged ?? false), targetPolicy: opts.targetPolicy ?? defaultTargetPolicy(config) });
    return { db, registry, store, publisher, sync, trials: new TrialLedger(db, { schema: opts.schema }), fitCache: new FitCacheStore(db, { schema: opts.schema }), where: describeRegistryDb(config), close: () => db.close() };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}
