import { z } from 'zod';
import { DataError } from '@engine/shared';
import { PPO_POLICY_FORMAT, PPO_POLICY_VERSION, PpoPolicy } from './policy';

/** Identifies a trading agent's native JSON (`model.json` of a `ppo` bundle). */
export const PPO_AGENT_FORMAT = 'engine-ppo-agent';
export const PPO_AGENT_VERSION = 1;

/** The agent's actions, in the policy's output order. */
export const ACTION_HOLD = 0;
export const ACTION_BUY = 1;
export const ACTION_SELL = 2;
export const ACTION_NAMES = ['hold', 'buy', 'sell'] as const;
export type ActionName = (typeof ACTION_NAMES)[number];

/** Position-state inputs appended after the features, in order. */
export const POSITION_INPUTS = ['position_long', 'bars_held_per_horizon', 'unrealised_bps_per_100'] as const;

/** Standardised features and the unrealised-P&L input are clipped to ±this. */
export const OBSERVATION_CLIP = 5;

/** What the agent knows about its position at a decision (flat: all zero). */
export interface PositionState {
  long: boolean;
  /** Bars since the signal bar (1 at the first decision after an entry). */
  barsHeld: number;
  /** (close / entry − 1) · 1e4 at the decision bar's close, gross of costs. */
  unrealisedBps: number;
}

export const FLAT: Readonly<PositionState> = Object.freeze({ long: false, barsHeld: 0, unrealisedBps: 0 });

/** The agent's native JSON. */
export interface PpoAgentJson {
  format: typeof PPO_AGENT_FORMAT;
  version: number;
  feature_names: string[];
  /** Training-window mean and population sd of each feature's non-missing values (sd 0: the feature is ignored). */
  feature_means: number[];
  feature_scales: number[];
  /** The label horizon the bars-held input is divided by. */
  horizon_minutes: number;
  position_inputs: string[];
  actions: string[];
  policy: unknown;
}

const agentSchema = z.strictObject({
  format: z.literal(PPO_AGENT_FORMAT),
  version: z.literal(PPO_AGENT_VERSION),
  feature_names: z.array(z.string()).min(1),
  feature_means: z.array(z.number()),
  feature_scales: z.array(z.number().min(0)),
  horizon_minutes: z.number().int().min(1),
  position_inputs: z.array(z.string()),
  actions: z.array(z.string()),
  policy: z.looseObject({ format: z.literal(PPO_POLICY_FORMAT), version: z.literal(PPO_POLICY_VERSION) }),
});

/**
 * Builds observations: the model's features (standardised with training statistics,
 * missing → 0, clipped to ±5) and the position state ({@link POSITION_INPUTS}). The training
 * environment and the live trader both use it, so they feed the policy the same numbers.
 */
export class ObservationBuilder {
  readonly featureNames: readonly string[];
  readonly means: Float64Array;
  readonly scales: Float64Array;
  /** 1/sd per feature (0 for a feature constant or missing in training: it contributes 0). */
  readonly invScales: Float64Array;
  readonly horizonMinutes: number;

  constructor(init: { featureNames: readonly string[]; means: ArrayLike<number>; scales: ArrayLike<number>; horizonMinutes: number }) {
    const F = init.featureNames.length;
    if (init.means.length !== F || init.scales.length !== F) throw new DataError('MODEL_INVALID', `a PPO agent needs one mean and one scale per feature (${F}); got ${init.means.length} and ${init.scales.length}`);
    if (!(Number.isInteger(init.horizonMinutes) && init.horizonMinutes >= 1)) throw new DataError('MODEL_INVALID', `horizon_minutes must be an integer ≥ 1; got ${init.horizonMinutes}`);
    this.featureNames = [...init.featureNames];
    this.means = Float64Array.from(init.means);
    this.scales = Float64Array.from(init.scales);
    for (let k = 0; k < F; k++) {
      if (!Number.isFinite(this.means[k]!) || !(this.scales[k]! >= 0) || !Number.isFinite(this.scales[k]!)) {
        throw new DataError('MODEL_INVALID', `PPO agent feature ${init.featureNames[k]}: mean ${this.means[k]} and scale ${this.scales[k]} must be finite, the scale ≥ 0`);
      }
    }
    this.invScales = Float64Array.from(this.scales, (s) => (s > 0 ? 1 / s : 0));
    this.horizonMinutes = init.horizonMinutes;
  }

  get observationSize(): number {
    return this.featureNames.length + POSITION_INPUTS.length;
  }

