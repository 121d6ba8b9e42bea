/**
 * The histogram engine's shared memory and its hot loops. Everything here is plain typed
 * arrays over SharedArrayBuffers so the main thread and the worker threads
 * (hist-worker.ts) run the very same code on the very same memory.
 *
 * Determinism: work is cut into items that do not depend on the thread count — whole
 * features for histograms (always summed row by row in partition order), fixed chunks of
 * CHUNK rows for row-parallel phases (combined by prefix sums in chunk order, or by exact
 * integer sums), whole leaves for leaf sums — and threads take items from shared counters
 * as they get free. Which thread did what never shows in the result, so models are
 * bit-identical for any thread count, and a late or descheduled thread delays nobody.
 *
 * Each tree is three kinds of task. The root task first computes, each thread for its
 * chunk of rows, the gradients, the bag (mulberry32 draws depend on the row only) and the
 * packed gradients, then builds the root histogram. Each level's task has up to three
 * phases, separated by barriers: (1) each thread partitions its chunk of every node being
 * split into scratch lists, (2) each thread moves its chunk's rows to their final places
 * (prefix sums over the chunks, in thread order, so the result is the one stable partition
 * whatever the thread count) and gathers the gradients the next histograms read, (3)
 * histograms and split search, features shared out. The finish task sums each leaf's exact
 * gradients (whole leaves per thread, so sums never depend on the thread count) and adds
 * the leaf values to the rows' scores.
 *
 * This module imports only loop kernels so a worker loads little.
 */
import { OBJ_HUBER, OBJ_LOGISTIC, huberGradients, logisticGradients, squaredGradients } from './gradient-kernels';
import { addToRows, copyRows, copyRowsGather, drawBagChunk, maxAbsOf, packRows, partitionToScratch, sumRows } from './row-kernels';
import { histKernels, type HistKernels } from './wasm-hist';

/** Doubles per (slot, feature) best-split record: gain, bin, defaultLeft, GL, HL, CL. */
export const SPLIT_W = 6;
/** Ints per pair in a task: small, large, parent slot, begin, end, flags. */
export const PAIR_W = 6;
/**
 * Ints per node to partition: begin, end, mid (= begin + rows going left, known from the
 * split's histogram), feature, bin, defaultLeft, oob begin, oob end, gather (0 none, 1 the
 * left child's rows, 2 the right child's), oob mid (written by the task), number of chunks,
 * first work item.
 */
export const PART_W = 12;
/** Pair flag: find the best split of the small child. */
export const FLAG_SPLIT_SMALL = 1;
/** Pair flag: find the best split of the large child (parent − small). */
export const FLAG_SPLIT_LARGE = 2;
/**
 * Pair flag (packed mode, root): build the small histogram by scanning every row in
 * storage order with `pfull` (0 for rows outside the bag) instead of through `order`.
 */
export const FLAG_FULL_SCAN = 4;

/** Control words (Int32) shared by the coordinator and the workers. */
export const CTRL_GEN = 0;
export const CTRL_PENDING = 1;
export const CTRL_CMD = 2;
/** Set to 1 by a worker whose share threw; the coordinator then fails the training. */
export const CTRL_ERR = 3;
/** Arrivals at the barriers of the current task (reset to 0 before each task). */
export const CTRL_BARRIER = 4;
/** First of the work-queue counters (reset to 0 before each task); threads take items from them. */
export const CTRL_QUEUE = 5;
/** Work-queue counters per task. */
export const WORK_QUEUES = 6;
/** Int32 control words. */
export const CTRL_LEN = 16;
/** Rows per work item of the row-parallel phases (a fixed split, so results never depend on the thread count). */
export const CHUNK = 4096;

/** job[0]: what the task is. */
export const JOB_ROOT = 1;
export const JOB_LEVEL = 2;
export const JOB_FINISH = 3;
/** job words: kind, number of leaves (finish), bag size (written by the root task). */
export const JOB_KIND = 0;
export const JOB_LEAVES = 1;
export const JOB_NBAG = 2;
/** job word: work items of the task's partitions (written by the coordinator). */
export const JOB_ITEMS = 3;

/** params (Float64) words. */
export const P_LAMBDA = 0;
export const P_MIN_DATA = 1;
export const P_MIN_HESS = 2;
export const P_INV_SCALE = 3;
export const P_CB_MUL = 4;
export const P_HESS_CONST = 5;
export const P_OBJECTIVE = 6;
export const P_HUBER_DELTA = 7;
export const P_BAG_FRACTION = 8;
export const P_BAG_STATE = 9;
export const P_GRAD_RANGE = 10;
export const P_LEARNING_RATE = 11;
/**
 * 1: keep the gradients of the previous tree instead of computing them from the scores
 * (random forest mode: every tree fits the residuals of the base score, while the scores
 * still accumulate the trees for progress reports).
 */
export const P_FROZEN_GRADIENTS = 12;
export const PARAMS_LEN = 16;
export const CMD_RUN = 1;
export const CMD_EXIT = 2;

