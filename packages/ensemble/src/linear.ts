/**
 * The linear model family: ridge regression for the edge and L2-penalised logistic
 * regression for P(net edge > 0), on features standardised with training-window
 * statistics only, the L2 penalty chosen on caller-supplied inner folds.
 *
 * The numbers are scikit-learn's: `Ridge(alpha, fit_intercept=True)` and
 * `LogisticRegression(penalty='l2', C, fit_intercept=True)` fitted on the design matrix
 * [standardised features…, missing indicators…] give the same coefficients (to 1e-6, see
 * `test/fixtures/linear-golden.json` and `scripts/make-linear-golden.py`). The scaler's sd is
 * taken over the observed values, then NaN becomes the mean: in scikit-learn terms
 * StandardScaler (which skips NaN) before the imputation, not SimpleImputer before
 * StandardScaler, which would shrink the sd of a feature with NaNs.
 */
import { ConfigError, DataError } from '@engine/shared';
import { checkLabels, checkRows } from '@engine/gbdt';
import { z } from 'zod';
import { choleskyInPlace, choleskySolveInPlace } from './cholesky';

/** Which member of the family a {@link LinearModel} is. */
export type LinearKind = 'ridge' | 'logistic';

/**
 * Default ridge penalties, 10⁻² … 10⁴ (one per decade). Like scikit-learn's `alpha` the
 * penalty is not divided by the number of rows, so on standardised features it weighs
 * against n (each column's sum of squares is n): 10⁴ on 200k rows is mild shrinkage,
 * on 2k rows strong.
 */
export const DEFAULT_RIDGE_ALPHAS: readonly number[] = Object.freeze([1e-2, 1e-1, 1, 1e1, 1e2, 1e3, 1e4]);

/**
 * Default inverse penalties of the logistic model, 10⁻⁴ … 10² (one per decade). As in
 * scikit-learn, C multiplies the summed log loss, so the effective per-row penalty is
 * 1/(C·n): 10⁻⁴ on 200k rows is 0.05 per row (strong), 10² is practically unpenalised.
 */
export const DEFAULT_LOGISTIC_CS: readonly number[] = Object.freeze([1e-4, 1e-3, 1e-2, 1e-1, 1, 1e1, 1e2]);

/** What to fit on. */
export interface LinearTrainingData {
  /** One array per feature, all of the same length (NaN = missing; other values finite). */
  columns: readonly Float64Array[];
  /** Target of every row (finite where used). For logistic, y > 0 is the positive class. */
  y: ArrayLike<number>;
  /** Training rows: ascending indices into the columns and y; default all rows. */
  rows?: Int32Array;
  /** Names of the features, in column order; default f0, f1, … */
  featureNames?: readonly string[];
}

/** Options of {@link fitRidge}. */
export interface RidgeOptions {
  /** L2 penalty on the coefficients (finite, > 0); the intercept is not penalised. */
  alpha: number;
}

/** Options of {@link fitLogistic}. */
export interface LogisticOptions {
  /** Inverse L2 penalty (finite, > 0): minimises C·Σ log loss + ½‖w‖². */
  C: number;
  /**
   * Stop when every component of the gradient of (mean log loss + ‖w‖²/(2·C·n)) is at
   * most this (scikit-learn's `tol` for newton-cholesky, on the same scale). Default 1e-10.
   */
  tolerance?: number;
  /** Steps (exact or updated Newton) before giving up with `LOGISTIC_NOT_CONVERGED`. Default 100. */
  maxIterations?: number;
}

/** An inner fold, purged by the caller: fit on `train`, score on `test` (ascending rows, disjoint). */
export interface InnerFold {
  train: Int32Array;
  test: Int32Array;
}

/** Options of the penalty choosers. */
export interface ChooserOptions {
  /** Checked between fits. */
  signal?: AbortSignal;
}

/** The outcome of choosing an L2 penalty on inner folds. */
export interface PenaltyChoice {
  /** The chosen grid value (alpha for ridge, C for logistic). */
  value: number;
  /** The grid as given. */
  grid: number[];
  /** Mean over folds of the held-out loss, per grid value (grid order). */
  meanLoss: number[];
  /** Held-out loss per grid value, per fold: `foldLoss[g][k]`. */
  foldLoss: number[][];
}

const DEFAULT_TOLERANCE = 1e-10;
const DEFAULT_MAX_ITERATIONS = 100;
/** Rows per design block: ~0.8 MB for 100 columns, small enough to stay in cache while the Gram sweeps it. */
const BLOCK_ROWS = 1024;
const EPS = 2 ** -52;
/** Armijo sufficient-decrease constant of the Newton line search. */
const ARMIJO = 1e-4;
/**
 * A Newton step on an updated (not exact) Hessian must cut the largest gradient component
 * to this share of what it was, or the exact Hessian is recomputed at the new point.
 */
const HESSIAN_REFRESH_RATIO = 0.25;
/** Held-out losses within this relative distance of each other count as a tie. */
const TIE_TOLERANCE = 1e-12;

// ---------------------------------------------------------------------------------------
// validation at the boundary

function allRows(n: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  return r;
}

/** The common length of the columns (they must agree, and there must be at least one). */
function columnLength(columns: readonly Float64Array[]): number {
  if (columns.length === 0) throw new DataError('MATRIX_SHAPE', 'a linear model needs at least one feature column; found none');
  const n = columns[0].length;
  for (let f = 1; f < columns.length; f++) {
    if (columns[f].length !== n) throw new DataError('MATRIX_SHAPE', `feature column ${f} has ${columns[f].length} rows; column 0 has ${n}`);
  }
  return n;
}

/** Validated columns, target and rows of a fit; returns the row count of the matrix. */
function checkFitInputs(columns: readonly Float64Array[], y: ArrayLike<number>): number {
  const n = columnLength(columns);
  if (y.length !== n) throw new DataError('LABEL_INVALID', `target has ${y.length} values; the feature columns have ${n} rows`);
  return n;
}

function checkPenalty(value: number, name: string): void {
  if (!(Number.isFinite(value) && value > 0)) throw new ConfigError(`${name} must be a finite number > 0; found ${value}`, { param: name });
}

function checkGrid(grid: readonly number[], name: string): void {
  if (grid.length === 0) throw new ConfigError(`the ${name} grid is empty`, { param: name });
  for (const g of grid) checkPenalty(g, `every ${name} of the grid`);
}

// ---------------------------------------------------------------------------------------
// standardiser

/**
 * Per-feature statistics of the training rows: how a raw row becomes a design row.
 * A raw value x becomes (x − mean)·(1/scale); a missing one becomes 0 (the training mean,
 * standardised) and sets its feature's missing indicator, a 0/1 column that is not
 * standardised.
 */
