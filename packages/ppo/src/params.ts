import { z } from 'zod';
import { ConfigError } from '@engine/shared';

/** How a rate changes over training: `constant`, or `linear` from its value at the start to 0 at `totalSteps`. */
export type PpoSchedule = 'constant' | 'linear';

/**
 * PPO's hyperparameters. Every field has a default ({@link DEFAULT_PPO_PARAMS}): those of
 * Stable-Baselines3's `PPO` with its `MlpPolicy` (separate 2×64 tanh policy and value
 * networks), so a default run is the one the literature's numbers describe.
 */
export interface PpoParams {
  /** Environment copies stepped side by side; a rollout is nSteps × nEnvs transitions. Default 1. */
  nEnvs: number;
  /** Steps per environment copy in each rollout. Default 2048. */
  nSteps: number;
  /** Minibatch size; the last minibatch of an epoch may be smaller. Default 64. */
  batchSize: number;
  /** Passes over each rollout. Default 10. */
  nEpochs: number;
  /** Adam's step size at the start of training. Default 3e-4. */
  learningRate: number;
  /** Default `constant`. */
  learningRateSchedule: PpoSchedule;
  /** The policy ratio is clipped to [1 − clipRange, 1 + clipRange]. Default 0.2. */
  clipRange: number;
  /** Default `constant`. */
  clipRangeSchedule: PpoSchedule;
  /**
   * When set, the value prediction is kept within this distance of the rollout's value
   * (Stable-Baselines3's `clip_range_vf`: no gradient flows where it is clipped). null = off. Default null.
   */
  clipRangeValue: number | null;
  /** Discount. Default 0.99. */
  gamma: number;
  /** Generalised advantage estimation's λ. Default 0.95. */
  gaeLambda: number;
  /** Standardise the advantages within each minibatch. Default true. */
  normalizeAdvantage: boolean;
  /** Weight of the entropy bonus. Default 0. */
  entCoef: number;
  /** Weight of the value loss. Default 0.5. */
  vfCoef: number;
  /** Global gradient-norm clip over both networks; null = off. Default 0.5. */
  maxGradNorm: number | null;
  /** Adam's ε. Default 1e-5. */
  adamEpsilon: number;
  /** Hidden layer widths of the policy network (tanh). Default [64, 64]. */
  policyHiddenSizes: number[];
  /** Hidden layer widths of the value network (tanh). Default [64, 64]. */
  valueHiddenSizes: number[];
}

export const DEFAULT_PPO_PARAMS: Readonly<PpoParams> = Object.freeze({
  nEnvs: 1,
  nSteps: 2048,
  batchSize: 64,
  nEpochs: 10,
  learningRate: 3e-4,
  learningRateSchedule: 'constant',
  clipRange: 0.2,
  clipRangeSchedule: 'constant',
  clipRangeValue: null,
  gamma: 0.99,
  gaeLambda: 0.95,
  normalizeAdvantage: true,
  entCoef: 0,
  vfCoef: 0.5,
  maxGradNorm: 0.5,
  adamEpsilon: 1e-5,
  policyHiddenSizes: Object.freeze([64, 64]) as unknown as number[],
  valueHiddenSizes: Object.freeze([64, 64]) as unknown as number[],
});

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const schedule = z.enum(['constant', 'linear']);
const hidden = z.array(z.number().int().min(1).max(4096)).min(1).max(8);

/** Every parameter's rule, once. */
export const ppoParamsSchema = z
  .strictObject({
    nEnvs: z.number().int().min(1).max(4096),
    nSteps: z.number().int().min(1),
    batchSize: z.number().int().min(1),
    nEpochs: z.number().int().min(1),
    learningRate: z.number().gt(0).max(1),
    learningRateSchedule: schedule,
    clipRange: z.number().gt(0).max(1),
    clipRangeSchedule: schedule,
    clipRangeValue: z.number().gt(0).nullable(),
    gamma: z.number().min(0).max(1),
    gaeLambda: z.number().min(0).max(1),
    normalizeAdvantage: z.boolean(),
    entCoef: z.number().min(0),
    vfCoef: z.number().min(0),
    maxGradNorm: z.number().gt(0).nullable(),
    adamEpsilon: z.number().gt(0),
    policyHiddenSizes: hidden,
    valueHiddenSizes: hidden,
  })
  .refine((p) => p.batchSize <= p.nSteps * p.nEnvs, { message: 'must be at most the rollout size nSteps × nEnvs', path: ['batchSize'] });
const paramsInStep: Equal<z.infer<typeof ppoParamsSchema>, PpoParams> = true;
void paramsInStep;

/** Fills defaults and validates every parameter; throws {@link ConfigError} naming the bad one. */
export function resolvePpoParams(p: Partial<PpoParams> = {}): PpoParams {
  const r: PpoParams = { ...DEFAULT_PPO_PARAMS, ...p };
  const checked = ppoParamsSchema.safeParse(r);
  if (!checked.success) {
    const i = checked.error.issues[0]!;
    if (i.code === 'unrecognized_keys') {
      throw new ConfigError(`unknown PPO parameter ${i.keys.map((k) => `'${k}'`).join(', ')} (known: ${Object.keys(DEFAULT_PPO_PARAMS).join(', ')})`, { param: i.keys[0] });
    }
    const name = String(i.path[0] ?? '?');
    const value = (r as unknown as Record<string, unknown>)[name];
    throw new ConfigError(`PPO parameter ${i.path.join('.') || name}: ${i.message}; got ${JSON.stringify(value)}`, { param: name, value });
  }
  return { ...r, policyHiddenSizes: [...r.policyHiddenSizes], valueHiddenSizes: [...r.valueHiddenSizes] };
}
