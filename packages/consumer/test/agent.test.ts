import { EXIT_REASON_NAMES, liveRecordSchema, PPO_AGENT_MODEL_FORMAT, toJsonBytes, type CostModel, type LiveRecord, type ModelBundle, type PolicyGoldenFile } from '@engine/model';
import { exportPolicyOnnx, PpoPolicy } from '@engine/ppo';
import type { CandleSeries } from '@engine/shared';
import { costProfile, tradePolicySegments, type SimTrade } from '@engine/training';
import { GoldenVectorMismatchError, ManifestInvalidError, OnnxLoadError } from '../src/errors';
import type { LiveModel, PredictorKind } from '../src/live-model';
import type { ModelWatcher } from '../src/model-watcher';
import { openBundle } from '../src/open-model';
import { PositionTracker, type ClosedPosition } from '../src/position-tracker';
import { Trader, type CandleDecision } from '../src/trader';
import { agentBundle, replaceFile, type AgentFixture } from './support/agent-bundle';
import { alterManifest, FIXTURE_GUARDS, trainPlanted, type TrainedFixture } from './support/bundles';

/**
 * A trading agent's bundle (family ppo) in the consumer: it opens with its policy golden
 * vectors checked natively and by ONNX, a broken one is refused with the contract's errors,
 * and trading it candle by candle through the `Trader` (native and ONNX) makes exactly the
 * trades training's `TradingSim` makes with the same agent on the same candles, agent
 * exits (sold at the next open) included.
 */
let fixture: TrainedFixture;
let agentFx: AgentFixture;
let candles: CandleSeries;
let reference: CandleSeries;
const DAY = 1440;
/** Warm-up (features, σ window) before the first decision; the replay is the last 2 days. */
const FROM = 8 * DAY;
const models: LiveModel[] = [];

beforeAll(async () => {
  fixture = await trainPlanted({ seed: 11 });
  candles = fixture.candles;
  reference = fixture.reference;
  agentFx = agentBundle(fixture.bundle, candles, reference, FROM);
}, 180_000);
afterAll(async () => {
  for (const m of models) await m.close();
});

async function open(bundle: ModelBundle): Promise<LiveModel> {
  const m = await openBundle(bundle, FIXTURE_GUARDS);
  models.push(m);
  return m;
}

const candleAt = (s: CandleSeries, i: number) => ({ ts: s.ts[i]!, open: s.open[i]!, high: s.high[i]!, low: s.low[i]!, close: s.close[i]!, volume: s.volume[i]!, gap: s.gap[i]! });

function withGolden(change: (g: PolicyGoldenFile) => void): ModelBundle {
  const bytes = agentFx.bundle.files.find((f) => f.name === 'golden.json')!.bytes;
  const g = JSON.parse(Buffer.from(bytes).toString('utf8')) as PolicyGoldenFile;
  change(g);
  return replaceFile(agentFx.bundle, 'golden.json', toJsonBytes(g));
}

