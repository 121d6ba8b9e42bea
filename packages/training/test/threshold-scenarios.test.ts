import { DAY_MS, Mulberry32 } from '@engine/shared';
import { daysInSpan } from '../src/metrics/trade-metrics';
import { repriceTrades, runScenarios, DEFAULT_SCENARIOS } from '../src/scenarios/scenarios';
import { simulateSegments } from '../src/simulation/simulate';
import { DEFAULT_THRESHOLD, selectThreshold } from '../src/threshold/select-threshold';
import { FLAT_23, T0 } from './candle-fixtures';
import { handLabels } from './label-fixtures';

const RULES = { cooldown_seconds: 0, max_trades_per_day: 1000 };

describe('threshold selection (training data only)', () => {
  // 2000 calibration rows: net edge = 10·signal − 5 + noise, prediction = signal: only the top rows pay.
  const r = new Mulberry32(7);
  const signal = Array.from({ length: 2000 }, () => r.next() * 2 - 1);
  const net = signal.map((s) => 10 * s - 5 + (r.next() - 0.5) * 2);
  const { labels, ts } = handLabels(net, 1);
  const rows = Int32Array.from(signal.map((_, i) => i));

  it('picks the candidate with the best total net edge under Hamilton rules', () => {
    const pred = Float64Array.from(signal, (s) => 10 * s - 5);
    const c = selectThreshold(rows, pred, labels, ts, RULES, DEFAULT_THRESHOLD, { source: 'inner_model', start: T0, end: T0 + 1 });
    expect(c.rule).toBe('best_total_net');
    const best = Math.max(...c.candidates.filter((k) => k.trades >= 10).map((k) => k.total_net_bps));
    expect(c.total_net_bps).toBe(best);
    expect(c.threshold_bps).toBeGreaterThanOrEqual(0);
    // Recomputing the chosen threshold's trades gives the recorded evidence.
    const again = simulateSegments([{ fold: 0, threshold_bps: c.threshold_bps, rows, predicted_bps: pred }], labels, ts, RULES);
    expect(again.length).toBe(c.trades);
  });

  it('never chooses a threshold below the floor, and sits above every prediction without evidence', () => {
    const negative = Float64Array.from(signal, (s) => s - 30);
    const c = selectThreshold(rows, negative, labels, ts, RULES, DEFAULT_THRESHOLD, { source: 'inner_model', start: T0, end: T0 + 1 });
    expect(c.rule).toBe('no_candidate_with_min_trades');
    expect(c.trade).toBe(false);
    expect(c.threshold_bps).toBe(0);
    expect(c.candidates.every((k) => k.threshold_bps >= 0)).toBe(true);
  });
});

describe('no profitable threshold: the fold does not trade (issue 14 item 10)', () => {
  // The model ranks well but every row loses after costs: the best candidate loses least.
  const r = new Mulberry32(11);
  const signal = Array.from({ length: 2000 }, () => r.next());
  const net = signal.map((s) => 5 * s - 20 + (r.next() - 0.5));
  const { labels, ts } = handLabels(net, 1);
  const rows = Int32Array.from(signal.map((_, i) => i));
  const pred = Float64Array.from(signal, (s) => 10 + 5 * s);

  it('answers "do not trade" when no candidate made money on the calibration data, and says why', () => {
    const c = selectThreshold(rows, pred, labels, ts, RULES, DEFAULT_THRESHOLD, { source: 'inner_model', start: T0, end: T0 + 1 });
    expect(c.candidates.filter((k) => k.trades >= 10).length).toBeGreaterThan(5);
    expect(c.candidates.every((k) => k.total_net_bps < 0)).toBe(true);
    expect(c.trade).toBe(false);
    expect(c.rule).toBe('no_profitable_candidate');
    // The evidence: the least-losing candidate still lost.
    expect(c.total_net_bps).toBe(Math.max(...c.candidates.filter((k) => k.trades >= 10).map((k) => k.total_net_bps)));
    expect(c.total_net_bps).toBeLessThan(0);
    // Its threshold sits above every calibration prediction, for a reader that ignores `trade`.
    expect(c.threshold_bps).toBe(Math.max(...pred));
    // A segment that must not trade makes no trade; the next one trades as before.
    const segs = [
      { fold: 0, threshold_bps: c.threshold_bps, rows, predicted_bps: pred, trade: c.trade },
      { fold: 1, threshold_bps: 0, rows, predicted_bps: pred },
    ];
    const trades = simulateSegments([segs[0]!], labels, ts, RULES);
    expect(trades).toEqual([]);
    expect(simulateSegments([{ ...segs[0]!, threshold_bps: 0 }], labels, ts, RULES)).toEqual([]);
    expect(simulateSegments([segs[1]!], labels, ts, RULES).length).toBeGreaterThan(100);
  });

  it('still trades when the best candidate made money, and lifts the requirement only when told (null)', () => {
    const gain = Float64Array.from(net, (v) => v + 25);
    const paid = handLabels(Array.from(gain), 1);
    const ok = selectThreshold(rows, pred, paid.labels, paid.ts, RULES, DEFAULT_THRESHOLD, { source: 'inner_model', start: T0, end: T0 + 1 });
    expect(ok).toMatchObject({ trade: true, rule: 'best_total_net' });
    expect(ok.total_net_bps).toBeGreaterThan(0);
    const forced = selectThreshold(rows, pred, labels, ts, RULES, { ...DEFAULT_THRESHOLD, min_calibration_net_bps: null }, { source: 'inner_model', start: T0, end: T0 + 1 });
    expect(forced).toMatchObject({ trade: true, rule: 'best_total_net' });
    expect(forced.total_net_bps).toBeLessThan(0);
  });
});

describe('scenario tests', () => {
  const { labels, ts } = handLabels(Array.from({ length: 3 * 1440 }, (_, i) => (i % 7 === 0 ? 10 : -3)), 2);
  const rows = Int32Array.from({ length: 3 * 1440 }, (_, i) => i);
  const pred = Float64Array.from(rows, (i) => (i % 7 === 0 ? 1 : -1));
  const trades = simulateSegments([{ fold: 0, threshold_bps: 0, rows, predicted_bps: pred }], labels, ts, { cooldown_seconds: 0, max_trades_per_day: 1000 });
  const days = daysInSpan(T0, T0 + 3 * DAY_MS);

  it('re-prices the same trades with costs ×2 and spread ×2', () => {
    const x2 = repriceTrades(trades, 2, 2, 2);
    expect(x2[0]!.net_bps).toBeCloseTo(10 - 23, 12);
    const vol = new Map(days.map((d, k) => [d, k === 1 ? 0.01 : 0.001] as [number, number]));
    const [costs, spread, hot] = runScenarios(trades, days, FLAT_23, vol, DEFAULT_SCENARIOS);
    expect(costs!.name).toBe('costs_x2');
    expect(costs!.total_trades).toBe(trades.length);
    expect(costs!.mean_net_bps).toBeCloseTo(-13, 9);
    expect(spread!.mean_net_bps).toBeCloseTo(8, 9);
    // The most volatile 10% of 3 days = 1 day: day 1.
    expect(hot!.name).toBe('volatile_days');
    expect(hot!.days).toBe(1);
    expect(hot!.total_trades).toBe(trades.filter((t) => t.signal_ts >= T0 + DAY_MS && t.signal_ts < T0 + 2 * DAY_MS).length);
  });
});
