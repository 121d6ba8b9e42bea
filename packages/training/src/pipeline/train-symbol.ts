import { createHash } from 'node:crypto';
import { type BundleFile, type ModelBundle, EXIT_NONE, tripleBarrierLabels, MANIFEST_SCHEMA_VERSION, type ModelManifest, type RecordedThreshold, finiteOrNull, recordProfitFactor, toJsonBytes } from '@engine/model';
import { type CandleSeries, DataError, MINUTE_MS, formatUtcDay, parsePair, parseUtcDay } from '@engine/shared';
import { buildFeatures } from '@engine/features';
import { evaluateGates, type GateHistoryEntry } from '../gates/gates';
import { type GbdtModel, resolveThreads, trainGbdt, exportOnnx } from '@engine/gbdt';
import { type TradeMetrics, daysInSpan, tradeDay, tradeMetrics, bpsToGbp, dailyPnl } from '../metrics/trade-metrics';
import { dailyVolatility, runScenarios } from '../scenarios/scenarios';
import { type SimSegment, simulateSegments } from '../simulation/simulate';
import { selectThreshold, type ThresholdChoice } from '../threshold/select-threshold';
import { type Fold, purgeRows, type RowTimeline, walkForwardFolds } from '../walk-forward/folds';
import { resolveTrainConfig, type TrainConfig, type TrainConfigOverrides } from './config';
import { type FitJob, FoldTrainerPool } from './fold-pool';
import { ENGINE_VERSION } from './version';

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
  /** The symbol's earlier models, for the gate medians (the registry supplies it). */
  history?: readonly GateHistoryEntry[];
  /**
   * Feature columns appended after the recipe's (research and negative controls only,
   * e.g. a planted leak). Recorded in the manifest; Hamilton cannot compute them.
   */
  extraFeatures?: { names: string[]; columns: Float64Array[] };
  /** Git commit of the engine, when the caller knows it. */
  gitCommit?: string | null;
  /** Clock for `created_at` (tests pin it). Default: now. */
  now?: Date;
  /** Model id; default a deterministic UUID from the symbol, run date, data hash and config. */
  modelId?: string;
}

export type TrainStage = 'candles' | 'features' | 'labels' | 'folds' | 'fold' | 'final' | 'export';

export interface TrainProgress {
  stage: TrainStage;
  /** Steps of this stage done / total (folds: folds finished / all folds). */
  done: number;
  total: number;
  message: string;
}

export interface TrainSymbolOptions {
  onProgress?: (p: TrainProgress) => void;
  /** Aborts between stages and between trees. */
  signal?: AbortSignal;
  /**
   * Threads (default: every core): independent model fits (folds, calibration, final,
   * confidence) run in parallel, one single-threaded fit per thread. Never changes the result.
   */
  threads?: number;
}

/** One row of the fold table (folds.json and the CLI). Times are ISO strings. */
export interface FoldReport {
  fold: number;
  train_start: string;
  train_end: string;
  test_start: string;
  test_end: string;
  skipped: boolean;
  skip_reason: string | null;
  train_rows: number;
  test_rows: number;
  purged: number;
  embargoed: number;
  coverage: { train: number; test: number };
  threshold: (RecordedThreshold & { candidates: ThresholdChoice['candidates'] }) | null;
  /** Spearman rank correlation of predictions with the true net edge on the test rows. */
  rank_ic: number | null;
  mean_prediction_bps: number | null;
  mean_label_bps: number | null;
  metrics: ReturnType<typeof recordMetrics> | null;
}

/** The bundle plus the tables a caller prints. `manifest.artifacts` hashes every file. */
export interface TrainedModelBundle extends ModelBundle {
  manifest: ModelManifest;
  folds: FoldReport[];
}

const iso = (ms: number): string => new Date(ms).toISOString();

function recordMetrics(m: TradeMetrics): Omit<TradeMetrics, 'profit_factor'> & { profit_factor: number; profit_factor_unbounded: boolean } {
  return { ...m, ...recordProfitFactor(m.profit_factor) };
}

