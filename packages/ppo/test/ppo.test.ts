import { ConfigError, DataError, Mulberry32 } from '@engine/shared';
import { Mlp, policyLoss, resolvePpoParams, trainPpo, valueLoss, type Env, type EnvStep, type Minibatch } from '../src';
import { CartPole, evaluateGreedy } from './cartpole';

function normal(rng: Mulberry32): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/** A cheap cart-pole setting for unit tests: 4 epochs of minibatches of 64, so 30k steps take seconds. */
const FAST = { nEnvs: 8, nSteps: 32, batchSize: 64, nEpochs: 4, gamma: 0.98, gaeLambda: 0.8, learningRate: 1e-3 } as const;

describe('the PPO objective', () => {
  it('has the gradient its finite differences give, through both networks (clipped ratios, entropy bonus, clipped values)', () => {
    const rng = new Mulberry32(5);
    const O = 3;
    const A = 3;
    const B = 16;
    const policy = Mlp.orthogonal([O, 6, 5, A], rng, Math.SQRT2, 1);
    const value = Mlp.orthogonal([O, 4, 1], rng, Math.SQRT2, 1);
    const mb: Minibatch = {
      obs: Float64Array.from({ length: B * O }, () => normal(rng)),
      actions: Int32Array.from({ length: B }, () => rng.nextInt(A)),
      oldLogProbs: new Float64Array(B),
      advantages: Float64Array.from({ length: B }, () => normal(rng)),
      returns: Float64Array.from({ length: B }, () => 2 * normal(rng)),
      oldValues: new Float64Array(B),
    };
    // old log-probabilities and values away from the current ones, so some ratios and values are clipped
    const z = policy.forward(mb.obs, B);
    for (let i = 0; i < B; i++) {
      let s = 0;
      for (let a = 0; a < A; a++) s += Math.exp(z[i * A + a]);
      mb.oldLogProbs[i] = z[i * A + mb.actions[i]] - Math.log(s) + 0.4 * normal(rng);
    }
    const v0 = value.forward(mb.obs, B);
    for (let i = 0; i < B; i++) mb.oldValues[i] = v0[i] + 0.3 * normal(rng);
    const clip = 0.2;
    const entCoef = 0.05;
    const vfCoef = 0.5;
    const clipValue = 0.25;
    const probs = new Float64Array(A);
    const gz = new Float64Array(B * A);
    const gv = new Float64Array(B);
    const total = (withGrad: boolean): number => {
      const t = policyLoss(policy.forward(mb.obs, B), mb, B, A, clip, entCoef, gz, probs);
      const mse = valueLoss(value.forward(mb.obs, B), mb, B, clipValue, vfCoef, gv);
      if (withGrad) {
        policy.backward(gz, B, gPolicy);
        value.backward(gv, B, gValue);
      }
      return t.surrogate - entCoef * t.entropy + vfCoef * mse;
    };
    const gPolicy = new Float64Array(policy.parameterCount);
    const gValue = new Float64Array(value.parameterCount);
    total(true);
    const terms = policyLoss(policy.forward(mb.obs, B), mb, B, A, clip, entCoef, gz, probs);
    expect(terms.clipped).toBeGreaterThan(0);
    expect(terms.clipped).toBeLessThan(B);

    const h = 1e-6;
    let maxRel = 0;
    for (const [net, grad] of [[policy, gPolicy], [value, gValue]] as const) {
      for (let k = 0; k < net.parameterCount; k++) {
        const keep = net.params[k];
        net.params[k] = keep + h;
        const up = total(false);
        net.params[k] = keep - h;
        const down = total(false);
        net.params[k] = keep;
        const numeric = (up - down) / (2 * h);
        maxRel = Math.max(maxRel, Math.abs(numeric - grad[k]) / Math.max(Math.abs(numeric), Math.abs(grad[k]), 1e-6));
      }
    }
    expect(maxRel).toBeLessThan(1e-5);
  });
});

/** Reward 1 every step, one constant observation, an episode of `length` steps that ends truncated or done. */
class ConstantRewardEnv implements Env {
  readonly observationSize = 1;
  readonly actionCount = 2;
  private t = 0;
  constructor(
    private readonly length: number,
    private readonly ending: 'truncated' | 'done',
  ) {}
  reset(): Float64Array {
    this.t = 0;
    return Float64Array.of(1);
  }
  step(): EnvStep {
    this.t++;
    const end = this.t >= this.length;
    return { observation: Float64Array.of(1), reward: 1, done: end && this.ending === 'done', truncated: end && this.ending === 'truncated' };
  }
}

