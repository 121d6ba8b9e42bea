import { DataError } from '@engine/shared';

/**
 * How member scores are combined into one score `s = Σ w_k · (f_k − μ_k) / σ_k`:
 * - `equal`: every member that varies gets the same weight (the default: nothing fitted
 *   but the standardisation, so nothing to overfit);
 * - `stacking`: non-negative weights summing to 1, fitted by non-negative least squares of
 *   the outcome on the standardised member scores (with an intercept).
 */
export type CombinerKind = 'equal' | 'stacking';

/** An affine map of the combined score: `offset + scale · s`. */
export interface AffineHead {
  scale: number;
  offset: number;
}

/** A fitted combiner: everything needed to turn member scores into the edge and the confidence. */
export interface Combiner {
  kind: CombinerKind;
  /** Member names, in order (e.g. gbdt, rf, linear). */
  members: string[];
  /** Weights (≥ 0, sum 1 over members that vary; 0 for a constant member). */
  weights: number[];
  /** Mean and sd of each member's out-of-fold score (sd 1 for a constant member). */
  means: number[];
  sds: number[];
  /**
   * Predicted net edge (bps) = offset + scale · s: ordinary least squares of the realised
   * net bps on s over the out-of-fold rows, the slope held at ≥ 0 (a combined score that
   * ranks the outcomes backwards predicts the mean, it is not turned around).
   */
  edge: AffineHead;
  /** P(net edge > 0) = sigmoid(offset + scale · s): Platt's calibration of s on the same rows. */
  confidence: AffineHead;
  /** What the out-of-fold rows showed: the evidence the manifest records. */
  diagnostics: CombinerDiagnostics;
}

export interface CombinerDiagnostics {
  /** Out-of-fold rows the combiner was fitted on. */
  rows: number;
  /** Pearson correlation of every pair of member scores (K × K, row-major). */
  correlations: number[][];
  /**
   * Mean over rows of the sd of the standardised member scores: 0 when the members agree
   * exactly (up to scale), about 1 when they are independent.
   */
  disagreement: number;
  /** Share of rows where the members' standardised scores do not all have the same sign. */
  sign_disagreement: number;
  /** Pearson correlation of each member's score and of the combined score with the outcome. */
  outcome_correlation: { members: number[]; combined: number };
}