/** The buffers one training shares with its worker threads. */
export interface HistBuffers {
  nRows: number;
  /** Bytes between two feature columns of `bins` (nRows rounded up to a multiple of 4). */
  colStride: number;
  nFeatures: number;
  nSlots: number;
  /**
   * Doubles per histogram bin. 1 = packed mode (constant hessian): one double per bin
   * holding `Σq · 2^countBits + count`, where q are the gradients quantised to integers;
   * 3 = general mode: [grad sum, hess sum, count].
   */
  binStride: number;
  /** Doubles per histogram slot. */
  slotSize: number;
  maxPairs: number;
  maxParts: number;
  /**
   * One shared memory holding the hot arrays of the histogram and partition loops (see
   * ArenaRegions; byte ranges in `regions`): a shared WebAssembly.Memory, so that the wasm
   * kernels can run on them, or a SharedArrayBuffer where those are unavailable.
   */
  arena: WebAssembly.Memory | SharedArrayBuffer;
  regions: ArenaRegions;
  /** Int32: rows outside the bag, partitioned alongside `order`. */
  /** Float64 per row: targets, current scores, gradients, hessians (per-row hessians only). */
  label: SharedArrayBuffer;
  score: SharedArrayBuffer;
  grad: SharedArrayBuffer;
  hess: SharedArrayBuffer;
  /** Float64 per row chunk: partial results of the root task (max |g|, Σq). */
  partials: SharedArrayBuffer;
  /** Int32 per leaf: bag begin, end, oob begin, end (finish task). */
  leafRanges: SharedArrayBuffer;
  /** Float64 per leaf: G, H, value (written by the finish task). */
  leafStats: SharedArrayBuffer;
  /** Int32: job words (JOB_*). */
  job: SharedArrayBuffer;
  /** Int32: nParts, then parts[maxParts * PART_W]. */
  parts: SharedArrayBuffer;
  /** Int32: per work item (row chunk): rows going left or into the bag, (bag, oob). */
  counts: SharedArrayBuffer;
  oh: SharedArrayBuffer;
  /** Int32: featOff[F], nBins[F]. */
  meta: SharedArrayBuffer;
  /** Float64: per slot G, H, C, (unused). */
  sums: SharedArrayBuffer;
  split: SharedArrayBuffer;
  /** Int32: nPairs, nFeats, feats[F], pairs[maxPairs * PAIR_W]. */
  task: SharedArrayBuffer;
  /** Float64 parameters, indexed by the P_* constants. */
  params: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
}

/** Byte range of one array in the arena. */
export interface ArenaRegion {
  offset: number;
  bytes: number;
}

/**
 * bins: the feature-major binned matrix (colStride bytes per feature); order: Int32 bag rows;
 * og: Float64 ordered gradients; pfull: Float64 per row (colStride of them, zero-padded), the
 * packed gradient of the row (0 outside the bag), packed mode; hist: Float64 histogram slots.
 */
export interface ArenaRegions {
  bins: ArenaRegion;
  order: ArenaRegion;
  /** Int32: rows outside the bag, partitioned alongside `order`. */
  oob: ArenaRegion;
  /** Int32 scratch for partitions: left and right rows of bag chunks, then of oob chunks. */
  tmpA: ArenaRegion;
  tmpB: ArenaRegion;
  tmpOA: ArenaRegion;
  tmpOB: ArenaRegion;
  og: ArenaRegion;
  pfull: ArenaRegion;
  hist: ArenaRegion;
}

/** Typed views over {@link HistBuffers}. */
export interface HistViews {
  nRows: number;
  colStride: number;
  nFeatures: number;
  binStride: number;
  slotSize: number;
  bins: Uint8Array;
  bins32: Uint32Array;
  order: Int32Array;
  oob: Int32Array;
  tmpA: Int32Array;
  tmpB: Int32Array;
  tmpOA: Int32Array;
  tmpOB: Int32Array;
  label: Float64Array;
  score: Float64Array;
  grad: Float64Array;
  hess: Float64Array;
  partials: Float64Array;
  leafRanges: Int32Array;
  leafStats: Float64Array;
  job: Int32Array;
  parts: Int32Array;
  counts: Int32Array;
  og: Float64Array;
  oh: Float64Array;
  pfull: Float64Array;
  hist: Float64Array;
  featOff: Int32Array;
  nBins: Int32Array;
  sums: Float64Array;
  split: Float64Array;
  task: Int32Array;
  params: Float64Array;
  ctrl: Int32Array;
  /** This thread's wasm histogram kernels over the arena (null: the JavaScript loops). */
  wasm: HistKernels | null;
  /** Byte offsets of the arena's regions, for the wasm kernels. */
  addr: { bins: number; order: number; oob: number; tmpA: number; tmpB: number; tmpOA: number; tmpOB: number; og: number; pfull: number; hist: number };
}

