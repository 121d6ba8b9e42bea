import { DataError, DAY_MS, MULBERRY32_STEP, utcDayStart } from '@engine/shared';
import type { SimTrade } from '../simulation/simulate';
import { neweyWestLag } from './deflated-sharpe';
import { normalSf } from './normal';

/**
 * The statistics of a pre-registered model-family comparison (issue 17, part 5): each
 * family (gbdt, rf, linear, ensemble) trades the same out-of-sample windows, and `engine
 * compare` reports its daily net P&L, the paired daily difference against the GBDT (a
 * Newey–West t and a block-bootstrap interval of its mean), the rank IC, the Brier score
 * and calibration slope of the confidence, and the spread over seeds.
 *
 * Pure functions over arrays. Malformed input (mismatched lengths, non-finite values,
 * probabilities outside [0, 1], bad options) throws a {@link DataError}; a statistic that
 * is merely undefined for valid input (no variance, too few pairs) is NaN.
 *
 * Golden tests: packages/training/scripts/make-compare-golden.py writes the reference
 * libraries' answers to test/fixtures/compare-golden.json.
 */

/** Throws unless every value of `x` is finite. */
function requireFinite(x: ArrayLike<number>, what: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new DataError('STATS_INPUT_INVALID', `${what}: expected finite numbers, found ${x[i]} at index ${i}`, { what, index: i });
  }
}

function requireSameLength(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new DataError('STATS_INPUT_INVALID', `${what}: expected two arrays of one length, found ${a.length} and ${b.length}`, { what });
}

function arithmeticMean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

// ---------------------------------------------------------------------------------------
// Newey–West

/** The mean of a series with its autocorrelation-robust standard error. */
export interface NeweyWestMean {
  /** x̄. */
  mean: number;
  /** HAC standard error of x̄ (Bartlett kernel, no small-sample correction). */
  se: number;
  /** x̄ / se; NaN when se is 0 (a constant series). */
  t: number;
  /** Two-sided p-value of t under the standard normal (statsmodels' `pvalues` for HAC, whose use_t is false). */
  p: number;
  /** Bartlett lags L used. */
  lags: number;
  /** Observations. */
  n: number;
}

/**
 * The Newey–West (HAC, Bartlett kernel) standard error of the mean of a series, e.g. a
 * daily paired P&L difference, whose days are autocorrelated.
 *
 * With e_t = x_t − x̄ and Bartlett weights w_l = 1 − l/(L+1):
 *   Ŝ = Σ_t e_t² + 2·Σ_{l=1..L} w_l·Σ_{t≥l} e_t·e_{t−l},   se = √Ŝ / n,   t = x̄ / se.
 * No n/(n−1) small-sample factor: this matches statsmodels
 * `sm.OLS(x, np.ones(n)).fit(cov_type='HAC', cov_kwds={'maxlags': L, 'use_correction': False})`
 * (use_correction=False is statsmodels' default for OLS HAC, and the textbook estimator);
 * `bse`, `tvalues` and `pvalues` agree to ~1e-12 relative (golden test). L = 0 gives the
 * heteroskedasticity-robust (HC0) error √(Σe²)/n.
 *
 * Default L = ⌊4·(n/100)^(2/9)⌋ ({@link neweyWestLag}: Newey & West's 1994 plug-in rule of
 * thumb, also statsmodels' default in `S_hac_simple`); 5 lags for a year of days. L may be
 * any integer ≥ 0 (lags ≥ n add nothing, as in statsmodels).
 */
