import {
  CTRL_LEN,
  FLAG_FULL_SCAN,
  FLAG_SPLIT_LARGE,
  FLAG_SPLIT_SMALL,
  JOB_FINISH,
  JOB_ITEMS,
  JOB_KIND,
  JOB_LEAVES,
  JOB_LEVEL,
  JOB_NBAG,
  JOB_ROOT,
  PAIR_W,
  PARAMS_LEN,
  PART_W,
  P_BAG_FRACTION,
  P_BAG_STATE,
  P_CB_MUL,
  P_FROZEN_GRADIENTS,
  P_GRAD_RANGE,
  P_HESS_CONST,
  P_HUBER_DELTA,
  P_INV_SCALE,
  P_LAMBDA,
  P_LEARNING_RATE,
  P_MIN_DATA,
  P_MIN_HESS,
  P_OBJECTIVE,
  SPLIT_W,
  chunksFor,
  makeViews,
  type HistBuffers,
  type HistViews,
  type ArenaRegion,
  type ArenaRegions,
} from './hist-kernels';
import { Mulberry32 } from '@engine/shared';
import type { GrowPolicy } from './params';
import type { GbdtThreadPool } from './thread-pool';
import type { GbdtTree } from './tree';
import { HIST_ARENA_MAX_PAGES, histWasmEnabled } from './wasm-hist';

/** What the learner needs to know about the data and the tree shape. */
export interface TreeLearnerConfig {
  nRows: number;
  /** Bytes between feature columns of the binned matrix (a multiple of 4, >= nRows). */
  colStride: number;
  nFeatures: number;
  /** Value bins per feature (the missing bin is this index). */
  nBins: Int32Array;
  /** Upper bin edges per feature (float32 values; the last is +Infinity). */
  edges: readonly Float64Array[];
  /** 1 when every row's hessian is 1 (squared error, Huber); 0 for per-row hessians. */
  constHessian: number;
  /** Gradient kernel (gradient-kernels.ts OBJ_*) and Huber's delta. */
  objectiveKernel: number;
  huberDelta: number;
  /** Share of rows in each tree's bag (1 = no bagging). */
  baggingFraction: number;
  lambdaL2: number;
  minDataInLeaf: number;
  minSumHessianInLeaf: number;
  minGainToSplit: number;
  numLeaves: number;
  /** 0 = unlimited. */
  maxDepth: number;
  growPolicy: GrowPolicy;
  /** Factor of every leaf value (the learning rate; 1 / trees for a random forest). */
  learningRate: number;
  /** Random forest: every tree fits the first tree's gradients (the scores still accumulate the trees). */
  freezeGradients: boolean;
  /** Share of the tree's features each node's split search draws (1 = all; see GbdtParams.featureFractionByNode). */
  featureFractionByNode: number;
  /** Seed of the per-node feature draws (one stream for the whole training). */
  nodeFeatureSeed: number;
}

function sab(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.max(8, bytes));
}

/** Bits needed to count up to n. */
function bitsFor(n: number): number {
  return Math.ceil(Math.log2(n + 1));
}

/**
 * Packed mode (one double per bin, see hist-kernels) needs a constant hessian and enough
 * headroom below 2^53 for `n · 2^(countBits + gradientBits)`: at least 10 gradient bits,
 * i.e. under about two million rows. Larger trainings use the general layout.
 */
function usePackedHistograms(constHessian: number, nRows: number): boolean {
  return constHessian > 0 && gradientBits(nRows) >= 10;
}

/** Bits for |q| of the quantised gradients so that any sum of n packed values stays below 2^53. */
function gradientBits(nRows: number): number {
  return 52 - 2 * bitsFor(nRows);
}

/**
 * The arena of the histogram and partition loops (see ArenaRegions), each 64-byte aligned,
 * in a shared WebAssembly.Memory when the wasm kernels are available (else one
 * SharedArrayBuffer, for the JavaScript loops). The binned matrix is copied in.
 */
