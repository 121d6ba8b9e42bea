/**
 * The loops behind quantile binning, importable by the histogram worker threads (no
 * dependencies): sorting a feature's sample, placing bin edges, and binning a column.
 */
import type { FeatureMatrix } from './matrix';

/** Rows to use: all rows of the matrix, or these row indices (ascending, in time order). */
export type RowSelection = Int32Array | null;

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

/** Distinct values of a sorted (non-empty) array and their counts; returns how many. */
function distinctValues(sorted: Float32Array, dv: Float64Array, dc: Int32Array): number {
  const n = sorted.length;
  let d = 0;
  let cur = sorted[0];
  let c = 0;
  for (let i = 0; i < n; i++) {
    const v = sorted[i];
    if (v !== cur) {
      dv[d] = cur;
      dc[d] = c;
      d++;
      cur = v;
      c = 0;
    }
    c++;
  }
  dv[d] = cur;
  dc[d] = c;
  return d + 1;
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

/**
 * Upper bin edges (last = +Infinity) for one feature from its sorted non-missing sample.
 * `dv` and `dc` are scratch space of at least the sample's length (reused across features:
 * fresh memory is slow to touch).
 */
export function edgesFromSorted(sorted: Float32Array, maxBins: number, dv: Float64Array, dc: Int32Array): Float64Array {
  const n = sorted.length;
  if (n === 0) return Float64Array.of(Infinity);
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
 * (3 passes of 11 bits): about 10× faster than TypedArray#sort on 10^5 values. (One loop per
 * helper function: see row-kernels.ts on why.)
 */
export function radixSortFloat32(values: Float32Array, scratch: Uint32Array): void {
  const n = values.length;
  const keys = new Uint32Array(values.buffer, values.byteOffset, n);
  toKeys(keys, n);
  const counts = new Int32Array(2048);
  const tmp = scratch.subarray(0, n);
  radixPass(keys, tmp, n, 0, counts);
  radixPass(tmp, keys, n, 11, counts);
  radixPass(keys, tmp, n, 22, counts);
  fromKeys(tmp, keys, n);
}

function toKeys(keys: Uint32Array, n: number): void {
  for (let i = 0; i < n; i++) keys[i] = floatKey(keys[i]);
}

function fromKeys(src: Uint32Array, dst: Uint32Array, n: number): void {
  for (let i = 0; i < n; i++) dst[i] = keyToFloatBits(src[i]);
}

/** One stable counting-sort pass on the 11-bit digit at `shift`. */
function radixPass(src: Uint32Array, dst: Uint32Array, n: number, shift: number, counts: Int32Array): void {
  counts.fill(0);
  countDigits(src, n, shift, counts);
  prefixSums(counts);
  scatterByDigit(src, dst, n, shift, counts);
}

function countDigits(src: Uint32Array, n: number, shift: number, counts: Int32Array): void {
  for (let i = 0; i < n; i++) counts[(src[i] >>> shift) & 2047]++;
}

function prefixSums(counts: Int32Array): void {
  let sum = 0;
  for (let d = 0; d < counts.length; d++) {
    const c = counts[d];
    counts[d] = sum;
    sum += c;
  }
}

function scatterByDigit(src: Uint32Array, dst: Uint32Array, n: number, shift: number, counts: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const k = src[i];
    dst[counts[(k >>> shift) & 2047]++] = k;
  }
}

/** Features read together: one pass over a row-major matrix serves this many columns. */
export const GROUP = 8;

/**
 * Copies features [f0, f0 + g) of `count` rows into float32 columns: out[j][i] is feature
 * f0 + j of row `rows[pos[i]]` (pos null = i; rows null = identity). A row-major matrix is
 * read row by row, so each row's cache line serves all g features.
 */
export function gatherColumns(m: FeatureMatrix, rows: RowSelection, pos: Int32Array | null, count: number, f0: number, g: number, out: Float32Array[]): void {
  if (m.layout === 'rows') {
    gatherRowMajor(m.data, m.nFeatures, rows, pos, count, f0, g, out);
    return;
  }
  for (let j = 0; j < g; j++) gatherStrided(m.columns[f0 + j], rows, pos, count, 1, 0, out[j]);
}

/** Row-major gather: one pass over the selected rows fills all g columns. */
function gatherRowMajor(data: Float32Array | Float64Array, F: number, rows: RowSelection, pos: Int32Array | null, count: number, f0: number, g: number, out: Float32Array[]): void {
  if (g === 8 && rows === null && pos === null) {
    gatherRowMajor8(data, F, count, f0, out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7]);
    return;
  }
  for (let i = 0; i < count; i++) {
    const p = pos === null ? i : pos[i];
    const base = (rows === null ? p : rows[p]) * F + f0;
    for (let j = 0; j < g; j++) out[j][i] = data[base + j];
  }
}

