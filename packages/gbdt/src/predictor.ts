import { DataError } from '@engine/shared';
import { columnView, type FeatureMatrix } from './matrix';
import type { GbdtTree } from './tree';
import {
  arenaCapacity,
  arenaLayout,
  ensureMemory,
  forestImage,
  forestKernel,
  instantiateKernel,
  newMemory,
  runRows,
  wasmAvailable,
  WASM_BLOCK,
  type ArenaLayout,
  type KernelRun,
} from './wasm-forest';

/** Rows per block in batch prediction: a block's features stay in L1 while every tree visits it. */
const BLOCK = 64;
/** Deepest forest laid out as complete trees (2^depth − 1 nodes each); deeper ones are walked by pointers. */
const MAX_COMPLETE_DEPTH = 10;
/** Fewest rows for which batch prediction uses the WebAssembly kernel (below, its set-up costs more than it saves). */
const WASM_MIN_ROWS = 2 * WASM_BLOCK;

/** Which batch kernel runs: 'auto' = WebAssembly where it applies, else JavaScript. */
export type PredictBackend = 'auto' | 'js' | 'wasm';

/**
 * A forest flattened into typed arrays for prediction. A row goes left at a node when
 * `fround(x) <= threshold`, or when x is NaN and the node's default direction is left —
 * ONNX `BRANCH_LEQ` on float32 with `nodes_missing_value_tracks_true`. Each row is copied
 * into a float64 scratch twice, rounded to float32: once with NaN as −Infinity (which goes
 * left at every finite threshold) and once with NaN as +Infinity (goes right). A node's
 * code is the index of its feature in the copy matching its default direction, so a step
 * is one load and one comparison, NaN handling included.
 *
 * Forests up to depth 10 (every depth-wise forest) are stored as complete binary trees of
 * the forest's depth D in heap order: node i has children 2i+1 and 2i+2, shallower leaves
 * are pushed down through pass-through nodes (threshold +Infinity, NaN left). A row then
 * takes exactly D steps per tree, `i = 2i + 1 + goRight` with goRight computed without a
 * branch, so nothing mispredicts and several independent walks (four trees for one row,
 * or consecutive rows) overlap in the CPU.
 */
export class CompiledForest {
  readonly nTrees: number;
  readonly nFeatures: number;
  /** Whether the complete layout is used (else the pointer layout). */
  private readonly complete: boolean;
  /** Depth of the complete layout. */
  private readonly depth: number;
  /** Per node: the feature, plus nFeatures when NaN goes right (reads the +Infinity copy). */
  private readonly code: Int32Array;
  private readonly thr: Float64Array;
  private readonly leaf: Float64Array;
  // pointer layout (deep forests): per node, children (>= 0 node, < 0 ~leaf); per tree, root
  private readonly kids: Int32Array;
  private readonly roots: Int32Array;
  private readonly scratch: Float64Array;
  /** Lazily built single-thread WebAssembly arena. */
  private wasm: { memory: WebAssembly.Memory; run: KernelRun; layout: ArenaLayout } | null = null;
  private image: Uint8Array | null = null;
  private wasmFailed = false;

