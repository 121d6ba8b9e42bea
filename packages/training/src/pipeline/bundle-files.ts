import { formatUtcDay } from '@engine/shared';
import { exportPortableOnnx, type PortableModel, portableImportance } from '@engine/ensemble';
import {
  BUNDLE_FILES,
  type BundleFile,
  type CostModel,
  type EquityFile,
  type FoldReport,
  type GoldenFile,
  type ImportanceFile,
  type ManifestMetrics,
  type PolicyGoldenFile,
  type RecordedThreshold,
  recordProfitFactor,
  sha256Hex,
  toJsonBytes,
  type TripleBarrierLabels,
} from '@engine/model';
import { bpsToGbp, dailyPnl, type TradeMetrics, tradeDay } from '../metrics/trade-metrics';
import { rankIc } from '../metrics/stats';
import type { SimTrade } from '../simulation/simulate';
import type { ThresholdChoice } from '../threshold/select-threshold';
import type { Fold } from '../walk-forward/folds';
import type { OutOfSample } from './fit-plan';
import { ACTION_NAMES, exportPolicyOnnx, POSITION_INPUTS, type PositionState, type PpoAgent } from '@engine/ppo';
import { ENGINE_VERSION } from './version';

const iso = (ms: number): string => new Date(ms).toISOString();

/** Metrics as the manifest and folds.json record them (every number finite). */
export function recordMetrics(m: TradeMetrics): ManifestMetrics {
  return { ...m, ...recordProfitFactor(m.profit_factor) };
}

/** A threshold choice as recorded (without the candidate list). */
export function recordThreshold(c: ThresholdChoice): RecordedThreshold {
  return {
    threshold_bps: c.threshold_bps,
    source: c.source,
    rule: c.rule,
    trade: c.trade,
    calibration_start: iso(c.calibration_start),
    calibration_end: iso(c.calibration_end),
    calibration_rows: c.calibration_rows,
    calibration_trades: c.trades,
    calibration_net_bps: c.total_net_bps,
  };
}