export interface Standardiser {
  /** Mean of each feature over its non-NaN training values; 0 when all are NaN. */
  readonly means: Float64Array;
  /**
   * Population sd (ddof 0) of each feature's non-NaN training values; 1 for a constant
   * feature (scikit-learn's StandardScaler rule, which also counts rounding-level spread as
   * constant) and for one that is NaN on every training row.
   */
  readonly scales: Float64Array;
  /** Features with at least one NaN among the training rows, ascending: each has an indicator column. */
  readonly indicatorFeatures: Int32Array;
  /**
   * 1 for a feature that carries no information on the training rows (constant, or NaN on
   * every one). Such a feature is left out of the fit: its coefficient is exactly 0, and
   * when it is NaN everywhere its (constant) indicator's coefficient is 0 too.
   */
  readonly constant: Uint8Array;
  /** NaN count of each feature over the training rows. */
  readonly missingCount: Int32Array;
  /** Number of training rows. */
  readonly nRows: number;
}

/**
 * Fits the standardiser on the training rows only: means and population sds over each
 * feature's non-NaN values (scikit-learn's corrected two-pass formula), and which features
 * need a missing indicator. Values of rows not in `rows` are never read.
 */
export function fitStandardiser(columns: readonly Float64Array[], rows: Int32Array): Standardiser {
  checkRows(rows, columnLength(columns), 'training');
  return standardise(columns, rows);
}

function standardise(columns: readonly Float64Array[], rows: Int32Array): Standardiser {
  const F = columns.length;
  const n = rows.length;
  const means = new Float64Array(F);
  const scales = new Float64Array(F);
  const constant = new Uint8Array(F);
  const missingCount = new Int32Array(F);
  const indicators: number[] = [];
  for (let f = 0; f < F; f++) {
    const { mean, variance, observed } = columnStats(columns[f], rows, f);
    // StandardScaler's bound on the rounding error of a variance: below it the feature is constant
    const isConstant = observed === 0 || variance <= observed * EPS * variance + (observed * mean * EPS) ** 2;
    means[f] = mean;
    scales[f] = isConstant ? 1 : Math.sqrt(variance);
    constant[f] = isConstant ? 1 : 0;
    missingCount[f] = n - observed;
    if (observed < n) indicators.push(f);
  }
  return { means, scales, indicatorFeatures: Int32Array.from(indicators), constant, missingCount, nRows: n };
}

/**
 * Mean and population variance of one feature's non-NaN values on `rows`. (Row loops sit
 * in small functions called many times, here and below: V8 then optimises each once,
 * where a row loop nested in a loop over features or blocks is compiled on-stack and
 * dropped again every time it exits, several times slower.)
 */
function columnStats(col: Float64Array, rows: Int32Array, f: number): { mean: number; variance: number; observed: number } {
  const n = rows.length;
  let sum = 0;
  let cnt = 0;
  for (let i = 0; i < n; i++) {
    const v = col[rows[i]];
    if (v !== v) continue;
    sum += v;
    cnt++;
  }
  // an infinite value makes the sum non-finite: only then look for it
  if (!Number.isFinite(sum)) {
    for (let i = 0; i < n; i++) {
      const v = col[rows[i]];
      if (v === Infinity || v === -Infinity) throw new DataError('FEATURE_INVALID', `feature ${f} of row ${rows[i]} is ${v}; features must be finite or NaN (missing)`);
    }
    throw new DataError('FEATURE_INVALID', `feature ${f} sums to ${sum} over the training rows; its values are too large`);
  }
  const mean = cnt > 0 ? sum / cnt : 0;
  // corrected two-pass variance (Chan, Golub & LeVeque), as StandardScaler computes it:
  // the second term removes the rounding error of the mean
  let dev = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const v = col[rows[i]];
    if (v !== v) continue;
    const d = v - mean;
    dev += d;
    sq += d * d;
  }
  const variance = cnt > 0 ? Math.max(0, (sq - (dev * dev) / cnt) / cnt) : 0;
  return { mean, variance, observed: cnt };
}

// ---------------------------------------------------------------------------------------
// the design matrix, built block by block

/** Which features enter the fit as standardised columns and which as indicators. */
interface DesignLayout {
  readonly means: Float64Array;
  /** 1/scale: multiplying is several times cheaper than dividing, and ONNX's Scaler multiplies too. */
  readonly invScales: Float64Array;
  /** Feature of each standardised design column: the informative features, ascending. */
  readonly dense: Int32Array;
  /** Feature of each indicator design column: features missing on some but not all training rows. */
  readonly ind: Int32Array;
  /** Position in `indicatorFeatures` of each indicator design column. */
  readonly indSlot: Int32Array;
}

function designLayout(std: Standardiser): DesignLayout {
  const dense: number[] = [];
  for (let f = 0; f < std.means.length; f++) if (std.constant[f] === 0) dense.push(f);
  const ind: number[] = [];
  const indSlot: number[] = [];
  for (let k = 0; k < std.indicatorFeatures.length; k++) {
    const f = std.indicatorFeatures[k];
    // a feature missing on every training row has a constant indicator: nothing to learn
    if (std.missingCount[f] < std.nRows) {
      ind.push(f);
      indSlot.push(k);
    }
  }
  return { means: std.means, invScales: inverse(std.scales), dense: Int32Array.from(dense), ind: Int32Array.from(ind), indSlot: Int32Array.from(indSlot) };
}

function inverse(a: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = 1 / a[i];
  return out;
}

/**
 * Up to {@link BLOCK_ROWS} consecutive rows of the design matrix, column by column (so
 * the Gram products are contiguous dot products), plus, per indicator, the positions of
 * the rows where its feature is missing: indicators are mostly 0, so their products touch
 * only those rows.
 */
class DesignBlock {
  readonly nd: number;
  readonly ni: number;
  /** Number of design columns (standardised + indicators). */
  readonly p: number;
  /** Column c of the block at [c·BLOCK_ROWS, c·BLOCK_ROWS + len). */
  readonly x: Float64Array;
  /** Weighted copies of the standardised columns (logistic Hessian). */
  readonly hx: Float64Array;
  /** Indicator k's missing positions at [k·BLOCK_ROWS, k·BLOCK_ROWS + missCount[k]). */
  readonly missAt: Int32Array;
  readonly missCount: Int32Array;
  len = 0;

  constructor(readonly layout: DesignLayout) {
    this.nd = layout.dense.length;
    this.ni = layout.ind.length;
    this.p = this.nd + this.ni;
    this.x = new Float64Array(this.p * BLOCK_ROWS);
    this.hx = new Float64Array(this.nd * BLOCK_ROWS);
    this.missAt = new Int32Array(this.ni * BLOCK_ROWS);
    this.missCount = new Int32Array(this.ni);
  }