export function makeViews(b: HistBuffers): HistViews {
  const meta = new Int32Array(b.meta);
  const arena = b.arena instanceof SharedArrayBuffer ? b.arena : (b.arena.buffer as SharedArrayBuffer);
  const r = b.regions;
  const i32 = (g: ArenaRegion): Int32Array => new Int32Array(arena, g.offset, g.bytes >> 2);
  return {
    nRows: b.nRows,
    colStride: b.colStride,
    nFeatures: b.nFeatures,
    binStride: b.binStride,
    slotSize: b.slotSize,
    bins: new Uint8Array(arena, r.bins.offset, r.bins.bytes),
    bins32: new Uint32Array(arena, r.bins.offset, r.bins.bytes >> 2),
    order: i32(r.order),
    oob: i32(r.oob),
    tmpA: i32(r.tmpA),
    tmpB: i32(r.tmpB),
    tmpOA: i32(r.tmpOA),
    tmpOB: i32(r.tmpOB),
    label: new Float64Array(b.label),
    score: new Float64Array(b.score),
    grad: new Float64Array(b.grad),
    hess: new Float64Array(b.hess),
    partials: new Float64Array(b.partials),
    leafRanges: new Int32Array(b.leafRanges),
    leafStats: new Float64Array(b.leafStats),
    job: new Int32Array(b.job),
    parts: new Int32Array(b.parts),
    counts: new Int32Array(b.counts),
    og: new Float64Array(arena, r.og.offset, r.og.bytes >> 3),
    oh: new Float64Array(b.oh),
    pfull: new Float64Array(arena, r.pfull.offset, r.pfull.bytes >> 3),
    hist: new Float64Array(arena, r.hist.offset, r.hist.bytes >> 3),
    featOff: meta.subarray(0, b.nFeatures),
    nBins: meta.subarray(b.nFeatures, 2 * b.nFeatures),
    sums: new Float64Array(b.sums),
    split: new Float64Array(b.split),
    task: new Int32Array(b.task),
    params: new Float64Array(b.params),
    ctrl: new Int32Array(b.ctrl),
    wasm: b.arena instanceof SharedArrayBuffer ? null : histKernels(b.arena),
    addr: {
      bins: r.bins.offset,
      order: r.order.offset,
      oob: r.oob.offset,
      tmpA: r.tmpA.offset,
      tmpB: r.tmpB.offset,
      tmpOA: r.tmpOA.offset,
      tmpOB: r.tmpOB.offset,
      og: r.og.offset,
      pfull: r.pfull.offset,
      hist: r.hist.offset,
    },
  };
}

/**
 * Packed histogram of one feature over rows `order[begin..end)`: one add per row of
 * `og[i] = q · 2^countBits + 1` (q = the row's quantised gradient), so a bin accumulates
 * `Σq · 2^countBits + count` exactly (integers below 2^53). One read-modify-write per row
 * instead of two halves the work of the hottest loop; loads are grouped before the stores
 * so V8 keeps the arrays' metadata in registers across eight rows.
 */
function histPacked(
  bins: Uint8Array,
  base: number,
  order: Int32Array,
  og: Float64Array,
  hist: Float64Array,
  off: number,
  begin: number,
  end: number,
): void {
  let i = begin;
  // eight rows per iteration; `| 0` keeps the index arithmetic in int32 (no overflow checks)
  for (; i + 7 < end; i += 8) {
    const b0 = (off + bins[(base + order[i]) | 0]) | 0;
    const b1 = (off + bins[(base + order[(i + 1) | 0]) | 0]) | 0;
    const b2 = (off + bins[(base + order[(i + 2) | 0]) | 0]) | 0;
    const b3 = (off + bins[(base + order[(i + 3) | 0]) | 0]) | 0;
    const b4 = (off + bins[(base + order[(i + 4) | 0]) | 0]) | 0;
    const b5 = (off + bins[(base + order[(i + 5) | 0]) | 0]) | 0;
    const b6 = (off + bins[(base + order[(i + 6) | 0]) | 0]) | 0;
    const b7 = (off + bins[(base + order[(i + 7) | 0]) | 0]) | 0;
    const g0 = og[i];
    const g1 = og[(i + 1) | 0];
    const g2 = og[(i + 2) | 0];
    const g3 = og[(i + 3) | 0];
    const g4 = og[(i + 4) | 0];
    const g5 = og[(i + 5) | 0];
    const g6 = og[(i + 6) | 0];
    const g7 = og[(i + 7) | 0];
    hist[b0] += g0;
    hist[b1] += g1;
    hist[b2] += g2;
    hist[b3] += g3;
    hist[b4] += g4;
    hist[b5] += g5;
    hist[b6] += g6;
    hist[b7] += g7;
  }
  for (; i < end; i = (i + 1) | 0) hist[(off + bins[(base + order[i]) | 0]) | 0] += og[i];
}

/**
 * Packed histogram of one feature over ALL rows in storage order (the root): `p[r]` is 0
 * for rows outside the bag, which adds nothing. Without the `order` indirection the bins
 * stream sequentially and are read four at a time as one 32-bit word (`w0` = the column's
 * first word; columns start on 4-byte boundaries and are zero-padded).
 */
function histPackedFull(bins32: Uint32Array, w0: number, p: Float64Array, hist: Float64Array, off: number, n: number): void {
  // `p` and the bin columns are zero-padded to a multiple of 4 rows, so no tail loop (a
  // never-run tail would also cost a deoptimisation on every call)
  for (let i = 0; i < n; i += 4) {
    const w = bins32[w0 + (i >> 2)];
    const g0 = p[i];
    const g1 = p[i + 1];
    const g2 = p[i + 2];
    const g3 = p[i + 3];
    hist[off + (w & 255)] += g0;
    hist[off + ((w >>> 8) & 255)] += g1;
    hist[off + ((w >>> 16) & 255)] += g2;
    hist[off + (w >>> 24)] += g3;
  }
}