/** The fold table (folds.json and the CLI): every fold, evaluated or skipped. */
export function foldReports(folds: readonly Fold[], oos: OutOfSample, foldMetrics: Map<number, TradeMetrics>, labels: TripleBarrierLabels): FoldReport[] {
  return folds.map((f) => {
    const choice = oos.choices.get(f.index);
    const m = foldMetrics.get(f.index);
    let ic: number | null = null;
    let meanPred: number | null = null;
    let meanLabel: number | null = null;
    if (!f.skipped && f.test_rows.length > 0 && !oos.agents) {
      const p = Float64Array.from(f.test_rows, (i) => oos.predictions[i]!);
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
}

/** Golden rows: early (warm-up, NaN-bearing) rows, then evenly spaced ones, always the last. */
function goldenRowIndices(n: number, count: number): number[] {
  const picks = new Set<number>();
  for (const r of [0, 1, 2, 5, 20, 59, 60, 61, 200, 1500]) if (r < n && picks.size < Math.ceil(count / 4)) picks.add(r);
  const rest = count - picks.size;
  for (let k = 0; k < rest; k++) picks.add(Math.min(n - 1, Math.floor(((k + 1) * (n - 1)) / rest)));
  return [...picks].sort((a, b) => a - b);
}

/** golden.json: inputs → expected outputs of the models, for every reader to check itself against. */
function goldenVectors(names: string[], columns: Float64Array[], ts: Float64Array, count: number, edge: PortableModel, confidence: PortableModel, files = 'model.onnx (outputs predicted_edge_bps and confidence), model.json and confidence.json'): GoldenFile {
  const goldenIdx = goldenRowIndices(ts.length, count);
  const goldenInputs = goldenIdx.map((i) => columns.map((c) => c[i]!));
  goldenInputs.push(names.map(() => NaN));
  return {
    description: `inputs → expected outputs of ${files}; null inputs are missing values (NaN)`,
    feature_names: names,
    rows: goldenInputs.map((row, k) => ({
      row: k < goldenIdx.length ? goldenIdx[k] : null,
      ts: k < goldenIdx.length ? iso(ts[goldenIdx[k]!]!) : null,
      inputs: row,
      predicted_edge_bps: edge.predictRow(row),
      confidence: confidence.predictRow(row),
    })),
    tolerance: { relative: 1e-5, absolute: 1e-4, note: 'ONNX evaluates in float32' },
  };
}

/** The position states the agent's golden rows are checked in: flat, just entered, held a while in profit and at a loss. */
const GOLDEN_POSITIONS: PositionState[] = [
  { long: false, barsHeld: 0, unrealisedBps: 0 },
  { long: true, barsHeld: 1, unrealisedBps: 3.5 },
  { long: true, barsHeld: 3, unrealisedBps: 42.25 },
  { long: true, barsHeld: 2, unrealisedBps: -27.75 },
];

/**
 * golden.json of a trading agent: golden feature rows in several position states, with
 * the observation, the policy's action probabilities and its greedy action. A row whose top
 * two probabilities are within 1e-4 is left out (float32 rounding could flip its action).
 */
function policyGoldenVectors(names: string[], columns: Float64Array[], ts: Float64Array, count: number, agent: PpoAgent): PolicyGoldenFile {
  const idx = goldenRowIndices(ts.length, count);
  const rows: PolicyGoldenFile['rows'] = [];
  const inputs: { row: number | null; x: number[] }[] = idx.map((i) => ({ row: i, x: columns.map((c) => c[i]!) }));
  inputs.push({ row: null, x: names.map(() => NaN) });
  inputs.forEach(({ row, x }, k) => {
    const pos = GOLDEN_POSITIONS[k % GOLDEN_POSITIONS.length]!;
    const observation = agent.observe(x, pos);
    const probs = agent.policy.actionProbabilities(observation);
    const sorted = Array.from(probs).sort((a, b) => b - a);
    if (sorted[0]! - sorted[1]! < 1e-4) return;
    rows.push({
      row,
      ts: row === null ? null : iso(ts[row]!),
      inputs: x,
      position: [pos.long ? 1 : 0, pos.barsHeld, pos.unrealisedBps],
      observation: Array.from(observation),
      action_probabilities: Array.from(probs),
      action: agent.policy.greedyAction(observation),
    });
  });
  return {
    kind: 'policy',
    description: 'feature rows (null = missing) in a position state → the agent\'s observation (model.onnx\'s input) → action probabilities and the greedy action, of model.json and model.onnx',
    feature_names: names,
    position_inputs: [...POSITION_INPUTS],
    actions: [...ACTION_NAMES],
    rows,
    tolerance: { relative: 1e-5, absolute: 1e-5, note: 'ONNX evaluates in float32; greedy actions must match exactly' },
  };
}

/** importance.json of an agent: per feature, the summed |weight| of its first policy layer (inputs are standardised). */
function agentImportance(names: string[], agent: PpoAgent): ImportanceFile {
  const w = agent.policy.layers[0]!.weights;
  const O = agent.observationSize;
  const H = w.length / O;
  const gain = names.map((_, k) => {
    let s = 0;
    for (let j = 0; j < H; j++) s += Math.abs(w[j * O + k]!);
    return s;
  });
  return { model: BUNDLE_FILES.native, features: names.map((name, k) => ({ name, gain: gain[k]!, splits: 0 })).sort((a, b) => b.gain - a.gain || (a.name < b.name ? -1 : 1)) };
}

/** equity.json: the out-of-sample equity curve, fold windows and daily P&L. */
function equityCurve(trades: readonly SimTrade[], evaluated: readonly Fold[], oosDays: number[], costs: CostModel): EquityFile {
  const daily = dailyPnl(trades, oosDays, costs);
  let eqGbp = 0;
  let eqBps = 0;
  return {
    description: 'out-of-sample equity curve of the walk-forward (time-ordered trades, each fold traded by its own model and threshold)',
    currency: 'GBP',
    fold_boundaries: evaluated.map((f) => ({ fold: f.index, test_start: iso(f.test_start), test_end: iso(f.test_end) })),
    points: trades.map((t) => {
      eqGbp += bpsToGbp(t.net_bps, costs);
      eqBps += t.net_bps;
      return { exit: iso(t.exit_ts), fold: t.fold, net_bps: t.net_bps, equity_gbp: eqGbp, equity_bps: eqBps, exit_reason: (['none', 'tp', 'sl', 'time', 'none', 'agent'] as const)[t.exit_reason]! };
    }),
    daily: oosDays.map((d, k) => ({ day: formatUtcDay(d), pnl_gbp: daily[k]!, trades: trades.filter((t) => tradeDay(t) === d).length })),
  };
}

/** importance.json: the final model's importance, ranked by gain. */
function importance(names: string[], model: PortableModel): ImportanceFile {
  const { gain, split } = portableImportance(model);
  return {
    model: BUNDLE_FILES.native,
    features: names.map((name, k) => ({ name, gain: gain[k]!, splits: split[k]! })).sort((a, b) => b.gain - a.gain || (a.name < b.name ? -1 : 1)),
  };
}

/** Everything the bundle's files are made of. */
export interface BundleFilesInput {
  modelId: string;
  symbol: string;
  runDate: string;
  recipe: { version: string; hash: string };
  names: string[];
  columns: Float64Array[];
  ts: Float64Array;
  goldenRows: number;
  oos: OutOfSample;
  /** `side: both`: the short side's walk-forward, whose final models ship as model-short.* (null otherwise). */
  shortOos: OutOfSample | null;
  folds: FoldReport[];
  trades: readonly SimTrade[];
  evaluated: readonly Fold[];
  oosDays: number[];
  costs: CostModel;
}

/**
 * The bundle's files (every one but manifest.json) and their SHA-256: model.onnx (edge +
 * confidence), the native trees, golden vectors, the fold table, the equity curve and
 * the feature importance.
 */
export function buildBundleFiles(b: BundleFilesInput): { files: BundleFile[]; artifacts: Record<string, string> } {
  const { finalModel, confidenceModel } = b.oos;
  if (b.oos.agents) {
    // a trading agent: model.json is the agent (standardiser + policy), model.onnx its policy graph
    const agent = b.oos.agents.finalAgent;
    const files: BundleFile[] = [
      { name: BUNDLE_FILES.onnx, bytes: exportPolicyOnnx(agent.policy, { producerVersion: ENGINE_VERSION, metadata: { model_id: b.modelId, symbol: b.symbol, run_date: b.runDate, recipe_version: b.recipe.version, recipe_hash: b.recipe.hash, input: 'the agent observation of model.json (standardised features, then position inputs)' } }) },
      { name: BUNDLE_FILES.native, bytes: new TextEncoder().encode(agent.serialize()) },
      { name: BUNDLE_FILES.golden, bytes: toJsonBytes(policyGoldenVectors(b.names, b.columns, b.ts, b.goldenRows, agent)) },
      { name: BUNDLE_FILES.folds, bytes: toJsonBytes(b.folds) },
      { name: BUNDLE_FILES.equity, bytes: toJsonBytes(equityCurve(b.trades, b.evaluated, b.oosDays, b.costs)) },
      { name: BUNDLE_FILES.importance, bytes: toJsonBytes(agentImportance(b.names, agent)) },
    ];
    const artifacts: Record<string, string> = {};
    for (const f of files) artifacts[f.name] = sha256Hex(f.bytes);
    return { files, artifacts };
  }
  if (!finalModel || !confidenceModel) throw new Error('unreachable: a tree, linear or ensemble walk-forward without its final models');
  const onnx = exportPortableOnnx({
    edge: finalModel,
    confidence: confidenceModel,
    producerVersion: ENGINE_VERSION,
    metadata: { model_id: b.modelId, symbol: b.symbol, run_date: b.runDate, recipe_version: b.recipe.version, recipe_hash: b.recipe.hash },
  });
  const files: BundleFile[] = [
    { name: BUNDLE_FILES.onnx, bytes: onnx },
    { name: BUNDLE_FILES.native, bytes: new TextEncoder().encode(finalModel.serialize()) },
    { name: BUNDLE_FILES.confidence, bytes: new TextEncoder().encode(confidenceModel.serialize()) },
    { name: BUNDLE_FILES.golden, bytes: toJsonBytes(goldenVectors(b.names, b.columns, b.ts, b.goldenRows, finalModel, confidenceModel)) },
    { name: BUNDLE_FILES.folds, bytes: toJsonBytes(b.folds) },
    { name: BUNDLE_FILES.equity, bytes: toJsonBytes(equityCurve(b.trades, b.evaluated, b.oosDays, b.costs)) },
    { name: BUNDLE_FILES.importance, bytes: toJsonBytes(importance(b.names, finalModel)) },
  ];
  if (b.shortOos) {
    const s = { finalModel: b.shortOos.finalModel!, confidenceModel: b.shortOos.confidenceModel! };
    const shortOnnx = exportPortableOnnx({
      edge: s.finalModel,
      confidence: s.confidenceModel,
      producerVersion: ENGINE_VERSION,
      docString: 'Engine gradient-boosted trees, short side: predicted net edge of a short (bps) and confidence',
      metadata: { model_id: b.modelId, symbol: b.symbol, run_date: b.runDate, recipe_version: b.recipe.version, recipe_hash: b.recipe.hash, side: 'short' },
    });
    files.push(
      { name: BUNDLE_FILES.onnxShort, bytes: shortOnnx },
      { name: BUNDLE_FILES.nativeShort, bytes: new TextEncoder().encode(s.finalModel.serialize()) },
      { name: BUNDLE_FILES.confidenceShort, bytes: new TextEncoder().encode(s.confidenceModel.serialize()) },
      { name: BUNDLE_FILES.goldenShort, bytes: toJsonBytes(goldenVectors(b.names, b.columns, b.ts, b.goldenRows, s.finalModel, s.confidenceModel, 'model-short.onnx, model-short.json and confidence-short.json')) },
    );
  }
  const artifacts: Record<string, string> = {};
  for (const f of files) artifacts[f.name] = sha256Hex(f.bytes);
  return { files, artifacts };
}