  /** Fills the block with the design rows of `rows[start … start + len)`. */
  load(columns: readonly Float64Array[], rows: Int32Array, start: number, len: number): void {
    const { dense, ind, means, invScales } = this.layout;
    const x = this.x;
    this.len = len;
    for (let c = 0; c < this.nd; c++) {
      const f = dense[c];
      const col = columns[f];
      const mean = means[f];
      const inv = invScales[f];
      const o = c * BLOCK_ROWS;
      for (let t = 0; t < len; t++) {
        const v = col[rows[start + t]];
        // missing: the training mean, which standardises to exactly 0
        x[o + t] = v !== v ? 0 : (v - mean) * inv;
      }
    }
    for (let k = 0; k < this.ni; k++) {
      const col = columns[ind[k]];
      const o = (this.nd + k) * BLOCK_ROWS;
      const mo = k * BLOCK_ROWS;
      let cnt = 0;
      for (let t = 0; t < len; t++) {
        const v = col[rows[start + t]];
        if (v !== v) {
          x[o + t] = 1;
          this.missAt[mo + cnt++] = t;
        } else {
          x[o + t] = 0;
        }
      }
      this.missCount[k] = cnt;
    }
  }
}

/** Σ a[ao + t]·b[bo + t] over t < len, four accumulators so the adds pipeline. */
function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t = 0;
  for (; t + 3 < len; t += 4) {
    s0 += a[ao + t] * b[bo + t];
    s1 += a[ao + t + 1] * b[bo + t + 1];
    s2 += a[ao + t + 2] * b[bo + t + 2];
    s3 += a[ao + t + 3] * b[bo + t + 3];
  }
  for (; t < len; t++) s0 += a[ao + t] * b[bo + t];
  return s0 + s1 + (s2 + s3);
}

function sum(a: Float64Array, ao: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let t = 0;
  for (; t + 1 < len; t += 2) {
    s0 += a[ao + t];
    s1 += a[ao + t + 1];
  }
  if (t < len) s0 += a[ao + t];
  return s0 + s1;
}

/**
 * Adds the block's share of G = Σ h·x̃·x̃ᵀ (lower triangle, q×q with q = p + 1), where
 * x̃ = [design row, 1] (the intercept last) and h = 1 when `h` is null.
 */
function accumulateGram(b: DesignBlock, h: Float64Array | null, G: Float64Array): void {
  const { nd, ni, p, x, missAt, missCount, len } = b;
  const q = p + 1;
  let hx = x;
  if (h !== null) {
    hx = b.hx;
    for (let c = 0; c < nd; c++) {
      const o = c * BLOCK_ROWS;
      for (let t = 0; t < len; t++) hx[o + t] = h[t] * x[o + t];
    }
  }
  // standardised × standardised, the bulk of the work, in 2×2 tiles (rows i, i+1 ×
  // columns j, j+1): four products per four loads instead of per eight, 2–3× faster
  for (let i = 0; i < nd; i += 2) {
    const i1 = i + 1 < nd ? i + 1 : i;
    const oa = i * BLOCK_ROWS;
    const ob = i1 * BLOCK_ROWS;
    for (let j = 0; j <= i; j += 2) {
      const oc = j * BLOCK_ROWS;
      const od = (j + 1 < nd ? j + 1 : j) * BLOCK_ROWS;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let t = 0; t < len; t++) {
        const a = hx[oa + t];
        const b = hx[ob + t];
        const c = x[oc + t];
        const d = x[od + t];
        s00 += a * c;
        s01 += a * d;
        s10 += b * c;
        s11 += b * d;
      }
      // write the tile's entries in the lower triangle (the rest are duplicates or past nd)
      G[i * q + j] += s00;
      if (j < i) G[i * q + j + 1] += s01;
      if (i1 !== i) {
        G[i1 * q + j] += s10;
        G[i1 * q + j + 1] += s11;
      }
    }
  }
  const gp = p * q;
  for (let j = 0; j < nd; j++) G[gp + j] += sum(hx, j * BLOCK_ROWS, len);
  G[gp + p] += h === null ? len : sum(h, 0, len);
  // indicator rows: only the rows where the feature is missing contribute
  for (let k = 0; k < ni; k++) {
    const i = nd + k;
    const gi = i * q;
    const mo = k * BLOCK_ROWS;
    const cnt = missCount[k];
    for (let j = 0; j <= i; j++) {
      const o = j * BLOCK_ROWS;
      let s = 0;
      if (h === null) for (let u = 0; u < cnt; u++) s += x[o + missAt[mo + u]];
      else {
        for (let u = 0; u < cnt; u++) {
          const t = missAt[mo + u];
          s += h[t] * x[o + t];
        }
      }
      G[gi + j] += s;
    }
    let s = 0;
    if (h === null) s = cnt;
    else for (let u = 0; u < cnt; u++) s += h[missAt[mo + u]];
    G[gp + i] += s;
  }
}

/** Adds the block's share of v = Σ z·x̃ (x̃ = [design row, 1]). */
function accumulateMoments(b: DesignBlock, z: Float64Array, v: Float64Array): void {
  const { nd, ni, p, x, missAt, missCount, len } = b;
  for (let c = 0; c < nd; c++) v[c] += dot(z, 0, x, c * BLOCK_ROWS, len);
  for (let k = 0; k < ni; k++) {
    const mo = k * BLOCK_ROWS;
    let s = 0;
    for (let u = 0; u < missCount[k]; u++) s += z[missAt[mo + u]];
    v[nd + k] += s;
  }
  v[p] += sum(z, 0, len);
}

/**
 * m = intercept + Σ θ_c·x_c over the block, θ = [coefficients of the p design columns,
 * intercept]. Terms are added feature by feature, then indicator by indicator, the order
 * {@link LinearModel.margin} uses, so fitted and predicted margins agree to the bit.
 */
function blockMargins(b: DesignBlock, theta: Float64Array, m: Float64Array): void {
  const { nd, ni, p, x, missAt, missCount, len } = b;
  m.fill(theta[p], 0, len);
  for (let c = 0; c < nd; c++) {
    const w = theta[c];
    if (w === 0) continue;
    const o = c * BLOCK_ROWS;
    for (let t = 0; t < len; t++) m[t] += w * x[o + t];
  }
  for (let k = 0; k < ni; k++) {
    const w = theta[nd + k];
    if (w === 0) continue;
    const mo = k * BLOCK_ROWS;
    for (let u = 0; u < missCount[k]; u++) m[missAt[mo + u]] += w;
  }
}

// ---------------------------------------------------------------------------------------
// ridge

/** The centred normal equations of one training set, ready for any alpha. */
interface RidgeSystem {
  p: number;
  /** Lower triangle of XcᵀXc (X centred on the training means), p×p. */
  A: Float64Array;
  /** Xcᵀ(y − ȳ). */
  rhs: Float64Array;
  /** Training means of the design columns. */
  xMean: Float64Array;
  yMean: number;
}

