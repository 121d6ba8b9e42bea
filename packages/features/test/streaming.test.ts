import { type CandleSeries, DataError } from '@engine/shared';
import { buildFeatures, type CandleInput, FEATURE_NAMES, FeatureState, type FeatureFrame } from '../src';
import { close, copySeries, makeGap, realPair, SYMBOLS } from './support/real-data';

const DAY = 1440;

function candleAt(s: CandleSeries, i: number): CandleInput {
  return { ts: s.ts[i], open: s.open[i], high: s.high[i], low: s.low[i], close: s.close[i], volume: s.volume[i], gap: s.gap[i] };
}

/** Stream every candle through a FeatureState and compare each row with the batch frame. */
function expectStreamEqualsBatch(candles: CandleSeries, reference: CandleSeries, frame: FeatureFrame): void {
  const state = new FeatureState(candles.symbol, reference.symbol);
  let buffer: Float64Array | null = null;
  let compared = 0;
  for (let i = 0; i < candles.ts.length; i++) {
    const row = state.update(candleAt(candles, i), candleAt(reference, i));
    if (buffer === null) buffer = row;
    if (row !== buffer) throw new Error('update must reuse one row buffer'); // no allocation per candle
    for (let k = 0; k < FEATURE_NAMES.length; k++) {
      const b = frame.columns[k][i];
      if (!close(row[k], b, 1e-9)) {
        throw new Error(`${candles.symbol} row ${i} ${FEATURE_NAMES[k]}: streaming ${row[k]} vs batch ${b}`);
      }
      compared++;
    }
  }
  expect(state.rows).toBe(candles.ts.length);
  expect(compared).toBe(candles.ts.length * FEATURE_NAMES.length);
}

describe('FeatureState (streaming) equals the batch frame', () => {
  it.each(SYMBOLS)('%s: every row of 10 real days, relative 1e-9, NaN where batch is NaN', (symbol) => {
    const { candles, reference } = realPair(symbol, 0, 10 * DAY);
    const frame = buildFeatures(candles, { reference });
    // After the warm-up every feature but the order book is defined: the comparison is not vacuous.
    const last = candles.ts.length - 1;
    const defined = FEATURE_NAMES.filter((_, k) => !Number.isNaN(frame.columns[k][last]));
    expect(defined).toEqual(FEATURE_NAMES.filter((n) => n !== 'orderbook_imbalance'));
    expectStreamEqualsBatch(candles, reference, frame);
  });

  it('also through gap rows in the coin and in the reference', () => {
    const pair = realPair('SUI/USDT', 0, 10 * DAY);
    const candles = copySeries(pair.candles);
    const reference = copySeries(pair.reference);
    for (const i of [5, 400, 401, 402, 3000, 10_500, 12_000, 14_000]) makeGap(candles, i);
    for (const i of [700, 11_000, 11_001]) makeGap(reference, i);
    const frame = buildFeatures(candles, { reference });
    expectStreamEqualsBatch(candles, reference, frame);
  });
});

describe('FeatureState input checks', () => {
  const { candles, reference } = realPair('ETH/USDT', 0, 100);

  it('rejects a candle that skips a minute (missing minutes must be fed as gap candles)', () => {
    const s = new FeatureState('ETH/USDT');
    s.update(candleAt(candles, 0));
    expect(() => s.update(candleAt(candles, 2))).toThrow(DataError);
    expect(() => s.update(candleAt(candles, 2))).toThrow(/does not follow .*expected 2025-12-29T00:01Z/);
  });

  it('rejects a reference candle for another minute, an invalid candle, and the coin as its own reference', () => {
    const s = new FeatureState('ETH/USDT', 'BTC/USDT');
    expect(() => s.update(candleAt(candles, 0), candleAt(reference, 1))).toThrow(/reference candle is for/);
    expect(() => s.update({ ...candleAt(candles, 0), low: candles.high[0] * 2 })).toThrow(/high must be ≥ low/);
    expect(() => s.update({ ...candleAt(candles, 0), close: -1 })).toThrow(DataError);
    expect(() => new FeatureState('ETH/USDT', 'ETHUSDT')).toThrow(/itself/);
  });

  it('accepts a gap candle (NaN prices) and returns NaN for all but the temporal features', () => {
    const s = new FeatureState('ETH/USDT');
    const row = s.update({ ts: candles.ts[0], open: NaN, high: NaN, low: NaN, close: NaN, volume: NaN, gap: true });
    FEATURE_NAMES.forEach((name, k) => {
      if (['tod_fraction', 'tod_sin', 'tod_cos', 'dow', 'dow_sin', 'dow_cos'].includes(name)) expect(Number.isFinite(row[k])).toBe(true);
      else expect(row[k]).toBeNaN();
    });
  });
});
