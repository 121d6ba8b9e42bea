import { ConfigError, MINUTE_MS, type Mulberry32 } from '@engine/shared';
import { type CostModel, EXIT_AGENT, fundingCostBps, fundingOf, isMakerEntry, type TradingRules, TradeDecider, type TripleBarrierLabels } from '@engine/model';
import { ACTION_BUY, ACTION_SELL, type Env, type EnvStep, type ObservationBuilder, type PositionState, type PpoAgent } from '@engine/ppo';
import type { SimTrade } from '../simulation/simulate';

/**
 * What the trading environment sees: the candles' prices, the triple-barrier labels (the
 * exits and round-trip costs of an entry at each bar), the model's feature columns and the
 * trading rules. Exactly what the simulation of the other families trades.
 */
export interface MarketTape {
  ts: Float64Array;
  open: Float64Array;
  close: Float64Array;
  labels: TripleBarrierLabels;
  /** Feature columns in the model's input order. */
  columns: readonly Float64Array[];
  costs: CostModel;
  rules: Omit<TradingRules, 'threshold_bps'>;
}

/** The cost models the agent can trade: taker entries, and funding (if any) at a constant rate. */
export function checkAgentCosts(costs: CostModel): void {
  if (isMakerEntry(costs)) throw new ConfigError('family ppo trades taker entries only: a maker entry would leave the agent holding an order it cannot see; use entry taker');
  const f = fundingOf(costs);
  if (f !== null && f.mode === 'series') throw new ConfigError('family ppo prices funding at a constant rate only (funding.mode constant or none): the live trader cannot see a funding series either');
}

interface Open {
  row: number;
  fold: number;
  entryPrice: number;
  exitIndex: number;
}

/**
 * Hamilton's rules stepped one bar at a time by an agent's actions: the trading
 * environment of the `ppo` family, and the same code that trades its policy out of sample.
 *
 * At the close of bar t the agent acts:
 * - flat, BUY: the {@link TradeDecider} (cooldown after every exit, daily cap, one position)
 *   decides on a signal of +1 against a threshold of 0; HOLD or SELL is a signal of −1. A bar
 *   without a label (σ window incomplete, a gap, too near the data's end, or a row the fold's
 *   purge removed) is not tradable (no signal). An entry fills at bar t + 1's open with the
 *   label's barriers and round-trip cost (the versioned cost model at the signal's σ).
 * - long, SELL: the position is sold at bar t + 1's open, paying the same round trip
 *   (fees, spread, slippage; funding over the hold). Exit reason `agent`.
 * - otherwise nothing happens.
 * Then bar t + 1 closes: a position whose barrier (take-profit, stop-loss or the vertical
 * barrier) the labeller puts at this bar exits at its close with the label's net bps.
 *
 * Nothing reads a price beyond the bar being decided except the fill of that decision
 * (the next open) and the labeller's exit, which is only applied once its bar has closed.
 */
export class TradingSim {
  readonly tape: MarketTape;
  /** The bar whose close is being decided. */
  t = 0;
  private pos: Open | null = null;
  private decider: TradeDecider;
  private readonly allowed: Uint8Array | null;
  private readonly row: Float64Array;
  private readonly fund: boolean;
  /** The fold a new entry belongs to. */
  fold = 0;

  /** `allowed`: entries only at bars marked 1 (a fold's purged training rows); null: any labelled bar. */
  constructor(tape: MarketTape, allowed: Uint8Array | null = null) {
    checkAgentCosts(tape.costs);
    this.tape = tape;
    this.allowed = allowed;
    this.decider = new TradeDecider({ ...tape.rules, threshold_bps: 0 });
    this.row = new Float64Array(tape.columns.length);
    this.fund = fundingOf(tape.costs) !== null;
  }

  /** Start at bar `t` flat, with a fresh decider (an episode's start). */
  restart(t: number): void {
    this.t = t;
    this.pos = null;
    this.decider = new TradeDecider({ ...this.tape.rules, threshold_bps: 0 });
  }

  /** Whether a position is open after the current bar's close. */
  get long(): boolean {
    return this.pos !== null;
  }

  /** The position state at the current bar's close. */
  position(): PositionState {
    const p = this.pos;
    if (p === null) return { long: false, barsHeld: 0, unrealisedBps: 0 };
    return { long: true, barsHeld: this.t - p.row, unrealisedBps: (this.tape.close[this.t]! / p.entryPrice - 1) * 1e4 };
  }

  /** The feature row of the current bar (a view valid until the next call). */
  features(): Float64Array {
    const c = this.tape.columns;
    const r = this.row;
    for (let k = 0; k < c.length; k++) r[k] = c[k]![this.t]!;
    return r;
  }

  /** The observation at the current bar's close. */
  observe(builder: ObservationBuilder, out?: Float64Array): Float64Array {
    return builder.observe(this.features(), this.position(), out);
  }

