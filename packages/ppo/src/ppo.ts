import { ConfigError, DataError, deriveSeed, Mulberry32 } from '@engine/shared';
import { Adam } from './adam';
import { Mlp } from './mlp';
import { policyLoss, valueLoss, type Minibatch } from './objective';
import { resolvePpoParams, type PpoParams } from './params';
import { PpoPolicy } from './policy';
import { RolloutPool } from './rollout-pool';

// Math's functions in module constants: under a vm context (jest) every global lookup in a
// hot loop goes through the context's interceptor (4× slower forward passes); elsewhere free.
const { exp, log } = Math;

/** What one step of an environment returns. */
export interface EnvStep {
  /** The observation after the step (at the end of an episode: its last state, before any reset). */
  observation: Float64Array;
  reward: number;
  /** The episode reached a terminal state: nothing follows, its value is 0 (Gymnasium's `terminated`). */
  done: boolean;
  /**
   * The episode was cut short (a time limit) in a state that is not terminal: its return is
   * bootstrapped with the value of `observation`. Ignored when `done` is also true.
   */
  truncated: boolean;
}

/**
 * A discrete-action environment. The trainer calls `reset` at the start of every episode
 * with the same random stream for one environment copy (a stochastic environment may keep
 * it and draw from it in `step`), and never steps an episode that has ended.
 */
export interface Env {
  readonly observationSize: number;
  readonly actionCount: number;
  reset(rng: Mulberry32): Float64Array;
  step(action: number): EnvStep;
}

/**
 * Makes environment copy `index` (0 … nEnvs − 1). Copies must not share state: each is
 * stepped on its own, and a later, parallel trainer will build them in worker threads.
 */
export type EnvFactory = (index: number) => Env;

/** One report after each update. */
export interface PpoProgress {
  /** Environment steps so far (over all copies). */
  steps: number;
  /** The steps training will take: whole rollouts, at most `totalSteps`. */
  totalSteps: number;
  /** Updates (rollout + epochs) so far. */
  updates: number;
  /** Episodes finished so far. */
  episodes: number;
  /** Mean return of the last (up to) 100 finished episodes; NaN before the first. */
  meanReturn100: number;
  /** Learning rate and clip range of this update. */
  learningRate: number;
  clipRange: number;
  /** Means over this update's minibatches. */
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  /** Mean of (r − 1) − log r over the minibatches' samples, as Stable-Baselines3 reports it. */
  approxKl: number;
  /** Share of samples whose ratio was clipped. */
  clipFraction: number;
  /** A copy of the policy after this update, for evaluation or checkpoints: call it inside the callback. */
  policy(): PpoPolicy;
}

/** Runtime options: the seed, the budget, progress and cancellation. */
export interface PpoTrainOptions {
  /** Seed of every random choice (initial weights, resets, actions, minibatches). */
  seed: number;
  /** Environment steps to take over all copies; training runs whole rollouts of nSteps × nEnvs, as many as fit. */
  totalSteps: number;
  /** Called after each update. */
  onProgress?: (p: PpoProgress) => void;
  /** Checked after each update; an aborted run rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Start from these networks' parameters (a warm start: e.g. an agent trained on earlier
   * data, fine-tuned here) instead of the seeded orthogonal initialisation; the layouts must
   * match the parameters' hidden sizes.
   */
  init?: { policy: ArrayLike<number>; value: ArrayLike<number> };
  /**
   * Step the environment copies on worker threads: `threads` workers, each holding a
   * contiguous slice of the copies, built in the worker by `require(module)[exportName](args)`
   * (an {@link EnvFactory}; functions cannot cross threads, so the factory is named by module,
   * and `args` must be structured-cloneable: shared arrays stay shared). It must build the same
   * environments as `envFactory` (which still gives the sizes). Each copy keeps its own random
   * streams and every row's network output is independent of its batch, so the weights are the
   * same bit for bit as in-process. `threads` ≤ 1: in-process.
   */
  rollout?: { threads: number; module: string; exportName: string; args?: unknown };
}

/** Every finished episode, in the order they ended (columns). */
export interface PpoCurve {
  /** Environment steps (over all copies) when the episode ended. */
  endStep: number[];
  /** Undiscounted return. */
  episodeReturn: number[];
  /** Steps in the episode. */
  episodeLength: number[];
}

