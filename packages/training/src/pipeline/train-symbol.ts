import { type CandleSeries, ConfigError, DataError, parsePair, parseUtcDay } from '@engine/shared';
import { buildFeatures } from '@engine/features';
import { resolveThreads } from '@engine/gbdt';
import type { FoldReport, FundingSeries, ModelBundle, ModelManifest } from '@engine/model';
import { evaluateGates, type GateHistoryEntry } from '../gates/gates';
import { deflateByTrials, type TrialHistoryEntry } from '../gates/trial-deflation';
import { dailyPnl, daysInSpan, type TradeMetrics, tradeMetrics } from '../metrics/trade-metrics';
import { breakEvenCost, venueRoundTrips } from '../metrics/break-even';
import { featureBins } from '../monitoring/feature-bins';
import { costProfiles } from '../costs/profiles';
import { dailyVolatility, runScenarios } from '../scenarios/scenarios';
import { simulateBothSides, simulateSegments } from '../simulation/simulate';
import { walkForwardFolds } from '../walk-forward/folds';
import { buildBundleFiles, foldReports } from './bundle-files';
import { buildManifest, deterministicModelId } from './build-manifest';
import { resolveTrainConfig, type TrainConfig, type TrainConfigOverrides } from './config';
import { type OutOfSample, outOfSample, planFits, runFits } from './fit-plan';
import { trainerFingerprint, type FitCache, type FitCacheStats } from './fit-cache';
import { checkCandles, describeMarket, labelRows, type LabelledRows, screenSpikes } from './prepare-data';
import type { UnfilledSignal } from '../simulation/simulate';
import { trialSeed, trialSummary, type TrialSummary } from './trial';
import { brierScore, calibrationSlope, dailyNetBps, spearman } from '../metrics/compare-stats';
import type { SimTrade } from '../simulation/simulate';
import { walkForwardPpo } from '../ppo/walk-forward-ppo';

/** A model is fresh for two days by default: one missed daily run is survivable, two are not. */
export const DEFAULT_MODEL_TTL_HOURS = 48;

/** What one symbol's training run takes. Candles in, nothing read from anywhere else. */
export interface TrainSymbolInput {
  /** `BASE/QUOTE`, e.g. `BTC/USDT`. */
  symbol: string;
  /** `YYYY-MM-DD`: the run's day (the window normally ends at its midnight). */
  runDate: string;
  /** 1-minute candles on a complete grid (gaps marked), oldest first. */
  candles: CandleSeries;
  /** Cross-asset reference on the same grid (BTC/USDT; ETH/USDT for BTC). */
  reference?: CandleSeries;
  /** What the candles are: spot (default) or a USDⓈ-M perpetual's. Recorded in the manifest. */
  candlesMarket?: 'spot' | 'usdm-perp';
  /** The perpetual's funding rates over the window (cost-v2 `funding.mode: series`). */
  funding?: FundingSeries;
  /** The symbol's earlier models, for the gate medians (the registry supplies it). */
  history?: readonly GateHistoryEntry[];
  /**
   * The symbol's trials in the ledger's lookback (`trialLookback(runDate)`, controls left
   * out): the deflated Sharpe gate counts them with this candidate. Without a ledger (absent)
   * the candidate is the only trial (N = 1: the DSR is its PSR(0)), and the manifest says so.
   */
  trials?: readonly TrialHistoryEntry[];
  /**
   * Feature columns appended after the recipe's (research and negative controls only,
   * e.g. a planted leak). Recorded in the manifest; Hamilton cannot compute them.
   */
  extraFeatures?: { names: string[]; columns: Float64Array[] };
  /** Git commit of the engine, when the caller knows it. */
  gitCommit?: string | null;
  /** Clock for `created_at` (tests pin it). Default: now. */
  now?: Date;
  /** Hours the model stays fresh: `expires_at` = `created_at` + this (default {@link DEFAULT_MODEL_TTL_HOURS}). */
  ttlHours?: number;
  /** Model id; default a deterministic UUID from the symbol, run date, data hash and config. */
  modelId?: string;
  /**
   * The training window's first minute (epoch ms) when the candles (and the reference) begin
   * earlier: the candles before it are the features' warm-up history only — no row of it is
   * labelled for training, tested or fitted — so the window's first week has complete
   * features, as Hamilton's warmed-up trader has (issue 18). Default: the first candle.
   */
  windowStart?: number;
}

