import { createHash } from 'node:crypto';
import { GbdtModel } from '@engine/gbdt';
import { type Combiner, SCORE_MODEL_FORMAT, SCORE_MODEL_VERSION } from '@engine/ensemble';
import { MANIFEST_SCHEMA_VERSION, type ModelManifest, finiteOrNull, meanFeePerSideBps, PPO_AGENT_MODEL_FORMAT, recordProfitFactor } from '@engine/model';
import type { GateOutcome } from '../gates/gates';
import { trialLookback, type TrialDeflation } from '../gates/trial-deflation';
import type { TradeMetrics } from '../metrics/trade-metrics';
import type { BreakEven, VenueCost } from '../metrics/break-even';
import type { FeatureBins } from '../monitoring/feature-bins';
import type { ScenarioResult } from '../scenarios/scenarios';
import type { Fold } from '../walk-forward/folds';
import { recordMetrics, recordThreshold } from './bundle-files';
import { nonDefaultSettings, type TrainConfig } from './config';
import type { OutOfSample } from './fit-plan';
import { type CandleSummary, type LabelledRows, type MarketSummary, SPIKES_LISTED, type SpikeScreen } from './prepare-data';
import type { TrialSummary } from './trial';
import { ENGINE_VERSION } from './version';
import { ACTION_NAMES, OBSERVATION_CLIP, POSITION_INPUTS } from '@engine/ppo';

const iso = (ms: number): string => new Date(ms).toISOString();

