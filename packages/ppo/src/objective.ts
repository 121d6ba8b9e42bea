// Math's functions in module constants: under a vm context (jest) every global lookup in a
// hot loop goes through the context's interceptor (4× slower forward passes); elsewhere free.
const { exp, log } = Math;

/** One minibatch of rollout samples, gathered row by row (row-major where a row has several values). */
export interface Minibatch {
  /** Observations [B, O]. */
  obs: Float64Array;
  actions: Int32Array;
  /** log π_old(a | s) when the action was sampled. */
  oldLogProbs: Float64Array;
  /** Advantages (already standardised when the params say so). */
  advantages: Float64Array;
  /** Value targets: advantage + old value. */
  returns: Float64Array;
  /** V_old(s) when the sample was collected. */
  oldValues: Float64Array;
}

/** The policy half of a minibatch's loss, as means over its samples. */
export interface PolicyTerms {
  /** −mean min(r·A, clip(r)·A). */
  surrogate: number;
  /** mean entropy of π(· | s). */
  entropy: number;
  /** Σ (r − 1) − log r (Stable-Baselines3's approx_kl, before the mean). */
  klSum: number;
  /** Samples with |r − 1| > clip. */
  clipped: number;
}

/**
 * The clipped surrogate objective with its entropy bonus, `surrogate − entCoef · entropy`,
 * for B samples of A logits each; writes its gradient with respect to the logits into
 * `grad` ([B, A]). The ratio r = π(a|s) / π_old(a|s) is exp(log π − log π_old), computed
 * with a max-shifted log-softmax. `probs` is scratch of at least A values.
 */
export function policyLoss(logits: Float64Array, mb: Minibatch, B: number, A: number, clip: number, entCoef: number, grad: Float64Array, probs: Float64Array): PolicyTerms {
  let surrogate = 0;
  let entropy = 0;
  let klSum = 0;
  let clipped = 0;
  const lo = 1 - clip;
  const hi = 1 + clip;
  const entScale = entCoef / B;
  for (let i = 0; i < B; i++) {
    const at = i * A;
    let max = -Infinity;
    for (let a = 0; a < A; a++) if (logits[at + a] > max) max = logits[at + a];
    let sum = 0;
    for (let a = 0; a < A; a++) {
      probs[a] = exp(logits[at + a] - max);
      sum += probs[a];
    }
    const logSum = log(sum);
    let h = 0;
    for (let a = 0; a < A; a++) {
      probs[a] /= sum;
      if (probs[a] > 0) h -= probs[a] * (logits[at + a] - max - logSum);
    }
    const action = mb.actions[i];
    const logRatio = logits[at + action] - max - logSum - mb.oldLogProbs[i];
    const ratio = exp(logRatio);
    const adv = mb.advantages[i];
    const unclipped = ratio * adv;
    const bounded = (ratio < lo ? lo : ratio > hi ? hi : ratio) * adv;
    surrogate -= unclipped < bounded ? unclipped : bounded;
    entropy += h;
    klSum += ratio - 1 - logRatio;
    if (ratio < lo || ratio > hi) clipped++;
    // ∂(−min(rA, clip(r)A))/∂log π(a) is −rA where the unclipped term is the minimum, else 0
    // (where the clipped one is, r sits outside the range and clip(r) is constant)
    const dLogp = unclipped <= bounded ? -unclipped / B : 0;
    // ∂log π(a)/∂z_j = [j = a] − π_j;  ∂(−c·H)/∂z_j = c·π_j·(log π_j + H)
    for (let a = 0; a < A; a++) {
      const pa = probs[a];
      grad[at + a] = dLogp * ((a === action ? 1 : 0) - pa) + entScale * pa * (logits[at + a] - max - logSum + h);
    }
  }
  return { surrogate: surrogate / B, entropy: entropy / B, klSum, clipped };
}

/**
 * The value loss `vfCoef · mean (V − R)²`, where V is the prediction, or with `clipRange`
 * the old value plus the change clipped to ±clipRange (no gradient where it is clipped);
 * writes its gradient with respect to the predictions into `grad`. Returns the mean squared
 * error (without vfCoef).
 */
export function valueLoss(values: Float64Array, mb: Minibatch, B: number, clipRange: number | null, vfCoef: number, grad: Float64Array): number {
  let sq = 0;
  const scale = (2 * vfCoef) / B;
  for (let i = 0; i < B; i++) {
    let pred = values[i];
    let pass = 1;
    if (clipRange !== null) {
      const d = pred - mb.oldValues[i];
      if (d > clipRange || d < -clipRange) {
        pred = mb.oldValues[i] + (d > 0 ? clipRange : -clipRange);
        pass = 0;
      }
    }
    const err = pred - mb.returns[i];
    sq += err * err;
    grad[i] = pass * scale * err;
  }
  return sq / B;
}
