import { FeatureState, referenceSymbolFor, type CandleInput } from '@engine/features';
import { MINUTE_MS, parsePair } from '@engine/shared';
import { TradeDecider, type DeciderState, type DecisionReason, type LiveRecord } from '@engine/model';
import { ACTION_BUY, ACTION_NAMES, ACTION_SELL, FLAT, type ActionName, type PositionState } from '@engine/ppo';
import { LiveFeedError } from './errors';
import { decisionRecord, tradeRecord, type FeedbackSink } from './feedback';
import type { LiveModel, Prediction, PredictorKind } from './live-model';
import type { ModelWatcher } from './model-watcher';
import { PositionTracker, type ClosedPosition, type OpenPosition } from './position-tracker';

/** What the trader decided at the close of one candle. */
export interface CandleDecision {
  symbol: string;
  /** The candle's open time (epoch ms). */
  ts: number;
  /** Decision time: the candle's close (epoch ms). An entry fills at the next candle's open. */
  decision_ts: number;
  /** Model that scored this candle; '' when none was live (reason `no_model`). */
  model_id: string;
  /** Predicted net edge, bps (NaN when the model could not score, e.g. no σ yet); a `both` model: the long side's. */
  edge_bps: number;
  /** A `both` model: the short side's predicted net edge, bps; absent otherwise. The side entered is `position.side`. */
  short_edge_bps?: number;
  /** Model confidence in [0, 1] (P(net edge > 0)); NaN when the bundle has no confidence model. */
  confidence: number;
  /** True: enter now (at the next open) with `position`'s barriers. */
  enter: boolean;
  /**
   * Why (not): the training simulation's decision reasons. A trading agent's model adds
   * `agent_exit`: it sold the open position, which closes at the next candle's open.
   */
  reason: DecisionReason | 'agent_exit' | 'no_model';
  /**
   * A trading agent (family ppo): its action at this candle (`buy` enters when the rules
   * allow, `sell` sells an open position at the next open, anything else does nothing).
   * Absent for edge models. An agent's `edge_bps` and `confidence` are NaN.
   */
  action?: ActionName;
  /** The position held after this candle (the new one when `enter`). */
  position: OpenPosition | null;
  /** A position that closed on this candle (its exit is this candle's close). */
  exit: ClosedPosition | null;
}

/** A trader's state, to persist across restarts (features are rebuilt from candles). */
export interface TraderSnapshot {
  decider: DeciderState;
  position: OpenPosition | null;
}

/**
 * Where a trader takes its model at the start of every candle: a `ModelWatcher`, or any
 * object with the same `current()` (a replay's timeline of live models).
 */
export interface ModelProvider {
  current(): LiveModel | null;
}

export interface TraderOptions {
  symbol: string;
  /** A fixed model, or a watcher (any `ModelProvider`) whose current model is taken at the start of every candle. */
  model: LiveModel | ModelWatcher | ModelProvider;
  /**
   * What a candle with no current model does. `throw` (default): a `LiveFeedError` (start
   * the watcher first). `stand_aside`: the features and an open position's exit still
   * follow the candle, nothing is entered (reason `no_model`) — a symbol with no live model
   * does not trade (the factory replay, a pointer that names no model).
   */
  noModel?: 'throw' | 'stand_aside';
  /** Reference asset for cross-asset features: BTC/USDT, or ETH/USDT for BTC (the default). */
  referenceSymbol?: string;
  /**
   * `native` (default): the bundle's own trees evaluated in-process (`model.json`), proven
   * equal to the ONNX model on the golden vectors at load; synchronous, ~µs.
   * `onnx`: onnxruntime on every candle (~tens of µs, asynchronous).
   */
  predictor?: PredictorKind;
  /** Restore a decider (cooldown, daily count) saved with `snapshot()`. */
  decider?: DeciderState;
  /** Where each decision and closed trade is reported (live feedback); none by default. */
  feedback?: FeedbackSink;
  /** Called when the feedback sink fails (the trade goes on); default: ignore. */
  onFeedbackError?: (err: unknown) => void;
}