/** As {@link histPackedFull} for two features at once (each packed gradient loaded once). */
function histPackedFull2(bins32: Uint32Array, w0: number, w1: number, p: Float64Array, hist: Float64Array, o0: number, o1: number, n: number): void {
  for (let i = 0; i < n; i += 4) {
    const j = i >> 2;
    const w = bins32[(w0 + j) | 0];
    const x = bins32[(w1 + j) | 0];
    const g0 = p[i];
    const g1 = p[(i + 1) | 0];
    const g2 = p[(i + 2) | 0];
    const g3 = p[(i + 3) | 0];
    hist[(o0 + (w & 255)) | 0] += g0;
    hist[(o1 + (x & 255)) | 0] += g0;
    hist[(o0 + ((w >>> 8) & 255)) | 0] += g1;
    hist[(o1 + ((x >>> 8) & 255)) | 0] += g1;
    hist[(o0 + ((w >>> 16) & 255)) | 0] += g2;
    hist[(o1 + ((x >>> 16) & 255)) | 0] += g2;
    hist[(o0 + (w >>> 24)) | 0] += g3;
    hist[(o1 + (x >>> 24)) | 0] += g3;
  }
}

/** Histogram with per-row hessians: per bin [grad sum, hess sum, count]. */
function histGeneral(
  bins: Uint8Array,
  base: number,
  order: Int32Array,
  og: Float64Array,
  oh: Float64Array,
  hist: Float64Array,
  off: number,
  begin: number,
  end: number,
): void {
  let i = begin;
  for (; i + 1 < end; i += 2) {
    const b0 = off + bins[base + order[i]] * 3;
    const b1 = off + bins[base + order[i + 1]] * 3;
    const g0 = og[i];
    const g1 = og[i + 1];
    const h0 = oh[i];
    const h1 = oh[i + 1];
    hist[b0] += g0;
    hist[b0 + 1] += h0;
    hist[b0 + 2] += 1;
    hist[b1] += g1;
    hist[b1 + 1] += h1;
    hist[b1 + 2] += 1;
  }
  if (i < end) {
    const b = off + bins[base + order[i]] * 3;
    hist[b] += og[i];
    hist[b + 1] += oh[i];
    hist[b + 2] += 1;
  }
}

/** Count part of a packed bin value `P = Q · 2^cb + C` (0 <= C < 2^cb). */
function packedCount(P: number, cbMul: number, invCb: number): number {
  return P - Math.floor(P * invCb) * cbMul;
}

/**
 * Best split of one feature of one node in packed mode (hessian 1 per row), written at
 * `split[o..o+SPLIT_W)`: gain (½·(GL²/(HL+λ) + GR²/(HR+λ) − G²/(H+λ)), −Infinity when no
 * valid split), threshold bin t (left = value bins 0..t), defaultLeft (NaN rows go left),
 * then the left child's Q (quantised gradient sum), H and C. Scans t ascending and keeps
 * the first maximum, so ties resolve the same way every time. Node totals are Q and C.
 */
function bestSplitPacked(
  hist: Float64Array,
  off: number,
  nb: number,
  Q: number,
  C: number,
  invScale: number,
  cbMul: number,
  lambda: number,
  minData: number,
  minHess: number,
  split: Float64Array,
  o: number,
): void {
  const invCb = 1 / cbMul;
  const Pm = hist[off + nb];
  const cm = packedCount(Pm, cbMul, invCb);
  const qm = (Pm - cm) * invCb;
  const G = Q * invScale;
  const parent = (G * G) / (C + lambda);
  let best = -Infinity;
  let bestT = -1;
  let bestDl = 0;
  let bQL = 0;
  let bCL = 0;
  let QL = 0;
  let CL = 0;
  const last = nb - 1;
  for (let t = 0; t < last; t++) {
    const P = hist[off + t];
    if (P === 0) continue; // empty bin: same partition as the previous threshold
    const c = packedCount(P, cbMul, invCb);
    QL += (P - c) * invCb;
    CL += c;
    // missing rows go right
    const CR = C - CL;
    if (CR < minData) break; // the right side only shrinks from here on
    if (CL >= minData && CR >= minData && CL >= minHess && CR >= minHess) {
      const GL = QL * invScale;
      const GR = G - GL;
      const gain = (GL * GL) / (CL + lambda) + (GR * GR) / (CR + lambda) - parent;
      if (gain > best) {
        best = gain;
        bestT = t;
        // without missing rows in this node, unseen NaNs follow the bigger child
        bestDl = cm > 0 ? 0 : CL >= CR ? 1 : 0;
        bQL = QL;
        bCL = CL;
      }
    }
    if (cm > 0) {
      // missing rows go left
      const CL2 = CL + cm;
      const CR2 = C - CL2;
      if (CL2 >= minData && CR2 >= minData && CL2 >= minHess && CR2 >= minHess) {
        const QL2 = QL + qm;
        const GL2 = QL2 * invScale;
        const GR2 = G - GL2;
        const gain = (GL2 * GL2) / (CL2 + lambda) + (GR2 * GR2) / (CR2 + lambda) - parent;
        if (gain > best) {
          best = gain;
          bestT = t;
          bestDl = 1;
          bQL = QL2;
          bCL = CL2;
        }
      }
    }
  }
  split[o] = bestT < 0 ? -Infinity : 0.5 * best;
  split[o + 1] = bestT;
  split[o + 2] = bestDl;
  split[o + 3] = bQL;
  split[o + 4] = bCL;
  split[o + 5] = bCL;
}

