import { type CandleSeries, DataError, parseUtcDay } from '@engine/shared';
import { buildFeatures, CROSS_ASSET_FEATURES, FEATURE_NAMES, FEATURE_WARMUP, type FeatureName, RECIPE, TEMPORAL_FEATURES } from '../src';
import { copySeries, makeGap, realCandles, realPair } from './support/real-data';

const col = (frame: { names: readonly string[]; columns: Float64Array[] }, name: FeatureName): Float64Array => frame.columns[frame.names.indexOf(name)];

describe('cross-asset features compare the coin with the reference (BTC), never with itself (SPEC §5)', () => {
  const { candles, reference } = realPair('ETH/USDT', 0, 3000);
  const frame = buildFeatures(candles, { reference });

  it('cross_momentum is BTC’s 10-bar return and leader / rs use coin minus BTC returns', () => {
    const c = candles.close;
    const b = reference.close;
    for (const i of [100, 1000, 2999]) {
      expect(col(frame, 'cross_momentum')[i]).toBe(b[i] / b[i - 10] - 1);
      let diff = 0;
      for (let j = i - 19; j <= i; j++) diff += c[j] / c[j - 1] - 1 - (b[j] / b[j - 1] - 1);
      expect(col(frame, 'leader')[i]).toBeCloseTo(Math.max(-0.1, Math.min(0.1, diff / 20)) * 10, 12);
      const rs = (n: number): number => c[i] / c[i - n] - 1 - (b[i] / b[i - n] - 1);
      expect(col(frame, 'rs')[i]).toBeCloseTo(50 * (1 + Math.tanh(10 * (0.6 * rs(10) + 0.4 * rs(20)))), 10);
    }
  });

  it('changing the reference changes exactly the cross-asset features; without one they are NaN', () => {
    const other = copySeries(realCandles('SUI/USDT', 0, 3000), 'BTC/USDT');
    const swapped = buildFeatures(candles, { reference: other });
    const none = buildFeatures(candles, {});
    FEATURE_NAMES.forEach((name) => {
      const a = col(frame, name);
      const b = col(swapped, name);
      const same = a.every((v, i) => Object.is(v, b[i]));
      expect([name, same]).toEqual([name, !CROSS_ASSET_FEATURES.includes(name)]);
      if (CROSS_ASSET_FEATURES.includes(name)) expect(col(none, name).every(Number.isNaN)).toBe(true);
    });
    expect(none.referenceSymbol).toBeNull();
    expect(frame.referenceSymbol).toBe('BTC/USDT');
  });

  it('refuses the coin as its own reference and a reference on another grid', () => {
    expect(() => buildFeatures(candles, { reference: copySeries(candles, 'ETHUSDT') })).toThrow(/itself/);
    const shifted = copySeries(reference);
    for (let i = 0; i < shifted.ts.length; i++) shifted.ts[i] += 60_000;
    expect(() => buildFeatures(candles, { reference: shifted })).toThrow(DataError);
    expect(() => buildFeatures(candles, { reference: realCandles('BTC/USDT', 0, 2999) })).toThrow(/not on the grid/);
  });

  it('BTC itself uses ETH/USDT as its reference', () => {
    const btc = realPair('BTC/USDT', 0, 200);
    expect(btc.reference.symbol).toBe('ETH/USDT');
    const f = buildFeatures(btc.candles, { reference: btc.reference });
    expect(col(f, 'cross_momentum')[150]).toBe(btc.reference.close[150] / btc.reference.close[140] - 1);
  });
});