function ridgeSystem(columns: readonly Float64Array[], y: ArrayLike<number>, rows: Int32Array, layout: DesignLayout): RidgeSystem {
  const n = rows.length;
  const blk = new DesignBlock(layout);
  const p = blk.p;
  const q = p + 1;
  let ySum = 0;
  for (let i = 0; i < n; i++) ySum += y[rows[i]];
  const yShift = ySum / n;
  // accumulate around the shifted target: Σx·(y − ȳ) then carries no cancellation
  const G = new Float64Array(q * q);
  const v = new Float64Array(q);
  const z = new Float64Array(BLOCK_ROWS);
  for (let s = 0; s < n; s += BLOCK_ROWS) {
    const len = Math.min(BLOCK_ROWS, n - s);
    blk.load(columns, rows, s, len);
    shiftedTargets(y, rows, s, len, yShift, z);
    accumulateGram(blk, null, G);
    accumulateMoments(blk, z, v);
  }
  // centring after the fact is exact enough: standardised columns have mean ~0 on the
  // training rows, so only the 0/1 indicators are shifted, by their missing rate
  const xMean = new Float64Array(p);
  const gp = p * q;
  for (let j = 0; j < p; j++) xMean[j] = G[gp + j] / n;
  const zMean = v[p] / n;
  const A = new Float64Array(p * p);
  const rhs = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) A[i * p + j] = G[i * q + j] - G[gp + i] * xMean[j];
    rhs[i] = v[i] - G[gp + i] * zMean;
  }
  return { p, A, rhs, xMean, yMean: yShift + zMean };
}

function shiftedTargets(y: ArrayLike<number>, rows: Int32Array, s: number, len: number, shift: number, z: Float64Array): void {
  for (let t = 0; t < len; t++) z[t] = y[rows[s + t]] - shift;
}

/** θ = [w, b] solving (XcᵀXc + αI)·w = Xcᵀyc, b = ȳ − x̄ᵀw (scikit-learn's Ridge, cholesky solver). */
function solveRidge(sys: RidgeSystem, alpha: number): Float64Array {
  const { p } = sys;
  const L = sys.A.slice();
  for (let i = 0; i < p; i++) L[i * p + i] += alpha;
  if (!choleskyInPlace(L, p)) {
    throw new DataError('RIDGE_SINGULAR', `ridge normal equations with alpha ${alpha} are not positive definite (non-finite features or targets?)`);
  }
  const theta = new Float64Array(p + 1);
  theta.set(sys.rhs);
  choleskySolveInPlace(L, p, theta);
  let b = sys.yMean;
  for (let j = 0; j < p; j++) b -= sys.xMean[j] * theta[j];
  theta[p] = b;
  return theta;
}

// ---------------------------------------------------------------------------------------
// logistic

/** One logistic training set with its buffers, reused across Newton steps and penalties. */
class LogisticProblem {
  readonly blk: DesignBlock;
  readonly p: number;
  readonly n: number;
  /** 0/1 label of each training row, by position in `rows`. */
  readonly label: Float64Array;
  readonly positives: number;
  private readonly m = new Float64Array(BLOCK_ROWS);
  private readonly h = new Float64Array(BLOCK_ROWS);
  private readonly z = new Float64Array(BLOCK_ROWS);

  constructor(
    readonly columns: readonly Float64Array[],
    y: ArrayLike<number>,
    readonly rows: Int32Array,
    layout: DesignLayout,
  ) {
    this.blk = new DesignBlock(layout);
    this.p = this.blk.p;
    this.n = rows.length;
    this.label = new Float64Array(this.n);
    let pos = 0;
    for (let i = 0; i < this.n; i++) {
      if (y[rows[i]] > 0) {
        this.label[i] = 1;
        pos++;
      }
    }
    this.positives = pos;
  }

  /**
   * The objective Σ log loss + ‖w‖²/(2C) at θ = [w, b]; with `v` also its gradient, with
   * `H` the data part Σ σ(1 − σ)·x̃·x̃ᵀ of its Hessian (lower triangle, the penalty's 1/C
   * on the diagonal left out). Both are accumulated: the caller zeroes them.
   */
  pass(theta: Float64Array, C: number, v: Float64Array | null, H: Float64Array | null): number {
    const { blk, columns, rows, label, m, h, z, p, n } = this;
    let f = 0;
    for (let s = 0; s < n; s += BLOCK_ROWS) {
      const len = Math.min(BLOCK_ROWS, n - s);
      blk.load(columns, rows, s, len);
      blockMargins(blk, theta, m);
      f += logisticLink(m, label, s, len, z, h);
      if (v !== null) accumulateMoments(blk, z, v);
      if (H !== null) accumulateGram(blk, h, H);
    }
    let ww = 0;
    for (let j = 0; j < p; j++) ww += theta[j] * theta[j];
    f += ww / (2 * C);
    if (v !== null) for (let j = 0; j < p; j++) v[j] += theta[j] / C;
    return f;
  }

  /** θ at which nothing is learnt yet: w = 0, b = the log-odds of the training labels. */
  start(): Float64Array {
    const theta = new Float64Array(this.p + 1);
    theta[this.p] = Math.log(this.positives / (this.n - this.positives));
    return theta;
  }
}

/**
 * Log loss of a block's margins `m` against labels `label[s …]`; z = σ(m) − y (the
 * gradient's weights) and h = σ(m)(1 − σ(m)) (the Hessian's).
 */
function logisticLink(m: Float64Array, label: Float64Array, s: number, len: number, z: Float64Array, h: Float64Array): number {
  let f = 0;
  for (let t = 0; t < len; t++) {
    const mt = m[t];
    const yt = label[s + t];
    // one exp per row, stable on both tails: σ(m), σ(m)(1 − σ(m)) and softplus(m) from e^−|m|
    const e = Math.exp(-Math.abs(mt));
    const d = 1 + e;
    f += (mt > 0 ? mt : 0) + Math.log1p(e) - yt * mt;
    z[t] = (mt >= 0 ? 1 / d : e / d) - yt;
    h[t] = e / (d * d);
  }
  return f;
}

/**
 * The data part of the logistic Hessian at some earlier θ, kept across Newton steps (and
 * across penalties in the chooser).
 */
interface HessianCache {
  H: Float64Array;
  valid: boolean;
}

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let j = 0; j < v.length; j++) m = Math.max(m, Math.abs(v[j]));
  return m;
}

/**
 * (H + diag(1/C, …, 1/C, 0))⁻¹ into `inv` (full, row-major), H being the data part of the
 * Hessian; `L` is scratch. Throws when the system is not positive definite.
 */
function invertHessian(H: Float64Array, C: number, q: number, L: Float64Array, inv: Float64Array): void {
  L.set(H);
  for (let j = 0; j < q - 1; j++) L[j * q + j] += 1 / C;
  if (!choleskyInPlace(L, q)) {
    throw new DataError('LOGISTIC_NOT_CONVERGED', `logistic regression (C ${C}): the Hessian is not positive definite (every probability saturated?)`);
  }
  const e = new Float64Array(q);
  for (let j = 0; j < q; j++) {
    e.fill(0);
    e[j] = 1;
    choleskySolveInPlace(L, q, e);
    for (let i = 0; i < q; i++) inv[i * q + j] = e[i];
  }
}