  constructor(trees: readonly GbdtTree[], nFeatures: number) {
    this.nTrees = trees.length;
    this.nFeatures = nFeatures;
    this.scratch = new Float64Array(BLOCK * 2 * nFeatures);
    let D = 0;
    for (const t of trees) D = Math.max(D, depthOf(t));
    this.complete = D <= MAX_COMPLETE_DEPTH;
    if (this.complete) {
      this.depth = D;
      const nNodes = (1 << D) - 1;
      const nLeaves = 1 << D;
      this.code = new Int32Array(nNodes * trees.length);
      this.thr = new Float64Array(nNodes * trees.length);
      this.leaf = new Float64Array(nLeaves * trees.length);
      trees.forEach((t, ti) => layComplete(t, D, nFeatures, this.code, this.thr, this.leaf, ti * nNodes, ti * nLeaves));
      this.kids = new Int32Array(0);
      this.roots = new Int32Array(0);
    } else {
      this.depth = 0;
      let nNodes = 0;
      let nLeaves = 0;
      for (const t of trees) {
        nNodes += t.numLeaves - 1;
        nLeaves += t.numLeaves;
      }
      this.code = new Int32Array(nNodes);
      this.thr = new Float64Array(nNodes);
      this.kids = new Int32Array(2 * nNodes);
      this.leaf = new Float64Array(nLeaves);
      this.roots = new Int32Array(trees.length);
      let no = 0;
      let lo = 0;
      trees.forEach((t, ti) => {
        const remap = (c: number): number => (c >= 0 ? c + no : ~(~c + lo));
        this.roots[ti] = t.numLeaves > 1 ? no : ~lo;
        for (let n = 0; n < t.numLeaves - 1; n++) {
          this.code[no + n] = t.splitFeature[n] + (t.defaultLeft[n] === 1 ? 0 : nFeatures);
          this.thr[no + n] = t.threshold[n];
          this.kids[2 * (no + n)] = remap(t.leftChild[n]);
          this.kids[2 * (no + n) + 1] = remap(t.rightChild[n]);
        }
        this.leaf.set(t.leafValue, lo);
        no += t.numLeaves - 1;
        lo += t.numLeaves;
      });
    }
  }

  /** Raw sum of the trees [0, treeEnd) for one row (any array-like of nFeatures values). */
  predictRow(row: ArrayLike<number>, treeEnd = this.nTrees): number {
    const F = this.nFeatures;
    if (row.length < F) throw new DataError('MATRIX_SHAPE', `row has ${row.length} features; the model needs ${F}`);
    const x = this.scratch;
    for (let f = 0; f < F; f++) {
      const v = Math.fround(row[f]);
      x[f] = v === v ? v : -Infinity;
      x[F + f] = v === v ? v : Infinity;
    }
    if (this.complete) return sumRowComplete(x, 0, treeEnd, this.depth, this.code, this.thr, this.leaf);
    return sumRowPointers(x, 0, treeEnd, this.roots, this.code, this.thr, this.kids, this.leaf);
  }

  /** Whether the WebAssembly kernel can run this forest (complete layout, runtime support). */
  get wasmCapable(): boolean {
    return this.complete && wasmAvailable();
  }

  /** Depth of the complete layout (0 for the pointer layout). */
  get completeDepth(): number {
    return this.depth;
  }

  /** The node and leaf areas of a WebAssembly arena laid out by `layout` (cached). */
  wasmImage(layout: ArenaLayout): Uint8Array {
    if (!this.complete) throw new Error('the WebAssembly kernel needs the complete layout');
    if (this.image === null || this.image.byteLength !== layout.scratch) this.image = forestImage(layout, this.code, this.thr, this.leaf);
    return this.image;
  }

  /**
   * Adds the outputs of trees [0, treeEnd) for every row of `m` to `out` (which the caller
   * initialises, e.g. with the base score). Both kernels give bit-identical results.
   */
  addRows(m: FeatureMatrix, out: Float64Array, treeEnd = this.nTrees, backend: PredictBackend = 'auto'): void {
    const F = this.nFeatures;
    if (m.nFeatures !== F) throw new DataError('MATRIX_SHAPE', `matrix has ${m.nFeatures} features; the model needs ${F}`);
    if (out.length < m.nRows) throw new DataError('MATRIX_SHAPE', `output holds ${out.length} values; matrix has ${m.nRows} rows`);
    if (backend === 'wasm' && !this.wasmCapable) throw new Error('the WebAssembly kernel cannot run this forest (pointer layout or no WebAssembly)');
    if (backend === 'wasm') {
      this.addRowsWasm(m, out, treeEnd);
      return;
    }
    if (backend === 'auto' && m.nRows >= WASM_MIN_ROWS && this.wasmCapable && !this.wasmFailed) {
      try {
        this.addRowsWasm(m, out, treeEnd);
        return;
      } catch (err) {
        // an arena that cannot be allocated (address space, memory limits) leaves the
        // JavaScript kernel, which needs none; allocation comes before any row is written
        if (!(err instanceof RangeError)) throw err;
        this.wasmFailed = true;
        this.wasm = null;
      }
    }
    const x = this.scratch;
    const views = Array.from({ length: F }, (_, f) => columnView(m, f));
    for (let r0 = 0; r0 < m.nRows; r0 += BLOCK) {
      const nb = Math.min(BLOCK, m.nRows - r0);
      for (let f = 0; f < F; f++) {
        const { array, offset, stride } = views[f];
        copyColumn(array, offset + r0 * stride, stride, x, f, F, nb);
      }
      if (this.complete) addBlockComplete(x, 2 * F, nb, out, r0, treeEnd, this.depth, this.code, this.thr, this.leaf);
      else for (let i = 0; i < nb; i++) out[r0 + i] += sumRowPointers(x, i * 2 * F, treeEnd, this.roots, this.code, this.thr, this.kids, this.leaf);
    }
  }