/** Stages of the pipeline, in order (the fleet maps them onto a job's progress). */
export type PipelineStage = 'candles' | 'features' | 'labels' | 'folds' | 'fold' | 'final' | 'export';

export interface PipelineProgress {
  stage: PipelineStage;
  /** Steps of this stage done / total (folds: folds finished / all folds). */
  done: number;
  total: number;
  message: string;
}

export interface TrainSymbolOptions {
  onProgress?: (p: PipelineProgress) => void;
  /** Aborts between stages and between trees. */
  signal?: AbortSignal;
  /**
   * Threads (default: every core): independent model fits (folds, calibration, final,
   * confidence) run in parallel, one single-threaded fit per thread. Never changes the result.
   */
  threads?: number;
  /**
   * Also measure the out-of-sample evaluation a family comparison needs
   * ({@link TrainedModelBundle.evaluation}): each fold's confidence model is fitted too (an
   * ensemble's comes from its fold combiners), so the confidence is judged out of sample.
   * Costs extra fits; never changes the model, its metrics or its id.
   */
  evaluate?: boolean;
  /**
   * The fold fits' content-addressed cache (issue 18): a fold whose inputs are those of a
   * fit already stored is not fitted again; what is fitted is stored. Never changes the
   * result (a hit is the refit's predictions bit for bit). Absent: every fit runs.
   */
  fitCache?: FitCache;
}

/** Out-of-sample evidence of one run for a pre-registered comparison (`engine compare`). */
export interface OutOfSampleEvaluation {
  family: string;
  seed: number | null;
  /** The out-of-sample days (UTC day starts, epoch ms) and the trades' net bps on each (signal day). */
  days: number[];
  daily_net_bps: number[];
  /** Out-of-sample rows judged (every test-window row with a label). */
  rows: number;
  /** Spearman correlation of the predicted and the realised net edge over those rows. */
  rank_ic: number;
  /** Brier score and logistic calibration of the out-of-sample confidence against (net edge > 0); null when not measured. */
  brier: number | null;
  calibration_slope: number | null;
  calibration_intercept: number | null;
}

/** The bundle plus the tables a caller prints and the trial the ledger records. `manifest.artifacts` hashes every file. */
export interface TrainedModelBundle extends ModelBundle {
  manifest: ModelManifest;
  folds: FoldReport[];
  /** This evaluation as a trial (its configuration's hash, daily net P&L, moments). */
  trial: TrialSummary;
  /** With `evaluate`: the out-of-sample evidence a family comparison reports. */
  evaluation?: OutOfSampleEvaluation;
  /** With a fit cache: fold fits served from it and fitted (and stored). */
  fitCache?: FitCacheStats;
}

/**
 * Train, validate and package one symbol's model (SPEC §1): features → triple-barrier
 * labels → purged walk-forward (a model per fold, threshold chosen on training data,
 * Hamilton-rule simulation of the out-of-sample predictions) → metrics, gates, scenarios
 * → final model on the whole window + confidence model → ONNX, native JSON, golden
 * vectors, fold table, equity curve, importance and the manifest with every file's hash.
 *
 * Pure: no I/O, no logging; progress through `onProgress`, cancellation through `signal`.
 * The bundle is returned whether or not the gates pass (`manifest.gates.passed`): a
 * rejected model is kept and its reasons recorded.
 */
