import { adjustPValues } from '../src/metrics/multiple-testing';
import {
  deflatedBenchmark,
  deflatedSharpeRatio,
  expectedMaxFactor,
  minTrackRecordLength,
  neweyWestLag,
  probabilisticSharpeRatio,
  robustSharpeZ,
  sharpeMoments,
} from '../src/metrics/deflated-sharpe';
import { normalCdf, normalQuantile, normalQuantileUpper, normalSf } from '../src/metrics/normal';
import { Mulberry32 } from '@engine/shared';

/** Relative closeness. */
const near = (got: number, want: number, rel: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.max(1e-300, Math.abs(want)));

describe('the standard normal to double precision', () => {
  // Reference values: scipy.stats.norm (ppf, cdf, sf), Debian's python3-scipy.
  test('Φ⁻¹ within 1e-9 relative, far into the tail', () => {
    near(normalQuantile(0.95), 1.6448536269514722, 1e-12);
    near(normalQuantile(0.975), 1.959963984540054, 1e-12);
    near(normalQuantile(1e-6), -4.753424308822899, 1e-12);
    near(normalQuantileUpper(1e-6), 4.753424308822899, 1e-12);
    // 1 − 1/N for N = 10⁶·e, the largest argument of SR₀ at a million trials.
    near(normalQuantileUpper(1 / (1e6 * Math.E)), 4.95167902709345, 1e-9);
    expect(normalQuantile(0.5)).toBe(0);
  });
  test('Φ and its complement', () => {
    near(normalCdf(1.96), 0.9750021048517795, 1e-14);
    near(normalSf(1.96), 0.024997895148220435, 1e-12);
    near(normalCdf(-3), 0.0013498980316300933, 1e-12);
    near(normalSf(5), 2.866515718791933e-7, 1e-12);
  });
});

describe('probabilistic and deflated Sharpe ratios (golden numbers: mlfinlab and Bailey & López de Prado 2014)', () => {
  test('PSR(1) = 0.957278 for SR 1.14 over 250 periods, skew 0, kurtosis 3', () => {
    near(probabilisticSharpeRatio(1.14, 1, 250, 0, 3), 0.957278, 2e-6);
  });
  test('DSR = 0.958366 for SR 1.14 among trials [3.5, 1.01, 1.02], T 250', () => {
    near(deflatedSharpeRatio(1.14, 250, [3.5, 1.01, 1.02]).dsr, 0.958366, 2e-6);
  });
  test('MinTRL = 228.73498 for SR 1.14 against 1 at α 0.05', () => {
    near(minTrackRecordLength(1.14, 1, 0.05), 228.73498, 1e-7);
    expect(minTrackRecordLength(0.9, 1)).toBe(Infinity);
  });
  test("the paper's example: SR 0.158114 per day, V 0.002, N 100, T 1250, skew −3, kurtosis 10 → SR₀ 0.113172, DSR 0.900397", () => {
    const sr0 = deflatedBenchmark(100, 0.002);
    near(sr0, 0.113172, 5e-6);
    near(probabilisticSharpeRatio(0.158114, sr0, 1250, -3, 10), 0.900397, 2e-6);
  });
  test('the expected-maximum factor for N = 2, 10, 100, 1000; SR₀ = 0 for one trial', () => {
    near(expectedMaxFactor(2), 0.519755, 2e-6);
    near(expectedMaxFactor(10), 1.574598, 1e-6);
    near(expectedMaxFactor(100), 2.530603, 1e-6);
    near(expectedMaxFactor(1000), 3.255122, 1e-6);
    expect(deflatedBenchmark(1, 0.5)).toBe(0);
    expect(deflatedSharpeRatio(0.1, 100, [0.1]).sr0).toBe(0);
  });
  test('PSR is 0 when the variance factor is not positive', () => {
    expect(probabilisticSharpeRatio(3, 0, 100, 2, 3)).toBe(0);
  });
  test('moments: population skewness and non-excess kurtosis, Sharpe with ddof 1', () => {
    const m = sharpeMoments([1, 2, 3, 4, 10]);
    near(m.sharpe, 4 / Math.sqrt(12.5), 1e-12);
    // scipy.stats.skew([1,2,3,4,10]) = 1.1384199576606167, kurtosis(fisher=False) = 2.7880000000000003
    near(m.skew, 1.1384199576606167, 1e-12);
    near(m.kurtosis, 2.788, 1e-12);
  });
});

describe('the autocorrelation-robust z', () => {
  const normals = (n: number, seed: number): Float64Array => {
    const r = new Mulberry32(seed);
    return Float64Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r.next())) * Math.cos(2 * Math.PI * r.next()));
  };
  test('lag ⌊4·(T/100)^(2/9)⌋', () => {
    expect(neweyWestLag(100)).toBe(4);
    expect(neweyWestLag(250)).toBe(4);
    expect(neweyWestLag(1250)).toBe(7);
  });
  test('agrees with the i.i.d. z on independent returns, and is smaller when returns are positively autocorrelated', () => {
    const e = normals(2000, 7);
    const iid = Float64Array.from(e, (x) => 0.1 + x);
    const m = sharpeMoments(iid);
    const zIid = (m.sharpe * Math.sqrt(m.n - 1)) / Math.sqrt(1 - m.skew * m.sharpe + ((m.kurtosis - 1) / 4) * m.sharpe ** 2);
    near(robustSharpeZ(iid), zIid, 0.1);
    // AR(1) with φ = 0.6: the same mean and marginal spread, fewer independent days.
    const ar = new Float64Array(2000);
    for (let i = 0; i < ar.length; i++) ar[i] = (i > 0 ? 0.6 * (ar[i - 1]! - 0.1) : 0) + 0.1 + 0.8 * e[i]!;
    const ma = sharpeMoments(ar);
    const zAr = (ma.sharpe * Math.sqrt(ma.n - 1)) / Math.sqrt(1 - ma.skew * ma.sharpe + ((ma.kurtosis - 1) / 4) * ma.sharpe ** 2);
    expect(robustSharpeZ(ar)).toBeLessThan(0.7 * zAr);
  });
});

describe('multiple-testing adjustments (golden numbers: statsmodels multipletests)', () => {
  const p = [0.001, 0.02, 0.04, 0.3, 0.5, 0.008, 0.15];
  const close = (got: number[], want: number[]) => got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThan(1e-5));
  test('Benjamini–Yekutieli', () => close(adjustPValues(p, 'by'), [0.01815, 0.121, 0.1815, 0.9075, 1.0, 0.0726, 0.5445]));
  test('Holm', () => close(adjustPValues(p, 'holm'), [0.007, 0.1, 0.16, 0.6, 0.6, 0.048, 0.45]));
  test('Benjamini–Hochberg', () => close(adjustPValues(p, 'bh'), [0.007, 0.046667, 0.07, 0.35, 0.5, 0.028, 0.21]));
  test('an empty family, and bad p-values refused', () => {
    expect(adjustPValues([], 'by')).toEqual([]);
    expect(() => adjustPValues([0.5, 1.2], 'bh')).toThrow(/\[0, 1\]/);
  });
});