function allocateArena(bins: SharedArrayBuffer, binBytes: number, N: number, pfullBytes: number, histBytes: number): { arena: WebAssembly.Memory | SharedArrayBuffer; regions: ArenaRegions } {
  let at = 0;
  const region = (bytes: number): ArenaRegion => {
    const r = { offset: at, bytes };
    at = Math.ceil((at + Math.max(8, bytes)) / 64) * 64;
    return r;
  };
  const regions: ArenaRegions = {
    bins: region(binBytes),
    order: region(4 * N),
    oob: region(4 * N),
    tmpA: region(4 * N),
    tmpB: region(4 * N),
    tmpOA: region(4 * N),
    tmpOB: region(4 * N),
    og: region(8 * N),
    pfull: region(pfullBytes),
    hist: region(histBytes),
  };
  const pages = Math.ceil(at / 65536);
  let arena: WebAssembly.Memory | SharedArrayBuffer;
  if (histWasmEnabled() && pages <= HIST_ARENA_MAX_PAGES) arena = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  else arena = new SharedArrayBuffer(at);
  const buf = arena instanceof SharedArrayBuffer ? arena : (arena.buffer as SharedArrayBuffer);
  new Uint8Array(buf, regions.bins.offset, binBytes).set(new Uint8Array(bins, 0, binBytes));
  return { arena, regions };
}

/**
 * Allocates the shared buffers of one training. `bins` must already hold the feature-major
 * binned training matrix (see binRows) in a SharedArrayBuffer (colStride bytes per feature).
 */
export function allocateHistBuffers(cfg: TreeLearnerConfig, bins: SharedArrayBuffer): HistBuffers {
  const F = cfg.nFeatures;
  const N = cfg.nRows;
  const binStride = usePackedHistograms(cfg.constHessian, N) ? 1 : 3;
  const nSlots = cfg.numLeaves + 2;
  const maxPairs = cfg.numLeaves;
  const maxParts = cfg.numLeaves;
  const meta = sab(8 * F);
  const metaView = new Int32Array(meta);
  let off = 0;
  for (let f = 0; f < F; f++) {
    metaView[f] = off;
    metaView[F + f] = cfg.nBins[f];
    off += (cfg.nBins[f] + 1) * binStride;
  }
  const slotSize = off;
  const general = binStride === 3;
  const { arena, regions } = allocateArena(bins, cfg.colStride * F, N, binStride === 1 ? 8 * cfg.colStride : 8, 8 * nSlots * slotSize);
  const b: HistBuffers = {
    nRows: N,
    colStride: cfg.colStride,
    nFeatures: F,
    nSlots,
    binStride,
    slotSize,
    maxPairs,
    maxParts,
    arena,
    regions,
    label: sab(8 * N),
    score: sab(8 * N),
    grad: sab(8 * N),
    hess: sab(cfg.constHessian === 0 ? 8 * N : 8),
    partials: sab(8 * 2 * chunksFor(N)),
    leafRanges: sab(4 * 4 * cfg.numLeaves),
    leafStats: sab(8 * 3 * cfg.numLeaves),
    job: sab(4 * 4),
    parts: sab(4 * (1 + maxParts * PART_W)),
    // work items of a level's partitions: chunks of the bag and oob ranges, plus one per node
    counts: sab(4 * 2 * (2 * chunksFor(N) + maxParts + 2)),
    oh: sab(general ? 8 * N : 8),
    meta,
    sums: sab(8 * 4 * nSlots),
    split: sab(8 * nSlots * F * SPLIT_W),
    task: sab(4 * (2 + F + maxPairs * PAIR_W)),
    params: sab(8 * PARAMS_LEN),
    ctrl: sab(4 * CTRL_LEN),
  };
  const p = new Float64Array(b.params);
  p[P_LAMBDA] = cfg.lambdaL2;
  p[P_MIN_DATA] = cfg.minDataInLeaf;
  p[P_MIN_HESS] = cfg.minSumHessianInLeaf;
  p[P_INV_SCALE] = 1;
  p[P_CB_MUL] = 2 ** bitsFor(N);
  p[P_HESS_CONST] = cfg.constHessian;
  p[P_OBJECTIVE] = cfg.objectiveKernel;
  p[P_HUBER_DELTA] = cfg.huberDelta;
  p[P_BAG_FRACTION] = cfg.baggingFraction;
  p[P_GRAD_RANGE] = 2 ** gradientBits(N);
  p[P_LEARNING_RATE] = cfg.learningRate;
  return b;
}

