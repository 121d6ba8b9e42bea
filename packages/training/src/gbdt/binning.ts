import { DataError } from '@engine/shared';
import { columnView, type FeatureMatrix } from './matrix';
import { Mulberry32 } from './prng';

/**
 * Quantile bin edges of every feature, fitted on training rows only. Bin `b` of feature `f`
 * holds the values `v` with `edges[f][b-1] < fround(v) <= edges[f][b]`; the last edge is
 * +Infinity. NaN goes to the missing bin, index `edges[f].length`. Every edge is a float32
 * value and comparisons use `Math.fround(v)`, which is exactly how ONNX's
 * `BRANCH_LEQ` on float32 inputs decides, so a split on bin `b` and a threshold of
 * `edges[f][b]` route every row the same way.
 */
export interface BinMapper {
  readonly maxBins: number;
  /** Per feature: ascending float32 upper edges (as float64 numbers); the last is +Infinity. */
  readonly edges: readonly Float64Array[];
}

/** Rows to use: all rows of the matrix, or these row indices (ascending, in time order). */
export type RowSelection = Int32Array | null;

function selectedCount(m: FeatureMatrix, rows: RowSelection): number {
  return rows === null ? m.nRows : rows.length;
}

/** Knuth's selection sampling: `k` of `n` positions, ascending, seeded. */
function samplePositions(n: number, k: number, seed: number): Int32Array {
  const out = new Int32Array(k);
  const rng = new Mulberry32(seed);
  let need = k;
  let j = 0;
  for (let i = 0; i < n && need > 0; i++) {
    if (rng.next() * (n - i) < need) {
      out[j++] = i;
      need--;
    }
  }
  return out;
}

const FLT_MAX = 3.4028234663852886e38;

/**
 * A float32 edge `e` with `a <= e < b` near their midpoint (a < b, both float32 values), or
 * NaN when no finite one exists (infinite values next to ±FLT_MAX): the caller then merges
 * the two bins. Edges are always finite so the model stays valid JSON.
 */
function edgeBetween(a: number, b: number): number {
  if (a === -Infinity) return b > -FLT_MAX ? -FLT_MAX : NaN;
  if (b === Infinity) return a < FLT_MAX ? FLT_MAX : NaN;
  const e = Math.fround(a + (b - a) / 2);
  if (e >= b || e < a) return a;
  return e === 0 ? 0 : e; // never -0: keeps JSON and ONNX thresholds canonical
}

/** Distinct values of a sorted array and their counts; returns how many. */
function distinctValues(sorted: Float32Array, dv: Float64Array, dc: Int32Array): number {
  const n = sorted.length;
  let d = 0;
  let i = 0;
  while (i < n) {
    const v = sorted[i];
    let j = i + 1;
    while (j < n && sorted[j] === v) j++;
    dv[d] = v;
    dc[d] = j - i;
    d++;
    i = j;
  }
  return d;
}

/** One edge between each pair of neighbouring distinct values; returns the count. */
function midpointEdges(dv: Float64Array, d: number, edges: Float64Array): number {
  let ne = 0;
  for (let i = 0; i + 1 < d; i++) {
    const e = edgeBetween(dv[i], dv[i + 1]);
    if (e === e) edges[ne++] = e;
  }
  return ne;
}

/**
 * Greedy equal-count bins over distinct values (LightGBM-style): a bin closes once it
 * holds its share of the remaining rows; a heavily repeated value that would overfill the
 * current bin starts a bin of its own, and the rest is shared among the remaining bins.
 * Returns the number of edges written.
 */
function greedyEdges(dv: Float64Array, dc: Int32Array, d: number, n: number, maxBins: number, edges: Float64Array): number {
  let ne = 0;
  let rowsLeft = n;
  let binsLeft = maxBins;
  let cur = 0;
  for (let i = 0; i < d - 1 && binsLeft > 1; i++) {
    const c = dc[i];
    let target = rowsLeft / binsLeft;
    if (cur > 0 && cur + c > target && cur + c - target > target - cur) {
      const e = edgeBetween(dv[i - 1], dv[i]);
      if (e === e) edges[ne++] = e;
      rowsLeft -= cur;
      binsLeft--;
      cur = 0;
      target = rowsLeft / binsLeft;
      if (binsLeft <= 1) break;
    }
    cur += c;
    if (cur >= target) {
      const e = edgeBetween(dv[i], dv[i + 1]);
      if (e === e) edges[ne++] = e;
      rowsLeft -= cur;
      binsLeft--;
      cur = 0;
    }
  }
  return ne;
}

/** Upper bin edges (last = +Infinity) for one feature from its sorted non-missing sample. */
function edgesFromSorted(sorted: Float32Array, maxBins: number): Float64Array {
  const n = sorted.length;
  if (n === 0) return Float64Array.of(Infinity);
  const dv = new Float64Array(n);
  const dc = new Int32Array(n);
  const d = distinctValues(sorted, dv, dc);
  const edges = new Float64Array(Math.min(d, maxBins));
  const ne = d <= maxBins ? midpointEdges(dv, d, edges) : greedyEdges(dv, dc, d, n, maxBins, edges);
  edges[ne] = Infinity;
  return edges.slice(0, ne + 1);
}

