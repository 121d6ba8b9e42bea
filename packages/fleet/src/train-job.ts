import { BUNDLE_FILES } from '@engine/model';
import { DAY_MS, EngineError, MINUTE_MS, PermanentError, formatUtcDay, parseUtcDay, sliceCandles, type CandleSeries, type Logger } from '@engine/shared';
import { type SweepPointResult, type TrainJob, type TrainProgress, type TrainResult } from './jobs';
import { RECIPE_WARMUP, referenceSymbolFor } from '@engine/features';
import { trialLookback, type FitCache, type TrainConfigOverrides, type TrainedModelBundle, type TrialHistoryEntry } from '@engine/training';
import { stagingKey, type ArtifactStore, type MetricsHistoryEntry, type Registry, type TrialLedger } from '@engine/registry';

/** `[runDate − windowDays, runDate)` in epoch ms: the run day itself is never in the window. */
export function trainingWindow(runDate: string, windowDays: number): { start: number; end: number } {
  const end = parseUtcDay(runDate, 'runDate');
  return { start: end - windowDays * DAY_MS, end };
}

/** Days of candles loaded before a training window so its features are warm from its first minute (the recipe's longest window, rounded up). */
export const WARMUP_HISTORY_DAYS = Math.ceil(RECIPE_WARMUP / 1440);

/**
 * The history starts on a fixed calendar grid of this many days (from the epoch), at or
 * before `WARMUP_HISTORY_DAYS` before the window: consecutive runs then compute their
 * features and labels from the same first candle, so the rows they share are equal to the
 * last bit (rolling statistics and EWMs carry rounding from where they started), and
 * their shared folds are fit-cache hits. Once every 28 days the anchor moves and the run
 * fits every fold again.
 */
export const HISTORY_ANCHOR_DAYS = 28;

/** Where a window's warm-up history begins: the last anchor at or before `WARMUP_HISTORY_DAYS` before it. */
export function historyStart(windowStart: number): number {
  const anchor = HISTORY_ANCHOR_DAYS * DAY_MS;
  return Math.floor((windowStart - WARMUP_HISTORY_DAYS * DAY_MS) / anchor) * anchor;
}

/** Two adjacent series on one minute grid as one (history, then window). */
function joinCandles(a: CandleSeries, b: CandleSeries): CandleSeries {
  const cat = <T extends Float64Array | Uint8Array>(x: T, y: T): T => {
    const out = new (x.constructor as new (n: number) => T)(x.length + y.length);
    out.set(x);
    out.set(y, x.length);
    return out;
  };
  return { ...b, ts: cat(a.ts, b.ts), open: cat(a.open, b.open), high: cat(a.high, b.high), low: cat(a.low, b.low), close: cat(a.close, b.close), volume: cat(a.volume, b.volume), gap: cat(a.gap, b.gap) };
}

/**
 * A training job's candles: the window [start, end), and before it, when the source has
 * them, at least {@link WARMUP_HISTORY_DAYS} days of history from the calendar anchor
 * ({@link historyStart}) for the features' warm-up (the same
 * features the replay and Hamilton's warmed-up trader compute); when the source does not
 * reach back to the anchor, the minimal {@link WARMUP_HISTORY_DAYS} days; when it has not
 * even those (a listing younger than the window, a CSV file starting at the window) the
 * run trains cold, as before. A transient failure fails the job instead of silently
 * training cold.
 */
export async function loadTrainingCandles(
  ports: Pick<TrainingPorts, 'candles'>,
  req: { symbol: string; range: { start: number; end: number }; source: string; signal?: AbortSignal; onProgress?: (fraction: number) => void; onLoaded?: (s: { requests: number }) => void },
): Promise<{ candles: CandleSeries; windowStart: number }> {
  const window = await ports.candles(req);
  // From the anchor when the source reaches back that far, else the minimal warm-up (warm
  // features, but not computed from the anchor: no fits shared with other days), else none.
  for (const start of [historyStart(req.range.start), req.range.start - WARMUP_HISTORY_DAYS * DAY_MS]) {
    const range = { start, end: req.range.start };
    try {
      const history = await ports.candles({ symbol: req.symbol, range, source: req.source, signal: req.signal, onLoaded: req.onLoaded });
      if (history.ts.length > 0 && history.ts[0] === start && history.ts[history.ts.length - 1]! + MINUTE_MS === req.range.start) return { candles: joinCandles(history, window), windowStart: req.range.start };
    } catch (err) {
      if (!(err instanceof EngineError && err.permanent)) throw err;
    }
  }
  return { candles: window, windowStart: req.range.start };
}

