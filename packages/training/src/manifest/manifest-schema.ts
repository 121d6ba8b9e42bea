import type { JsonSchema } from './json-schema';

const num = { type: 'number' };
const int0 = { type: 'integer', minimum: 0 };
const str = { type: 'string' };
const numOrNull = { type: ['number', 'null'] };
const iso = { type: 'string', format: 'date-time' };
const isoOrNull = { anyOf: [iso, { type: 'null' }] };
const frac = { type: 'number', minimum: 0, maximum: 1 };
const strings = { type: 'array', items: str };

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'object',
  required: Object.keys(properties),
  properties,
  additionalProperties: false,
  ...extra,
});

/**
 * JSON Schema (draft 2020-12) of the ModelManifest (`manifest.json`), published as
 * packages/training/schema/manifest.schema.json so a Python Hamilton can validate a
 * manifest before loading the model. A test keeps the file equal to this object and
 * validates real manifests against it.
 */
export const MANIFEST_JSON_SCHEMA: Exclude<JsonSchema, boolean> = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://engine.local/schema/manifest.schema.json',
  title: 'Engine ModelManifest',
  description:
    'What a model is, how it was made and validated, and how to trade it (SPEC §2). Money in GBP, edges in bps of notional, times in UTC ISO-8601. ' +
    'A profit factor with no losing trade is unbounded: stored as 1.7976931348623157e308 with profit_factor_unbounded = true.',
  type: 'object',
  required: [
    'schema_version', 'model_id', 'created_at', 'symbol', 'run_date', 'training_window_days', 'data', 'feature_recipe', 'feature_count',
    'feature_names', 'extra_features', 'hyperparameters', 'labelling', 'cost_model', 'walk_forward', 'thresholds', 'metrics', 'gates',
    'trading_params', 'scenario_tests', 'action_space', 'controls', 'engine', 'artifacts',
  ],
  additionalProperties: false,
  properties: {
    schema_version: { const: 'engine-manifest/1' },
    model_id: { type: 'string', format: 'uuid' },
    created_at: iso,
    symbol: { type: 'string', pattern: '^[A-Z0-9]{2,15}/[A-Z0-9]{2,10}$' },
    run_date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
    training_window_days: { type: 'number', exclusiveMinimum: 0 },
    data: obj({
      start: iso,
      end: iso,
      rows: int0,
      gap_rows: int0,
      candle_hash: { $ref: '#/$defs/sha256' },
      candle_hash_method: str,
      reference: { anyOf: [{ type: 'null' }, obj({ symbol: str, candle_hash: { $ref: '#/$defs/sha256' } })] },
    }),
    feature_recipe: obj({ version: str, hash: { type: 'string', minLength: 1 }, names: { type: 'array', items: str, minItems: 1 } }),
    feature_count: { type: 'integer', minimum: 1 },
    feature_names: { type: 'array', items: str, minItems: 1 },
    extra_features: strings,
    hyperparameters: obj({ model: { $ref: '#/$defs/gbdt_params' }, confidence_model: { $ref: '#/$defs/gbdt_params' } }),
    labelling: obj({
      horizon_minutes: { type: 'integer', minimum: 1 },
      side: { enum: ['long', 'short'] },
      vol_window: { type: 'integer', minimum: 2 },
      barriers: {
        anyOf: [
          obj({ mode: { const: 'volatility' }, tp_sigma: num, tp_min_cost_multiple: num, sl_sigma: num }),
          obj({ mode: { const: 'bps' }, tp_bps: num, sl_bps: num }),
        ],
      },
      allow_unwinnable: { type: 'boolean' },
      labelled_rows: int0,
      dropped: obj({ warmup: int0, gap: int0, end_of_data: int0 }),
      winnable_fraction: frac,
      mean_net_edge_bps: num,
      positive_share: frac,
      warnings: strings,
    }),
    cost_model: obj({
      version: { const: 'cost-v1' },
      fee_bps_per_side: num,
      spread_bps: num,
      slippage: obj({ floor_bps: num, vol_coef: num, impact_bps_at_reference: num, reference_notional_quote: num }),
      notional_quote: num,
      quote_to_gbp: num,
    }),
    walk_forward: obj({
      config: obj({
        train_days: num,
        test_days: num,
        step_days: num,
        embargo_minutes: num,
        min_train_coverage: frac,
        min_test_coverage: frac,
      }),
      folds_total: int0,
      folds_evaluated: int0,
      folds_skipped: { type: 'array', items: obj({ fold: int0, reason: str }) },
      oos_start: isoOrNull,
      oos_end: isoOrNull,
      oos_days: int0,
      purged_rows: int0,
      embargoed_rows: int0,
    }),
    thresholds: obj({
      method: str,
      per_fold: { type: 'array', items: { $ref: '#/$defs/fold_threshold' } },
      final: { $ref: '#/$defs/threshold' },
    }),
    metrics: { $ref: '#/$defs/metrics' },
    gates: obj({
      passed: { type: 'boolean' },
      median_source: { enum: ['registry', 'folds'] },
      results: { type: 'array', items: { $ref: '#/$defs/gate' }, minItems: 1 },
      medians: obj({ max_drawdown: numOrNull, win_rate: numOrNull, drawdown_count: int0, win_rate_count: int0 }),
      suspected_leakage: { type: 'boolean' },
      failed: strings,
    }),
    trading_params: obj({
      recommended_edge_threshold_bps: num,
      max_trades_per_day: int0,
      cooldown_seconds: { type: 'number', minimum: 0 },
      horizon_minutes: { type: 'integer', minimum: 1 },
      side: { enum: ['long', 'short'] },
      costs: obj({ model_version: str, fee_bps_per_side: num, spread_bps: num, slippage_floor_bps: num, typical_round_trip_bps: num }),
      notional_quote: num,
      quote_to_gbp: num,
    }),
    scenario_tests: { type: 'array', items: { $ref: '#/$defs/scenario' } },
    action_space: obj({
      type: { const: 'discrete' },
      actions: { type: 'array', items: str, minItems: 2 },
      entry: str,
      exit: str,
      outputs: { type: 'array', items: obj({ name: str, file: str, description: str }) },
    }),
    controls: obj({ permute_target_seed: { type: ['integer', 'null'] }, extra_features: strings }),
    engine: obj({ name: { const: 'engine' }, version: str, git_commit: { type: ['string', 'null'] }, model_format: str }),
    artifacts: {
      type: 'object',
      description: 'file name → SHA-256 (hex) of its bytes, for every bundle file except manifest.json',
      propertyNames: { type: 'string', pattern: '^[A-Za-z0-9._-]+$' },
      additionalProperties: { $ref: '#/$defs/sha256' },
      required: ['model.onnx', 'model.json', 'golden.json'],
    },
  },
  $defs: {
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    gate: {
      type: 'object',
      required: ['name', 'value', 'bound', 'op', 'passed'],
      additionalProperties: false,
      properties: { name: str, value: numOrNull, bound: numOrNull, op: { enum: ['>=', '<='] }, passed: { type: 'boolean' }, note: str },
    },
    threshold: obj({
      threshold_bps: num,
      source: { enum: ['previous_fold_oos', 'inner_model', 'pooled_oos'] },
      rule: { enum: ['best_total_net', 'no_candidate_with_min_trades'] },
      calibration_start: iso,
      calibration_end: iso,
      calibration_rows: int0,
      calibration_trades: int0,
      calibration_net_bps: num,
    }),
    fold_threshold: obj({
      fold: int0,
      threshold_bps: num,
      source: { enum: ['previous_fold_oos', 'inner_model', 'pooled_oos'] },
      rule: { enum: ['best_total_net', 'no_candidate_with_min_trades'] },
      calibration_start: iso,
      calibration_end: iso,
      calibration_rows: int0,
      calibration_trades: int0,
      calibration_net_bps: num,
    }),
    metrics: obj({
      total_trades: int0,
      wins: int0,
      losses: int0,
      win_rate: frac,
      total_profit_gbp: num,
      total_net_bps: num,
      mean_net_bps: num,
      mean_gross_bps: num,
      sharpe_ratio: num,
      sharpe_per_trade: num,
      probabilistic_sharpe: numOrNull,
      profit_factor: { type: 'number', minimum: 0 },
      profit_factor_unbounded: { type: 'boolean' },
      max_drawdown: { type: 'number', minimum: 0 },
      max_drawdown_bps: { type: 'number', minimum: 0 },
      days: int0,
      costs: obj({
        fees_gbp: num,
        spread_gbp: num,
        slippage_gbp: num,
        total_gbp: num,
        mean_fee_bps: num,
        mean_spread_bps: num,
        mean_slippage_bps: num,
        mean_round_trip_bps: num,
      }),
      exit_reasons: obj({ tp: int0, sl: int0, time: int0 }),
    }),
    scenario: obj({
      name: str,
      description: str,
      total_trades: int0,
      wins: int0,
      win_rate: frac,
      total_profit_gbp: num,
      mean_net_bps: num,
      sharpe_ratio: num,
      profit_factor: { type: 'number', minimum: 0 },
      profit_factor_unbounded: { type: 'boolean' },
      max_drawdown: { type: 'number', minimum: 0 },
      days: int0,
      profitable: { type: 'boolean' },
    }),
    gbdt_params: {
      type: 'object',
      required: ['objective', 'nEstimators', 'learningRate', 'maxDepth', 'seed'],
      properties: {
        objective: { enum: ['squared_error', 'huber', 'logistic'] },
        nEstimators: { type: 'integer', minimum: 1 },
        learningRate: { type: 'number', exclusiveMinimum: 0 },
        maxDepth: int0,
        seed: int0,
      },
      additionalProperties: { type: ['number', 'string', 'boolean'] },
    },
  },
};