/** What training gives back. */
export interface PpoResult {
  policy: PpoPolicy;
  /** The policy network as trained (float64; `policy` holds its float32 rounding): a warm start's input. */
  policyNetwork: Mlp;
  /** The value network (observation → one value), float64. */
  valueNetwork: Mlp;
  curve: PpoCurve;
  params: PpoParams;
  steps: number;
  updates: number;
}

/** Seed streams, so every random choice has its own sequence. */
const STREAM = { policyInit: 0, valueInit: 1, minibatch: 2, env: 1000 } as const;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The rollout buffer, time-major: sample k = t · nEnvs + e. Preallocated once.
 */
export interface Rollout {
  obs: Float64Array;
  actions: Int32Array;
  rewards: Float64Array;
  /** 1 when the sample's observation starts an episode. */
  episodeStarts: Uint8Array;
  values: Float64Array;
  logProbs: Float64Array;
  advantages: Float64Array;
  returns: Float64Array;
}

/**
 * The state of the environment copies between rollouts: each copy keeps its own reset and
 * action streams, so its trajectory depends only on the seed, its index and the networks,
 * never on which copies are stepped beside it. That is what lets a later version step
 * slices of the copies in worker threads and still give the same weights bit for bit.
 */
export interface EnvSlots {
  envs: Env[];
  /** Each slot's global copy number. */
  index: number[];
  resetRng: Mulberry32[];
  actionRng: Mulberry32[];
  /** Current observations [nEnvs, O]. */
  obs: Float64Array;
  episodeStart: Uint8Array;
  episodeReturn: Float64Array;
  episodeLength: Int32Array;
}

/**
 * Trains a discrete-action policy with proximal policy optimisation (Schulman et al. 2017),
 * as Stable-Baselines3's `PPO` does: rollouts of nSteps from each of nEnvs environment
 * copies; generalised advantage estimation, with a time-limit truncation bootstrapped by
 * adding γ·V(last observation) to its reward; nEpochs passes of shuffled minibatches over
 * the clipped surrogate objective, the squared-error value loss (optionally clipped) and
 * an entropy bonus, one Adam on both networks (separate policy and value MLPs) with a
 * global gradient-norm clip. The same environments, params and seed give the same weights
 * bit for bit. The event loop gets a turn after every update.
 */
export async function trainPpo(envFactory: EnvFactory, params: Partial<PpoParams>, opts: PpoTrainOptions): Promise<PpoResult> {
  const p = resolvePpoParams(params);
  const { seed } = opts;
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new ConfigError(`PPO seed must be an integer in [0, 2^32); got ${seed}`, { param: 'seed', value: seed });
  const E = p.nEnvs;
  const T = p.nSteps;
  const N = T * E;
  if (!(Number.isInteger(opts.totalSteps) && opts.totalSteps >= N)) {
    throw new ConfigError(`PPO totalSteps must be an integer of at least one rollout (nSteps × nEnvs = ${N}); got ${opts.totalSteps}`, { param: 'totalSteps', value: opts.totalSteps });
  }
  opts.signal?.throwIfAborted();
  const nUpdates = Math.floor(opts.totalSteps / N);
  const totalSteps = nUpdates * N;

  const threads = Math.min(opts.rollout?.threads ?? 1, E);
  const slots = threads > 1 ? null : makeSlots(envFactory, range(0, E), seed);
  const probe = slots ? slots.envs[0] : envFactory(0);
  const O = probe.observationSize;
  const A = probe.actionCount;
  const policy = Mlp.orthogonal([O, ...p.policyHiddenSizes, A], new Mulberry32(deriveSeed(seed, STREAM.policyInit)), Math.SQRT2, 0.01);
  const value = Mlp.orthogonal([O, ...p.valueHiddenSizes, 1], new Mulberry32(deriveSeed(seed, STREAM.valueInit)), Math.SQRT2, 1);
  if (opts.init) {
    if (opts.init.policy.length !== policy.params.length || opts.init.value.length !== value.params.length) {
      throw new ConfigError(`PPO warm start: the networks have ${policy.params.length} policy and ${value.params.length} value parameters; got ${opts.init.policy.length} and ${opts.init.value.length}`);
    }
    policy.params.set(opts.init.policy);
    value.params.set(opts.init.value);
  }
  const adam = new Adam([policy.params, value.params], { epsilon: p.adamEpsilon, maxGradNorm: p.maxGradNorm });
  const minibatchRng = new Mulberry32(deriveSeed(seed, STREAM.minibatch));

  const roll = allocRollout(N, O, true);
  const curve: PpoCurve = { endStep: [], episodeReturn: [], episodeLength: [] };
  const learner = new Learner(policy, value, adam, p, roll, O, A);
  let steps = 0;
  const pool = threads > 1 ? RolloutPool.start(opts.rollout!, threads, { seed, nEnvs: E, nSteps: T, gamma: p.gamma, policySizes: [O, ...p.policyHiddenSizes, A], valueSizes: [O, ...p.valueHiddenSizes, 1] }) : null;
  try {
    for (let u = 0; u < nUpdates; u++) {
      // the share of training still to come when this update's rollout starts (Stable-Baselines3
      // takes it after the rollout, so its last update has a rate of 0)
      const remaining = 1 - steps / totalSteps;
      const lr = p.learningRateSchedule === 'linear' ? p.learningRate * remaining : p.learningRate;
      const clip = p.clipRangeSchedule === 'linear' ? p.clipRange * remaining : p.clipRange;
      const { lastValues, lastEpisodeStart } = pool ? await pool.collect(policy, value, roll, steps, curve) : collectRollout(slots!, policy, value, roll, p, steps, curve, E);
      steps += N;
      computeAdvantages(roll, lastValues, lastEpisodeStart, p, E);
      const stats = learner.update(lr, clip, minibatchRng);
      const n = curve.episodeReturn.length;
      let mean = NaN;
      if (n > 0) {
        mean = 0;
        for (let k = Math.max(0, n - 100); k < n; k++) mean += curve.episodeReturn[k];
        mean /= Math.min(100, n);
      }
      opts.onProgress?.({ steps, totalSteps, updates: u + 1, episodes: n, meanReturn100: mean, learningRate: lr, clipRange: clip, ...stats, policy: () => PpoPolicy.fromNetwork(policy) });
      await yieldToEventLoop();
      opts.signal?.throwIfAborted();
    }
  } finally {
    await pool?.close();
  }
  return { policy: PpoPolicy.fromNetwork(policy), policyNetwork: policy, valueNetwork: value, curve, params: p, steps, updates: nUpdates };
}