/** As {@link bestSplitPacked} for general mode: bins [G, H, C]; node totals G, H, C. */
function bestSplitGeneral(
  hist: Float64Array,
  off: number,
  nb: number,
  G: number,
  H: number,
  C: number,
  lambda: number,
  minData: number,
  minHess: number,
  split: Float64Array,
  o: number,
): void {
  const mo = off + nb * 3;
  const gm = hist[mo];
  const hm = hist[mo + 1];
  const cm = hist[mo + 2];
  const parent = (G * G) / (H + lambda);
  let best = -Infinity;
  let bestT = -1;
  let bestDl = 0;
  let bGL = 0;
  let bHL = 0;
  let bCL = 0;
  let GL = 0;
  let HL = 0;
  let CL = 0;
  const last = nb - 1;
  for (let t = 0; t < last; t++) {
    const p = off + t * 3;
    const c = hist[p + 2];
    if (c === 0) continue;
    GL += hist[p];
    HL += hist[p + 1];
    CL += c;
    const CR = C - CL;
    if (CR < minData) break; // the right side only shrinks from here on
    const HR = H - HL;
    if (CL >= minData && CR >= minData && HL >= minHess && HR >= minHess) {
      const GR = G - GL;
      const gain = (GL * GL) / (HL + lambda) + (GR * GR) / (HR + lambda) - parent;
      if (gain > best) {
        best = gain;
        bestT = t;
        bestDl = cm > 0 ? 0 : CL >= CR ? 1 : 0;
        bGL = GL;
        bHL = HL;
        bCL = CL;
      }
    }
    if (cm > 0) {
      const GL2 = GL + gm;
      const HL2 = HL + hm;
      const CL2 = CL + cm;
      const CR2 = C - CL2;
      const HR2 = H - HL2;
      if (CL2 >= minData && CR2 >= minData && HL2 >= minHess && HR2 >= minHess) {
        const GR2 = G - GL2;
        const gain = (GL2 * GL2) / (HL2 + lambda) + (GR2 * GR2) / (HR2 + lambda) - parent;
        if (gain > best) {
          best = gain;
          bestT = t;
          bestDl = 1;
          bGL = GL2;
          bHL = HL2;
          bCL = CL2;
        }
      }
    }
  }
  split[o] = bestT < 0 ? -Infinity : 0.5 * best;
  split[o + 1] = bestT;
  split[o + 2] = bestDl;
  split[o + 3] = bGL;
  split[o + 4] = bHL;
  split[o + 5] = bCL;
}

/** Busy-wait iterations at a barrier before sleeping on it. */
const BARRIER_SPIN = 2000;

/** Waits until `phase · nThreads` arrivals (every thread reached this phase's barrier). */
function barrier(ctrl: Int32Array, phase: number, nThreads: number): void {
  if (nThreads === 1) return;
  const target = phase * nThreads;
  let seen = Atomics.add(ctrl, CTRL_BARRIER, 1) + 1;
  if (seen >= target) {
    Atomics.notify(ctrl, CTRL_BARRIER);
    return;
  }
  for (let s = 0; seen < target && s < BARRIER_SPIN; s++) seen = Atomics.load(ctrl, CTRL_BARRIER);
  while (seen < target) {
    Atomics.wait(ctrl, CTRL_BARRIER, seen, 1000);
    seen = Atomics.load(ctrl, CTRL_BARRIER);
  }
}

/** Next work item from queue q of the current task. */
function take(ctrl: Int32Array, q: number): number {
  return Atomics.add(ctrl, CTRL_QUEUE + q, 1);
}

/** Queues of the task kinds (each phase has its own counter). */
const Q_ROOT_A = 0;
const Q_ROOT_B = 1;
const Q_PART_1 = 2;
const Q_PART_2 = 3;
const Q_PAIRS = 4;
const Q_FINISH_1 = 0;
const Q_FINISH_2 = 1;

/** Start of chunk c of [begin, end) split into k chunks. */
function chunkStart(begin: number, end: number, c: number, k: number): number {
  return begin + Math.floor(((end - begin) * c) / k);
}

/** Chunks of CHUNK rows (at least one) for n rows. */
export function chunksFor(n: number): number {
  return Math.max(1, Math.ceil(n / CHUNK));
}

/**
 * One thread's part of the current task: the root prologue or the partitions, then
 * histograms and split search of the task's pairs; or the finish task.
 */
export function runShare(v: HistViews, thread: number, nThreads: number): void {
  const kind = v.job[JOB_KIND];
  if (kind === JOB_FINISH) {
    finishTree(v, nThreads);
    return;
  }
  let phase = 0;
  if (kind === JOB_ROOT) phase = rootPrologue(v, thread, nThreads);
  if (v.parts[0] > 0) {
    const ctrl = v.ctrl;
    const items = v.job[JOB_ITEMS];
    for (let i = take(ctrl, Q_PART_1); i < items; i = take(ctrl, Q_PART_1)) partitionItem(v, i);
    barrier(ctrl, ++phase, nThreads);
    for (let i = take(ctrl, Q_PART_2); i < items; i = take(ctrl, Q_PART_2)) placeItem(v, i);
    barrier(ctrl, phase + 1, nThreads);
  }
  buildPairs(v);
}

/**
 * The root task's first phases, by chunks of rows: gradients (unless frozen), bag draw (into scratch lists),
 * max |g| of the bag; then the bag's final order, the packed gradients and their exact
 * integer sums; then (thread 0) the root's totals. Returns the number of barriers passed.
 */