describe('opening a ppo bundle', () => {
  test('loads the agent, checks its golden vectors with both predictors, and acts instead of predicting', async () => {
    const model = await open(agentFx.bundle);
    expect(model.agent).not.toBeNull();
    expect(model.agent!.featureNames).toEqual(agentFx.bundle.manifest.feature_names);
    expect(model.agentTrades).toBe(true);
    expect(model.hasNative).toBe(true);
    expect(model.tradingRules.threshold_bps).toBe(0);
    expect(model.golden.rows).toBeGreaterThanOrEqual(20);
    expect(model.golden.native_max_rel_error).toBeLessThanOrEqual(model.golden.tolerance);
    expect(model.golden.onnx_max_rel_error).toBeLessThanOrEqual(model.golden.tolerance);
    expect(model.golden.onnx_max_rel_error).toBeGreaterThan(0); // float32 arithmetic: really ran
    expect(model.describe()).toMatchObject({ agent: { features: agentFx.agent.nFeatures, trades: true } });
    // The edge-model API refuses, naming the agent's.
    const row = new Float64Array(200).fill(0.5);
    expect(() => model.predictNative(row)).toThrow(/trading agent .* use actNative/);
    await expect(model.predictOnnx(row)).rejects.toThrow(/use actOnnx/);
    // The golden rows cover all three actions.
    const golden = JSON.parse(Buffer.from(agentFx.bundle.files.find((f) => f.name === 'golden.json')!.bytes).toString('utf8')) as PolicyGoldenFile;
    const actions = new Set<number>();
    for (const r of golden.rows) actions.add(r.action);
    expect([...actions].sort()).toEqual([0, 1, 2]);
  });

  test('is told from model.json when the manifest does not say engine-ppo-agent/1', async () => {
    const b = alterManifest(agentFx.bundle, (m) => ((m.engine as { model_format: string }).model_format = 'engine-gbdt/1'));
    const model = await open(b);
    expect(model.agent).not.toBeNull();
  });

  test('refuses a golden probability that the agent does not reproduce, naming row, output and predictor', async () => {
    const b = withGolden((g) => (g.rows[3]!.action_probabilities[1] = g.rows[3]!.action_probabilities[1]! + 1e-3));
    const err = await openBundle(b, FIXTURE_GUARDS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoldenVectorMismatchError);
    expect((err as Error).message).toMatch(/golden vector 3, P\(buy\): native \(model\.json\) gives .* golden\.json expects 0\.001 \(relative error .* > 0\.00001\)/);
  });

  test('refuses a golden observation the agent does not rebuild, and a golden action it does not choose', async () => {
    const obs = withGolden((g) => (g.rows[2]!.observation[g.feature_names.length]! = 0.5));
    await expect(openBundle(obs, FIXTURE_GUARDS)).rejects.toThrow(GoldenVectorMismatchError);
    await expect(openBundle(obs, FIXTURE_GUARDS)).rejects.toThrow(/golden vector 2, observation\[\d+\]: native/);
    const act = withGolden((g) => (g.rows[1]!.action = (g.rows[1]!.action + 1) % 3));
    await expect(openBundle(act, FIXTURE_GUARDS)).rejects.toThrow(/golden vector 1, greedy action: native \(model\.json\) chooses \w+, golden\.json expects \w+/);
  });

  test('refuses observations of the wrong size: in golden.json, and a policy graph of another input size', async () => {
    const short = withGolden((g) => g.rows[0]!.observation.pop());
    await expect(openBundle(short, FIXTURE_GUARDS)).rejects.toThrow(GoldenVectorMismatchError);
    await expect(openBundle(short, FIXTURE_GUARDS)).rejects.toThrow(/not a valid policy golden file: .*observation.*expected \d+ values/);
    // A policy over one more input than the agent observes.
    const O = agentFx.agent.observationSize;
    const wide = new PpoPolicy({ observationSize: O + 1, actionCount: 3, hiddenSizes: [4], layers: [{ weights: new Array(4 * (O + 1)).fill(0.01), bias: [0, 0, 0, 0] }, { weights: new Array(12).fill(0.1), bias: [0, 0, 0] }] });
    const b = replaceFile(agentFx.bundle, 'model.onnx', exportPolicyOnnx(wide));
    const err = await openBundle(b, FIXTURE_GUARDS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnnxLoadError);
    expect((err as Error).message).toMatch(new RegExp(`model\\.onnx input 'observation' is float32\\[N, ${O + 1}\\], expected float32\\[N, ${O}\\]`));
  });

  test('refuses an agent that is not valid JSON, or observes other features than the manifest', async () => {
    const json = agentFx.bundle.files.find((f) => f.name === 'model.json')!.bytes;
    const cut = replaceFile(agentFx.bundle, 'model.json', json.subarray(0, json.length - 10));
    await expect(openBundle(cut, FIXTURE_GUARDS)).rejects.toThrow(ManifestInvalidError);
    await expect(openBundle(cut, FIXTURE_GUARDS)).rejects.toThrow(/model\.json is not a valid trading agent \(engine-ppo-agent\/1\): PPO agent is not JSON/);
    const j = agentFx.agent.toJson();
    [j.feature_names[0], j.feature_names[1]] = [j.feature_names[1]!, j.feature_names[0]!];
    const swapped = replaceFile(agentFx.bundle, 'model.json', new TextEncoder().encode(JSON.stringify(j)));
    await expect(openBundle(swapped, FIXTURE_GUARDS)).rejects.toThrow(/model\.json's agent observes features that differ from the manifest's feature_names at input 0/);
    expect(PPO_AGENT_MODEL_FORMAT).toBe('engine-ppo-agent/1');
  });

  test('refuses a short-side agent: agents trade long only', async () => {
    const b = alterManifest(agentFx.bundle, (m) => ((m.trading_params as { side: string }).side = 'short'));
    await expect(openBundle(b, FIXTURE_GUARDS)).rejects.toThrow(/a trading agent trades long only/);
  });
});

