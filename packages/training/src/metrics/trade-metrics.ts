import { DAY_MS } from '@engine/shared';
import { type CostModel, EXIT_AGENT, EXIT_SL, EXIT_TIME, EXIT_TP } from '@engine/model';
import type { SimTrade } from '../simulation/simulate';
import { maxDrawdown, mean, normalCdf, sampleStd, skewKurtosis } from './stats';

/** Trading metrics of a set of simulated trades (SPEC §1.6). Money is GBP; bps are of notional. */
export interface TradeMetrics {
  total_trades: number;
  /** Trades with net P&L > 0. */
  wins: number;
  /** Trades with net P&L ≤ 0 (a break-even trade after costs is not a win). */
  losses: number;
  /** wins / total_trades; 0 without trades. */
  win_rate: number;
  total_profit_gbp: number;
  total_net_bps: number;
  mean_net_bps: number;
  mean_gross_bps: number;
  /** Annualised Sharpe of daily P&L: mean / std (ddof 1) × √365, every day of the span counted (no trade → 0). */
  sharpe_ratio: number;
  /** Mean / std of per-trade net bps, not annualised. */
  sharpe_per_trade: number;
  /** Probabilistic Sharpe ratio: P(true daily Sharpe > 0) given the sample's length, skew and kurtosis. */
  probabilistic_sharpe: number;
  /** Σ winning net / |Σ losing net|; null when there are wins but no losses (unbounded); 0 without wins. */
  profit_factor: number | null;
  /** Maximum drawdown of the time-ordered cumulative P&L, GBP (≥ 0). */
  max_drawdown: number;
  max_drawdown_bps: number;
  /** Days in the evaluated span (the Sharpe's sample size). */
  days: number;
  /**
   * P&L concentration: the best trade's net P&L as a share of the total net P&L (> 1 when
   * the other trades lose in sum); null when the total is not positive (nothing to share).
   */
  best_trade_share: number | null;
  /** The same for the best UTC day (trades counted on their signal day, {@link tradeDay}). */
  best_day_share: number | null;
  costs: {
    fees_gbp: number;
    spread_gbp: number;
    slippage_gbp: number;
    total_gbp: number;
    mean_fee_bps: number;
    mean_spread_bps: number;
    mean_slippage_bps: number;
    mean_round_trip_bps: number;
    /** Funding paid on perpetuals (included in total_gbp); absent in hand-made metrics. */
    funding_gbp?: number;
    mean_funding_bps?: number;
  };
  /** `agent`: positions a trading agent closed itself (the `ppo` family); absent when none did. */
  exit_reasons: { tp: number; sl: number; time: number; agent?: number };
  /** Maker entries taken that never filled (set by the caller that simulated them). */
  unfilled_signals?: number;
}

/** GBP value of `bps` on one trade's notional. */
export function bpsToGbp(bps: number, costs: CostModel): number {
  return (costs.notional_quote * bps * costs.quote_to_gbp) / 1e4;
}

/**
 * UTC day start (epoch ms) a trade counts on: the day of its signal bar. (A signal in the
 * last minute of a day enters at the next day's first instant; it still belongs to the day,
 * and the fold, whose data produced it.)
 */
export function tradeDay(t: SimTrade): number {
  return Math.floor(t.signal_ts / DAY_MS) * DAY_MS;
}

/**
 * Daily P&L in GBP over `days` (UTC day starts, ascending): each trade counts on its
 * signal day ({@link tradeDay}); days without trades are 0. A trade on a day outside `days` is an error (the span
 * must cover every trade).
 */
export function dailyPnl(trades: readonly SimTrade[], days: readonly number[], costs: CostModel): Float64Array {
  const out = new Float64Array(days.length);
  const index = new Map<number, number>();
  days.forEach((d, i) => index.set(d, i));
  for (const t of trades) {
    const k = index.get(tradeDay(t));
    if (k === undefined) throw new RangeError(`trade signalled ${new Date(t.signal_ts).toISOString()} lies outside the evaluated days`);
    out[k] = out[k]! + bpsToGbp(t.net_bps, costs);
  }
  return out;
}

/** UTC day starts covering [start, end) (epoch ms). */
export function daysInSpan(start: number, end: number): number[] {
  const out: number[] = [];
  for (let d = Math.floor(start / DAY_MS) * DAY_MS; d < end; d += DAY_MS) out.push(d);
  return out;
}

/** Annualised Sharpe (√365) of a daily P&L series; 0 when flat. */
export function annualisedSharpe(daily: ArrayLike<number>): number {
  const sd = sampleStd(daily);
  const m = mean(daily);
  if (!(sd > 0)) return 0;
  return (m / sd) * Math.sqrt(365);
}

