import { ConfigError } from '@engine/shared';

// Math's functions in module constants: under a vm context (jest) every global lookup in a
// hot loop goes through the context's interceptor (4× slower forward passes); elsewhere free.
const { sqrt } = Math;

/** Adam's settings. */
export interface AdamOptions {
  /** Decay of the first-moment estimate. Default 0.9. */
  beta1?: number;
  /** Decay of the second-moment estimate. Default 0.999. */
  beta2?: number;
  /** Added to the root of the second moment. Default 1e-5 (Stable-Baselines3's PPO; PyTorch's own default is 1e-8). */
  epsilon?: number;
  /**
   * Rescales the gradient when its global L2 norm (over every group together) exceeds this,
   * as PyTorch's `clip_grad_norm_` does: by `max / (norm + 1e-6)`. null = no clipping.
   * Default 0.5.
   */
  maxGradNorm?: number | null;
}

/**
 * Adam (Kingma & Ba) over one or more parameter arrays that share one step counter and one
 * gradient-norm clip, with PyTorch's arithmetic: `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
 * `p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)`.
 */
export class Adam {
  private readonly params: Float64Array[];
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly maxGradNorm: number | null;
  private t = 0;

  constructor(params: Float64Array[], opts: AdamOptions = {}) {
    this.params = params;
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-5;
    this.maxGradNorm = opts.maxGradNorm === undefined ? 0.5 : opts.maxGradNorm;
    for (const [k, v, lo, hi] of [['beta1', this.beta1, 0, 1], ['beta2', this.beta2, 0, 1]] as const) {
      if (!(v >= lo && v < hi)) throw new ConfigError(`Adam ${k} must be in [${lo}, ${hi}); got ${v}`, { param: k, value: v });
    }
    if (!(this.epsilon > 0)) throw new ConfigError(`Adam epsilon must be > 0; got ${this.epsilon}`, { param: 'epsilon', value: this.epsilon });
    if (this.maxGradNorm !== null && !(this.maxGradNorm > 0)) throw new ConfigError(`Adam maxGradNorm must be > 0 or null; got ${this.maxGradNorm}`, { param: 'maxGradNorm', value: this.maxGradNorm });
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /**
   * One update with these gradients (one array per parameter group, same lengths; clipping
   * scales them in place). Returns the gradient's global norm before clipping.
   */
  step(grads: Float64Array[], learningRate: number): number {
    if (grads.length !== this.params.length) throw new ConfigError(`Adam has ${this.params.length} parameter groups; got ${grads.length} gradients`);
    let sq = 0;
    for (let k = 0; k < grads.length; k++) {
      const g = grads[k];
      if (g.length !== this.params[k].length) throw new ConfigError(`Adam group ${k} has ${this.params[k].length} parameters; got ${g.length} gradients`);
      for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
    }
    const norm = Math.sqrt(sq);
    const scale = this.maxGradNorm !== null && this.maxGradNorm / (norm + 1e-6) < 1 ? this.maxGradNorm / (norm + 1e-6) : 1;
    this.t++;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const stepSize = learningRate / (1 - b1 ** this.t);
    const rootCorrection = Math.sqrt(1 - b2 ** this.t);
    const eps = this.epsilon;
    for (let k = 0; k < grads.length; k++) {
      const g = grads[k];
      const p = this.params[k];
      const m = this.m[k];
      const v = this.v[k];
      for (let i = 0; i < g.length; i++) {
        const gi = scale === 1 ? g[i] : (g[i] *= scale);
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        p[i] -= (stepSize * m[i]) / (sqrt(v[i]) / rootCorrection + eps);
      }
    }
    return norm;
  }
}