/** A rollout buffer of N samples of O observations (`withTargets`: also the advantages and returns the update needs). */
export function allocRollout(N: number, O: number, withTargets: boolean): Rollout {
  const M = withTargets ? N : 0;
  return {
    obs: new Float64Array(N * O),
    actions: new Int32Array(N),
    rewards: new Float64Array(N),
    episodeStarts: new Uint8Array(N),
    values: new Float64Array(N),
    logProbs: new Float64Array(N),
    advantages: new Float64Array(M),
    returns: new Float64Array(M),
  };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);

/** The copies `indices` (global copy numbers: each copy's random streams derive from its own). */
export function makeSlots(envFactory: EnvFactory, indices: readonly number[], seed: number): EnvSlots {
  const E = indices.length;
  const envs = indices.map((e) => envFactory(e));
  const O = envs[0].observationSize;
  const A = envs[0].actionCount;
  if (!(Number.isInteger(O) && O >= 1)) throw new DataError('ENV_INVALID', `an environment's observationSize must be a positive integer; got ${O}`);
  if (!(Number.isInteger(A) && A >= 2)) throw new DataError('ENV_INVALID', `an environment's actionCount must be an integer ≥ 2; got ${A}`);
  envs.forEach((env, e) => {
    if (env.observationSize !== O || env.actionCount !== A) {
      throw new DataError('ENV_INVALID', `environment copy ${e} has ${env.observationSize} observations and ${env.actionCount} actions; copy 0 has ${O} and ${A}`);
    }
  });
  const slots: EnvSlots = {
    envs,
    index: [...indices],
    resetRng: indices.map((e) => new Mulberry32(deriveSeed(seed, STREAM.env + 2 * e))),
    actionRng: indices.map((e) => new Mulberry32(deriveSeed(seed, STREAM.env + 2 * e + 1))),
    obs: new Float64Array(E * O),
    episodeStart: new Uint8Array(E).fill(1),
    episodeReturn: new Float64Array(E),
    episodeLength: new Int32Array(E),
  };
  for (let e = 0; e < E; e++) slots.obs.set(checkObservation(envs[e].reset(slots.resetRng[e]), O, e, 'reset'), e * O);
  return slots;
}