describe('the position tracker sells at the next open on request', () => {
  test('requestExit needs a filled position', async () => {
    const model = await open(agentFx.bundle);
    const tracker = new PositionTracker(model.symbol, model.labelConfig, model.costModel);
    expect(() => tracker.requestExit()).toThrow(/requestExit with no open position/);
    for (let i = 0; i < 200; i++) tracker.push(candleAt(candles, i));
    tracker.enter(Number.NaN, model.modelId);
    expect(() => tracker.requestExit()).toThrow(/before the entry has filled/);
    tracker.push(candleAt(candles, 200));
    expect(tracker.barsSinceSignal()).toBe(1);
    tracker.requestExit();
    expect(tracker.exitPending).toBe(true);
    const closed = tracker.push(candleAt(candles, 201))!;
    expect(closed.exit_reason).toBe('agent');
    expect(closed.exit_ts).toBe(candles.ts[201]);
    expect(closed.entry_price).toBe(candles.open[200]);
    expect(closed.gross_bps).toBeCloseTo((candles.open[201]! / candles.open[200]! - 1) * 1e4, 12);
    expect(closed.net_bps).toBeCloseTo(closed.gross_bps - closed.fee_bps - closed.spread_bps - closed.slippage_bps - closed.funding_bps, 12);
    expect(closed.fee_bps).toBeGreaterThan(0);
    expect(tracker.current()).toBeNull();
    expect(tracker.exitPending).toBe(false);
  });

  test('an agent exit pays a constant funding rate over its hold, as the simulation charges it', async () => {
    const model = await open(agentFx.bundle);
    const costs: CostModel = { ...costProfile('binance-usdm-taker').costs, funding: { mode: 'constant', constant_rate_bps: 1.5, interval_hours: 1 } };
    const tracker = new PositionTracker(model.symbol, model.labelConfig, costs);
    // The signal candle s: entry at the open of s + 1, sold at the open of s + 3, over the hour at s + 2.
    let s = 200;
    while (candles.ts[s + 2]! % 3_600_000 !== 0) s++;
    for (let i = 0; i <= s; i++) tracker.push(candleAt(candles, i));
    tracker.enter(0, model.modelId);
    tracker.push(candleAt(candles, s + 1));
    tracker.push(candleAt(candles, s + 2));
    tracker.requestExit();
    const closed = tracker.push(candleAt(candles, s + 3))!;
    expect([closed.exit_reason, closed.entry_ts, closed.exit_ts]).toEqual(['agent', candles.ts[s + 1], candles.ts[s + 3]]);
    expect(closed.funding_bps).toBe(1.5);
    expect(closed.net_bps).toBe(closed.gross_bps - (closed.fee_bps + closed.spread_bps + closed.slippage_bps) - 1.5);
  });
});

interface Replay {
  decisions: CandleDecision[];
  exits: ClosedPosition[];
  entries: number[];
}

