import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { compiledSibling, DataError, PermanentError, TransientError } from '@engine/shared';
import { fitAndBinFeatures } from './bin-kernels';
import type { ParallelBinJob } from './binning';
import {
  CMD_EXIT,
  CMD_RUN,
  CTRL_BARRIER,
  CTRL_CMD,
  CTRL_ERR,
  CTRL_GEN,
  CTRL_PENDING,
  CTRL_QUEUE,
  WORK_QUEUES,
  runShare,
  type HistBuffers,
  type HistViews,
} from './hist-kernels';

import type { FeatureMatrix } from './matrix';
import type { GbdtModel } from './model';
import { copyRowsF32, type CompiledForest } from './predictor';
import {
  arenaCapacity,
  arenaLayout,
  ensureMemory,
  forestKernel,
  instantiateKernel,
  newMemory,
  runRows,
  type ArenaLayout,
  type KernelRun,
} from './wasm-forest';

/** Rows a thread takes at a time from a parallel prediction (16 kernel blocks). */
const PREDICT_STEP = 1024;
/** Fewer rows than this are predicted on the calling thread alone. */
const PREDICT_PARALLEL_MIN_ROWS = 4 * PREDICT_STEP;

/** One thread's request to predict from the pool's shared arena (see predict-share.ts). */
export interface PredictMessage {
  type: 'predict';
  thread: number;
  arenaId: number;
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  layout: ArenaLayout;
  /** [next step] */
  ctrl: SharedArrayBuffer;
  nRows: number;
  step: number;
}

/**
 * Takes steps of `step` rows from the shared counter until none is left; returns the
 * number of steps this thread ran.
 */
export function predictShare(run: KernelRun, layout: ArenaLayout, ctrl: Int32Array, nRows: number, step: number, thread: number): number {
  let done = 0;
  for (;;) {
    const r0 = Atomics.add(ctrl, 0, 1) * step;
    if (r0 >= nRows) return done;
    runRows(run, layout, r0, Math.min(nRows, r0 + step), thread);
    done++;
  }
}

/** A worker that has not finished its share within this time is considered lost. */
const TASK_TIMEOUT_MS = 120_000;
/** Busy-wait iterations before sleeping on a futex (tasks are often sub-millisecond). */
const SPIN_ITERATIONS = 5_000;

/** The compiled worker script (under jest, the dist/ twin of this src/ module). */
export function histWorkerScript(): string {
  return compiledSibling(__dirname, __filename, 'hist-worker');
}

/**
 * Worker threads that build histograms for the trainer. `threads` counts the calling
 * thread, which always takes the first share, so a pool of `threads` spawns `threads - 1`
 * workers (none for 1). A pool serves one training at a time and can be reused across
 * trainings (e.g. walk-forward folds) to save the worker start-up; close it when done.
 */
export class GbdtThreadPool {
  readonly threads: number;
  private readonly workers: Worker[];
  private busy = false;
  private errors: string[] = [];
  private ctrl: Int32Array | null = null;
  private closed = false;
  /** Shared prediction arena: grown as needed, reloaded when the forest changes. */
  private arena: { id: number; memory: WebAssembly.Memory; layout: ArenaLayout | null; forest: CompiledForest | null; runs: Map<string, KernelRun> } | null = null;
  private arenaSeq = 0;

  private constructor(threads: number, workers: Worker[]) {
    this.threads = threads;
    this.workers = workers;
    for (const w of workers) {
      w.on('message', (m: { type: string; message?: string }) => {
        if (m.type === 'error' && m.message !== undefined) this.errors.push(m.message);
      });
      // an unexpected worker crash is reported by the next task (errors list)
      w.on('error', (e) => this.errors.push(e.stack ?? e.message));
    }
  }

