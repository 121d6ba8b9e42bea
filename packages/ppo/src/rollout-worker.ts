/**
 * Worker-thread entry of the rollout pool (runs from dist/): builds its slice of the
 * environment copies by module, and steps them for every rollout request.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Mlp } from './mlp';
import { allocRollout, collectRollout, type EnvFactory, makeSlots, type PpoCurve } from './ppo';
import type { RolloutReply, RolloutRequest, RolloutWorkerInit } from './rollout-pool';

const port = parentPort;
if (port === null) throw new Error('rollout-worker.js must run as a worker thread');
const init = workerData as RolloutWorkerInit;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const make = (require(init.module) as Record<string, (args: unknown) => EnvFactory>)[init.exportName];
if (typeof make !== 'function') throw new Error(`${init.module} has no function ${init.exportName}`);
const slots = makeSlots(make(init.args), init.indices, init.seed);
const policy = new Mlp(init.policySizes);
const value = new Mlp(init.valueSizes);
const L = init.indices.length;
const O = init.policySizes[0]!;
const N = init.nSteps * L;
const roll = allocRollout(N, O, false);

port.on('message', (req: RolloutRequest) => {
  try {
    policy.params.set(req.policy);
    value.params.set(req.value);
    const curve: PpoCurve = { endStep: [], episodeReturn: [], episodeLength: [] };
    const last = collectRollout(slots, policy, value, roll, init, req.stepsBefore, curve, init.nEnvs);
    port.postMessage({ id: req.id, obs: roll.obs, actions: roll.actions, rewards: roll.rewards, episodeStarts: roll.episodeStarts, values: roll.values, logProbs: roll.logProbs, lastValues: last.lastValues, lastEpisodeStart: last.lastEpisodeStart, curve } satisfies RolloutReply);
  } catch (e) {
    port.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e) } satisfies RolloutReply);
  }
});
