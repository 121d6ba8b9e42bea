/**
 * The trading environment by module, for `trainPpo`'s rollout threads (functions cannot
 * cross threads): `tradingEnvFactory(args)` builds the copies of one agent's window.
 */
import { type EnvFactory, ObservationBuilder } from '@engine/ppo';
import { type AgentInit, tapeOf } from './agent-jobs';
import { TradingEnv } from './trading-env';

export interface TradingEnvArgs {
  init: AgentInit;
  first: number;
  last: number;
  /** Bars where an entry is allowed (1), as in the job. */
  allowed: Uint8Array;
  means: Float64Array;
  scales: Float64Array;
  rewardScale: number;
}

export function tradingEnvFactory(a: TradingEnvArgs): EnvFactory {
  const tape = tapeOf(a.init);
  const builder = new ObservationBuilder({ featureNames: a.init.names, means: a.means, scales: a.scales, horizonMinutes: a.init.horizonMinutes });
  return () => new TradingEnv(tape, builder, { first: a.first, last: a.last, allowed: a.allowed, rewardScale: a.rewardScale });
}