/**
 * BFGS update of an inverse Hessian `inv` after the step s that changed the gradient by y:
 * inv ← (I − ρ·s·yᵀ)·inv·(I − ρ·y·sᵀ) + ρ·s·sᵀ, ρ = 1/(yᵀs). Skipped unless yᵀs > 0
 * (always so for this strictly convex objective, barring rounding). `u` is scratch.
 */
function bfgsUpdate(inv: Float64Array, q: number, s: Float64Array, y: Float64Array, u: Float64Array): void {
  let ys = 0;
  for (let i = 0; i < q; i++) ys += y[i] * s[i];
  if (!(ys > 0)) return;
  let yu = 0;
  for (let i = 0; i < q; i++) {
    let t = 0;
    for (let j = 0; j < q; j++) t += inv[i * q + j] * y[j];
    u[i] = t;
    yu += y[i] * t;
  }
  const a = (ys + yu) / (ys * ys);
  for (let i = 0; i < q; i++) {
    for (let j = 0; j < q; j++) inv[i * q + j] += a * s[i] * s[j] - (u[i] * s[j] + s[i] * u[j]) / ys;
  }
}

/**
 * Minimises the logistic objective from `theta` (updated in place) by Newton steps with a
 * backtracking (Armijo) line search. An exact Hessian costs a pass of p²/2 products per
 * row, a gradient one of p, so the exact Hessian is computed once and then carried along
 * by BFGS updates from the gradients, which keeps the steps Newton-like (superlinear near
 * the optimum) for the price of gradient passes. It is recomputed where the steps stop
 * paying: a step that cuts the largest gradient component less than
 * {@link HESSIAN_REFRESH_RATIO}-fold, or a line search that has to backtrack. Every exact
 * system is positive definite: the penalty adds 1/C to each coefficient's diagonal entry
 * and the intercept's entry Σ σ(1 − σ) is positive.
 */
function newtonLogistic(prob: LogisticProblem, C: number, theta: Float64Array, tolerance: number, maxIterations: number, cache: HessianCache): void {
  const q = prob.p + 1;
  const n = prob.n;
  const L = new Float64Array(q * q);
  const inv = new Float64Array(q * q);
  let v = new Float64Array(q);
  let v2 = new Float64Array(q);
  const d = new Float64Array(q);
  const dv = new Float64Array(q);
  const u = new Float64Array(q);
  const trial = new Float64Array(q);
  // a Hessian carried over from the previous penalty of the chooser is a fine start
  let fresh = !cache.valid;
  if (fresh) cache.H.fill(0);
  let f = prob.pass(theta, C, v, fresh ? cache.H : null);
  cache.valid = true;
  invertHessian(cache.H, C, q, L, inv);
  const refresh = (): void => {
    cache.H.fill(0);
    v.fill(0);
    f = prob.pass(theta, C, v, cache.H);
    invertHessian(cache.H, C, q, L, inv);
    fresh = true;
  };
  for (let it = 0; ; it++) {
    const gMax = maxAbs(v) / n;
    if (gMax <= tolerance) return;
    if (it === maxIterations) {
      throw new DataError('LOGISTIC_NOT_CONVERGED', `logistic regression (C ${C}) did not converge in ${maxIterations} Newton steps: gradient ${gMax} > ${tolerance}`);
    }
    let slope = 0;
    for (let i = 0; i < q; i++) {
      let t = 0;
      for (let j = 0; j < q; j++) t -= inv[i * q + j] * v[j];
      d[i] = t;
      slope += v[i] * t;
    }
    if (!(slope < 0)) {
      // rounding broke the updated inverse: start again from an exact one
      if (fresh) throw new DataError('LOGISTIC_NOT_CONVERGED', `logistic regression (C ${C}): no descent direction at gradient ${gMax}`);
      refresh();
      continue;
    }
    // objective values near the optimum differ by less than their rounding: allow that much
    const slack = 1e-12 * (1 + Math.abs(f));
    for (let j = 0; j < q; j++) trial[j] = theta[j] + d[j];
    v2.fill(0);
    const fFull = prob.pass(trial, C, v2, null);
    if (fFull <= f + ARMIJO * slope + slack) {
      for (let j = 0; j < q; j++) dv[j] = v2[j] - v[j];
      bfgsUpdate(inv, q, d, dv, u);
      theta.set(trial);
      [v, v2] = [v2, v];
      f = fFull;
      if (maxAbs(v) / n > HESSIAN_REFRESH_RATIO * gMax) refresh();
      else fresh = false;
      continue;
    }
    let accepted = false;
    for (let step = 0.5, ls = 0; ls < 50; ls++, step *= 0.5) {
      for (let j = 0; j < q; j++) trial[j] = theta[j] + step * d[j];
      if (prob.pass(trial, C, null, null) <= f + ARMIJO * step * slope + slack) {
        accepted = true;
        break;
      }
    }
    if (!accepted && fresh) {
      throw new DataError('LOGISTIC_NOT_CONVERGED', `logistic regression (C ${C}): the line search found no decrease at gradient ${gMax} (tolerance ${tolerance})`);
    }
    // a Hessian that led nowhere is recomputed where we are
    if (accepted) theta.set(trial);
    refresh();
  }
}

function checkBothClasses(prob: LogisticProblem, where: string): void {
  if (prob.positives === 0 || prob.positives === prob.n) {
    throw new DataError(
      'ONE_CLASS',
      `logistic regression needs both classes; all ${prob.n} ${where} rows have y ${prob.positives === 0 ? '≤ 0' : '> 0'}`,
    );
  }
}

// ---------------------------------------------------------------------------------------
// fitting

/** The validated inputs of a fit. */
function prepareFit(data: LinearTrainingData): { rows: Int32Array; featureNames: readonly string[]; std: Standardiser; layout: DesignLayout } {
  const nRows = checkFitInputs(data.columns, data.y);
  const rows = data.rows ?? allRows(nRows);
  checkRows(rows, nRows, 'training');
  if (rows.length === 0) throw new DataError('TOO_FEW_ROWS', 'a linear model needs at least one training row; found none');
  checkLabels(data.y, rows, 'training');
  const F = data.columns.length;
  const featureNames = data.featureNames ?? Array.from({ length: F }, (_, f) => `f${f}`);
  if (featureNames.length !== F) throw new DataError('MATRIX_SHAPE', `${featureNames.length} feature names for ${F} feature columns`);
  const std = standardise(data.columns, rows);
  return { rows, featureNames, std, layout: designLayout(std) };
}

/** Spreads θ over the model's per-feature arrays (0 for the features left out of the fit). */
function modelFrom(kind: LinearKind, penalty: number, featureNames: readonly string[], std: Standardiser, layout: DesignLayout, theta: Float64Array): LinearModel {
  const nd = layout.dense.length;
  const ni = layout.ind.length;
  const coef = new Float64Array(std.means.length);
  for (let c = 0; c < nd; c++) coef[layout.dense[c]] = theta[c];
  const indicatorCoef = new Float64Array(std.indicatorFeatures.length);
  for (let k = 0; k < ni; k++) indicatorCoef[layout.indSlot[k]] = theta[nd + k];
  return new LinearModel({
    kind,
    penalty,
    trainRows: std.nRows,
    featureNames: [...featureNames],
    means: std.means.slice(),
    scales: std.scales.slice(),
    coef,
    indicatorFeatures: std.indicatorFeatures.slice(),
    indicatorCoef,
    intercept: theta[nd + ni],
  });
}

