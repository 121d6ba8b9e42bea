import { z } from 'zod';
import { falseDiscoverySchema } from './false-discovery';
import { costModelSchema } from '../rules/cost-model';
import { labelConfigSchema } from '../rules/triple-barrier';
import { spikeRuleSchema } from '../rules/spike-rule';

/**
 * The ModelManifest (SPEC §2), defined once: what a model is, how it was made and
 * validated, and how to trade it. The TypeScript type is inferred from this schema,
 * `manifest.schema.json` (JSON Schema 2020-12, for Python and any other language) is
 * generated from it (`manifestJsonSchema()`), and the consumer validates with it. Money in
 * GBP, edges in bps of notional, times in UTC ISO-8601.
 *
 * Training maps its results into these shapes in one place
 * (packages/training/src/pipeline/build-manifest.ts); nothing here imports training.
 */

/** Version of the manifest layout below (and of manifest.schema.json). */
export const MANIFEST_SCHEMA_VERSION = 'engine-manifest/1';

const int0 = z.number().int().min(0);
const frac = z.number().min(0).max(1);
const iso = z.iso.datetime();
export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/).meta({ id: 'sha256' });
const pairSchema = z.string().regex(/^[A-Z0-9]{2,15}\/[A-Z0-9]{2,10}$/);
const daySchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

/** One gate: its value against its bound. */
export const gateResultSchema = z
  .object({
    name: z.string(),
    value: z.number().nullable(),
    bound: z.number().nullable(),
    /** `>=` or `<=`: how value is compared with bound. */
    op: z.enum(['>=', '<=']),
    passed: z.boolean(),
    note: z.string().optional(),
  })
  .strict()
  .meta({ id: 'gate' });
export type GateResult = z.infer<typeof gateResultSchema>;

// `policy`: a trading agent (family ppo) has no threshold; its record is the greedy policy's
// own trades on the calibration slice (in-sample for the agent), judged by the same rule.
const thresholdSource = z.enum(['previous_fold_oos', 'inner_model', 'pooled_oos', 'policy']);
const thresholdRule = z.enum(['best_total_net', 'no_profitable_candidate', 'no_candidate_with_min_trades', 'policy_profitable', 'policy_unprofitable', 'policy_too_few_trades']);
const thresholdFields = {
  threshold_bps: z.number(),
  source: thresholdSource,
  rule: thresholdRule,
  /** False: do not trade (no candidate made money on the calibration data, or none made enough trades). */
  trade: z.boolean(),
  calibration_start: iso,
  calibration_end: iso,
  calibration_rows: int0,
  calibration_trades: int0,
  calibration_net_bps: z.number(),
};
/** A threshold choice as recorded (the candidate list lives in folds.json). */
export const recordedThresholdSchema = z.object(thresholdFields).strict().meta({ id: 'threshold' });
export type RecordedThreshold = z.infer<typeof recordedThresholdSchema>;
const foldThresholdSchema = z
  .object({ fold: int0, ...thresholdFields })
  .strict()
  .meta({ id: 'fold_threshold' });

/**
 * Trade metrics as written to JSON: every number finite. A profit factor with no losing
 * trade is unbounded: stored as Number.MAX_VALUE with `profit_factor_unbounded`.
 */
