/**
 * The trainer's per-row loops, one loop per function with nothing after it but a `return`.
 * This shape matters in V8: a loop that gets hot inside a single long call is compiled
 * on-stack (OSR) before the code after it ever ran; that code then lacks type feedback,
 * deoptimises, and — OSR code being cached — does so again on every later call. Small
 * single-loop functions are optimised normally and stay optimised.
 */
// The one import: the PRNG constant. The histogram worker already loads @engine/shared
// (through thread-pool), so taking it from there costs the worker nothing.
import { MULBERRY32_STEP } from '@engine/shared';

/** Largest |grad[order[i]]| for i in [0, n). */
export function maxAbsOf(grad: Float64Array, order: Int32Array, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(grad[order[i]]);
    if (a > m) m = a;
  }
  return m;
}

/**
 * Quantises and packs the gradients of rows `order[0..n)`: `p[r] = round(g·scale)·cbMul + 1`
 * (other entries of `p` are left as they are). Returns Σ round(g·scale), exact.
 */
export function packRows(grad: Float64Array, order: Int32Array, n: number, scale: number, cbMul: number, p: Float64Array): number {
  let q = 0;
  for (let i = 0; i < n; i++) {
    const r = order[i];
    const qi = Math.round(grad[r] * scale);
    p[r] = qi * cbMul + 1;
    q += qi;
  }
  return q;
}

/** Σ a[order[i]] for i in [begin, end), in that order. */
export function sumRows(a: Float64Array, order: Int32Array, begin: number, end: number): number {
  let s = 0;
  for (let i = begin; i < end; i++) s += a[order[i]];
  return s;
}

/**
 * Stable partition of src[begin..end) into two scratch lists indexed from `begin`: left
 * rows to left[begin..], right rows to right[begin..]. Branch-free like partitionLeft.
 * Returns the number of left rows.
 */
export function partitionToScratch(
  src: Int32Array,
  left: Int32Array,
  right: Int32Array,
  bins: Uint8Array,
  base: number,
  miss: number,
  t: number,
  dl: number,
  begin: number,
  end: number,
): number {
  let l = begin;
  let r = begin;
  for (let i = begin; i < end; i++) {
    const row = src[i];
    const b = bins[base + row];
    const goLeft = (((t - b) >>> 31) ^ 1) | ((((b ^ miss) - 1) >>> 31) & dl);
    left[l] = row;
    right[r] = row;
    l += goLeft;
    r += goLeft ^ 1;
  }
  return l - begin;
}

/** dst[to + j] = src[from + j] for j < n. */
export function copyRows(src: Int32Array, from: number, n: number, dst: Int32Array, to: number): void {
  for (let j = 0; j < n; j++) dst[to + j] = src[from + j];
}

/** As copyRows, also og[to + j] = values[row] for each row copied. */
export function copyRowsGather(src: Int32Array, from: number, n: number, dst: Int32Array, to: number, values: Float64Array, og: Float64Array): void {
  for (let j = 0; j < n; j++) {
    const r = src[from + j];
    dst[to + j] = r;
    og[to + j] = values[r];
  }
}

/** Adds `v` to score[order[i]] for i in [begin, end). */
export function addToRows(score: Float64Array, order: Int32Array, begin: number, end: number, v: number): void {
  for (let i = begin; i < end; i++) score[order[i]] += v;
}

/**
 * Mulberry32's state increment, read once into a module constant: under CommonJS the
 * imported binding is a getter, which the bag loop below should not call per row.
 */
const MULBERRY_STEP = MULBERRY32_STEP;

/**
 * The bag draw for rows [r0, r1): row r uses mulberry32's draw number r after `state` (the
 * generator is a Weyl sequence, so any chunk can be drawn on its own). Bag rows go to
 * bag[r0..], the others to oob[r0..]; returns the chunk's bag size.
 */
export function drawBagChunk(state: number, fraction: number, r0: number, r1: number, bag: Int32Array, oob: Int32Array): number {
  const limit = fraction * 4294967296;
  let k = r0;
  let o = r0;
  for (let r = r0; r < r1; r++) {
    const st = (state + Math.imul(r + 1, MULBERRY_STEP)) >>> 0;
    let t = Math.imul(st ^ (st >>> 15), st | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const take = +((t ^ (t >>> 14)) >>> 0 < limit);
    bag[k] = r;
    oob[o] = r;
    k += take;
    o += take ^ 1;
  }
  return k - r0;
}
