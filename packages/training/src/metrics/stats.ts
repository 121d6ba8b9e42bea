/** Small statistics helpers for the metrics (plain loops, no allocation beyond the input). */

export function mean(x: ArrayLike<number>): number {
  if (x.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s / x.length;
}

/** Sample standard deviation (ddof = 1); NaN with fewer than 2 values. */
export function sampleStd(x: ArrayLike<number>): number {
  const n = x.length;
  if (n < 2) return NaN;
  const m = mean(x);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i]! - m;
    s += d * d;
  }
  return Math.sqrt(s / (n - 1));
}

/** Median of the finite values; NaN when there are none. */
export function median(x: readonly number[]): number {
  const v = x.filter((a) => Number.isFinite(a)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** Population skewness and (non-excess) kurtosis, as used by the probabilistic Sharpe ratio. */
export function skewKurtosis(x: ArrayLike<number>): { skew: number; kurtosis: number } {
  const n = x.length;
  const m = mean(x);
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i]! - m;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  if (!(m2 > 0)) return { skew: 0, kurtosis: 3 };
  return { skew: m3 / Math.pow(m2, 1.5), kurtosis: m4 / (m2 * m2) };
}

export { erfc, normalCdf } from './normal';

/** Maximum drawdown of the cumulative sum of `pnl` starting from 0 (a positive number, or 0). */
export function maxDrawdown(pnl: ArrayLike<number>): number {
  let eq = 0;
  let peak = 0;
  let dd = 0;
  for (let i = 0; i < pnl.length; i++) {
    eq += pnl[i]!;
    if (eq > peak) peak = eq;
    const d = peak - eq;
    if (d > dd) dd = d;
  }
  return dd;
}

/** Spearman rank correlation (average ranks for ties); null with < 3 pairs or no variance. */
export function rankIc(a: Float64Array, b: Float64Array): number | null {
  const n = a.length;
  if (n < 3) return null;
  const rank = (x: Float64Array): Float64Array => {
    const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => x[i]! - x[j]!);
    const r = new Float64Array(n);
    for (let k = 0; k < n; ) {
      let e = k;
      while (e + 1 < n && x[idx[e + 1]!] === x[idx[k]!]) e++;
      const avg = (k + e) / 2;
      for (let m = k; m <= e; m++) r[idx[m]!] = avg;
      k = e + 1;
    }
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const mean = (n - 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = ra[i]! - mean;
    const db = rb[i]! - mean;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : null;
}