/**
 * Grows one tree on the binned training rows from gradients and hessians: histograms of
 * the smaller child only (the larger one is parent − smaller), row partitions and split
 * search in the pool's threads. After {@link grow}, leaf `l` owns the bag rows
 * `order[leafBegin[l]..leafEnd[l])` and the out-of-bag rows `oob[leafOobBegin[l]..)`.
 */
export class TreeLearner {
  readonly v: HistViews;
  readonly buffers: HistBuffers;
  private readonly cfg: TreeLearnerConfig;
  private readonly packed: boolean;
  private readonly freeSlots: number[] = [];
  // per leaf (index = leaf id)
  readonly leafBegin: Int32Array;
  readonly leafEnd: Int32Array;
  private readonly leafOobBegin: Int32Array;
  private readonly leafOobEnd: Int32Array;
  private readonly leafG: Float64Array;
  private readonly leafH: Float64Array;
  private readonly leafC: Float64Array;
  private readonly leafDepth: Int32Array;
  private readonly leafSlot: Int32Array;
  private readonly leafParent: Int32Array;
  private readonly leafIsLeft: Uint8Array;
  private readonly bGain: Float64Array;
  private readonly bFeat: Int32Array;
  private readonly bBin: Int32Array;
  private readonly bDl: Uint8Array;
  private readonly bGL: Float64Array;
  private readonly bHL: Float64Array;
  private readonly bCL: Float64Array;
  // the tree being built (index = internal node id)
  private readonly nodeFeat: Int32Array;
  private readonly nodeBin: Int32Array;
  private readonly nodeDl: Uint8Array;
  private readonly nodeLeft: Int32Array;
  private readonly nodeRight: Int32Array;
  private readonly nodeGain: Float64Array;
  private readonly nodeCount: Int32Array;
  numLeaves = 0;
  private numNodes = 0;
  private nPairs = 0;
  private nParts = 0;
  /** Work items of the queued partitions (chunks). */
  private nItems = 0;
  /** Per queued part: the left and right child leaves (to receive their oob ranges). */
  private readonly partChildren: number[] = [];
  /** Slots to free after the current task (small children that only fed a subtraction). */
  private readonly tempSlots: number[] = [];
  /** Per-node feature sampling: its generator (null = off) and a scratch permutation of the tree's features. */
  private readonly nodeRng: Mulberry32 | null;
  private readonly nodePerm: Int32Array;

  constructor(cfg: TreeLearnerConfig, buffers: HistBuffers) {
    this.cfg = cfg;
    this.buffers = buffers;
    this.v = makeViews(buffers);
    this.packed = buffers.binStride === 1;
    const L = cfg.numLeaves;
    this.leafBegin = new Int32Array(L);
    this.leafEnd = new Int32Array(L);
    this.leafOobBegin = new Int32Array(L);
    this.leafOobEnd = new Int32Array(L);
    this.leafG = new Float64Array(L);
    this.leafH = new Float64Array(L);
    this.leafC = new Float64Array(L);
    this.leafDepth = new Int32Array(L);
    this.leafSlot = new Int32Array(L);
    this.leafParent = new Int32Array(L);
    this.leafIsLeft = new Uint8Array(L);
    this.bGain = new Float64Array(L);
    this.bFeat = new Int32Array(L);
    this.bBin = new Int32Array(L);
    this.bDl = new Uint8Array(L);
    this.bGL = new Float64Array(L);
    this.bHL = new Float64Array(L);
    this.bCL = new Float64Array(L);
    this.nodeFeat = new Int32Array(L);
    this.nodeBin = new Int32Array(L);
    this.nodeDl = new Uint8Array(L);
    this.nodeLeft = new Int32Array(L);
    this.nodeRight = new Int32Array(L);
    this.nodeGain = new Float64Array(L);
    this.nodeCount = new Int32Array(L);
    this.nodeRng = cfg.featureFractionByNode < 1 ? new Mulberry32(cfg.nodeFeatureSeed) : null;
    this.nodePerm = new Int32Array(cfg.nFeatures);
  }