function checkObservation(obs: Float64Array, O: number, e: number, where: string): Float64Array {
  if (obs.length !== O) throw new DataError('ENV_INVALID', `environment copy ${e} ${where} returned ${obs.length} observation values; expected ${O}`);
  for (let k = 0; k < O; k++) {
    if (!Number.isFinite(obs[k])) throw new DataError('ENV_INVALID', `environment copy ${e} ${where} returned a non-finite observation value ${obs[k]} at index ${k}`);
  }
  return obs;
}

/**
 * Steps every copy nSteps times with actions sampled from the policy, filling the rollout;
 * returns the values of the observations after the last step (for GAE's bootstrap).
 */
export function collectRollout(
  slots: EnvSlots,
  policy: Mlp,
  value: Mlp,
  roll: Rollout,
  p: Pick<PpoParams, 'nSteps' | 'gamma'>,
  stepsBefore: number,
  curve: PpoCurve,
  /** Copies in the whole run (the rollout's step numbers count them all). */
  totalEnvs: number,
): { lastValues: Float64Array; lastEpisodeStart: Uint8Array } {
  const E = slots.envs.length;
  const O = policy.inputSize;
  const A = policy.outputSize;
  const probs = new Float64Array(A);
  const one = new Float64Array(O);
  for (let t = 0; t < p.nSteps; t++) {
    const logits = policy.forward(slots.obs, E);
    const values = value.forward(slots.obs, E);
    for (let e = 0; e < E; e++) {
      const k = t * E + e;
      roll.obs.set(slots.obs.subarray(e * O, (e + 1) * O), k * O);
      roll.values[k] = values[e];
      roll.episodeStarts[k] = slots.episodeStart[e];
      // sample from the softmax with this copy's own stream
      let max = -Infinity;
      for (let a = 0; a < A; a++) if (logits[e * A + a] > max) max = logits[e * A + a];
      let sum = 0;
      for (let a = 0; a < A; a++) {
        probs[a] = exp(logits[e * A + a] - max);
        sum += probs[a];
      }
      const u = slots.actionRng[e].next() * sum;
      let action = A - 1;
      let acc = 0;
      for (let a = 0; a < A - 1; a++) {
        acc += probs[a];
        if (u < acc) {
          action = a;
          break;
        }
      }
      roll.actions[k] = action;
      roll.logProbs[k] = logits[e * A + action] - max - log(sum);
    }
    // step after every sample is drawn: forward's buffers are reused by the bootstraps below
    for (let e = 0; e < E; e++) {
      const k = t * E + e;
      const r = slots.envs[e].step(roll.actions[k]);
      if (!Number.isFinite(r.reward)) throw new DataError('ENV_INVALID', `environment copy ${e} returned a non-finite reward ${r.reward}`);
      const next = checkObservation(r.observation, O, e, 'step');
      let reward = r.reward;
      slots.episodeReturn[e] += r.reward;
      slots.episodeLength[e]++;
      if (r.done || r.truncated) {
        if (!r.done) {
          // a time limit is not a terminal state: bootstrap with the value of where it stopped
          one.set(next);
          reward += p.gamma * value.forward(one, 1)[0];
        }
        curve.endStep.push(stepsBefore + t * totalEnvs + slots.index[e] + 1);
        curve.episodeReturn.push(slots.episodeReturn[e]);
        curve.episodeLength.push(slots.episodeLength[e]);
        slots.episodeReturn[e] = 0;
        slots.episodeLength[e] = 0;
        slots.obs.set(checkObservation(slots.envs[e].reset(slots.resetRng[e]), O, e, 'reset'), e * O);
        slots.episodeStart[e] = 1;
      } else {
        slots.obs.set(next, e * O);
        slots.episodeStart[e] = 0;
      }
      roll.rewards[k] = reward;
    }
  }
  return { lastValues: Float64Array.from(value.forward(slots.obs, E)), lastEpisodeStart: Uint8Array.from(slots.episodeStart) };
}

/**
 * Generalised advantage estimation, backwards in time per copy: δ = r + γ·V' − V and
 * A = δ + γλ·A', both cut where the next observation starts a new episode; the returns
 * (the value targets) are A + V.
 */
function computeAdvantages(roll: Rollout, lastValues: Float64Array, lastEpisodeStart: Uint8Array, p: PpoParams, E: number): void {
  const T = p.nSteps;
  const { gamma, gaeLambda } = p;
  for (let e = 0; e < E; e++) {
    let gae = 0;
    for (let t = T - 1; t >= 0; t--) {
      const k = t * E + e;
      const last = t === T - 1;
      const nextNonTerminal = 1 - (last ? lastEpisodeStart[e] : roll.episodeStarts[k + E]);
      const nextValue = last ? lastValues[e] : roll.values[k + E];
      const delta = roll.rewards[k] + gamma * nextValue * nextNonTerminal - roll.values[k];
      gae = delta + gamma * gaeLambda * nextNonTerminal * gae;
      roll.advantages[k] = gae;
      roll.returns[k] = gae + roll.values[k];
    }
  }
}

