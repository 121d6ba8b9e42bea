import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { compiledSibling, PermanentError, TransientError } from '@engine/shared';
import type { CostModel, TradingRules, TripleBarrierLabels } from '@engine/model';
import { featureStandardiser, ObservationBuilder, type PpoParams, PpoAgent, trainPpo } from '@engine/ppo';
import { type MarketTape, TradingEnv } from './trading-env';
import type { TradingEnvArgs } from './env-factory';
import { runOnWorkers } from '../pipeline/worker-queue';

/** The label fields the trading environment reads. */
export const TAPE_LABEL_FIELDS = ['net_edge_bps', 'gross_bps', 'exit_reason', 'exit_index', 'fee_bps', 'spread_bps', 'slippage_bps', 'funding_bps', 'entry_price'] as const;

/** What every agent-training thread shares (arrays in shared memory). */
export interface AgentInit {
  ts: Float64Array;
  open: Float64Array;
  close: Float64Array;
  labels: Pick<TripleBarrierLabels, (typeof TAPE_LABEL_FIELDS)[number]>;
  columns: Float64Array[];
  names: string[];
  costs: CostModel;
  rules: Omit<TradingRules, 'threshold_bps'>;
  horizonMinutes: number;
}

/** One agent to train: on bars first…last, entering only at `allowed` rows, features standardised over `statsRows`. */
export interface AgentJob {
  id: number;
  first: number;
  last: number;
  allowed: Int32Array;
  statsRows: Int32Array;
  seed: number;
  totalSteps: number;
  rewardScale: number;
  params: PpoParams;
  /** Warm start: the networks of an agent trained on earlier data (null: from the seeded initialisation). */
  init: { policy: Float64Array; value: Float64Array } | null;
}

/** A trained agent and its learning curve (returns are in reward units: net bps × reward scale). */
export interface AgentResult {
  id: number;
  agent: string;
  episodes: number;
  /** Mean undiscounted return of the last (up to) 20 finished episodes; NaN when none finished. */
  finalMeanReturn: number;
  steps: number;
  seconds: number;
  /** The trained networks (float64), for a warm start. */
  networks: { policy: Float64Array; value: Float64Array };
}

export type AgentReply = AgentResult | { id: number; error: string; code?: string };

/** The tape of the shared arrays (the labels' other fields are not read). */
export function tapeOf(init: AgentInit): MarketTape {
  return { ts: init.ts, open: init.open, close: init.close, labels: init.labels as TripleBarrierLabels, columns: init.columns, costs: init.costs, rules: init.rules };
}

/**
 * Train one job's agent (the worker and the in-process path): single-threaded, or with its
 * environment copies stepped on `rolloutThreads` threads (the same agent bit for bit; `init`
 * must then hold shared arrays, see {@link shareInit}).
 */
export async function trainAgentJob(job: AgentJob, init: AgentInit, signal?: AbortSignal, rolloutThreads = 1): Promise<AgentResult> {
  const started = performance.now();
  const tape = tapeOf(init);
  const { means, scales } = featureStandardiser(init.columns, job.statsRows);
  const builder = new ObservationBuilder({ featureNames: init.names, means, scales, horizonMinutes: init.horizonMinutes });
  const allowed = rolloutThreads > 1 ? toShared(new Uint8Array(init.ts.length)) : new Uint8Array(init.ts.length);
  for (const r of job.allowed) allowed[r] = 1;
  const rollout =
    rolloutThreads > 1
      ? { threads: rolloutThreads, module: compiledSibling(__dirname, __filename, 'env-factory'), exportName: 'tradingEnvFactory', args: { init, first: job.first, last: job.last, allowed, means, scales, rewardScale: job.rewardScale } satisfies TradingEnvArgs }
      : undefined;
  const r = await trainPpo(() => new TradingEnv(tape, builder, { first: job.first, last: job.last, allowed, rewardScale: job.rewardScale }), job.params, {
    seed: job.seed,
    totalSteps: job.totalSteps,
    ...(job.init ? { init: job.init } : {}),
    ...(signal ? { signal } : {}),
    ...(rollout ? { rollout } : {}),
  });
  const agent = new PpoAgent({ featureNames: init.names, means, scales, horizonMinutes: init.horizonMinutes, policy: r.policy });
  const ret = r.curve.episodeReturn;
  const tail = ret.slice(-20);
  return {
    id: job.id,
    agent: agent.serialize(),
    episodes: ret.length,
    finalMeanReturn: tail.length > 0 ? tail.reduce((a, b) => a + b, 0) / tail.length : Number.NaN,
    steps: r.steps,
    seconds: (performance.now() - started) / 1000,
    networks: { policy: Float64Array.from(r.policyNetwork.params), value: Float64Array.from(r.valueNetwork.params) },
  };
}

function toShared<T extends Float64Array | Int32Array | Uint8Array>(a: T): T {
  const C = a.constructor as { new (b: SharedArrayBuffer): T };
  const s = new C(new SharedArrayBuffer(a.byteLength));
  s.set(a as never);
  return s;
}

/** The init's arrays copied once into shared memory (what worker threads are given). */
export function shareInit(init: AgentInit): AgentInit {
  const labels = Object.fromEntries(TAPE_LABEL_FIELDS.map((k) => [k, toShared(init.labels[k])])) as unknown as AgentInit['labels'];
  return { ...init, ts: toShared(init.ts), open: toShared(init.open), close: toShared(init.close), labels, columns: init.columns.map(toShared) };
}

/**
 * Trains agents on worker threads, one single-threaded PPO run per thread at a time (the
 * folds' agents are independent, so they scale with the threads); with one thread, in
 * process. Each run is seeded and single-threaded, so an agent never depends on the
 * number of threads or the order runs finish.
 */
export async function trainAgents(init: AgentInit, jobs: readonly AgentJob[], threads: number, onDone: (r: AgentResult) => void, signal?: AbortSignal): Promise<Map<number, AgentResult>> {
  const results = new Map<number, AgentResult>();
  const queue = [...jobs].sort((a, b) => b.totalSteps - a.totalSteps || a.id - b.id);
  const n = Math.min(threads, queue.length);
  if (n <= 1) {
    // (rollout threads for a lone agent are not used: on 2 vCPUs they measured no faster,
    // see bench:ppo's ppo_train_rollout_threads; the agent would be the same bit for bit)
    for (const job of queue) {
      signal?.throwIfAborted();
      const r = await trainAgentJob(job, init, signal);
      results.set(job.id, r);
      onDone(r);
    }
    return results;
  }
  const script = compiledSibling(__dirname, __filename, 'agent-worker');
  if (!existsSync(script)) throw new PermanentError('TRAINING_WORKER_MISSING', `agent worker script not found at ${script}; build the training package first (npx tsc -b packages/training)`);
  const shared = shareInit(init);
  const workers = Array.from({ length: n }, () => new Worker(script, { workerData: shared }));
  try {
    await runOnWorkers<AgentJob, AgentReply>(
      workers,
      queue,
      (job, r) => {
        if ('error' in r) throw new TransientError(r.code ?? 'TRAINING_FAILED', `agent ${job.id} failed: ${r.error}`);
        results.set(job.id, r);
        onDone(r);
      },
      'an agent training thread',
      signal,
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

/** Parse a job's agent. */
export function agentOf(r: AgentResult): PpoAgent {
  return PpoAgent.parse(r.agent);
}