  /**
   * Grows a tree from the scores in the shared buffers (the task computes gradients and
   * the bag): `bagState` is the bag generator's state for this tree, `feats[0..nFeats)` the
   * features drawn for it (ascending). Ends by adding the tree to the scores.
   */
  grow(bagState: number, feats: Int32Array, nFeats: number, pool: GbdtThreadPool): GbdtTree {
    const { cfg, v } = this;
    const { task } = v;
    this.freeSlots.length = 0;
    for (let s = v.hist.length / v.slotSize - 1; s >= 0; s--) this.freeSlots.push(s);
    task[1] = nFeats;
    for (let k = 0; k < nFeats; k++) task[2 + k] = feats[k];
    v.params[P_BAG_STATE] = bagState;
    // the root task: gradients, bag, packed gradients, root histogram and split
    const slot = this.allocSlot();
    this.beginTask();
    this.addPair(slot, -1, -1, 0, 0, FLAG_SPLIT_SMALL | (this.packed ? FLAG_FULL_SCAN : 0));
    v.job[JOB_KIND] = JOB_ROOT;
    this.numLeaves = 1;
    this.numNodes = 0;
    this.runTask(pool, [], false);
    const nBag = v.job[JOB_NBAG];
    this.setLeaf(0, 0, nBag, v.sums[slot * 4], v.sums[slot * 4 + 1], nBag, 0, -1, 0);
    this.leafOobBegin[0] = 0;
    this.leafOobEnd[0] = cfg.nRows - nBag;
    this.leafSlot[0] = slot;
    // the gradients stay in shared memory: a random forest's later trees reuse them
    if (cfg.freezeGradients) v.params[P_FROZEN_GRADIENTS] = 1;
    this.readSplits([0]);
    if (cfg.growPolicy === 'depthwise') this.growDepthwise(pool);
    else this.growLeafwise(pool);
    return this.finish(pool);
  }

  private growLeafwise(pool: GbdtThreadPool): void {
    const { cfg } = this;
    while (this.numLeaves < cfg.numLeaves) {
      let best = -1;
      for (let l = 0; l < this.numLeaves; l++) {
        if (this.bGain[l] > cfg.minGainToSplit && (best < 0 || this.bGain[l] > this.bGain[best])) best = l;
      }
      if (best < 0) break;
      this.beginTask();
      const children = this.splitLeaf(best, this.numLeaves + 1);
      this.runTask(pool, children, true);
    }
  }

  private growDepthwise(pool: GbdtThreadPool): void {
    const { cfg } = this;
    let frontier = [0];
    for (let depth = 0; depth < cfg.maxDepth && frontier.length > 0; depth++) {
      let cands = frontier.filter((l) => this.bGain[l] > cfg.minGainToSplit);
      const room = cfg.numLeaves - this.numLeaves;
      if (cands.length > room) {
        // keep the best `room` splits (ties: lower leaf id), then split in leaf order
        cands = [...cands].sort((a, b) => this.bGain[b] - this.bGain[a] || a - b).slice(0, room).sort((a, b) => a - b);
      }
      if (cands.length === 0) break;
      const leavesAfter = this.numLeaves + cands.length;
      this.beginTask();
      const next: number[] = [];
      for (const l of cands) next.push(...this.splitLeaf(l, leavesAfter));
      this.runTask(pool, next, true);
      frontier = next;
    }
  }

