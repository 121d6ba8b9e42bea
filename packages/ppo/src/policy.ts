import { z } from 'zod';
import { DataError } from '@engine/shared';
import { Mlp } from './mlp';

// Math's functions in module constants: under a vm context (jest) every global lookup in a
// hot loop goes through the context's interceptor (4× slower forward passes); elsewhere free.
const { exp } = Math;

/** Identifies a PPO policy's native JSON. */
export const PPO_POLICY_FORMAT = 'engine-ppo-policy';
export const PPO_POLICY_VERSION = 1;

/** One layer: weights row-major [out, in] (one row per output unit), then the biases. */
export interface PpoPolicyLayer {
  weights: number[];
  bias: number[];
}

/** The native JSON of a {@link PpoPolicy}. */
export interface PpoPolicyJson {
  format: typeof PPO_POLICY_FORMAT;
  version: number;
  observation_size: number;
  action_count: number;
  /** Widths of the tanh hidden layers. */
  hidden_sizes: number[];
  activation: 'tanh';
  /** hidden_sizes.length + 1 layers; the last gives the action logits. */
  layers: PpoPolicyLayer[];
}

const policySchema = z.strictObject({
  format: z.literal(PPO_POLICY_FORMAT),
  version: z.literal(PPO_POLICY_VERSION),
  observation_size: z.number().int().min(1),
  action_count: z.number().int().min(2),
  hidden_sizes: z.array(z.number().int().min(1)).min(1),
  activation: z.literal('tanh'),
  layers: z.array(z.strictObject({ weights: z.array(z.number()), bias: z.array(z.number()) })),
});

const f32 = Math.fround;

/**
 * A trained discrete-action policy: observation → tanh MLP → action logits → softmax.
 * Its weights are float32 values and it rounds each observation to float32, as the ONNX
 * graph does ({@link exportPolicyOnnx}); the arithmetic is float64, so onnxruntime's
 * probabilities differ from these only by float32 rounding along the way.
 * The greedy action is the first action of highest logit.
 */
export class PpoPolicy {
  readonly observationSize: number;
  readonly actionCount: number;
  readonly hiddenSizes: readonly number[];
  private readonly net: Mlp;
  private input = new Float64Array(0);

  /** A policy with these layers (weights rounded to float32). */
  constructor(init: { observationSize: number; actionCount: number; hiddenSizes: readonly number[]; layers: readonly PpoPolicyLayer[] }) {
    const sizes = [init.observationSize, ...init.hiddenSizes, init.actionCount];
    if (sizes.some((s) => !Number.isInteger(s) || s < 1) || init.actionCount < 2 || init.hiddenSizes.length < 1) {
      throw new DataError('MODEL_INVALID', `a PPO policy needs an observation size, at least one hidden layer and at least 2 actions; got sizes [${sizes.join(', ')}]`);
    }
    if (init.layers.length !== sizes.length - 1) throw new DataError('MODEL_INVALID', `a PPO policy of sizes [${sizes.join(', ')}] has ${sizes.length - 1} layers; got ${init.layers.length}`);
    const net = new Mlp(sizes);
    init.layers.forEach((layer, l) => {
      const nIn = sizes[l];
      const nOut = sizes[l + 1];
      if (layer.weights.length !== nIn * nOut) throw new DataError('MODEL_INVALID', `PPO policy field layers.${l}.weights: expected ${nOut}×${nIn} = ${nIn * nOut} values; got ${layer.weights.length}`);
      if (layer.bias.length !== nOut) throw new DataError('MODEL_INVALID', `PPO policy field layers.${l}.bias: expected ${nOut} values; got ${layer.bias.length}`);
      const wo = net.weightOffsets[l];
      const bo = net.biasOffsets[l];
      for (let k = 0; k < layer.weights.length; k++) net.params[wo + k] = f32(layer.weights[k]);
      for (let k = 0; k < nOut; k++) net.params[bo + k] = f32(layer.bias[k]);
    });
    for (let k = 0; k < net.params.length; k++) {
      if (!Number.isFinite(net.params[k])) throw new DataError('MODEL_INVALID', `a PPO policy's weights must be finite (as float32); parameter ${k} is ${net.params[k]}`);
    }
    this.observationSize = init.observationSize;
    this.actionCount = init.actionCount;
    this.hiddenSizes = [...init.hiddenSizes];
    this.net = net;
  }