export const manifestMetricsSchema = z
  .object({
    total_trades: int0,
    /** Trades with net P&L > 0. */
    wins: int0,
    /** Trades with net P&L ≤ 0. */
    losses: int0,
    win_rate: frac,
    total_profit_gbp: z.number(),
    total_net_bps: z.number(),
    mean_net_bps: z.number(),
    mean_gross_bps: z.number(),
    /** Annualised Sharpe of daily P&L (√365), every day of the span counted. */
    sharpe_ratio: z.number(),
    /** Mean / std of per-trade net bps, not annualised. */
    sharpe_per_trade: z.number(),
    /** P(true daily Sharpe > 0) given the sample's length, skew and kurtosis. */
    probabilistic_sharpe: z.number().nullable(),
    profit_factor: z.number().min(0),
    profit_factor_unbounded: z.boolean(),
    /** Maximum drawdown of the time-ordered cumulative P&L, GBP (≥ 0). */
    max_drawdown: z.number().min(0),
    max_drawdown_bps: z.number().min(0),
    days: int0,
    /** The best trade's net P&L as a share of the total net P&L; null when the total is not positive. */
    best_trade_share: z.number().nullable(),
    /** The best UTC day's net P&L as a share of the total; null when the total is not positive. */
    best_day_share: z.number().nullable(),
    costs: z
      .object({
        fees_gbp: z.number(),
        spread_gbp: z.number(),
        slippage_gbp: z.number(),
        total_gbp: z.number(),
        mean_fee_bps: z.number(),
        mean_spread_bps: z.number(),
        mean_slippage_bps: z.number(),
        mean_round_trip_bps: z.number(),
        /** Funding paid (negative: received) on perpetuals; absent before cost-v2. Included in total_gbp. */
        funding_gbp: z.number().optional(),
        mean_funding_bps: z.number().optional(),
      })
      .strict(),
    exit_reasons: z.object({ tp: int0, sl: int0, time: int0, agent: int0.optional() }).strict(),
    /** Maker entries the rules took whose limit never filled (no trade, not in the trade counts); absent with taker entries. */
    unfilled_signals: int0.optional(),
  })
  .strict()
  .meta({ id: 'metrics' });
export type ManifestMetrics = z.infer<typeof manifestMetricsSchema>;

export const scenarioRecordSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    total_trades: int0,
    wins: int0,
    win_rate: frac,
    total_profit_gbp: z.number(),
    mean_net_bps: z.number(),
    sharpe_ratio: z.number(),
    profit_factor: z.number().min(0),
    profit_factor_unbounded: z.boolean(),
    max_drawdown: z.number().min(0),
    days: int0,
    /** Informational: the scenario still makes money (Sharpe > 0). Scenarios do not gate publishing. */
    profitable: z.boolean(),
  })
  .strict()
  .meta({ id: 'scenario' });
export type ScenarioRecord = z.infer<typeof scenarioRecordSchema>;

/**
 * A tree model's hyperparameters as recorded: the fields every reader relies on, plus any
 * further scalar setting of the trainer (the GBDT's own params type lives in @engine/gbdt).
 */
export const recordedModelParamsSchema = z
  .object({
    objective: z.enum(['squared_error', 'huber', 'logistic']),
    nEstimators: z.number().int().min(1),
    learningRate: z.number().positive(),
    maxDepth: int0,
    seed: int0,
  })
  .catchall(z.union([z.number(), z.string(), z.boolean()]))
  .meta({ id: 'gbdt_params' });

const affineSchema = z.object({ scale: z.number(), offset: z.number() }).strict();

/** An ensemble combiner as recorded: its weights, standardisation, heads and the out-of-fold evidence. */
export const combinerRecordSchema = z
  .object({
    kind: z.enum(['equal', 'stacking']),
    members: z.array(z.string()).min(1),
    weights: z.array(z.number().min(0)),
    means: z.array(z.number()),
    sds: z.array(z.number().positive()),
    /** Predicted net edge (bps) = offset + scale · combined score. */
    edge: affineSchema,
    /** Confidence = sigmoid(offset + scale · combined score) (Platt). */
    confidence: affineSchema,
    /** Out-of-fold rows it was fitted on. */
    rows: z.number().int().min(0),
    /** Pearson correlation of every pair of member out-of-fold scores (K × K). */
    member_correlations: z.array(z.array(z.number())),
    /** Mean over rows of the sd of the standardised member scores. */
    disagreement: z.number().min(0),
    /** Share of rows whose standardised member scores do not share a sign. */
    sign_disagreement: z.number().min(0).max(1),
    /** Correlation of each member's and of the combined out-of-fold score with the outcome. */
    outcome_correlation: z.object({ members: z.array(z.number()), combined: z.number() }).strict(),
  })
  .strict();