function recordThreshold(c: ThresholdChoice): RecordedThreshold {
  return {
    threshold_bps: c.threshold_bps,
    source: c.source,
    rule: c.rule,
    calibration_start: iso(c.calibration_start),
    calibration_end: iso(c.calibration_end),
    calibration_rows: c.calibration_rows,
    calibration_trades: c.trades,
    calibration_net_bps: c.total_net_bps,
  };
}

/** SHA-256 hex of typed arrays' bytes, in order. */
function hashColumns(arrays: ArrayBufferView[]): string {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

function candleHash(c: CandleSeries): string {
  return hashColumns([c.ts, c.open, c.high, c.low, c.close, c.volume, c.gap]);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A UUID (version 8, RFC 9562 layout) derived from a string: the same inputs give the same id. */
function deterministicUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Spearman rank correlation (average ranks for ties); null with < 3 pairs or no variance. */
function rankIc(a: Float64Array, b: Float64Array): number | null {
  const n = a.length;
  if (n < 3) return null;
  const rank = (x: Float64Array): Float64Array => {
    const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => x[i]! - x[j]!);
    const r = new Float64Array(n);
    for (let k = 0; k < n; ) {
      let e = k;
      while (e + 1 < n && x[idx[e + 1]!] === x[idx[k]!]) e++;
      const avg = (k + e) / 2;
      for (let m = k; m <= e; m++) r[idx[m]!] = avg;
      k = e + 1;
    }
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const mean = (n - 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = ra[i]! - mean;
    const db = rb[i]! - mean;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : null;
}

/** Fisher–Yates permutation of `values` at `rows`, seeded (mulberry32). */
function permuteAt(values: Float64Array, rows: Int32Array, seed: number): void {
  let a = seed >>> 0;
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let k = rows.length - 1; k > 0; k--) {
    const j = Math.floor(rnd() * (k + 1));
    const ik = rows[k]!;
    const ij = rows[j]!;
    const t = values[ik]!;
    values[ik] = values[ij]!;
    values[ij] = t;
  }
}

/** Golden rows: early (warm-up, NaN-bearing) rows, then evenly spaced ones, always the last. */
function goldenRowIndices(n: number, count: number): number[] {
  const picks = new Set<number>();
  for (const r of [0, 1, 2, 5, 20, 59, 60, 61, 200, 1500]) if (r < n && picks.size < Math.ceil(count / 4)) picks.add(r);
  const rest = count - picks.size;
  for (let k = 0; k < rest; k++) picks.add(Math.min(n - 1, Math.floor(((k + 1) * (n - 1)) / rest)));
  return [...picks].sort((a, b) => a - b);
}

function checkCandles(input: TrainSymbolInput, cfg: TrainConfig): void {
  const c = input.candles;
  const want = parsePair(input.symbol).symbol;
  if (parsePair(c.symbol).symbol !== want) {
    throw new DataError('CANDLES_SYMBOL_MISMATCH', `trainSymbol(${want}): candles are for ${c.symbol}`, { symbol: want, candles: c.symbol });
  }
  const n = c.ts.length;
  const needDays = cfg.walk_forward.train_days + cfg.walk_forward.test_days;
  if (n < needDays * 1440) {
    throw new DataError('HISTORY_TOO_SHORT', `${want}: ${n} candles (${(n / 1440).toFixed(2)} days) cannot hold one walk-forward fold of ${cfg.walk_forward.train_days} + ${cfg.walk_forward.test_days} days`, {
      symbol: want,
      rows: n,
    });
  }
  for (const [name, col] of [['open', c.open], ['high', c.high], ['low', c.low], ['close', c.close], ['volume', c.volume], ['gap', c.gap]] as const) {
    if (col.length !== n) throw new DataError('CANDLES_INVALID', `${want}: column ${name} has ${col.length} rows, ts has ${n}`, { symbol: want });
  }
  const t0 = c.ts[0]!;
  const runDay = parseUtcDay(input.runDate, 'runDate');
  if (c.ts[n - 1]! + MINUTE_MS > runDay) {
    throw new DataError('CANDLES_AFTER_RUN_DATE', `${want}: candles run to ${iso(c.ts[n - 1]! + MINUTE_MS)}, past the run date ${input.runDate}: a run on a day trains on [run_date − window, run_date) only`, {
      symbol: want,
      runDate: input.runDate,
    });
  }
  for (let i = 0; i < n; i++) {
    if (c.ts[i] !== t0 + i * MINUTE_MS) {
      throw new DataError('CANDLES_INVALID', `${want}: candle ${i} has ts ${iso(c.ts[i]!)}, expected ${iso(t0 + i * MINUTE_MS)} (a complete minute grid)`, { symbol: want, row: i });
    }
  }
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
  const { signal } = opts;
  const progress = (stage: TrainStage, done: number, total: number, message: string): void => {
    signal?.throwIfAborted();
    opts.onProgress?.({ stage, done, total, message });
  };
  const symbol = parsePair(input.symbol).symbol;
  parseUtcDay(input.runDate, 'runDate');

  // 1. Candles
  progress('candles', 0, 1, `checking ${input.candles.ts.length} candles`);
  checkCandles(input, cfg);
  const candles = input.candles;
  const n = candles.ts.length;
  const ts = candles.ts;
  const dataStart = ts[0]!;
  const dataEnd = ts[n - 1]! + MINUTE_MS;
  let gapRows = 0;
  for (let i = 0; i < n; i++) gapRows += candles.gap[i]!;
  const dataHash = candleHash(candles);
  const refHash = input.reference ? candleHash(input.reference) : null;
  progress('candles', 1, 1, `${n} candles, ${gapRows} gap rows, sha256 ${dataHash.slice(0, 12)}…`);

  // 2. Features
  progress('features', 0, 1, 'computing the feature recipe');
  const frame = buildFeatures(candles, input.reference ? { reference: input.reference } : {}, { signal });
  const extra = input.extraFeatures ?? { names: [], columns: [] };
  if (extra.names.length !== extra.columns.length || extra.columns.some((c) => c.length !== n)) {
    throw new DataError('EXTRA_FEATURES_INVALID', `${symbol}: extra features need one column of ${n} rows per name; got ${extra.names.length} names and columns of ${extra.columns.map((c) => c.length).join(', ')}`);
  }
  const names = [...frame.names, ...extra.names];
  const columns = [...frame.columns, ...extra.columns];
  progress('features', 1, 1, `${names.length} features, warm-up ${frame.warmup} rows`);

  // 3. Labels
  progress('labels', 0, 1, 'triple-barrier labelling');
  const labels = tripleBarrierLabels(candles, cfg.labels, cfg.costs);
  const usable = new Uint8Array(n);
  const labelEnd = new Float64Array(n).fill(NaN);
  let nUsable = 0;
  let sumNet = 0;
  let positive = 0;
  let sumCost = 0;
  for (let i = 0; i < n; i++) {
    if (labels.exit_reason[i] === EXIT_NONE) continue;
    usable[i] = 1;
    labelEnd[i] = ts[labels.exit_index[i]!]! + MINUTE_MS;
    nUsable++;
    sumNet += labels.net_edge_bps[i]!;
    sumCost += labels.fee_bps[i]! + labels.spread_bps[i]! + labels.slippage_bps[i]!;
    if (labels.net_edge_bps[i]! > 0) positive++;
  }
  const allRows = new Int32Array(nUsable);
  for (let i = 0, k = 0; i < n; i++) if (usable[i] === 1) allRows[k++] = i;
  // The training target: the net edge, or (negative control) the net edge shuffled across rows.
  const target = Float64Array.from(labels.net_edge_bps);
  if (cfg.controls.permute_target_seed !== null) permuteAt(target, allRows, cfg.controls.permute_target_seed);
  progress('labels', 1, 1, `${nUsable} labelled rows, mean net edge ${(sumNet / Math.max(1, nUsable)).toFixed(2)} bps`);

  // 4. Walk-forward
  const tl: RowTimeline = { ts, label_end: labelEnd, usable };
  const folds = walkForwardFolds(tl, cfg.walk_forward, { start: dataStart, end: dataEnd, horizon_minutes: cfg.labels.horizon_minutes });
  const embargoMinutes = cfg.walk_forward.embargo_minutes ?? cfg.labels.horizon_minutes + 1;
  const evaluated = folds.filter((f) => !f.skipped);
  if (evaluated.length === 0) {
    throw new DataError('NO_USABLE_FOLD', `${symbol}: none of ${folds.length} walk-forward folds has enough data: ${folds.map((f) => `fold ${f.index}: ${f.skip_reason}`).join('; ')}`, { symbol });
  }
  progress('folds', 0, folds.length, `${folds.length} folds (${folds.length - evaluated.length} skipped)`);

  // Plan every fit: one model per evaluated fold; where the previous fold's out-of-sample
  // predictions do not cover this fold's calibration slice, an inner model fitted on the
  // training rows before it (purged); the final and the confidence model on all rows.
  const calibMs = Math.round(cfg.threshold.calibration_days * 1440) * MINUTE_MS;
  const jobs: FitJob[] = [];
  const foldJob = new Map<number, number>();
  const calibration = new Map<number, { rows: Int32Array; start: number; source: ThresholdChoice['source']; job: number | null }>();
  let prevEvaluated: Fold | null = null;
  for (const f of folds) {
    if (f.skipped) continue;
    foldJob.set(f.index, jobs.length);
    jobs.push({ id: jobs.length, rows: f.train_rows, params: cfg.model, predict: f.test_rows, wantModel: false });
    const calStart = f.train_end - calibMs;
    const calRows = f.train_rows.filter((i) => ts[i]! >= calStart);
    if (prevEvaluated && prevEvaluated.test_start === calStart && prevEvaluated.test_end === f.train_end) {
      calibration.set(f.index, { rows: calRows, start: calStart, source: 'previous_fold_oos', job: null });
    } else {
      let blockEnd = f.train_end;
      for (const i of calRows) if (labelEnd[i]! > blockEnd) blockEnd = labelEnd[i]!;
      const before = f.train_rows.filter((i) => ts[i]! < calStart);
      const inner = purgeRows(before, tl, calStart, blockEnd, f.train_end, f.train_end + embargoMinutes * MINUTE_MS).kept;
      calibration.set(f.index, { rows: calRows, start: calStart, source: 'inner_model', job: jobs.length });
      jobs.push({ id: jobs.length, rows: inner, params: cfg.model, predict: calRows, wantModel: false });
    }
    prevEvaluated = f;
  }
  const finalJob = jobs.length;
  jobs.push({ id: finalJob, rows: allRows, params: cfg.model, predict: new Int32Array(0), wantModel: true });
  const confidenceJob = jobs.length;
  jobs.push({ id: confidenceJob, rows: allRows, params: cfg.confidence_model, predict: new Int32Array(0), wantModel: true });

  const threads = opts.threads ?? resolveThreads(undefined);
  const foldOfJob = new Map([...foldJob].map(([fold, job]) => [job, fold]));
  let done = 0;
  for (const f of folds) if (f.skipped) progress('fold', ++done, folds.length, `fold ${f.index} skipped: ${f.skip_reason}`);
  const pool = FoldTrainerPool.create(Math.min(threads, jobs.length), { columns, target, names }, trainGbdt);
  let fits;
  try {
    fits = await pool.run(
      jobs,
      (job) => {
        const fold = foldOfJob.get(job.id);
        if (fold !== undefined) progress('fold', ++done, folds.length, `fold ${fold} fitted on ${job.rows.length} rows`);
      },
      signal,
    );
  } finally {
    await pool.close();
  }

  // Out-of-sample predictions, then each fold's threshold from its calibration slice.
  const oosPred = new Float64Array(n).fill(NaN);
  for (const f of evaluated) {
    const pred = fits.get(foldJob.get(f.index)!)!.predictions;
    for (let r = 0; r < f.test_rows.length; r++) oosPred[f.test_rows[r]!] = pred[r]!;
  }
  const choices = new Map<number, ThresholdChoice>();
  const segments: SimSegment[] = [];
  for (const f of evaluated) {
    const cal = calibration.get(f.index)!;
    const calPred = cal.job === null ? Float64Array.from(cal.rows, (i) => oosPred[i]!) : fits.get(cal.job)!.predictions;
    const choice = selectThreshold(cal.rows, calPred, labels, ts, cfg.trading, cfg.threshold, { source: cal.source, start: cal.start, end: f.train_end });
    choices.set(f.index, choice);
    segments.push({ fold: f.index, threshold_bps: choice.threshold_bps, rows: f.test_rows, predicted_bps: fits.get(foldJob.get(f.index)!)!.predictions });
  }
  const finalModel: GbdtModel = fits.get(finalJob)!.model!;
  const confidenceModel: GbdtModel = fits.get(confidenceJob)!.model!;
  const oosRows = Int32Array.from(segments.flatMap((s) => Array.from(s.rows)));
  const finalChoice = selectThreshold(oosRows, Float64Array.from(oosRows, (i) => oosPred[i]!), labels, ts, cfg.trading, cfg.threshold, {
    source: 'pooled_oos',
    start: evaluated[0]!.test_start,
    end: evaluated[evaluated.length - 1]!.test_end,
  });
  progress('final', 1, 1, `final model on ${allRows.length} rows and confidence model; final threshold ${finalChoice.threshold_bps.toFixed(2)} bps`);

  // 6. Simulation, metrics, gates, scenarios.
  const trades = simulateSegments(segments, labels, ts, cfg.trading);
  const oosDays = [...new Set(evaluated.flatMap((f) => daysInSpan(f.test_start, f.test_end)))].sort((a, b) => a - b);
  const overall = tradeMetrics(trades, oosDays, cfg.costs);
  const foldMetrics = new Map<number, TradeMetrics>();
  for (const f of evaluated) foldMetrics.set(f.index, tradeMetrics(trades.filter((t) => t.fold === f.index), daysInSpan(f.test_start, f.test_end), cfg.costs));
  const gates = evaluateGates(overall, [...foldMetrics.values()], input.history ?? [], cfg.gates);
  const scenarios = runScenarios(trades, oosDays, cfg.costs, dailyVolatility(candles, oosDays), cfg.scenarios);

  // 7. Export.
  progress('export', 0, 1, 'writing the bundle');
  const foldReports: FoldReport[] = folds.map((f) => {
    const choice = choices.get(f.index);
    const m = foldMetrics.get(f.index);
    let ic: number | null = null;
    let meanPred: number | null = null;
    let meanLabel: number | null = null;
    if (!f.skipped && f.test_rows.length > 0) {
      const p = Float64Array.from(f.test_rows, (i) => oosPred[i]!);
      const y = Float64Array.from(f.test_rows, (i) => labels.net_edge_bps[i]!);
      ic = rankIc(p, y);
      meanPred = p.reduce((a, b) => a + b, 0) / p.length;
      meanLabel = y.reduce((a, b) => a + b, 0) / y.length;
    }
    return {
      fold: f.index,
      train_start: iso(f.train_start),
      train_end: iso(f.train_end),
      test_start: iso(f.test_start),
      test_end: iso(f.test_end),
      skipped: f.skipped,
      skip_reason: f.skip_reason,
      train_rows: f.train_rows.length,
      test_rows: f.test_rows.length,
      purged: f.purged,
      embargoed: f.embargoed,
      coverage: f.coverage,
      threshold: choice ? { ...recordThreshold(choice), candidates: choice.candidates } : null,
      rank_ic: ic,
      mean_prediction_bps: meanPred,
      mean_label_bps: meanLabel,
      metrics: m ? recordMetrics(m) : null,
    };
  });

  const configDigest = createHash('sha256').update(JSON.stringify(cfg)).digest('hex');
  const modelId =
    input.modelId ?? deterministicUuid([symbol, input.runDate, dataHash, refHash ?? '-', configDigest, ENGINE_VERSION, extra.names.join(',')].join('|'));
  const onnx = exportOnnx({
    edge: finalModel,
    confidence: confidenceModel,
    producerVersion: ENGINE_VERSION,
    metadata: { model_id: modelId, symbol, run_date: input.runDate, recipe_version: frame.recipe.version, recipe_hash: frame.recipe.hash },
  });
  const modelJson = new TextEncoder().encode(finalModel.serialize());
  const confidenceJson = new TextEncoder().encode(confidenceModel.serialize());

  const goldenIdx = goldenRowIndices(n, cfg.golden_rows);
  const goldenInputs = goldenIdx.map((i) => columns.map((c) => c[i]!));
  goldenInputs.push(names.map(() => NaN));
  const golden = {
    description: 'inputs → expected outputs of model.onnx (outputs predicted_edge_bps and confidence), model.json and confidence.json; null inputs are missing values (NaN)',
    feature_names: names,
    rows: goldenInputs.map((row, k) => ({
      row: k < goldenIdx.length ? goldenIdx[k] : null,
      ts: k < goldenIdx.length ? iso(ts[goldenIdx[k]!]!) : null,
      inputs: row,
      predicted_edge_bps: finalModel.predictRow(row),
      confidence: confidenceModel.predictRow(row),
    })),
    tolerance: { relative: 1e-5, absolute: 1e-4, note: 'ONNX evaluates in float32' },
  };

  const daily = dailyPnl(trades, oosDays, cfg.costs);
  let eqGbp = 0;
  let eqBps = 0;
  const equity = {
    description: 'out-of-sample equity curve of the walk-forward (time-ordered trades, each fold traded by its own model and threshold)',
    currency: 'GBP',
    fold_boundaries: evaluated.map((f) => ({ fold: f.index, test_start: iso(f.test_start), test_end: iso(f.test_end) })),
    points: trades.map((t) => {
      eqGbp += bpsToGbp(t.net_bps, cfg.costs);
      eqBps += t.net_bps;
      return { exit: iso(t.exit_ts), fold: t.fold, net_bps: t.net_bps, equity_gbp: eqGbp, equity_bps: eqBps, exit_reason: ['none', 'tp', 'sl', 'time'][t.exit_reason] };
    }),
    daily: oosDays.map((d, k) => ({ day: formatUtcDay(d), pnl_gbp: daily[k]!, trades: trades.filter((t) => tradeDay(t) === d).length })),
  };
  const gain = finalModel.featureImportance('gain');
  const split = finalModel.featureImportance('split');
  const importance = {
    model: 'model.json',
    features: names
      .map((name, k) => ({ name, gain: gain[k]!, splits: split[k]! }))
      .sort((a, b) => b.gain - a.gain || (a.name < b.name ? -1 : 1)),
  };

  const files: BundleFile[] = [
    { name: 'model.onnx', bytes: onnx },
    { name: 'model.json', bytes: modelJson },
    { name: 'confidence.json', bytes: confidenceJson },
    { name: 'golden.json', bytes: toJsonBytes(golden) },
    { name: 'folds.json', bytes: toJsonBytes(foldReports) },
    { name: 'equity.json', bytes: toJsonBytes(equity) },
    { name: 'importance.json', bytes: toJsonBytes(importance) },
  ];
  const artifacts: Record<string, string> = {};
  for (const f of files) artifacts[f.name] = sha256Hex(f.bytes);

  const recipe = frame.recipe;
  const manifest: ModelManifest = {
    schema_version: MANIFEST_SCHEMA_VERSION,
    model_id: modelId,
    created_at: (input.now ?? new Date()).toISOString(),
    symbol,
    run_date: input.runDate,
    training_window_days: Math.round((n / 1440) * 1000) / 1000,
    data: {
      start: iso(dataStart),
      end: iso(dataEnd),
      rows: n,
      gap_rows: gapRows,
      candle_hash: dataHash,
      candle_hash_method: 'sha256 over the columns ts, open, high, low, close, volume (float64 little-endian) then gap (uint8), in that order',
      reference: input.reference && refHash ? { symbol: input.reference.symbol, candle_hash: refHash } : null,
    },
    feature_recipe: { version: recipe.version, hash: recipe.hash, names: [...frame.names] },
    feature_count: names.length,
    feature_names: names,
    extra_features: [...extra.names],
    hyperparameters: { model: finalModel.params, confidence_model: confidenceModel.params },
    labelling: {
      ...cfg.labels,
      labelled_rows: labels.labelled,
      dropped: labels.dropped,
      winnable_fraction: labels.winnable_fraction,
      mean_net_edge_bps: nUsable > 0 ? sumNet / nUsable : 0,
      positive_share: nUsable > 0 ? positive / nUsable : 0,
      warnings: labels.warnings,
    },
    cost_model: cfg.costs,
    walk_forward: {
      config: { ...cfg.walk_forward, embargo_minutes: embargoMinutes },
      folds_total: folds.length,
      folds_evaluated: evaluated.length,
      folds_skipped: folds.filter((f) => f.skipped).map((f) => ({ fold: f.index, reason: f.skip_reason ?? '' })),
      oos_start: iso(evaluated[0]!.test_start),
      oos_end: iso(evaluated[evaluated.length - 1]!.test_end),
      oos_days: oosDays.length,
      purged_rows: folds.reduce((a, f) => a + f.purged, 0),
      embargoed_rows: folds.reduce((a, f) => a + f.embargoed, 0),
    },
    thresholds: {
      method:
        'per fold: the candidate (quantiles of calibration predictions, never below min_threshold_bps) with the best total net bps under the trading rules on the last calibration_days of the training window, predicted by a model fitted on earlier data (the previous fold, or an inner model); final: the same on the pooled out-of-sample predictions of all folds',
      per_fold: evaluated.map((f) => ({ fold: f.index, ...recordThreshold(choices.get(f.index)!) })),
      final: recordThreshold(finalChoice),
    },
    metrics: recordMetrics(overall),
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
    trading_params: {
      recommended_edge_threshold_bps: finalChoice.threshold_bps,
      max_trades_per_day: cfg.trading.max_trades_per_day,
      cooldown_seconds: cfg.trading.cooldown_seconds,
      horizon_minutes: cfg.labels.horizon_minutes,
      side: cfg.labels.side,
      costs: {
        model_version: cfg.costs.version,
        fee_bps_per_side: cfg.costs.fee_bps_per_side,
        spread_bps: cfg.costs.spread_bps,
        slippage_floor_bps: cfg.costs.slippage.floor_bps,
        typical_round_trip_bps: nUsable > 0 ? sumCost / nUsable : 0,
      },
      notional_quote: cfg.costs.notional_quote,
      quote_to_gbp: cfg.costs.quote_to_gbp,
    },
    scenario_tests: scenarios.map((s) => ({ ...s, ...recordProfitFactor(s.profit_factor) })),
    action_space: {
      type: 'discrete',
      actions: ['hold', cfg.labels.side === 'long' ? 'enter_long' : 'enter_short'],
      entry: 'at a candle close, enter at the next open when predicted_edge_bps > recommended_edge_threshold_bps, no position is open, the cooldown since the last exit has passed and fewer than max_trades_per_day entries were made this UTC day',
      exit: 'first of take-profit, stop-loss (assumed first when both touch in one bar) or the close of the horizon_minutes-th bar, with barriers as in labelling',
      outputs: [
        { name: 'predicted_edge_bps', file: 'model.onnx', description: 'expected net edge after costs, bps of notional (native: model.json); input \'features\' float32 [N, feature_count] in feature_names order, NaN = missing' },
        { name: 'confidence', file: 'model.onnx', description: 'P(net edge > 0), in [0, 1] (native: confidence.json)' },
      ],
    },
    controls: { permute_target_seed: cfg.controls.permute_target_seed, extra_features: [...extra.names] },
    engine: { name: 'engine', version: ENGINE_VERSION, git_commit: input.gitCommit ?? null, model_format: 'engine-gbdt/1' },
    artifacts,
  };
  progress('export', 1, 1, `bundle of ${files.length} files; gates ${gates.passed ? 'passed' : `failed: ${gates.failed.join(', ')}`}`);
  return { manifest, files, folds: foldReports };
}