async function replay(source: LiveModel | ModelWatcher, predictor: PredictorKind, records?: LiveRecord[], to = candles.ts.length): Promise<Replay> {
  const trader = new Trader({ symbol: candles.symbol, model: source, predictor, feedback: records ? { record: (r) => void records.push(r) } : undefined });
  for (let i = 0; i < FROM; i++) trader.warmUp(candleAt(candles, i), candleAt(reference, i));
  const out: Replay = { decisions: [], exits: [], entries: [] };
  for (let i = FROM; i < to; i++) {
    const d = predictor === 'native' ? trader.onCandleSync(candleAt(candles, i), candleAt(reference, i)) : await trader.onCandle(candleAt(candles, i), candleAt(reference, i));
    out.decisions.push(d);
    if (d.exit) out.exits.push(d.exit);
    if (d.enter) out.entries.push(d.position!.signal_ts);
  }
  return out;
}

/** The last bar the labeller labels (later ones lack a whole horizon): the simulation's segment ends there. */
function lastLabelled(fx: AgentFixture = agentFx): number {
  const net = fx.tape.labels.net_edge_bps;
  let last = net.length - 1;
  while (Number.isNaN(net[last]!)) last--;
  return last;
}

function expectSameTrades(sim: SimTrade[], live: Replay, last: number): void {
  const cut = candles.ts[last]!;
  const exits = live.exits.filter((e) => e.signal_ts <= cut);
  expect(live.entries.filter((t) => t <= cut)).toEqual(sim.map((t) => t.signal_ts));
  expect(exits.map((e) => e.signal_ts)).toEqual(sim.map((t) => t.signal_ts));
  expect(exits.map((e) => e.entry_ts)).toEqual(sim.map((t) => t.entry_ts));
  expect(exits.map((e) => e.exit_ts)).toEqual(sim.map((t) => t.exit_ts));
  expect(exits.map((e) => e.exit_reason)).toEqual(sim.map((t) => EXIT_REASON_NAMES[t.exit_reason]));
  exits.forEach((e, k) => {
    const s = sim[k]!;
    expect(Math.abs(e.net_bps - s.net_bps)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(e.gross_bps - s.gross_bps)).toBeLessThanOrEqual(1e-9);
    expect(e.fee_bps + e.spread_bps + e.slippage_bps).toBeCloseTo(s.fee_bps + s.spread_bps + s.slippage_bps, 9);
    expect(e.funding_bps).toBe(s.funding_bps);
    expect(e.side).toBe('long');
  });
}