/**
 * Hamilton's per-symbol loop: feed it each closed 1-minute candle (and the reference
 * asset's candle of the same minute) and it keeps the streaming features, tracks the open
 * position's exit with the labeller's own barrier rule, scores the candle with the current
 * model, and decides with the training simulation's `TradeDecider` — threshold, one
 * position at a time, cooldown after exit, daily cap — so live and simulated trading are
 * the same code.
 *
 * Model swaps happen between candles: the model is taken once when a candle arrives and
 * used for that whole candle; a new threshold/cooldown/cap applies from the next decision,
 * while an open position keeps the barriers it was entered with.
 *
 * A trading agent's model (family ppo, `LiveModel.agent`) acts instead of predicting: its
 * greedy action on the features and the position decides entries (through the same
 * decider) and sells at the next open, as training's `TradingSim` trades it (see `finishAgent`).
 */
export class Trader {
  readonly symbol: string;
  readonly referenceSymbol: string;
  private readonly source: LiveModel | ModelProvider;
  private readonly noModel: 'throw' | 'stand_aside';
  private readonly predictorKind: PredictorKind;
  private readonly features: FeatureState;
  private tracker: PositionTracker | null = null;
  /** Candles seen before the first model (stand-aside), for the tracker it will make; the last {@link EARLY_CANDLES}. */
  private early: CandleInput[] = [];
  private decider: TradeDecider | null = null;
  private model: LiveModel | null = null;
  private lastTs = Number.NaN;
  private restoreDecider: DeciderState | undefined;
  private busy = false;
  private decided = false;
  private readonly feedback: FeedbackSink | undefined;
  private readonly onFeedbackError: (err: unknown) => void;

  constructor(opts: TraderOptions) {
    this.symbol = parsePair(opts.symbol).symbol;
    this.referenceSymbol = opts.referenceSymbol ?? referenceSymbolFor(this.symbol);
    this.source = opts.model;
    this.noModel = opts.noModel ?? 'throw';
    this.predictorKind = opts.predictor ?? 'native';
    this.features = new FeatureState(this.symbol, this.referenceSymbol);
    if (opts.decider?.open) {
      throw new LiveFeedError(`${this.symbol}: a decider can be restored only between positions (the saved state has a position open); close it first`, { symbol: this.symbol });
    }
    this.restoreDecider = opts.decider;
    this.feedback = opts.feedback;
    this.onFeedbackError = opts.onFeedbackError ?? (() => undefined);
  }

  /** The model used for the last candle. */
  currentModel(): LiveModel | null {
    return this.model;
  }

  /** The open position, if any. */
  position(): OpenPosition | null {
    return this.tracker?.current() ?? null;
  }

  /** Decider state + open position, for persistence. */
  snapshot(): TraderSnapshot {
    return { decider: this.decider?.snapshot() ?? this.restoreDecider ?? emptyDecider(), position: this.position() };
  }

  private takeModel(): LiveModel | null {
    const m = 'current' in this.source ? this.source.current() : this.source;
    if (!m && this.noModel === 'stand_aside') return null;
    if (!m) throw new LiveFeedError(`${this.symbol}: no model loaded yet (start the ModelWatcher first)`, { symbol: this.symbol });
    if (m.symbol !== this.symbol) {
      throw new LiveFeedError(`${this.symbol}: model ${m.modelId} is for ${m.symbol}`, { symbol: this.symbol, modelSymbol: m.symbol });
    }
    return m;
  }

  /** Adopt `m` for this candle: rules and barrier settings follow the model's manifest. */
  private adopt(m: LiveModel): void {
    if (this.model === m) return;
    const prev = this.decider?.snapshot() ?? this.restoreDecider;
    this.restoreDecider = undefined;
    this.decider = new TradeDecider(m.tradingRules, prev);
    if (this.tracker === null) {
      this.tracker = new PositionTracker(this.symbol, m.labelConfig, m.costModel);
      // the candles seen before any model: the exit tracker's σ window needs them too
      for (const c of this.early) this.tracker.push(c);
      this.early = [];
    } else this.tracker.setConfig(m.labelConfig, m.costModel);
    this.model = m;
  }

