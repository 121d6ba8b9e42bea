import { buildFeatures } from '@engine/features';
import { DEFAULT_COST_MODEL, DEFAULT_LABEL_CONFIG, EXIT_AGENT, roundTripCost, tripleBarrierLabels } from '@engine/model';
import { ACTION_BUY, ACTION_HOLD, ACTION_SELL, featureStandardiser, Mlp, ObservationBuilder, PpoAgent, PpoPolicy, resolvePpoParams } from '@engine/ppo';
import { Mulberry32, sliceCandles, type CandleSeries } from '@engine/shared';
import { type AgentInit, type AgentJob, plantedMarket, type MarketTape, shareInit, TradingEnv, TradingSim, trainAgentJob, tradePolicySegments } from '../src';

const START = Date.UTC(2026, 0, 1);
const RULES = { cooldown_seconds: 900, max_trades_per_day: 40 };

function tapeOf(candles: CandleSeries, reference: CandleSeries): MarketTape {
  const frame = buildFeatures(candles, { reference });
  const labels = tripleBarrierLabels(candles, DEFAULT_LABEL_CONFIG, DEFAULT_COST_MODEL);
  return { ts: candles.ts, open: candles.open, close: candles.close, labels, columns: frame.columns, costs: DEFAULT_COST_MODEL, rules: RULES };
}

/** An agent with random weights whose buy and sell logits are lifted so it trades often. */
function busyAgent(tape: MarketTape, names: readonly string[], seed: number): PpoAgent {
  const rows = Int32Array.from({ length: tape.ts.length }, (_, i) => i);
  const { means, scales } = featureStandardiser(tape.columns, rows);
  const O = names.length + 3;
  const net = Mlp.orthogonal([O, 16, 3], new Mulberry32(seed), Math.SQRT2, 1);
  const policy = PpoPolicy.fromNetwork(net);
  const layers = policy.layers;
  layers[1]!.bias = [0, 0.3, 0.6];
  return new PpoAgent({ featureNames: names, means, scales, horizonMinutes: DEFAULT_LABEL_CONFIG.horizon_minutes, policy: new PpoPolicy({ observationSize: O, actionCount: 3, hiddenSizes: [16], layers }) });
}

