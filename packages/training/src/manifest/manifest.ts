import type { GateResult, ManifestCore } from '@engine/shared';
import type { CostModel } from '../costs/cost-model';
import type { GbdtParams } from '@engine/gbdt';
import type { LabelConfig } from '../labels/triple-barrier';
import type { TradeMetrics } from '../metrics/trade-metrics';
import type { ScenarioResult } from '../scenarios/scenarios';
import type { ThresholdChoice } from '../threshold/select-threshold';
import type { WalkForwardConfig } from '../walk-forward/folds';

/** Version of the manifest layout below (and of manifest.schema.json). */
export const MANIFEST_SCHEMA_VERSION = 'engine-manifest/1';

/** A threshold choice as recorded (without the candidate list, which lives in folds.json). */
export interface RecordedThreshold {
  threshold_bps: number;
  source: ThresholdChoice['source'];
  rule: ThresholdChoice['rule'];
  calibration_start: string;
  calibration_end: string;
  calibration_rows: number;
  calibration_trades: number;
  calibration_net_bps: number;
}

/** Metrics as written to JSON: every number finite. */
export type ManifestMetrics = Omit<TradeMetrics, 'profit_factor'> & {
  /** Σ wins / |Σ losses|. When there is no losing trade it is unbounded: stored as Number.MAX_VALUE with `profit_factor_unbounded`. */
  profit_factor: number;
  profit_factor_unbounded: boolean;
};

/**
 * The full ModelManifest (SPEC §2): what a model is, how it was made and validated, and
 * how to trade it. `manifest.schema.json` (JSON Schema 2020-12) describes it for any
 * language.
 */
export interface ModelManifest extends ManifestCore {
  schema_version: typeof MANIFEST_SCHEMA_VERSION;
  model_id: string;
  created_at: string;
  symbol: string;
  run_date: string;
  training_window_days: number;
  data: {
    start: string;
    /** Exclusive: the open time after the last candle. */
    end: string;
    rows: number;
    gap_rows: number;
    /** SHA-256 hex of the candle columns (see `candle_hash_method`). */
    candle_hash: string;
    candle_hash_method: string;
    reference: { symbol: string; candle_hash: string } | null;
  };
  feature_recipe: { version: string; hash: string; names: string[] };
  feature_count: number;
  /** Model inputs in order: the recipe names, then `extra_features` (normally none). */
  feature_names: string[];
  /** Columns beyond the recipe (research / controls only; a consumer cannot compute them). */
  extra_features: string[];
  hyperparameters: { model: GbdtParams; confidence_model: GbdtParams };
  labelling: LabelConfig & {
    labelled_rows: number;
    dropped: { warmup: number; gap: number; end_of_data: number };
    winnable_fraction: number;
    mean_net_edge_bps: number;
    positive_share: number;
    warnings: string[];
  };
  cost_model: CostModel;
  walk_forward: {
    config: WalkForwardConfig & { embargo_minutes: number };
    folds_total: number;
    folds_evaluated: number;
    folds_skipped: { fold: number; reason: string }[];
    oos_start: string | null;
    oos_end: string | null;
    oos_days: number;
    purged_rows: number;
    embargoed_rows: number;
  };
  thresholds: {
    method: string;
    per_fold: ({ fold: number } & RecordedThreshold)[];
    final: RecordedThreshold;
  };
  metrics: ManifestMetrics & ManifestCore['metrics'];
  gates: {
    passed: boolean;
    median_source: 'registry' | 'folds';
    results: GateResult[];
    medians: { max_drawdown: number | null; win_rate: number | null; drawdown_count: number; win_rate_count: number };
    suspected_leakage: boolean;
    failed: string[];
  };
  trading_params: {
    recommended_edge_threshold_bps: number;
    max_trades_per_day: number;
    cooldown_seconds: number;
    horizon_minutes: number;
    side: 'long' | 'short';
    costs: {
      model_version: string;
      fee_bps_per_side: number;
      spread_bps: number;
      slippage_floor_bps: number;
      /** Mean round-trip cost over the labelled rows, bps. */
      typical_round_trip_bps: number;
    };
    notional_quote: number;
    quote_to_gbp: number;
  };
  scenario_tests: (Omit<ScenarioResult, 'profit_factor'> & { profit_factor: number; profit_factor_unbounded: boolean })[];
  action_space: {
    type: 'discrete';
    actions: string[];
    entry: string;
    exit: string;
    outputs: { name: string; file: string; description: string }[];
  };
  controls: { permute_target_seed: number | null; extra_features: string[] };
  engine: { name: 'engine'; version: string; git_commit: string | null; model_format: string };
  artifacts: Record<string, string>;
}

/** JSON cannot hold ±Infinity or NaN: unbounded profit factors are stored as MAX_VALUE plus a flag. */
export function recordProfitFactor(pf: number | null): { profit_factor: number; profit_factor_unbounded: boolean } {
  return pf === null ? { profit_factor: Number.MAX_VALUE, profit_factor_unbounded: true } : { profit_factor: pf, profit_factor_unbounded: false };
}

/** NaN / ±Infinity → null, for optional numbers in JSON. */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** `JSON.stringify` with NaN written as null everywhere (for golden vectors and tables), stable 2-space layout. */
export function toJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
}

/** The bytes of `manifest.json` (2-space JSON, NaN written as null). */
export function serializeManifest(m: ModelManifest): Uint8Array {
  return toJsonBytes(m);
}