describe('trainPpo', () => {
  it('bootstraps a time-limit truncation: the value of a state that cannot see the clock is 1/(1 − γ), not the truncated sum', async () => {
    const params = { nEnvs: 4, nSteps: 64, batchSize: 64, nEpochs: 10, gamma: 0.9, gaeLambda: 0.95, learningRate: 3e-3, policyHiddenSizes: [4], valueHiddenSizes: [8] };
    const valueOf = async (ending: 'truncated' | 'done'): Promise<number> => {
      const r = await trainPpo(() => new ConstantRewardEnv(10, ending), params, { seed: 1, totalSteps: 16384 });
      return r.valueNetwork.forward(Float64Array.of(1), 1)[0];
    };
    // truncated: V = 1 + γV = 10; terminated after 10 steps: the mean over the episode of (1 − γ^(10−t))/(1 − γ) ≈ 4.14
    expect(await valueOf('truncated')).toBeCloseTo(10, 0);
    expect(await valueOf('done')).toBeCloseTo(10 - (0.1 * (0.9 * (1 - 0.9 ** 10))) / 0.01, 0);
  });

  it('learns cart-pole: within 30,000 steps the recent episodes last far longer than a random policy’s ~22 steps', async () => {
    const means: number[] = [];
    const r = await trainPpo(() => new CartPole(), FAST, { seed: 1, totalSteps: 30_000, onProgress: (p) => means.push(p.meanReturn100) });
    expect(r.steps).toBe(29_952); // whole rollouts of 32 × 8
    expect(r.curve.endStep.length).toBe(r.curve.episodeReturn.length);
    expect(r.curve.endStep.at(-1)).toBeLessThanOrEqual(r.steps);
    const first = r.curve.episodeReturn.slice(0, 50).reduce((s, v) => s + v, 0) / 50;
    const last = r.curve.episodeReturn.slice(-20).reduce((s, v) => s + v, 0) / 20;
    expect(first).toBeLessThan(40);
    expect(last).toBeGreaterThan(150);
    expect(evaluateGreedy(r.policy, 20, 77)).toBeGreaterThan(150);
    expect(means.length).toBe(r.updates);
  });

  it('gives the same weights, value network and curve bit for bit for a seed, and others for another seed', async () => {
    const run = (seed: number) => trainPpo(() => new CartPole(), { ...FAST, nEpochs: 2 }, { seed, totalSteps: 4096 });
    const [a, b, c] = [await run(3), await run(3), await run(4)];
    expect(a.policy.serialize()).toBe(b.policy.serialize());
    expect(Buffer.from(a.valueNetwork.params.buffer).equals(Buffer.from(b.valueNetwork.params.buffer))).toBe(true);
    expect(a.curve).toEqual(b.curve);
    expect(c.policy.serialize()).not.toBe(a.policy.serialize());
  });

  it('steps the copies on worker threads with the same weights, value network and curve bit for bit', async () => {
    const params = { ...FAST, nEpochs: 2 };
    // the threads build their cart-poles from the compiled module (dist/), as a trading run does
    const rollout = { module: require.resolve('@engine/ppo/dist/envs/cartpole'), exportName: 'cartPoleFactory' };
    const inProcess = await trainPpo(() => new CartPole(), params, { seed: 7, totalSteps: 6144 });
    for (const threads of [2, 3]) {
      const r = await trainPpo(() => new CartPole(), params, { seed: 7, totalSteps: 6144, rollout: { ...rollout, threads } });
      expect(r.policy.serialize()).toBe(inProcess.policy.serialize());
      expect(Buffer.from(r.valueNetwork.params.buffer).equals(Buffer.from(inProcess.valueNetwork.params.buffer))).toBe(true);
      expect(r.curve).toEqual(inProcess.curve);
    }
    expect(inProcess.curve.endStep.length).toBeGreaterThan(20);
    await expect(trainPpo(() => new CartPole(), params, { seed: 7, totalSteps: 6144, rollout: { ...rollout, exportName: 'nothing', threads: 2 } })).rejects.toThrow(/rollout thread crashed: .*has no function nothing/);
  });

  it('warm-starts from given networks: continuing a run learns on from where it stopped', async () => {
    const params = { ...FAST, nEpochs: 2 };
    const a = await trainPpo(() => new CartPole(), params, { seed: 3, totalSteps: 12_000 });
    const init = { policy: a.policyNetwork.params, value: a.valueNetwork.params };
    const before = Float64Array.from(init.policy);
    const warm = await trainPpo(() => new CartPole(), params, { seed: 5, totalSteps: 2048, init });
    const cold = await trainPpo(() => new CartPole(), params, { seed: 5, totalSteps: 2048 });
    const mean = (r: typeof a) => r.curve.episodeReturn.slice(0, 10).reduce((s, v) => s + v, 0) / 10;
    // the warm run's first episodes are the trained policy's, far longer than a fresh one's
    expect(mean(warm)).toBeGreaterThan(2 * mean(cold));
    expect(init.policy).toEqual(before); // the warm start copies, never trains the caller's arrays
    await expect(trainPpo(() => new CartPole(), params, { seed: 5, totalSteps: 2048, init: { policy: [1, 2], value: init.value } })).rejects.toThrow(/warm start: the networks have \d+ policy and \d+ value parameters; got 2/);
  });

  it('rejects bad params, a bad budget and a broken environment, naming what is wrong', async () => {
    expect(() => resolvePpoParams({ clipRange: 0 })).toThrow(/clipRange/);
    expect(() => resolvePpoParams({ batchSize: 1000, nSteps: 32, nEnvs: 8 })).toThrow(/batchSize/);
    expect(() => resolvePpoParams({ learningrate: 1 } as never)).toThrow(/unknown PPO parameter 'learningrate'/);
    await expect(trainPpo(() => new CartPole(), FAST, { seed: 1, totalSteps: 100 })).rejects.toThrow(ConfigError);
    const broken: Env = { observationSize: 4, actionCount: 2, reset: () => new Float64Array(3), step: () => ({ observation: new Float64Array(4), reward: 0, done: false, truncated: false }) };
    await expect(trainPpo(() => broken, FAST, { seed: 1, totalSteps: 1024 })).rejects.toThrow(DataError);
    await expect(trainPpo(() => broken, FAST, { seed: 1, totalSteps: 1024 })).rejects.toThrow(/3 observation values; expected 4/);
  });

  it('stops when its signal aborts, between updates', async () => {
    const ctl = new AbortController();
    let updates = 0;
    const run = trainPpo(() => new CartPole(), { ...FAST, nEpochs: 1 }, {
      seed: 1,
      totalSteps: 100_000,
      signal: ctl.signal,
      onProgress: (p) => {
        updates = p.updates;
        if (p.updates === 2) ctl.abort(new Error('stop'));
      },
    });
    await expect(run).rejects.toThrow('stop');
    expect(updates).toBe(2);
  });
});