  /**
   * Process one closed candle. Candles must be consecutive minutes (feed a missing minute
   * as `{ ts, gap: true, … }`); `reference` is the reference asset's candle of the same
   * minute (null or a gap: the cross-asset features see a gap).
   */
  async onCandle(candle: CandleInput, reference: CandleInput | null): Promise<CandleDecision> {
    if (this.predictorKind === 'native') return this.onCandleSync(candle, reference);
    if (this.busy) throw new LiveFeedError(`${this.symbol}: onCandle called again before the previous candle finished`, { symbol: this.symbol, ts: candle.ts });
    this.busy = true;
    try {
      const m = this.begin(candle);
      if (m === null) return this.standAside(candle, reference);
      const row = this.features.update(candle, reference);
      const exit = this.tracker!.push(candle);
      this.lastTs = candle.ts;
      if (m.agent) return this.finishAgent(m, candle, await m.actOnnx(row, this.agentPosition(candle)), exit, row);
      const pred = await m.predictOnnx(row);
      return this.finish(m, candle, pred, exit, row);
    } finally {
      this.busy = false;
    }
  }

  /**
   * `onCandle` with the in-process predictor, synchronously: the hot path (features +
   * prediction + decision in a few µs). Throws when the trader was built with `predictor: 'onnx'`.
   */
  onCandleSync(candle: CandleInput, reference: CandleInput | null): CandleDecision {
    if (this.predictorKind !== 'native') throw new LiveFeedError(`${this.symbol}: onCandleSync needs predictor 'native'`, { symbol: this.symbol });
    if (this.busy) throw new LiveFeedError(`${this.symbol}: onCandleSync called while an asynchronous candle is in progress`, { symbol: this.symbol, ts: candle.ts });
    const m = this.begin(candle);
    if (m === null) return this.standAside(candle, reference);
    const row = this.features.update(candle, reference);
    const exit = this.tracker!.push(candle);
    this.lastTs = candle.ts;
    if (m.agent) return this.finishAgent(m, candle, m.actNative(row, this.agentPosition(candle)), exit, row);
    return this.finish(m, candle, m.predictNative(row), exit, row);
  }

  /**
   * Feed history without deciding: the features and the exit tracker see the candle, the
   * decider does not (no entries, no cooldown, no daily count). For start-up, so the
   * features are warm before the first live decision (the recipe's longest window is
   * `FeatureState.warmup` minutes, about 7 days). Only before the first `onCandle`.
   */
  warmUp(candle: CandleInput, reference: CandleInput | null): void {
    if (this.decided) throw new LiveFeedError(`${this.symbol}: warmUp after live decisions started would skip decisions the simulation makes`, { symbol: this.symbol, ts: candle.ts });
    this.begin(candle);
    this.features.update(candle, reference);
    this.track(candle);
    this.lastTs = candle.ts;
  }

  /** The exit tracker sees every candle; before the first model there is none yet, and the candle is kept for it. */
  private track(candle: CandleInput): ClosedPosition | null {
    if (this.tracker !== null) return this.tracker.push(candle);
    this.early.push(candle);
    if (this.early.length > 2 * EARLY_CANDLES) this.early = this.early.slice(-EARLY_CANDLES);
    return null;
  }

  /**
   * A candle with no current model (`noModel: 'stand_aside'`): the features and an open
   * position's exit follow it (the position keeps the barriers it was entered with), and
   * nothing is entered.
   */
  private standAside(candle: CandleInput, reference: CandleInput | null): CandleDecision {
    this.features.update(candle, reference);
    const exit = this.track(candle);
    this.lastTs = candle.ts;
    this.decided = true;
    if (exit) this.decider?.closePosition(exit.exit_ts);
    return { symbol: this.symbol, ts: candle.ts, decision_ts: candle.ts + MINUTE_MS, model_id: '', edge_bps: Number.NaN, confidence: Number.NaN, enter: false, reason: 'no_model', position: this.tracker?.current() ?? null, exit };
  }