  /** addRows on the WebAssembly kernel, one arena fill at a time. */
  private addRowsWasm(m: FeatureMatrix, out: Float64Array, treeEnd: number): void {
    const F = this.nFeatures;
    const cap = arenaCapacity(F, m.nRows);
    if (this.wasm === null || this.wasm.layout.capacityRows < cap) {
      const layout = arenaLayout(this.depth, this.nTrees, F, 1, cap);
      const memory = this.wasm?.memory ?? newMemory(layout.bytes, false);
      ensureMemory(memory, layout.bytes);
      new Uint8Array(memory.buffer).set(this.wasmImage(layout), 0);
      this.wasm = { memory, run: instantiateKernel(forestKernel(this.depth, F, false), memory), layout };
    }
    const { memory, run, layout } = this.wasm;
    const input = new Float32Array(memory.buffer, layout.input, layout.capacityRows * F);
    const acc = new Float64Array(memory.buffer, layout.out, layout.capacityRows);
    const L = treeEnd === layout.nTrees ? layout : { ...layout, nTrees: treeEnd };
    for (let r0 = 0; r0 < m.nRows; r0 += layout.capacityRows) {
      const n = Math.min(layout.capacityRows, m.nRows - r0);
      copyRowsF32(m, r0, n, input);
      acc.set(out.subarray(r0, r0 + n));
      runRows(run, L, 0, n, 0);
      out.set(acc.subarray(0, n), r0);
    }
  }
}

/**
 * Copies rows [r0, r0 + n) of `m` into `dst` as row-major float32 (the rounding the
 * kernels compare with).
 */
export function copyRowsF32(m: FeatureMatrix, r0: number, n: number, dst: Float32Array): void {
  const F = m.nFeatures;
  if (m.layout === 'rows') {
    dst.set(m.data.subarray(r0 * F, (r0 + n) * F));
    return;
  }
  for (let f = 0; f < F; f++) {
    const col = m.columns[f];
    for (let i = 0; i < n; i++) dst[i * F + f] = col[r0 + i];
  }
}

/** Depth of the deepest leaf. */
function depthOf(t: GbdtTree): number {
  let max = 0;
  const walk = (c: number, d: number): void => {
    if (c < 0) {
      if (d > max) max = d;
      return;
    }
    walk(t.leftChild[c], d + 1);
    walk(t.rightChild[c], d + 1);
  };
  if (t.numLeaves > 1) walk(0, 0);
  return max;
}

