import { type CandleSeries, Mulberry32, sliceCandles } from '@engine/shared';
import { buildFeatures, FEATURE_NAMES, RECIPE, type FeatureFrame } from '../src';
import { copySeries, makeGap, realPair, SYMBOLS } from './support/real-data';

/** Enough rows that every feature, volume_score included, is defined for the last ~800. */
const ROWS = RECIPE.warmup + 800;

/** Rows 0..t of two frames are bit-identical, every feature. */
function expectPrefixIdentical(a: FeatureFrame, b: FeatureFrame, t: number, what: string): void {
  for (let k = 0; k < FEATURE_NAMES.length; k++) {
    const x = a.columns[k];
    const y = b.columns[k];
    for (let i = 0; i <= t; i++) {
      if (!Object.is(x[i], y[i])) throw new Error(`${what}: ${FEATURE_NAMES[k]} row ${i} (t = ${t}) changed: ${x[i]} → ${y[i]}`);
    }
  }
}

/** A copy whose rows after t are rewritten: prices moved ±5%, volumes scaled, some gaps. */
function alterAfter(s: CandleSeries, t: number, seed: number): CandleSeries {
  const out = copySeries(s);
  const r = new Mulberry32(seed);
  for (let i = t + 1; i < out.ts.length; i++) {
    if (r.next() < 0.01) {
      makeGap(out, i);
      continue;
    }
    const f = 1 + (r.next() - 0.5) * 0.1;
    out.open[i] *= f;
    out.close[i] *= f;
    out.high[i] = Math.max(out.open[i], out.close[i], out.high[i] * f) * (1 + r.next() * 1e-3);
    out.low[i] = Math.min(out.open[i], out.close[i], out.low[i] * f) * (1 - r.next() * 1e-3);
    out.volume[i] *= 0.2 + 3 * r.next();
  }
  return out;
}

describe('causality: row t depends on candles 0..t only', () => {
  it.each(SYMBOLS)('%s: rows 0..t are identical when later candles are removed or altered (random t)', (symbol) => {
    const { candles, reference } = realPair(symbol, 20_000, ROWS);
    const full = buildFeatures(candles, { reference });
    const r = new Mulberry32(symbol.length * 7919);
    // Random t over the whole slice, some inside the warm-up, most after it.
    const ts = [Math.floor(r.next() * 2000), ...Array.from({ length: 2 }, () => RECIPE.warmup - 50 + Math.floor(r.next() * 840))];
    for (const t of ts) {
      const truncated = buildFeatures(sliceCandles(candles, 0, t + 1), { reference: sliceCandles(reference, 0, t + 1) });
      expectPrefixIdentical(full, truncated, t, `${symbol} truncated after ${t}`);
      const altered = buildFeatures(alterAfter(candles, t, t), { reference: alterAfter(reference, t, t + 1) });
      expectPrefixIdentical(full, altered, t, `${symbol} altered after ${t}`);
      // The alteration is real: some later row does change.
      const changed = FEATURE_NAMES.some((_, k) => !Object.is(full.columns[k][t + 1], altered.columns[k][t + 1]));
      expect(changed).toBe(true);
    }
  });
});