  private begin(candle: CandleInput): LiveModel | null {
    if (!Number.isNaN(this.lastTs) && candle.ts !== this.lastTs + MINUTE_MS) {
      // FeatureState checks this too, but before any state is touched here.
      throw new LiveFeedError(`${this.symbol}: candle ${new Date(candle.ts).toISOString()} does not follow ${new Date(this.lastTs).toISOString()} (feed missing minutes as gap candles)`, {
        symbol: this.symbol,
        ts: candle.ts,
        expected: this.lastTs + MINUTE_MS,
      });
    }
    const m = this.takeModel();
    if (m !== null) this.adopt(m);
    return m;
  }

  /**
   * The start of every candle's decision: the decision time, a closed position reported to
   * the decider, and whether the model may still enter (a stale model never opens a
   * position: past its expiry the trader only follows exits; nor does a demoted one).
   */
  private decisionStart(m: LiveModel, candle: CandleInput, exit: ClosedPosition | null): { decisionTs: number; tracker: PositionTracker; decider: TradeDecider; expired: boolean; demoted: boolean } {
    this.decided = true;
    const decisionTs = candle.ts + MINUTE_MS;
    const decider = this.decider!;
    if (exit) decider.closePosition(exit.exit_ts);
    return { decisionTs, tracker: this.tracker!, decider, expired: m.expiresAt !== null && decisionTs > m.expiresAt && !m.allowExpired, demoted: m.demoted !== null };
  }

  private finish(m: LiveModel, candle: CandleInput, pred: Prediction, exit: ClosedPosition | null, row: ArrayLike<number>): CandleDecision {
    const { decisionTs, tracker, decider, expired, demoted } = this.decisionStart(m, candle, exit);
    // The simulation trades only rows the labeller can label; live, that means the σ
    // window is complete: otherwise the model's edge is not tradable (no barriers).
    // A `both` model: the side whose edge clears its own threshold by more (long on a tie),
    // judged by the decider on that margin against 0 — as the training simulation does.
    const sides = m.sideThresholds;
    let side: 'long' | 'short' | undefined;
    let signal = pred.edge_bps;
    if (sides !== null) {
      const mLong = pred.edge_bps - sides.long;
      const mShort = (pred.short_edge_bps ?? Number.NaN) - sides.short;
      side = Number.isNaN(mLong) || mShort > mLong ? 'short' : 'long';
      signal = side === 'short' ? mShort : mLong;
    }
    const d = demoted
      ? { enter: false, reason: 'model_demoted' as const }
      : expired
        ? { enter: false, reason: 'model_expired' as const }
        : decider.decide(decisionTs, tracker.tradable() ? signal : Number.NaN);
    const position = d.enter ? tracker.enter(side === 'short' ? pred.short_edge_bps! : pred.edge_bps, m.modelId, side) : tracker.current();
    this.report(m, decisionTs, pred, d, exit, row);
    return {
      symbol: this.symbol,
      ts: candle.ts,
      decision_ts: decisionTs,
      model_id: m.modelId,
      edge_bps: pred.edge_bps,
      ...(pred.short_edge_bps !== undefined ? { short_edge_bps: pred.short_edge_bps } : {}),
      confidence: pred.confidence,
      enter: d.enter,
      reason: d.reason,
      position,
      exit,
    };
  }

