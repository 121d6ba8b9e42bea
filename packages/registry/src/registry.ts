import { PermanentError } from '@engine/shared';
import { verifyBundle, type Demotion, type FalseDiscovery, type GateResult, type LiveRecord, type LiveTrade, type ManifestCore, type ModelBundle, type Verdict } from '@engine/model';
import type { PublishedFile } from '@engine/publish';
import { DEFAULT_SCHEMA, checkSchema, migrate } from './migrations';
import type {
  Db,
  MetricsHistoryEntry,
  LiveModelRecord,
  ModelDetail,
  ModelRecord,
  ModelSummary,
  PublishEvent,
  PublishEventKind,
  Queryable,
  RecordResult,
  Row,
  SyncState,
} from './types';

/** Options shared by the registry's classes. */
export interface RegistryOptions {
  /** PostgreSQL schema holding the tables (default `engine_registry`; tests use their own). */
  schema?: string;
}

/* Duck-typed, not instanceof: PGlite may hand back Dates from another JS realm (see db.ts). */
const iso = (v: unknown): string =>
  typeof (v as Date | null)?.toISOString === 'function' ? (v as Date).toISOString() : new Date(String(v)).toISOString();
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));

/** Numbers of `manifest.metrics`, flattened one level (`costs.fees_gbp`); non-finite values are left out. */
export function flattenMetrics(metrics: ManifestCore['metrics']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(metrics)) {
    if (typeof v === 'number') {
      if (Number.isFinite(v)) out[k] = v;
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) {
        if (typeof v2 === 'number' && Number.isFinite(v2)) out[`${k}.${k2}`] = v2;
      }
    }
  }
  return out;
}

/** 4 significant digits, no trailing zeros: `-4.2`, `0.0731`, `1.1`. */
const fmt = (v: number | null): string => (v === null ? 'n/a' : String(Number(v.toPrecision(4))));

/** Human reasons for a rejection: each failed gate as `name value </> bound (note)`. */
export function rejectionReasons(manifest: ManifestCore): string[] {
  if (manifest.gates.passed) return [];
  const reasons = manifest.gates.results
    .filter((g) => !g.passed)
    .map((g) => `${g.name}: ${fmt(g.value)} ${g.op === '>=' ? '<' : '>'} ${fmt(g.bound)}${g.note ? ` (${g.note})` : ''}`);
  return reasons.length > 0 ? reasons : ['gates.passed is false although no single gate failed'];
}

const MODEL_COLUMNS = `m.id::text AS id, m.symbol, m.run_date::text AS run_date, m.created_at, m.recorded_at, m.verdict,
  m.reasons, m.recipe_version, m.recipe_hash, m.median_source, m.location, m.sync_state, m.sync_attempts,
  m.synced_at, m.published_files, m.publish_target, m.last_sync_error, m.rolled_back_at, m.false_discovery, (l.model_id IS NOT NULL) AS live,
  COALESCE(m.manifest->'non_default_settings', '[]'::jsonb) AS non_default_settings`;

function toRecord(r: Row): ModelRecord {
  return {
    id: String(r.id),
    symbol: String(r.symbol),
    runDate: String(r.run_date),
    createdAt: iso(r.created_at),
    recordedAt: iso(r.recorded_at),
    verdict: r.verdict as Verdict,
    reasons: (r.reasons as string[] | null) ?? [],
    recipeVersion: String(r.recipe_version),
    recipeHash: String(r.recipe_hash),
    medianSource: r.median_source as 'registry' | 'folds',
    location: String(r.location),
    syncState: r.sync_state as SyncState,
    syncAttempts: Number(r.sync_attempts),
    syncedAt: isoOrNull(r.synced_at),
    publishedFiles: (r.published_files as Record<string, PublishedFile> | null) ?? null,
    publishTarget: (r.publish_target as string | null) ?? null,
    lastSyncError: (r.last_sync_error as string | null) ?? null,
    rolledBackAt: isoOrNull(r.rolled_back_at),
    live: Boolean(r.live),
    falseDiscovery: (r.false_discovery as FalseDiscovery | null) ?? null,
    nonDefaultSettings: Array.isArray(r.non_default_settings) ? (r.non_default_settings as string[]) : [],
  };
}

function toEvent(r: Row): PublishEvent {
  return {
    seq: Number(r.seq),
    at: iso(r.at),
    event: r.event as PublishEventKind,
    symbol: String(r.symbol),
    modelId: (r.model_id as string | null) ?? null,
    actor: String(r.actor),
    reason: (r.reason as string | null) ?? null,
    details: (r.details as Record<string, unknown> | null) ?? {},
  };
}