/** The symbol's and the reference's candles with the same history (both warm, or both cold). */
export async function loadTrainingPair(
  ports: Pick<TrainingPorts, 'candles'>,
  req: { symbol: string; reference: string; range: { start: number; end: number }; source: string; signal?: AbortSignal; onProgress?: (fraction: number) => void; onLoaded?: (s: { requests: number }) => void },
): Promise<{ candles: CandleSeries; reference: CandleSeries; windowStart: number }> {
  const a = await loadTrainingCandles(ports, { ...req, onProgress: req.onProgress && ((f) => req.onProgress!(f * 0.5)) });
  const b = await loadTrainingCandles(ports, { ...req, symbol: req.reference, onProgress: req.onProgress && ((f) => req.onProgress!(0.5 + f * 0.5)) });
  // one side without history: both train from the window (the grids must match)
  const trim = (c: CandleSeries): CandleSeries => sliceCandles(c, Math.max(0, (req.range.start - c.ts[0]!) / MINUTE_MS), c.ts.length);
  if (a.candles.ts.length !== b.candles.ts.length) return { candles: trim(a.candles), reference: trim(b.candles), windowStart: req.range.start };
  return { candles: a.candles, reference: b.candles, windowStart: req.range.start };
}

/** What the pipeline needs to know about training progress, as fractions of each stage. */
export type StageProgress = Omit<TrainProgress, 'pct'> & { fraction?: number };

/** The CPU side of a training job: candles in, bundle out (the candles and training packages). */
export interface TrainingPorts {
  /** 1-minute candles of `symbol` over `range` from `source`; a permanent error when unusable. */
  candles(req: { symbol: string; range: { start: number; end: number }; source: string; signal?: AbortSignal; onProgress?: (fraction: number) => void; onLoaded?: (s: { requests: number }) => void }): Promise<CandleSeries>;
  /** `trainSymbol`: features → labels → walk-forward → final model → bundle. Pure and CPU-bound. */
  train(
    input: {
      symbol: string;
      runDate: string;
      candles: CandleSeries;
      reference: CandleSeries;
      /** The window's first minute when the candles begin earlier (warm-up history; see `loadTrainingCandles`). */
      windowStart?: number;
      history: MetricsHistoryEntry[];
      trials?: TrialHistoryEntry[];
      /** Where the candles came from and their window: a perpetual's funding rates are loaded from the same source when the cost model needs them. */
      market?: { source: string; range: { start: number; end: number } };
      /** The training's clock (`created_at`, and `expires_at` from it): a replay pins it to its schedule. Default: now. */
      now?: Date;
      /** Hours the model stays fresh; default the configuration's ENGINE_MODEL_TTL_HOURS. */
      ttlHours?: number;
      /** The fold fits' cache (the registry's): folds already fitted on the same inputs are not fitted again. */
      fitCache?: FitCache;
    },
    hooks: { onProgress: (p: StageProgress) => void; signal?: AbortSignal; evaluate?: boolean },
    /** Overrides of the training defaults (the job's `training`); a bad one is a permanent ConfigError. */
    overrides?: TrainConfigOverrides,
  ): Promise<TrainedModelBundle>;
}

/** Everything a training job touches. */
export interface TrainContext {
  ports: TrainingPorts;
  registry: Registry;
  store: ArtifactStore;
  /** The trial ledger: every evaluation is recorded there, rejected and published alike. */
  trials: TrialLedger;
  /** `fleet` (a training job), `train` (engine train on one machine) or `replay` (engine replay): who evaluated it, in the ledger. */
  source: 'fleet' | 'train' | 'replay';
  /**
   * A replay's schedule (engine replay): the day's job trains at `clock(runDate)` (its
   * `created_at`) and its model stays fresh `ttlHours`. Absent: now, and the configuration's TTL.
   */
  schedule?: { clock: (runDate: string) => Date; ttlHours: number };
  /** Recorded in the publish log as the model's author, e.g. `worker:<pod id>`. */
  actor: string;
  /** The fold fits' content-addressed cache; absent: every fold is fitted. */
  fitCache?: FitCache;
}

export interface TrainHooks {
  progress(p: TrainProgress): void;
  signal?: AbortSignal;
  log: Logger;
}

/** Where each stage sits on the job's 0‥100 progress bar. */
const STAGE_SPAN: Record<TrainProgress['stage'], [number, number]> = {
  candles: [0, 10],
  features: [10, 20],
  labels: [20, 25],
  fold: [25, 85],
  final: [85, 95],
  export: [95, 98],
  registry: [98, 100],
  done: [100, 100],
};