/** Writes tree `t` as a complete tree of depth D at node offset `no` and leaf offset `lo`. */
function layComplete(t: GbdtTree, D: number, F: number, code: Int32Array, thr: Float64Array, leaf: Float64Array, no: number, lo: number): void {
  const nInternal = (1 << D) - 1;
  // pass-through by default: everything goes left (nothing is > +Infinity)
  for (let i = 0; i < nInternal; i++) {
    code[no + i] = 0;
    thr[no + i] = Infinity;
  }
  const place = (c: number, i: number, d: number): void => {
    if (c < 0 || d === D) {
      // a leaf reached at depth d: it owns the leftmost slot of its subtree and, for
      // safety, every slot below it
      const v = t.leafValue[c < 0 ? ~c : 0];
      let first = i;
      let count = 1;
      for (let k = d; k < D; k++) {
        first = 2 * first + 1;
        count *= 2;
      }
      for (let j = 0; j < count; j++) leaf[lo + first - nInternal + j] = v;
      return;
    }
    code[no + i] = t.splitFeature[c] + (t.defaultLeft[c] === 1 ? 0 : F);
    thr[no + i] = t.threshold[c];
    place(t.leftChild[c], 2 * i + 1, d + 1);
    place(t.rightChild[c], 2 * i + 2, d + 1);
  };
  place(t.numLeaves > 1 ? 0 : ~0, 0, 0);
}

/**
 * Σ trees for the row at x[off..], complete layout. Four trees are walked side by side:
 * their step chains are independent, so the CPU overlaps them.
 */
function sumRowComplete(x: Float64Array, off: number, treeEnd: number, D: number, code: Int32Array, thr: Float64Array, leaf: Float64Array): number {
  const nI = (1 << D) - 1;
  const nL = nI + 1;
  let s = 0;
  let t = 0;
  for (; t + 3 < treeEnd; t += 4) {
    const b0 = t * nI;
    const b1 = b0 + nI;
    const b2 = b1 + nI;
    const b3 = b2 + nI;
    let i0 = 0;
    let i1 = 0;
    let i2 = 0;
    let i3 = 0;
    for (let d = 0; d < D; d++) {
      const c0 = code[(b0 + i0) | 0];
      const c1 = code[(b1 + i1) | 0];
      const c2 = code[(b2 + i2) | 0];
      const c3 = code[(b3 + i3) | 0];
      const v0 = x[(off + c0) | 0];
      const v1 = x[(off + c1) | 0];
      const v2 = x[(off + c2) | 0];
      const v3 = x[(off + c3) | 0];
      // goRight as 0/1 without a branch
      i0 = ((i0 << 1) + 1 + +(v0 > thr[(b0 + i0) | 0])) | 0;
      i1 = ((i1 << 1) + 1 + +(v1 > thr[(b1 + i1) | 0])) | 0;
      i2 = ((i2 << 1) + 1 + +(v2 > thr[(b2 + i2) | 0])) | 0;
      i3 = ((i3 << 1) + 1 + +(v3 > thr[(b3 + i3) | 0])) | 0;
    }
    s += leaf[t * nL + i0 - nI] + leaf[(t + 1) * nL + i1 - nI] + leaf[(t + 2) * nL + i2 - nI] + leaf[(t + 3) * nL + i3 - nI];
  }
  for (; t < treeEnd; t++) {
    const b = t * nI;
    let i = 0;
    for (let d = 0; d < D; d++) {
      const c = code[(b + i) | 0];
      const v = x[(off + c) | 0];
      i = ((i << 1) + 1 + +(v > thr[(b + i) | 0])) | 0;
    }
    s += leaf[t * nL + i - nI];
  }
  return s;
}

/**
 * Adds Σ trees to out[r0 + i] for the nb rows of the block (row i at x[i·W..], W = 2F),
 * complete layout: tree by tree, so its nodes stay in L1 while the block's rows go through.
 */
