/**
 * The histogram engine's shared memory and its hot loops. Everything here is plain typed
 * arrays over SharedArrayBuffers so the main thread and the worker threads
 * (hist-worker.ts) run the very same code on the very same memory.
 *
 * Determinism: a thread owns whole features, and a feature's histogram is always summed
 * row by row in partition order, whichever thread does it. So histograms, gains and
 * therefore models are bit-identical for any thread count.
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

/** Doubles per (slot, feature) best-split record: gain, bin, defaultLeft, GL, HL, CL. */
export const SPLIT_W = 6;
/** Ints per pair in a task: small, large, parent slot, begin, end, flags. */
export const PAIR_W = 6;
/**
 * Ints per node to partition: begin, end, mid (= begin + rows going left, known from the
 * split's histogram), feature, bin, defaultLeft, oob begin, oob end, gather (0 none, 1 the
 * left child's rows, 2 the right child's), oob mid (written by the task).
 */
export const PART_W = 10;
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

/** job[0]: what the task is. */
export const JOB_ROOT = 1;
export const JOB_LEVEL = 2;
export const JOB_FINISH = 3;
/** job words: kind, number of leaves (finish), bag size (written by the root task). */
export const JOB_KIND = 0;
export const JOB_LEAVES = 1;
export const JOB_NBAG = 2;

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
  /** Most threads a task may be split into (sizes the per-chunk counts). */
  maxThreads: number;
  bins: SharedArrayBuffer;
  order: SharedArrayBuffer;
  /** Int32: rows outside the bag, partitioned alongside `order`. */
  oob: SharedArrayBuffer;
  /** Int32 scratch for partitions: left and right rows of bag chunks, then of oob chunks. */
  tmpA: SharedArrayBuffer;
  tmpB: SharedArrayBuffer;
  tmpOA: SharedArrayBuffer;
  tmpOB: SharedArrayBuffer;
  /** Float64 per row: targets, current scores, gradients, hessians (per-row hessians only). */
  label: SharedArrayBuffer;
  score: SharedArrayBuffer;
  grad: SharedArrayBuffer;
  hess: SharedArrayBuffer;
  /** Float64 per thread: partial results of the root task (max |g|, Σq). */
  partials: SharedArrayBuffer;
  /** Int32 per leaf: bag begin, end, oob begin, end (finish task). */
  leafRanges: SharedArrayBuffer;
  /** Float64 per leaf: G, H, value (written by the finish task). */
  leafStats: SharedArrayBuffer;
  /** Int32: job words (JOB_*). */
  job: SharedArrayBuffer;
  /** Int32: nParts, then parts[maxParts * PART_W]. */
  parts: SharedArrayBuffer;
  /** Int32: per part, per thread: rows of the chunk going left (bag, oob). */
  counts: SharedArrayBuffer;
  og: SharedArrayBuffer;
  oh: SharedArrayBuffer;
  /** Float64 per row (colStride of them, zero-padded): the packed gradient of the row (0 outside the bag), packed mode. */
  pfull: SharedArrayBuffer;
  hist: SharedArrayBuffer;
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
}