/** Map a stage-local progress report to the whole job's percentage. */
export function overallProgress(p: StageProgress): TrainProgress {
  const [a, b] = STAGE_SPAN[p.stage];
  let f = p.fraction ?? 0;
  if (p.stage === 'fold' && p.fold !== undefined && p.folds !== undefined && p.folds > 0) f = (p.fold - 1 + (p.fraction ?? 0)) / p.folds;
  const pct = Math.round((a + (b - a) * Math.min(1, Math.max(0, f))) * 10) / 10;
  const { fraction: _fraction, ...rest } = p;
  return { ...rest, pct };
}

/** The symbol's counted trials (controls left out) in the ledger's lookback, for the deflated Sharpe gate. */
export async function ledgerLookback(ledger: TrialLedger, symbol: string, runDate: string): Promise<TrialHistoryEntry[]> {
  return ledger.list(symbol, trialLookback(runDate));
}

/** What `trainAndRecord` did: the (small) job result, the bundle just trained, and whether it was the one recorded. */
export interface TrainOutcome {
  result: TrainResult;
  bundle: TrainedModelBundle;
  /** False when (symbol, runDate) was already recorded: the registry kept that model (`result.modelId`). */
  created: boolean;
}

/**
 * One symbol's training job, the same in the fleet and on one machine: candles (and the
 * BTC/USDT reference) for `[runDate − windowDays, runDate)`, the symbol's gate history from
 * the registry, `trainSymbol`, then the bundle into the staging store and the model into the
 * registry, then the hand-off to publishing.
 *
 * Idempotent on (symbol, runDate): a job retried after its worker died trains again, but
 * the registry keeps the first recorded model; the retry's own staged bundle is removed and
 * the first model is the one its run decides on. So a kill at any point yields one model.
 *
 * The model is recorded HELD: its run publishes it only after every symbol is evaluated
 * and the candidates are adjusted together (`decideRun`, false-discovery control).
 */
export async function trainAndRecord(job: TrainJob, ctx: TrainContext, hooks: TrainHooks): Promise<TrainOutcome> {
  const { symbol, runDate, windowDays, source } = job;
  const range = trainingWindow(runDate, windowDays);
  const report = (p: StageProgress) => hooks.progress(overallProgress(p));
  const t0 = Date.now();

  // Cross-asset features compare the coin with BTC/USDT (BTC itself with ETH/USDT).
  const referenceSymbol = referenceSymbolFor(symbol);
  report({ stage: 'candles', fraction: 0, message: `${symbol} and ${referenceSymbol}, ${formatUtcDay(range.start)} → ${runDate} from ${source}` });
  let requests = 0;
  const onLoaded = (s: { requests: number }) => (requests += s.requests);
  const { candles, reference, windowStart } = await loadTrainingPair(ctx.ports, { symbol, reference: referenceSymbol, range, source, signal: hooks.signal, onProgress: (f) => report({ stage: 'candles', fraction: f }), onLoaded });
  report({ stage: 'candles', fraction: 1, message: `candles loaded with ${requests} request(s) to ${source}${candles.ts[0]! < windowStart ? `, with ${((windowStart - candles.ts[0]!) / DAY_MS).toFixed(0)} days of warm-up history` : ''}`, candle_requests: requests });
  hooks.log.info({ rows: candles.ts.length, ms: Date.now() - t0 }, 'candles loaded');

  const history = await ctx.registry.gateHistory(symbol, 10, { before: runDate });
  const trials = await ledgerLookback(ctx.trials, symbol, runDate);
  const schedule = ctx.schedule ? { now: ctx.schedule.clock(runDate), ttlHours: ctx.schedule.ttlHours } : {};
  const bundle = await ctx.ports.train({ symbol, runDate, candles, reference, windowStart, history, trials, market: { source, range: { start: candles.ts[0] ?? range.start, end: range.end } }, ...schedule, ...(ctx.fitCache ? { fitCache: ctx.fitCache } : {}) }, { onProgress: report, signal: hooks.signal }, job.training);
  const m = bundle.manifest;
  if (m.symbol !== symbol || m.run_date !== runDate) {
    throw new PermanentError('BUNDLE_MISMATCH', `training returned a bundle for ${m.symbol} ${m.run_date}, expected ${symbol} ${runDate}`, { symbol, runDate });
  }
  if (!bundle.files.some((f) => f.name === BUNDLE_FILES.onnx)) {
    throw new PermanentError('BUNDLE_INCOMPLETE', `training returned a bundle for ${symbol} ${runDate} without ${BUNDLE_FILES.onnx}`, { symbol, runDate });
  }

  // The trial first: an evaluation counts even when recording or publishing fails after it.
  await ctx.trials.record({ ...bundle.trial, modelId: m.model_id, source: ctx.source });
  report({ stage: 'registry', fraction: 0, message: 'staging bundle and recording model' });
  const key = stagingKey({ modelId: m.model_id, symbol, runDate });
  await ctx.store.put(key, bundle);
  const { model, created } = await ctx.registry.recordModel(bundle, key, { actor: ctx.actor, hold: true });
  if (!created && model.location !== key) {
    // A retry of a job whose first attempt already recorded a model: keep that one.
    await ctx.store.delete(key);
    hooks.log.warn({ kept: model.id, discarded: m.model_id }, 'model already recorded for this symbol and day; kept the first, discarded this retry’s bundle');
  }
  report({ stage: 'done', message: `${model.verdict === 'published' ? 'passed its gates' : 'rejected'}; held for the run's decision` });
  hooks.log.info({ modelId: model.id, verdict: model.verdict, reasons: model.reasons, created, ms: Date.now() - t0, ...(bundle.fitCache ? { fitCache: bundle.fitCache } : {}) }, 'model recorded');
  return { result: { modelId: model.id, symbol, runDate, verdict: model.verdict, reasons: model.reasons, bundleRef: model.location }, bundle, created };
}

