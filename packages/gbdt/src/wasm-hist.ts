/**
 * The packed-histogram kernels of hist-kernels.ts in WebAssembly, over a training's shared
 * arena (see HistBuffers.arena). The JavaScript versions pay a bounds check on every
 * typed-array access of a gather-and-scatter loop; these run about twice as fast on the
 * same data. The additions happen in the same order as in JavaScript, and packed bins hold
 * integers below 2^53 anyway, so histograms (and models) are bit-identical.
 *
 * All pointers are byte offsets into the arena; row indices are plain integers.
 *   packed(bins, order, og, hist, begin, end)
 *     hist[bins[order[i]]] += og[i] for i in [begin, end)       (bins: one feature's column)
 *   full(col, p, hist, n)
 *     hist[col[r]] += p[r] for r in [0, n), four rows per step  (column and p zero-padded)
 *   full2(col0, col1, p, hist0, hist1, n)
 *     both of the above for two features, each p[r] loaded once
 *   partition(src, left, right, bins, miss, t, dl, begin, end) → left count
 *     row-kernels' partitionToScratch: stable, branch-free split of src[begin..end) into
 *     left[begin..] and right[begin..] by bins[row] <= t (the missing bin goes left when dl)
 */

import { Code, I32, name, OP, section, uleb, VOID } from './wasm-asm';


/** hist[index] += value, with the address (hist + index·8) on the stack first and the value pushed by `value()`. */
function addAt(c: Code, tmp: number, value: () => void): void {
  c.tee(tmp).get(tmp).mem(OP.f64Load, 3);
  value();
  c.op(OP.f64Add).mem(OP.f64Store, 3);
}

/** packed: params bins(0) order(1) og(2) hist(3) begin(4) end(5); locals i(6) tmp(7) */
function packedBody(): number[] {
  const c = new Code();
  const [BINS, ORDER, OG, HIST, BEGIN, END, I, TMP] = [0, 1, 2, 3, 4, 5, 6, 7];
  const step = (u: number): void => {
    // address: hist + bins[order[i + u]] · 8
    c.get(HIST).get(BINS).get(ORDER).get(I).i32(2).op(OP.i32Shl, OP.i32Add).mem(OP.i32Load, 2, u * 4);
    c.op(OP.i32Add).mem(OP.i32Load8U, 0).i32(3).op(OP.i32Shl, OP.i32Add);
    addAt(c, TMP, () => c.get(OG).get(I).i32(3).op(OP.i32Shl, OP.i32Add).mem(OP.f64Load, 3, u * 8));
  };
  c.get(BEGIN).set(I);
  c.op(OP.block, VOID, OP.loop, VOID); // four rows per step
  c.get(I).i32(4).op(OP.i32Add).get(END).op(OP.i32GtS, OP.brIf, 1);
  for (let u = 0; u < 4; u++) step(u);
  c.get(I).i32(4).op(OP.i32Add).set(I);
  c.op(OP.br, 0, OP.end, OP.end);
  c.op(OP.block, VOID, OP.loop, VOID); // the last rows
  c.get(I).get(END).op(OP.i32GeS, OP.brIf, 1);
  step(0);
  c.get(I).i32(1).op(OP.i32Add).set(I);
  c.op(OP.br, 0, OP.end, OP.end);
  c.op(OP.end);
  return [...uleb(1), ...uleb(2), I32, ...c.b];
}

/**
 * full / full2: params col0(0) [col1] p hist0 [hist1] n; locals i, w0, [w1], tmp.
 * `two` adds the second feature.
 */
function fullBody(two: boolean): number[] {
  const c = new Code();
  const COL0 = 0;
  const COL1 = two ? 1 : -1;
  const P = two ? 2 : 1;
  const H0 = two ? 3 : 2;
  const H1 = two ? 4 : -1;
  const N = two ? 5 : 3;
  const I = N + 1;
  const W0 = I + 1;
  const W1 = W0 + 1;
  const TMP = W1 + 1;
  const bin = (w: number, k: number): void => {
    c.get(w);
    if (k > 0) c.i32(8 * k).op(OP.i32ShrU);
    if (k < 3) c.i32(255).op(OP.i32And);
  };
  c.i32(0).set(I);
  c.op(OP.block, VOID, OP.loop, VOID);
  c.get(I).get(N).op(OP.i32GeS, OP.brIf, 1);
  c.get(COL0).get(I).op(OP.i32Add).mem(OP.i32Load, 2).set(W0);
  if (two) c.get(COL1).get(I).op(OP.i32Add).mem(OP.i32Load, 2).set(W1);
  for (let k = 0; k < 4; k++) {
    const g = (): void => {
      c.get(P).get(I).i32(3).op(OP.i32Shl, OP.i32Add).mem(OP.f64Load, 3, k * 8);
    };
    c.get(H0);
    bin(W0, k);
    c.i32(3).op(OP.i32Shl, OP.i32Add);
    addAt(c, TMP, g);
    if (two) {
      c.get(H1);
      bin(W1, k);
      c.i32(3).op(OP.i32Shl, OP.i32Add);
      addAt(c, TMP, g);
    }
  }
  c.get(I).i32(4).op(OP.i32Add).set(I);
  c.op(OP.br, 0, OP.end, OP.end);
  c.op(OP.end);
  return [...uleb(1), ...uleb(4), I32, ...c.b];
}