  private setLeaf(l: number, begin: number, end: number, G: number, H: number, C: number, depth: number, parent: number, isLeft: number): void {
    this.leafBegin[l] = begin;
    this.leafEnd[l] = end;
    this.leafG[l] = G;
    this.leafH[l] = H;
    this.leafC[l] = C;
    this.leafDepth[l] = depth;
    this.leafParent[l] = parent;
    this.leafIsLeft[l] = isLeft;
    this.leafSlot[l] = -1;
    this.bGain[l] = -Infinity;
  }

  /** Whether leaf `l` may be split further once the tree has `leavesAfter` leaves. */
  private canSplit(l: number, leavesAfter: number): boolean {
    const { cfg } = this;
    return (
      leavesAfter < cfg.numLeaves &&
      (cfg.maxDepth === 0 || this.leafDepth[l] < cfg.maxDepth) &&
      this.leafC[l] >= 2 * cfg.minDataInLeaf &&
      this.leafH[l] >= 2 * cfg.minSumHessianInLeaf
    );
  }

  private allocSlot(): number {
    const s = this.freeSlots.pop();
    if (s === undefined) throw new Error('GBDT histogram slots exhausted (bug: slots must cover numLeaves + 2)');
    return s;
  }

  private beginTask(): void {
    this.nPairs = 0;
    this.nParts = 0;
    this.nItems = 0;
    this.partChildren.length = 0;
    this.tempSlots.length = 0;
  }

  private addPair(small: number, large: number, parent: number, begin: number, end: number, flags: number): void {
    const { task } = this.v;
    const q = 2 + this.v.nFeatures + this.nPairs * PAIR_W;
    task[q] = small;
    task[q + 1] = large;
    task[q + 2] = parent;
    task[q + 3] = begin;
    task[q + 4] = end;
    task[q + 5] = flags;
    this.nPairs++;
  }

  /**
   * Runs the queued partitions and histograms, then records the children's out-of-bag
   * ranges and the best split of every leaf that got a histogram.
   */
  private runTask(pool: GbdtThreadPool, leaves: number[], level: boolean): void {
    if (this.nPairs === 0 && this.nParts === 0) return;
    const { v } = this;
    const { sums, parts } = v;
    for (const l of leaves) {
      const s = this.leafSlot[l];
      if (s < 0) continue;
      sums[s * 4] = this.leafG[l];
      sums[s * 4 + 1] = this.leafH[l];
      sums[s * 4 + 2] = this.leafC[l];
    }
    v.task[0] = this.nPairs;
    parts[0] = this.nParts;
    v.job[JOB_ITEMS] = this.nItems;
    if (level) v.job[JOB_KIND] = JOB_LEVEL;
    pool.run(v);
    for (let p = 0; p < this.nParts; p++) {
      const q = 1 + p * PART_W;
      let lc = 0;
      for (let i = parts[q + 11]; i < parts[q + 11] + parts[q + 10]; i++) lc += v.counts[i * 2];
      if (lc !== parts[q + 2] - parts[q]) {
        throw new Error(`GBDT partition mismatch (bug): ${lc} rows went left, the histogram said ${parts[q + 2] - parts[q]}`);
      }
      const omid = parts[q + 9];
      const left = this.partChildren[2 * p];
      const right = this.partChildren[2 * p + 1];
      this.leafOobEnd[left] = omid;
      this.leafOobBegin[right] = omid;
    }
    for (const s of this.tempSlots) this.freeSlots.push(s);
    this.readSplits(leaves);
  }