  /** The policy of a trained network (sizes [observations, …hidden, actions]). */
  static fromNetwork(net: Mlp): PpoPolicy {
    const s = net.sizes;
    const layers: PpoPolicyLayer[] = [];
    for (let l = 0; l + 1 < s.length; l++) {
      const wo = net.weightOffsets[l];
      const bo = net.biasOffsets[l];
      layers.push({ weights: Array.from(net.params.subarray(wo, wo + s[l] * s[l + 1])), bias: Array.from(net.params.subarray(bo, bo + s[l + 1])) });
    }
    return new PpoPolicy({ observationSize: s[0], actionCount: s[s.length - 1], hiddenSizes: s.slice(1, -1), layers });
  }

  /** The layers, weights row-major [out, in]. */
  get layers(): PpoPolicyLayer[] {
    const s = this.net.sizes;
    const p = this.net.params;
    const out: PpoPolicyLayer[] = [];
    for (let l = 0; l + 1 < s.length; l++) {
      const wo = this.net.weightOffsets[l];
      const bo = this.net.biasOffsets[l];
      out.push({ weights: Array.from(p.subarray(wo, wo + s[l] * s[l + 1])), bias: Array.from(p.subarray(bo, bo + s[l + 1])) });
    }
    return out;
  }

  /** Logits of `rows` observations (row-major [rows, observationSize]); a view valid until the next call. */
  private logits(observations: ArrayLike<number>, rows: number): Float64Array {
    const O = this.observationSize;
    if (observations.length !== rows * O) throw new DataError('MATRIX_SHAPE', `${rows} observations of ${O} values need ${rows * O} values; got ${observations.length}`);
    if (this.input.length < rows * O) this.input = new Float64Array(rows * O);
    const x = this.input;
    for (let k = 0; k < rows * O; k++) x[k] = f32(observations[k]);
    return this.net.forward(x, rows);
  }

  /** Action probabilities of `rows` observations: row-major [rows, actionCount]. */
  actionProbabilitiesBatch(observations: ArrayLike<number>, rows: number): Float64Array {
    const z = this.logits(observations, rows);
    const A = this.actionCount;
    const out = new Float64Array(rows * A);
    for (let i = 0; i < rows; i++) softmaxRow(z, i * A, A, out);
    return out;
  }

  /** Greedy (most probable) actions of `rows` observations. */
  greedyActions(observations: ArrayLike<number>, rows: number): Int32Array {
    const z = this.logits(observations, rows);
    const A = this.actionCount;
    const out = new Int32Array(rows);
    for (let i = 0; i < rows; i++) out[i] = argmaxRow(z, i * A, A);
    return out;
  }

  /** Action probabilities of one observation. */
  actionProbabilities(observation: ArrayLike<number>): Float64Array {
    return this.actionProbabilitiesBatch(observation, 1);
  }

  /** The greedy action of one observation. */
  greedyAction(observation: ArrayLike<number>): number {
    const z = this.logits(observation, 1);
    return argmaxRow(z, 0, this.actionCount);
  }

  toJson(): PpoPolicyJson {
    return {
      format: PPO_POLICY_FORMAT,
      version: PPO_POLICY_VERSION,
      observation_size: this.observationSize,
      action_count: this.actionCount,
      hidden_sizes: [...this.hiddenSizes],
      activation: 'tanh',
      layers: this.layers,
    };
  }

  /** The native JSON; {@link PpoPolicy.parse} gives back the same policy, bit for bit. */
  serialize(): string {
    return JSON.stringify(this.toJson());
  }

  /** Parses and validates a policy's JSON; errors name the field. */
  static parse(json: string): PpoPolicy {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch (e) {
      throw new DataError('MODEL_INVALID', `PPO policy is not JSON: ${(e as Error).message}`);
    }
    const r = policySchema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new DataError('MODEL_INVALID', `PPO policy field ${i.path.join('.') || '(root)'}: ${i.message}`);
    }
    const j = r.data;
    return new PpoPolicy({ observationSize: j.observation_size, actionCount: j.action_count, hiddenSizes: j.hidden_sizes, layers: j.layers });
  }
}

/** Softmax of z[at … at + n) into out[at …], shifted by the maximum so exp cannot overflow. */
export function softmaxRow(z: ArrayLike<number>, at: number, n: number, out: Float64Array): void {
  let max = -Infinity;
  for (let k = 0; k < n; k++) if (z[at + k] > max) max = z[at + k];
  let sum = 0;
  for (let k = 0; k < n; k++) {
    const e = exp(z[at + k] - max);
    out[at + k] = e;
    sum += e;
  }
  for (let k = 0; k < n; k++) out[at + k] /= sum;
}

/** Index of the first maximum of z[at … at + n) (ONNX ArgMax's `select_last_index = 0`). */
export function argmaxRow(z: ArrayLike<number>, at: number, n: number): number {
  let best = 0;
  for (let k = 1; k < n; k++) if (z[at + k] > z[at + best]) best = k;
  return best;
}
