import { DAY_MS } from '@engine/shared';

/** Hamilton's trading rules (SPEC §1.6, §4). */
export interface TradingRules {
  /** Enter when the predicted net edge is strictly above this, bps. */
  threshold_bps: number;
  /** No new entry until this long after the previous exit. Default 900. */
  cooldown_seconds: number;
  /** At most this many entries per UTC day. Default 40. */
  max_trades_per_day: number;
}

export const DEFAULT_TRADING_RULES: Omit<TradingRules, 'threshold_bps'> = { cooldown_seconds: 900, max_trades_per_day: 40 };

/**
 * `model_expired` / `model_demoted`: the consumer's trader refuses entries with a model past
 * its `expires_at` or demoted by live monitoring (the decider itself never answers them).
 */
export type DecisionReason = 'enter' | 'no_signal' | 'below_threshold' | 'in_position' | 'cooldown' | 'daily_cap' | 'model_expired' | 'model_demoted';

export interface TradeDecision {
  enter: boolean;
  reason: DecisionReason;
}

/** What a decider remembers; Hamilton can persist it across restarts. */
export interface DeciderState {
  /** A position is open with an exit not yet reported. */
  open: boolean;
  /** Exit time of the last closed position (epoch ms); −∞ when none. */
  last_exit_ts: number;
  /** UTC day (epoch ms of its midnight) that `trades_today` counts; NaN before the first entry. */
  day_start: number;
  trades_today: number;
  /** Time of the last decision, to refuse decisions going back in time. */
  last_decision_ts: number;
}

/**
 * The one implementation of Hamilton's entry rules, shared by the batch simulation
 * (validation, threshold choice, scenario tests) and the live consumer.
 *
 * Call {@link decide} once per closed candle with the decision time (the candle's close,
 * epoch ms) and the model's predicted net edge. When it answers `enter`, a position is
 * open until {@link closePosition} reports its exit. The batch simulation knows the exit
 * in advance and reports it at once (with a future time); the live trader reports it when
 * it happens. Either way: one position at a time, a cooldown after every exit, and at most
 * `max_trades_per_day` entries per UTC day.
 */
export class TradeDecider {
  private rules: TradingRules;
  private state: DeciderState;

  constructor(rules: TradingRules, state?: DeciderState) {
    TradeDecider.check(rules);
    this.rules = { ...rules };
    this.state = state
      ? { ...state }
      : { open: false, last_exit_ts: Number.NEGATIVE_INFINITY, day_start: Number.NaN, trades_today: 0, last_decision_ts: Number.NEGATIVE_INFINITY };
  }

  private static check(r: TradingRules): void {
    if (!Number.isFinite(r.threshold_bps)) throw new RangeError(`threshold_bps must be finite, got ${r.threshold_bps}`);
    if (!(r.cooldown_seconds >= 0)) throw new RangeError(`cooldown_seconds must be ≥ 0, got ${r.cooldown_seconds}`);
    if (!Number.isInteger(r.max_trades_per_day) || r.max_trades_per_day < 0) {
      throw new RangeError(`max_trades_per_day must be an integer ≥ 0, got ${r.max_trades_per_day}`);
    }
  }

  /** The rules in force (a copy). */
  getRules(): TradingRules {
    return { ...this.rules };
  }

  /** Change the entry threshold (e.g. at a fold boundary, or a newly published model). */
  setThreshold(thresholdBps: number): void {
    TradeDecider.check({ ...this.rules, threshold_bps: thresholdBps });
    this.rules.threshold_bps = thresholdBps;
  }

  /** A copy of the state, for persistence or inspection. */
  snapshot(): DeciderState {
    return { ...this.state };
  }

  /**
   * Decide at time `ts` (epoch ms, the close of the signal candle) whether to enter, given
   * the predicted net edge in bps (NaN: no prediction). Entering opens a position.
   */
  decide(ts: number, predictedEdgeBps: number): TradeDecision {
    const s = this.state;
    if (ts < s.last_decision_ts) {
      throw new RangeError(`decisions must move forward in time: got ${new Date(ts).toISOString()} after ${new Date(s.last_decision_ts).toISOString()}`);
    }
    s.last_decision_ts = ts;
    if (!Number.isFinite(predictedEdgeBps)) return { enter: false, reason: 'no_signal' };
    if (s.open || ts < s.last_exit_ts) return { enter: false, reason: 'in_position' };
    if (ts < s.last_exit_ts + this.rules.cooldown_seconds * 1000) return { enter: false, reason: 'cooldown' };
    if (!(predictedEdgeBps > this.rules.threshold_bps)) return { enter: false, reason: 'below_threshold' };
    const day = Math.floor(ts / DAY_MS) * DAY_MS;
    if (day !== s.day_start) {
      s.day_start = day;
      s.trades_today = 0;
    }
    if (s.trades_today >= this.rules.max_trades_per_day) return { enter: false, reason: 'daily_cap' };
    s.trades_today++;
    s.open = true;
    return { enter: true, reason: 'enter' };
  }

  /** Report that the open position closed at `exitTs` (epoch ms; may lie ahead in a batch simulation). */
  closePosition(exitTs: number): void {
    if (!this.state.open) throw new Error('closePosition called with no open position');
    this.state.open = false;
    this.state.last_exit_ts = exitTs;
  }
}
