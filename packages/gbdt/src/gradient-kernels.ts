/**
 * Per-row gradients of the losses, as loops over a row range so the histogram threads can
 * each compute their chunk (see hist-kernels.ts). No imports: workers load this file.
 */

/** Objective ids in the shared parameters. */
export const OBJ_SQUARED = 0;
export const OBJ_HUBER = 1;
export const OBJ_LOGISTIC = 2;

/** Squared error: g = score − y (hessian 1). */
export function squaredGradients(label: Float64Array, score: Float64Array, grad: Float64Array, r0: number, r1: number): void {
  for (let r = r0; r < r1; r++) grad[r] = score[r] - label[r];
}

/** Huber: g = clamp(score − y, −δ, δ) (hessian taken as 1, as LightGBM does). */
export function huberGradients(label: Float64Array, score: Float64Array, grad: Float64Array, delta: number, r0: number, r1: number): void {
  for (let r = r0; r < r1; r++) {
    const d = score[r] - label[r];
    grad[r] = d > delta ? delta : d < -delta ? -delta : d;
  }
}

/** Logistic: p = σ(score), g = p − y, h = max(p(1 − p), 1e-16). */
export function logisticGradients(label: Float64Array, score: Float64Array, grad: Float64Array, hess: Float64Array, r0: number, r1: number): void {
  for (let r = r0; r < r1; r++) {
    const p = 1 / (1 + Math.exp(-score[r]));
    grad[r] = p - label[r];
    hess[r] = Math.max(p * (1 - p), 1e-16);
  }
}