/** Order-preserving uint32 key of float32 bits: keys compare as the floats do (NaN aside). */
function floatKey(bits: number): number {
  return (bits & 0x80000000) !== 0 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

function keyToFloatBits(key: number): number {
  return (key & 0x80000000) !== 0 ? (key & 0x7fffffff) >>> 0 : ~key >>> 0;
}

/**
 * Sorts float32 values ascending with an LSD radix sort on their order-preserving keys
 * (3 passes of 11 bits): about 10× faster than TypedArray#sort on 10^5 values.
 */
function radixSortFloat32(values: Float32Array, scratch: Uint32Array): void {
  const n = values.length;
  const keys = new Uint32Array(values.buffer, values.byteOffset, n);
  for (let i = 0; i < n; i++) keys[i] = floatKey(keys[i]);
  const counts = new Int32Array(2048);
  let src = keys;
  let dst = scratch.subarray(0, n);
  for (let shift = 0; shift < 32; shift += 11) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(src[i] >>> shift) & 2047]++;
    let sum = 0;
    for (let d = 0; d < 2048; d++) {
      const c = counts[d];
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const k = src[i];
      dst[counts[(k >>> shift) & 2047]++] = k;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  // three passes: the result is in `scratch`; move it back as float bits
  for (let i = 0; i < n; i++) keys[i] = keyToFloatBits(src[i]);
}

/**
 * Fits quantile bin edges on the selected rows (training rows only: no leakage into test
 * rows, which are binned with the same edges). Uses at most `sampleRows` rows, drawn with
 * `seed`.
 */
export function fitBinMapper(
  m: FeatureMatrix,
  rows: RowSelection,
  opts: { maxBins: number; sampleRows: number; seed: number },
): BinMapper {
  const n = selectedCount(m, rows);
  if (n < 2) throw new DataError('TOO_FEW_ROWS', `bin edges need at least 2 training rows; got ${n}`);
  const k = Math.min(n, opts.sampleRows);
  const pos = k < n ? samplePositions(n, k, opts.seed) : null;
  const sample = new Float32Array(k);
  const scratch = new Uint32Array(k);
  const edges: Float64Array[] = [];
  for (let f = 0; f < m.nFeatures; f++) {
    const { array, offset, stride } = columnView(m, f);
    let cnt = 0;
    for (let i = 0; i < k; i++) {
      const p = pos === null ? i : pos[i];
      const r = rows === null ? p : rows[p];
      const v = array[offset + r * stride];
      if (v === v) sample[cnt++] = v;
    }
    const sorted = sample.subarray(0, cnt);
    radixSortFloat32(sorted, scratch);
    edges.push(edgesFromSorted(sorted, opts.maxBins));
  }
  return { maxBins: opts.maxBins, edges };
}

/** Value bins of feature `f` (the missing bin is this index). */
export function binCount(mapper: BinMapper, f: number): number {
  return mapper.edges[f].length;
}

/**
 * Bins the selected rows into a feature-major matrix: `out[f * colStride + i]` is the bin
 * of selected row `i` for feature `f` (colStride defaults to the number of selected rows).
 * `out` may be a view over a SharedArrayBuffer so worker threads read it without copying.
 */
export function binRows(mapper: BinMapper, m: FeatureMatrix, rows: RowSelection, out?: Uint8Array, colStride?: number): Uint8Array {
  const n = selectedCount(m, rows);
  const cs = colStride ?? n;
  if (mapper.edges.length !== m.nFeatures) {
    throw new DataError('MATRIX_SHAPE', `bin mapper has ${mapper.edges.length} features; matrix has ${m.nFeatures}`);
  }
  if (cs < n) throw new DataError('MATRIX_SHAPE', `column stride ${cs} is below the ${n} rows to bin`);
  const res = out ?? new Uint8Array(cs * m.nFeatures);
  if (res.length < cs * m.nFeatures) throw new DataError('MATRIX_SHAPE', `bin buffer holds ${res.length} values; needs ${cs * m.nFeatures}`);
  const vals = new Float32Array(n);
  const bits = new Uint32Array(vals.buffer);
  const lut = new Uint8Array(65536);
  for (let f = 0; f < m.nFeatures; f++) {
    const { array, offset, stride } = columnView(m, f);
    if (rows === null) for (let i = 0; i < n; i++) vals[i] = array[offset + i * stride];
    else for (let i = 0; i < n; i++) vals[i] = array[offset + rows[i] * stride];
    binColumn(mapper.edges[f], bits, n, lut, res, f * cs);
  }
  return res;
}

/**
 * Bins one column given as float32 bits. A 65,536-entry table indexed by the top 16 bits
 * of a value's order-preserving key gives the first candidate bin; a short forward scan
 * over the (rarely more than one) edges sharing that prefix finishes the job: O(1) per
 * value instead of a branchy binary search.
 */
function binColumn(e: Float64Array, bits: Uint32Array, n: number, lut: Uint8Array, out: Uint8Array, base: number): void {
  const nb = e.length;
  const ek = new Uint32Array(nb);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let k = 0; k < nb; k++) {
    f32[0] = e[k];
    ek[k] = floatKey(u32[0]);
  }
  // lut[h] = first bin whose edge key has a top half >= h (the +Infinity edge ends every scan)
  let k = 0;
  for (let h = 0; h < 65536; h++) {
    while (k < nb - 1 && ek[k] >>> 16 < h) k++;
    lut[h] = k;
  }
  for (let i = 0; i < n; i++) {
    const u = bits[i];
    if ((u & 0x7f800000) === 0x7f800000 && (u & 0x007fffff) !== 0) {
      out[base + i] = nb; // NaN: the missing bin
      continue;
    }
    const key = (u & 0x80000000) !== 0 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
    let b = lut[key >>> 16];
    while (key > ek[b]) b++;
    out[base + i] = b;
  }
}
