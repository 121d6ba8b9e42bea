import { trainPpo } from '../src';
import { CARTPOLE_PPO_PARAMS, CartPole, evaluateGreedy } from './cartpole';

/** The budget the issue sets: at most 200,000 environment steps per seed. */
const BUDGET = 200_000;
/** What training uses of it (rl-baselines3-zoo's 100,000), the rates decaying to 0 over them. */
const TOTAL_STEPS = 100_000;

describe('PPO on cart-pole (CartPole-v1: 500-step episodes)', () => {
  for (const seed of [1, 2, 3]) {
    it(
      `seed ${seed}: the greedy policy's mean return over 100 episodes is at least 475 after at most 200,000 steps`,
      async () => {
        const r = await trainPpo(() => new CartPole(), CARTPOLE_PPO_PARAMS, { seed, totalSteps: TOTAL_STEPS });
        expect(r.steps).toBeLessThanOrEqual(BUDGET);
        // evaluation episodes start from their own stream, never the training resets
        expect(evaluateGreedy(r.policy, 100, 1_000_000 + seed)).toBeGreaterThanOrEqual(475);
      },
      5 * 60_000,
    );
  }
});