  /** Write the observation of a feature row (in `featureNames` order) and a position into `out` (a new array by default). */
  observe(features: ArrayLike<number>, position: PositionState, out: Float64Array = new Float64Array(this.observationSize)): Float64Array {
    const F = this.featureNames.length;
    const m = this.means;
    const inv = this.invScales;
    for (let k = 0; k < F; k++) {
      const x = features[k]!;
      const z = x === x ? (x - m[k]!) * inv[k]! : 0;
      out[k] = z > OBSERVATION_CLIP ? OBSERVATION_CLIP : z < -OBSERVATION_CLIP ? -OBSERVATION_CLIP : z;
    }
    out[F] = position.long ? 1 : 0;
    out[F + 1] = position.long ? position.barsHeld / this.horizonMinutes : 0;
    const u = position.long && Number.isFinite(position.unrealisedBps) ? position.unrealisedBps / 100 : 0;
    out[F + 2] = u > OBSERVATION_CLIP ? OBSERVATION_CLIP : u < -OBSERVATION_CLIP ? -OBSERVATION_CLIP : u;
    return out;
  }
}

/**
 * A trading agent: a PPO policy over the observations of an {@link ObservationBuilder}.
 */
export class PpoAgent extends ObservationBuilder {
  readonly policy: PpoPolicy;
  private readonly obs: Float64Array;

  constructor(init: { featureNames: readonly string[]; means: ArrayLike<number>; scales: ArrayLike<number>; horizonMinutes: number; policy: PpoPolicy }) {
    super(init);
    const F = init.featureNames.length;
    if (init.policy.observationSize !== F + POSITION_INPUTS.length) {
      throw new DataError('MODEL_INVALID', `a PPO agent over ${F} features needs a policy of ${F + POSITION_INPUTS.length} inputs; got ${init.policy.observationSize}`);
    }
    if (init.policy.actionCount !== ACTION_NAMES.length) throw new DataError('MODEL_INVALID', `a PPO agent's policy has ${ACTION_NAMES.length} actions (${ACTION_NAMES.join(', ')}); got ${init.policy.actionCount}`);
    this.policy = init.policy;
    this.obs = new Float64Array(this.observationSize);
  }

  get nFeatures(): number {
    return this.featureNames.length;
  }

  /** The greedy action for a feature row and position. */
  act(features: ArrayLike<number>, position: PositionState): number {
    return this.policy.greedyAction(this.observe(features, position, this.obs));
  }

  /** Action probabilities (hold, buy, sell) for a feature row and position. */
  probabilities(features: ArrayLike<number>, position: PositionState): Float64Array {
    return this.policy.actionProbabilities(this.observe(features, position, this.obs));
  }

  toJson(): PpoAgentJson {
    return {
      format: PPO_AGENT_FORMAT,
      version: PPO_AGENT_VERSION,
      feature_names: [...this.featureNames],
      feature_means: Array.from(this.means),
      feature_scales: Array.from(this.scales),
      horizon_minutes: this.horizonMinutes,
      position_inputs: [...POSITION_INPUTS],
      actions: [...ACTION_NAMES],
      policy: this.policy.toJson(),
    };
  }

  serialize(): string {
    return JSON.stringify(this.toJson());
  }

  /** Parses and validates an agent's JSON; errors name the field. */
  static parse(json: string): PpoAgent {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch (e) {
      throw new DataError('MODEL_INVALID', `PPO agent is not JSON: ${(e as Error).message}`);
    }
    const r = agentSchema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new DataError('MODEL_INVALID', `PPO agent field ${i.path.join('.') || '(root)'}: ${i.message}`);
    }
    const j = r.data;
    if (j.position_inputs.join(',') !== POSITION_INPUTS.join(',')) throw new DataError('MODEL_INVALID', `PPO agent field position_inputs: expected [${POSITION_INPUTS.join(', ')}]; got [${j.position_inputs.join(', ')}]`);
    if (j.actions.join(',') !== ACTION_NAMES.join(',')) throw new DataError('MODEL_INVALID', `PPO agent field actions: expected [${ACTION_NAMES.join(', ')}]; got [${j.actions.join(', ')}]`);
    const policy = PpoPolicy.parse(JSON.stringify(j.policy));
    return new PpoAgent({ featureNames: j.feature_names, means: j.feature_means, scales: j.feature_scales, horizonMinutes: j.horizon_minutes, policy });
  }

  /** Whether `json` claims to be an agent (by its format field), without validating it. */
  static isAgentJson(json: string): boolean {
    return /^\s*\{\s*"format"\s*:\s*"engine-ppo-agent"/.test(json);
  }
}

/** Training statistics of the feature columns over `rows`: mean and population sd of the non-missing values. */
export function featureStandardiser(columns: readonly ArrayLike<number>[], rows: ArrayLike<number>): { means: Float64Array; scales: Float64Array } {
  const F = columns.length;
  const means = new Float64Array(F);
  const scales = new Float64Array(F);
  for (let k = 0; k < F; k++) {
    const c = columns[k]!;
    let n = 0;
    let mean = 0;
    let m2 = 0;
    for (let r = 0; r < rows.length; r++) {
      const x = c[rows[r]!]!;
      if (!Number.isFinite(x)) continue;
      n++;
      const d = x - mean;
      mean += d / n;
      m2 += d * (x - mean);
    }
    means[k] = n > 0 ? mean : 0;
    scales[k] = n > 1 ? Math.sqrt(m2 / n) : 0;
  }
  return { means, scales };
}
