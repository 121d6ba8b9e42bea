import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { compiledSibling, PermanentError, TransientError } from '@engine/shared';
import type { Mlp } from './mlp';
import type { PpoCurve, Rollout } from './ppo';

/** What a rollout thread is started with. */
export interface RolloutWorkerInit {
  module: string;
  exportName: string;
  args: unknown;
  /** Its copies (global numbers, contiguous). */
  indices: number[];
  seed: number;
  nEnvs: number;
  nSteps: number;
  gamma: number;
  policySizes: number[];
  valueSizes: number[];
}

/** One rollout request: the networks' current parameters. */
export interface RolloutRequest {
  id: number;
  policy: Float64Array;
  value: Float64Array;
  stepsBefore: number;
}

/** A thread's rollout of its copies (time-major over its copies) and the episodes that ended. */
export type RolloutReply =
  | (Omit<Rollout, 'advantages' | 'returns'> & { id: number; lastValues: Float64Array; lastEpisodeStart: Uint8Array; curve: PpoCurve })
  | { id: number; error: string };

/**
 * Worker threads that step slices of a run's environment copies: each thread builds its
 * copies once (by module), and on every update receives the networks' parameters, steps its
 * copies `nSteps` times and answers with its part of the rollout, which
 * {@link RolloutPool.collect} puts where the in-process rollout would have put it.
 */
export class RolloutPool {
  private readonly workers: Worker[];
  private readonly slices: number[][];
  private readonly nEnvs: number;
  private readonly nSteps: number;
  private request = 0;

  private constructor(workers: Worker[], slices: number[][], nEnvs: number, nSteps: number) {
    this.workers = workers;
    this.slices = slices;
    this.nEnvs = nEnvs;
    this.nSteps = nSteps;
  }

  static start(spec: { module: string; exportName: string; args?: unknown }, threads: number, cfg: Omit<RolloutWorkerInit, 'module' | 'exportName' | 'args' | 'indices'>): RolloutPool {
    const script = compiledSibling(__dirname, __filename, 'rollout-worker');
    if (!existsSync(script)) throw new PermanentError('PPO_WORKER_MISSING', `rollout worker script not found at ${script}; build the ppo package first (npx tsc -b packages/ppo)`);
    const E = cfg.nEnvs;
    const slices = Array.from({ length: threads }, (_, w) => {
      const from = Math.floor((w * E) / threads);
      const to = Math.floor(((w + 1) * E) / threads);
      return Array.from({ length: to - from }, (_, k) => from + k);
    }).filter((s) => s.length > 0);
    const workers = slices.map((indices) => new Worker(script, { workerData: { ...cfg, module: spec.module, exportName: spec.exportName, args: spec.args, indices } satisfies RolloutWorkerInit }));
    return new RolloutPool(workers, slices, E, cfg.nSteps);
  }

  /** Every thread's rollout, merged into `roll` and `curve` in the in-process order. */
  async collect(policy: Mlp, value: Mlp, roll: Rollout, stepsBefore: number, curve: PpoCurve): Promise<{ lastValues: Float64Array; lastEpisodeStart: Uint8Array }> {
    const id = ++this.request;
    const replies = await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<Extract<RolloutReply, { obs: Float64Array }>>((resolve, reject) => {
            const onMessage = (r: RolloutReply): void => {
              if (r.id !== id) return;
              w.off('message', onMessage);
              w.off('error', onError);
              if ('error' in r) reject(new TransientError('PPO_ROLLOUT_FAILED', `a rollout thread failed: ${r.error}`));
              else resolve(r);
            };
            const onError = (e: Error): void => {
              w.off('message', onMessage);
              reject(new TransientError('PPO_ROLLOUT_FAILED', `a rollout thread crashed: ${e.message}`, {}, e));
            };
            w.on('message', onMessage);
            w.once('error', onError);
            w.postMessage({ id, policy: policy.params, value: value.params, stepsBefore } satisfies RolloutRequest);
          }),
      ),
    );
    const E = this.nEnvs;
    const O = roll.obs.length / (this.nSteps * E);
    const lastValues = new Float64Array(E);
    const lastEpisodeStart = new Uint8Array(E);
    const ended: { endStep: number; ret: number; len: number }[] = [];
    replies.forEach((r, w) => {
      const idx = this.slices[w]!;
      const L = idx.length;
      for (let t = 0; t < this.nSteps; t++) {
        for (let j = 0; j < L; j++) {
          const k = t * E + idx[j]!;
          const l = t * L + j;
          roll.obs.set(r.obs.subarray(l * O, (l + 1) * O), k * O);
          roll.actions[k] = r.actions[l]!;
          roll.rewards[k] = r.rewards[l]!;
          roll.episodeStarts[k] = r.episodeStarts[l]!;
          roll.values[k] = r.values[l]!;
          roll.logProbs[k] = r.logProbs[l]!;
        }
      }
      for (let j = 0; j < L; j++) {
        lastValues[idx[j]!] = r.lastValues[j]!;
        lastEpisodeStart[idx[j]!] = r.lastEpisodeStart[j]!;
      }
      for (let k = 0; k < r.curve.endStep.length; k++) ended.push({ endStep: r.curve.endStep[k]!, ret: r.curve.episodeReturn[k]!, len: r.curve.episodeLength[k]! });
    });
    // the in-process rollout records episodes in (step, copy) order: their end steps, ascending
    ended.sort((a, b) => a.endStep - b.endStep);
    for (const x of ended) {
      curve.endStep.push(x.endStep);
      curve.episodeReturn.push(x.ret);
      curve.episodeLength.push(x.len);
    }
    return { lastValues, lastEpisodeStart };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
