import { buildFeatures } from '@engine/features';
import { GOLDEN_TOLERANCE, PPO_AGENT_MODEL_FORMAT, sha256Hex, toJsonBytes, tripleBarrierLabels, type CostModel, type ModelBundle, type ModelManifest, type PolicyGoldenFile, type PolicyGoldenRow } from '@engine/model';
import { ACTION_NAMES, ACTION_SELL, exportPolicyOnnx, featureStandardiser, POSITION_INPUTS, PpoAgent, PpoPolicy, type PositionState, type PpoPolicyLayer } from '@engine/ppo';
import { Mulberry32, type CandleSeries } from '@engine/shared';
import type { MarketTape } from '@engine/training';

/**
 * A `ppo` bundle made by hand from a trained (gbdt) fixture: its manifest adapted to a
 * trading agent (model_format engine-ppo-agent/1, threshold 0, no confidence model), a
 * random policy made to trade (buy on about a third of flat bars, sell on about a tenth of
 * long ones, so both barrier and agent exits happen), its ONNX graph, and policy golden
 * vectors computed by the native agent. Deterministic in `seed`.
 */
export interface AgentFixture {
  bundle: ModelBundle;
  agent: PpoAgent;
  /** The market tape training's TradingSim trades: labels of the bundle's label config and cost model, feature columns in the agent's order. */
  tape: MarketTape;
}

const HIDDEN = 12;

function gaussian(rng: Mulberry32): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** The value at quantile q of xs (sorted copy). */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/**
 * A policy over F features: hidden unit 0 is the position (tanh(±2)), the rest random
 * functions of the standardised features; HOLD's logit is a random readout, BUY's is
 * pushed down when long and SELL's when flat, and their biases are set at quantiles of
 * the margins over `rows` so the agent buys on about `buyShare` of flat bars and sells on
 * about `sellShare` of long ones.
 */
function tradingPolicy(seed: number, agentOf: (policy: PpoPolicy) => PpoAgent, F: number, rows: Float64Array[], buyShare: number, sellShare: number): PpoPolicy {
  const rng = new Mulberry32(seed);
  const O = F + POSITION_INPUTS.length;
  const w0 = new Array<number>(HIDDEN * O).fill(0);
  const b0 = new Array<number>(HIDDEN).fill(0);
  w0[F] = 4; // unit 0: +2 long, −2 flat
  b0[0] = -2;
  for (let j = 1; j < HIDDEN; j++) {
    for (let i = 0; i < F; i++) w0[j * O + i] = (gaussian(rng) * 1.5) / Math.sqrt(F);
    w0[j * O + F + 1] = gaussian(rng) * 0.5; // bars held
    w0[j * O + F + 2] = gaussian(rng) * 0.5; // unrealised
    b0[j] = gaussian(rng) * 0.2;
  }
  const w1 = new Array<number>(3 * HIDDEN).fill(0);
  for (let a = 0; a < 3; a++) for (let j = 1; j < HIDDEN; j++) w1[a * HIDDEN + j] = gaussian(rng);
  w1[1 * HIDDEN] = -20; // BUY: only when flat
  w1[2 * HIDDEN] = 20; // SELL: only when long
  const layers = (b1: number[]): PpoPolicyLayer[] => [
    { weights: w0, bias: b0 },
    { weights: w1, bias: b1 },
  ];
  // The margins over HOLD with zero output biases, flat and long (5 bars, 0 bps).
  const probe = agentOf(new PpoPolicy({ observationSize: O, actionCount: 3, hiddenSizes: [HIDDEN], layers: layers([0, 0, 0]) }));
  const margin = (x: Float64Array, p: PositionState, a: number): number => {
    const pr = probe.probabilities(x, p);
    return Math.log(pr[a]!) - Math.log(pr[0]!);
  };
  const flat = rows.map((x) => margin(x, { long: false, barsHeld: 0, unrealisedBps: 0 }, 1));
  const long = rows.map((x) => margin(x, { long: true, barsHeld: 5, unrealisedBps: 0 }, ACTION_SELL));
  const b1 = [0, -quantile(flat, 1 - buyShare), -quantile(long, 1 - sellShare)];
  return new PpoPolicy({ observationSize: O, actionCount: 3, hiddenSizes: [HIDDEN], layers: layers(b1) });
}