  /** Starts `threads - 1` workers and waits until they are listening. */
  static async create(threads: number): Promise<GbdtThreadPool> {
    const n = Math.max(0, threads - 1);
    if (n === 0) return new GbdtThreadPool(1, []);
    const script = histWorkerScript();
    if (!existsSync(script)) {
      throw new PermanentError(
        'GBDT_WORKER_MISSING',
        `GBDT worker script not found at ${script}; build the training package first (npx tsc -b packages/training)`,
      );
    }
    const workers: Worker[] = [];
    for (let i = 0; i < n; i++) workers.push(new Worker(script, { workerData: { spinIterations: SPIN_ITERATIONS } }));
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const onMsg = (m: { type: string }): void => {
              if (m.type === 'pong') {
                w.off('message', onMsg);
                w.off('error', reject);
                resolve();
              }
            };
            w.on('message', onMsg);
            w.once('error', reject);
            w.postMessage({ type: 'ping' });
          }),
      ),
    );
    return new GbdtThreadPool(threads, workers);
  }

  /**
   * Fits and bins features in parallel (before a training attaches): thread t takes
   * features [t·F/T, (t+1)·F/T); the calling thread does the first share. Returns each
   * share's edges, in thread order.
   */
  async binFeatures(job: ParallelBinJob): Promise<Float64Array[][]> {
    if (this.busy) throw new PermanentError('GBDT_POOL_BUSY', 'GBDT thread pool already serves a training; use one pool per concurrent training');
    const F = job.matrix.nFeatures;
    const T = Math.min(job.threads, this.workers.length + 1);
    const range = (t: number): [number, number] => [Math.floor((t * F) / T), Math.floor(((t + 1) * F) / T)];
    const replies = this.workers.slice(0, T - 1).map(
      (w, i) =>
        new Promise<Float64Array[]>((resolve, reject) => {
          const onMsg = (m: { type: string; thread: number; edges?: Float64Array[]; error?: string }): void => {
            if (m.type !== 'binned' || m.thread !== i + 1) return;
            w.off('message', onMsg);
            if (m.error !== undefined) reject(new TransientError('GBDT_WORKER_FAILED', `a GBDT worker failed while binning: ${m.error}`));
            else resolve(m.edges!);
          };
          w.on('message', onMsg);
          const [fBegin, fEnd] = range(i + 1);
          w.postMessage({ type: 'bin', thread: i + 1, matrix: job.matrix, rows: job.rows, pos: job.pos, fBegin, fEnd, maxBins: job.maxBins, out: job.out, colStride: job.colStride });
        }),
    );
    const [b0, e0] = range(0);
    const mine = fitAndBinFeatures(job.matrix, job.rows, job.pos, b0, e0, job.maxBins, job.out, job.colStride);
    return [mine, ...(await Promise.all(replies))];
  }

  /** Hands a training's shared buffers to every worker and waits until all are serving. */
  async attach(buffers: HistBuffers): Promise<void> {
    if (this.closed) throw new PermanentError('GBDT_POOL_CLOSED', 'GBDT thread pool is closed; create a new one');
    if (this.busy) throw new PermanentError('GBDT_POOL_BUSY', 'GBDT thread pool already serves a training; use one pool per concurrent training');
    this.busy = true;
    this.errors = [];
    this.ctrl = new Int32Array(buffers.ctrl);
    await Promise.all(
      this.workers.map(
        (w, i) =>
          new Promise<void>((resolve) => {
            const onMsg = (m: { type: string }): void => {
              if (m.type === 'attached') {
                w.off('message', onMsg);
                resolve();
              }
            };
            w.on('message', onMsg);
            w.postMessage({ type: 'attach', buffers, thread: i + 1, nThreads: this.threads });
          }),
      ),
    );
  }

  /**
   * Runs the task described in the shared buffers on every thread and returns when all
   * shares are done. Blocks the calling thread for the task's duration (milliseconds).
   */
  run(v: HistViews): void {
    const ctrl = v.ctrl;
    const nW = this.workers.length;
    for (let q = 0; q < WORK_QUEUES; q++) Atomics.store(ctrl, CTRL_QUEUE + q, 0);
    if (nW === 0) {
      runShare(v, 0, 1);
      return;
    }
    Atomics.store(ctrl, CTRL_BARRIER, 0);
    Atomics.store(ctrl, CTRL_CMD, CMD_RUN);
    Atomics.store(ctrl, CTRL_PENDING, nW);
    Atomics.add(ctrl, CTRL_GEN, 1);
    Atomics.notify(ctrl, CTRL_GEN);
    try {
      runShare(v, 0, this.threads);
    } finally {
      this.waitWorkers(ctrl);
    }
    if (Atomics.load(ctrl, CTRL_ERR) !== 0) {
      throw new TransientError('GBDT_WORKER_FAILED', `a GBDT histogram worker failed: ${this.errors.join('; ') || 'no message'}`);
    }
  }

  private waitWorkers(ctrl: Int32Array): void {
    let p = Atomics.load(ctrl, CTRL_PENDING);
    for (let s = 0; p !== 0 && s < SPIN_ITERATIONS; s++) p = Atomics.load(ctrl, CTRL_PENDING);
    const t0 = Date.now();
    while (p !== 0) {
      Atomics.wait(ctrl, CTRL_PENDING, p, 1000);
      p = Atomics.load(ctrl, CTRL_PENDING);
      if (p !== 0 && Date.now() - t0 > TASK_TIMEOUT_MS) {
        throw new TransientError('GBDT_WORKER_TIMEOUT', `GBDT histogram workers did not finish a task within ${TASK_TIMEOUT_MS} ms (${p} still pending)`);
      }
    }
  }

  /** Releases the current training's buffers (workers return to waiting for the next one). */
  detach(): void {
    const ctrl = this.ctrl;
    if (ctrl === null) return;
    this.ctrl = null;
    this.busy = false;
    if (this.workers.length === 0) return;
    Atomics.store(ctrl, CTRL_CMD, CMD_EXIT);
    Atomics.store(ctrl, CTRL_PENDING, this.workers.length);
    Atomics.add(ctrl, CTRL_GEN, 1);
    Atomics.notify(ctrl, CTRL_GEN);
    this.waitWorkers(ctrl);
  }

  /**
   * Predictions of every row (as GbdtModel.predict, bit for bit), with the rows shared out
   * among the pool's threads in steps of 1024. The calling thread takes steps too, so it
   * is busy for its share; the rest runs in the workers. Falls back to model.predict on
   * the calling thread for small inputs, a one-thread pool, or a forest the WebAssembly
   * kernel cannot run (deeper than 10 levels).
   *
   * `offload: true` leaves the kernel work to the workers: the calling thread only copies
   * rows in and results out, so an event loop (a BullMQ worker's) stays responsive.
   */
  async predict(model: GbdtModel, x: FeatureMatrix, out?: Float64Array, opts: { offload?: boolean } = {}): Promise<Float64Array> {
    if (this.closed) throw new PermanentError('GBDT_POOL_CLOSED', 'GBDT thread pool is closed; create a new one');
    const forest = model.compiled();
    // small inputs, a one-thread pool, deep forests, and shape errors take the plain path
    if (this.workers.length === 0 || x.nRows < PREDICT_PARALLEL_MIN_ROWS || !forest.wasmCapable || x.nFeatures !== forest.nFeatures) {
      return model.predict(x, out);
    }
    if (this.busy) throw new PermanentError('GBDT_POOL_BUSY', 'GBDT thread pool is serving a training or another prediction; use one pool per concurrent job');
    const res = out ?? new Float64Array(x.nRows);
    if (res.length < x.nRows) throw new DataError('MATRIX_SHAPE', `output holds ${res.length} values; matrix has ${x.nRows} rows`);
    this.busy = true;
    this.errors = [];
    try {
      res.fill(model.baseScore, 0, x.nRows);
      const layout = this.loadArena(forest, arenaCapacity(forest.nFeatures, x.nRows));
      const arena = this.arena!;
      const D = layout.depth;
      const module = forestKernel(D, layout.nFeatures, true);
      const kernelKey = `${D}:${layout.nFeatures}`;
      let run = arena.runs.get(kernelKey);
      if (run === undefined) {
        run = instantiateKernel(module, arena.memory);
        arena.runs.set(kernelKey, run);
      }
      const ctrlBuf = new SharedArrayBuffer(4);
      const ctrl = new Int32Array(ctrlBuf);
      for (let r0 = 0; r0 < x.nRows; r0 += layout.capacityRows) {
        const n = Math.min(layout.capacityRows, x.nRows - r0);
        const buf = arena.memory.buffer;
        copyRowsF32(x, r0, n, new Float32Array(buf, layout.input, n * layout.nFeatures));
        const acc = new Float64Array(buf, layout.out, n);
        acc.set(res.subarray(r0, r0 + n));
        Atomics.store(ctrl, 0, 0);
        const replies = this.workers.map(
          (w, i) =>
            new Promise<void>((resolve, reject) => {
              const onMsg = (m: { type: string; thread?: number; error?: string }): void => {
                if (m.type !== 'predicted' || m.thread !== i + 1) return;
                w.off('message', onMsg);
                if (m.error !== undefined) reject(new TransientError('GBDT_WORKER_FAILED', `a GBDT worker failed while predicting: ${m.error}`));
                else resolve();
              };
              w.on('message', onMsg);
              const msg: PredictMessage = { type: 'predict', thread: i + 1, arenaId: arena.id, memory: arena.memory, module, layout, ctrl: ctrlBuf, nRows: n, step: PREDICT_STEP };
              w.postMessage(msg);
            }),
        );
        let mine: unknown = null;
        try {
          if (opts.offload !== true) predictShare(run, layout, ctrl, n, PREDICT_STEP, 0);
        } catch (err) {
          mine = err;
        }
        // wait for every worker even when this thread failed: they still write the arena
        const settled = await Promise.allSettled(replies);
        if (mine !== null) throw mine;
        const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
        res.set(acc, r0);
      }
      return model.marginToPrediction(res, x.nRows);
    } finally {
      this.busy = false;
    }
  }

  /** Lays out the shared arena for `forest` and copies the forest in when it changed. */
  private loadArena(forest: CompiledForest, capacityRows: number): ArenaLayout {
    const layout = arenaLayout(forest.completeDepth, forest.nTrees, forest.nFeatures, this.threads, capacityRows);
    if (this.arena === null) {
      this.arena = { id: ++this.arenaSeq, memory: newMemory(layout.bytes, true), layout: null, forest: null, runs: new Map() };
    }
    const a = this.arena;
    ensureMemory(a.memory, layout.bytes);
    if (a.forest !== forest || a.layout === null || a.layout.scratch !== layout.scratch) {
      new Uint8Array(a.memory.buffer).set(forest.wasmImage(layout), 0);
      a.forest = forest;
    }
    a.layout = layout;
    return layout;
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.detach();
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