describe('no raw price, volume or cumulative column reaches the frame (SPEC §5)', () => {
  it('no feature equals (or is proportional to) an input column or its running total', () => {
    const { candles, reference } = realPair('TAO/USDT', 0, 4000);
    const frame = buildFeatures(candles, { reference });
    const cum = (x: Float64Array): Float64Array => {
      const out = new Float64Array(x.length);
      let s = 0;
      for (let i = 0; i < x.length; i++) out[i] = s += x[i];
      return out;
    };
    const inputs: Record<string, Float64Array> = {
      open: candles.open,
      high: candles.high,
      low: candles.low,
      close: candles.close,
      volume: candles.volume,
      ts: candles.ts,
      cumVolume: cum(candles.volume),
      cumClose: cum(candles.close),
      btcClose: reference.close,
    };
    for (const name of FEATURE_NAMES) {
      const f = col(frame, name);
      for (const [inName, x] of Object.entries(inputs)) {
        // Proportional: f = k·x with one non-zero k over the window (a raw column in disguise).
        const ratios = new Set<string>();
        for (let i = 1500; i < 4000; i += 97) ratios.add((f[i] / x[i]).toPrecision(8));
        const k = Number([...ratios][0]);
        const proportional = ratios.size === 1 && Number.isFinite(k) && k !== 0;
        expect([name, inName, proportional]).toEqual([name, inName, false]);
      }
    }
  });
});

describe('warm-up and gaps: NaN, never back- or forward-filled', () => {
  it('each feature is NaN for exactly its warm-up rows, then defined (on gap-free data)', () => {
    const { candles, reference } = realPair('SUI/USDT', 0, RECIPE.warmup + 10);
    const n = candles.ts.length;
    const book = { bidVolume: new Float64Array(n).fill(3), askVolume: new Float64Array(n).fill(1) };
    const frame = buildFeatures(candles, { reference, orderBook: book });
    for (const name of FEATURE_NAMES) {
      const x = col(frame, name);
      const w = FEATURE_WARMUP[name];
      const firstDefined = x.findIndex((v) => !Number.isNaN(v));
      expect([name, firstDefined]).toEqual([name, w]);
      expect([name, x.subarray(w).every((v) => !Number.isNaN(v))]).toEqual([name, true]);
    }
    expect(frame.warmup).toBe(RECIPE.warmup);
    expect(col(frame, 'orderbook_imbalance')[0]).toBe(0.5);
  });

  it('orderbook_imbalance is NaN without order-book data', () => {
    const { candles, reference } = realPair('SUI/USDT', 0, 100);
    expect(col(buildFeatures(candles, { reference }), 'orderbook_imbalance').every(Number.isNaN)).toBe(true);
  });

  it('a gap row is NaN except the temporal features; windows holding it are NaN until it leaves; EMAs resume', () => {
    const pair = realPair('ETH/USDT', 0, 2000);
    const candles = copySeries(pair.candles);
    const g = 1500;
    makeGap(candles, g);
    const frame = buildFeatures(candles, { reference: pair.reference });
    const clean = buildFeatures(pair.candles, { reference: pair.reference });
    for (const name of FEATURE_NAMES) {
      const v = col(frame, name)[g];
      if (TEMPORAL_FEATURES.includes(name)) expect(v).toBe(col(clean, name)[g]);
      else expect([name, v]).toEqual([name, NaN]);
      // Rows before the gap are untouched.
      expect(col(frame, name)[g - 1]).toBe(col(clean, name)[g - 1]);
    }
    // r at g and g+1 is undefined, so a 30-row std of r is NaN through row g+30, defined at g+31.
    const sigma = col(frame, 'realized_sigma_30');
    expect(Array.from(sigma.subarray(g, g + 31)).every(Number.isNaN)).toBe(true);
    expect(Number.isNaN(sigma[g + 31])).toBe(false);
    expect(col(frame, 'ret_1')[g + 1]).toBeNaN(); // no forward fill of the missing close
    expect(Number.isNaN(col(frame, 'ema_21')[g + 1])).toBe(false); // the EMA state resumes
    expect(Number.isNaN(col(frame, 'rsi_14')[g + 2])).toBe(false);
  });
});