/** The manifest's `model_family` block. */
export const modelFamilySchema = z
  .object({
    name: z.enum(['gbdt', 'rf', 'linear', 'ensemble', 'ppo']),
    /** The ensemble's members (or the single model) and their settings. */
    members: z.array(z.object({ name: z.string(), kind: z.enum(['gbdt', 'rf', 'ridge', 'logistic', 'ppo']), settings: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])) }).strict()),
    /** Share of rows each random-forest tree drew (the labels' average uniqueness unless configured). */
    rf_row_fraction: z.number().nullable(),
    /** Ensembles: the final model's combiner (pooled out-of-fold scores) and each fold's (its calibration slice). */
    combiner: combinerRecordSchema.nullable(),
    fold_combiners: z.array(z.object({ fold: z.number().int().min(0), weights: z.array(z.number()), edge: affineSchema, confidence: affineSchema, rows: z.number().int().min(0) }).strict()),
    /** How the confidence output is made. */
    confidence: z.string(),
    /**
     * Family `ppo`: the agents (one per evaluated fold, the final one on the whole window):
     * their seeds, training budget, learning curve ends and calibration records. Absent otherwise.
     */
    agents: z
      .object({
        total_steps: z.number().int().min(1),
        fine_tune_steps: z.number().int().min(1),
        /** How later agents start: from the first fold's agent, whose window precedes every test window. */
        warm_start: z.string(),
        reward: z.string(),
        reward_scale: z.number(),
        observation: z.object({ features: z.number().int().min(1), position_inputs: z.array(z.string()), clip: z.number() }).strict(),
        actions: z.array(z.string()),
        final: z.object({ seed: z.number().int().min(0), episodes: z.number().int().min(0), final_mean_return: z.number().nullable(), seconds: z.number() }).strict(),
        folds: z.array(z.object({ fold: z.number().int().min(0), seed: z.number().int().min(0), episodes: z.number().int().min(0), final_mean_return: z.number().nullable(), seconds: z.number() }).strict()),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Files every bundle has (a refinement in TypeScript, `required` in the JSON Schema). */
const REQUIRED_ARTIFACTS = ['model.onnx', 'model.json', 'golden.json'] as const;

/** The manifest's `deflated_sharpe` block (see the field's comment in the manifest schema); exported for its readers (the dashboard). */
export const deflatedSharpeSchema = z
  .object({
    /** The run dates whose trials counted; null when no ledger was consulted (then N = 1). */
    lookback_from: daySchema.nullable(),
    lookback_to: daySchema.nullable(),
    n: z.number().int().min(1),
    /** Clusters of the trials' correlated daily P&L. */
    n_effective: z.number().int().min(1),
    /** Population variance of the trials' daily Sharpes. */
    variance: z.number().min(0),
    /** Expected best daily Sharpe of N skill-less trials. */
    sr0: z.number(),
    sharpe_daily: z.number().nullable(),
    oos_days: int0,
    skew: z.number(),
    /** Non-excess kurtosis (3 for a normal). */
    kurtosis: z.number(),
    psr0: frac,
    dsr_iid: frac,
    dsr_robust: frac,
    dsr: frac,
    dsr_effective: frac,
    /** Days the record needs for PSR(SR₀) ≥ 0.95; null when its Sharpe is not above SR₀. */
    min_track_record_days: z.number().nullable(),
    config_hash: sha256Schema,
    is_control: z.boolean(),
  })
  .strict();
export type DeflatedSharpe = z.infer<typeof deflatedSharpeSchema>;

/**
 * The manifest's `break_even` block (issue 16, item 5): the round-trip cost at which the
 * out-of-sample trades, re-priced with entries and exits held fixed, would still pass the
 * Sharpe and profit-factor gates, and the cost curve behind it.
 */
export const breakEvenSchema = z
  .object({
    /** Largest round-trip cost (bps) passing both gates; null when they fail even at 0. */
    round_trip_bps: z.number().nullable(),
    /** Mean round-trip cost the trades paid (fee + spread + slippage), bps; null without trades. */
    paid_round_trip_bps: z.number().nullable(),
    margin_bps: z.number().nullable(),
    trades: int0,
    min_sharpe: z.number(),
    min_profit_factor: z.number(),
    /** Entries and exits are held fixed: the trades are re-priced, not re-simulated. */
    entries_fixed: z.literal(true),
    curve: z.array(z.object({ cost_bps: z.number(), sharpe: z.number(), profit_factor: z.number().nullable() }).strict()),
    /**
     * What the same trades would have paid a round trip on each shipped venue profile, at
     * each trade's own σ (maker profiles priced as if every entry filled; funding left out):
     * the venues marked on the cost curve. Absent before cost profiles existed.
     */
    venues: z.array(z.object({ profile: z.string(), round_trip_bps: z.number() }).strict()).optional(),
  })
  .strict();
export type BreakEvenRecord = z.infer<typeof breakEvenSchema>;

export const manifestSchema = z
  .object({
    schema_version: z.literal(MANIFEST_SCHEMA_VERSION),
    model_id: z.uuid(),
    created_at: iso,
    /**
     * After this the model is stale: the consumer (TypeScript and Python) refuses to open it
     * and a running trader stops entering with it, unless told otherwise. Default 48 h after
     * training (ENGINE_MODEL_TTL_HOURS). Absent on manifests written before it: no expiry.
     */
    expires_at: iso.optional(),
    symbol: pairSchema,
    run_date: daySchema,
    training_window_days: z.number().positive(),
    data: z
      .object({
        start: iso,
        /** Exclusive: the open time after the last candle. */
        end: iso,
        rows: int0,
        gap_rows: int0,
        /** SHA-256 hex of the candle columns (see `candle_hash_method`). */
        candle_hash: sha256Schema,
        candle_hash_method: z.string(),
        reference: z.object({ symbol: z.string(), candle_hash: sha256Schema }).strict().nullable(),
        /**
         * Candles before the window read only to warm the features up (issue 18): no row of
         * them is labelled for training, tested or fitted. The candle hashes cover them too.
         * Absent: the window started cold (its first week of features incomplete).
         */
        warmup_history: z.object({ start: iso, rows: int0 }).strict().optional(),
        /** The spike rule the candles were screened with (training configuration `spikes`). */
        spike_rule: spikeRuleSchema,
        /** What it found: counts per series, whether they were masked (as gap rows), and the first of them. */
        spikes: z
          .object({
            masked: z.boolean(),
            count: int0,
            reference_count: int0,
            listed: z.array(
              z
                .object({
                  series: z.enum(['symbol', 'reference']),
                  at: iso,
                  /** Signed excursion of the high (+) or low (−) from the previous close, bps. */
                  move_bps: z.number(),
                  /** σ of ordinary 1-minute returns before it, bps; null before the σ window filled. */
                  sigma_bps: z.number().nullable(),
                })
                .strict(),
            ),
          })
          .strict(),
        /** Warnings about the candles (spikes). */
        warnings: z.array(z.string()),
        /**
         * What the candles are and where funding came from (cost-v2 on a perpetual): the
         * venue's series, or a constant — e.g. perp costs priced on spot candles — said plainly.
         */
        market: z
          .object({
            candles: z.enum(['spot', 'usdm-perp']),
            priced_as: z.enum(['spot', 'usdm-perp']),
            funding: z.enum(['none', 'series', 'constant']),
            funding_rates: int0,
            note: z.string(),
          })
          .strict()
          .optional(),
      })
      .strict(),
    feature_recipe: z.object({ version: z.string(), hash: z.string().min(1), names: z.array(z.string()).min(1) }).strict(),
    feature_count: z.number().int().min(1),
    /** Model inputs in order: the recipe names, then `extra_features` (normally none). */
    feature_names: z.array(z.string()).min(1),
    /** Columns beyond the recipe (research / controls only; a consumer cannot compute them). */
    extra_features: z.array(z.string()),
    /**
     * The tree models' settings: the edge model's (the GBDT; the random forest for family
     * `rf`; the ensemble's GBDT member) and the confidence model's; null where the family has
     * no such tree model (linear; an ensemble's confidence is Platt's calibration).
     * `model_family` says the rest.
     */
    hyperparameters: z.object({ model: recordedModelParamsSchema.nullable(), confidence_model: recordedModelParamsSchema.nullable() }).strict(),
    /** Which model family made the model and how (issue 17). Absent on manifests written before families. */
    model_family: modelFamilySchema.optional(),
    labelling: labelConfigSchema
      .extend({
        labelled_rows: int0,
        dropped: z.object({ warmup: int0, gap: int0, end_of_data: int0 }).strict(),
        winnable_fraction: frac,
        mean_net_edge_bps: z.number(),
        positive_share: frac,
        /** Labelled rows whose maker entry never filled (net 0); absent with taker entries. */
        unfilled: int0.optional(),
        warnings: z.array(z.string()),
      })
      .strict(),
    cost_model: costModelSchema,
    walk_forward: z
      .object({
        config: z
          .object({
            train_days: z.number(),
            test_days: z.number(),
            step_days: z.number(),
            embargo_minutes: z.number(),
            min_train_coverage: frac,
            min_test_coverage: frac,
            /** Where the fold grid starts (issue 18): `calendar` (the UTC grid of step_days) or `window` (its first minute). Absent: `window`. */
            anchor: z.enum(['calendar', 'window']).optional(),
          })
          .strict(),
        folds_total: int0,
        folds_evaluated: int0,
        folds_skipped: z.array(z.object({ fold: int0, reason: z.string() }).strict()),
        oos_start: iso.nullable(),
        oos_end: iso.nullable(),
        oos_days: int0,
        purged_rows: int0,
        embargoed_rows: int0,
      })
      .strict(),
    thresholds: z
      .object({
        method: z.string(),
        per_fold: z.array(foldThresholdSchema),
        /** Evaluated folds that did not trade because their threshold choice said so (`trade: false`). */
        folds_not_traded: int0,
        final: recordedThresholdSchema,
        /** `side: both`: the short model's thresholds, chosen the same way on its own labels (the fields above are the long model's). */
        short: z.object({ per_fold: z.array(foldThresholdSchema), folds_not_traded: int0, final: recordedThresholdSchema }).strict().optional(),
      })
      .strict(),
    metrics: manifestMetricsSchema,
    gates: z
      .object({
        passed: z.boolean(),
        median_source: z.enum(['registry', 'folds']),
        results: z.array(gateResultSchema).min(1),
        medians: z.object({ max_drawdown: z.number().nullable(), win_rate: z.number().nullable(), drawdown_count: int0, win_rate_count: int0 }).strict(),
        suspected_leakage: z.boolean(),
        failed: z.array(z.string()),
      })
      .strict(),
    /**
     * Every trial counted (Bailey & López de Prado 2014): the candidate's daily Sharpe deflated
     * by the symbol's trials in the ledger's lookback. Daily units (not annualised). The
     * `deflated_sharpe` gate uses `dsr` (the smaller of the i.i.d. and the robust value).
     * Absent on manifests written before the trial ledger.
     */
    deflated_sharpe: deflatedSharpeSchema.optional(),
    /** The daily run's false-discovery decision; absent until the run decides (and on bundles of `--no-registry`). */
    false_discovery: falseDiscoverySchema.optional(),
    /** The cost at which these trades would still pass (absent on manifests written before it). */
    break_even: breakEvenSchema.optional(),
    trading_params: z
      .object({
        recommended_edge_threshold_bps: z.number(),
        max_trades_per_day: int0,
        cooldown_seconds: z.number().min(0),
        horizon_minutes: z.number().int().min(1),
        side: z.enum(['long', 'short', 'both']),
        /** `side: both`: the short model's threshold (`recommended_edge_threshold_bps` is the long one's). */
        short_edge_threshold_bps: z.number().optional(),
        costs: z
          .object({
            model_version: z.string(),
            /** Mean of the entry and exit fee after any discount (cost-v1: the fee per side). */
            fee_bps_per_side: z.number(),
            spread_bps: z.number(),
            slippage_floor_bps: z.number(),
            /** cost-v2: the profile (`name@version`), market, entry order and funding mode. */
            profile: z.string().nullable().optional(),
            market: z.enum(['spot', 'usdm-perp']).optional(),
            entry: z.enum(['taker', 'maker']).optional(),
            funding_mode: z.enum(['none', 'series', 'constant']).optional(),
            /** Mean round-trip cost over the labelled rows, bps. */
            typical_round_trip_bps: z.number(),
          })
          .strict(),
        notional_quote: z.number(),
        quote_to_gbp: z.number(),
      })
      .strict(),
    scenario_tests: z.array(scenarioRecordSchema),
    action_space: z
      .object({
        type: z.literal('discrete'),
        actions: z.array(z.string()).min(2),
        entry: z.string(),
        exit: z.string(),
        outputs: z.array(z.object({ name: z.string(), file: z.string(), description: z.string() }).strict()),
      })
      .strict(),
    controls: z.object({ permute_target_seed: z.number().int().nullable(), extra_features: z.array(z.string()) }).strict(),
    /**
     * Costs, gates, threshold rules and label safeguards that differ from the defaults, one
     * line each (`gates.min_sharpe: -100 (default 0.7)`), shown wherever the model is: a model
     * trained with zero costs or gates turned off never looks like a default one. Empty: all
     * defaults. Absent on manifests written before it.
     */
    non_default_settings: z.array(z.string()).optional(),
    /**
     * Each input's training distribution as deciles (9 inner edges, 10 bin shares plus the
     * share missing), for the feature-drift (PSI) rule of live monitoring. Absent on
     * manifests written before it.
     */
    feature_bins: z
      .object({
        method: z.string(),
        features: z.array(z.object({ name: z.string(), edges: z.array(z.number()).length(9), shares: z.array(z.number().min(0).max(1)).length(11) }).strict()),
      })
      .strict()
      .optional(),
    engine: z.object({ name: z.literal('engine'), version: z.string(), git_commit: z.string().nullable(), model_format: z.string() }).strict(),
    /** File name → SHA-256 (hex) of its bytes, for every bundle file except manifest.json. */
    artifacts: z
      .record(z.string().regex(/^[A-Za-z0-9._-]+$/), sha256Schema)
      .refine((a) => REQUIRED_ARTIFACTS.every((k) => k in a), { message: `artifacts must list ${REQUIRED_ARTIFACTS.join(', ')}` })
      .meta({ description: 'file name → SHA-256 (hex) of its bytes, for every bundle file except manifest.json', required: [...REQUIRED_ARTIFACTS] }),
  })
  .strict()
  .describe(
    'What a model is, how it was made and validated, and how to trade it (SPEC §2). Money in GBP, edges in bps of notional, times in UTC ISO-8601. ' +
      'A profit factor with no losing trade is unbounded: stored as 1.7976931348623157e308 with profit_factor_unbounded = true.',
  );

/** The full ModelManifest. */
export type ModelManifest = z.infer<typeof manifestSchema>;

/**
 * The part of a manifest the registry, the publisher and the dashboard rely on. Every
 * ModelManifest is one; the registry also keeps manifests it only passes through.
 */
export type ManifestCore = Pick<ModelManifest, 'model_id' | 'created_at' | 'symbol' | 'run_date' | 'feature_recipe' | 'artifacts'> & {
  metrics: Pick<ManifestMetrics, 'total_trades' | 'wins' | 'losses' | 'win_rate' | 'total_profit_gbp' | 'sharpe_ratio' | 'profit_factor' | 'max_drawdown'> & { [k: string]: unknown };
  gates: Pick<ModelManifest['gates'], 'passed' | 'median_source' | 'results'> & { [k: string]: unknown };
  [k: string]: unknown;
};

/** JSON cannot hold ±Infinity or NaN: unbounded profit factors are stored as MAX_VALUE plus a flag. */
export function recordProfitFactor(pf: number | null): { profit_factor: number; profit_factor_unbounded: boolean } {
  return pf === null ? { profit_factor: Number.MAX_VALUE, profit_factor_unbounded: true } : { profit_factor: pf, profit_factor_unbounded: false };
}

/** NaN / ±Infinity → null, for optional numbers in JSON. */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