  /** Act at the current bar's close, then move to the next bar; returns the trades that closed. */
  act(action: number, closed: SimTrade[] = []): SimTrade[] {
    const { labels, ts, open } = this.tape;
    const t = this.t;
    const decisionTs = ts[t]! + MINUTE_MS;
    const p = this.pos;
    if (p === null) {
      const tradable = !Number.isNaN(labels.net_edge_bps[t]!) && (this.allowed === null || this.allowed[t] === 1);
      const d = this.decider.decide(decisionTs, tradable ? (action === ACTION_BUY ? 1 : -1) : Number.NaN);
      if (d.enter) this.pos = { row: t, fold: this.fold, entryPrice: labels.entry_price[t]!, exitIndex: labels.exit_index[t]! };
    } else if (action === ACTION_SELL) {
      // sold at the next bar's open: the same instant as the decision
      const exitPrice = open[t + 1]!;
      const i = p.row;
      const gross = (exitPrice / p.entryPrice - 1) * 1e4;
      const funding = this.fund ? fundingCostBps(this.tape.costs, 'long', ts[i + 1]!, decisionTs) : 0;
      const cost = labels.fee_bps[i]! + labels.spread_bps[i]! + labels.slippage_bps[i]!;
      closed.push(this.trade(p.fold, i, decisionTs, t, EXIT_AGENT, gross, gross - cost - funding, funding));
      this.decider.closePosition(decisionTs);
      this.pos = null;
    }
    this.t = t + 1;
    const q = this.pos;
    if (q !== null && q.exitIndex === this.t) {
      const i = q.row;
      const exitTs = ts[this.t]! + MINUTE_MS;
      closed.push(this.trade(q.fold, i, exitTs, this.t, labels.exit_reason[i]!, labels.gross_bps[i]!, labels.net_edge_bps[i]!, labels.funding_bps[i]!));
      this.decider.closePosition(exitTs);
      this.pos = null;
    }
    return closed;
  }

  private trade(fold: number, i: number, exitTs: number, exitIndex: number, reason: number, gross: number, net: number, funding: number): SimTrade {
    const { labels, ts } = this.tape;
    return {
      row: i,
      fold,
      signal_ts: ts[i]!,
      decision_ts: ts[i]! + MINUTE_MS,
      entry_ts: ts[i]! + MINUTE_MS,
      exit_ts: exitTs,
      exit_index: exitIndex,
      exit_reason: reason,
      predicted_bps: Number.NaN,
      threshold_bps: 0,
      gross_bps: gross,
      net_bps: net,
      fee_bps: labels.fee_bps[i]!,
      spread_bps: labels.spread_bps[i]!,
      slippage_bps: labels.slippage_bps[i]!,
      funding_bps: funding,
    };
  }
}

/** One training window as a PPO environment (see {@link TradingEnv}). */
export interface TradingEnvWindow {
  /** First and last bar of the window (inclusive). */
  first: number;
  last: number;
  /** Bars where an entry is allowed (1): the fold's purged training rows whose exit lies inside the window. */
  allowed: Uint8Array;
  /** Reward per net bps (default 0.01: a reward of 1 is 100 bps). */
  rewardScale?: number;
}

/**
 * A training window as a PPO environment. The reward is the realised net bps of the trades
 * that close on a step (times `rewardScale`), nothing else: no bonus for entering, no
 * penalty for waiting. An episode starts at a random bar of the window (so parallel copies
 * see different days) and runs to the window's end, where it is truncated (its return
 * bootstrapped); entries are allowed only where the whole trade ends inside the window.
 */
export class TradingEnv implements Env {
  readonly observationSize: number;
  readonly actionCount = 3;
  private readonly sim: TradingSim;
  private readonly builder: ObservationBuilder;
  private readonly w: TradingEnvWindow;
  private readonly scale: number;
  private readonly closed: SimTrade[] = [];

  constructor(tape: MarketTape, builder: ObservationBuilder, window: TradingEnvWindow) {
    if (!(window.last > window.first)) throw new RangeError(`a trading window needs at least 2 bars; got bars ${window.first}…${window.last}`);
    this.sim = new TradingSim(tape, window.allowed);
    this.builder = builder;
    this.w = window;
    this.scale = window.rewardScale ?? 0.01;
    this.observationSize = builder.observationSize;
  }

  reset(rng: Mulberry32): Float64Array {
    const span = this.w.last - this.w.first;
    this.sim.restart(this.w.first + Math.floor(rng.next() * span));
    return this.sim.observe(this.builder);
  }

  step(action: number): EnvStep {
    this.closed.length = 0;
    this.sim.act(action, this.closed);
    let reward = 0;
    for (const c of this.closed) reward += c.net_bps;
    const end = this.sim.t >= this.w.last;
    return { observation: this.sim.observe(this.builder), reward: reward * this.scale, done: false, truncated: end };
  }
}

/** A fold's agent and the bars it trades: the fold's test window. */
export interface PolicySegment {
  fold: number;
  /** First and last bar traded (inclusive): the test window's first and last row. */
  first: number;
  last: number;
  agent: PpoAgent;
}

/**
 * Trade the agents' greedy policies through their segments in time order with one
 * decider, as the live trader would with each fold's agent published in turn: every bar
 * from the first segment's start is decided by the agent of the latest segment begun, so
 * the state (an open position, cooldown, the day's count) carries across segment
 * boundaries; entries only inside a segment; after the last segment an open position is
 * followed (and may be sold) until it closes. A trade belongs to the fold it entered in.
 * `rows` (1 = allowed) further restricts entries, e.g. to a fold's purged rows.
 */
export function tradePolicySegments(tape: MarketTape, segments: readonly PolicySegment[], rows?: Uint8Array): SimTrade[] {
  const trades: SimTrade[] = [];
  if (segments.length === 0) return trades;
  const n = tape.ts.length;
  const allowed = new Uint8Array(n);
  for (const s of segments) allowed.fill(1, s.first, s.last + 1);
  if (rows) for (let i = 0; i < n; i++) allowed[i] &= rows[i]!;
  const sim = new TradingSim(tape, allowed);
  sim.restart(segments[0]!.first);
  const end = segments[segments.length - 1]!.last;
  let k = 0;
  while (sim.t < n - 1 && (sim.t <= end || sim.long)) {
    while (k + 1 < segments.length && sim.t >= segments[k + 1]!.first) k++;
    const s = segments[k]!;
    sim.fold = s.fold;
    sim.act(s.agent.act(sim.features(), sim.position()), trades);
  }
  return trades;
}