function rootPrologue(v: HistViews, t: number, T: number): number {
  const { params, partials, counts, tmpA, tmpB, grad, ctrl } = v;
  const n = v.nRows;
  const K = chunksFor(n);
  const kernel = params[P_OBJECTIVE];
  const bagging = params[P_BAG_FRACTION] < 1;
  const packed = v.binStride === 1;
  const fresh = params[P_FROZEN_GRADIENTS] !== 1;
  for (let c = take(ctrl, Q_ROOT_A); c < K; c = take(ctrl, Q_ROOT_A)) {
    const r0 = chunkStart(0, n, c, K);
    const r1 = chunkStart(0, n, c + 1, K);
    // (random forest: every tree after the first keeps the first tree's gradients)
    if (fresh) {
      if (kernel === OBJ_LOGISTIC) logisticGradients(v.label, v.score, grad, v.hess, r0, r1);
      else if (kernel === OBJ_HUBER) huberGradients(v.label, v.score, grad, params[P_HUBER_DELTA], r0, r1);
      else squaredGradients(v.label, v.score, grad, r0, r1);
    }
    let k = r1 - r0;
    if (bagging) k = drawBagChunk(params[P_BAG_STATE], params[P_BAG_FRACTION], r0, r1, tmpA, tmpB);
    else identityRows(tmpA, r0, r1);
    counts[c * 2] = k;
    if (packed) partials[c * 2] = maxAbsOf(grad, tmpA.subarray(r0, r1), k);
  }
  barrier(ctrl, 1, T);

  let maxAbs = 0;
  if (packed) for (let c = 0; c < K; c++) if (partials[c * 2] > maxAbs) maxAbs = partials[c * 2];
  const scale = maxAbs > 0 ? params[P_GRAD_RANGE] / maxAbs : 1;
  for (let c = take(ctrl, Q_ROOT_B); c < K; c = take(ctrl, Q_ROOT_B)) {
    const r0 = chunkStart(0, n, c, K);
    const r1 = chunkStart(0, n, c + 1, K);
    let before = 0;
    let oBefore = 0;
    for (let u = 0; u < c; u++) {
      before += counts[u * 2];
      oBefore += chunkStart(0, n, u + 1, K) - chunkStart(0, n, u, K) - counts[u * 2];
    }
    const k = counts[c * 2];
    copyRows(tmpA, r0, k, v.order, before);
    if (bagging) copyRows(tmpB, r0, r1 - r0 - k, v.oob, oBefore);
    if (packed) {
      if (bagging) zeroRows(v.pfull, tmpB.subarray(r0, r1), r1 - r0 - k);
      partials[c * 2 + 1] = packRows(grad, tmpA.subarray(r0, r1), k, scale, params[P_CB_MUL], v.pfull);
    } else {
      copyRowsGather(tmpA, r0, k, v.order, before, grad, v.og);
      const hc = params[P_HESS_CONST];
      if (hc > 0) v.oh.fill(hc, before, before + k);
      else copyRowsGather(tmpA, r0, k, v.order, before, v.hess, v.oh);
    }
  }
  barrier(ctrl, 2, T);

  if (t === 0) {
    if (packed) params[P_INV_SCALE] = 1 / scale;
    let nBag = 0;
    for (let c = 0; c < K; c++) nBag += counts[c * 2];
    v.job[JOB_NBAG] = nBag;
    const q = 2 + v.nFeatures; // the root pair
    v.task[q + 4] = nBag;
    const slot = v.task[q];
    let G = 0;
    let H = nBag;
    if (packed) {
      for (let c = 0; c < K; c++) G += partials[c * 2 + 1];
    } else {
      // row order, one thread: the same sums for any thread count
      G = sumRows(grad, v.order, 0, nBag);
      const hc = params[P_HESS_CONST];
      H = hc > 0 ? nBag * hc : sumRows(v.hess, v.order, 0, nBag);
    }
    v.sums[slot * 4] = G;
    v.sums[slot * 4 + 1] = H;
    v.sums[slot * 4 + 2] = nBag;
  }
  barrier(ctrl, 3, T);
  return 3;
}

/** rows[r] = r for r in [r0, r1). */
function identityRows(rows: Int32Array, r0: number, r1: number): void {
  for (let r = r0; r < r1; r++) rows[r] = r;
}

/** p[rows[j]] = 0 for j < n. */
function zeroRows(p: Float64Array, rows: Int32Array, n: number): void {
  for (let j = 0; j < n; j++) p[rows[j]] = 0;
}

/**
 * The finish task: exact G and H of whole leaves (each summed in row order by one thread)
 * and their values −G/(H+λ)·lr as float32; then every row's score gets its leaf's value,
 * by chunks of bag positions and of oob positions.
 */
function finishTree(v: HistViews, T: number): void {
  const { params, leafRanges, leafStats, order, oob, grad, score, ctrl } = v;
  const L = v.job[JOB_LEAVES];
  const lambda = params[P_LAMBDA];
  const lr = params[P_LEARNING_RATE];
  const hc = params[P_HESS_CONST];
  for (let l = take(ctrl, Q_FINISH_1); l < L; l = take(ctrl, Q_FINISH_1)) {
    const b = leafRanges[l * 4];
    const e = leafRanges[l * 4 + 1];
    const G = sumRows(grad, order, b, e);
    const H = hc > 0 ? (e - b) * hc : sumRows(v.hess, order, b, e);
    leafStats[l * 3] = G;
    leafStats[l * 3 + 1] = H;
    leafStats[l * 3 + 2] = Math.fround((-G / (H + lambda)) * lr);
  }
  barrier(ctrl, 1, T);
  const nBag = v.job[JOB_NBAG];
  const nOob = v.nRows - nBag;
  const K1 = chunksFor(nBag);
  const K2 = nOob > 0 ? chunksFor(nOob) : 0;
  for (let i = take(ctrl, Q_FINISH_2); i < K1 + K2; i = take(ctrl, Q_FINISH_2)) {
    const inBag = i < K1;
    const rows = inBag ? order : oob;
    const c0 = inBag ? chunkStart(0, nBag, i, K1) : chunkStart(0, nOob, i - K1, K2);
    const c1 = inBag ? chunkStart(0, nBag, i + 1, K1) : chunkStart(0, nOob, i - K1 + 1, K2);
    const off = inBag ? 0 : 2;
    for (let l = 0; l < L; l++) {
      const b = Math.max(c0, leafRanges[l * 4 + off]);
      const e = Math.min(c1, leafRanges[l * 4 + off + 1]);
      if (b < e) addToRows(score, rows, b, e, leafStats[l * 3 + 2]);
    }
  }
}