/**
 * A sweep's grid point: the same candles, gate history and training as a daily job, then
 * the trial into the ledger — and nothing else: no model is recorded, staged or published.
 * Idempotent: the ledger keeps one trial per (symbol, run date, configuration).
 */
export async function evaluateSweepPoint(job: TrainJob & { sweep: { id: string; point: number; evaluate?: boolean } }, ctx: Pick<TrainContext, 'ports' | 'registry' | 'trials'>, hooks: TrainHooks): Promise<SweepPointResult> {
  const { symbol, runDate, windowDays, source } = job;
  const range = trainingWindow(runDate, windowDays);
  const report = (p: StageProgress) => hooks.progress(overallProgress(p));
  const referenceSymbol = referenceSymbolFor(symbol);
  report({ stage: 'candles', fraction: 0, message: `${symbol} and ${referenceSymbol}, sweep ${job.sweep.id} point ${job.sweep.point}` });
  const { candles, reference, windowStart } = await loadTrainingPair(ctx.ports, { symbol, reference: referenceSymbol, range, source, signal: hooks.signal });
  const history = await ctx.registry.gateHistory(symbol, 10, { before: runDate });
  const trials = await ledgerLookback(ctx.trials, symbol, runDate);
  const evaluate = job.sweep.evaluate === true;
  const bundle = await ctx.ports.train({ symbol, runDate, candles, reference, windowStart, history, trials, market: { source, range: { start: candles.ts[0] ?? range.start, end: range.end } } }, { onProgress: report, signal: hooks.signal, evaluate }, job.training);
  const m = bundle.manifest;
  await ctx.trials.record({ ...bundle.trial, modelId: m.model_id, source: evaluate ? 'compare' : 'sweep', details: { sweep: job.sweep.id, point: job.sweep.point } });
  report({ stage: 'done', message: 'trial recorded' });
  return {
    sweepId: job.sweep.id,
    point: job.sweep.point,
    symbol,
    runDate,
    configHash: bundle.trial.configHash,
    modelId: m.model_id,
    passed: m.gates.passed,
    failed: m.gates.failed,
    trades: m.metrics.total_trades,
    sharpe: bundle.trial.sharpe,
    psr0: bundle.trial.psr0,
    oosDays: bundle.trial.oosDays,
    sharpeAnnual: m.metrics.sharpe_ratio,
    meanNetBps: m.metrics.mean_net_bps,
    meanRoundTripBps: m.metrics.costs.mean_round_trip_bps,
    profitFactor: m.metrics.profit_factor_unbounded ? null : m.metrics.profit_factor,
    breakEvenBps: m.break_even?.round_trip_bps ?? null,
    ...(m.metrics.unfilled_signals !== undefined ? { unfilled: m.metrics.unfilled_signals } : {}),
    market: `${m.trading_params.side} ${m.cost_model.version === 'cost-v2' ? (m.cost_model.profile ?? 'cost-v2') : 'cost-v1'}`,
    ...(bundle.evaluation ? { evaluation: bundle.evaluation } : {}),
  };
}

/** The fleet's training job: `trainAndRecord`, returning only the small result BullMQ stores. */
export async function runTrainJob(job: TrainJob, ctx: TrainContext, hooks: TrainHooks): Promise<TrainResult> {
  return (await trainAndRecord(job, ctx, hooks)).result;
}