export function neweyWestMean(x: ArrayLike<number>, lags?: number): NeweyWestMean {
  const n = x.length;
  if (n < 2) throw new DataError('STATS_INPUT_INVALID', `neweyWestMean: expected at least 2 observations, found ${n}`, { n });
  requireFinite(x, 'neweyWestMean');
  const L = lags ?? neweyWestLag(n);
  if (!Number.isInteger(L) || L < 0) throw new DataError('STATS_INPUT_INVALID', `neweyWestMean: lags must be an integer ≥ 0, found ${L}`, { lags: L });
  const mean = arithmeticMean(x);
  const e = new Float64Array(n);
  let s = 0;
  for (let t = 0; t < n; t++) {
    e[t] = x[t] - mean;
    s += e[t] * e[t];
  }
  const top = Math.min(L, n - 1);
  for (let l = 1; l <= top; l++) {
    let c = 0;
    for (let t = l; t < n; t++) c += e[t] * e[t - l];
    s += 2 * (1 - l / (L + 1)) * c;
  }
  // Bartlett weights keep Ŝ ≥ 0 in exact arithmetic; clamp rounding below zero.
  const se = Math.sqrt(Math.max(s, 0)) / n;
  const t = se > 0 ? mean / se : NaN;
  return { mean, se, t, p: Number.isNaN(t) ? NaN : 2 * normalSf(Math.abs(t)), lags: L, n };
}

// ---------------------------------------------------------------------------------------
// Block bootstrap

/** Options of {@link bootstrapMeanCI}. */
export interface BootstrapOptions {
  /** Seed of the resampling (Mulberry32, as `new Mulberry32(seed)`): the same series and seed give the same interval. */
  seed: number;
  /** Coverage of the interval; default 0.95. */
  level?: number;
  /** Bootstrap resamples; default 10 000. */
  reps?: number;
  /** Block length in observations, 1 ≤ block ≤ n; default ⌈n^(1/3)⌉. 1 is the i.i.d. bootstrap. */
  block?: number;
}

/** A bootstrap percentile interval of a mean. */
export interface BootstrapInterval {
  /** The sample mean (the interval's centre of resampling). */
  mean: number;
  lo: number;
  hi: number;
  level: number;
  reps: number;
  block: number;
}

// Bound once: inside jest's VM contexts every lookup of the global `Math` costs ~250 ns,
// which would make the bootstrap's draw loop (and its tests) 50× slower.
const imul = Math.imul;

/** Default block length of {@link bootstrapMeanCI}: ⌈n^(1/3)⌉. */
export function defaultBlockLength(n: number): number {
  return Math.max(1, Math.ceil(Math.cbrt(n)));
}

/**
 * A percentile interval of the mean of `x` by the circular block bootstrap (Politis &
 * Romano 1992): each resample joins ⌈n/b⌉ blocks of b consecutive observations, each
 * starting at a uniform index and wrapping past the end, cut to n; the interval is the
 * (1−level)/2 and (1+level)/2 quantiles of the resamples' means (linear interpolation
 * between order statistics, numpy's default `percentile`). Blocks keep the short-range
 * autocorrelation of daily P&L that an i.i.d. bootstrap would destroy (and so understate
 * the width); wrapping gives every observation the same weight, so the resampled means
 * centre on x̄. The default b = ⌈n^(1/3)⌉ follows the n^(1/3) rate that is optimal for a
 * block bootstrap's variance (Hall, Horowitz & Jing 1995): 6 days for 200, 8 for a year.
 *
 * No reference implementation reproduces a random bootstrap draw for draw; the tests
 * check determinism, coverage on simulated series, and the i.i.d. width 2·z·sd/√n.
 */