  /** Report the candle's closed trade and decision to the feedback sink, if any (a failing sink never stops trading). */
  private report(m: LiveModel, decisionTs: number, pred: Prediction, d: { enter: boolean; reason: string }, exit: ClosedPosition | null, row: ArrayLike<number>): void {
    if (!this.feedback) return;
    const report = (r: LiveRecord | null) => {
      if (r === null) return;
      try {
        const p = this.feedback!.record(r);
        if (p) p.catch(this.onFeedbackError);
      } catch (err) {
        this.onFeedbackError(err);
      }
    };
    if (exit) report(tradeRecord(this.symbol, exit));
    report({ ...decisionRecord({ symbol: this.symbol, model_id: m.modelId, decision_ts: decisionTs, edge_bps: pred.edge_bps, confidence: pred.confidence, enter: d.enter, reason: d.reason }), features: m.inputRow(row) });
  }

  /**
   * What a trading agent knows of its position at this candle's close (after the tracker
   * has seen the candle): flat, or long since the signal candle with the unrealised gross
   * bps from the entry price to this close. A position the agent cannot manage (a short or
   * a maker order of a previous model, an entry not yet filled) is shown as flat: the agent
   * cannot sell it, and a buy meets the decider's `in_position`.
   */
  private agentPosition(candle: CandleInput): PositionState {
    const p = this.tracker!.current();
    if (p === null || !this.agentCanSell(p)) return FLAT;
    const close = candle.gap === true || candle.gap === 1 ? Number.NaN : candle.close;
    return { long: true, barsHeld: this.tracker!.barsSinceSignal(), unrealisedBps: (close / p.entry_price - 1) * 1e4 };
  }

  private agentCanSell(p: OpenPosition): boolean {
    return p.side === 'long' && p.filled && !Number.isNaN(p.entry_price) && !this.tracker!.exitPending;
  }

  /**
   * A trading agent's candle, exactly as training's `TradingSim` steps it: flat, a buy is a
   * signal of +1 (anything else −1) for the decider at a threshold of 0, so the rules
   * (cooldown, daily cap, σ window) decide whether it enters; long, a sell sells the position
   * at the next candle's open (the tracker closes it there, exit reason `agent`), and any
   * other action holds. A model whose training record said not to trade it never enters.
   */
  private finishAgent(m: LiveModel, candle: CandleInput, action: number, exit: ClosedPosition | null, row: ArrayLike<number>): CandleDecision {
    const { decisionTs, tracker, decider, expired, demoted } = this.decisionStart(m, candle, exit);
    const held = tracker.current();
    let d: { enter: boolean; reason: DecisionReason | 'agent_exit' };
    if (held !== null && this.agentCanSell(held)) {
      if (action === ACTION_SELL) {
        tracker.requestExit();
        d = { enter: false, reason: 'agent_exit' };
      } else d = { enter: false, reason: 'in_position' };
    } else if (demoted) d = { enter: false, reason: 'model_demoted' };
    else if (expired) d = { enter: false, reason: 'model_expired' };
    else d = decider.decide(decisionTs, tracker.tradable() ? (action === ACTION_BUY && m.agentTrades ? 1 : -1) : Number.NaN);
    // The agent predicts no edge: its positions record a predicted edge of 0 (its threshold),
    // a number, as the feedback's trade records need.
    const position = d.enter ? tracker.enter(0, m.modelId) : tracker.current();
    const pred: Prediction = { edge_bps: Number.NaN, confidence: Number.NaN };
    this.report(m, decisionTs, pred, d, exit, row);
    return {
      symbol: this.symbol,
      ts: candle.ts,
      decision_ts: decisionTs,
      model_id: m.modelId,
      edge_bps: Number.NaN,
      confidence: Number.NaN,
      enter: d.enter,
      reason: d.reason,
      action: ACTION_NAMES[action] ?? 'hold',
      position,
      exit,
    };
  }
}

/** Candles kept for the exit tracker while no model has come (a week: far more than any σ window and horizon need). */
const EARLY_CANDLES = 10_080;

function emptyDecider(): DeciderState {
  return { open: false, last_exit_ts: Number.NEGATIVE_INFINITY, day_start: Number.NaN, trades_today: 0, last_decision_ts: Number.NEGATIVE_INFINITY };
}