/**
 * Ridge regression on the standardised design: minimises ‖y − Xw − b‖² + alpha·‖w‖² with
 * the intercept b unpenalised (scikit-learn's `Ridge(alpha)`), solving the centred normal
 * equations by Cholesky in float64. One pass over the training rows.
 */
export function fitRidge(data: LinearTrainingData, opts: RidgeOptions): LinearModel {
  checkPenalty(opts.alpha, 'alpha');
  const { rows, featureNames, std, layout } = prepareFit(data);
  const theta = solveRidge(ridgeSystem(data.columns, data.y, rows, layout), opts.alpha);
  return modelFrom('ridge', opts.alpha, featureNames, std, layout, theta);
}

/**
 * L2 logistic regression of y > 0 on the standardised design: minimises
 * C·Σ log loss + ½‖w‖² with the intercept unpenalised (scikit-learn's
 * `LogisticRegression(penalty='l2', C)`), by Newton's method with Cholesky steps.
 * Separable data is fine (the penalty keeps w finite); a single class is a `ONE_CLASS`
 * DataError, since the unpenalised intercept would run off to ±∞.
 */
export function fitLogistic(data: LinearTrainingData, opts: LogisticOptions): LinearModel {
  checkPenalty(opts.C, 'C');
  const tolerance = opts.tolerance ?? DEFAULT_TOLERANCE;
  const maxIterations = opts.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  checkPenalty(tolerance, 'tolerance');
  if (!(Number.isInteger(maxIterations) && maxIterations >= 1)) {
    throw new ConfigError(`maxIterations must be an integer ≥ 1; found ${maxIterations}`, { param: 'maxIterations' });
  }
  const { rows, featureNames, std, layout } = prepareFit(data);
  const prob = new LogisticProblem(data.columns, data.y, rows, layout);
  checkBothClasses(prob, 'training');
  const theta = prob.start();
  newtonLogistic(prob, opts.C, theta, tolerance, maxIterations, { H: new Float64Array((prob.p + 1) ** 2), valid: false });
  return modelFrom('logistic', opts.C, featureNames, std, layout, theta);
}

// ---------------------------------------------------------------------------------------
// choosing the penalty on inner folds

/** Mean held-out loss of θ on `rows`: squared error (ridge) or log loss of y > 0 (logistic). */
function heldOutLoss(kind: LinearKind, layout: DesignLayout, columns: readonly Float64Array[], y: ArrayLike<number>, rows: Int32Array, theta: Float64Array): number {
  const blk = new DesignBlock(layout);
  const m = new Float64Array(BLOCK_ROWS);
  const n = rows.length;
  let total = 0;
  for (let s = 0; s < n; s += BLOCK_ROWS) {
    const len = Math.min(BLOCK_ROWS, n - s);
    blk.load(columns, rows, s, len);
    blockMargins(blk, theta, m);
    total += kind === 'ridge' ? squaredError(m, y, rows, s, len) : logLoss(m, y, rows, s, len);
  }
  return total / n;
}

function squaredError(m: Float64Array, y: ArrayLike<number>, rows: Int32Array, s: number, len: number): number {
  let total = 0;
  for (let t = 0; t < len; t++) {
    const r = y[rows[s + t]] - m[t];
    total += r * r;
  }
  return total;
}

function logLoss(m: Float64Array, y: ArrayLike<number>, rows: Int32Array, s: number, len: number): number {
  let total = 0;
  for (let t = 0; t < len; t++) {
    const mt = m[t];
    total += (mt > 0 ? mt : 0) + Math.log1p(Math.exp(-Math.abs(mt))) - (y[rows[s + t]] > 0 ? mt : 0);
  }
  return total;
}

function checkFolds(folds: readonly InnerFold[], nRows: number, y: ArrayLike<number>): void {
  if (folds.length === 0) throw new ConfigError('no inner folds to choose the penalty on', { param: 'folds' });
  folds.forEach((fold, k) => {
    checkRows(fold.train, nRows, `fold ${k} training`);
    checkRows(fold.test, nRows, `fold ${k} test`);
    if (fold.train.length === 0 || fold.test.length === 0) {
      throw new DataError('TOO_FEW_ROWS', `fold ${k} has ${fold.train.length} training and ${fold.test.length} test rows; both must be non-empty`);
    }
    checkLabels(y, fold.train, `fold ${k} training`);
    checkLabels(y, fold.test, `fold ${k} test`);
    // both ascending: one merge finds a row on both sides
    for (let i = 0, j = 0; i < fold.train.length && j < fold.test.length; ) {
      if (fold.train[i] === fold.test[j]) throw new DataError('FOLD_OVERLAP', `fold ${k}: row ${fold.test[j]} is both a training and a test row`);
      if (fold.train[i] < fold.test[j]) i++;
      else j++;
    }
  });
}

/** Grid positions from the strongest penalty to the weakest (ties go to the first seen). */
function strongestFirst(grid: readonly number[], kind: LinearKind): number[] {
  const order = grid.map((_, g) => g);
  // stable sort: equal values keep the caller's order
  return order.sort((a, b) => (kind === 'ridge' ? grid[b] - grid[a] : grid[a] - grid[b]));
}

function pickPenalty(kind: LinearKind, grid: readonly number[], foldLoss: number[][], nFolds: number): PenaltyChoice {
  const meanLoss = foldLoss.map((l) => l.reduce((a, b) => a + b, 0) / nFolds);
  let best = -1;
  for (const g of strongestFirst(grid, kind)) {
    // a weaker penalty must be better by more than rounding to win
    if (best < 0 || meanLoss[g] < meanLoss[best] - TIE_TOLERANCE * Math.abs(meanLoss[best])) best = g;
  }
  return { value: grid[best], grid: [...grid], meanLoss, foldLoss };
}

function checkHeldOut(loss: number, k: number): number {
  if (!Number.isFinite(loss)) throw new DataError('FEATURE_INVALID', `fold ${k}: the held-out loss is ${loss}; a test row holds a non-finite feature`);
  return loss;
}

/**
 * Chooses ridge's alpha on inner folds: for every fold the standardiser is fitted on that
 * fold's training rows only, the normal equations are accumulated once and solved for each
 * alpha, and the mean squared error is taken on the fold's test rows. The alpha with the
 * lowest mean over folds (each fold counts once) wins; ties go to the larger alpha.
 */
