import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { compiledSibling, PermanentError, TransientError } from '@engine/shared';
import { columnMatrix } from '@engine/gbdt';
import { runOnWorkers } from './worker-queue';
import { type FitData, type FitSpec, fitCost, fitMember, type MemberModel, parseMember, predictMember } from './members';

/** What every fold worker shares: the feature columns, the target and the rows' label timeline, in shared memory. */
export interface FitInit {
  columns: Float64Array[];
  target: Float64Array;
  names: string[];
  ts: Float64Array;
  labelEnd: Float64Array;
}

/** One fit: train `spec` on `rows`, predict `predict` rows. */
export interface FitJob {
  id: number;
  rows: Int32Array;
  spec: FitSpec;
  predict: Int32Array;
  /** Send the models' native JSON back (final models); fold models only need predictions. */
  wantModel: boolean;
}

export type FitReply = { id: number; predictions: Float64Array[]; models: string[] | null } | { id: number; error: string; code?: string };

/**
 * The answer to a job: predictions for its `predict` rows per member (one member unless the
 * spec is `members`), and the models when asked for.
 */
export interface FitResult {
  /** The first member's predictions (the only member's, for a single-model spec). */
  predictions: Float64Array;
  /** Every member's predictions, in the spec's order. */
  members: Float64Array[];
  /** Every member's model (when asked for), in the spec's order. */
  models: MemberModel[] | null;
}

/** Fit one job single-threaded and predict its rows (shared by the worker and the in-process path). */
export async function fitAndPredict(job: FitJob, data: FitData, signal?: AbortSignal): Promise<{ id: number; predictions: Float64Array[]; models: string[] | null }> {
  const specs = job.spec.kind === 'members' ? job.spec.members.map((m) => m.spec) : [job.spec];
  const predictions: Float64Array[] = [];
  const models: string[] = [];
  for (const spec of specs) {
    if (spec.kind === 'members') throw new PermanentError('FIT_SPEC_INVALID', 'ensemble members cannot nest');
    signal?.throwIfAborted();
    const model = await fitMember(spec, job.rows, data, signal);
    predictions.push(predictMember(model, data, job.predict));
    if (job.wantModel) models.push(model.serialize());
  }
  return { id: job.id, predictions, models: job.wantModel ? models : null };
}

function toShared(a: Float64Array): Float64Array {
  const s = new Float64Array(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}

/**
 * Fits many independent models (walk-forward folds, inner calibration models, the final
 * and confidence models) on `workers` threads, one single-threaded training per thread at
 * a time: folds are embarrassingly parallel, so this scales better than splitting each
 * tree's histograms. Every training is deterministic, so the models do not depend on the
 * number of workers or the order jobs finish. With one worker everything runs in-process.
 */
export class FoldTrainerPool {
  private readonly workers: Worker[];
  private readonly inProcess: FitData | null;

  private constructor(workers: Worker[], inProcess: FitData | null) {
    this.workers = workers;
    this.inProcess = inProcess;
  }

  /** Start `workers` threads sharing `columns` and `target` (copied once into shared memory). */
  static create(workers: number, init: FitInit): FoldTrainerPool {
    if (workers <= 1) return new FoldTrainerPool([], { x: columnMatrix(init.columns), ...init });
    const script = compiledSibling(__dirname, __filename, 'fold-worker');
    if (!existsSync(script)) {
      throw new PermanentError('TRAINING_WORKER_MISSING', `fold worker script not found at ${script}; build the training package first (npx tsc -b packages/training)`);
    }
    const shared: FitInit = { columns: init.columns.map(toShared), target: toShared(init.target), names: init.names, ts: toShared(init.ts), labelEnd: toShared(init.labelEnd) };
    const ws = Array.from({ length: workers }, () => new Worker(script, { workerData: shared }));
    return new FoldTrainerPool(ws, null);
  }

  /**
   * Run every job; `onDone` is called as each finishes. Longest jobs (most rows) start
   * first so the threads finish together. Rejects on the first failure or abort.
   */
  async run(jobs: readonly FitJob[], onDone: (job: FitJob, r: FitResult) => void, signal?: AbortSignal): Promise<Map<number, FitResult>> {
    const results = new Map<number, FitResult>();
    const queue = [...jobs].sort((a, b) => fitCost(b.spec, b.rows.length) - fitCost(a.spec, a.rows.length) || a.id - b.id);
    const accept = (job: FitJob, r: FitReply): void => {
      if ('error' in r) throw new TransientError(r.code ?? 'TRAINING_FAILED', `model fit ${job.id} failed: ${r.error}`);
      const res: FitResult = { predictions: r.predictions[0]!, members: r.predictions, models: r.models === null ? null : r.models.map(parseMember) };
      results.set(job.id, res);
      onDone(job, res);
    };
    if (this.inProcess) {
      for (const job of queue) {
        signal?.throwIfAborted();
        accept(job, await fitAndPredict(job, this.inProcess, signal));
      }
      return results;
    }
    await runOnWorkers<FitJob, FitReply>(this.workers, queue, accept, 'a fold training thread', signal);
    return results;
  }

  /** Stop the threads. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