/** The part whose work items include item i (parts list their first item and count). */
function partOfItem(parts: Int32Array, i: number): number {
  const nParts = parts[0];
  let p = 0;
  while (p + 1 < nParts && parts[1 + (p + 1) * PART_W + 11] <= i) p++;
  return p;
}

/** Phase 1: chunk c of node p (work item i), bag rows and oob rows, into the scratch lists. */
function partitionItem(v: HistViews, i: number): void {
  const { parts, counts, colStride, nBins } = v;
  const p = partOfItem(parts, i);
  const q = 1 + p * PART_W;
  const begin = parts[q];
  const end = parts[q + 1];
  const f = parts[q + 3];
  const bin = parts[q + 4];
  const dl = parts[q + 5];
  const ob = parts[q + 6];
  const oe = parts[q + 7];
  const K = parts[q + 10];
  const c = i - parts[q + 11];
  const base = f * colStride;
  const miss = nBins[f];
  const cb = chunkStart(begin, end, c, K);
  const ce = chunkStart(begin, end, c + 1, K);
  const { wasm, addr } = v;
  if (wasm !== null) {
    counts[i * 2] = wasm.partition(addr.order, addr.tmpA, addr.tmpB, addr.bins + base, miss, bin, dl, cb, ce);
  } else counts[i * 2] = partitionToScratch(v.order, v.tmpA, v.tmpB, v.bins, base, miss, bin, dl, cb, ce);
  const ocb = chunkStart(ob, oe, c, K);
  const oce = chunkStart(ob, oe, c + 1, K);
  if (wasm !== null) {
    counts[i * 2 + 1] = wasm.partition(addr.oob, addr.tmpOA, addr.tmpOB, addr.bins + base, miss, bin, dl, ocb, oce);
  } else counts[i * 2 + 1] = partitionToScratch(v.oob, v.tmpOA, v.tmpOB, v.bins, base, miss, bin, dl, ocb, oce);
}

/**
 * Phase 2: moves chunk c of node p (work item i) to its final places — left rows after the
 * left rows of the chunks before it, right rows likewise after `mid` — and gathers the
 * ordered gradients of the child whose histogram is built next.
 */
function placeItem(v: HistViews, i: number): void {
  const { parts, counts } = v;
  const p = partOfItem(parts, i);
  const q = 1 + p * PART_W;
  const begin = parts[q];
  const end = parts[q + 1];
  const mid = parts[q + 2];
  const ob = parts[q + 6];
  const oe = parts[q + 7];
  const gather = parts[q + 8];
  const K = parts[q + 10];
  const first = parts[q + 11];
  const c = i - first;
  let lBefore = 0;
  let rBefore = 0;
  let olBefore = 0;
  let orBefore = 0;
  for (let u = 0; u < c; u++) {
    const lc = counts[(first + u) * 2];
    const olc = counts[(first + u) * 2 + 1];
    lBefore += lc;
    rBefore += chunkStart(begin, end, u + 1, K) - chunkStart(begin, end, u, K) - lc;
    olBefore += olc;
    orBefore += chunkStart(ob, oe, u + 1, K) - chunkStart(ob, oe, u, K) - olc;
  }
  let olAll = olBefore;
  for (let u = c; u < K; u++) olAll += counts[(first + u) * 2 + 1];
  const cb = chunkStart(begin, end, c, K);
  const ce = chunkStart(begin, end, c + 1, K);
  const lc = counts[i * 2];
  placeRows(v, v.tmpA, cb, lc, begin + lBefore, gather === 1);
  placeRows(v, v.tmpB, cb, ce - cb - lc, mid + rBefore, gather === 2);
  const omid = ob + olAll;
  const ocb = chunkStart(ob, oe, c, K);
  const oce = chunkStart(ob, oe, c + 1, K);
  const olc = counts[i * 2 + 1];
  copyRows(v.tmpOA, ocb, olc, v.oob, ob + olBefore);
  copyRows(v.tmpOB, ocb, oce - ocb - olc, v.oob, omid + orBefore);
  if (c === 0) parts[q + 9] = omid;
}

/** Copies n rows from src[from..] to order[to..], gathering their gradients when asked. */
function placeRows(v: HistViews, src: Int32Array, from: number, n: number, to: number, gather: boolean): void {
  if (!gather) {
    copyRows(src, from, n, v.order, to);
    return;
  }
  if (v.binStride === 1) {
    copyRowsGather(src, from, n, v.order, to, v.pfull, v.og);
    return;
  }
  copyRowsGather(src, from, n, v.order, to, v.grad, v.og);
  const hc = v.params[P_HESS_CONST];
  if (hc > 0) v.oh.fill(hc, to, to + n);
  else copyRowsGather(src, from, n, v.order, to, v.hess, v.oh);
}