export async function trainSymbol(input: TrainSymbolInput, overrides: TrainConfigOverrides = {}, opts: TrainSymbolOptions = {}): Promise<TrainedModelBundle> {
  const cfg = resolveTrainConfig(overrides);
  if (input.ttlHours !== undefined && !(Number.isFinite(input.ttlHours) && input.ttlHours > 0)) {
    throw new ConfigError(`ttlHours must be a finite number of hours > 0, got ${input.ttlHours}`);
  }
  const { signal } = opts;
  const progress = (stage: PipelineStage, done: number, total: number, message: string): void => {
    signal?.throwIfAborted();
    opts.onProgress?.({ stage, done, total, message });
  };
  const symbol = parsePair(input.symbol).symbol;
  parseUtcDay(input.runDate, 'runDate');
  const ts = input.candles.ts;

  progress('candles', 0, 1, `checking ${ts.length} candles`);
  const data = checkCandles(symbol, input.runDate, input.candles, input.reference, cfg, input.windowStart);
  const fromRow = data.history?.rows ?? 0;
  const market = describeMarket(symbol, cfg, input.candlesMarket ?? 'spot', input.funding);
  // From here on, features and labels see the candles after the spike rule (masked minutes are gaps).
  const spikes = screenSpikes(input.candles, input.reference, cfg.spikes);
  const { candles, reference } = spikes;
  progress('candles', 1, 1, `${data.rows} candles${fromRow > 0 ? ` (+ ${fromRow} of warm-up history)` : ''}, ${data.gapRows} gap rows, ${spikes.spikes.length} spike minutes${spikes.masked && spikes.spikes.length > 0 ? ' masked' : ''}, sha256 ${data.hash.slice(0, 12)}…`);

  progress('features', 0, 1, 'computing the feature recipe');
  const frame = buildFeatures(candles, reference ? { reference } : {}, { signal });
  const extra = input.extraFeatures ?? { names: [], columns: [] };
  if (extra.names.length !== extra.columns.length || extra.columns.some((c) => c.length !== ts.length)) {
    throw new DataError('EXTRA_FEATURES_INVALID', `${symbol}: extra features need one column of ${ts.length} rows per name; got ${extra.names.length} names and columns of ${extra.columns.map((c) => c.length).join(', ')}`);
  }
  const names = [...frame.names, ...extra.names];
  const columns = [...frame.columns, ...extra.columns];
  progress('features', 1, 1, `${names.length} features, warm-up ${frame.warmup} rows`);

  progress('labels', 0, 1, 'triple-barrier labelling');
  // `both`: each side is labelled, fitted and thresholded on its own (the long side's
  // labels also serve the fold table and the labelling summary).
  const both = cfg.labels.side === 'both';
  const sideCfg = (side: 'long' | 'short'): TrainConfig => ({ ...cfg, labels: { ...cfg.labels, side } });
  const firstSide = cfg.labels.side === 'short' ? 'short' : 'long';
  const labelled = labelRows(candles, sideCfg(firstSide), input.funding, fromRow);
  const shortLabelled = both ? labelRows(candles, sideCfg('short'), input.funding, fromRow) : null;
  const { labels } = labelled;
  progress('labels', 1, 1, `${labelled.rows.length} labelled rows, mean net edge ${labelled.meanNetEdgeBps.toFixed(2)} bps${shortLabelled ? ` (short side: ${shortLabelled.meanNetEdgeBps.toFixed(2)} bps)` : ''}`);

  const folds = walkForwardFolds(labelled.timeline, cfg.walk_forward, { start: data.start, end: data.end, horizon_minutes: cfg.labels.horizon_minutes });
  const embargoMinutes = cfg.walk_forward.embargo_minutes ?? cfg.labels.horizon_minutes + 1;
  const evaluated = folds.filter((f) => !f.skipped);
  if (evaluated.length === 0) {
    throw new DataError('NO_USABLE_FOLD', `${symbol}: none of ${folds.length} walk-forward folds has enough data: ${folds.map((f) => `fold ${f.index}: ${f.skip_reason}`).join('; ')}`, { symbol });
  }
  progress('folds', 0, folds.length, `${folds.length} folds (${folds.length - evaluated.length} skipped)`);

  const foldSteps = folds.length * (both ? 2 : 1);
  let done = 0;
  for (const f of folds) if (f.skipped) progress('fold', ++done, foldSteps, `fold ${f.index} skipped: ${f.skip_reason}`);
  const cache = opts.fitCache ? { store: opts.fitCache, trainer: trainerFingerprint(input.gitCommit), stats: { hits: 0, misses: 0 } } : undefined;
  const walkForward = async (side: LabelledRows, sideName: string): Promise<OutOfSample> => {
    const plan = planFits(folds, side.rows, side.timeline, embargoMinutes, cfg, { oosConfidence: opts.evaluate === true });
    const fits = await runFits(
      plan,
      { columns, target: side.target, names, ts: side.timeline.ts, labelEnd: side.timeline.label_end },
      opts.threads ?? resolveThreads(undefined),
      (fold, rows, cached) => progress('fold', ++done, foldSteps, `fold ${fold}${both ? ` (${sideName})` : ''} ${cached ? 'from the fit cache' : 'fitted'} on ${rows} rows`),
      signal,
      cache,
    );
    return outOfSample(plan, fits, evaluated, side.labels, ts, cfg, side.target);
  };
  let oos: OutOfSample;
  if (cfg.family.name === 'ppo') {
    // the agent acts in the simulation itself: one agent per fold, trades instead of predictions
    const agents = await walkForwardPpo({
      candles,
      labels,
      allRows: labelled.rows,
      evaluated,
      columns,
      names,
      cfg,
      threads: opts.threads ?? resolveThreads(undefined),
      onAgent: (fold, r) => {
        if (fold !== null) progress('fold', ++done, foldSteps, `fold ${fold} agent trained: ${r.steps} steps, ${r.episodes} episodes, last returns ${r.finalMeanReturn.toFixed(2)} (${r.seconds.toFixed(1)} s)`);
      },
      signal,
    });
    oos = { predictions: new Float64Array(ts.length).fill(NaN), confidence: new Float64Array(ts.length).fill(NaN), choices: agents.choices, segments: [], finalChoice: agents.finalChoice, finalModel: null, confidenceModel: null, agents, ensemble: null, rfRowFraction: null, finalMembers: [] };
  } else oos = await walkForward(labelled, firstSide);
  if (both) for (const f of folds) if (f.skipped) done++;
  const shortOos = shortLabelled ? await walkForward(shortLabelled, 'short') : null;
  progress('final', 1, 1, oos.agents ? `final agent on ${labelled.rows.length} rows; pooled out-of-sample trades ${oos.finalChoice.trades}, ${oos.finalChoice.total_net_bps.toFixed(1)} net bps: ${oos.finalChoice.trade ? 'trades' : 'does not trade'}` : `final model on ${labelled.rows.length} rows and confidence model; final threshold ${oos.finalChoice.threshold_bps.toFixed(2)} bps${shortOos ? ` (short: ${shortOos.finalChoice.threshold_bps.toFixed(2)} bps)` : ''}`);

  // Simulation, metrics, gates, scenarios: the out-of-sample predictions traded by Hamilton's rules.
  const unfilled: UnfilledSignal[] = [];
  const trades = oos.agents
    ? oos.agents.trades
    : shortOos && shortLabelled
      ? simulateBothSides(oos.segments, shortOos.segments, labels, shortLabelled.labels, ts, cfg.trading, unfilled)
      : simulateSegments(oos.segments, labels, ts, cfg.trading, unfilled);
  const oosDays = [...new Set(evaluated.flatMap((f) => daysInSpan(f.test_start, f.test_end)))].sort((a, b) => a - b);
  const maker = cfg.costs.version === 'cost-v2' && cfg.costs.entry === 'maker';
  const overall = tradeMetrics(trades, oosDays, cfg.costs);
  if (maker) overall.unfilled_signals = unfilled.length;
  const foldMetrics = new Map<number, TradeMetrics>();
  for (const f of evaluated) foldMetrics.set(f.index, tradeMetrics(trades.filter((t) => t.fold === f.index), daysInSpan(f.test_start, f.test_end), cfg.costs));
  // The trial first: the deflated Sharpe gate judges it against the symbol's other trials.
  const trial = trialSummary({ symbol, runDate: input.runDate, cfg, recipeHash: frame.recipe.hash, extraFeatures: extra.names.length, oosDays, daily: dailyPnl(trades, oosDays, cfg.costs) });
  const deflation = deflateByTrials(trial, input.trials ?? [], input.runDate);
  const gates = evaluateGates(
    overall,
    [...foldMetrics.values()],
    input.history ?? [],
    cfg.gates,
    // A `both` model trades when either side's final threshold does.
    { ...oos.finalChoice, trade: oos.finalChoice.trade || (shortOos?.finalChoice.trade ?? false), min_calibration_net_bps: cfg.threshold.min_calibration_net_bps },
    deflation,
  );
  const scenarios = runScenarios(trades, oosDays, cfg.costs, dailyVolatility(candles, oosDays), cfg.scenarios);
  const breakEven = {
    ...breakEvenCost(trades, oosDays, cfg.costs, cfg.gates),
    venues: venueRoundTrips(trades, labels, [...costProfiles().values()].map((p) => ({ profile: p.costs.profile!, costs: p.costs }))),
  };

  progress('export', 0, 1, 'writing the bundle');
  const reports = foldReports(folds, oos, foldMetrics, labels);
  const modelId = input.modelId ?? deterministicModelId(symbol, input.runDate, data, cfg, extra.names);
  const recipe = frame.recipe;
  const { files, artifacts } = buildBundleFiles({
    modelId,
    symbol,
    runDate: input.runDate,
    recipe,
    names,
    columns,
    ts,
    goldenRows: cfg.golden_rows,
    oos,
    shortOos,
    folds: reports,
    trades,
    evaluated,
    oosDays,
    costs: cfg.costs,
  });
  const manifest = buildManifest({
    modelId,
    createdAt: input.now ?? new Date(),
    ttlHours: input.ttlHours ?? DEFAULT_MODEL_TTL_HOURS,
    symbol,
    runDate: input.runDate,
    gitCommit: input.gitCommit ?? null,
    cfg,
    data,
    spikes,
    market,
    reference: input.reference ? { symbol: input.reference.symbol } : null,
    recipe: { version: recipe.version, hash: recipe.hash, names: frame.names },
    names,
    extraNames: extra.names,
    labelled,
    folds,
    evaluated,
    embargoMinutes,
    oosDays: oosDays.length,
    oos,
    shortOos,
    overall,
    gates,
    deflation: { ...deflation, trial, ledger: input.trials !== undefined },
    breakEven,
    featureBins: featureBins(names, columns, labelled.rows),
    scenarios,
    artifacts,
  });
  progress('export', 1, 1, `bundle of ${files.length} files; gates ${gates.passed ? 'passed' : `failed: ${gates.failed.join(', ')}`}`);
  const evaluation = opts.evaluate === true ? evaluate(oos, labels, trades, oosDays, cfg) : undefined;
  return { manifest, files, folds: reports, trial, ...(evaluation ? { evaluation } : {}), ...(cache ? { fitCache: cache.stats } : {}) };
}

