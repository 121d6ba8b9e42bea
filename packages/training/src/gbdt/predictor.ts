import { DataError } from '@engine/shared';
import { columnView, type FeatureMatrix } from './matrix';
import type { GbdtTree } from './tree';

/** Rows per block in batch prediction: a block's features stay in L1/L2 while every tree visits it. */
const BLOCK = 128;

/**
 * A forest flattened into typed arrays for prediction. Node `n` of the forest sends a row
 * left when `fround(x[feat[n]]) <= thr[n]` (a NaN goes left when `dl[n]` is 1); children
 * `c < 0` are leaves `~c` in `leaf`. Inputs are copied into a float64 scratch rounded to
 * float32 first, which makes every comparison exactly ONNX's float32 `BRANCH_LEQ`.
 */
export class CompiledForest {
  readonly nTrees: number;
  readonly nFeatures: number;
  private readonly roots: Int32Array;
  private readonly feat: Int32Array;
  private readonly thr: Float64Array;
  private readonly dl: Uint8Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly leaf: Float64Array;
  private readonly scratch: Float64Array;

  constructor(trees: readonly GbdtTree[], nFeatures: number) {
    this.nTrees = trees.length;
    this.nFeatures = nFeatures;
    let nNodes = 0;
    let nLeaves = 0;
    for (const t of trees) {
      nNodes += t.numLeaves - 1;
      nLeaves += t.numLeaves;
    }
    this.roots = new Int32Array(trees.length);
    this.feat = new Int32Array(nNodes);
    this.thr = new Float64Array(nNodes);
    this.dl = new Uint8Array(nNodes);
    this.left = new Int32Array(nNodes);
    this.right = new Int32Array(nNodes);
    this.leaf = new Float64Array(nLeaves);
    let no = 0;
    let lo = 0;
    trees.forEach((t, i) => {
      const remap = (c: number): number => (c >= 0 ? c + no : ~(~c + lo));
      this.roots[i] = t.numLeaves > 1 ? no : ~lo;
      for (let n = 0; n < t.numLeaves - 1; n++) {
        this.feat[no + n] = t.splitFeature[n];
        this.thr[no + n] = t.threshold[n];
        this.dl[no + n] = t.defaultLeft[n];
        this.left[no + n] = remap(t.leftChild[n]);
        this.right[no + n] = remap(t.rightChild[n]);
      }
      this.leaf.set(t.leafValue, lo);
      no += t.numLeaves - 1;
      lo += t.numLeaves;
    });
    this.scratch = new Float64Array(BLOCK * nFeatures);
  }

  /** Sum of the trees' outputs for the row in `x[off..off+nFeatures)` (no base score). */
  private sumRow(x: Float64Array, off: number, treeEnd: number): number {
    const { roots, feat, thr, dl, left, right, leaf } = this;
    let s = 0;
    for (let t = 0; t < treeEnd; t++) {
      let n = roots[t];
      while (n >= 0) {
        const v = x[off + feat[n]];
        n = v <= thr[n] ? left[n] : v !== v && dl[n] === 1 ? left[n] : right[n];
      }
      s += leaf[~n];
    }
    return s;
  }

  /** Raw sum of tree outputs for one row (any array-like of nFeatures values). */
  predictRow(row: ArrayLike<number>, treeEnd = this.nTrees): number {
    const F = this.nFeatures;
    if (row.length < F) throw new DataError('MATRIX_SHAPE', `row has ${row.length} features; the model needs ${F}`);
    const x = this.scratch;
    for (let f = 0; f < F; f++) x[f] = Math.fround(row[f]);
    return this.sumRow(x, 0, treeEnd);
  }

  /**
   * Adds the trees' outputs of every row of `m` to `out` (which the caller initialises,
   * e.g. with the base score). Uses trees [0, treeEnd).
   */
  addRows(m: FeatureMatrix, out: Float64Array, treeEnd = this.nTrees): void {
    const F = this.nFeatures;
    if (m.nFeatures !== F) throw new DataError('MATRIX_SHAPE', `matrix has ${m.nFeatures} features; the model needs ${F}`);
    if (out.length < m.nRows) throw new DataError('MATRIX_SHAPE', `output holds ${out.length} values; matrix has ${m.nRows} rows`);
    const x = this.scratch;
    const views = Array.from({ length: F }, (_, f) => columnView(m, f));
    for (let r0 = 0; r0 < m.nRows; r0 += BLOCK) {
      const nb = Math.min(BLOCK, m.nRows - r0);
      for (let f = 0; f < F; f++) {
        const { array, offset, stride } = views[f];
        copyColumn(array, offset + r0 * stride, stride, x, f, F, nb);
      }
      for (let i = 0; i < nb; i++) out[r0 + i] += this.sumRow(x, i * F, treeEnd);
    }
  }
}

/** Copies `nb` values of one feature into the row-major float64 block, rounded to float32. */
function copyColumn(src: Float32Array | Float64Array, start: number, stride: number, dst: Float64Array, f: number, F: number, nb: number): void {
  for (let i = 0; i < nb; i++) dst[i * F + f] = Math.fround(src[start + i * stride]);
}