/** A UUID (version 8, RFC 9562 layout) derived from a string: the same inputs give the same id. */
function deterministicUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The model id when the caller gives none: a UUID derived from the symbol, the run date,
 * the candles (and the reference's), the whole training configuration, the engine version
 * and any extra feature columns — so the same inputs always give the same id, and a
 * retried job records nothing twice.
 */
export function deterministicModelId(symbol: string, runDate: string, data: CandleSummary, cfg: TrainConfig, extraNames: readonly string[]): string {
  const configDigest = createHash('sha256').update(JSON.stringify(cfg)).digest('hex');
  return deterministicUuid([symbol, runDate, data.hash, data.referenceHash ?? '-', configDigest, ENGINE_VERSION, extraNames.join(',')].join('|'));
}

/** Everything the manifest records, as the pipeline computed it. */
export interface ManifestInput {
  modelId: string;
  createdAt: Date;
  /** Hours from creation to `expires_at`. */
  ttlHours: number;
  symbol: string;
  runDate: string;
  gitCommit: string | null;
  cfg: TrainConfig;
  data: CandleSummary;
  spikes: SpikeScreen;
  /** How the run was priced (null: cost-v1 on spot candles). */
  market: MarketSummary | null;
  reference: { symbol: string } | null;
  recipe: { version: string; hash: string; names: readonly string[] };
  names: string[];
  extraNames: string[];
  labelled: LabelledRows;
  folds: readonly Fold[];
  evaluated: readonly Fold[];
  embargoMinutes: number;
  oosDays: number;
  oos: OutOfSample;
  /** `side: both`: the short side's walk-forward (null otherwise). */
  shortOos: OutOfSample | null;
  overall: TradeMetrics;
  gates: GateOutcome;
  /** The deflated Sharpe at the true trial count, the trial it judged, and whether a ledger was consulted. */
  deflation: TrialDeflation & { trial: TrialSummary; ledger: boolean };
  breakEven: BreakEven & { venues: VenueCost[] };
  /** Each input's training deciles, for live feature-drift monitoring. */
  featureBins: FeatureBins[];
  scenarios: ScenarioResult[];
  artifacts: Record<string, string>;
}

/** Map the pipeline's results into the ModelManifest (SPEC §2), the one place that does. */
export function buildManifest(x: ManifestInput): ModelManifest {
  const { cfg, labelled, oos, gates } = x;
  const labels = labelled.labels;
  return {
    schema_version: MANIFEST_SCHEMA_VERSION,
    model_id: x.modelId,
    created_at: x.createdAt.toISOString(),
    expires_at: new Date(x.createdAt.getTime() + x.ttlHours * 3_600_000).toISOString(),
    symbol: x.symbol,
    run_date: x.runDate,
    training_window_days: Math.round((x.data.rows / 1440) * 1000) / 1000,
    data: {
      start: iso(x.data.start),
      end: iso(x.data.end),
      rows: x.data.rows,
      gap_rows: x.data.gapRows,
      candle_hash: x.data.hash,
      candle_hash_method: 'sha256 over the columns ts, open, high, low, close, volume (float64 little-endian) then gap (uint8), in that order',
      reference: x.reference && x.data.referenceHash ? { symbol: x.reference.symbol, candle_hash: x.data.referenceHash } : null,
      ...(x.data.history !== undefined && x.data.history.rows > 0 ? { warmup_history: { start: iso(x.data.history.start), rows: x.data.history.rows } } : {}),
      spike_rule: cfg.spikes,
      spikes: {
        masked: x.spikes.masked,
        count: x.spikes.spikes.length,
        reference_count: x.spikes.referenceSpikes.length,
        listed: [
          ...x.spikes.spikes.map((k) => ({ series: 'symbol' as const, k })),
          ...x.spikes.referenceSpikes.map((k) => ({ series: 'reference' as const, k })),
        ]
          .sort((a, b) => a.k.ts - b.k.ts)
          .slice(0, SPIKES_LISTED)
          .map(({ series, k }) => ({ series, at: iso(k.ts), move_bps: k.move_bps, sigma_bps: finiteOrNull(k.sigma_bps) })),
      },
      warnings: x.market && x.market.priced_as !== x.market.candles ? [...x.spikes.warnings, x.market.note] : x.spikes.warnings,
      ...(x.market ? { market: x.market } : {}),
    },
    feature_recipe: { version: x.recipe.version, hash: x.recipe.hash, names: [...x.recipe.names] },
    feature_count: x.names.length,
    feature_names: x.names,
    extra_features: [...x.extraNames],
    hyperparameters: recordHyperparameters(oos),
    model_family: recordFamily(cfg, oos),
    labelling: {
      ...cfg.labels,
      labelled_rows: labels.labelled,
      dropped: labels.dropped,
      winnable_fraction: labels.winnable_fraction,
      mean_net_edge_bps: labelled.meanNetEdgeBps,
      positive_share: labelled.positiveShare,
      ...(cfg.costs.version === 'cost-v2' && cfg.costs.entry === 'maker' ? { unfilled: labels.unfilled } : {}),
      warnings: labels.warnings,
    },
    cost_model: cfg.costs,
    walk_forward: {
      config: { ...cfg.walk_forward, embargo_minutes: x.embargoMinutes },
      folds_total: x.folds.length,
      folds_evaluated: x.evaluated.length,
      folds_skipped: x.folds.filter((f) => f.skipped).map((f) => ({ fold: f.index, reason: f.skip_reason ?? '' })),
      oos_start: iso(x.evaluated[0]!.test_start),
      oos_end: iso(x.evaluated[x.evaluated.length - 1]!.test_end),
      oos_days: x.oosDays,
      purged_rows: x.folds.reduce((a, f) => a + f.purged, 0),
      embargoed_rows: x.folds.reduce((a, f) => a + f.embargoed, 0),
    },
    thresholds: {
      method:
        'per fold: the candidate (quantiles of calibration predictions, never below min_threshold_bps) with the best total net bps under the trading rules on the last calibration_days of the training window, predicted by a model fitted on earlier data (the previous fold, or an inner model); the fold trades only when that total is above min_calibration_net_bps (default 0), else it does not trade (trade: false); final: the same on the pooled out-of-sample predictions of all folds (a final choice that does not trade fails the final_threshold gate)',
      per_fold: x.evaluated.map((f) => ({ fold: f.index, ...recordThreshold(oos.choices.get(f.index)!) })),
      folds_not_traded: x.evaluated.filter((f) => !oos.choices.get(f.index)!.trade).length,
      final: recordThreshold(oos.finalChoice),
      ...(x.shortOos
        ? {
            short: {
              per_fold: x.evaluated.map((f) => ({ fold: f.index, ...recordThreshold(x.shortOos!.choices.get(f.index)!) })),
              folds_not_traded: x.evaluated.filter((f) => !x.shortOos!.choices.get(f.index)!.trade).length,
              final: recordThreshold(x.shortOos.finalChoice),
            },
          }
        : {}),
    },
    metrics: recordMetrics(x.overall),
    gates: {
      passed: gates.passed,
      median_source: gates.median_source,
      results: gates.results,
      medians: {
        max_drawdown: finiteOrNull(gates.medians.max_drawdown),
        win_rate: finiteOrNull(gates.medians.win_rate),
        drawdown_count: gates.medians.drawdown_count,
        win_rate_count: gates.medians.win_rate_count,
      },
      suspected_leakage: gates.suspected_leakage,
      failed: gates.failed,
    },
    deflated_sharpe: recordDeflation(x.deflation),
    break_even: { ...x.breakEven, entries_fixed: true, curve: x.breakEven.curve.map((p) => ({ cost_bps: p.cost_bps, sharpe: p.sharpe, profit_factor: p.profit_factor === null ? null : finiteOrNull(p.profit_factor) })) },
    trading_params: {
      recommended_edge_threshold_bps: oos.finalChoice.threshold_bps,
      max_trades_per_day: cfg.trading.max_trades_per_day,
      cooldown_seconds: cfg.trading.cooldown_seconds,
      horizon_minutes: cfg.labels.horizon_minutes,
      side: cfg.labels.side,
      ...(x.shortOos ? { short_edge_threshold_bps: x.shortOos.finalChoice.threshold_bps } : {}),
      costs: {
        model_version: cfg.costs.version,
        fee_bps_per_side: meanFeePerSideBps(cfg.costs),
        spread_bps: cfg.costs.spread_bps,
        slippage_floor_bps: cfg.costs.slippage.floor_bps,
        ...(cfg.costs.version === 'cost-v2' ? { profile: cfg.costs.profile, market: cfg.costs.market, entry: cfg.costs.entry, funding_mode: cfg.costs.funding.mode } : {}),
        typical_round_trip_bps: labelled.typicalRoundTripBps,
      },
      notional_quote: cfg.costs.notional_quote,
      quote_to_gbp: cfg.costs.quote_to_gbp,
    },
    scenario_tests: x.scenarios.map((s) => ({ ...s, ...recordProfitFactor(s.profit_factor) })),
    action_space: x.oos.agents
      ? {
          type: 'discrete',
          actions: ['hold', 'buy', 'sell'],
          entry: 'at a candle close, while flat: buy (enter long at the next open) when the agent\'s greedy action is buy, the cooldown since the last exit has passed and fewer than max_trades_per_day entries were made this UTC day; never when thresholds.final.trade is false',
          exit: 'while long: sell at the next open when the greedy action is sell (the round trip priced as at entry); otherwise the first of take-profit, stop-loss or the close of the horizon_minutes-th bar, with barriers as in labelling',
          outputs: [
            { name: 'action_probabilities', file: 'model.onnx', description: "P(hold), P(buy), P(sell); input 'observation' float32 [N, feature_count + 3]: model.json's standardised features (missing → 0, clipped to ±5) then position_long, bars_held / horizon_minutes, unrealised bps / 100 (clipped to ±5); native: model.json" },
            { name: 'greedy_action', file: 'model.onnx', description: 'int64 index of the most probable action (0 hold, 1 buy, 2 sell): the action traded' },
          ],
        }
      : {
      type: 'discrete',
      actions: cfg.labels.side === 'both' ? ['hold', 'enter_long', 'enter_short'] : ['hold', cfg.labels.side === 'long' ? 'enter_long' : 'enter_short'],
      entry: 'at a candle close, enter at the next open when predicted_edge_bps > recommended_edge_threshold_bps, no position is open, the cooldown since the last exit has passed and fewer than max_trades_per_day entries were made this UTC day',
      exit: 'first of take-profit, stop-loss (assumed first when both touch in one bar) or the close of the horizon_minutes-th bar, with barriers as in labelling (volatility-scaled barriers at most max_barrier_bps; a high or low within a relative 1e-9 of a barrier touches it)',
      outputs: [
        { name: 'predicted_edge_bps', file: 'model.onnx', description: 'expected net edge after costs, bps of notional (native: model.json); input \'features\' float32 [N, feature_count] in feature_names order, NaN = missing' },
        { name: 'confidence', file: 'model.onnx', description: 'P(net edge > 0), in [0, 1] (native: confidence.json)' },
        ...(x.shortOos
          ? [
              { name: 'predicted_edge_bps', file: 'model-short.onnx', description: 'side both: expected net edge of a SHORT after costs, bps (native: model-short.json; golden vectors golden-short.json); enter the side whose edge exceeds its own threshold by more' },
              { name: 'confidence', file: 'model-short.onnx', description: 'side both: P(short net edge > 0) (native: confidence-short.json)' },
            ]
          : []),
      ],
    },
    controls: { permute_target_seed: cfg.controls.permute_target_seed, extra_features: [...x.extraNames] },
    non_default_settings: nonDefaultSettings(cfg),
    feature_bins: { method: 'deciles of every 10th labelled row of the training window; shares of 10 bins (value in (edge k−1, edge k]) then missing', features: x.featureBins },
    engine: { name: 'engine', version: ENGINE_VERSION, git_commit: x.gitCommit, model_format: oos.agents ? PPO_AGENT_MODEL_FORMAT : oos.finalModel instanceof GbdtModel ? 'engine-gbdt/1' : `${SCORE_MODEL_FORMAT}/${SCORE_MODEL_VERSION}` },
    artifacts: x.artifacts,
  };
}

/** The tree models' settings (null where the family has none for that output). */
function recordHyperparameters(oos: OutOfSample): ModelManifest['hyperparameters'] {
  const treeOf = (name: string): GbdtModel | null => {
    const m = oos.finalMembers.find((x) => x.name === name)?.model;
    return m instanceof GbdtModel ? m : null;
  };
  const edge = oos.ensemble ? treeOf('gbdt') ?? treeOf('rf') : treeOf('edge');
  const conf = oos.ensemble ? null : treeOf('confidence');
  return { model: edge ? { ...edge.params } : null, confidence_model: conf ? { ...conf.params } : null };
}

const scalarSettings = (o: object): Record<string, number | string | boolean | null> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v === null || ['number', 'string', 'boolean'].includes(typeof v))) as Record<string, number | string | boolean | null>;