export function bootstrapMeanCI(x: ArrayLike<number>, opts: BootstrapOptions): BootstrapInterval {
  const n = x.length;
  if (n < 2) throw new DataError('STATS_INPUT_INVALID', `bootstrapMeanCI: expected at least 2 observations, found ${n}`, { n });
  requireFinite(x, 'bootstrapMeanCI');
  const level = opts.level ?? 0.95;
  const reps = opts.reps ?? 10_000;
  const block = opts.block ?? defaultBlockLength(n);
  if (!(level > 0 && level < 1)) throw new DataError('STATS_INPUT_INVALID', `bootstrapMeanCI: level must lie in (0, 1), found ${level}`, { level });
  if (!Number.isInteger(reps) || reps < 2) throw new DataError('STATS_INPUT_INVALID', `bootstrapMeanCI: reps must be an integer ≥ 2, found ${reps}`, { reps });
  if (!Number.isInteger(block) || block < 1 || block > n) throw new DataError('STATS_INPUT_INVALID', `bootstrapMeanCI: block must be an integer in [1, ${n}], found ${block}`, { block, n });
  if (!Number.isInteger(opts.seed)) throw new DataError('STATS_INPUT_INVALID', `bootstrapMeanCI: seed must be an integer, found ${opts.seed}`, { seed: opts.seed });

  const mean = arithmeticMean(x);
  // Prefix sums of the centred series laid out twice, so a (wrapping) block's sum is one
  // subtraction; centring keeps the prefix sums small and the subtraction exact enough.
  const prefix = new Float64Array(2 * n + 1);
  for (let i = 0; i < 2 * n; i++) prefix[i + 1] = prefix[i] + (x[i < n ? i : i - n] - mean);
  const blocks = Math.ceil(n / block);
  const last = n - (blocks - 1) * block;
  // Block starts are Mulberry32(seed).nextInt(n), drawn inline (the Weyl-sequence form
  // shared's prng documents): reps·⌈n/b⌉ draws, 460 000 for a year of days at the defaults.
  let state = opts.seed >>> 0;
  const means = new Float64Array(reps);
  for (let r = 0; r < reps; r++) {
    let s = 0;
    for (let k = 1; k <= blocks; k++) {
      state = (state + MULBERRY32_STEP) >>> 0;
      let u = imul(state ^ (state >>> 15), state | 1);
      u ^= u + imul(u ^ (u >>> 7), u | 61);
      const start = (((u ^ (u >>> 14)) >>> 0) / 4294967296) * n;
      // start < n < 2³¹, so `| 0` is Math.floor.
      const from = start | 0;
      s += prefix[from + (k < blocks ? block : last)] - prefix[from];
    }
    means[r] = mean + s / n;
  }
  means.sort();
  const alpha = (1 - level) / 2;
  return { mean, lo: quantileSorted(means, alpha), hi: quantileSorted(means, 1 - alpha), level, reps, block };
}

/** The q-quantile of ascending `v` by linear interpolation (numpy's default, Hyndman–Fan type 7). */
function quantileSorted(v: Float64Array, q: number): number {
  const h = (v.length - 1) * q;
  const i = Math.floor(h);
  return i + 1 < v.length ? v[i] + (h - i) * (v[i + 1] - v[i]) : v[i];
}

// ---------------------------------------------------------------------------------------
// Rank IC, Brier score, calibration

/** 1-based average ranks of `v` (ties share the mean of their positions), as scipy's `rankdata`. */
function averageRanks(v: Float64Array): Float64Array {
  const n = v.length;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((i, j) => (v[i] < v[j] ? -1 : v[i] > v[j] ? 1 : 0));
  const rank = new Float64Array(n);
  for (let k = 0; k < n; ) {
    let e = k;
    while (e + 1 < n && v[idx[e + 1]] === v[idx[k]]) e++;
    const avg = (k + e) / 2 + 1;
    for (let m = k; m <= e; m++) rank[idx[m]] = avg;
    k = e + 1;
  }
  return rank;
}

