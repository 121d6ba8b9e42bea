import { DAY_MS, formatUtcDay, sliceCandles, type CandleSeries } from '@engine/shared';
import { buildFeatures } from '@engine/features';
import { decodeFit, encodeFit, firstTestStart, MemoryFitCache, plantedMarket, trainSymbol, walkForwardFolds, type TrainConfigOverrides, type TrainedModelBundle } from '../src';

/**
 * The fold-fit cache (issue 18): consecutive daily windows on the calendar fold grid share
 * their folds, a shared fold's fit is read from the cache instead of refitted, and the
 * bundle is byte for byte the one a cold run (no cache) makes.
 */
const START = Date.UTC(2026, 0, 1);
const FAST: TrainConfigOverrides = { walk_forward: { train_days: 4, test_days: 1, step_days: 1 }, threshold: { calibration_days: 1 }, model: { nEstimators: 20, maxDepth: 4 }, confidence_model: { nEstimators: 8 } };
let market: { candles: CandleSeries; reference: CandleSeries };

beforeAll(() => {
  market = plantedMarket({ days: 22, seed: 5, start: START, symbol: 'SYN/USDT' });
});

/** Candles of [day a, day b) of the market. */
const slice = (c: CandleSeries, a: number, b: number): CandleSeries => sliceCandles(c, a * 1440, b * 1440);

async function train(endDay: number, cache?: MemoryFitCache): Promise<TrainedModelBundle> {
  const runDate = formatUtcDay(START + endDay * DAY_MS);
  return trainSymbol(
    // 12-day windows with warm-up history from a fixed anchor (day 0) before them, as the fleet's jobs load
    { symbol: 'SYN/USDT', runDate, candles: slice(market.candles, 0, endDay), reference: slice(market.reference, 0, endDay), windowStart: START + (endDay - 12) * DAY_MS, now: new Date(START + endDay * DAY_MS), gitCommit: 'test' },
    FAST,
    { threads: 1, ...(cache ? { fitCache: cache } : {}) },
  );
}

const bytesOf = (b: TrainedModelBundle) => b.files.map((f) => [f.name, Buffer.from(f.bytes).toString('base64')]);

test('the calendar grid: windows a day apart share every fold but those at their edges', () => {
  // a window on the grid: the same folds as window anchoring; off the grid: the first test a step earlier, its training clipped
  expect(firstTestStart(START, 4 * DAY_MS, DAY_MS, 'calendar')).toBe(START + 4 * DAY_MS);
  expect(firstTestStart(START + 3 * 3_600_000, 4 * DAY_MS, DAY_MS, 'calendar')).toBe(START + 4 * DAY_MS);
  expect(firstTestStart(START + 3 * 3_600_000, 4 * DAY_MS, DAY_MS, 'window')).toBe(START + 4 * DAY_MS + 3 * 3_600_000);
  const tl = { ts: Float64Array.from({ length: 20 * 1440 }, (_, i) => START + i * 60_000), label_end: Float64Array.from({ length: 20 * 1440 }, (_, i) => START + (i + 5) * 60_000), usable: new Uint8Array(20 * 1440).fill(1) };
  const cfg = { train_days: 4, test_days: 1, step_days: 1, embargo_minutes: null, min_train_coverage: 0.6, min_test_coverage: 0.6, anchor: 'calendar' as const };
  const a = walkForwardFolds(tl, cfg, { start: START + 2 * 3_600_000, end: START + 12 * DAY_MS, horizon_minutes: 4 });
  const b = walkForwardFolds(tl, cfg, { start: START + DAY_MS + 2 * 3_600_000, end: START + 13 * DAY_MS, horizon_minutes: 4 });
  const key = (f: (typeof a)[number]) => `${f.train_start}/${f.test_start}`;
  const shared = a.map(key).filter((k) => b.map(key).includes(k));
  expect(a.every((f) => (f.test_start - START) % DAY_MS === 0)).toBe(true);
  expect(a[0]!.train_start).toBe(START + 2 * 3_600_000);
  expect(a[1]!.train_end - a[1]!.train_start).toBe(4 * DAY_MS);
  // not shared: each window's first (clipped) fold, and the last day's new fold
  expect(shared.length).toBe(a.length - 2);
  expect(b.length).toBe(a.length);
});

test('a fold served from the cache is the refit bit for bit: the bundles are identical', async () => {
  const cache = new MemoryFitCache();
  const cold = await train(20);
  const first = await train(20, cache);
  expect(first.fitCache!.hits).toBe(0);
  expect(first.fitCache!.misses).toBeGreaterThan(3);
  expect(bytesOf(first)).toEqual(bytesOf(cold));
  // The same window again: every fold from the cache, the same bytes.
  const again = await train(20, cache);
  expect(again.fitCache!.misses).toBe(0);
  expect(again.fitCache!.hits).toBe(first.fitCache!.misses);
  expect(bytesOf(again)).toEqual(bytesOf(cold));
  // The next day's window: its shared folds come from the cache, and its bundle is the one a cold run makes.
  const nextCold = await train(21);
  const next = await train(21, cache);
  // 12-day windows of 4 + 1-day folds: 8 folds, 7 of them the day before's. Fitted again: the new last fold, the
  // fold that was last yesterday (its test window's final labels ran past yesterday's data), and the inner
  // calibration model of the new first fold (yesterday it was calibrated on the fold before it)
  expect(next.manifest.data.warmup_history).toEqual({ start: new Date(START).toISOString(), rows: 9 * 1440 });
  expect(next.fitCache!.hits).toBeGreaterThanOrEqual(6);
  expect(next.fitCache!.misses).toBe(3);
  expect(bytesOf(next)).toEqual(bytesOf(nextCold));
}, 120_000);

test('a corrupt or mis-sized entry is refused (the run refits)', () => {
  const e = encodeFit({ members: [Float64Array.of(1, 2, 3)] });
  expect(decodeFit(e, 3).predictions).toEqual(Float64Array.of(1, 2, 3));
  expect(() => decodeFit(e, 4)).toThrow(/expected 4 rows/);
  expect(() => decodeFit(e.slice(0, 12), 3)).toThrow(/FIT_CACHE_CORRUPT|predictions in/);
  expect(() => decodeFit(new Uint8Array(3), 3)).toThrow(/shorter than its header/);
});

test('features are causal: computed on a later-starting window, every row past the warm-up is the same', () => {
  const full = buildFeatures(market.candles, { reference: market.reference });
  const k = 3 * 1440;
  const late = buildFeatures(slice(market.candles, 3, 22), { reference: slice(market.reference, 3, 22) });
  const warm = late.warmup;
  expect(warm).toBeGreaterThan(0);
  let compared = 0;
  for (let c = 0; c < full.columns.length; c++) {
    for (let i = warm; i < late.columns[c]!.length; i += 97) {
      const a = full.columns[c]![k + i]!;
      const b = late.columns[c]![i]!;
      if (Number.isNaN(a)) expect(b).toBeNaN();
      else expect(b).toBeCloseTo(a, 9);
      compared++;
    }
  }
  expect(compared).toBeGreaterThan(2_000);
});