/** Inputs of {@link fitCombiner}: member scores on out-of-fold rows and the rows' outcomes. */
export interface CombinerData {
  members: string[];
  /** One array per member, all of the same length as `outcome`. */
  scores: readonly ArrayLike<number>[];
  /** Realised net edge (bps) of each row. */
  outcome: ArrayLike<number>;
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ma = mean(a);
  const mb = mean(b);
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Solves the small symmetric system A x = b (Gaussian elimination with partial pivoting); null when singular. */
function solve(A: number[][], b: number[]): number[] | null {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    if (Math.abs(M[p]![c]!) < 1e-12) return null;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  return M.map((row, i) => row[n]! / row[i]!);
}

/**
 * Non-negative least squares with a free intercept, y ≈ α + Σ v_k z_k with v ≥ 0, for a
 * handful of members: every subset of members is fitted by ordinary least squares and the
 * feasible fit (all coefficients ≥ 0) with the smallest residual sum of squares wins. With
 * K ≤ 4 members that is at most 15 tiny solves, and the answer is the exact NNLS optimum
 * (the optimum is the unconstrained fit on its own support).
 */
export function nonNegativeLeastSquares(z: readonly Float64Array[], y: ArrayLike<number>): { intercept: number; coef: number[]; sse: number } {
  const K = z.length;
  const n = y.length;
  if (K > 8) throw new DataError('COMBINER_INVALID', `non-negative stacking enumerates subsets of members; ${K} members is too many (at most 8)`);
  const my = mean(y);
  const mz = z.map(mean);
  // centred cross products: the intercept drops out
  const C: number[][] = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  const cy = new Array<number>(K).fill(0);
  let yy = 0;
  for (let i = 0; i < n; i++) {
    const dy = y[i]! - my;
    yy += dy * dy;
    for (let a = 0; a < K; a++) {
      const da = z[a]![i]! - mz[a]!;
      cy[a]! += da * dy;
      for (let b = a; b < K; b++) C[a]![b]! += da * (z[b]![i]! - mz[b]!);
    }
  }
  for (let a = 0; a < K; a++) for (let b = 0; b < a; b++) C[a]![b] = C[b]![a]!;
  let best = { coef: new Array<number>(K).fill(0), sse: yy };
  for (let mask = 1; mask < 1 << K; mask++) {
    const idx: number[] = [];
    for (let k = 0; k < K; k++) if (mask & (1 << k)) idx.push(k);
    const v = solve(
      idx.map((a) => idx.map((b) => C[a]![b]!)),
      idx.map((a) => cy[a]!),
    );
    if (v === null || v.some((x) => x < 0)) continue;
    // SSE = yy − 2 vᵀc + vᵀCv = yy − vᵀc at the least-squares solution
    let sse = yy;
    for (let j = 0; j < idx.length; j++) sse -= v[j]! * cy[idx[j]!]!;
    if (sse < best.sse - 1e-12 * Math.max(1, yy)) {
      const coef = new Array<number>(K).fill(0);
      idx.forEach((k, j) => (coef[k] = v[j]!));
      best = { coef, sse };
    }
  }
  let intercept = my;
  for (let k = 0; k < K; k++) intercept -= best.coef[k]! * mz[k]!;
  return { intercept, coef: best.coef, sse: best.sse };
}

/**
 * Platt's calibration: a, b maximising the likelihood of P(y = 1 | s) = sigmoid(a·s + b), with
 * Platt's (1999) smoothed targets (N₊ + 1)/(N₊ + 2) for positives and 1/(N₋ + 2) for
 * negatives, which keeps the fit finite when the classes separate. Newton's method with
 * step halving (the log-likelihood is concave).
 */
export function plattScaling(s: ArrayLike<number>, positive: ArrayLike<boolean | number>): AffineHead {
  const n = s.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) if (positive[i]) nPos++;
  const nNeg = n - nPos;
  const tPos = (nPos + 1) / (nPos + 2);
  const tNeg = 1 / (nNeg + 2);
  let a = 0;
  let b = Math.log((nPos + 1) / (nNeg + 1));
  const loss = (a_: number, b_: number): number => {
    let l = 0;
    for (let i = 0; i < n; i++) {
      const m = a_ * s[i]! + b_;
      const t = positive[i] ? tPos : tNeg;
      // −[t log σ(m) + (1 − t) log(1 − σ(m))] = log(1 + e^m) − t m, stably
      l += (m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m))) - t * m;
    }
    return l;
  };
  let cur = loss(a, b);
  for (let it = 0; it < 100; it++) {
    let ga = 0;
    let gb = 0;
    let haa = 0;
    let hab = 0;
    let hbb = 0;
    for (let i = 0; i < n; i++) {
      const si = s[i]!;
      const p = 1 / (1 + Math.exp(-(a * si + b)));
      const d = p - (positive[i] ? tPos : tNeg);
      const w = p * (1 - p);
      ga += d * si;
      gb += d;
      haa += w * si * si;
      hab += w * si;
      hbb += w;
    }
    if (Math.abs(ga) + Math.abs(gb) < 1e-10 * n) break;
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    let step = 1;
    let next = loss(a - da, b - db);
    while (next > cur && step > 1e-8) {
      step /= 2;
      next = loss(a - step * da, b - step * db);
    }
    if (next > cur) break;
    a -= step * da;
    b -= step * db;
    const done = cur - next < 1e-14 * Math.max(1, Math.abs(cur));
    cur = next;
    if (done) break;
  }
  return { scale: a, offset: b };
}

/**
 * Fits a combiner on out-of-fold member scores (never on rows any member was trained on):
 * standardisation, weights, the edge calibration and Platt's confidence. A member whose
 * out-of-fold scores are constant gets weight 0. When no member varies, or stacking finds
 * no positive weight, the combined score carries no information: the edge head predicts the
 * mean outcome (scale 0) and the confidence the base rate.
 */