/** The manifest's `model_family` block: members and their settings, and an ensemble's combiners. */
function recordFamily(cfg: TrainConfig, oos: OutOfSample): NonNullable<ModelManifest['model_family']> {
  const fam = cfg.family.name;
  const a = oos.agents;
  if (a) {
    const p = cfg.family.ppo;
    const ret = (v: number): number | null => (Number.isFinite(v) ? v : null);
    return {
      name: 'ppo',
      members: [{ name: 'agent', kind: 'ppo', settings: { ...scalarSettings(p.params), policy_hidden_sizes: p.params.policyHiddenSizes.join('x'), value_hidden_sizes: p.params.valueHiddenSizes.join('x'), total_steps: p.total_steps, fine_tune_steps: p.fine_tune_steps, reward_scale: p.reward_scale, seed: p.seed } }],
      rf_row_fraction: null,
      combiner: null,
      fold_combiners: [],
      confidence: 'none: a trading agent acts (hold, buy, sell) and has no confidence output',
      agents: {
        total_steps: p.total_steps,
        fine_tune_steps: p.fine_tune_steps,
        warm_start: `fold ${a.folds.keys().next().value}'s agent (trained from scratch on the earliest window, which ends before every test window) starts every later fold's agent and the final one`,
        reward: 'realised net bps of the trades that close on a step (versioned cost model, Hamilton rules), times reward_scale; nothing for entering or waiting',
        reward_scale: p.reward_scale,
        observation: { features: a.finalAgent.nFeatures, position_inputs: [...POSITION_INPUTS], clip: OBSERVATION_CLIP },
        actions: [...ACTION_NAMES],
        final: { seed: a.seeds.get(-1)!, episodes: a.final.episodes, final_mean_return: ret(a.final.finalMeanReturn), seconds: a.final.seconds },
        folds: [...a.folds.values()].map((f) => ({ fold: f.fold, seed: a.seeds.get(f.fold)!, episodes: f.result.episodes, final_mean_return: ret(f.result.finalMeanReturn), seconds: f.result.seconds })),
      },
    };
  }
  const members = oos.finalMembers.map(({ name, model }) => {
    if (model instanceof GbdtModel) {
      const kind = model.objective === 'logistic' ? ('gbdt' as const) : model.params.boosting === 'rf' ? ('rf' as const) : ('gbdt' as const);
      return { name, kind, settings: scalarSettings(model.params) };
    }
    return { name, kind: model.kind, settings: { penalty: model.kind === 'ridge' ? 'alpha' : 'C', value: model.penalty, standardised_features: model.nFeatures } };
  });
  const e = oos.ensemble;
  const rec = (c: Combiner) => ({
    kind: c.kind,
    members: c.members,
    weights: c.weights,
    means: c.means,
    sds: c.sds,
    edge: c.edge,
    confidence: c.confidence,
    rows: c.diagnostics.rows,
    member_correlations: c.diagnostics.correlations,
    disagreement: c.diagnostics.disagreement,
    sign_disagreement: c.diagnostics.sign_disagreement,
    outcome_correlation: c.diagnostics.outcome_correlation,
  });
  return {
    name: fam,
    members,
    rf_row_fraction: oos.rfRowFraction,
    combiner: e ? rec(e.final) : null,
    fold_combiners: e ? [...e.folds].map(([fold, c]) => ({ fold, weights: c.weights, edge: c.edge, confidence: c.confidence, rows: c.diagnostics.rows })) : [],
    confidence:
      fam === 'ensemble'
        ? "Platt's calibration of the combined score on the pooled out-of-fold outcomes (P(net edge > 0)), folded into the same graph"
        : fam === 'linear'
          ? 'L2 logistic regression of (net edge > 0) on the standardised features, C chosen on inner purged folds'
          : 'logistic GBDT of (net edge > 0) on all rows (confidence_model)',
  };
}

/** The manifest's `deflated_sharpe` block: N, V, SR₀, the DSRs, MinTRL, and what they were computed from. */
function recordDeflation(d: ManifestInput['deflation']): ModelManifest['deflated_sharpe'] {
  const lookback = trialLookback(d.trial.runDate);
  return {
    lookback_from: d.ledger ? lookback.from : null,
    lookback_to: d.ledger ? lookback.to : null,
    n: d.n,
    n_effective: d.n_effective,
    variance: d.variance,
    sr0: d.sr0,
    sharpe_daily: d.trial.sharpe,
    oos_days: d.trial.oosDays,
    skew: d.trial.skew,
    kurtosis: d.trial.kurtosis,
    psr0: d.trial.psr0,
    dsr_iid: d.dsr_iid,
    dsr_robust: d.dsr_robust,
    dsr: d.dsr,
    dsr_effective: d.dsr_effective,
    min_track_record_days: Number.isFinite(d.min_track_record_days) ? d.min_track_record_days : null,
    config_hash: d.trial.configHash,
    is_control: d.trial.isControl,
  };
}
