import type { Mulberry32 } from '@engine/shared';
import type { Env, EnvFactory, EnvStep } from '../ppo';

/**
 * The classic cart-pole (Barto, Sutton & Anderson 1983) as Gymnasium's CartPole-v1 has it:
 * Euler integration every 0.02 s, a push of ±10 N, the episode terminated when the cart
 * leaves ±2.4 or the pole leans past 12°, reward 1 for every step (the last included), and
 * truncated after 500 steps. Observation: [x, ẋ, θ, θ̇]; action 0 pushes left, 1 right.
 */
export class CartPole implements Env {
  static readonly gravity = 9.8;
  static readonly massCart = 1.0;
  static readonly massPole = 0.1;
  static readonly totalMass = CartPole.massCart + CartPole.massPole;
  /** Half the pole's length. */
  static readonly length = 0.5;
  static readonly poleMassLength = CartPole.massPole * CartPole.length;
  static readonly forceMag = 10.0;
  static readonly tau = 0.02;
  static readonly thetaThreshold = (12 * 2 * Math.PI) / 360;
  static readonly xThreshold = 2.4;
  static readonly maxSteps = 500;

  readonly observationSize = 4;
  readonly actionCount = 2;
  private x = 0;
  private xDot = 0;
  private theta = 0;
  private thetaDot = 0;
  private elapsed = 0;

  reset(rng: Mulberry32): Float64Array {
    this.x = rng.next() * 0.1 - 0.05;
    this.xDot = rng.next() * 0.1 - 0.05;
    this.theta = rng.next() * 0.1 - 0.05;
    this.thetaDot = rng.next() * 0.1 - 0.05;
    this.elapsed = 0;
    return this.observation();
  }

  step(action: number): EnvStep {
    const C = CartPole;
    const force = action === 1 ? C.forceMag : -C.forceMag;
    const cos = Math.cos(this.theta);
    const sin = Math.sin(this.theta);
    const temp = (force + C.poleMassLength * this.thetaDot * this.thetaDot * sin) / C.totalMass;
    const thetaAcc = (C.gravity * sin - cos * temp) / (C.length * (4 / 3 - (C.massPole * cos * cos) / C.totalMass));
    const xAcc = temp - (C.poleMassLength * thetaAcc * cos) / C.totalMass;
    this.x += C.tau * this.xDot;
    this.xDot += C.tau * xAcc;
    this.theta += C.tau * this.thetaDot;
    this.thetaDot += C.tau * thetaAcc;
    this.elapsed++;
    const done = this.x < -C.xThreshold || this.x > C.xThreshold || this.theta < -C.thetaThreshold || this.theta > C.thetaThreshold;
    return { observation: this.observation(), reward: 1, done, truncated: !done && this.elapsed >= C.maxSteps };
  }

  private observation(): Float64Array {
    return Float64Array.of(this.x, this.xDot, this.theta, this.thetaDot);
  }
}

/** A factory of cart-poles by module (what `trainPpo`'s rollout threads load): `cartPoleFactory()`. */
export function cartPoleFactory(): EnvFactory {
  return () => new CartPole();
}
