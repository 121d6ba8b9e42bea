import fc from 'fast-check';
import { MINUTE_MS, type CandleSeries } from '@engine/shared';
import { DEFAULT_COST_MODEL, EXIT_REASON_NAMES, tripleBarrierLabels, type LabelConfig } from '@engine/model';
import { plantedMarket } from '@engine/training';
import { PositionTracker } from '../src/position-tracker';

/**
 * The live exit rule is the labeller's: for every labelled row of random markets and
 * random barrier settings, entering at that row and feeding the following candles one by
 * one closes the position on the label's exit bar, for the label's reason and P&L.
 */
const candle = (s: CandleSeries, i: number) => ({ ts: s.ts[i]!, open: s.open[i]!, high: s.high[i]!, low: s.low[i]!, close: s.close[i]!, volume: s.volume[i]!, gap: s.gap[i]! });

const labelConfig = fc.record<LabelConfig>({
  horizon_minutes: fc.integer({ min: 1, max: 12 }),
  side: fc.constantFrom('long' as const, 'short' as const),
  vol_window: fc.integer({ min: 2, max: 40 }),
  barriers: fc.oneof(
    fc.record({ mode: fc.constant('volatility' as const), tp_sigma: fc.double({ min: 0.2, max: 3, noNaN: true }), tp_min_cost_multiple: fc.double({ min: 0, max: 2, noNaN: true }), sl_sigma: fc.double({ min: 0.2, max: 3, noNaN: true }) }),
    fc.record({ mode: fc.constant('bps' as const), tp_bps: fc.double({ min: 1, max: 80, noNaN: true }), sl_bps: fc.double({ min: 1, max: 80, noNaN: true }) }),
  ),
  max_barrier_bps: fc.oneof(fc.constant(null), fc.double({ min: 5, max: 200, noNaN: true })),
  allow_unwinnable: fc.constant(true),
});

test('exits exactly where the triple-barrier labeller says, for every labelled row', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1_000_000 }), labelConfig, (seed, cfg) => {
      const { candles } = plantedMarket({ days: 0.1, seed, start: Date.UTC(2026, 0, 1), symbol: 'SYN/USDT', sigma_bps: 6 });
      const n = candles.ts.length;
      const labels = tripleBarrierLabels(candles, cfg, DEFAULT_COST_MODEL);
      for (let t = 0; t < n; t++) {
        if (Number.isNaN(labels.net_edge_bps[t]!)) continue;
        const tracker = new PositionTracker('SYN/USDT', cfg, DEFAULT_COST_MODEL);
        for (let i = 0; i <= t; i++) tracker.push(candle(candles, i));
        expect(tracker.tradable()).toBe(true);
        const pos = tracker.enter(1, 'm');
        expect(pos.tp_bps).toBeCloseTo(labels.tp_bps[t]!, 9);
        expect(pos.sl_bps).toBeCloseTo(labels.sl_bps[t]!, 9);
        let closed = null;
        let j = t + 1;
        for (; j < n && closed === null; j++) closed = tracker.push(candle(candles, j));
        const e = labels.exit_index[t]!;
        expect(closed).not.toBeNull();
        expect(j - 1).toBe(e);
        expect(closed!.exit_ts).toBe(candles.ts[e]! + MINUTE_MS);
        expect(closed!.exit_reason).toBe(EXIT_REASON_NAMES[labels.exit_reason[t]!]);
        expect(closed!.entry_price).toBe(candles.open[t + 1]!);
        expect(closed!.net_bps).toBeCloseTo(labels.net_edge_bps[t]!, 8);
        expect(closed!.gross_bps).toBeCloseTo(labels.gross_bps[t]!, 8);
      }
    }),
    { numRuns: 20, seed: 8 },
  );
});