/** partition: params src(0) left(1) right(2) bins(3) miss(4) t(5) dl(6) begin(7) end(8); locals i, endB, lb, rb, row, b, g. */
function partitionBody(): number[] {
  const c = new Code();
  const [SRC, LEFT, RIGHT, BINS, MISS, T, DL, BEGIN, END] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [I, ENDB, LB, RB, ROW, B, G] = [9, 10, 11, 12, 13, 14, 15];
  c.get(SRC).get(BEGIN).i32(2).op(OP.i32Shl, OP.i32Add).set(I);
  c.get(SRC).get(END).i32(2).op(OP.i32Shl, OP.i32Add).set(ENDB);
  c.get(LEFT).get(BEGIN).i32(2).op(OP.i32Shl, OP.i32Add).set(LB);
  c.get(RIGHT).get(BEGIN).i32(2).op(OP.i32Shl, OP.i32Add).set(RB);
  c.op(OP.block, VOID, OP.loop, VOID);
  c.get(I).get(ENDB).op(OP.i32GeU, OP.brIf, 1);
  c.get(I).mem(OP.i32Load, 2).set(ROW);
  c.get(BINS).get(ROW).op(OP.i32Add).mem(OP.i32Load8U, 0).set(B);
  // g = ((t − b) >>> 31 ^ 1) | ((((b ^ miss) − 1) >>> 31) & dl)
  c.get(T).get(B).op(OP.i32Sub).i32(31).op(OP.i32ShrU).i32(1).op(OP.i32Xor);
  c.get(B).get(MISS).op(OP.i32Xor).i32(1).op(OP.i32Sub).i32(31).op(OP.i32ShrU).get(DL).op(OP.i32And);
  c.op(OP.i32Or).set(G);
  c.get(LB).get(ROW).mem(OP.i32Store, 2);
  c.get(RB).get(ROW).mem(OP.i32Store, 2);
  c.get(LB).get(G).i32(2).op(OP.i32Shl, OP.i32Add).set(LB);
  c.get(RB).get(G).i32(1).op(OP.i32Xor).i32(2).op(OP.i32Shl, OP.i32Add).set(RB);
  c.get(I).i32(4).op(OP.i32Add).set(I);
  c.op(OP.br, 0, OP.end, OP.end);
  c.get(LB).get(LEFT).get(BEGIN).i32(2).op(OP.i32Shl, OP.i32Add).op(OP.i32Sub).i32(2).op(OP.i32ShrU);
  c.op(OP.end);
  return [...uleb(1), ...uleb(7), I32, ...c.b];
}

/** Largest training arena (64 KiB pages): 4 GiB, the wasm32 limit. */
export const HIST_ARENA_MAX_PAGES = 65536;

/** The module's bytes (imports a shared memory env.memory of at most HIST_ARENA_MAX_PAGES). */
export function histKernelBytes(): Uint8Array {
  const fn = (body: number[]): number[] => [...uleb(body.length), ...body];
  const bodies = [fn(packedBody()), fn(fullBody(false)), fn(fullBody(true)), fn(partitionBody())];
  const sig = (n: number): number[] => [0x60, n, ...new Array<number>(n).fill(I32), 0];
  const exp = (s: string, i: number): number[] => [...name(s), 0x00, i];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [4, ...sig(6), ...sig(4), ...sig(6), 0x60, 9, ...new Array<number>(9).fill(I32), 1, I32]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x03, ...uleb(1), ...uleb(HIST_ARENA_MAX_PAGES)]),
    ...section(3, [4, 0, 1, 2, 3]),
    ...section(7, [4, ...exp('packed', 0), ...exp('full', 1), ...exp('full2', 2), ...exp('partition', 3)]),
    ...section(10, [4, ...bodies.flat()]),
  ];
  return Uint8Array.from(bytes);
}

export interface HistKernels {
  packed(bins: number, order: number, og: number, hist: number, begin: number, end: number): void;
  full(col: number, p: number, hist: number, n: number): void;
  full2(col0: number, col1: number, p: number, hist0: number, hist1: number, n: number): void;
  partition(src: number, left: number, right: number, bins: number, miss: number, t: number, dl: number, begin: number, end: number): number;
}

let histModule: WebAssembly.Module | null | undefined;
let enabled = true;

/**
 * Turns the wasm kernels off for trainings allocated from now on (their arena is then a
 * plain SharedArrayBuffer and every thread runs the JavaScript loops); returns the old
 * setting. Tests use it to compare the two paths; models are the same either way.
 */
export function setHistWasmEnabled(on: boolean): boolean {
  const old = enabled;
  enabled = on;
  return old;
}

/** Whether new trainings get a wasm arena. */
export function histWasmEnabled(): boolean {
  return enabled && histKernelModule() !== null;
}

/** The compiled module, or null where WebAssembly (or shared wasm memory) is unavailable. */
export function histKernelModule(): WebAssembly.Module | null {
  if (histModule === undefined) {
    try {
      histModule = new WebAssembly.Module(histKernelBytes());
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    } catch {
      histModule = null;
    }
  }
  return histModule;
}

/** This thread's instance over a training's arena. */
export function histKernels(memory: WebAssembly.Memory): HistKernels {
  const m = histKernelModule();
  if (m === null) throw new Error('WebAssembly histogram kernels are unavailable');
  const e = new WebAssembly.Instance(m, { env: { memory } }).exports;
  return {
    packed: e.packed as HistKernels['packed'],
    full: e.full as HistKernels['full'],
    full2: e.full2 as HistKernels['full2'],
    partition: e.partition as HistKernels['partition'],
  };
}
