import { DataError, PermanentError, wrapError, type Logger } from '@engine/shared';
import { stagingKey } from './artifact-store';
import type { Publisher } from '@engine/publish';
import type { Registry } from './registry';
import type { ArtifactStore, ModelRecord, PointerOutcome, RecordResult, SweepOutcome, SyncOutcome } from './types';

/** Error codes meaning the staged bundle itself is unusable: retrying cannot help. */
const BUNDLE_PROBLEMS = new Set(['BUNDLE_CORRUPT', 'BUNDLE_NOT_FOUND', 'BUNDLE_MISMATCH', 'BUNDLE_INVALID']);

/** A finished training job's model, as a sync job names it. */
export interface ModelRef {
  modelId: string;
  symbol: string;
  runDate: string;
}

export interface ModelSyncOptions {
  registry: Registry;
  /** Where training workers left the bundles. */
  store: ArtifactStore;
  /** Dropbox or a local folder, in the one layout. */
  publisher: Publisher;
  /** Who acts, as written in the publish log: e.g. `sync@<pod id or hostname>`. */
  actor: string;
  /** Delete a bundle from the staging store once its model is synced (default true). */
  pruneStaged?: boolean;
  /** Most pending models one sweep handles (default 200). */
  sweepLimit?: number;
  logger?: Logger;
  /**
   * How this process relates to the registry's publish target (`Registry.publishTarget`):
   * - `claim` (default): it is the registry's publisher — the fleet's sync worker, or the
   *   embedded registry of one machine. It sets the target when none is set yet and
   *   refuses to sync when the registry publishes elsewhere.
   * - `join`: it publishes only when its target is the registry's (a CLI pointed at the
   *   fleet's PostgreSQL); otherwise it refuses and leaves models to the fleet's sync.
   * - `side`: told explicitly (ENGINE_SIDE_PUBLISH=true) to write models to its own target
   *   too: an export that never marks a model synced, never moves the registry's pointer
   *   marks and never prunes the staged bundle its real target still needs.
   */
  targetPolicy?: TargetPolicy;
}

export type TargetPolicy = 'claim' | 'join' | 'side';

/**
 * The sync worker's logic, free of BullMQ: record a staged bundle in the registry (one
 * transaction), publish its files, mark it synced, then move the symbol's `latest.json`
 * — in that order, so the pointer never names a model whose files are not all
 * published and hash-verified. Every step is idempotent; a failure leaves the model
 * `pending` for the sweep (or `failed` when the staged bundle is missing or corrupt).
 */
/** What a sync job asks for: publish one recorded model, or sweep everything pending. */
export type SyncRequest = ({ kind: 'model' } & ModelRef) | { kind: 'sweep' };

export class ModelSync {
  private readonly registry: Registry;
  private readonly store: ArtifactStore;
  private readonly publisher: Publisher;
  private readonly actor: string;
  private readonly prune: boolean;
  private readonly sweepLimit: number;
  private readonly logger: Logger | undefined;
  private readonly policy: TargetPolicy;

  constructor(opts: ModelSyncOptions) {
    this.policy = opts.targetPolicy ?? 'claim';
    this.registry = opts.registry;
    this.store = opts.store;
    this.publisher = opts.publisher;
    this.actor = opts.actor;
    this.prune = opts.pruneStaged ?? true;
    this.sweepLimit = opts.sweepLimit ?? 200;
    this.logger = opts.logger;
  }

  /**
   * One sync-queue job: a finished model (`ingest` + `syncModel`) or the periodic sweep.
   * (The payload's schema is the fleet's job catalog; the registry, below the fleet,
   * names only what it reads of it.)
   */
  async handle(job: SyncRequest): Promise<SyncOutcome | SweepOutcome> {
    if (job.kind === 'sweep') return this.sweep();
    return this.syncStaged({ modelId: job.modelId, symbol: job.symbol, runDate: job.runDate });
  }

  /**
   * Whether this process may publish for the registry: `own` when its target is the
   * registry's (claiming it first when it may), `side` when it only exports on request;
   * else a PermanentError `PUBLISH_TARGET_MISMATCH` naming both targets, and nothing is
   * published, marked or moved (the models stay pending for the registry's own sync).
   */
  async checkTarget(): Promise<'own' | 'side'> {
    const own = this.publisher.target();
    const registered = this.policy === 'claim' ? await this.registry.claimPublishTarget(own, this.actor) : await this.registry.publishTarget();
    if (registered === own) return 'own';
    if (this.policy === 'side') return 'side';
    throw new PermanentError(
      'PUBLISH_TARGET_MISMATCH',
      `this registry publishes to ${registered ?? '(nothing yet: its own sync worker has not claimed a target)'}; this process would publish to ${own}. ` +
        `It publishes nothing, so models recorded here wait for the registry's own sync. Configure the same target (DROPBOX_* as the fleet), ` +
        `or set ENGINE_SIDE_PUBLISH=true to also write them to ${own} without claiming them; an operator can move the registry with \`engine models target --set\``,
      { registryTarget: registered, processTarget: own },
    );
  }

