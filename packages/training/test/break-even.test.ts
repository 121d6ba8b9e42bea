import { DEFAULT_COST_MODEL } from '@engine/model';
import { DAY_MS } from '@engine/shared';
import { breakEvenCost } from '../src/metrics/break-even';
import { daysInSpan } from '../src/metrics/trade-metrics';
import type { SimTrade } from '../src/simulation/simulate';

const D0 = Date.UTC(2026, 0, 1);

/** One trade a day at 01:00 UTC with the given gross bps, paying `paid` bps round trip. */
function trades(gross: readonly number[], paid = 23): SimTrade[] {
  return gross.map((g, i) => {
    const t = D0 + i * DAY_MS + 3_600_000;
    return {
      row: i, fold: 0, signal_ts: t, decision_ts: t + 60_000, entry_ts: t + 60_000, exit_ts: t + 120_000, exit_index: i, exit_reason: 2,
      predicted_bps: 5, threshold_bps: 1, gross_bps: g, net_bps: g - paid, fee_bps: 20, spread_bps: 2, slippage_bps: paid - 22,
    };
  });
}

describe('break-even cost (issue 16, item 5)', () => {
  const bounds = { min_sharpe: 0.7, min_profit_factor: 1.1 };

  test('profit-factor bound: wins of 30 and losses of 10 bps pass up to C = 19 / 2.1 = 9.048 bps', () => {
    const g = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 30 : -10));
    const days = daysInSpan(D0, D0 + 200 * DAY_MS);
    const b = breakEvenCost(trades(g), days, DEFAULT_COST_MODEL, bounds);
    // PF(C) = (30 − C) / (10 + C) ≥ 1.1 ⇔ C ≤ 19 / 2.1; the Sharpe bound alone would allow ≈ 9.27.
    expect(b.round_trip_bps).toBeCloseTo(19 / 2.1, 1);
    expect(Math.abs(b.round_trip_bps! - 19 / 2.1)).toBeLessThan(0.011);
    expect(b.paid_round_trip_bps).toBeCloseTo(23, 12);
    expect(b.margin_bps).toBeCloseTo(19 / 2.1 - 23, 1);
    expect(b.trades).toBe(200);
    // The curve is the gates' own arithmetic at whole bps: PF at C = 4 is 26 / 14.
    expect(b.curve[0]).toMatchObject({ cost_bps: 0, profit_factor: 3 });
    expect(b.curve[4]!.profit_factor).toBeCloseTo(26 / 14, 12);
    expect(b.curve.length).toBeGreaterThanOrEqual(47); // up to twice the paid cost
  });

  test('Sharpe bound: idle days make the Sharpe bind before the profit factor', () => {
    // One trade every 50th day: wins of 12, losses of −4. PF ≥ 1.1 holds to C = 7.6 / 2.1 = 3.62,
    // but 49 idle days in 50 dilute the daily Sharpe, which fails near C ≈ 1.9.
    const g = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 12 : -4));
    const t = trades(g).map((x, i) => ({ ...x, signal_ts: D0 + i * 50 * DAY_MS + 3_600_000, entry_ts: D0 + i * 50 * DAY_MS + 3_660_000, exit_ts: D0 + i * 50 * DAY_MS + 3_720_000 }));
    const days = daysInSpan(D0, D0 + 5000 * DAY_MS);
    const b = breakEvenCost(t, days, DEFAULT_COST_MODEL, bounds);
    const at = (c: number) => b.curve.find((p) => p.cost_bps === c)!;
    expect(b.round_trip_bps).not.toBeNull();
    // Just below the break-even both gates pass, just above the Sharpe fails while PF still passes.
    const c = b.round_trip_bps!;
    expect(c).toBeGreaterThan(1);
    expect(c).toBeLessThan(3);
    expect(at(Math.floor(c)).sharpe).toBeGreaterThanOrEqual(0.7);
    expect(at(Math.ceil(c)).sharpe).toBeLessThan(0.7);
    expect(at(Math.ceil(c)).profit_factor!).toBeGreaterThan(1.1);
  });

  test('trades that lose before costs have no break-even; no trades, no curve', () => {
    const g = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? 5 : -9));
    const days = daysInSpan(D0, D0 + 50 * DAY_MS);
    expect(breakEvenCost(trades(g), days, DEFAULT_COST_MODEL, bounds)).toMatchObject({ round_trip_bps: null, margin_bps: null, trades: 50 });
    expect(breakEvenCost([], days, DEFAULT_COST_MODEL, bounds)).toMatchObject({ round_trip_bps: null, paid_round_trip_bps: null, trades: 0, curve: [] });
  });
});