/** The comparison's out-of-sample evidence: every test row's predicted vs realised net edge, and the confidence's. */
function evaluate(oos: OutOfSample, labels: LabelledRows['labels'], trades: readonly SimTrade[], oosDays: number[], cfg: TrainConfig): OutOfSampleEvaluation {
  const pred: number[] = [];
  const real: number[] = [];
  const conf: number[] = [];
  const win: number[] = [];
  for (const seg of oos.segments) {
    for (const i of seg.rows) {
      const y = labels.net_edge_bps[i]!;
      if (!Number.isFinite(y) || !Number.isFinite(oos.predictions[i]!)) continue;
      pred.push(oos.predictions[i]!);
      real.push(y);
      if (Number.isFinite(oos.confidence[i]!)) {
        conf.push(oos.confidence[i]!);
        win.push(y > 0 ? 1 : 0);
      }
    }
  }
  const haveConf = conf.length === pred.length && conf.length > 0;
  const cal = haveConf ? calibrationSlope(conf, win) : null;
  return {
    family: cfg.family.name,
    seed: trialSeed(cfg),
    days: oosDays,
    daily_net_bps: Array.from(dailyNetBps(trades, oosDays)),
    rows: pred.length,
    rank_ic: pred.length > 1 ? spearman(pred, real) : NaN,
    brier: haveConf ? brierScore(conf, win) : null,
    calibration_slope: cal && cal.converged ? cal.slope : null,
    calibration_intercept: cal && cal.converged ? cal.intercept : null,
  };
}