describe('temporal features', () => {
  /** A series of `n` one-minute candles opening at `startIso`. */
  function flat(startIso: string, n: number): CandleSeries {
    const t0 = Date.parse(startIso);
    const s: CandleSeries = {
      symbol: 'X/USDT',
      ts: Float64Array.from({ length: n }, (_, i) => t0 + i * 60_000),
      open: new Float64Array(n).fill(10),
      high: new Float64Array(n).fill(10.1),
      low: new Float64Array(n).fill(9.9),
      close: new Float64Array(n).fill(10),
      volume: new Float64Array(n).fill(1),
      gap: new Uint8Array(n),
    };
    return s;
  }

  it('day of week is 0 = Monday … 6 = Sunday, of the candle’s close (UTC)', () => {
    expect(new Date(parseUtcDay('2026-01-05')).getUTCDay()).toBe(1); // a Monday
    const f = buildFeatures(flat('2026-01-04T23:58:00Z', 3), {}); // Sun 23:58, Sun 23:59 (closes Mon 00:00), Mon 00:00
    expect(Array.from(col(f, 'dow'))).toEqual([6, 0, 0]);
    expect(Array.from(col(f, 'tod_fraction'))).toEqual([1439 / 1440, 0, 1 / 1440]);
    expect(col(f, 'dow_sin')[1]).toBe(0);
    expect(col(f, 'dow_cos')[1]).toBe(1);
    const noon = buildFeatures(flat('2026-01-10T11:59:00Z', 1), {}); // Saturday; closes at 12:00
    expect(col(noon, 'dow')[0]).toBe(5);
    expect(col(noon, 'tod_fraction')[0]).toBe(0.5);
    expect(col(noon, 'tod_cos')[0]).toBeCloseTo(-1, 15);
  });
});

describe('buildFeatures input checks, subsets, progress and cancellation', () => {
  const { candles, reference } = realPair('BTC/USDT', 0, 500);

  it('rejects a hole in the grid, a misaligned start, and invalid values, naming symbol, time and rule', () => {
    const holed = copySeries(candles);
    holed.ts[200] += 60_000;
    expect(() => buildFeatures(holed, {})).toThrow(/row 200 has ts .* expected 2025-12-29T03:20Z/);
    const misaligned = copySeries(candles);
    for (let i = 0; i < misaligned.ts.length; i++) misaligned.ts[i] += 1000;
    expect(() => buildFeatures(misaligned, {})).toThrow(/not on a minute boundary/);
    const bad = copySeries(candles);
    bad.low[42] = bad.high[42] + 1;
    expect(() => buildFeatures(bad, {})).toThrow(/BTC\/USDT candle at 2025-12-29T00:42Z: high must be ≥ low/);
    const zero = copySeries(candles);
    zero.close[7] = 0;
    expect(() => buildFeatures(zero, {})).toThrow(DataError);
  });

  it('computes a subset with the same values as the full recipe, in recipe order; rejects unknown names', () => {
    const full = buildFeatures(candles, { reference });
    const sub = buildFeatures(candles, { reference }, { features: ['rsi_7', 'adx', 'volume_score', 'ret_1'] });
    expect(sub.names).toEqual(['ret_1', 'adx', 'rsi_7', 'volume_score']);
    for (const name of sub.names) expect(col(sub, name)).toEqual(col(full, name));
    expect(sub.warmup).toBe(FEATURE_WARMUP.volume_score);
    expect(() => buildFeatures(candles, {}, { features: ['close'] as unknown as FeatureName[] })).toThrow(/feature 'close' is not in recipe/);
  });

  it('reports progress up to done = total and stops when aborted', () => {
    const calls: Array<[number, number]> = [];
    buildFeatures(candles, { reference }, { onProgress: (d, t) => calls.push([d, t]) });
    expect(calls.length).toBeGreaterThan(5);
    const [d, t] = calls[calls.length - 1];
    expect(d).toBe(t);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    expect(() => buildFeatures(candles, { reference }, { signal: ac.signal })).toThrow('stop');
  });

  it('an empty series gives an empty frame', () => {
    const empty = copySeries({ ...candles, ts: new Float64Array(0), open: new Float64Array(0), high: new Float64Array(0), low: new Float64Array(0), close: new Float64Array(0), volume: new Float64Array(0), gap: new Uint8Array(0) });
    const f = buildFeatures(empty, {});
    expect(f.rows).toBe(0);
    expect(f.columns).toHaveLength(FEATURE_NAMES.length);
  });
});