export function fitCombiner(data: CombinerData, kind: CombinerKind): Combiner {
  const K = data.scores.length;
  const n = data.outcome.length;
  if (K === 0 || K !== data.members.length) throw new DataError('COMBINER_INVALID', `a combiner needs one score array per member; got ${K} arrays for ${data.members.length} members`);
  if (n < 2) throw new DataError('COMBINER_INVALID', `a combiner needs at least 2 out-of-fold rows; got ${n}`);
  for (let k = 0; k < K; k++) {
    if (data.scores[k]!.length !== n) throw new DataError('COMBINER_INVALID', `member ${data.members[k]} has ${data.scores[k]!.length} scores for ${n} outcomes`);
    for (let i = 0; i < n; i++) if (!Number.isFinite(data.scores[k]![i]!)) throw new DataError('COMBINER_INVALID', `member ${data.members[k]} score ${i} is ${data.scores[k]![i]}; out-of-fold scores must be finite`);
  }
  for (let i = 0; i < n; i++) if (!Number.isFinite(data.outcome[i]!)) throw new DataError('COMBINER_INVALID', `outcome ${i} is ${data.outcome[i]}; outcomes must be finite`);

  const means: number[] = [];
  const sds: number[] = [];
  const active: boolean[] = [];
  const z: Float64Array[] = [];
  for (let k = 0; k < K; k++) {
    const f = data.scores[k]!;
    const m = mean(f);
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (f[i]! - m) ** 2;
    const sd = Math.sqrt(ss / n);
    const varies = sd > 1e-12 * Math.max(1, Math.abs(m));
    means.push(m);
    sds.push(varies ? sd : 1);
    active.push(varies);
    const zk = new Float64Array(n);
    if (varies) for (let i = 0; i < n; i++) zk[i] = (f[i]! - m) / sd;
    z.push(zk);
  }
  const nActive = active.filter(Boolean).length;
  let weights = active.map((a) => (a ? 1 / nActive : 0));
  let informative = nActive > 0;
  if (kind === 'stacking' && nActive > 0) {
    const idx = active.flatMap((a, k) => (a ? [k] : []));
    const fit = nonNegativeLeastSquares(
      idx.map((k) => z[k]!),
      data.outcome,
    );
    const total = fit.coef.reduce((s, v) => s + v, 0);
    if (total > 0) {
      weights = new Array<number>(K).fill(0);
      idx.forEach((k, j) => (weights[k] = fit.coef[j]! / total));
    } else informative = false;
  }
  const s = new Float64Array(n);
  for (let k = 0; k < K; k++) {
    const w = weights[k]!;
    if (w === 0) continue;
    const zk = z[k]!;
    for (let i = 0; i < n; i++) s[i]! += w * zk[i]!;
  }
  // edge calibration: OLS of the outcome on s, slope ≥ 0
  const my = mean(data.outcome);
  const ms = mean(s);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (s[i]! - ms) * (data.outcome[i]! - my);
    sxx += (s[i]! - ms) ** 2;
  }
  let scale = informative && sxx > 0 ? Math.max(0, sxy / sxx) : 0;
  if (!Number.isFinite(scale)) scale = 0;
  const edge: AffineHead = { scale, offset: my - scale * ms };
  const positive = Uint8Array.from(data.outcome as ArrayLike<number>, (v) => (v > 0 ? 1 : 0));
  const confidence = informative ? plattScaling(s, positive) : plattScaling(new Float64Array(n), positive);
  if (!informative) confidence.scale = 0;

  // diagnostics
  const correlations = Array.from({ length: K }, (_, a) => Array.from({ length: K }, (_, b) => (a === b ? 1 : pearson(data.scores[a]!, data.scores[b]!))));
  let disagreement = 0;
  let signDisagree = 0;
  if (nActive > 1) {
    for (let i = 0; i < n; i++) {
      let m = 0;
      let pos = 0;
      for (let k = 0; k < K; k++) {
        if (!active[k]) continue;
        m += z[k]![i]!;
        if (z[k]![i]! > 0) pos++;
      }
      m /= nActive;
      let v = 0;
      for (let k = 0; k < K; k++) if (active[k]) v += (z[k]![i]! - m) ** 2;
      disagreement += Math.sqrt(v / nActive);
      if (pos !== 0 && pos !== nActive) signDisagree++;
    }
    disagreement /= n;
  }
  return {
    kind,
    members: [...data.members],
    weights,
    means,
    sds,
    edge,
    confidence,
    diagnostics: {
      rows: n,
      correlations,
      disagreement,
      sign_disagreement: nActive > 1 ? signDisagree / n : 0,
      outcome_correlation: { members: data.scores.map((f) => pearson(f, data.outcome)), combined: pearson(s, data.outcome) },
    },
  };
}

/** The combined score of member scores: `Σ w_k (f_k − μ_k) / σ_k`, row by row. */
export function combinedScore(c: Pick<Combiner, 'weights' | 'means' | 'sds'>, scores: readonly ArrayLike<number>[], out?: Float64Array): Float64Array {
  const n = scores[0]?.length ?? 0;
  const s = out ?? new Float64Array(n);
  s.fill(0, 0, n);
  for (let k = 0; k < scores.length; k++) {
    const w = c.weights[k]!;
    if (w === 0) continue;
    const f = scores[k]!;
    const m = c.means[k]!;
    const inv = w / c.sds[k]!;
    for (let i = 0; i < n; i++) s[i]! += inv * (f[i]! - m);
  }
  return s;
}

/** Applies an affine head to a combined score (in place when `out` is `s`). */
export function applyHead(h: AffineHead, s: ArrayLike<number>, link: 'identity' | 'logistic', out = new Float64Array(s.length)): Float64Array {
  for (let i = 0; i < s.length; i++) {
    const m = h.offset + h.scale * s[i]!;
    out[i] = link === 'logistic' ? 1 / (1 + Math.exp(-m)) : m;
  }
  return out;
}