export function makeViews(b: HistBuffers): HistViews {
  const meta = new Int32Array(b.meta);
  return {
    nRows: b.nRows,
    colStride: b.colStride,
    nFeatures: b.nFeatures,
    binStride: b.binStride,
    slotSize: b.slotSize,
    bins: new Uint8Array(b.bins),
    bins32: new Uint32Array(b.bins, 0, b.bins.byteLength >> 2),
    order: new Int32Array(b.order),
    oob: new Int32Array(b.oob),
    tmpA: new Int32Array(b.tmpA),
    tmpB: new Int32Array(b.tmpB),
    tmpOA: new Int32Array(b.tmpOA),
    tmpOB: new Int32Array(b.tmpOB),
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
    og: new Float64Array(b.og),
    oh: new Float64Array(b.oh),
    pfull: new Float64Array(b.pfull),
    hist: new Float64Array(b.hist),
    featOff: meta.subarray(0, b.nFeatures),
    nBins: meta.subarray(b.nFeatures, 2 * b.nFeatures),
    sums: new Float64Array(b.sums),
    split: new Float64Array(b.split),
    task: new Int32Array(b.task),
    params: new Float64Array(b.params),
    ctrl: new Int32Array(b.ctrl),
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

/** Start of thread t's chunk of [begin, end) split into nThreads chunks. */
function chunkStart(begin: number, end: number, t: number, nThreads: number): number {
  return begin + Math.floor(((end - begin) * t) / nThreads);
}

/**
 * One thread's share of the current task: partition (if any nodes are being split), then
 * for every pair, for the thread's slice of the tree's features, build the small child's
 * histogram, derive the large child's by subtraction from the parent, and find both
 * children's best splits.
 */
export function runShare(v: HistViews, thread: number, nThreads: number): void {
  const kind = v.job[JOB_KIND];
  if (kind === JOB_FINISH) {
    finishTree(v, thread, nThreads);
    return;
  }
  let phase = 0;
  if (kind === JOB_ROOT) phase = rootPrologue(v, thread, nThreads);
  const nParts = v.parts[0];
  if (nParts > 0) {
    for (let p = 0; p < nParts; p++) partitionChunk(v, p, thread, nThreads);
    barrier(v.ctrl, ++phase, nThreads);
    for (let p = 0; p < nParts; p++) placeChunk(v, p, thread, nThreads);
    barrier(v.ctrl, ++phase, nThreads);
  }
  buildPairs(v, thread, nThreads);
}

/**
 * The root task's first phases, over this thread's chunk of rows: gradients, bag draw
 * (into scratch lists), max |g| of the bag; then the bag's final order, the packed
 * gradients and their exact integer sum; then (thread 0) the root's totals. Returns the
 * number of barriers passed.
 */
function rootPrologue(v: HistViews, t: number, T: number): number {
  const { params, partials, counts, tmpA, tmpB, grad } = v;
  const n = v.nRows;
  const r0 = chunkStart(0, n, t, T);
  const r1 = chunkStart(0, n, t + 1, T);
  const kernel = params[P_OBJECTIVE];
  if (kernel === OBJ_LOGISTIC) logisticGradients(v.label, v.score, grad, v.hess, r0, r1);
  else if (kernel === OBJ_HUBER) huberGradients(v.label, v.score, grad, params[P_HUBER_DELTA], r0, r1);
  else squaredGradients(v.label, v.score, grad, r0, r1);
  const bagging = params[P_BAG_FRACTION] < 1;
  let k = r1 - r0;
  if (bagging) k = drawBagChunk(params[P_BAG_STATE], params[P_BAG_FRACTION], r0, r1, tmpA, tmpB);
  else for (let r = r0; r < r1; r++) tmpA[r] = r;
  counts[t * 2] = k;
  const packed = v.binStride === 1;
  if (packed) partials[t * 2] = maxAbsOf(grad, tmpA.subarray(r0, r1), k);
  barrier(v.ctrl, 1, T);

  let maxAbs = 0;
  let before = 0;
  let oBefore = 0;
  for (let u = 0; u < T; u++) {
    if (packed && partials[u * 2] > maxAbs) maxAbs = partials[u * 2];
    if (u < t) {
      before += counts[u * 2];
      oBefore += chunkStart(0, n, u + 1, T) - chunkStart(0, n, u, T) - counts[u * 2];
    }
  }
  copyRows(tmpA, r0, k, v.order, before);
  if (bagging) copyRows(tmpB, r0, r1 - r0 - k, v.oob, oBefore);
  if (packed) {
    const scale = maxAbs > 0 ? params[P_GRAD_RANGE] / maxAbs : 1;
    const bagRows = tmpA.subarray(r0, r1);
    if (bagging) zeroRows(v.pfull, tmpB.subarray(r0, r1), r1 - r0 - k);
    partials[t * 2 + 1] = packRows(grad, bagRows, k, scale, params[P_CB_MUL], v.pfull);
    if (t === 0) params[P_INV_SCALE] = 1 / scale;
  } else {
    copyRowsGather(tmpA, r0, k, v.order, before, grad, v.og);
    const hc = params[P_HESS_CONST];
    if (hc > 0) v.oh.fill(hc, before, before + k);
    else copyRowsGather(tmpA, r0, k, v.order, before, v.hess, v.oh);
  }
  barrier(v.ctrl, 2, T);

  if (t === 0) {
    let nBag = 0;
    for (let u = 0; u < T; u++) nBag += counts[u * 2];
    v.job[JOB_NBAG] = nBag;
    const q = 2 + v.nFeatures; // the root pair
    v.task[q + 4] = nBag;
    const slot = v.task[q];
    let G = 0;
    let H = nBag;
    if (packed) {
      for (let u = 0; u < T; u++) G += partials[u * 2 + 1];
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
  barrier(v.ctrl, 3, T);
  return 3;
}

/** p[rows[j]] = 0 for j < n. */
function zeroRows(p: Float64Array, rows: Int32Array, n: number): void {
  for (let j = 0; j < n; j++) p[rows[j]] = 0;
}

/**
 * The finish task: exact G and H of whole leaves (leaf l on thread l mod T, summed in row
 * order) and their values −G/(H+λ)·lr as float32; then every row's score gets its leaf's
 * value (this thread's chunk of bag positions and of oob positions).
 */
function finishTree(v: HistViews, t: number, T: number): void {
  const { params, leafRanges, leafStats, order, oob, grad, score } = v;
  const L = v.job[JOB_LEAVES];
  const lambda = params[P_LAMBDA];
  const lr = params[P_LEARNING_RATE];
  const hc = params[P_HESS_CONST];
  for (let l = t; l < L; l += T) {
    const b = leafRanges[l * 4];
    const e = leafRanges[l * 4 + 1];
    const G = sumRows(grad, order, b, e);
    const H = hc > 0 ? (e - b) * hc : sumRows(v.hess, order, b, e);
    leafStats[l * 3] = G;
    leafStats[l * 3 + 1] = H;
    leafStats[l * 3 + 2] = Math.fround((-G / (H + lambda)) * lr);
  }
  barrier(v.ctrl, 1, T);
  const nBag = v.job[JOB_NBAG];
  const nOob = v.nRows - nBag;
  const c0 = chunkStart(0, nBag, t, T);
  const c1 = chunkStart(0, nBag, t + 1, T);
  const o0 = chunkStart(0, nOob, t, T);
  const o1 = chunkStart(0, nOob, t + 1, T);
  for (let l = 0; l < L; l++) {
    const val = leafStats[l * 3 + 2];
    const b = Math.max(c0, leafRanges[l * 4]);
    const e = Math.min(c1, leafRanges[l * 4 + 1]);
    if (b < e) addToRows(score, order, b, e, val);
    const ob = Math.max(o0, leafRanges[l * 4 + 2]);
    const oe = Math.min(o1, leafRanges[l * 4 + 3]);
    if (ob < oe) addToRows(score, oob, ob, oe, val);
  }
}

/** Phase 1: this thread's chunk of node p, bag rows and oob rows, into the scratch lists. */
function partitionChunk(v: HistViews, p: number, t: number, T: number): void {
  const q = 1 + p * PART_W;
  const { parts, counts, colStride, nBins } = v;
  const begin = parts[q];
  const end = parts[q + 1];
  const f = parts[q + 3];
  const bin = parts[q + 4];
  const dl = parts[q + 5];
  const ob = parts[q + 6];
  const oe = parts[q + 7];
  const base = f * colStride;
  const miss = nBins[f];
  const cb = chunkStart(begin, end, t, T);
  const ce = chunkStart(begin, end, t + 1, T);
  counts[(p * T + t) * 2] = partitionToScratch(v.order, v.tmpA, v.tmpB, v.bins, base, miss, bin, dl, cb, ce);
  const ocb = chunkStart(ob, oe, t, T);
  const oce = chunkStart(ob, oe, t + 1, T);
  counts[(p * T + t) * 2 + 1] = partitionToScratch(v.oob, v.tmpOA, v.tmpOB, v.bins, base, miss, bin, dl, ocb, oce);
}

/**
 * Phase 2: moves this thread's chunk of node p to its final places — left rows after the
 * left rows of the chunks before it, right rows likewise after `mid` — and gathers the
 * ordered gradients of the child whose histogram is built next.
 */
function placeChunk(v: HistViews, p: number, t: number, T: number): void {
  const q = 1 + p * PART_W;
  const { parts, counts } = v;
  const begin = parts[q];
  const end = parts[q + 1];
  const mid = parts[q + 2];
  const ob = parts[q + 6];
  const oe = parts[q + 7];
  const gather = parts[q + 8];
  let lBefore = 0;
  let rBefore = 0;
  let olBefore = 0;
  let orBefore = 0;
  let olAll = 0;
  for (let u = 0; u < T; u++) {
    const lc = counts[(p * T + u) * 2];
    const olc = counts[(p * T + u) * 2 + 1];
    if (u < t) {
      lBefore += lc;
      rBefore += chunkStart(begin, end, u + 1, T) - chunkStart(begin, end, u, T) - lc;
      olBefore += olc;
      orBefore += chunkStart(ob, oe, u + 1, T) - chunkStart(ob, oe, u, T) - olc;
    }
    olAll += olc;
  }
  const cb = chunkStart(begin, end, t, T);
  const ce = chunkStart(begin, end, t + 1, T);
  const lc = counts[(p * T + t) * 2];
  const rc = ce - cb - lc;
  placeRows(v, v.tmpA, cb, lc, begin + lBefore, gather === 1);
  placeRows(v, v.tmpB, cb, rc, mid + rBefore, gather === 2);
  const omid = ob + olAll;
  const ocb = chunkStart(ob, oe, t, T);
  const oce = chunkStart(ob, oe, t + 1, T);
  const olc = counts[(p * T + t) * 2 + 1];
  copyRows(v.tmpOA, ocb, olc, v.oob, ob + olBefore);
  copyRows(v.tmpOB, ocb, oce - ocb - olc, v.oob, omid + orBefore);
  if (t === 0) parts[q + 9] = omid;
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

/** Phase 3: histograms and best splits of the task's pairs, this thread's features. */
function buildPairs(v: HistViews, thread: number, nThreads: number): void {
  const { task, hist, bins, bins32, order, og, oh, pfull, featOff, nBins, sums, split, params } = v;
  const nRows = v.nRows;
  const colStride = v.colStride;
  const nF = v.nFeatures;
  const packed = v.binStride === 1;
  const stride = v.binStride;
  const slotSize = v.slotSize;
  const nPairs = task[0];
  const nFeats = task[1];
  const kBegin = Math.floor((thread * nFeats) / nThreads);
  const kEnd = Math.floor(((thread + 1) * nFeats) / nThreads);
  const lambda = params[P_LAMBDA];
  const minData = params[P_MIN_DATA];
  const minHess = params[P_MIN_HESS];
  const invScale = params[P_INV_SCALE];
  const cbMul = params[P_CB_MUL];
  const pairs = 2 + nF;
  for (let p = 0; p < nPairs; p++) {
    const q = pairs + p * PAIR_W;
    const small = task[q];
    const large = task[q + 1];
    const parent = task[q + 2];
    const begin = task[q + 3];
    const end = task[q + 4];
    const flags = task[q + 5];
    if ((flags & FLAG_FULL_SCAN) !== 0) {
      // the root: two features per pass share the loads of the packed gradients
      let k = kBegin;
      for (; k + 1 < kEnd; k += 2) {
        const f0 = task[2 + k];
        const f1 = task[3 + k];
        const o0 = small * slotSize + featOff[f0];
        const o1 = small * slotSize + featOff[f1];
        hist.fill(0, o0, o0 + nBins[f0] + 1);
        hist.fill(0, o1, o1 + nBins[f1] + 1);
        histPackedFull2(bins32, (f0 * colStride) >> 2, (f1 * colStride) >> 2, pfull, hist, o0, o1, nRows);
      }
      if (k < kEnd) {
        const f = task[2 + k];
        const o = small * slotSize + featOff[f];
        hist.fill(0, o, o + nBins[f] + 1);
        histPackedFull(bins32, (f * colStride) >> 2, pfull, hist, o, nRows);
      }
    } else {
      for (let k = kBegin; k < kEnd; k++) {
        const f = task[2 + k];
        const offS = small * slotSize + featOff[f];
        hist.fill(0, offS, offS + (nBins[f] + 1) * stride);
        if (packed) histPacked(bins, f * colStride, order, og, hist, offS, begin, end);
        else histGeneral(bins, f * colStride, order, og, oh, hist, offS, begin, end);
      }
    }
    for (let k = kBegin; k < kEnd; k++) {
      const f = task[2 + k];
      const nb = nBins[f];
      const len = (nb + 1) * stride;
      const offS = small * slotSize + featOff[f];
      const offL = large * slotSize + featOff[f];
      if (parent >= 0) {
        const offP = parent * slotSize + featOff[f];
        for (let j = 0; j < len; j++) hist[offL + j] = hist[offP + j] - hist[offS + j];
      }
      for (let side = 0; side < 2; side++) {
        if ((flags & (side === 0 ? FLAG_SPLIT_SMALL : FLAG_SPLIT_LARGE)) === 0) continue;
        const slot = side === 0 ? small : large;
        const off = side === 0 ? offS : offL;
        const o = (slot * nF + f) * SPLIT_W;
        if (packed) {
          bestSplitPacked(hist, off, nb, sums[slot * 4], sums[slot * 4 + 2], invScale, cbMul, lambda, minData, minHess, split, o);
        } else {
          bestSplitGeneral(hist, off, nb, sums[slot * 4], sums[slot * 4 + 1], sums[slot * 4 + 2], lambda, minData, minHess, split, o);
        }
      }
    }
  }
}