  /**
   * Takes each leaf's best split over the tree's features, or over the features drawn for
   * it when nodes sample features (lowest feature wins ties either way). The threads
   * searched every feature of the tree; the draw happens here, on the calling thread, in
   * the order the leaves were created, so it never depends on the thread count.
   */
  private readSplits(leaves: number[]): void {
    const { v, nodeRng } = this;
    const F = v.nFeatures;
    const nFeats = v.task[1];
    const split = v.split;
    const perm = this.nodePerm;
    const kNode = nodeRng === null ? nFeats : Math.max(1, Math.round(nFeats * this.cfg.featureFractionByNode));
    for (const l of leaves) {
      const s = this.leafSlot[l];
      if (s < 0) continue;
      let best = -Infinity;
      let bo = -1;
      let bf = -1;
      if (nodeRng === null || kNode >= nFeats) {
        for (let k = 0; k < nFeats; k++) {
          const f = v.task[2 + k];
          const o = (s * F + f) * SPLIT_W;
          if (split[o] > best) {
            best = split[o];
            bo = o;
            bf = f;
          }
        }
      } else {
        // partial Fisher–Yates over the tree's features: kNode of them, and more only while
        // none of those drawn can split the node (as scikit-learn's max_features does)
        for (let k = 0; k < nFeats; k++) perm[k] = v.task[2 + k];
        for (let k = 0; k < nFeats && (k < kNode || bo < 0); k++) {
          const j = k + nodeRng.nextInt(nFeats - k);
          const f = perm[j];
          perm[j] = perm[k];
          perm[k] = f;
          const o = (s * F + f) * SPLIT_W;
          if (split[o] > best || (split[o] === best && bo >= 0 && f < bf)) {
            best = split[o];
            bo = o;
            bf = f;
          }
        }
      }
      this.bGain[l] = best;
      if (bo >= 0) {
        this.bFeat[l] = bf;
        this.bBin[l] = split[bo + 1];
        this.bDl[l] = split[bo + 2];
        this.bGL[l] = split[bo + 3];
        this.bHL[l] = split[bo + 4];
        this.bCL[l] = split[bo + 5];
      } else {
        // nothing to split on: the histogram is no longer needed
        this.freeSlots.push(s);
        this.leafSlot[l] = -1;
      }
    }
  }

  /**
   * Splits leaf `l` by its best split: records the node, creates the right child as a new
   * leaf, and queues the row partition (the left child's size is known from the split's
   * histogram) and the histogram work the children need. Returns the two child leaf ids.
   */
  private splitLeaf(l: number, leavesAfter: number): number[] {
    const begin = this.leafBegin[l];
    const end = this.leafEnd[l];
    const oBegin = this.leafOobBegin[l];
    const oEnd = this.leafOobEnd[l];
    const CL = this.bCL[l];
    const mid = begin + CL;
    const k = this.numNodes++;
    this.nodeFeat[k] = this.bFeat[l];
    this.nodeBin[k] = this.bBin[l];
    this.nodeDl[k] = this.bDl[l];
    this.nodeGain[k] = this.bGain[l];
    this.nodeCount[k] = this.leafC[l];
    const p = this.leafParent[l];
    if (p >= 0) {
      if (this.leafIsLeft[l] === 1) this.nodeLeft[p] = k;
      else this.nodeRight[p] = k;
    }
    const r = this.numLeaves++;
    this.nodeLeft[k] = ~l;
    this.nodeRight[k] = ~r;
    const G = this.leafG[l];
    const H = this.leafH[l];
    const C = this.leafC[l];
    const depth = this.leafDepth[l] + 1;
    const parentSlot = this.leafSlot[l];
    const GL = this.bGL[l];
    const HL = this.bHL[l];
    // the partition reads leaf l's current ranges and split: queue it before overwriting
    const leftSmall = CL <= C - CL;
    const small = leftSmall ? l : r;
    const large = leftSmall ? r : l;
    this.setLeaf(l, begin, mid, GL, HL, CL, depth, k, 1);
    this.setLeaf(r, mid, end, G - GL, H - HL, C - CL, depth, k, 0);
    this.leafOobBegin[l] = oBegin;
    this.leafOobEnd[r] = oEnd;
    const needL = this.canSplit(l, leavesAfter);
    const needR = this.canSplit(r, leavesAfter);
    // the child with fewer rows gets its histogram built; the other is parent − small
    const needSmall = leftSmall ? needL : needR;
    const needLarge = leftSmall ? needR : needL;
    const gather = needSmall || needLarge ? (leftSmall ? 1 : 2) : 0;
    this.queuePart(begin, end, mid, oBegin, oEnd, k, gather, l, r);
    if (!needSmall && !needLarge) {
      this.freeSlots.push(parentSlot);
      return [l, r];
    }
    const sBegin = this.leafBegin[small];
    const sEnd = this.leafEnd[small];
    if (needLarge) {
      const ss = this.allocSlot();
      this.leafSlot[small] = ss;
      this.leafSlot[large] = parentSlot;
      if (!needSmall) {
        this.tempSlots.push(ss);
        this.leafSlot[small] = -1;
      }
      this.addPair(ss, parentSlot, parentSlot, sBegin, sEnd, (needSmall ? FLAG_SPLIT_SMALL : 0) | FLAG_SPLIT_LARGE);
    } else {
      // only the small child can split: build it straight into the parent's slot
      this.leafSlot[small] = parentSlot;
      this.addPair(parentSlot, -1, -1, sBegin, sEnd, FLAG_SPLIT_SMALL);
    }
    return [l, r];
  }

