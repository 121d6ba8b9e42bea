import { DAY_MS } from '@engine/shared';
import { EXIT_SL, EXIT_TP } from '@engine/model';
import { annualisedSharpe, daysInSpan, probabilisticSharpe, tradeMetrics } from '../src/metrics/trade-metrics';
import { maxDrawdown, median } from '../src/metrics/stats';
import type { SimTrade } from '../src/simulation/simulate';
import { FLAT_23, T0 } from './candle-fixtures';

function trade(day: number, minute: number, net: number, reason = EXIT_TP): SimTrade {
  const entry = T0 + day * DAY_MS + minute * 60_000;
  return {
    row: day * 1440 + minute,
    fold: day,
    signal_ts: entry - 60_000,
    decision_ts: entry,
    entry_ts: entry,
    exit_ts: entry + 4 * 60_000,
    exit_index: 0,
    exit_reason: reason,
    predicted_bps: 1,
    threshold_bps: 0,
    gross_bps: net + 23,
    net_bps: net,
    fee_bps: 20,
    spread_bps: 2,
    slippage_bps: 1,
  };
}

describe('trade metrics on hand-computed series', () => {
  // notional 1000 USDT × 0.8 GBP/USDT: 1 bps = 0.08 GBP.
  const trades = [trade(0, 10, 30), trade(0, 100, -10, EXIT_SL), trade(2, 5, 20), trade(2, 50, -40, EXIT_SL)];
  const days = daysInSpan(T0, T0 + 3 * DAY_MS);

  it('counts wins, losses, profit factor, profit in GBP and costs', () => {
    const m = tradeMetrics(trades, days, FLAT_23);
    expect(m.total_trades).toBe(4);
    expect(m.wins).toBe(2);
    expect(m.losses).toBe(2);
    expect(m.win_rate).toBe(0.5);
    expect(m.profit_factor).toBeCloseTo(50 / 50, 12);
    expect(m.total_net_bps).toBe(0);
    expect(m.total_profit_gbp).toBeCloseTo(0, 12);
    expect(m.mean_gross_bps).toBe(23);
    // Equity (GBP): 2.4, 1.6, 3.2, 0.0 → drawdown from 3.2 to 0.
    expect(m.max_drawdown).toBeCloseTo(3.2, 12);
    expect(m.max_drawdown_bps).toBe(40);
    expect(m.costs.fees_gbp).toBeCloseTo(4 * 20 * 0.08, 12);
    expect(m.costs.spread_gbp).toBeCloseTo(4 * 2 * 0.08, 12);
    expect(m.costs.slippage_gbp).toBeCloseTo(4 * 1 * 0.08, 12);
    expect(m.costs.mean_round_trip_bps).toBe(23);
    expect(m.exit_reasons).toEqual({ tp: 2, sl: 2, time: 0 });
    expect(m.days).toBe(3);
  });

  it('reports P&L concentration: the best trade\'s and the best day\'s share of the total (issue 14 item 11)', () => {
    // One +3,238 bps trade among small losers decides the total, as SUI's did after the crash.
    const lucky = [trade(0, 10, -20), trade(0, 100, -25), trade(1, 5, 3238), trade(2, 5, -30), trade(2, 50, -15)];
    const m = tradeMetrics(lucky, days, FLAT_23);
    expect(m.total_net_bps).toBe(3148);
    expect(m.best_trade_share).toBeCloseTo(3238 / 3148, 12);
    // Day 1 holds the lucky trade alone; the days are in GBP (1 bps = 0.08 GBP), the share is the same.
    expect(m.best_day_share).toBeCloseTo(3238 / 3148, 12);
    const spread = tradeMetrics([trade(0, 10, 30), trade(0, 100, 10), trade(2, 5, 20), trade(2, 50, 40)], days, FLAT_23);
    expect(spread.best_trade_share).toBeCloseTo(40 / 100, 12);
    expect(spread.best_day_share).toBeCloseTo(60 / 100, 12);
    // No profit, nothing to share.
    const m0 = tradeMetrics(trades, days, FLAT_23);
    expect(m0.best_trade_share).toBeNull();
    expect(m0.best_day_share).toBeNull();
    expect(tradeMetrics([], days, FLAT_23).best_trade_share).toBeNull();
  });

  it('annualises the Sharpe of DAILY P&L, counting days without trades as zero', () => {
    const m = tradeMetrics(trades.slice(0, 3), days, FLAT_23);
    // Daily GBP: day 0 = (30 − 10)·0.08 = 1.6, day 1 = 0, day 2 = 20·0.08 = 1.6.
    const mu = 3.2 / 3;
    const sd = Math.sqrt(((1.6 - mu) ** 2 * 2 + mu ** 2) / 2);
    expect(m.sharpe_ratio).toBeCloseTo((mu / sd) * Math.sqrt(365), 10);
    // Not a t-statistic: the per-trade Sharpe does not grow with the number of trades.
    const net = [30, -10, 20];
    const tm = 40 / 3;
    const tsd = Math.sqrt(net.reduce((a, x) => a + (x - tm) ** 2, 0) / 2);
    expect(m.sharpe_per_trade).toBeCloseTo(tm / tsd, 12);
    expect(annualisedSharpe([1, 1, 1])).toBe(0);
  });

  it('gives an unbounded (null) profit factor without losses and 0 without trades', () => {
    expect(tradeMetrics([trade(0, 1, 5)], days, FLAT_23).profit_factor).toBeNull();
    const none = tradeMetrics([], days, FLAT_23);
    expect(none.profit_factor).toBe(0);
    expect(none.sharpe_ratio).toBe(0);
    expect(none.win_rate).toBe(0);
    expect(none.max_drawdown).toBe(0);
  });

  it('refuses overlapping trades and trades outside the evaluated days', () => {
    expect(() => tradeMetrics([trade(0, 10, 1), trade(0, 12, 1)], days, FLAT_23)).toThrow(/overlap/);
    expect(() => tradeMetrics([trade(5, 10, 1)], days, FLAT_23)).toThrow(/outside the evaluated days/);
  });

  it('matches the probabilistic Sharpe ratio of a reference implementation (scipy)', () => {
    // numpy/scipy: sr = mean/std(ddof=1), skew and kurtosis (Fisher=False) of the sample.
    const r = [1.5, -0.5, 2.0, 0.3, -1.2, 0.8, 2.5, -0.1, 0.9, 1.1];
    expect(probabilisticSharpe(r)).toBeCloseTo(0.9605108768373282, 6);
    expect(probabilisticSharpe([1, -1, 1, -1, 1, -1])).toBeCloseTo(0.5, 7);
  });

  it('measures drawdown from the running peak, starting at zero', () => {
    expect(maxDrawdown([-1, -2, 5, -4, 1])).toBe(4);
    expect(maxDrawdown([1, 2, 3])).toBe(0);
    expect(median([3, 1, 2, NaN])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});