test('a row whose σ window is incomplete or crosses a gap is not tradable', () => {
  const cfg: LabelConfig = { horizon_minutes: 4, side: 'long', vol_window: 10, barriers: { mode: 'bps', tp_bps: 30, sl_bps: 20 }, max_barrier_bps: null, allow_unwinnable: true };
  const { candles } = plantedMarket({ days: 0.05, seed: 3, start: Date.UTC(2026, 0, 1), symbol: 'SYN/USDT' });
  const tracker = new PositionTracker('SYN/USDT', cfg, DEFAULT_COST_MODEL);
  for (let i = 0; i < 10; i++) {
    tracker.push(candle(candles, i));
    expect(tracker.tradable()).toBe(false);
  }
  tracker.push(candle(candles, 10));
  expect(tracker.tradable()).toBe(true);
  tracker.push({ ...candle(candles, 11), gap: 1 });
  expect(tracker.tradable()).toBe(false);
  for (let i = 12; i < 23; i++) tracker.push(candle(candles, i));
  expect(tracker.tradable()).toBe(true);
});

test('a gap inside an open trade closes it at the horizon without P&L (the simulation never holds such a trade)', () => {
  const cfg: LabelConfig = { horizon_minutes: 4, side: 'long', vol_window: 5, barriers: { mode: 'bps', tp_bps: 5000, sl_bps: 5000 }, max_barrier_bps: null, allow_unwinnable: true };
  const { candles } = plantedMarket({ days: 0.05, seed: 4, start: Date.UTC(2026, 0, 1), symbol: 'SYN/USDT' });
  const tracker = new PositionTracker('SYN/USDT', cfg, DEFAULT_COST_MODEL);
  for (let i = 0; i <= 10; i++) tracker.push(candle(candles, i));
  tracker.enter(3, 'm');
  expect(tracker.push(candle(candles, 11))).toBeNull();
  expect(tracker.push({ ...candle(candles, 12), gap: 1 })).toBeNull();
  expect(tracker.push(candle(candles, 13))).toBeNull();
  const closed = tracker.push(candle(candles, 14));
  expect(closed).not.toBeNull();
  expect(closed!.exit_ts).toBe(candles.ts[14]! + MINUTE_MS);
  expect(closed!.exit_reason).toBe('time');
  expect(Number.isNaN(closed!.net_bps)).toBe(true);
});

test('new barrier settings wait until the open position has closed, then apply with a full σ window', () => {
  const a: LabelConfig = { horizon_minutes: 3, side: 'long', vol_window: 5, barriers: { mode: 'bps', tp_bps: 5000, sl_bps: 5000 }, max_barrier_bps: null, allow_unwinnable: true };
  const b: LabelConfig = { horizon_minutes: 8, side: 'long', vol_window: 30, barriers: { mode: 'volatility', tp_sigma: 2, tp_min_cost_multiple: 0, sl_sigma: 1 }, max_barrier_bps: null, allow_unwinnable: true };
  const { candles } = plantedMarket({ days: 0.1, seed: 5, start: Date.UTC(2026, 0, 1), symbol: 'SYN/USDT' });
  const tracker = new PositionTracker('SYN/USDT', a, DEFAULT_COST_MODEL);
  for (let i = 0; i <= 40; i++) tracker.push(candle(candles, i));
  const pos = tracker.enter(1, 'm');
  tracker.setConfig(b, DEFAULT_COST_MODEL);
  expect(pos.exit_by_ts).toBe(candles.ts[40]! + 4 * MINUTE_MS);
  let closed = null;
  let i = 41;
  while (closed === null) closed = tracker.push(candle(candles, i++));
  expect(i - 1).toBe(43); // the old horizon of 3 bars
  expect(tracker.horizon).toBe(8);
  // The old ring held 10 candles (34..43 when it grew): the new 30-return window (31
  // closes) is full after candle 64.
  for (; i <= 63; i++) {
    tracker.push(candle(candles, i));
    expect(tracker.tradable()).toBe(false);
  }
  tracker.push(candle(candles, 64));
  expect(tracker.tradable()).toBe(true);
  const next = tracker.enter(1, 'm');
  expect(next.exit_by_ts).toBe(candles.ts[64]! + 9 * MINUTE_MS);
  const labels = tripleBarrierLabels(candles, b, DEFAULT_COST_MODEL);
  expect(next.tp_bps).toBeCloseTo(labels.tp_bps[64]!, 9);
  expect(next.sl_bps).toBeCloseTo(labels.sl_bps[64]!, 9);
});