  /** Queues the partition of node k's rows (ranges of the leaf being split). */
  private queuePart(begin: number, end: number, mid: number, oBegin: number, oEnd: number, k: number, gather: number, left: number, right: number): void {
    const { parts } = this.v;
    const q = 1 + this.nParts * PART_W;
    parts[q] = begin;
    parts[q + 1] = end;
    parts[q + 2] = mid;
    parts[q + 3] = this.nodeFeat[k];
    parts[q + 4] = this.nodeBin[k];
    parts[q + 5] = this.nodeDl[k];
    parts[q + 6] = oBegin;
    parts[q + 7] = oEnd;
    parts[q + 8] = gather;
    parts[q + 9] = -1;
    const K = Math.max(chunksFor(end - begin), oEnd > oBegin ? chunksFor(oEnd - oBegin) : 1);
    parts[q + 10] = K;
    parts[q + 11] = this.nItems;
    this.nItems += K;
    this.partChildren.push(left, right);
    this.nParts++;
  }

  /**
   * Runs the finish task — each leaf's value −G/(H+λ)·lr as float32 (lr = 1/trees for a forest), with G and H summed
   * exactly (unquantised, in row order) over its rows, added to its rows' scores — and
   * returns the tree.
   */
  private finish(pool: GbdtThreadPool): GbdtTree {
    const { cfg, v } = this;
    const L = this.numLeaves;
    for (let l = 0; l < L; l++) {
      v.leafRanges[l * 4] = this.leafBegin[l];
      v.leafRanges[l * 4 + 1] = this.leafEnd[l];
      v.leafRanges[l * 4 + 2] = this.leafOobBegin[l];
      v.leafRanges[l * 4 + 3] = this.leafOobEnd[l];
    }
    v.job[JOB_KIND] = JOB_FINISH;
    v.job[JOB_LEAVES] = L;
    v.task[0] = 0;
    v.parts[0] = 0;
    pool.run(v);
    const nn = L - 1;
    const threshold = new Float64Array(nn);
    for (let k = 0; k < nn; k++) threshold[k] = cfg.edges[this.nodeFeat[k]][this.nodeBin[k]];
    const leafValue = new Float64Array(L);
    const leafCount = new Int32Array(L);
    for (let l = 0; l < L; l++) {
      leafValue[l] = v.leafStats[l * 3 + 2];
      leafCount[l] = this.leafEnd[l] - this.leafBegin[l];
    }
    return {
      numLeaves: L,
      splitFeature: this.nodeFeat.slice(0, nn),
      threshold,
      defaultLeft: this.nodeDl.slice(0, nn),
      leftChild: this.nodeLeft.slice(0, nn),
      rightChild: this.nodeRight.slice(0, nn),
      splitGain: this.nodeGain.slice(0, nn),
      internalCount: this.nodeCount.slice(0, nn),
      leafValue,
      leafCount,
    };
  }
}