/**
 * Probabilistic Sharpe ratio (Bailey & López de Prado 2012) of a per-period return series
 * against a benchmark per-period Sharpe (default 0):
 * Φ((ŜR − SR*)·√(n−1) / √(1 − γ₃·ŜR + (γ₄ − 1)/4·ŜR²)).
 */
export function probabilisticSharpe(returns: ArrayLike<number>, benchmark = 0): number {
  const n = returns.length;
  if (n < 3) return NaN;
  const sd = sampleStd(returns);
  if (!(sd > 0)) return 0.5;
  const sr = mean(returns) / sd;
  const { skew, kurtosis } = skewKurtosis(returns);
  const v = 1 - skew * sr + ((kurtosis - 1) / 4) * sr * sr;
  return normalCdf(((sr - benchmark) * Math.sqrt(n - 1)) / Math.sqrt(Math.max(v, 1e-12)));
}

/** Metrics of `trades` (time-ordered) evaluated over the UTC days `days`. */
export function tradeMetrics(trades: readonly SimTrade[], days: readonly number[], costs: CostModel): TradeMetrics {
  const n = trades.length;
  const net = new Float64Array(n);
  const gbp = new Float64Array(n);
  let wins = 0;
  let winSum = 0;
  let lossSum = 0;
  let gross = 0;
  let fee = 0;
  let spread = 0;
  let slip = 0;
  let funding = 0;
  let tp = 0;
  let sl = 0;
  let time = 0;
  let agent = 0;
  for (let i = 0; i < n; i++) {
    const t = trades[i]!;
    if (i > 0 && t.entry_ts < trades[i - 1]!.exit_ts) {
      throw new RangeError(`trades overlap: entry ${new Date(t.entry_ts).toISOString()} before the previous exit ${new Date(trades[i - 1]!.exit_ts).toISOString()}`);
    }
    net[i] = t.net_bps;
    gbp[i] = bpsToGbp(t.net_bps, costs);
    if (t.net_bps > 0) {
      wins++;
      winSum += t.net_bps;
    } else lossSum -= t.net_bps;
    gross += t.gross_bps;
    fee += t.fee_bps;
    spread += t.spread_bps;
    slip += t.slippage_bps;
    funding += t.funding_bps ?? 0;
    if (t.exit_reason === EXIT_TP) tp++;
    else if (t.exit_reason === EXIT_SL) sl++;
    else if (t.exit_reason === EXIT_TIME) time++;
    else if (t.exit_reason === EXIT_AGENT) agent++;
  }
  const daily = dailyPnl(trades, days, costs);
  let totalNet = 0;
  let totalGbp = 0;
  for (let i = 0; i < n; i++) {
    totalNet += net[i]!;
    totalGbp += gbp[i]!;
  }
  const sdTrade = sampleStd(net);
  let bestTrade = -Infinity;
  for (let i = 0; i < n; i++) if (net[i]! > bestTrade) bestTrade = net[i]!;
  let bestDay = -Infinity;
  for (let k = 0; k < daily.length; k++) if (daily[k]! > bestDay) bestDay = daily[k]!;
  const avg = (x: number) => (n > 0 ? x / n : 0);
  return {
    total_trades: n,
    wins,
    losses: n - wins,
    win_rate: n > 0 ? wins / n : 0,
    total_profit_gbp: totalGbp,
    total_net_bps: totalNet,
    mean_net_bps: avg(totalNet),
    mean_gross_bps: avg(gross),
    sharpe_ratio: annualisedSharpe(daily),
    sharpe_per_trade: sdTrade > 0 ? mean(net) / sdTrade : 0,
    probabilistic_sharpe: probabilisticSharpe(daily),
    profit_factor: lossSum > 0 ? winSum / lossSum : winSum > 0 ? null : 0,
    max_drawdown: maxDrawdown(gbp),
    max_drawdown_bps: maxDrawdown(net),
    days: days.length,
    best_trade_share: totalNet > 0 ? bestTrade / totalNet : null,
    best_day_share: totalGbp > 0 ? bestDay / totalGbp : null,
    costs: {
      fees_gbp: bpsToGbp(fee, costs),
      spread_gbp: bpsToGbp(spread, costs),
      slippage_gbp: bpsToGbp(slip, costs),
      total_gbp: bpsToGbp(fee + spread + slip + funding, costs),
      mean_fee_bps: avg(fee),
      mean_spread_bps: avg(spread),
      mean_slippage_bps: avg(slip),
      mean_round_trip_bps: avg(fee + spread + slip),
      funding_gbp: bpsToGbp(funding, costs),
      mean_funding_bps: avg(funding),
    },
    exit_reasons: agent > 0 ? { tp, sl, time, agent } : { tp, sl, time },
  };
}