describe('trading the agent through the Trader is training’s TradingSim', () => {
  test.each(['native', 'onnx'] as const)('the %s predictor makes the simulation’s trades exactly, agent exits included', async (predictor) => {
    const model = await open(agentFx.bundle);
    const last = lastLabelled();
    const sim = tradePolicySegments(agentFx.tape, [{ fold: 0, first: FROM, last, agent: agentFx.agent }]);
    const records: LiveRecord[] = [];
    const live = await replay(model, predictor, records);
    const reasons = new Map<number, number>();
    for (const t of sim) reasons.set(t.exit_reason, (reasons.get(t.exit_reason) ?? 0) + 1);
    // The agent trades, and both kinds of exit happen.
    expect(sim.length).toBeGreaterThanOrEqual(20);
    expect(reasons.get(EXIT_REASON_NAMES.indexOf('agent')) ?? 0).toBeGreaterThanOrEqual(5);
    expect(sim.length - (reasons.get(EXIT_REASON_NAMES.indexOf('agent')) ?? 0)).toBeGreaterThanOrEqual(5);
    expectSameTrades(sim, live, last);

    // Every decision says the agent's action; edges are NaN; a sell is reported as such.
    const byReason = new Map<string, number>();
    for (const d of live.decisions) {
      expect(d.action).toMatch(/^(hold|buy|sell)$/);
      expect(d.edge_bps).toBeNaN();
      byReason.set(d.reason, (byReason.get(d.reason) ?? 0) + 1);
      if (d.enter) expect(d.action).toBe('buy');
      if (d.reason === 'agent_exit') {
        expect(d.action).toBe('sell');
        expect(d.position).not.toBeNull();
      }
    }
    expect(byReason.get('agent_exit')).toBe(live.exits.filter((e) => e.exit_reason === 'agent').length + (live.decisions.at(-1)!.reason === 'agent_exit' ? 1 : 0));
    expect([...byReason.keys()]).toEqual(expect.arrayContaining(['enter', 'in_position', 'below_threshold', 'cooldown', 'agent_exit']));
    // An agent exit is at the open after its sell: the next decision sees it closed.
    for (let k = 1; k < live.decisions.length; k++) {
      const d = live.decisions[k]!;
      if (d.exit?.exit_reason === 'agent') {
        expect(live.decisions[k - 1]!.reason).toBe('agent_exit');
        expect(d.exit.exit_ts).toBe(d.ts);
      }
    }
    // Feedback: every record is valid, agent exits included.
    for (const r of records) expect(liveRecordSchema.safeParse(r).success).toBe(true);
    const trades = records.filter((r) => r.kind === 'trade');
    expect(trades.length).toBe(live.exits.length);
    expect(trades.some((r) => r.kind === 'trade' && r.exit_reason === 'agent')).toBe(true);
    console.log(`agent replay (${predictor}): ${sim.length} trades, ${reasons.get(EXIT_REASON_NAMES.indexOf('agent'))} agent exits; live ${live.entries.length} entries`);
  }, 120_000);

  test('on a perpetual with constant funding the trades, funding included, are the simulation’s', async () => {
    const costs: CostModel = { ...costProfile('binance-usdm-taker').costs, funding: { mode: 'constant', constant_rate_bps: 1.5, interval_hours: 1 } };
    const funded = agentBundle(fixture.bundle, candles, reference, FROM, { costs });
    const model = await open(funded.bundle);
    const sim = tradePolicySegments(funded.tape, [{ fold: 0, first: FROM, last: lastLabelled(funded), agent: funded.agent }]);
    const live = await replay(model, 'native');
    expect(sim.length).toBeGreaterThanOrEqual(20);
    expectSameTrades(sim, live, lastLabelled(funded));
    // (The horizon is a few minutes: some barrier exits span a funding time; an agent
    // exit's funding is checked on its own in the tracker's test above.)
    expect(sim.filter((t) => t.funding_bps !== 0).length).toBeGreaterThanOrEqual(2);
    expect(sim.some((t) => EXIT_REASON_NAMES[t.exit_reason] === 'agent')).toBe(true);
  }, 60_000);

  test('a model whose training record says not to trade never enters', async () => {
    const b = alterManifest(agentFx.bundle, (m) => ((m.thresholds as { final: { trade: boolean } }).final.trade = false));
    const model = await open(b);
    expect(model.agentTrades).toBe(false);
    const live = await replay(model, 'native', undefined, FROM + 600);
    expect(live.entries).toEqual([]);
    expect(live.decisions.some((d) => d.action === 'buy' && d.reason === 'below_threshold')).toBe(true);
  });

  test('models swap between candles: an edge model’s position is followed, then the agent trades', async () => {
    const agent = await open(agentFx.bundle);
    const edge = await open(fixture.bundle);
    let current: LiveModel = edge;
    const watcher = { current: () => current } as unknown as ModelWatcher;
    const trader = new Trader({ symbol: candles.symbol, model: watcher, predictor: 'native' });
    for (let i = 0; i < FROM; i++) trader.warmUp(candleAt(candles, i), candleAt(reference, i));
    const seen: CandleDecision[] = [];
    let swapped = -1;
    for (let i = FROM; i < FROM + 1200; i++) {
      // Swap to the agent while the edge model holds a position.
      if (swapped < 0 && trader.position() !== null && i > FROM + 100) {
        current = agent;
        swapped = seen.length;
      }
      seen.push(trader.onCandleSync(candleAt(candles, i), candleAt(reference, i)));
    }
    expect(swapped).toBeGreaterThan(0);
    expect(seen.slice(0, swapped).every((d) => d.action === undefined)).toBe(true);
    const after = seen.slice(swapped);
    expect(after.every((d) => d.model_id === agent.modelId && d.action !== undefined)).toBe(true);
    // The edge model's position is the agent's to manage; the agent then trades on its own.
    expect(after.filter((d) => d.enter).length).toBeGreaterThan(3);
    expect(after.some((d) => d.exit?.exit_reason === 'agent')).toBe(true);
    expect(trader.currentModel()).toBe(agent);
  }, 60_000);
});