/**
 * Spearman's rank correlation (the rank IC of predictions against realised returns): the
 * Pearson correlation of the two sides' average ranks (ties share their mean rank), over
 * the pairs where neither value is NaN. Matches `scipy.stats.spearmanr` on those pairs
 * (equivalently `nan_policy='omit'`) to ~1e-15. NaN with fewer than 2 pairs or when either
 * side is constant (as scipy).
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  requireSameLength(a, b, 'spearman');
  let m = 0;
  for (let i = 0; i < a.length; i++) if (!Number.isNaN(a[i]) && !Number.isNaN(b[i])) m++;
  if (m < 2) return NaN;
  const va = new Float64Array(m);
  const vb = new Float64Array(m);
  for (let i = 0, k = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) continue;
    va[k] = a[i];
    vb[k] = b[i];
    k++;
  }
  const ra = averageRanks(va);
  const rb = averageRanks(vb);
  // Average ranks keep the sum of 1..m, so both means are exactly (m + 1)/2.
  const centre = (m + 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < m; i++) {
    const da = ra[i] - centre;
    const db = rb[i] - centre;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/** Throws unless p are probabilities in [0, 1] and y are outcomes 0 or 1, of one non-zero length. */
function requireProbabilities(p: ArrayLike<number>, y: ArrayLike<number>, what: string): void {
  requireSameLength(p, y, what);
  if (p.length === 0) throw new DataError('STATS_INPUT_INVALID', `${what}: expected at least one forecast, found none`);
  for (let i = 0; i < p.length; i++) {
    if (!(p[i] >= 0 && p[i] <= 1)) throw new DataError('STATS_INPUT_INVALID', `${what}: expected probabilities in [0, 1], found ${p[i]} at index ${i}`, { what, index: i });
    if (y[i] !== 0 && y[i] !== 1) throw new DataError('STATS_INPUT_INVALID', `${what}: expected outcomes 0 or 1, found ${y[i]} at index ${i}`, { what, index: i });
  }
}

/**
 * Brier score (1/n)·Σ(p_i − y_i)² of confidences p against outcomes y ∈ {0, 1} (lower is
 * better; 0.25 for a constant ½). Matches `sklearn.metrics.brier_score_loss(y, p)`.
 */
export function brierScore(p: ArrayLike<number>, outcome01: ArrayLike<number>): number {
  requireProbabilities(p, outcome01, 'brierScore');
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const d = p[i] - outcome01[i];
    s += d * d;
  }
  return s / p.length;
}

/** Confidences are clipped to [CALIBRATION_CLIP, 1 − CALIBRATION_CLIP] before the logit. */
export const CALIBRATION_CLIP = 1e-6;

/** The logistic recalibration of a confidence: P(y = 1) = σ(intercept + slope·logit p). */
export interface CalibrationFit {
  /** 1 for a calibrated confidence; < 1 over-confident (too extreme), > 1 under-confident. */
  slope: number;
  /** 0 for a calibrated confidence (given slope 1); > 0 the confidence runs low. */
  intercept: number;
  /** Newton iterations taken. */
  iterations: number;
  /** False when the maximum-likelihood fit does not exist (one outcome only, a constant confidence, separable data): slope and intercept are then NaN. */
  converged: boolean;
}

const CALIBRATION_MAX_ITER = 100;

/** Σ[y·η − log(1 + e^η)], the logistic log-likelihood, with a softplus that does not overflow. */
function logisticLogLik(z: Float64Array, y: ArrayLike<number>, b0: number, b1: number): number {
  let ll = 0;
  for (let i = 0; i < z.length; i++) {
    const eta = b0 + b1 * z[i];
    const softplus = eta > 0 ? eta + Math.log1p(Math.exp(-eta)) : Math.log1p(Math.exp(eta));
    ll += y[i] * eta - softplus;
  }
  return ll;
}

/**
 * Calibration slope and intercept of confidences p against outcomes y ∈ {0, 1}: the
 * unpenalised logistic regression logit P(y = 1) = intercept + slope·logit(p̃), with
 * p̃ = clip(p, 1e-6, 1 − 1e-6), fitted by Newton–Raphson from (0, 0) (step halving
 * guards the rare overshoot) until no coefficient moves more than 1e-12·(1 + |β|).
 *
 * Matches statsmodels `sm.Logit(y, sm.add_constant(logit_p)).fit(method='newton',
 * tol=1e-12)` params to ~1e-12 (golden test). A perfectly calibrated confidence has slope
 * ≈ 1, intercept ≈ 0.
 */
