import type { Demotion, FalseDiscovery, GateResult, ManifestCore, ModelBundle, Verdict } from '@engine/model';
import type { PublishedFile } from '@engine/publish';

/**
 * The public shapes of the registry package. Everything here is stable API for the
 * fleet (scheduler, workers, CLI, dashboard); implementations live in their own files.
 */

/** One database row as the driver returns it. */
export type Row = Record<string, unknown>;

/** Anything that runs a parameterised SQL statement (`$1`, `$2`, …) and returns its rows. */
export interface Queryable {
  query<R extends Row = Row>(text: string, params?: readonly unknown[]): Promise<R[]>;
}

/**
 * The registry's one database handle: a `pg` pool (the fleet, `DATABASE_URL`) or an
 * embedded PGlite (single-machine mode). The SQL is the same for both.
 */
export interface Db extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /** Run `fn` inside BEGIN … COMMIT; any throw rolls everything back and is rethrown. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Where a model stands with the publish target (Dropbox or a local folder):
 * `held` — recorded by a daily run that has not yet decided (false-discovery control over
 * all its symbols); neither published, live nor swept until `releaseHeld`;
 * `pending` — not yet (or not completely) published; the sweep retries it;
 * `synced` — every file uploaded and hash-verified;
 * `failed` — a permanent failure (bundle missing or corrupt in the staging store);
 * the sweep stops retrying and the reason is in the publish log.
 */
export type SyncState = 'held' | 'pending' | 'synced' | 'failed';

/** A registry row of `models`. */
export interface ModelRecord {
  id: string;
  symbol: string;
  /** `YYYY-MM-DD` */
  runDate: string;
  /** ISO time the model was trained (from the manifest). */
  createdAt: string;
  /** ISO time the registry recorded it. */
  recordedAt: string;
  verdict: Verdict;
  /** Failed gates (value vs bound), empty for a published model. */
  reasons: string[];
  recipeVersion: string;
  recipeHash: string;
  medianSource: 'registry' | 'folds';
  /** Staging-store key of the bundle (see `stagingKey`). */
  location: string;
  syncState: SyncState;
  syncAttempts: number;
  syncedAt: string | null;
  /** Bundle file name (incl. `manifest.json`) → where it was published. Null until synced. */
  publishedFiles: Record<string, PublishedFile> | null;
  /** The publish target it was synced to (`dropbox:/Runpodhuracan`, `folder:…`). Null until synced. */
  publishTarget: string | null;
  lastSyncError: string | null;
  /** Set when an operator rolled this model back; it never goes live again by itself. */
  rolledBackAt: string | null;
  /** The manifest's non-default guarded settings (zero costs, loosened gates…); empty for a default model or one written before the list existed. */
  nonDefaultSettings: string[];
  /** True when this model is the symbol's live model. */
  live: boolean;
  /** The run's false-discovery decision (null until decided, and for models recorded without one). */
  falseDiscovery: FalseDiscovery | null;
}

/** `getModel`: the record, its manifest, numeric metrics and gate table. */
export interface ModelDetail extends ModelRecord {
  manifest: ManifestCore;
  /** Flattened numeric metrics, e.g. `sharpe_ratio`, `costs.fees_gbp`. */
  metrics: Record<string, number>;
  gates: GateResult[];
}

/** `listModels`: the record plus the headline metrics (no manifest). */
export interface ModelSummary extends ModelRecord {
  metrics: Record<string, number>;
}

export interface RecordResult {
  /** The row now in the registry for (symbol, run_date): this bundle's, or the first one recorded. */
  model: ModelRecord;
  /** False when (symbol, run_date) was already recorded (a retried job): nothing changed. */
  created: boolean;
}

/** One published model's metrics, newest first: what the gates' medians are computed over. */
export interface MetricsHistoryEntry {
  modelId: string;
  runDate: string;
  metrics: Record<string, number>;
}

export interface LiveModelRecord {
  symbol: string;
  modelId: string;
  runDate: string;
  /** ISO time it became live. */
  since: string;
  /** Model the published `latest.json` pointer names now; differs from modelId until the pointer is written. */
  pointerModelId: string | null;
  /** Set when live monitoring demoted the model: the symbol then has no model to trade (`latest.json` says so once written). */
  demoted: Demotion | null;
  /** Whether the published `latest.json` already carries the demotion. */
  pointerDemoted: boolean;
}

export type PublishEventKind =
  | 'held'
  | 'published'
  | 'rejected'
  | 'rolled_back'
  | 'synced'
  | 'sync_failed'
  | 'duplicate_ignored'
  | 'pointer_updated'
  | 'demoted';

/** One append-only `publish_log` entry. */
export interface PublishEvent {
  seq: number;
  at: string;
  event: PublishEventKind;
  symbol: string;
  modelId: string | null;
  actor: string;
  reason: string | null;
  details: Record<string, unknown>;
}

/**
 * The hand-off between training workers and the sync worker: bundles by key, in a store
 * both reach (PostgreSQL bytes in the fleet, a folder on one machine). `get` verifies
 * every file's SHA-256 against the manifest.
 */
export interface ArtifactStore {
  readonly kind: 'postgres' | 'folder';
  /** Store (or overwrite) the bundle under `key`; atomic: a reader sees the old or the new bundle whole. */
  put(key: string, bundle: ModelBundle): Promise<void>;
  /** The bundle, hash-verified; PermanentError `BUNDLE_NOT_FOUND` or DataError `BUNDLE_CORRUPT`. */
  get(key: string): Promise<ModelBundle>;
  has(key: string): Promise<boolean>;
  /** Remove the bundle; no error when absent. */
  delete(key: string): Promise<void>;
  /** Keys present, sorted; with `prefix`, only keys starting with it. */
  list(prefix?: string): Promise<string[]>;
}

/** What one `syncModel` did. */
export interface SyncOutcome {
  modelId: string;
  symbol: string;
  runDate: string;
  verdict: Verdict;
  /**
   * `synced` now, or `already-synced` (it was; nothing was uploaded), or `exported`: written
   * to this process's own target on request (ENGINE_SIDE_PUBLISH) while the registry
   * publishes elsewhere; the model stays pending there.
   */
  state: 'synced' | 'already-synced' | 'exported';
  /** Files whose bytes were sent; 0 on a repeat sync. */
  uploaded: number;
  /** Files already present with the same content hash. */
  unchanged: number;
  /** The symbol's `latest.json`: written, already right, or not this model's (rejected / not live). */
  pointer: PointerOutcome;
}

/**
 * What writing a symbol's `latest.json` did: `updated`, `unchanged` (already named the
 * live model), `not-live` (the model is not the symbol's live model, or there is none),
 * `waiting` (the live model's files are not published yet; the sweep writes it later).
 */
export type PointerOutcome = 'updated' | 'unchanged' | 'not-live' | 'waiting';

/** What one sweep did. Failures are counted and logged; they never stop the sweep. */
export interface SweepOutcome {
  /** Staged bundles with no registry row that were recorded. */
  ingested: string[];
  synced: string[];
  failed: { modelId: string; error: string; permanent: boolean }[];
  pointers: string[];
}
