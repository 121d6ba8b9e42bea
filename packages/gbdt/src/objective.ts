import { OBJ_HUBER, OBJ_LOGISTIC, OBJ_SQUARED } from './gradient-kernels';
import type { GbdtObjective } from './params';

/**
 * A loss as the booster sees it: the starting margin, the mean loss (for progress and early
 * stopping), the map from margin to prediction, and which gradient kernel the histogram
 * threads run (gradient-kernels.ts).
 */
export interface Objective {
  readonly name: GbdtObjective;
  /** Id of the gradient kernel (OBJ_*). */
  readonly kernel: number;
  /** The hessian of every row when it is constant (1), else 0 (per-row hessians). */
  readonly constHessian: number;
  /** Huber's delta (0 for the other losses). */
  readonly huberDelta: number;
  /** The starting margin (base score) from the training labels. */
  baseScore(label: Float64Array): number;
  /** Mean loss over rows 0..n-1. */
  loss(label: Float64Array, score: Float64Array): number;
  /** Margin → prediction (identity, or the sigmoid for logistic). */
  transform(margin: number): number;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function mean(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

const squared: Objective = {
  name: 'squared_error',
  kernel: OBJ_SQUARED,
  constHessian: 1,
  huberDelta: 0,
  baseScore: mean,
  loss(label, score) {
    let s = 0;
    for (let i = 0; i < label.length; i++) {
      const r = score[i] - label[i];
      s += r * r;
    }
    return s / label.length;
  },
  transform: (m) => m,
};

/** 1.345 × the robust (MAD) standard deviation of the labels: Huber's 95%-efficiency point. */
function defaultHuberDelta(label: Float64Array): number {
  const s = Float64Array.from(label).sort();
  const med = s[s.length >> 1];
  for (let i = 0; i < s.length; i++) s[i] = Math.abs(s[i] - med);
  s.sort();
  const mad = s[s.length >> 1];
  const sigma = 1.4826 * mad;
  return sigma > 0 ? 1.345 * sigma : 1;
}

function huber(delta: number): Objective {
  return {
    name: 'huber',
    kernel: OBJ_HUBER,
    constHessian: 1,
    huberDelta: delta,
    baseScore: mean,
    loss(label, score) {
      let s = 0;
      for (let i = 0; i < label.length; i++) {
        const a = Math.abs(score[i] - label[i]);
        s += a <= delta ? 0.5 * a * a : delta * (a - 0.5 * delta);
      }
      return s / label.length;
    },
    transform: (m) => m,
  };
}

const logistic: Objective = {
  name: 'logistic',
  kernel: OBJ_LOGISTIC,
  constHessian: 0,
  huberDelta: 0,
  baseScore(label) {
    const p = Math.min(1 - 1e-6, Math.max(1e-6, mean(label)));
    return Math.log(p / (1 - p));
  },
  loss(label, score) {
    let s = 0;
    for (let i = 0; i < label.length; i++) {
      // log(1 + e^m) − y·m, computed without overflow
      const m = score[i];
      s += (m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m))) - label[i] * m;
    }
    return s / label.length;
  },
  transform: sigmoid,
};

/**
 * The objective for a loss. Labels are prepared by {@link prepareLabels}; `huberDelta` 0
 * means "derive it from the labels".
 */
export function makeObjective(name: GbdtObjective, label: Float64Array, huberDelta: number): Objective {
  if (name === 'squared_error') return squared;
  if (name === 'logistic') return logistic;
  return huber(huberDelta > 0 ? huberDelta : defaultHuberDelta(label));
}

/** Copies the targets of the selected rows as float64; for logistic, y > 0 becomes 1, else 0. */
export function prepareLabels(name: GbdtObjective, y: ArrayLike<number>, rows: Int32Array | null, n: number): Float64Array {
  const out = new Float64Array(n);
  const pos = name === 'logistic';
  for (let i = 0; i < n; i++) {
    const v = y[rows === null ? i : rows[i]];
    out[i] = pos ? (v > 0 ? 1 : 0) : v;
  }
  return out;
}
