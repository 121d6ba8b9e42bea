import { normalCdf, normalQuantile, normalQuantileUpper } from './normal';

/**
 * The probabilistic and deflated Sharpe ratios (Bailey & López de Prado, "The Deflated
 * Sharpe Ratio", 2014), on one series of period returns (Engine uses the daily net P&L of
 * the out-of-sample days). Sharpes here are per period (mean / sd), never annualised.
 */

/** Euler–Mascheroni constant, as in the paper. */
export const EULER_GAMMA = 0.5772156649;

/** The moments the formulas need, from a return series. */
export interface SharpeMoments {
  /** Observations (periods). */
  n: number;
  /** mean / sd (sd with ddof = 1); NaN with fewer than 2 observations or no variance. */
  sharpe: number;
  /** Sample skewness γ̂₃ (population moments, as the paper and mlfinlab). */
  skew: number;
  /** Non-excess kurtosis γ̂₄ (3 for a normal distribution). */
  kurtosis: number;
}

/** Sharpe, skewness and non-excess kurtosis of `r`. */
export function sharpeMoments(r: ArrayLike<number>): SharpeMoments {
  const n = r.length;
  if (n < 2) return { n, sharpe: NaN, skew: 0, kurtosis: 3 };
  let mean = 0;
  for (let i = 0; i < n; i++) mean += r[i]!;
  mean /= n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = r[i]! - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  const sd = Math.sqrt(m2 / (n - 1));
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return { n, sharpe: sd > 0 ? mean / sd : NaN, skew: m2 > 0 ? m3 / m2 ** 1.5 : 0, kurtosis: m2 > 0 ? m4 / (m2 * m2) : 3 };
}

/** The variance factor 1 − γ̂₃·SR̂ + (γ̂₄ − 1)/4·SR̂² of the Sharpe ratio's estimator. */
function sharpeVarianceFactor(sr: number, skew: number, kurtosis: number): number {
  return 1 - skew * sr + ((kurtosis - 1) / 4) * sr * sr;
}

/**
 * PSR(SR*) = Φ((SR̂ − SR*)·√(T−1) / √(1 − γ̂₃·SR̂ + (γ̂₄ − 1)/4·SR̂²)): the probability that
 * the true Sharpe exceeds SR*, given T observations; 0 when the root's argument is ≤ 0.
 */
export function probabilisticSharpeRatio(sr: number, benchmark: number, t: number, skew = 0, kurtosis = 3): number {
  const v = sharpeVarianceFactor(sr, skew, kurtosis);
  if (!(v > 0) || !(t > 1) || !Number.isFinite(sr)) return 0;
  return normalCdf(((sr - benchmark) * Math.sqrt(t - 1)) / Math.sqrt(v));
}

/**
 * The expected maximum of N standard normals, approximated as the paper does:
 * (1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)). 0 for N ≤ 1.
 */
export function expectedMaxFactor(n: number): number {
  if (!(n > 1)) return 0;
  return (1 - EULER_GAMMA) * normalQuantileUpper(1 / n) + EULER_GAMMA * normalQuantileUpper(1 / (n * Math.E));
}

/** Population variance (ddof 0) of the trials' Sharpes: the V of SR₀. */
export function trialVariance(sharpes: readonly number[]): number {
  if (sharpes.length === 0) return 0;
  const m = sharpes.reduce((a, b) => a + b, 0) / sharpes.length;
  return sharpes.reduce((a, b) => a + (b - m) ** 2, 0) / sharpes.length;
}

/** SR₀ = √V · expectedMaxFactor(N): the Sharpe the best of N unskilled trials would show. */
export function deflatedBenchmark(n: number, variance: number): number {
  if (!(n > 1) || !(variance > 0)) return 0;
  return Math.sqrt(variance) * expectedMaxFactor(n);
}

/** The deflated Sharpe ratio and what went into it. */
export interface DeflatedSharpe {
  /** DSR = PSR(SR₀). */
  dsr: number;
  /** Trials counted (this candidate included). */
  n: number;
  /** Population variance of the trials' Sharpes. */
  variance: number;
  /** SR₀, the benchmark the candidate must beat. */
  sr0: number;
}

/** DSR of a candidate with Sharpe `sr` over T periods among trials whose Sharpes are `trialSharpes` (candidate included). */
export function deflatedSharpeRatio(sr: number, t: number, trialSharpes: readonly number[], skew = 0, kurtosis = 3): DeflatedSharpe {
  const n = trialSharpes.length;
  const variance = trialVariance(trialSharpes);
  const sr0 = deflatedBenchmark(n, variance);
  return { dsr: probabilisticSharpeRatio(sr, sr0, t, skew, kurtosis), n, variance, sr0 };
}

/**
 * Minimum track record length: the periods needed for PSR(SR*) to reach 1 − α,
 * 1 + (1 − γ̂₃·SR̂ + (γ̂₄−1)/4·SR̂²)·(Φ⁻¹(1−α)/(SR̂ − SR*))². Infinity when SR̂ ≤ SR*.
 */
export function minTrackRecordLength(sr: number, benchmark: number, alpha = 0.05, skew = 0, kurtosis = 3): number {
  if (!(sr > benchmark)) return Infinity;
  return 1 + sharpeVarianceFactor(sr, skew, kurtosis) * (normalQuantile(1 - alpha) / (sr - benchmark)) ** 2;
}

/** Newey–West (Bartlett kernel) lag for T observations: ⌊4·(T/100)^(2/9)⌋. */
export function neweyWestLag(t: number): number {
  return Math.floor(4 * (t / 100) ** (2 / 9));
}

/**
 * An autocorrelation-robust z of SR̂ − SR*: with z_t the standardised returns and the
 * influence function IF_t = z_t − ½·SR̂·(z_t² − 1), Ω̂ is IF's Newey–West long-run variance
 * (Bartlett weights, `neweyWestLag(T)` lags) and z = (SR̂ − SR*)/√(Ω̂/T). Under i.i.d.
 * normal returns Ω̂ → 1 + SR̂²/2 (the PSR's denominator); positively autocorrelated daily
 * P&L inflates Ω̂ and shrinks z. NaN without variance.
 */
export function robustSharpeZ(r: ArrayLike<number>, benchmark = 0): number {
  const n = r.length;
  if (n < 3) return NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += r[i]!;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (r[i]! - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  if (!(sd > 0)) return NaN;
  const sr = mean / sd;
  const inf = new Float64Array(n);
  let infMean = 0;
  for (let i = 0; i < n; i++) {
    const z = (r[i]! - mean) / sd;
    inf[i] = z - 0.5 * sr * (z * z - 1);
    infMean += inf[i]!;
  }
  infMean /= n;
  const autocov = (lag: number): number => {
    let s = 0;
    for (let i = lag; i < n; i++) s += (inf[i]! - infMean) * (inf[i - lag]! - infMean);
    return s / n;
  };
  const lags = neweyWestLag(n);
  let omega = autocov(0);
  for (let l = 1; l <= lags; l++) omega += 2 * (1 - l / (lags + 1)) * autocov(l);
  if (!(omega > 0)) return NaN;
  return (sr - benchmark) / Math.sqrt(omega / n);
}