function toLive(r: Row): LiveModelRecord {
  return {
    symbol: String(r.symbol),
    modelId: String(r.model_id),
    runDate: String(r.run_date),
    since: iso(r.since),
    pointerModelId: (r.pointer_model_id as string | null) ?? null,
    demoted: (r.demoted as Demotion | null | undefined) ?? null,
    pointerDemoted: r.pointer_demoted === true,
  };
}

/**
 * The model registry (SPEC §1.9): every model ever recorded with its verdict, metrics
 * and gate table, the append-only publish log, and the live model per symbol.
 * Idempotent on (symbol, run_date): a retried job never makes a second row.
 */
export class Registry {
  readonly schema: string;
  private readonly s: string;

  constructor(
    readonly db: Db,
    opts: RegistryOptions = {},
  ) {
    this.schema = checkSchema(opts.schema ?? DEFAULT_SCHEMA);
    this.s = `"${this.schema}"`;
  }

  /** Migrate the schema (safe with concurrent starters), then return a registry on it. */
  static async open(db: Db, opts: RegistryOptions = {}): Promise<Registry> {
    await migrate(db, { schema: opts.schema });
    return new Registry(db, opts);
  }

  private t(name: string): string {
    return `${this.s}.${name}`;
  }

  private async appendEvent(
    q: Queryable,
    e: { event: PublishEventKind; symbol: string; modelId: string | null; actor: string; reason?: string | null; details?: Record<string, unknown> },
  ): Promise<void> {
    await q.query(`INSERT INTO ${this.t('publish_log')} (event, symbol, model_id, actor, reason, details) VALUES ($1, $2, $3, $4, $5, $6::jsonb)`, [
      e.event,
      e.symbol,
      e.modelId,
      e.actor,
      e.reason ?? null,
      JSON.stringify(e.details ?? {}),
    ]);
  }

  private async selectModel(q: Queryable, where: string, params: unknown[]): Promise<ModelRecord | null> {
    const rows = await q.query(
      `SELECT ${MODEL_COLUMNS} FROM ${this.t('models')} m LEFT JOIN ${this.t('live_models')} l ON l.model_id = m.id WHERE ${where}`,
      params,
    );
    return rows[0] === undefined ? null : toRecord(rows[0]);
  }