export function calibrationSlope(p: ArrayLike<number>, outcome01: ArrayLike<number>): CalibrationFit {
  requireProbabilities(p, outcome01, 'calibrationSlope');
  const n = p.length;
  const y = outcome01;
  const z = new Float64Array(n);
  let ones = 0;
  let zMin = Infinity;
  let zMax = -Infinity;
  for (let i = 0; i < n; i++) {
    const q = Math.min(Math.max(p[i], CALIBRATION_CLIP), 1 - CALIBRATION_CLIP);
    z[i] = Math.log(q / (1 - q));
    ones += y[i];
    if (z[i] < zMin) zMin = z[i];
    if (z[i] > zMax) zMax = z[i];
  }
  const undefinedFit: CalibrationFit = { slope: NaN, intercept: NaN, iterations: 0, converged: false };
  if (ones === 0 || ones === n || !(zMax > zMin)) return undefinedFit;

  let b0 = 0;
  let b1 = 0;
  let ll = logisticLogLik(z, y, b0, b1);
  for (let it = 1; it <= CALIBRATION_MAX_ITER; it++) {
    // Gradient X'(y − μ) and information X'WX, W = μ(1 − μ), of the two columns [1, z].
    let g0 = 0;
    let g1 = 0;
    let h00 = 0;
    let h01 = 0;
    let h11 = 0;
    for (let i = 0; i < n; i++) {
      const mu = 1 / (1 + Math.exp(-(b0 + b1 * z[i])));
      const r = y[i] - mu;
      const w = mu * (1 - mu);
      g0 += r;
      g1 += r * z[i];
      h00 += w;
      h01 += w * z[i];
      h11 += w * z[i] * z[i];
    }
    const det = h00 * h11 - h01 * h01;
    if (!(det > 0)) return { ...undefinedFit, iterations: it };
    let d0 = (h11 * g0 - h01 * g1) / det;
    let d1 = (h00 * g1 - h01 * g0) / det;
    let next = logisticLogLik(z, y, b0 + d0, b1 + d1);
    // The log-likelihood is concave, so a full Newton step rarely overshoots; when it does, halve it.
    for (let half = 0; half < 30 && !(next >= ll - 1e-12 * Math.abs(ll)); half++) {
      d0 /= 2;
      d1 /= 2;
      next = logisticLogLik(z, y, b0 + d0, b1 + d1);
    }
    b0 += d0;
    b1 += d1;
    ll = next;
    if (!Number.isFinite(b0) || !Number.isFinite(b1)) return { ...undefinedFit, iterations: it };
    if (Math.abs(d0) <= 1e-12 * (1 + Math.abs(b0)) && Math.abs(d1) <= 1e-12 * (1 + Math.abs(b1))) {
      return { slope: b1, intercept: b0, iterations: it, converged: true };
    }
  }
  // Separable outcomes: the likelihood climbs forever as |β| grows; no finite fit.
  return { ...undefinedFit, iterations: CALIBRATION_MAX_ITER };
}

// ---------------------------------------------------------------------------------------
// Daily P&L, paired differences, seeds

/**
 * Net bps per UTC day over `days` (UTC day starts, epoch ms; any order): the sum of the
 * trades' `net_bps` on each day, 0 on days without a trade. A trade counts on its signal
 * bar's UTC day, as in trade-metrics' `dailyPnl`/`tradeDay` (the Sharpe gates' days), so a
 * family's compare P&L and its gate metrics agree. In bps of one notional per trade, so
 * families compare without a cost model's GBP conversion.
 */