describe('the trading environment (family ppo)', () => {
  const m = plantedMarket({ days: 12, seed: 3, start: START, symbol: 'SYN/USDT' });
  const tape = tapeOf(m.candles, m.reference);
  const names = buildFeatures(sliceCandles(m.candles, 0, 10), { reference: sliceCandles(m.reference, 0, 10) }).names;
  const first = 2 * 1440;

  it('enters at the next open, sells at the next open paying the label’s round trip, and follows the barrier exits', () => {
    const sim = new TradingSim(tape);
    sim.restart(first);
    while (Number.isNaN(tape.labels.net_edge_bps[sim.t]!)) sim.act(ACTION_HOLD);
    const i = sim.t;
    expect(sim.act(ACTION_BUY)).toEqual([]); // no reward for entering
    expect(sim.long).toBe(true);
    expect(sim.position()).toEqual({ long: true, barsHeld: 1, unrealisedBps: (tape.close[i + 1]! / tape.open[i + 1]! - 1) * 1e4 });
    if (tape.labels.exit_index[i]! > i + 1) {
      const closed = sim.act(ACTION_SELL);
      expect(closed).toHaveLength(1);
      const t = closed[0]!;
      const gross = (tape.open[i + 2]! / tape.open[i + 1]! - 1) * 1e4;
      const cost = roundTripCost(DEFAULT_COST_MODEL, tape.labels.sigma1_bps[i]!);
      expect(t.exit_reason).toBe(EXIT_AGENT);
      expect(t.gross_bps).toBeCloseTo(gross, 10);
      expect(t.net_bps).toBeCloseTo(gross - cost.total_bps, 10);
      expect(t.exit_ts).toBe(tape.ts[i + 2]!);
      expect(sim.long).toBe(false);
    }
    // held to the barrier: the label's own exit and net
    const sim2 = new TradingSim(tape);
    sim2.restart(i);
    sim2.act(ACTION_BUY);
    const all = [];
    while (sim2.long) all.push(...sim2.act(ACTION_HOLD));
    expect(all).toHaveLength(1);
    expect(all[0]!.net_bps).toBe(tape.labels.net_edge_bps[i]!);
    expect(all[0]!.exit_index).toBe(tape.labels.exit_index[i]!);
  });

  it('applies the cooldown after every exit and the daily cap (the TradeDecider’s rules)', () => {
    const sim = new TradingSim({ ...tape, rules: { cooldown_seconds: 900, max_trades_per_day: 3 } });
    sim.restart(first);
    const trades = [];
    for (let k = 0; k < 1440; k++) trades.push(...sim.act(ACTION_BUY));
    expect(trades.length).toBe(3);
    for (let k = 1; k < trades.length; k++) expect(trades[k]!.decision_ts).toBeGreaterThanOrEqual(trades[k - 1]!.exit_ts + 900_000);
  });

  it('enters only at allowed rows and pays rewards only for closed trades', () => {
    const allowed = new Uint8Array(tape.ts.length);
    const last = first + 1440;
    for (let i = first + 600; i < first + 700; i++) allowed[i] = 1;
    const builder = new ObservationBuilder({ featureNames: names, means: new Float64Array(names.length), scales: new Float64Array(names.length).fill(1), horizonMinutes: 4 });
    const env = new TradingEnv(tape, builder, { first, last, allowed, rewardScale: 1 });
    const rng = new Mulberry32(5);
    env.reset(rng);
    let total = 0;
    let steps = 0;
    for (;;) {
      const s = env.step(ACTION_BUY);
      total += s.reward;
      steps++;
      if (s.truncated) break;
    }
    expect(steps).toBeGreaterThan(0);
    const sim = new TradingSim(tape, allowed);
    const start = last - steps;
    sim.restart(start);
    const trades = [];
    for (let k = 0; k < steps; k++) trades.push(...sim.act(ACTION_BUY));
    for (const t of trades) expect(allowed[t.row]).toBe(1);
    expect(total).toBeCloseTo(trades.reduce((a, t) => a + t.net_bps, 0), 8);
  });

  it('cannot see the future: truncating the candles after bar k changes nothing decided before it', () => {
    const agent = busyAgent(tape, names, 11);
    const last = tape.ts.length - 20;
    const full = tradePolicySegments(tape, [{ fold: 0, first, last, agent }]);
    expect(full.length).toBeGreaterThan(100);
    expect(full.some((t) => t.exit_reason === EXIT_AGENT)).toBe(true);
    for (const cut of [first + 1000, first + 3333, first + 6000]) {
      const short = tapeOf(sliceCandles(m.candles, 0, cut), sliceCandles(m.reference, 0, cut));
      const trunc = tradePolicySegments(short, [{ fold: 0, first, last: cut - 2, agent }]);
      // every trade decided and closed before the cut (the labeller needs `span` bars after a signal)
      const before = (ts: typeof full) => ts.filter((t) => t.exit_index < cut - 6);
      expect(before(trunc)).toEqual(before(full));
      expect(before(full).length).toBeGreaterThan(5);
    }
  });

  it('observes nothing after the bar it decides at: poisoning every later price and feature changes no observation or action', () => {
    const agent = busyAgent(tape, names, 13);
    for (const t of [first + 400, first + 1500, first + 3000]) {
      const poison = (a: Float64Array, from: number) => Float64Array.from(a, (v, i) => (i >= from ? Number.NaN : v));
      // the next open is the fill of the decision at t; nothing after it may matter
      const blind: MarketTape = { ...tape, close: poison(tape.close, t + 1), open: poison(tape.open, t + 2), columns: tape.columns.map((c) => poison(c, t + 1)) };
      const a = new TradingSim(tape);
      const b = new TradingSim(blind);
      a.restart(first);
      b.restart(first);
      let held = 0;
      let differ = 0;
      const oa = new Float64Array(agent.observationSize);
      const ob = new Float64Array(agent.observationSize);
      while (a.t < t) {
        const action = agent.act(a.features(), a.position());
        a.observe(agent, oa);
        b.observe(agent, ob);
        for (let k = 0; k < oa.length; k++) if (!Object.is(oa[k], ob[k])) differ++;
        a.act(action);
        b.act(action);
        if (a.long) held++;
      }
      expect(differ).toBe(0);
      expect(b.observe(agent)).toEqual(a.observe(agent));
      expect(agent.act(b.features(), b.position())).toBe(agent.act(a.features(), a.position()));
      expect(held).toBeGreaterThan(10);
    }
  });

  it('trades a fold’s agent across segment boundaries with one decider', () => {
    const a = busyAgent(tape, names, 11);
    const b = busyAgent(tape, names, 12);
    const mid = first + 3000;
    const last = first + 6000;
    const split = tradePolicySegments(tape, [
      { fold: 0, first, last: mid - 1, agent: a },
      { fold: 1, first: mid, last, agent: b },
    ]);
    expect(new Set(split.map((t) => t.fold))).toEqual(new Set([0, 1]));
    for (let k = 1; k < split.length; k++) expect(split[k]!.decision_ts).toBeGreaterThanOrEqual(split[k - 1]!.exit_ts);
    // the same agent in both segments is one segment
    const one = tradePolicySegments(tape, [{ fold: 0, first, last, agent: a }]);
    const two = tradePolicySegments(tape, [
      { fold: 0, first, last: mid - 1, agent: a },
      { fold: 0, first: mid, last, agent: a },
    ]);
    expect(two).toEqual(one);
  });

  it('trains the same agent bit for bit with its environment copies on rollout threads', async () => {
    const rows = Int32Array.from({ length: 4 * 1440 }, (_, k) => first + k).filter((i) => !Number.isNaN(tape.labels.net_edge_bps[i]!) && tape.labels.exit_index[i]! <= first + 4 * 1440);
    const init: AgentInit = { ts: tape.ts, open: tape.open, close: tape.close, labels: tape.labels, columns: [...tape.columns], names: [...names], costs: DEFAULT_COST_MODEL, rules: RULES, horizonMinutes: 4 };
    const params = resolvePpoParams({ nEnvs: 4, nSteps: 64, batchSize: 128, nEpochs: 2, policyHiddenSizes: [16], valueHiddenSizes: [16] });
    const job: AgentJob = { id: 0, first, last: first + 4 * 1440, allowed: rows, statsRows: rows, seed: 9, totalSteps: 2048, rewardScale: 0.01, params, init: null };
    const one = await trainAgentJob(job, init);
    const two = await trainAgentJob(job, shareInit(init), undefined, 2);
    expect(two.agent).toBe(one.agent);
    expect(Buffer.from(two.networks.value.buffer).equals(Buffer.from(one.networks.value.buffer))).toBe(true);
  });

  it('refuses cost models the agent cannot trade', () => {
    expect(() => new TradingSim({ ...tape, costs: { version: 'cost-v2', market: 'spot', entry: 'maker' } as never })).toThrow(/taker entries only/);
  });
});