function addBlockComplete(
  x: Float64Array,
  W: number,
  nb: number,
  out: Float64Array,
  r0: number,
  treeEnd: number,
  D: number,
  code: Int32Array,
  thr: Float64Array,
  leaf: Float64Array,
): void {
  const nI = (1 << D) - 1;
  const nL = nI + 1;
  for (let t = 0; t < treeEnd; t++) {
    const b = t * nI;
    const lb = t * nL - nI;
    let r = 0;
    // eight rows side by side: eight independent step chains for the CPU to overlap
    for (; r + 7 < nb; r += 8) {
      const o0 = r * W;
      const o1 = o0 + W;
      const o2 = o1 + W;
      const o3 = o2 + W;
      const o4 = o3 + W;
      const o5 = o4 + W;
      const o6 = o5 + W;
      const o7 = o6 + W;
      let i0 = 0;
      let i1 = 0;
      let i2 = 0;
      let i3 = 0;
      let i4 = 0;
      let i5 = 0;
      let i6 = 0;
      let i7 = 0;
      for (let d = 0; d < D; d++) {
        i0 = ((i0 << 1) + 1 + +(x[(o0 + code[(b + i0) | 0]) | 0] > thr[(b + i0) | 0])) | 0;
        i1 = ((i1 << 1) + 1 + +(x[(o1 + code[(b + i1) | 0]) | 0] > thr[(b + i1) | 0])) | 0;
        i2 = ((i2 << 1) + 1 + +(x[(o2 + code[(b + i2) | 0]) | 0] > thr[(b + i2) | 0])) | 0;
        i3 = ((i3 << 1) + 1 + +(x[(o3 + code[(b + i3) | 0]) | 0] > thr[(b + i3) | 0])) | 0;
        i4 = ((i4 << 1) + 1 + +(x[(o4 + code[(b + i4) | 0]) | 0] > thr[(b + i4) | 0])) | 0;
        i5 = ((i5 << 1) + 1 + +(x[(o5 + code[(b + i5) | 0]) | 0] > thr[(b + i5) | 0])) | 0;
        i6 = ((i6 << 1) + 1 + +(x[(o6 + code[(b + i6) | 0]) | 0] > thr[(b + i6) | 0])) | 0;
        i7 = ((i7 << 1) + 1 + +(x[(o7 + code[(b + i7) | 0]) | 0] > thr[(b + i7) | 0])) | 0;
      }
      out[r0 + r] += leaf[(lb + i0) | 0];
      out[r0 + r + 1] += leaf[(lb + i1) | 0];
      out[r0 + r + 2] += leaf[(lb + i2) | 0];
      out[r0 + r + 3] += leaf[(lb + i3) | 0];
      out[r0 + r + 4] += leaf[(lb + i4) | 0];
      out[r0 + r + 5] += leaf[(lb + i5) | 0];
      out[r0 + r + 6] += leaf[(lb + i6) | 0];
      out[r0 + r + 7] += leaf[(lb + i7) | 0];
    }
    for (; r < nb; r++) {
      const o = r * W;
      let i = 0;
      for (let d = 0; d < D; d++) {
        const c = code[(b + i) | 0];
        const v = x[(o + c) | 0];
        i = ((i << 1) + 1 + +(v > thr[(b + i) | 0])) | 0;
      }
      out[r0 + r] += leaf[lb + i];
    }
  }
}

/** Σ trees for one row, pointer layout (deep leaf-wise forests). */
function sumRowPointers(x: Float64Array, off: number, treeEnd: number, roots: Int32Array, code: Int32Array, thr: Float64Array, kids: Int32Array, leaf: Float64Array): number {
  let s = 0;
  for (let t = 0; t < treeEnd; t++) {
    let n = roots[t];
    while (n >= 0) {
      const c = code[n];
      const v = x[(off + c) | 0];
      n = kids[2 * n + +(v > thr[n])];
    }
    s += leaf[~n];
  }
  return s;
}

/**
 * Copies `nb` values of feature f into the block (row i at dst[i·2F..]), rounded to float32:
 * at f with NaN as −Infinity, at F + f with NaN as +Infinity.
 */
function copyColumn(src: Float32Array | Float64Array, start: number, stride: number, dst: Float64Array, f: number, F: number, nb: number): void {
  const W = 2 * F;
  for (let i = 0; i < nb; i++) {
    const v = Math.fround(src[start + i * stride]);
    const nan = v !== v;
    dst[i * W + f] = nan ? -Infinity : v;
    dst[i * W + F + f] = nan ? Infinity : v;
  }
}