  /** Record the staged bundle (if not yet) and publish the model kept for its (symbol, run date). */
  async syncStaged(ref: ModelRef): Promise<SyncOutcome> {
    const r = await this.ingest(ref);
    return this.syncModel(r.model.id);
  }

  /**
   * Make sure the registry has a row for `ref`'s (symbol, run date), recording the
   * staged bundle in one transaction when it has not. When a retried training job left
   * a second model for the same day, the first stays and the second's staged copy is
   * dropped (`duplicate_ignored` in the log).
   */
  async ingest(ref: ModelRef): Promise<RecordResult> {
    const existing = await this.registry.findModel(ref.symbol, ref.runDate);
    if (existing !== null && existing.id === ref.modelId) return { model: existing, created: false };
    const key = stagingKey(ref);
    if (existing !== null && !(await this.store.has(key))) return { model: existing, created: false };
    const bundle = await this.store.get(key);
    const m = bundle.manifest;
    if (m.model_id !== ref.modelId || m.symbol !== ref.symbol || m.run_date !== ref.runDate) {
      throw new DataError(
        'BUNDLE_MISMATCH',
        `staged bundle '${key}' holds model ${m.model_id} (${m.symbol} ${m.run_date}), expected ${ref.modelId} (${ref.symbol} ${ref.runDate})`,
        { key },
      );
    }
    const result = await this.registry.recordModel(bundle, key, { actor: this.actor });
    if (!result.created && result.model.id !== ref.modelId && this.prune) await this.store.delete(key);
    this.logger?.info({ modelId: result.model.id, symbol: ref.symbol, runDate: ref.runDate, created: result.created, verdict: result.model.verdict }, 'model recorded');
    return result;
  }

  /**
   * Publish a recorded model: staged bundle → target (identical files skipped) →
   * `markSynced` (+ `synced` event) → prune the staged copy → `latest.json` when the
   * model is live. On failure a `sync_failed` event is logged and the error rethrown;
   * the model stays pending for the sweep, unless its staged bundle is missing or
   * corrupt (then it is marked `failed`: no retry can publish it).
   */
  async syncModel(modelId: string): Promise<SyncOutcome> {
    const mode = await this.checkTarget();
    const rec = await this.registry.getModel(modelId);
    if (rec === null) throw new PermanentError('MODEL_NOT_FOUND', `sync: model ${modelId} is not in the registry`, { modelId });
    const log = this.logger?.child({ modelId, symbol: rec.symbol, runDate: rec.runDate });
    const base = { modelId, symbol: rec.symbol, runDate: rec.runDate, verdict: rec.verdict };
    if (mode === 'side') return this.exportModel(rec, base);
    if (rec.syncState === 'synced') {
      if (this.prune) await this.store.delete(rec.location);
      const pointer = rec.live ? await this.syncPointer(rec.symbol) : 'not-live';
      return { ...base, state: 'already-synced', uploaded: 0, unchanged: 0, pointer };
    }
    let published;
    try {
      const bundle = await this.store.get(rec.location);
      if (bundle.manifest.model_id !== modelId) {
        throw new DataError('BUNDLE_MISMATCH', `staged bundle '${rec.location}' holds model ${bundle.manifest.model_id}, expected ${modelId}`, { key: rec.location });
      }
      published = await this.publisher.publishBundle(bundle, rec.verdict);
      await this.registry.markSynced(modelId, { actor: this.actor, files: published.files, target: this.publisher.target() });
    } catch (err) {
      const e = wrapError(err, `sync of model ${modelId} (${rec.symbol} ${rec.runDate})`, { modelId });
      // A concurrent sync (the sweep beside a job) may have finished and pruned the bundle.
      const now = await this.registry.getModel(modelId).catch(() => null);
      if (now?.syncState === 'synced') {
        const pointer = now.live ? await this.syncPointer(now.symbol) : 'not-live';
        return { ...base, state: 'already-synced', uploaded: 0, unchanged: 0, pointer };
      }
      // Only a broken or missing staged bundle can never sync; anything else (Dropbox down,
      // a revoked refresh token an operator will fix) leaves the model pending for the sweep.
      const hopeless = BUNDLE_PROBLEMS.has(e.code);
      log?.warn({ err: e, permanent: e.permanent, hopeless }, 'model sync failed');
      await this.registry.markSyncFailed(modelId, { actor: this.actor, error: e.message, permanent: hopeless }).catch((markErr: unknown) => {
        log?.error({ err: markErr }, 'could not record the sync failure');
      });
      throw e;
    }
    if (this.prune) await this.store.delete(rec.location);
    const live = await this.registry.liveModel(rec.symbol);
    const pointer: PointerOutcome = live?.modelId === modelId ? await this.syncPointer(rec.symbol) : 'not-live';
    log?.info({ uploaded: published.uploaded, unchanged: published.unchanged, pointer, target: this.publisher.target() }, 'model synced');
    return { ...base, state: 'synced', uploaded: published.uploaded, unchanged: published.unchanged, pointer };
  }

