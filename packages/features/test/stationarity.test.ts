import { type CandleSeries, sliceCandles } from '@engine/shared';
import { ABSOLUTE_FEATURES, buildFeatures, FEATURE_NAMES, RECIPE } from '../src';
import { copySeries, realPair, SYMBOLS } from './support/real-data';

function scalePrices(s: CandleSeries, k: number): CandleSeries {
  const out = copySeries(s);
  for (const col of [out.open, out.high, out.low, out.close]) for (let i = 0; i < col.length; i++) col[i] *= k;
  return out;
}

/** Median of |x| over the finite non-zero values: the feature's typical magnitude. */
function typicalMagnitude(x: Float64Array): number {
  const v = Array.from(x)
    .filter((u) => Number.isFinite(u) && u !== 0)
    .map(Math.abs)
    .sort((a, b) => a - b);
  return v.length ? v[v.length >> 1] : 1;
}

const ROWS = RECIPE.warmup + 1500;

describe('stationarity', () => {
  /*
   * Tolerance: |a − b| ≤ 1e-8·|a| + 1e-8·(the feature's typical magnitude). Rescaling prices
   * changes float rounding (x·1000 is not exact), and a few features divide by quantities
   * that can be tiny (a 10-bar std of returns in a quiet minute, a sum of returns that nearly
   * cancels, the Abdi–Ranaldo mean near 0), so relative noise on a near-zero value can reach
   * 1e-7 while staying ~1e-10 of the feature's scale. A price-level dependence would show
   * up as an O(1) change (prices move by a factor of 1000).
   */
  it.each(SYMBOLS)('%s: prices × 1000 leave every feature unchanged except liquidity_score, which shifts by log10(1000)', (symbol) => {
    const { candles, reference } = realPair(symbol, 30_000, ROWS);
    const a = buildFeatures(candles, { reference });
    const b = buildFeatures(scalePrices(candles, 1000), { reference: scalePrices(reference, 1000) });
    FEATURE_NAMES.forEach((name, k) => {
      const x = a.columns[k];
      const y = b.columns[k];
      const shift = ABSOLUTE_FEATURES.includes(name) ? 3 : 0;
      const typ = typicalMagnitude(x);
      for (let i = 0; i < a.rows; i++) {
        const u = x[i];
        const w = y[i] - shift;
        if (Number.isNaN(u) !== Number.isNaN(w)) throw new Error(`${symbol} ${name} row ${i}: NaN pattern changed (${u} vs ${w})`);
        if (Number.isNaN(u)) continue;
        if (Math.abs(u - w) > 1e-8 * Math.abs(u) + 1e-8 * typ) throw new Error(`${symbol} ${name} row ${i}: ${u} became ${w} (typical ${typ})`);
      }
    });
    // liquidity_score really is absolute: it moved.
    const liq = FEATURE_NAMES.indexOf('liquidity_score');
    expect(b.columns[liq][a.rows - 1] - a.columns[liq][a.rows - 1]).toBeCloseTo(3, 10);
  });

  /*
   * Window-start independence: the same candles loaded from two different first rows give
   * the same features once both are past the warm-up. Rolling sums are recomputed at
   * absolute-minute-aligned points and ranks are exact counts, so most features agree bit
   * for bit; EMA / Wilder features carry their seed with weight (1 − α)^k, below 1e-10 at the
   * per-feature warm-up and ~0 after the recipe's 10 138-row warm-up. Tolerance 1e-12.
   */
  it.each(SYMBOLS)('%s: two windows with different starts agree on their overlap after the warm-up', (symbol) => {
    const offset = 1440 * 2 + 777; // a start that is not aligned to any window length
    const { candles, reference } = realPair(symbol, 50_000, offset + ROWS);
    const early = buildFeatures(candles, { reference });
    const late = buildFeatures(sliceCandles(candles, offset, candles.ts.length), { reference: sliceCandles(reference, offset, reference.ts.length) });
    let identical = 0;
    let compared = 0;
    FEATURE_NAMES.forEach((name, k) => {
      for (let j = RECIPE.warmup; j < late.rows; j++) {
        const u = early.columns[k][offset + j];
        const w = late.columns[k][j];
        compared++;
        if (Object.is(u, w)) {
          identical++;
          continue;
        }
        if (Number.isNaN(u) || Number.isNaN(w) || Math.abs(u - w) > 1e-12 * Math.max(1, Math.abs(u))) {
          throw new Error(`${symbol} ${name}: row ${offset + j} is ${u} from the early start, ${w} from the late one`);
        }
      }
    });
    expect(compared).toBe(FEATURE_NAMES.length * (late.rows - RECIPE.warmup));
    expect(identical / compared).toBeGreaterThan(0.9);
  });
});
