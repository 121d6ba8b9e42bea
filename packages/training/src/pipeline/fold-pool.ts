import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { compiledSibling, PermanentError, TransientError } from '@engine/shared';
import { columnMatrix, GbdtModel, type FeatureMatrix, type GbdtParams, type trainGbdt } from '@engine/gbdt';

/** What every fold worker shares: the feature columns and the target, in shared memory. */
export interface FitInit {
  columns: Float64Array[];
  target: Float64Array;
  names: string[];
}

/** One model to fit: train on `rows`, predict `predict` rows. */
export interface FitJob {
  id: number;
  rows: Int32Array;
  params: GbdtParams;
  predict: Int32Array;
  /** Send the model's native JSON back (final models); fold models only need predictions. */
  wantModel: boolean;
}

export type FitReply = { id: number; predictions: Float64Array; model: string | null } | { id: number; error: string; code?: string };

/** The answer to a job: predictions for its `predict` rows, and the model when asked for. */
export interface FitResult {
  predictions: Float64Array;
  model: GbdtModel | null;
}

/** Rows of every column gathered into a new column matrix. */
export function gatherRows(columns: readonly Float64Array[], rows: Int32Array): FeatureMatrix {
  return columnMatrix(
    columns.map((c) => {
      const out = new Float64Array(rows.length);
      for (let r = 0; r < rows.length; r++) out[r] = c[rows[r]!]!;
      return out;
    }),
  );
}

/** Fit one job single-threaded and predict its rows (shared by the worker and the in-process path). */
export async function fitAndPredict(
  job: FitJob,
  data: { x: FeatureMatrix; columns: readonly Float64Array[]; target: Float64Array; names: readonly string[] },
  train: typeof trainGbdt,
  signal?: AbortSignal,
): Promise<{ id: number; predictions: Float64Array; model: string | null }> {
  const model = await train({ x: data.x, y: data.target, rows: job.rows, featureNames: data.names }, job.params, { threads: 1, ...(signal ? { signal } : {}) });
  const predictions = job.predict.length > 0 ? model.predict(gatherRows(data.columns, job.predict)) : new Float64Array(0);
  return { id: job.id, predictions, model: job.wantModel ? model.serialize() : null };
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
  private readonly inProcess: { x: FeatureMatrix; columns: Float64Array[]; target: Float64Array; names: string[] } | null;
  private readonly train: typeof trainGbdt;

  private constructor(workers: Worker[], inProcess: FoldTrainerPool['inProcess'], train: typeof trainGbdt) {
    this.workers = workers;
    this.inProcess = inProcess;
    this.train = train;
  }

  /** Start `workers` threads sharing `columns` and `target` (copied once into shared memory). */
  static create(workers: number, init: FitInit, train: typeof trainGbdt): FoldTrainerPool {
    if (workers <= 1) return new FoldTrainerPool([], { x: columnMatrix(init.columns), ...init }, train);
    const script = compiledSibling(__dirname, __filename, 'fold-worker');
    if (!existsSync(script)) {
      throw new PermanentError('TRAINING_WORKER_MISSING', `fold worker script not found at ${script}; build the training package first (npx tsc -b packages/training)`);
    }
    const shared: FitInit = { columns: init.columns.map(toShared), target: toShared(init.target), names: init.names };
    const ws = Array.from({ length: workers }, () => new Worker(script, { workerData: shared }));
    return new FoldTrainerPool(ws, null, train);
  }

  /**
   * Run every job; `onDone` is called as each finishes. Longest jobs (most rows) start
   * first so the threads finish together. Rejects on the first failure or abort.
   */
  async run(jobs: readonly FitJob[], onDone: (job: FitJob, r: FitResult) => void, signal?: AbortSignal): Promise<Map<number, FitResult>> {
    const results = new Map<number, FitResult>();
    const queue = [...jobs].sort((a, b) => b.rows.length * b.params.nEstimators - a.rows.length * a.params.nEstimators || a.id - b.id);
    const accept = (job: FitJob, r: FitReply): void => {
      if ('error' in r) throw new TransientError(r.code ?? 'TRAINING_FAILED', `model fit ${job.id} failed: ${r.error}`);
      const res: FitResult = { predictions: r.predictions, model: r.model === null ? null : GbdtModel.parse(r.model) };
      results.set(job.id, res);
      onDone(job, res);
    };
    if (this.inProcess) {
      for (const job of queue) {
        signal?.throwIfAborted();
        accept(job, await fitAndPredict(job, this.inProcess, this.train, signal));
      }
      return results;
    }
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let running = 0;
      let failed = false;
      const fail = (e: unknown): void => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const onAbort = (): void => fail(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const feed = (w: Worker): void => {
        if (failed) return;
        if (next >= queue.length) {
          if (running === 0) {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          }
          return;
        }
        const job = queue[next++]!;
        running++;
        const onMessage = (r: FitReply): void => {
          if (r.id !== job.id) return;
          w.off('message', onMessage);
          w.off('error', onError);
          running--;
          try {
            accept(job, r);
          } catch (e) {
            fail(e);
            return;
          }
          feed(w);
        };
        const onError = (e: Error): void => {
          w.off('message', onMessage);
          fail(new TransientError('TRAINING_WORKER_FAILED', `a fold training thread crashed: ${e.message}`, {}, e));
        };
        w.on('message', onMessage);
        w.once('error', onError);
        w.postMessage(job);
      };
      if (signal?.aborted) fail(signal.reason);
      else for (const w of this.workers) feed(w);
    });
    return results;
  }

  /** Stop the threads. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