/** Golden rows: real rows of the tape with flat and long positions (never a near-tie), plus an all-missing row. */
function goldenRows(agent: PpoAgent, tape: MarketTape, from: number): PolicyGoldenRow[] {
  const out: PolicyGoldenRow[] = [];
  const F = agent.nFeatures;
  const positions: PositionState[] = [
    { long: false, barsHeld: 0, unrealisedBps: 0 },
    { long: true, barsHeld: 1, unrealisedBps: 3.25 },
    { long: true, barsHeld: 17, unrealisedBps: -41.5 },
    { long: true, barsHeld: 60, unrealisedBps: 900 },
  ];
  const add = (row: number | null, x: Float64Array, p: PositionState): void => {
    const probs = agent.probabilities(x, p);
    const sorted = Array.from(probs).sort((a, b) => b - a);
    if (sorted[0]! - sorted[1]! < 1e3 * GOLDEN_TOLERANCE) return;
    out.push({
      row,
      ts: row === null ? null : new Date(tape.ts[row]!).toISOString(),
      inputs: Array.from(x, (v) => (Number.isFinite(v) ? v : null)),
      position: [p.long ? 1 : 0, p.barsHeld, p.unrealisedBps],
      observation: Array.from(agent.observe(x, p)),
      action_probabilities: Array.from(probs),
      action: agent.act(x, p),
    });
  };
  const step = Math.floor((tape.ts.length - from) / 24);
  for (let k = 0; k < 24; k++) {
    const row = from + k * step;
    add(
      row,
      Float64Array.from({ length: F }, (_, i) => tape.columns[i]![row]!),
      positions[k % positions.length]!,
    );
  }
  add(0, Float64Array.from({ length: F }, (_, i) => tape.columns[i]![0]!), positions[0]!); // warm-up row: missing values
  add(null, new Float64Array(F).fill(Number.NaN), positions[1]!);
  return out;
}

/**
 * Turn a trained gbdt fixture into a trading agent's bundle over `candles` (the fixture's
 * or a longer series); the agent's feature statistics are those of rows [from, n).
 */
export function agentBundle(trained: ModelBundle, candles: CandleSeries, reference: CandleSeries, from: number, opts: { seed?: number; costs?: CostModel } = {}): AgentFixture {
  const m = structuredClone(trained.manifest) as ModelManifest;
  if (opts.costs) m.cost_model = opts.costs;
  const seed = opts.seed ?? 7;
  const frame = buildFeatures(candles, { reference });
  const index = new Map<string, number>(frame.names.map((n, i) => [n, i]));
  const columns = m.feature_names.map((n) => frame.columns[index.get(n)!]!);
  const F = columns.length;
  const rows = Int32Array.from({ length: candles.ts.length - from }, (_, k) => from + k);
  const { means, scales } = featureStandardiser(columns, rows);
  const agentOf = (policy: PpoPolicy) => new PpoAgent({ featureNames: m.feature_names, means, scales, horizonMinutes: m.labelling.horizon_minutes, policy });
  const sample = Array.from({ length: 400 }, (_, k) => Float64Array.from(columns, (c) => c[rows[Math.floor((k * rows.length) / 400)]!]!));
  const agent = agentOf(tradingPolicy(seed, agentOf, F, sample, 0.35, 0.1));
  const labels = tripleBarrierLabels(candles, m.labelling, m.cost_model);
  const tape: MarketTape = {
    ts: candles.ts,
    open: candles.open,
    close: candles.close,
    labels,
    columns,
    costs: m.cost_model,
    rules: { cooldown_seconds: m.trading_params.cooldown_seconds, max_trades_per_day: m.trading_params.max_trades_per_day },
  };
  const golden: PolicyGoldenFile = {
    kind: 'policy',
    description: 'test fixture: a random trading agent',
    feature_names: [...m.feature_names],
    position_inputs: [...POSITION_INPUTS],
    actions: [...ACTION_NAMES],
    rows: goldenRows(agent, tape, from),
    tolerance: { relative: 1e-5, absolute: 1e-5, note: 'readers apply GOLDEN_TOLERANCE' },
  };
  const files = [
    ...trained.files.filter((f) => !['model.onnx', 'model.json', 'golden.json', 'confidence.json', 'confidence.onnx', 'manifest.json'].includes(f.name)),
    { name: 'model.json', bytes: new TextEncoder().encode(agent.serialize()) },
    { name: 'model.onnx', bytes: exportPolicyOnnx(agent.policy) },
    { name: 'golden.json', bytes: toJsonBytes(golden) },
  ];
  const manifest = m;
  manifest.engine.model_format = PPO_AGENT_MODEL_FORMAT;
  delete manifest.model_family;
  manifest.trading_params.recommended_edge_threshold_bps = 0;
  manifest.thresholds.final.trade = true;
  manifest.hyperparameters = { model: null, confidence_model: null };
  manifest.artifacts = Object.fromEntries(files.map((f) => [f.name, sha256Hex(f.bytes)]));
  return { bundle: { manifest, files }, agent, tape };
}

/** A copy of an agent bundle with one file replaced (its hash updated: a consistent but broken bundle). */
export function replaceFile(bundle: ModelBundle, name: string, bytes: Uint8Array): ModelBundle {
  const files = bundle.files.map((f) => (f.name === name ? { name, bytes } : f));
  return { manifest: { ...bundle.manifest, artifacts: { ...bundle.manifest.artifacts, [name]: sha256Hex(bytes) } }, files };
}
