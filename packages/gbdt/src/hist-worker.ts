/**
 * Worker-thread entry of the histogram engine (runs from dist/). It receives a training's
 * shared buffers by message, then serves tasks through Atomics on the control words until
 * told to detach (another message) or to exit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fitAndBinFeatures } from './bin-kernels';
import { CMD_EXIT, CTRL_CMD, CTRL_ERR, CTRL_GEN, CTRL_PENDING, makeViews, runShare, type HistBuffers } from './hist-kernels';
import type { FeatureMatrix } from './matrix';
import { predictShare, type PredictMessage } from './thread-pool';
import { instantiateKernel, type KernelRun } from './wasm-forest';

interface AttachMessage {
  type: 'attach';
  buffers: HistBuffers;
  thread: number;
  nThreads: number;
}

const port = parentPort;
if (port === null) throw new Error('hist-worker.js must run as a worker thread');
const spin = (workerData as { spinIterations?: number } | null)?.spinIterations ?? 20000;

/** Fit and bin one thread's features (before a training attaches). */
interface BinMessage {
  type: 'bin';
  thread: number;
  matrix: FeatureMatrix;
  rows: Int32Array | null;
  pos: Int32Array | null;
  fBegin: number;
  fEnd: number;
  maxBins: number;
  out: Uint8Array;
  colStride: number;
}

/** Kernel instances over the pool's shared arena, by arena and depth. */
const kernels = new Map<string, KernelRun>();

port.on('message', (msg: AttachMessage | BinMessage | PredictMessage | { type: 'ping' }) => {
  if (msg.type === 'predict') {
    try {
      const key = `${msg.arenaId}:${msg.layout.depth}:${msg.layout.nFeatures}`;
      let run = kernels.get(key);
      if (run === undefined) {
        for (const k of kernels.keys()) if (!k.startsWith(`${msg.arenaId}:`)) kernels.delete(k);
        run = instantiateKernel(msg.module, msg.memory);
        kernels.set(key, run);
      }
      predictShare(run, msg.layout, new Int32Array(msg.ctrl), msg.nRows, msg.step, msg.thread);
      port.postMessage({ type: 'predicted', thread: msg.thread });
    } catch (err) {
      port.postMessage({ type: 'predicted', thread: msg.thread, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
    return;
  }
  if (msg.type === 'bin') {
    try {
      const edges = fitAndBinFeatures(msg.matrix, msg.rows, msg.pos, msg.fBegin, msg.fEnd, msg.maxBins, msg.out, msg.colStride);
      port.postMessage({ type: 'binned', thread: msg.thread, edges });
    } catch (err) {
      port.postMessage({ type: 'binned', thread: msg.thread, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
    return;
  }
  if (msg.type !== 'attach') {
    port.postMessage({ type: 'pong' });
    return;
  }
  const v = makeViews(msg.buffers);
  const ctrl = v.ctrl;
  let seen = Atomics.load(ctrl, CTRL_GEN);
  port.postMessage({ type: 'attached', thread: msg.thread });
  // Serve until the coordinator says exit; each generation bump is one task.
  for (;;) {
    let g = Atomics.load(ctrl, CTRL_GEN);
    for (let s = 0; g === seen && s < spin; s++) g = Atomics.load(ctrl, CTRL_GEN);
    while (g === seen) {
      Atomics.wait(ctrl, CTRL_GEN, seen);
      g = Atomics.load(ctrl, CTRL_GEN);
    }
    seen = g;
    if (Atomics.load(ctrl, CTRL_CMD) === CMD_EXIT) {
      if (Atomics.sub(ctrl, CTRL_PENDING, 1) === 1) Atomics.notify(ctrl, CTRL_PENDING);
      break;
    }
    try {
      runShare(v, msg.thread, msg.nThreads);
    } catch (err) {
      // never leave the coordinator waiting: flag the failure, report it, keep serving
      Atomics.store(ctrl, CTRL_ERR, 1);
      port.postMessage({ type: 'error', thread: msg.thread, message: err instanceof Error ? err.stack ?? err.message : String(err) });
    }
    if (Atomics.sub(ctrl, CTRL_PENDING, 1) === 1) Atomics.notify(ctrl, CTRL_PENDING);
  }
  port.postMessage({ type: 'detached', thread: msg.thread });
});