export function chooseRidgeAlpha(
  columns: readonly Float64Array[],
  y: ArrayLike<number>,
  folds: readonly InnerFold[],
  grid: readonly number[] = DEFAULT_RIDGE_ALPHAS,
  opts: ChooserOptions = {},
): PenaltyChoice {
  checkGrid(grid, 'alpha');
  checkFolds(folds, checkFitInputs(columns, y), y);
  const foldLoss = grid.map(() => new Array<number>(folds.length));
  folds.forEach((fold, k) => {
    opts.signal?.throwIfAborted();
    const layout = designLayout(standardise(columns, fold.train));
    const sys = ridgeSystem(columns, y, fold.train, layout);
    for (let g = 0; g < grid.length; g++) {
      foldLoss[g][k] = checkHeldOut(heldOutLoss('ridge', layout, columns, y, fold.test, solveRidge(sys, grid[g])), k);
    }
  });
  return pickPenalty('ridge', grid, foldLoss, folds.length);
}

/**
 * Chooses the logistic C on inner folds: for every fold the standardiser is fitted on that
 * fold's training rows only, the model is fitted for each C (smallest first, each fit
 * starting from the previous solution) and scored by mean log loss on the fold's test
 * rows. The C with the lowest mean over folds (each fold counts once) wins; ties go to the
 * smaller C.
 */
export function chooseLogisticC(
  columns: readonly Float64Array[],
  y: ArrayLike<number>,
  folds: readonly InnerFold[],
  grid: readonly number[] = DEFAULT_LOGISTIC_CS,
  opts: ChooserOptions = {},
): PenaltyChoice {
  checkGrid(grid, 'C');
  checkFolds(folds, checkFitInputs(columns, y), y);
  const foldLoss = grid.map(() => new Array<number>(folds.length));
  // warm starts along increasing C: the solutions move smoothly with the penalty
  const order = strongestFirst(grid, 'logistic');
  folds.forEach((fold, k) => {
    const layout = designLayout(standardise(columns, fold.train));
    const prob = new LogisticProblem(columns, y, fold.train, layout);
    checkBothClasses(prob, `fold ${k} training`);
    const theta = prob.start();
    const cache: HessianCache = { H: new Float64Array((prob.p + 1) ** 2), valid: false };
    for (const g of order) {
      opts.signal?.throwIfAborted();
      newtonLogistic(prob, grid[g], theta, DEFAULT_TOLERANCE, DEFAULT_MAX_ITERATIONS, cache);
      foldLoss[g][k] = checkHeldOut(heldOutLoss('logistic', layout, columns, y, fold.test, theta), k);
    }
  });
  return pickPenalty('logistic', grid, foldLoss, folds.length);
}

// ---------------------------------------------------------------------------------------
// the fitted model

/** Identifies the linear model JSON. */
export const LINEAR_MODEL_FORMAT = 'engine-linear';
export const LINEAR_MODEL_VERSION = 1;

/**
 * The linear model JSON, also the plain form another module folds into an ONNX graph:
 * margin = intercept + Σ_f coef[f]·(x̂_f − means[f])·(1 / scales[f])
 *                    + Σ_k indicator_coef[k]·[x_{indicator_features[k]} is NaN],
 * where x̂_f is x_f, or means[f] when x_f is NaN. Ridge predicts the margin, logistic
 * σ(margin). All numbers round-trip exactly through JSON.
 */
export interface LinearModelJson {
  format: typeof LINEAR_MODEL_FORMAT;
  version: typeof LINEAR_MODEL_VERSION;
  kind: LinearKind;
  /** alpha for ridge, C for logistic. */
  penalty: number;
  train_rows: number;
  feature_names: string[];
  means: number[];
  scales: number[];
  /** Coefficient of each standardised feature (0 for a feature constant in training). */
  coef: number[];
  /** Features with a missing indicator, ascending. */
  indicator_features: number[];
  indicator_coef: number[];
  intercept: number;
}

const linearModelSchema = z
  .object({
    format: z.literal(LINEAR_MODEL_FORMAT),
    version: z.literal(LINEAR_MODEL_VERSION),
    kind: z.enum(['ridge', 'logistic']),
    penalty: z.number().positive(),
    train_rows: z.number().int().min(1),
    feature_names: z.array(z.string()).min(1),
    // zod's numbers are finite: NaN and ±Infinity are rejected
    means: z.array(z.number()),
    scales: z.array(z.number().positive()),
    coef: z.array(z.number()),
    indicator_features: z.array(z.number().int().min(0)),
    indicator_coef: z.array(z.number()),
    intercept: z.number(),
  })
  .strict()
  .superRefine((j, ctx) => {
    const F = j.feature_names.length;
    for (const key of ['means', 'scales', 'coef'] as const) {
      if (j[key].length !== F) ctx.addIssue({ code: 'custom', path: [key], message: `expected ${F} values (one per feature name); found ${j[key].length}` });
    }
    if (j.indicator_coef.length !== j.indicator_features.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['indicator_coef'],
        message: `expected ${j.indicator_features.length} values (one per indicator feature); found ${j.indicator_coef.length}`,
      });
    }
    j.indicator_features.forEach((f, i) => {
      if (f >= F || (i > 0 && f <= j.indicator_features[i - 1])) {
        ctx.addIssue({ code: 'custom', path: ['indicator_features', i], message: `indicator features must be ascending feature indices below ${F}; found ${f}` });
      }
    });
  });

/**
 * A model's terms per feature, for folding it into another model (a score model's linear
 * term, an ONNX LinearRegressor): margin = intercept + Σ_f coef[f]·(x̂_f − means[f])·(1 / scales[f])
 * + Σ_f missingCoef[f]·[x_f is NaN], x̂_f being x_f or means[f] when x_f is NaN.
 */
export interface LinearModelPlain {
  kind: LinearKind;
  featureNames: string[];
  means: number[];
  scales: number[];
  coef: number[];
  /** Coefficient of each feature's missing indicator; 0 for a feature without one. */
  missingCoef: number[];
  intercept: number;
}

/** The fields of a {@link LinearModel}. */
export interface LinearModelInit {
  kind: LinearKind;
  penalty: number;
  trainRows: number;
  featureNames: readonly string[];
  means: Float64Array;
  scales: Float64Array;
  coef: Float64Array;
  indicatorFeatures: Int32Array;
  indicatorCoef: Float64Array;
  intercept: number;
}

/** out[i] += c·(x − mean)·inv for each row's value x of the column (nothing for NaN). */
function addFeatureTerm(out: Float64Array, col: Float64Array, rows: Int32Array, c: number, mean: number, inv: number): void {
  for (let i = 0; i < rows.length; i++) {
    const v = col[rows[i]];
    if (v === v) out[i] += c * ((v - mean) * inv);
  }
}

/** out[i] += c where the row's value of the column is NaN. */
function addIndicatorTerm(out: Float64Array, col: Float64Array, rows: Int32Array, c: number): void {
  for (let i = 0; i < rows.length; i++) {
    const v = col[rows[i]];
    if (v !== v) out[i] += c;
  }
}

function sigmoid(m: number): number {
  if (m >= 0) return 1 / (1 + Math.exp(-m));
  const e = Math.exp(m);
  return e / (1 + e);
}