  /**
   * Record a finished model in ONE transaction: the `models` row, its metrics and gate
   * table, a `published`/`rejected` log entry, and — when published and not older than
   * the current live model — the live pointer. A rejected model leaves the previous
   * live model live.
   *
   * Idempotent on (symbol, run_date): when that pair is already recorded nothing is
   * written and the FIRST model is returned with `created: false`. A retried job that
   * produced a different model id for the same day is ignored (kept: the first one,
   * whose sync may already be under way); a `duplicate_ignored` event names both ids.
   *
   * With `hold` (a daily run's model) the row is recorded `held`: a `held` log entry, no
   * live pointer and no sync until the run decides (`releaseHeld`).
   *
   * @param location staging-store key of the bundle (see `stagingKey`).
   */
  async recordModel(bundle: ModelBundle, location: string, opts: { actor?: string; hold?: boolean } = {}): Promise<RecordResult> {
    verifyBundle(bundle, 'being recorded');
    const m = bundle.manifest;
    const actor = opts.actor ?? 'engine';
    const verdict: Verdict = m.gates.passed ? 'published' : 'rejected';
    const reasons = rejectionReasons(m);
    return this.db.transaction(async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO ${this.t('models')} (id, symbol, run_date, created_at, verdict, reasons, manifest, recipe_version, recipe_hash, median_source, location, sync_state, false_discovery)
         VALUES ($1, $2, $3::date, $4::timestamptz, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12, $13::jsonb)
         ON CONFLICT (symbol, run_date) DO NOTHING RETURNING id`,
        [
          m.model_id, m.symbol, m.run_date, m.created_at, verdict, JSON.stringify(reasons), JSON.stringify(m), m.feature_recipe.version, m.feature_recipe.hash, m.gates.median_source, location,
          opts.hold === true ? 'held' : 'pending',
          m.false_discovery === undefined ? null : JSON.stringify(m.false_discovery),
        ],
      );
      if (inserted.length === 0) {
        const existing = await this.selectModel(tx, 'm.symbol = $1 AND m.run_date = $2::date', [m.symbol, m.run_date]);
        if (existing === null) {
          throw new PermanentError('REGISTRY_CONFLICT', `model ${m.model_id} (${m.symbol} ${m.run_date}) conflicts with a row that is not (symbol, run_date)`, { modelId: m.model_id });
        }
        if (existing.id !== m.model_id) {
          await this.appendEvent(tx, {
            event: 'duplicate_ignored',
            symbol: m.symbol,
            modelId: existing.id,
            actor,
            reason: `(${m.symbol}, ${m.run_date}) already recorded as ${existing.id}; model ${m.model_id} from a retried job ignored`,
            details: { kept: existing.id, ignored: m.model_id, ignoredLocation: location },
          });
        }
        return { model: existing, created: false };
      }

      const metrics = Object.entries(flattenMetrics(m.metrics));
      if (metrics.length > 0) {
        const values = metrics.map((_, i) => `($1, $${2 * i + 2}, $${2 * i + 3})`).join(', ');
        await tx.query(`INSERT INTO ${this.t('model_metrics')} (model_id, name, value) VALUES ${values}`, [m.model_id, ...metrics.flat()]);
      }
      const gates = m.gates.results;
      if (gates.length > 0) {
        const values = gates.map((_, i) => `($1, ${i}, $${6 * i + 2}, $${6 * i + 3}, $${6 * i + 4}, $${6 * i + 5}, $${6 * i + 6}, $${6 * i + 7})`).join(', ');
        const params = gates.flatMap((g) => [g.name, g.value, g.bound, g.op, g.passed, g.note ?? null]);
        await tx.query(`INSERT INTO ${this.t('model_gates')} (model_id, position, name, value, bound, op, passed, note) VALUES ${values}`, [m.model_id, ...params]);
      }
      if (opts.hold === true) {
        await this.appendEvent(tx, {
          event: 'held',
          symbol: m.symbol,
          modelId: m.model_id,
          actor,
          reason: `held for the run's false-discovery decision (own gates: ${verdict === 'published' ? 'passed' : `failed: ${reasons.join('; ')}`})`,
          details: { runDate: m.run_date, location, medianSource: m.gates.median_source, gates: gates.map((g) => ({ name: g.name, passed: g.passed })) },
        });
      } else await this.decide(tx, m, verdict, reasons, actor, { runDate: m.run_date, location, medianSource: m.gates.median_source, gates: gates.map((g) => ({ name: g.name, passed: g.passed })) });
      const model = await this.selectModel(tx, 'm.id = $1', [m.model_id]);
      return { model: model!, created: true };
    });
  }

  /** The verdict's log entry and, when published and not older than the live model, the live pointer. */
  private async decide(tx: Queryable, m: ManifestCore, verdict: Verdict, reasons: string[], actor: string, details: Record<string, unknown>): Promise<void> {
    await this.appendEvent(tx, { event: verdict, symbol: m.symbol, modelId: m.model_id, actor, reason: verdict === 'rejected' ? reasons.join('; ') : null, details });
    if (verdict === 'published') {
      // A backfill of an older day never displaces a newer live model.
      await tx.query(
        `INSERT INTO ${this.t('live_models')} AS l (symbol, model_id) VALUES ($1, $2)
         ON CONFLICT (symbol) DO UPDATE SET model_id = EXCLUDED.model_id, since = now(), demoted = NULL, pointer_demoted = false
         WHERE (SELECT run_date FROM ${this.t('models')} WHERE id = l.model_id) <= $3::date`,
        [m.symbol, m.model_id, m.run_date],
      );
    }
  }

  /** The models a run holds for its decision (`run_date` = `runDate`), by symbol. */
  async heldModels(runDate: string): Promise<ModelRecord[]> {
    const rows = await this.db.query(
      `SELECT ${MODEL_COLUMNS} FROM ${this.t('models')} m LEFT JOIN ${this.t('live_models')} l ON l.model_id = m.id
       WHERE m.sync_state = 'held' AND m.run_date = $1::date ORDER BY m.symbol`,
      [runDate],
    );
    return rows.map(toRecord);
  }

  /**
   * Release a held model with the run's decision, in ONE transaction: its manifest (now
   * with the `false_discovery` block and gate) replaces the recorded one, the verdict is
   * the manifest's, the gate table gains the new gate, the `published`/`rejected` entry is
   * logged (and the live pointer set when published), and the model becomes `pending` for
   * the sync. Idempotent: a model no longer held is left alone (`released: false`).
   */
  async releaseHeld(id: string, manifest: ManifestCore, opts: { actor: string }): Promise<{ released: boolean; model: ModelRecord }> {
    return this.db.transaction(async (tx) => {
      const cur = await this.selectModel(tx, 'm.id = $1', [id]);
      if (cur === null) throw new PermanentError('MODEL_NOT_FOUND', `no model ${id} in the registry`, { modelId: id });
      if (manifest.model_id !== id || manifest.symbol !== cur.symbol || manifest.run_date !== cur.runDate) {
        throw new PermanentError('BUNDLE_MISMATCH', `releasing ${id} (${cur.symbol} ${cur.runDate}) with the manifest of ${manifest.model_id} (${manifest.symbol} ${manifest.run_date})`, { modelId: id });
      }
      const locked = await tx.query(`UPDATE ${this.t('models')} SET sync_state = 'pending' WHERE id = $1 AND sync_state = 'held' RETURNING id`, [id]);
      if (locked.length === 0) return { released: false, model: cur };
      const verdict: Verdict = manifest.gates.passed ? 'published' : 'rejected';
      const reasons = rejectionReasons(manifest);
      await tx.query(`UPDATE ${this.t('models')} SET manifest = $2::jsonb, verdict = $3, reasons = $4::jsonb, false_discovery = $5::jsonb WHERE id = $1`, [
        id,
        JSON.stringify(manifest),
        verdict,
        JSON.stringify(reasons),
        manifest.false_discovery === undefined ? null : JSON.stringify(manifest.false_discovery),
      ]);
      const gates = manifest.gates.results;
      for (const [i, g] of gates.entries()) {
        await tx.query(
          `INSERT INTO ${this.t('model_gates')} (model_id, position, name, value, bound, op, passed, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (model_id, name) DO UPDATE SET value = EXCLUDED.value, bound = EXCLUDED.bound, op = EXCLUDED.op, passed = EXCLUDED.passed, note = EXCLUDED.note`,
          [id, i, g.name, g.value, g.bound, g.op, g.passed, g.note ?? null],
        );
      }
      await this.decide(tx, manifest, verdict, reasons, opts.actor, { runDate: manifest.run_date, location: cur.location, falseDiscovery: manifest.false_discovery ?? null, gates: gates.map((g) => ({ name: g.name, passed: g.passed })) });
      return { released: true, model: (await this.selectModel(tx, 'm.id = $1', [id]))! };
    });
  }

  /**
   * Metrics of the symbol's last `n` PUBLISHED models, newest first: what the gates'
   * medians are computed over. Rejected and rolled-back models never count (SPEC §5:
   * the old engine's medians included rejected models, so the gates always passed).
   * `before` (YYYY-MM-DD) keeps only earlier run dates, so training day D, or a retry
   * of it, never sees its own model.
   */
  async gateHistory(symbol: string, n = 10, opts: { before?: string } = {}): Promise<MetricsHistoryEntry[]> {
    const rows = await this.db.query(
      `SELECT h.id::text AS id, h.run_date::text AS run_date, mm.name, mm.value
       FROM (SELECT id, run_date FROM ${this.t('models')}
             WHERE symbol = $1 AND verdict = 'published' AND rolled_back_at IS NULL AND ($3::date IS NULL OR run_date < $3::date)
             ORDER BY run_date DESC LIMIT $2) h
       LEFT JOIN ${this.t('model_metrics')} mm ON mm.model_id = h.id
       ORDER BY h.run_date DESC, mm.name`,
      [symbol, n, opts.before ?? null],
    );
    const out: MetricsHistoryEntry[] = [];
    for (const r of rows) {
      let last = out[out.length - 1];
      if (last === undefined || last.modelId !== r.id) {
        last = { modelId: String(r.id), runDate: String(r.run_date), metrics: {} };
        out.push(last);
      }
      if (r.name !== null) last.metrics[String(r.name)] = Number(r.value);
    }
    return out;
  }

  private async metricsOf(ids: string[]): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>(ids.map((id) => [id, {}]));
    if (ids.length === 0) return out;
    const rows = await this.db.query(
      `SELECT model_id::text AS model_id, name, value FROM ${this.t('model_metrics')}
       WHERE model_id IN (SELECT jsonb_array_elements_text($1::jsonb)::uuid) ORDER BY name`,
      [JSON.stringify(ids)],
    );
    for (const r of rows) out.get(String(r.model_id))![String(r.name)] = Number(r.value);
    return out;
  }

  /** Models newest first (run date, then recording time), optionally of one symbol / verdict. */
  async listModels(opts: { symbol?: string; verdict?: Verdict; limit?: number } = {}): Promise<ModelSummary[]> {
    const rows = await this.db.query(
      `SELECT ${MODEL_COLUMNS} FROM ${this.t('models')} m LEFT JOIN ${this.t('live_models')} l ON l.model_id = m.id
       WHERE ($1::text IS NULL OR m.symbol = $1) AND ($2::text IS NULL OR m.verdict = $2)
       ORDER BY m.run_date DESC, m.recorded_at DESC LIMIT $3`,
      [opts.symbol ?? null, opts.verdict ?? null, opts.limit ?? 50],
    );
    const records = rows.map(toRecord);
    const metrics = await this.metricsOf(records.map((r) => r.id));
    return records.map((r) => ({ ...r, metrics: metrics.get(r.id) ?? {} }));
  }

  /** One model with manifest, metrics and gate table; null when unknown. */
  async getModel(id: string): Promise<ModelDetail | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const rows = await this.db.query(
      `SELECT ${MODEL_COLUMNS}, m.manifest FROM ${this.t('models')} m LEFT JOIN ${this.t('live_models')} l ON l.model_id = m.id WHERE m.id = $1`,
      [id],
    );
    const row = rows[0];
    if (row === undefined) return null;
    const gates = await this.db.query(`SELECT name, value, bound, op, passed, note FROM ${this.t('model_gates')} WHERE model_id = $1 ORDER BY position`, [id]);
    const metrics = await this.metricsOf([id]);
    return {
      ...toRecord(row),
      manifest: row.manifest as ManifestCore,
      metrics: metrics.get(id) ?? {},
      gates: gates.map(
        (g): GateResult => ({
          name: String(g.name),
          value: g.value === null ? null : Number(g.value),
          bound: g.bound === null ? null : Number(g.bound),
          op: g.op as '>=' | '<=',
          passed: Boolean(g.passed),
          ...(g.note === null ? {} : { note: String(g.note) }),
        }),
      ),
    };
  }

  /** The model recorded for (symbol, run_date), or null. */
  async findModel(symbol: string, runDate: string): Promise<ModelRecord | null> {
    return this.selectModel(this.db, 'm.symbol = $1 AND m.run_date = $2::date', [symbol, runDate]);
  }

  /** The symbol's live model, or null when it never had a published one. */
  async liveModel(symbol: string): Promise<LiveModelRecord | null> {
    const rows = await this.db.query(
      `SELECT l.symbol, l.model_id::text AS model_id, m.run_date::text AS run_date, l.since, l.pointer_model_id::text AS pointer_model_id, l.demoted, l.pointer_demoted
       FROM ${this.t('live_models')} l JOIN ${this.t('models')} m ON m.id = l.model_id WHERE l.symbol = $1`,
      [symbol],
    );
    return rows[0] === undefined ? null : toLive(rows[0]);
  }

  /** Every symbol's live model, by symbol. */
  async liveModels(): Promise<LiveModelRecord[]> {
    const rows = await this.db.query(
      `SELECT l.symbol, l.model_id::text AS model_id, m.run_date::text AS run_date, l.since, l.pointer_model_id::text AS pointer_model_id, l.demoted, l.pointer_demoted
       FROM ${this.t('live_models')} l JOIN ${this.t('models')} m ON m.id = l.model_id ORDER BY l.symbol`,
    );
    return rows.map(toLive);
  }

  /**
   * Take the live model out: the previous published (not rolled-back) model of the
   * symbol becomes live, the rolled-back one is marked and no longer counts in gate
   * history, and a `rolled_back` event records actor and reason. The published
   * `latest.json` follows at the next sync / sweep (`pendingPointers`).
   */
  async rollback(symbol: string, opts: { actor: string; reason: string }): Promise<{ symbol: string; from: string; to: string }> {
    if (opts.actor.trim() === '' || opts.reason.trim() === '') {
      throw new PermanentError('ROLLBACK_INVALID', `rollback of ${symbol}: actor and reason are required (got actor '${opts.actor}', reason '${opts.reason}')`, { symbol });
    }
    return this.db.transaction(async (tx) => {
      const live = await tx.query(
        `SELECT l.model_id::text AS id, m.run_date::text AS run_date, m.recorded_at FROM ${this.t('live_models')} l
         JOIN ${this.t('models')} m ON m.id = l.model_id WHERE l.symbol = $1 FOR UPDATE OF l`,
        [symbol],
      );
      const cur = live[0];
      if (cur === undefined) {
        throw new PermanentError('NO_LIVE_MODEL', `rollback of ${symbol}: the symbol has no live model (nothing was ever published for it)`, { symbol });
      }
      const prev = await tx.query(
        `SELECT id::text AS id, run_date::text AS run_date FROM ${this.t('models')}
         WHERE symbol = $1 AND verdict = 'published' AND rolled_back_at IS NULL AND id <> $2
           AND (run_date, recorded_at) < ($3::date, $4::timestamptz)
         ORDER BY run_date DESC, recorded_at DESC LIMIT 1`,
        [symbol, cur.id, cur.run_date, cur.recorded_at],
      );
      const to = prev[0];
      if (to === undefined) {
        throw new PermanentError(
          'NO_PREVIOUS_MODEL',
          `rollback of ${symbol}: no earlier published model to roll back to; live model ${String(cur.id)} (${String(cur.run_date)}) stays live`,
          { symbol, live: cur.id },
        );
      }
      await tx.query(`UPDATE ${this.t('models')} SET rolled_back_at = now() WHERE id = $1`, [cur.id]);
      await tx.query(`UPDATE ${this.t('live_models')} SET model_id = $2, since = now(), demoted = NULL, pointer_demoted = false WHERE symbol = $1`, [symbol, to.id]);
      await this.appendEvent(tx, {
        event: 'rolled_back',
        symbol,
        modelId: String(cur.id),
        actor: opts.actor,
        reason: opts.reason,
        details: { from: cur.id, fromRunDate: cur.run_date, to: to.id, toRunDate: to.run_date },
      });
      return { symbol, from: String(cur.id), to: String(to.id) };
    });
  }

  /**
   * Demote a symbol's live model (issue 19): the symbol keeps no model to trade — the live
   * row is marked (never moved back to an older model), a `demoted` event records the rule,
   * value and bound, and `latest.json` says so at the next sync. Only the model that is live
   * and not yet demoted can be: false otherwise (already demoted, or no longer live).
   */
  async demote(symbol: string, modelId: string, demotion: Demotion, opts: { actor: string }): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(`SELECT model_id::text AS model_id, demoted FROM ${this.t('live_models')} WHERE symbol = $1 FOR UPDATE`, [symbol]);
      const row = rows[0];
      if (row === undefined || row.model_id !== modelId || row.demoted !== null) return false;
      await tx.query(`UPDATE ${this.t('live_models')} SET demoted = $2::jsonb, pointer_demoted = false WHERE symbol = $1`, [symbol, JSON.stringify(demotion)]);
      await this.appendEvent(tx, { event: 'demoted', symbol, modelId, actor: opts.actor, reason: `${demotion.rule}: ${demotion.detail}`, details: { ...demotion } });
      return true;
    });
  }

  /**
   * Append live feedback (decisions and closed trades); a record already there (same model
   * and time) is skipped, so re-ingesting a file counts nothing twice. Returns what was new.
   */
  async recordLiveFeedback(records: readonly LiveRecord[]): Promise<{ trades: number; decisions: number }> {
    let trades = 0;
    let decisions = 0;
    await this.db.transaction(async (tx) => {
      for (const r of records) {
        if (r.kind === 'trade') {
          const ins = await tx.query(
            `INSERT INTO ${this.t('live_trades')} (model_id, symbol, entry_ts, exit_ts, side, exit_reason, predicted_bps, net_bps, gross_bps, cost_bps)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (model_id, entry_ts) DO NOTHING RETURNING 1 AS one`,
            [r.model_id, r.symbol, r.entry_ts, r.exit_ts, r.side, r.exit_reason, r.predicted_bps, r.net_bps, r.gross_bps, r.cost_bps],
          );
          trades += ins.length;
        } else {
          const ins = await tx.query(
            `INSERT INTO ${this.t('live_decisions')} (model_id, symbol, ts, predicted_edge_bps, confidence, entered, reason, features)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) ON CONFLICT (model_id, ts) DO NOTHING RETURNING 1 AS one`,
            [r.model_id, r.symbol, r.ts, r.predicted_edge_bps, r.confidence, r.entered, r.reason, r.features === undefined ? null : JSON.stringify(r.features)],
          );
          decisions += ins.length;
        }
      }
    });
    return { trades, decisions };
  }

  /** Record one monitoring pass over a live model (append-only). */
  async recordMonitoring(entry: { modelId: string; symbol: string; at: string; trades: number; breach: string | null; report: unknown }): Promise<void> {
    await this.db.query(`INSERT INTO ${this.t('live_monitoring')} (model_id, symbol, at, trades, breach, report) VALUES ($1, $2, $3, $4, $5, $6::jsonb)`, [
      entry.modelId,
      entry.symbol,
      entry.at,
      entry.trades,
      entry.breach,
      JSON.stringify(entry.report),
    ]);
  }

  /** The newest monitoring pass over a model, or null. */
  async latestMonitoring(modelId: string): Promise<{ at: string; trades: number; breach: string | null; report: unknown } | null> {
    const rows = await this.db.query(`SELECT at, trades, breach, report FROM ${this.t('live_monitoring')} WHERE model_id = $1 ORDER BY seq DESC LIMIT 1`, [modelId]);
    const r = rows[0];
    return r === undefined ? null : { at: iso(r.at), trades: Number(r.trades), breach: (r.breach as string | null) ?? null, report: r.report };
  }

  /** The model inputs of a model's newest `limit` live decisions that carried them (newest first). */
  async liveDecisionFeatures(modelId: string, limit = 10_080): Promise<(number | null)[][]> {
    const rows = await this.db.query(`SELECT features FROM ${this.t('live_decisions')} WHERE model_id = $1 AND features IS NOT NULL ORDER BY ts DESC LIMIT $2`, [modelId, limit]);
    return rows.map((r) => r.features as (number | null)[]);
  }

  /** First and last decision time a live trader reported for a model (epoch ms), or null without decisions. */
  async liveDecisionSpan(modelId: string): Promise<{ first: number; last: number; decisions: number } | null> {
    const rows = await this.db.query(`SELECT min(ts) AS first, max(ts) AS last, count(*)::int AS n FROM ${this.t('live_decisions')} WHERE model_id = $1`, [modelId]);
    const r = rows[0];
    if (r === undefined || r.first === null || r.first === undefined) return null;
    return { first: Date.parse(iso(r.first)), last: Date.parse(iso(r.last)), decisions: Number(r.n) };
  }

  /** A model's live trades, oldest first. */
  async liveTrades(modelId: string): Promise<LiveTrade[]> {
    const rows = await this.db.query(
      `SELECT model_id::text AS model_id, symbol, entry_ts, exit_ts, side, exit_reason, predicted_bps, net_bps, gross_bps, cost_bps
       FROM ${this.t('live_trades')} WHERE model_id = $1 ORDER BY entry_ts`,
      [modelId],
    );
    return rows.map((r) => ({
      kind: 'trade' as const,
      model_id: String(r.model_id),
      symbol: String(r.symbol),
      entry_ts: iso(r.entry_ts),
      exit_ts: iso(r.exit_ts),
      side: r.side as 'long' | 'short',
      exit_reason: String(r.exit_reason),
      predicted_bps: Number(r.predicted_bps),
      net_bps: Number(r.net_bps),
      gross_bps: Number(r.gross_bps),
      cost_bps: Number(r.cost_bps),
    }));
  }

  /** Models not yet published to the target (oldest first); `failed` ones are excluded. */
  async pendingSync(limit = 100): Promise<ModelRecord[]> {
    const rows = await this.db.query(
      `SELECT ${MODEL_COLUMNS} FROM ${this.t('models')} m LEFT JOIN ${this.t('live_models')} l ON l.model_id = m.id
       WHERE m.sync_state = 'pending' ORDER BY m.recorded_at, m.id LIMIT $1`,
      [limit],
    );
    return rows.map(toRecord);
  }

  /**
   * Mark a model's files as published (and where), logging `synced`. Idempotent: a model
   * already synced is left alone and `false` is returned (no second event).
   */
  async markSynced(id: string, opts: { actor: string; files: Record<string, PublishedFile>; target: string }): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `UPDATE ${this.t('models')} SET sync_state = 'synced', synced_at = now(), published_files = $2::jsonb, publish_target = $3, last_sync_error = NULL
         WHERE id = $1 AND sync_state <> 'synced' RETURNING symbol`,
        [id, JSON.stringify(opts.files), opts.target],
      );
      const row = rows[0];
      if (row === undefined) return false;
      await this.appendEvent(tx, {
        event: 'synced',
        symbol: String(row.symbol),
        modelId: id,
        actor: opts.actor,
        details: { target: opts.target, files: Object.keys(opts.files).sort() },
      });
      return true;
    });
  }

  /**
   * Record a failed sync attempt (`sync_failed` event). A transient failure leaves the
   * model pending for the sweep; a permanent one (bundle missing or corrupt) sets it to
   * `failed` so the sweep stops retrying it.
   */
  async markSyncFailed(id: string, opts: { actor: string; error: string; permanent: boolean }): Promise<void> {
    await this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `UPDATE ${this.t('models')} SET sync_attempts = sync_attempts + 1, last_sync_error = $2,
           sync_state = CASE WHEN $3::boolean THEN 'failed' ELSE sync_state END
         WHERE id = $1 AND sync_state <> 'synced' RETURNING symbol, sync_attempts`,
        [id, opts.error, opts.permanent],
      );
      const row = rows[0];
      if (row === undefined) return;
      await this.appendEvent(tx, {
        event: 'sync_failed',
        symbol: String(row.symbol),
        modelId: id,
        actor: opts.actor,
        reason: opts.error,
        details: { permanent: opts.permanent, attempt: Number(row.sync_attempts) },
      });
    });
  }

  /** Live models whose files are published but whose `latest.json` does not name them yet. */
  async pendingPointers(): Promise<LiveModelRecord[]> {
    const rows = await this.db.query(
      `SELECT l.symbol, l.model_id::text AS model_id, m.run_date::text AS run_date, l.since, l.pointer_model_id::text AS pointer_model_id, l.demoted, l.pointer_demoted
       FROM ${this.t('live_models')} l JOIN ${this.t('models')} m ON m.id = l.model_id
       WHERE m.sync_state = 'synced' AND (l.pointer_model_id IS DISTINCT FROM l.model_id OR (l.demoted IS NOT NULL AND NOT l.pointer_demoted)) ORDER BY l.symbol`,
    );
    return rows.map(toLive);
  }

  /**
   * Note that the symbol's published `latest.json` now names `modelId`. When the live
   * model changed meanwhile (a rollback or a newer publish raced this write) the pointer
   * is marked unknown instead, so the sweep rewrites it for the model that is live now.
   * Returns true when `modelId` is live and recorded as the pointer.
   */
  async markPointer(symbol: string, modelId: string, opts: { actor: string; path: string; demoted?: boolean }): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `SELECT model_id::text AS model_id, pointer_model_id::text AS pointer_model_id, demoted FROM ${this.t('live_models')} WHERE symbol = $1 FOR UPDATE`,
        [symbol],
      );
      const row = rows[0];
      if (row === undefined) return false;
      const isLive = row.model_id === modelId;
      // The pointer carries the demotion only when it was written with it and the row still says so.
      const pointerDemoted = isLive && opts.demoted === true && row.demoted !== null;
      await tx.query(`UPDATE ${this.t('live_models')} SET pointer_model_id = $2, pointer_demoted = $3 WHERE symbol = $1`, [symbol, isLive ? modelId : null, pointerDemoted]);
      if (isLive && row.pointer_model_id !== modelId) {
        await this.appendEvent(tx, {
          event: 'pointer_updated',
          symbol,
          modelId,
          actor: opts.actor,
          details: { path: opts.path, previous: row.pointer_model_id ?? null },
        });
      }
      return isLive;
    });
  }

  /**
   * Where this registry publishes (`dropbox:/Runpodhuracan`, `folder:/data/publish:/Runpodhuracan`),
   * or null before the first claim. Every sync checks it: models recorded here are
   * published there and nowhere else.
   */
  async publishTarget(): Promise<string | null> {
    const rows = await this.db.query(`SELECT value FROM ${this.t('registry_settings')} WHERE key = 'publish_target'`);
    return rows[0] === undefined ? null : String(rows[0].value);
  }

  /** Set the publish target when none is set yet; returns the target the registry holds now (maybe another's). */
  async claimPublishTarget(target: string, actor: string): Promise<string> {
    await this.db.query(
      `INSERT INTO ${this.t('registry_settings')} (key, value, set_by) VALUES ('publish_target', $1, $2) ON CONFLICT (key) DO NOTHING`,
      [target, actor],
    );
    return (await this.publishTarget())!;
  }

  /** Change the publish target on purpose (an operator moving the fleet to another Dropbox root, say). */
  async setPublishTarget(target: string, actor: string): Promise<{ previous: string | null; target: string }> {
    return this.db.transaction(async (tx) => {
      const prev = await tx.query(`SELECT value FROM ${this.t('registry_settings')} WHERE key = 'publish_target' FOR UPDATE`);
      await tx.query(
        `INSERT INTO ${this.t('registry_settings')} (key, value, set_by) VALUES ('publish_target', $1, $2)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, set_at = now(), set_by = EXCLUDED.set_by`,
        [target, actor],
      );
      return { previous: prev[0] === undefined ? null : String(prev[0].value), target };
    });
  }

  /** The publish log, newest first; of one symbol when given. */
  async events(symbol?: string, limit = 100): Promise<PublishEvent[]> {
    const rows = await this.db.query(
      `SELECT seq, at, event, symbol, model_id::text AS model_id, actor, reason, details FROM ${this.t('publish_log')}
       WHERE ($1::text IS NULL OR symbol = $1) ORDER BY seq DESC LIMIT $2`,
      [symbol ?? null, limit],
    );
    return rows.map(toEvent);
  }
}

/**
 * A live trader's feedback straight into the registry's PostgreSQL (issue 19, item 3): the
 * `FeedbackSink` of `@engine/consumer` for a trader that may reach the database. Records are
 * appended idempotently (a repeated record adds nothing).
 */
export class PgFeedbackSink {
  constructor(private readonly registry: Registry) {}
  async record(r: LiveRecord): Promise<void> {
    await this.registry.recordLiveFeedback([r]);
  }
}
