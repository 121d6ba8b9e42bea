import { DataError, Mulberry32 } from '@engine/shared';
import type { FeatureMatrix } from './matrix';

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

import { GROUP, binColumn, dropNaN, edgesFromSorted, fitAndBinFeatures, gatherColumns, radixSortFloat32, type RowSelection } from './bin-kernels';

export type { RowSelection } from './bin-kernels';

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
  const cols = Array.from({ length: Math.min(GROUP, m.nFeatures) }, () => new Float32Array(k));
  const scratch = new Uint32Array(k);
  const dv = new Float64Array(k);
  const dc = new Int32Array(k);
  const edges: Float64Array[] = [];
  for (let f0 = 0; f0 < m.nFeatures; f0 += GROUP) {
    const g = Math.min(GROUP, m.nFeatures - f0);
    gatherColumns(m, rows, pos, k, f0, g, cols);
    for (let j = 0; j < g; j++) {
      const sorted = cols[j].subarray(0, dropNaN(cols[j], k));
      radixSortFloat32(sorted, scratch);
      edges.push(edgesFromSorted(sorted, opts.maxBins, dv, dc));
    }
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
  const cols = Array.from({ length: Math.min(GROUP, m.nFeatures) }, () => new Float32Array(n));
  const lut = new Uint8Array(65536);
  for (let f0 = 0; f0 < m.nFeatures; f0 += GROUP) {
    const g = Math.min(GROUP, m.nFeatures - f0);
    gatherColumns(m, rows, null, n, f0, g, cols);
    for (let j = 0; j < g; j++) {
      binColumn(mapper.edges[f0 + j], new Uint32Array(cols[j].buffer, 0, n), n, lut, res, (f0 + j) * cs);
    }
  }
  return res;
}


/**
 * Fits the bin edges and bins the selected rows in one go (what training does): features
 * are shared out among the pool's threads when the matrix lives in SharedArrayBuffers
 * (each feature's edges and bins are computed by one thread, the same way whichever). The
 * result equals fitBinMapper + binRows.
 */
export async function fitAndBinRows(
  m: FeatureMatrix,
  rows: RowSelection,
  opts: { maxBins: number; sampleRows: number; seed: number },
  out: Uint8Array,
  colStride: number,
  pool: { threads: number; binFeatures?: (job: ParallelBinJob) => Promise<Float64Array[][]> },
): Promise<BinMapper> {
  const n = selectedCount(m, rows);
  if (n < 2) throw new DataError('TOO_FEW_ROWS', `bin edges need at least 2 training rows; got ${n}`);
  const k = Math.min(n, opts.sampleRows);
  const pos = k < n ? samplePositions(n, k, opts.seed) : null;
  const F = m.nFeatures;
  const T = Math.min(pool.threads, F);
  if (T > 1 && pool.binFeatures !== undefined && isShared(m) && out.buffer instanceof SharedArrayBuffer) {
    const share = (v: Int32Array | null): Int32Array | null => {
      if (v === null) return null;
      const s = new Int32Array(new SharedArrayBuffer(Math.max(4, v.byteLength)), 0, v.length);
      s.set(v);
      return s;
    };
    const job: ParallelBinJob = { matrix: m, rows: share(rows), pos: share(pos), maxBins: opts.maxBins, out, colStride, threads: T };
    const parts = await pool.binFeatures(job);
    return { maxBins: opts.maxBins, edges: parts.flat() };
  }
  // one thread: a group of features at a time, letting the event loop in between
  const edges: Float64Array[] = [];
  for (let f0 = 0; f0 < F; f0 += GROUP) {
    edges.push(...fitAndBinFeatures(m, rows, pos, f0, Math.min(F, f0 + GROUP), opts.maxBins, out, colStride));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { maxBins: opts.maxBins, edges };
}

/** Work for the threads: thread t fits and bins features [t·F/T, (t+1)·F/T). */
export interface ParallelBinJob {
  matrix: FeatureMatrix;
  rows: Int32Array | null;
  pos: Int32Array | null;
  maxBins: number;
  out: Uint8Array;
  colStride: number;
  threads: number;
}

function isShared(m: FeatureMatrix): boolean {
  if (m.layout === 'rows') return m.data.buffer instanceof SharedArrayBuffer;
  return m.columns.every((c) => c.buffer instanceof SharedArrayBuffer);
}