/**
 * A fitted ridge or logistic model with its training-window standardiser. Predictions take
 * raw feature values (NaN = missing): a missing value counts as the training mean, plus its
 * indicator's coefficient when the feature was missing somewhere in training (a feature
 * never missing in training has no indicator, so its NaN adds nothing beyond the mean).
 * Features must otherwise be finite.
 */
export class LinearModel {
  readonly kind: LinearKind;
  /** alpha for ridge, C for logistic. */
  readonly penalty: number;
  readonly trainRows: number;
  readonly featureNames: readonly string[];
  readonly means: Float64Array;
  readonly scales: Float64Array;
  readonly coef: Float64Array;
  readonly indicatorFeatures: Int32Array;
  readonly indicatorCoef: Float64Array;
  readonly intercept: number;
  private readonly invScales: Float64Array;

  constructor(init: LinearModelInit) {
    const F = init.featureNames.length;
    if (init.means.length !== F || init.scales.length !== F || init.coef.length !== F) {
      throw new DataError('MODEL_INVALID', `linear model has ${F} feature names but ${init.means.length} means, ${init.scales.length} scales and ${init.coef.length} coefficients`);
    }
    if (init.indicatorCoef.length !== init.indicatorFeatures.length) {
      throw new DataError('MODEL_INVALID', `linear model has ${init.indicatorFeatures.length} indicator features but ${init.indicatorCoef.length} indicator coefficients`);
    }
    this.kind = init.kind;
    this.penalty = init.penalty;
    this.trainRows = init.trainRows;
    this.featureNames = init.featureNames;
    this.means = init.means;
    this.scales = init.scales;
    this.coef = init.coef;
    this.indicatorFeatures = init.indicatorFeatures;
    this.indicatorCoef = init.indicatorCoef;
    this.intercept = init.intercept;
    this.invScales = inverse(init.scales);
  }

  get nFeatures(): number {
    return this.featureNames.length;
  }

  /** The linear score of one row of `nFeatures` raw values (before the sigmoid for logistic). */
  marginRow(row: ArrayLike<number>): number {
    const F = this.nFeatures;
    if (row.length !== F) throw new DataError('MATRIX_SHAPE', `row has ${row.length} values; the model has ${F} features`);
    let m = this.intercept;
    for (let f = 0; f < F; f++) {
      const c = this.coef[f];
      const v = row[f];
      if (c !== 0 && v === v) m += c * ((v - this.means[f]) * this.invScales[f]);
    }
    for (let k = 0; k < this.indicatorFeatures.length; k++) {
      const c = this.indicatorCoef[k];
      const v = row[this.indicatorFeatures[k]];
      if (c !== 0 && v !== v) m += c;
    }
    return m;
  }

  /** Prediction for one row: the value (ridge) or P(y > 0) (logistic). */
  predictRow(row: ArrayLike<number>): number {
    const m = this.marginRow(row);
    return this.kind === 'logistic' ? sigmoid(m) : m;
  }

  /**
   * Linear scores of `rows` (default every row) of columnar raw features, in row order;
   * the same numbers as {@link marginRow}, to the bit.
   */
  margin(columns: readonly Float64Array[], rows?: Int32Array): Float64Array {
    const F = this.nFeatures;
    if (columns.length !== F) throw new DataError('MATRIX_SHAPE', `${columns.length} feature columns; the model has ${F} features`);
    const nRows = columnLength(columns);
    const r = rows ?? allRows(nRows);
    if (rows !== undefined) checkRows(rows, nRows, 'prediction');
    const out = new Float64Array(r.length).fill(this.intercept);
    for (let f = 0; f < F; f++) if (this.coef[f] !== 0) addFeatureTerm(out, columns[f], r, this.coef[f], this.means[f], this.invScales[f]);
    for (let k = 0; k < this.indicatorFeatures.length; k++) {
      if (this.indicatorCoef[k] !== 0) addIndicatorTerm(out, columns[this.indicatorFeatures[k]], r, this.indicatorCoef[k]);
    }
    return out;
  }

  /** Predictions of `rows` (default every row): values (ridge) or P(y > 0) (logistic). */
  predict(columns: readonly Float64Array[], rows?: Int32Array): Float64Array {
    const out = this.margin(columns, rows);
    if (this.kind === 'logistic') for (let i = 0; i < out.length; i++) out[i] = sigmoid(out[i]);
    return out;
  }

  /** The model as plain arrays (see {@link LinearModelJson}). */
  toJSON(): LinearModelJson {
    return {
      format: LINEAR_MODEL_FORMAT,
      version: LINEAR_MODEL_VERSION,
      kind: this.kind,
      penalty: this.penalty,
      train_rows: this.trainRows,
      feature_names: [...this.featureNames],
      means: Array.from(this.means),
      scales: Array.from(this.scales),
      coef: Array.from(this.coef),
      indicator_features: Array.from(this.indicatorFeatures),
      indicator_coef: Array.from(this.indicatorCoef),
      intercept: this.intercept,
    };
  }

  /** The model's terms as plain per-feature arrays (see {@link LinearModelPlain}). */
  toPlain(): LinearModelPlain {
    const missingCoef = new Array<number>(this.nFeatures).fill(0);
    for (let k = 0; k < this.indicatorFeatures.length; k++) missingCoef[this.indicatorFeatures[k]] = this.indicatorCoef[k];
    return {
      kind: this.kind,
      featureNames: [...this.featureNames],
      means: Array.from(this.means),
      scales: Array.from(this.scales),
      coef: Array.from(this.coef),
      missingCoef,
      intercept: this.intercept,
    };
  }

  /** The model as a JSON string (deterministic: same model → same bytes; numbers exact). */
  serialize(): string {
    return JSON.stringify(this.toJSON());
  }

  /** A model from its plain form, validated; a problem is a `MODEL_INVALID` DataError naming the field. */
  static fromJSON(json: unknown): LinearModel {
    const r = linearModelSchema.safeParse(json);
    if (!r.success) {
      const problems = r.error.issues.map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : '(model)'}: ${i.message}`);
      throw new DataError('MODEL_INVALID', `invalid linear model: ${problems.join('; ')}`, { problems });
    }
    const j = r.data;
    return new LinearModel({
      kind: j.kind,
      penalty: j.penalty,
      trainRows: j.train_rows,
      featureNames: j.feature_names,
      means: Float64Array.from(j.means),
      scales: Float64Array.from(j.scales),
      coef: Float64Array.from(j.coef),
      indicatorFeatures: Int32Array.from(j.indicator_features),
      indicatorCoef: Float64Array.from(j.indicator_coef),
      intercept: j.intercept,
    });
  }

  /** A model from {@link serialize}'s output. */
  static parse(text: string): LinearModel {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new DataError('MODEL_INVALID', `linear model is not JSON: ${err instanceof Error ? err.message : String(err)}`, undefined, err);
    }
    return LinearModel.fromJSON(json);
  }
}