  /**
   * ENGINE_SIDE_PUBLISH: write the model's files (and, when it is the symbol's live
   * published model, a `latest.json` naming those copies) to this process's own target.
   * The registry is not told: the model stays pending for the registry's target, its
   * staged bundle stays, and no pointer mark moves.
   */
  private async exportModel(rec: ModelRecord, base: Pick<SyncOutcome, 'modelId' | 'symbol' | 'runDate' | 'verdict'>): Promise<SyncOutcome> {
    const bundle = await this.store.get(rec.location);
    const published = await this.publisher.publishBundle(bundle, rec.verdict);
    let pointer: PointerOutcome = 'not-live';
    if (rec.live && rec.verdict === 'published') pointer = (await this.publisher.publishPointer(this.publisher.pointerFor({ ...rec, publishedFiles: published.files }))).result;
    this.logger?.warn({ modelId: rec.id, target: this.publisher.target(), registryTarget: await this.registry.publishTarget() }, 'model exported to this process’s own target (ENGINE_SIDE_PUBLISH); it stays pending for the registry’s target');
    return { ...base, state: 'exported', uploaded: published.uploaded, unchanged: published.unchanged, pointer };
  }

  /**
   * Point the symbol's `latest.json` at its live model — only once that model's files
   * are all published (`waiting` until then). Written after the files, so a reader
   * following the pointer always finds a whole model.
   */
  async syncPointer(symbol: string): Promise<PointerOutcome> {
    // Only the registry's own publisher moves latest.json and its marks.
    if ((await this.checkTarget()) === 'side') return 'not-live';
    const live = await this.registry.liveModel(symbol);
    if (live === null) return 'not-live';
    const rec = await this.registry.getModel(live.modelId);
    if (rec === null || rec.syncState !== 'synced' || rec.publishedFiles === null) return 'waiting';
    // A demoted live model: the pointer still names it (consumers verify what they held) and says it is demoted.
    const pointer = live.demoted !== null ? { ...this.publisher.pointerFor(rec), demoted: live.demoted } : this.publisher.pointerFor(rec);
    const { path, result } = await this.publisher.publishPointer(pointer);
    const stillLive = await this.registry.markPointer(symbol, rec.id, { actor: this.actor, path, demoted: live.demoted !== null });
    return stillLive ? result : 'not-live';
  }

  /**
   * The periodic sweep (every 30 minutes): record staged bundles the registry does not
   * know (a lost sync job), publish every pending model, write every pending pointer,
   * and drop staged copies of models already synced. One failure never stops the rest.
   */
  async sweep(): Promise<SweepOutcome> {
    const out: SweepOutcome = { ingested: [], synced: [], failed: [], pointers: [] };
    // A process exporting to a target of its own never claims what the registry's publisher owes.
    if ((await this.checkTarget()) === 'side') return out;
    for (const key of await this.store.list()) {
      const ref = parseStagingKey(key);
      if (ref === null) continue;
      try {
        const existing = await this.registry.findModel(ref.symbol, ref.runDate);
        if (existing === null) {
          const r = await this.ingest(ref);
          if (r.created) out.ingested.push(r.model.id);
        } else if (existing.id !== ref.modelId) {
          if (this.prune) await this.ingest(ref); // a retried job's second model: logged as ignored, copy dropped
        } else if (existing.syncState === 'synced' && this.prune) {
          await this.store.delete(key);
        }
      } catch (err) {
        const e = wrapError(err, `sweep: staged bundle '${key}'`);
        out.failed.push({ modelId: ref.modelId, error: e.message, permanent: e.permanent });
      }
    }
    for (const rec of await this.registry.pendingSync(this.sweepLimit)) {
      try {
        await this.syncModel(rec.id);
        out.synced.push(rec.id);
      } catch (err) {
        const e = wrapError(err, `sweep: model ${rec.id}`);
        out.failed.push({ modelId: rec.id, error: e.message, permanent: e.permanent });
      }
    }
    for (const live of await this.registry.pendingPointers()) {
      try {
        const r = await this.syncPointer(live.symbol);
        if (r === 'updated' || r === 'unchanged') out.pointers.push(live.symbol);
      } catch (err) {
        const e = wrapError(err, `sweep: latest.json of ${live.symbol}`);
        out.failed.push({ modelId: live.modelId, error: e.message, permanent: e.permanent });
      }
    }
    this.logger?.info({ ingested: out.ingested.length, synced: out.synced.length, failed: out.failed.length, pointers: out.pointers.length }, 'sync sweep done');
    return out;
  }
}

/** Inverse of `stagingKey`; null for a key of another shape. */
export function parseStagingKey(key: string): ModelRef | null {
  const m = /^(\d{4}-\d{2}-\d{2})\/([A-Z0-9]+)-([A-Z0-9]+)\/([0-9a-f-]{36})$/.exec(key);
  return m === null ? null : { runDate: m[1]!, symbol: `${m[2]}/${m[3]}`, modelId: m[4]! };
}