/** The common case of gatherRowMajor (all rows, eight columns), with the columns in locals. */
function gatherRowMajor8(
  data: Float32Array | Float64Array,
  F: number,
  count: number,
  f0: number,
  c0: Float32Array,
  c1: Float32Array,
  c2: Float32Array,
  c3: Float32Array,
  c4: Float32Array,
  c5: Float32Array,
  c6: Float32Array,
  c7: Float32Array,
): void {
  for (let i = 0; i < count; i++) {
    const b = i * F + f0;
    c0[i] = data[b];
    c1[i] = data[b + 1];
    c2[i] = data[b + 2];
    c3[i] = data[b + 3];
    c4[i] = data[b + 4];
    c5[i] = data[b + 5];
    c6[i] = data[b + 6];
    c7[i] = data[b + 7];
  }
}

/** out[i] = a[r · stride + off] for the i-th selected row r (one feature). */
function gatherStrided(a: Float32Array | Float64Array, rows: RowSelection, pos: Int32Array | null, count: number, stride: number, off: number, out: Float32Array): void {
  if (rows === null && pos === null) for (let i = 0; i < count; i++) out[i] = a[i * stride + off];
  else if (pos === null) for (let i = 0; i < count; i++) out[i] = a[rows![i] * stride + off];
  else if (rows === null) for (let i = 0; i < count; i++) out[i] = a[pos[i] * stride + off];
  else for (let i = 0; i < count; i++) out[i] = a[rows[pos[i]] * stride + off];
}

/** Moves the non-NaN values of v[0..n) to its front; returns how many. */
export function dropNaN(v: Float32Array, n: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i];
    v[k] = x;
    k += +(x === x);
  }
  return k;
}

/**
 * Bins one column given as float32 bits. A 65,536-entry table indexed by the top 16 bits
 * of a value's order-preserving key gives the first candidate bin; a short forward scan
 * over the (rarely more than one) edges sharing that prefix finishes the job: O(1) per
 * value instead of a branchy binary search.
 */
export function binColumn(e: Float64Array, bits: Uint32Array, n: number, lut: Uint8Array, out: Uint8Array, base: number): void {
  const nb = e.length;
  const ek = new Uint32Array(nb);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let k = 0; k < nb; k++) {
    f32[0] = e[k];
    ek[k] = floatKey(u32[0]);
  }
  fillLut(ek, nb, lut);
  binWithLut(bits, n, ek, nb, lut, out, base);
}

/** lut[h] = first bin whose edge key has a top half >= h (the +Infinity edge ends every scan). */
function fillLut(ek: Uint32Array, nb: number, lut: Uint8Array): void {
  let k = 0;
  for (let h = 0; h < 65536; h++) {
    while (k < nb - 1 && ek[k] >>> 16 < h) k++;
    lut[h] = k;
  }
}

function binWithLut(bits: Uint32Array, n: number, ek: Uint32Array, nb: number, lut: Uint8Array, out: Uint8Array, base: number): void {
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

/**
 * Fits the bin edges of features [fBegin, fEnd) on the sampled rows (`pos` indexes the
 * selected rows; null = every selected row) and bins every selected row of them into `out`
 * (feature-major, `out[f * colStride + i]`). Returns their edges, in feature order.
 */
export function fitAndBinFeatures(
  m: FeatureMatrix,
  rows: RowSelection,
  pos: Int32Array | null,
  fBegin: number,
  fEnd: number,
  maxBins: number,
  out: Uint8Array,
  colStride: number,
): Float64Array[] {
  const n = rows === null ? m.nRows : rows.length;
  const k = pos === null ? n : pos.length;
  const g0 = Math.min(GROUP, Math.max(1, fEnd - fBegin));
  const sample = Array.from({ length: g0 }, () => new Float32Array(k));
  const vals = Array.from({ length: g0 }, () => new Float32Array(n));
  const scratch = new Uint32Array(k);
  const dv = new Float64Array(k);
  const dc = new Int32Array(k);
  const lut = new Uint8Array(65536);
  const edges: Float64Array[] = [];
  for (let f0 = fBegin; f0 < fEnd; f0 += GROUP) {
    const g = Math.min(GROUP, fEnd - f0);
    gatherColumns(m, rows, null, n, f0, g, vals);
    // every row sampled: the sample is a copy of the values (one pass over the matrix)
    if (pos === null) for (let j = 0; j < g; j++) sample[j].set(vals[j]);
    else gatherColumns(m, rows, pos, k, f0, g, sample);
    for (let j = 0; j < g; j++) {
      const sorted = sample[j].subarray(0, dropNaN(sample[j], k));
      radixSortFloat32(sorted, scratch);
      const e = edgesFromSorted(sorted, maxBins, dv, dc);
      edges.push(e);
      binColumn(e, new Uint32Array(vals[j].buffer, 0, n), n, lut, out, (f0 + j) * colStride);
    }
  }
  return edges;
}