/**
 * Phase 3: histograms and best splits of the task's pairs. Work items are (pair, feature):
 * build the small child's histogram, derive the large child's by subtraction from the
 * parent, find both children's best splits. The root (one pair, full scan) takes features
 * two at a time.
 */
function buildPairs(v: HistViews): void {
  const { task, ctrl } = v;
  const nPairs = task[0];
  const nFeats = task[1];
  if (nPairs === 0) return;
  const pairs = 2 + v.nFeatures;
  if ((task[pairs + 5] & FLAG_FULL_SCAN) !== 0) {
    const units = (nFeats + 1) >> 1;
    for (let u = take(ctrl, Q_PAIRS); u < units; u = take(ctrl, Q_PAIRS)) {
      const k = 2 * u;
      rootHistograms(v, task[pairs], task[2 + k], k + 1 < nFeats ? task[3 + k] : -1);
      finishFeature(v, pairs, task[2 + k]);
      if (k + 1 < nFeats) finishFeature(v, pairs, task[3 + k]);
    }
    return;
  }
  const items = nPairs * nFeats;
  for (let i = take(ctrl, Q_PAIRS); i < items; i = take(ctrl, Q_PAIRS)) {
    const q = pairs + Math.floor(i / nFeats) * PAIR_W;
    const f = task[2 + (i % nFeats)];
    pairHistogram(v, q, f);
    finishFeature(v, q, f);
  }
}

/** Root histograms of features f0 and f1 (f1 < 0: none) in slot `small`, by a full scan. */
function rootHistograms(v: HistViews, small: number, f0: number, f1: number): void {
  const { hist, featOff, nBins, bins32, pfull, colStride, slotSize } = v;
  const o0 = small * slotSize + featOff[f0];
  hist.fill(0, o0, o0 + nBins[f0] + 1);
  const { wasm, addr } = v;
  if (f1 < 0) {
    if (wasm !== null) wasm.full(addr.bins + f0 * colStride, addr.pfull, addr.hist + o0 * 8, v.nRows);
    else histPackedFull(bins32, (f0 * colStride) >> 2, pfull, hist, o0, v.nRows);
    return;
  }
  const o1 = small * slotSize + featOff[f1];
  hist.fill(0, o1, o1 + nBins[f1] + 1);
  if (wasm !== null) wasm.full2(addr.bins + f0 * colStride, addr.bins + f1 * colStride, addr.pfull, addr.hist + o0 * 8, addr.hist + o1 * 8, v.nRows);
  else histPackedFull2(bins32, (f0 * colStride) >> 2, (f1 * colStride) >> 2, pfull, hist, o0, o1, v.nRows);
}

/** The small child's histogram of feature f for the pair at task[q..]. */
function pairHistogram(v: HistViews, q: number, f: number): void {
  const { task, hist, featOff, nBins, slotSize, colStride } = v;
  const small = task[q];
  const begin = task[q + 3];
  const end = task[q + 4];
  const offS = small * slotSize + featOff[f];
  hist.fill(0, offS, offS + (nBins[f] + 1) * v.binStride);
  if (v.binStride === 1) {
    if (v.wasm !== null) v.wasm.packed(v.addr.bins + f * colStride, v.addr.order, v.addr.og, v.addr.hist + offS * 8, begin, end);
    else histPacked(v.bins, f * colStride, v.order, v.og, hist, offS, begin, end);
  }
  else histGeneral(v.bins, f * colStride, v.order, v.og, v.oh, hist, offS, begin, end);
}

/** Subtraction (large = parent − small) and split search for feature f of the pair at task[q..]. */
function finishFeature(v: HistViews, q: number, f: number): void {
  const { task, hist, featOff, nBins, sums, split, params, slotSize } = v;
  const small = task[q];
  const large = task[q + 1];
  const parent = task[q + 2];
  const flags = task[q + 5];
  const nb = nBins[f];
  const len = (nb + 1) * v.binStride;
  const offS = small * slotSize + featOff[f];
  const offL = large * slotSize + featOff[f];
  if (parent >= 0) {
    const offP = parent * slotSize + featOff[f];
    for (let j = 0; j < len; j++) hist[offL + j] = hist[offP + j] - hist[offS + j];
  }
  const nF = v.nFeatures;
  const lambda = params[P_LAMBDA];
  const minData = params[P_MIN_DATA];
  const minHess = params[P_MIN_HESS];
  for (let side = 0; side < 2; side++) {
    if ((flags & (side === 0 ? FLAG_SPLIT_SMALL : FLAG_SPLIT_LARGE)) === 0) continue;
    const slot = side === 0 ? small : large;
    const off = side === 0 ? offS : offL;
    const o = (slot * nF + f) * SPLIT_W;
    if (v.binStride === 1) {
      bestSplitPacked(hist, off, nb, sums[slot * 4], sums[slot * 4 + 2], params[P_INV_SCALE], params[P_CB_MUL], lambda, minData, minHess, split, o);
    } else {
      bestSplitGeneral(hist, off, nb, sums[slot * 4], sums[slot * 4 + 1], sums[slot * 4 + 2], lambda, minData, minHess, split, o);
    }
  }
}