export function dailyNetBps(trades: readonly Pick<SimTrade, 'signal_ts' | 'net_bps'>[], days: readonly number[]): Float64Array {
  const index = new Map<number, number>();
  for (let i = 0; i < days.length; i++) {
    const d = days[i];
    if (!Number.isInteger(d) || d % DAY_MS !== 0) throw new DataError('STATS_INPUT_INVALID', `dailyNetBps: expected UTC day starts (epoch ms), found ${d} at index ${i}`, { index: i });
    if (index.has(d)) throw new DataError('STATS_INPUT_INVALID', `dailyNetBps: day ${new Date(d).toISOString().slice(0, 10)} is listed twice`, { index: i });
    index.set(d, i);
  }
  const out = new Float64Array(days.length);
  for (const t of trades) {
    const k = index.get(utcDayStart(t.signal_ts));
    if (k === undefined) {
      throw new DataError('STATS_INPUT_INVALID', `dailyNetBps: a trade signalled ${new Date(t.signal_ts).toISOString()} lies outside the ${days.length} evaluated days`, { signal_ts: t.signal_ts });
    }
    if (!Number.isFinite(t.net_bps)) throw new DataError('STATS_INPUT_INVALID', `dailyNetBps: a trade signalled ${new Date(t.signal_ts).toISOString()} has net_bps ${t.net_bps}`, { signal_ts: t.signal_ts });
    out[k] += t.net_bps;
  }
  return out;
}

/** A daily series: `values[i]` belongs to the UTC day starting at `days[i]`. */
export interface DailySeries {
  days: readonly number[];
  values: ArrayLike<number>;
}

/** a − b on the days both series hold. */
export interface PairedDifference {
  /** The common days, ascending. */
  days: number[];
  /** a − b on each common day. */
  diff: Float64Array;
  /** Days only `a` holds (dropped); non-zero means the windows were not identical. */
  onlyA: number;
  /** Days only `b` holds (dropped). */
  onlyB: number;
}

function dayIndex(s: DailySeries, what: string): Map<number, number> {
  if (s.days.length !== s.values.length) throw new DataError('STATS_INPUT_INVALID', `pairedDifference: series ${what} has ${s.days.length} days but ${s.values.length} values`, { what });
  const m = new Map<number, number>();
  for (let i = 0; i < s.days.length; i++) {
    if (m.has(s.days[i])) throw new DataError('STATS_INPUT_INVALID', `pairedDifference: series ${what} lists day ${new Date(s.days[i]).toISOString().slice(0, 10)} twice`, { what, index: i });
    m.set(s.days[i], i);
  }
  return m;
}

/**
 * The paired daily difference a − b (e.g. a family's daily net bps minus the GBDT's),
 * aligned by day rather than by position, over the days both hold, ascending. A
 * pre-registered comparison runs every family on identical windows, so `onlyA`/`onlyB`
 * should be 0; they are returned (not thrown) for the caller to refuse or report.
 */
export function pairedDifference(a: DailySeries, b: DailySeries): PairedDifference {
  const ia = dayIndex(a, 'a');
  const ib = dayIndex(b, 'b');
  const days = [...ia.keys()].filter((d) => ib.has(d)).sort((x, y) => x - y);
  const diff = new Float64Array(days.length);
  for (let k = 0; k < days.length; k++) diff[k] = a.values[ia.get(days[k])!] - b.values[ib.get(days[k])!];
  return { days, diff, onlyA: ia.size - days.length, onlyB: ib.size - days.length };
}

/**
 * Seed-to-seed spread of a per-seed statistic (e.g. each seed's Sharpe or total net bps):
 * the sample standard deviation √(Σ(v − v̄)²/(k − 1)) (ddof 1, numpy `std(ddof=1)`). NaN
 * with fewer than 2 seeds.
 */
export function seedSd(values: ArrayLike<number>): number {
  requireFinite(values, 'seedSd');
  const k = values.length;
  if (k < 2) return NaN;
  const m = arithmeticMean(values);
  let s = 0;
  for (let i = 0; i < k; i++) s += (values[i] - m) ** 2;
  return Math.sqrt(s / (k - 1));
}