/** The optimisation half of an update: minibatch buffers, allocated once. */
class Learner {
  private readonly order: Int32Array;
  private readonly mb: Minibatch;
  private readonly gLogits: Float64Array;
  private readonly gValue: Float64Array;
  private readonly gradPolicy: Float64Array;
  private readonly gradValue: Float64Array;
  private readonly probs: Float64Array;

  constructor(
    private readonly policy: Mlp,
    private readonly value: Mlp,
    private readonly adam: Adam,
    private readonly p: PpoParams,
    private readonly roll: Rollout,
    private readonly O: number,
    private readonly A: number,
  ) {
    const B = p.batchSize;
    this.order = new Int32Array(p.nSteps * p.nEnvs);
    this.mb = {
      obs: new Float64Array(B * O),
      actions: new Int32Array(B),
      oldLogProbs: new Float64Array(B),
      advantages: new Float64Array(B),
      returns: new Float64Array(B),
      oldValues: new Float64Array(B),
    };
    this.gLogits = new Float64Array(B * A);
    this.gValue = new Float64Array(B);
    this.gradPolicy = new Float64Array(policy.parameterCount);
    this.gradValue = new Float64Array(value.parameterCount);
    this.probs = new Float64Array(A);
  }

  /** nEpochs passes of shuffled minibatches; the means of the losses and diagnostics. */
  update(lr: number, clip: number, rng: Mulberry32): Pick<PpoProgress, 'policyLoss' | 'valueLoss' | 'entropy' | 'approxKl' | 'clipFraction'> {
    const { p, roll, O, A, order, mb } = this;
    const N = order.length;
    let sumPolicy = 0;
    let sumValue = 0;
    let sumEntropy = 0;
    let sumKl = 0;
    let clipped = 0;
    let batches = 0;
    let samples = 0;
    for (let epoch = 0; epoch < p.nEpochs; epoch++) {
      for (let i = 0; i < N; i++) order[i] = i;
      for (let i = N - 1; i > 0; i--) {
        const j = rng.nextInt(i + 1);
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      for (let start = 0; start < N; start += p.batchSize) {
        const B = Math.min(p.batchSize, N - start);
        for (let i = 0; i < B; i++) {
          const k = order[start + i];
          mb.obs.set(roll.obs.subarray(k * O, (k + 1) * O), i * O);
          mb.actions[i] = roll.actions[k];
          mb.oldLogProbs[i] = roll.logProbs[k];
          mb.advantages[i] = roll.advantages[k];
          mb.returns[i] = roll.returns[k];
          mb.oldValues[i] = roll.values[k];
        }
        if (p.normalizeAdvantage && B > 1) standardise(mb.advantages, B);
        const x = mb.obs.subarray(0, B * O);
        const terms = policyLoss(this.policy.forward(x, B), mb, B, A, clip, p.entCoef, this.gLogits, this.probs);
        this.policy.backward(this.gLogits.subarray(0, B * A), B, this.gradPolicy);
        const mse = valueLoss(this.value.forward(x, B), mb, B, p.clipRangeValue, p.vfCoef, this.gValue);
        this.value.backward(this.gValue.subarray(0, B), B, this.gradValue);
        this.adam.step([this.gradPolicy, this.gradValue], lr);
        sumPolicy += terms.surrogate;
        sumValue += mse;
        sumEntropy += terms.entropy;
        sumKl += terms.klSum;
        clipped += terms.clipped;
        samples += B;
        batches++;
      }
    }
    return { policyLoss: sumPolicy / batches, valueLoss: sumValue / batches, entropy: sumEntropy / batches, approxKl: sumKl / samples, clipFraction: clipped / samples };
  }
}

/** (x − mean) / (sd + 1e-8) over the first n values, sd with n − 1 (PyTorch's `std`, as Stable-Baselines3 uses it). */
function standardise(x: Float64Array, n: number): void {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[i] - mean) * (x[i] - mean);
  const sd = Math.sqrt(ss / (n - 1));
  for (let i = 0; i < n; i++) x[i] = (x[i] - mean) / (sd + 1e-8);
}
