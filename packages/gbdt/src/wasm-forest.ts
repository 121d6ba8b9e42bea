/**
 * Batch prediction kernel in WebAssembly for forests in the complete layout (see
 * CompiledForest). The module is emitted here, byte by byte, specialised to the forest
 * depth D so that the D steps of a walk are unrolled; it needs no toolchain and no file.
 *
 * Why WebAssembly: the walk is a chain of dependent loads (node → feature → next node).
 * The JavaScript kernel pays a bounds check on each typed-array load and runs out of
 * registers for eight interleaved walks; the wasm kernel has neither cost and runs about
 * 1.6× faster on the same machine (bench:gbdt prints both). Results are bit-identical to
 * the JavaScript kernel: same float32 comparisons, same float64 leaf sums in tree order.
 *
 * Memory of one arena (byte offsets, all 8-aligned):
 *   nodes   per tree (2^D − 1) records of 8 bytes: int32 byte offset of the feature in a
 *           converted row (code × 4), float32 threshold
 *   leaves  per tree 2^D float64
 *   scratch per thread: BLOCK converted rows (2F float32: NaN as −∞, then NaN as +∞) and
 *           BLOCK float64 accumulators
 *   out     float64 per row (the caller's running sums; trees are added to them)
 *   input   float32 per row and feature, row-major
 */

import { Code, F32, I32, name, OP, section, uleb, VOID } from './wasm-asm';

/** Rows per block: a block's converted rows stay in L1 while every tree visits them. */
export const WASM_BLOCK = 64;
/** Rows walked side by side through one tree (independent load chains the CPU overlaps). */
const LANES = 8;
/** Deepest forest the kernel is emitted for (CompiledForest's complete-layout limit). */
export const WASM_MAX_DEPTH = 10;

// run(input, nRows, F, out, scratch, nodes, leaves, T)
const P_IN = 0;
const P_NROWS = 1;
const P_F = 2;
const P_OUT = 3;
const P_SCRATCH = 4;
const P_NODES = 5;
const P_LEAVES = 6;
const P_T = 7;
// i32 locals
const L_W = 8; // bytes per converted row (2F × 4)
const L_R0 = 9;
const L_NB = 10;
const L_R = 11;
const L_F = 12;
const L_P = 13;
const L_Q = 14;
const L_T = 15;
const L_B = 16;
const L_LB = 17;
const L_ACC = 18;
const L_HALF = 19; // F × 4
const L_O = 20; // the group's first row; lane j's row is at L_O + j·W (a constant offset)
const L_I = L_O + 1; // LANES node offsets
const N_I32_LOCALS = L_I + LANES - L_W;
// f32 local
const L_V = L_I + LANES;

/**
 * Emits the kernel for forests of depth D over F features (run's F argument must match).
 * `shared` imports a shared memory (for a thread
 * pool: every thread runs its own instance over the same arena).
 */
export function forestKernelBytes(D: number, F: number, shared: boolean): Uint8Array {
  if (!Number.isInteger(D) || D < 0 || D > WASM_MAX_DEPTH) throw new RangeError(`forest depth must be 0..${WASM_MAX_DEPTH}; got ${D}`);
  if (!Number.isInteger(F) || F < 1 || F > 1 << 20) throw new RangeError(`feature count must be 1..${1 << 20}; got ${F}`);
  /** Bytes per converted row; the kernel is specialised to it so that a lane's row is a constant offset. */
  const W = 8 * F;
  const nI = (1 << D) - 1;
  const c = new Code();
  const BLOCK = WASM_BLOCK;

  c.get(P_F).i32(2).op(OP.i32Shl).set(L_HALF);
  c.get(L_HALF).i32(1).op(OP.i32Shl).set(L_W);
  // accumulators sit after the block's converted rows
  c.get(P_SCRATCH).get(L_W).i32(BLOCK).op(OP.i32Mul).op(OP.i32Add).set(L_ACC);
  c.i32(0).set(L_R0);
  c.op(OP.block, VOID, OP.loop, VOID); // blocks of rows
  {
    c.get(L_R0).get(P_NROWS).op(OP.i32GeU, OP.brIf, 1);
    // nb = min(BLOCK, nRows − r0)
    c.i32(BLOCK).get(P_NROWS).get(L_R0).op(OP.i32Sub).tee(L_NB).get(L_NB).i32(BLOCK).op(OP.i32GtU, OP.select).set(L_NB);

    // convert rows [r0, r0 + nb) into the scratch: NaN → −∞ in the first half, +∞ in the second
    c.get(P_IN).get(L_R0).get(L_HALF).op(OP.i32Mul).op(OP.i32Add).set(L_P);
    c.get(P_SCRATCH).set(L_Q);
    c.i32(0).set(L_R);
    c.op(OP.loop, VOID);
    {
      c.i32(0).set(L_F);
      c.op(OP.loop, VOID);
      {
        c.get(L_P).mem(OP.f32Load, 2).set(L_V);
        c.get(L_Q).f32(-Infinity).get(L_V).get(L_V).get(L_V).op(OP.f32Ne, OP.select).mem(OP.f32Store, 2);
        c.get(L_Q).get(L_HALF).op(OP.i32Add).f32(Infinity).get(L_V).get(L_V).get(L_V).op(OP.f32Ne, OP.select).mem(OP.f32Store, 2);
        c.get(L_P).i32(4).op(OP.i32Add).set(L_P);
        c.get(L_Q).i32(4).op(OP.i32Add).set(L_Q);
        c.get(L_F).i32(1).op(OP.i32Add).tee(L_F).get(P_F).op(OP.i32LtU, OP.brIf, 0);
      }
      c.op(OP.end);
      c.get(L_Q).get(L_HALF).op(OP.i32Add).set(L_Q);
      // acc[r] = out[r0 + r]
      c.get(L_ACC).get(L_R).i32(3).op(OP.i32Shl).op(OP.i32Add);
      c.get(P_OUT).get(L_R0).get(L_R).op(OP.i32Add).i32(3).op(OP.i32Shl).op(OP.i32Add).mem(OP.f64Load, 3);
      c.mem(OP.f64Store, 3);
      c.get(L_R).i32(1).op(OP.i32Add).tee(L_R).get(L_NB).op(OP.i32LtU, OP.brIf, 0);
    }
    c.op(OP.end);

    // trees: rows in groups of LANES (the last group may run over stale scratch rows; their
    // accumulators are never copied out)
    c.get(P_NODES).set(L_B);
    c.get(P_LEAVES).i32(nI * 8).op(OP.i32Sub).set(L_LB);
    c.i32(0).set(L_T);
    c.op(OP.block, VOID);
    c.get(P_T).i32(0).op(OP.i32LeS, OP.brIf, 0);
    c.op(OP.loop, VOID);
    {
      c.i32(0).set(L_R);
      c.op(OP.loop, VOID);
      {
        c.get(P_SCRATCH).get(L_R).get(L_W).op(OP.i32Mul).op(OP.i32Add).set(L_O);
        for (let j = 0; j < LANES; j++) c.i32(0).set(L_I + j);
        // L_I + j holds 8 × node index: next = 2·ib + 8 + 8·(x[feature] > threshold)
        for (let d = 0; d < D; d++) {
          for (let j = 0; j < LANES; j++) {
            c.get(L_I + j).i32(1).op(OP.i32Shl).i32(8).op(OP.i32Add);
            c.get(L_O).get(L_I + j).get(L_B).op(OP.i32Add).mem(OP.i32Load, 2).op(OP.i32Add).mem(OP.f32Load, 2, j * W);
            c.get(L_I + j).get(L_B).op(OP.i32Add).mem(OP.f32Load, 2, 4);
            c.op(OP.f32Gt).i32(3).op(OP.i32Shl, OP.i32Add).set(L_I + j);
          }
        }
        for (let j = 0; j < LANES; j++) {
          // acc[r + j] += leaf
          c.get(L_ACC).get(L_R).i32(j).op(OP.i32Add).i32(3).op(OP.i32Shl).op(OP.i32Add).tee(L_P);
          c.get(L_P).mem(OP.f64Load, 3);
          c.get(L_I + j).get(L_LB).op(OP.i32Add).mem(OP.f64Load, 3);
          c.op(OP.f64Add).mem(OP.f64Store, 3);
        }
        c.get(L_R).i32(LANES).op(OP.i32Add).tee(L_R).get(L_NB).op(OP.i32LtU, OP.brIf, 0);
      }
      c.op(OP.end);
      c.get(L_B).i32(nI * 8).op(OP.i32Add).set(L_B);
      c.get(L_LB).i32((nI + 1) * 8).op(OP.i32Add).set(L_LB);
      c.get(L_T).i32(1).op(OP.i32Add).tee(L_T).get(P_T).op(OP.i32LtU, OP.brIf, 0);
    }
    c.op(OP.end, OP.end);

    // out[r0 + r] = acc[r]
    c.i32(0).set(L_R);
    c.op(OP.loop, VOID);
    {
      c.get(P_OUT).get(L_R0).get(L_R).op(OP.i32Add).i32(3).op(OP.i32Shl).op(OP.i32Add);
      c.get(L_ACC).get(L_R).i32(3).op(OP.i32Shl).op(OP.i32Add).mem(OP.f64Load, 3);
      c.mem(OP.f64Store, 3);
      c.get(L_R).i32(1).op(OP.i32Add).tee(L_R).get(L_NB).op(OP.i32LtU, OP.brIf, 0);
    }
    c.op(OP.end);

    c.get(L_R0).i32(BLOCK).op(OP.i32Add).set(L_R0);
    c.op(OP.br, 0);
  }
  c.op(OP.end, OP.end);
  c.op(OP.end);

  const body = [...uleb(2), ...uleb(N_I32_LOCALS), I32, 1, F32, ...c.b];
  const func = [...uleb(body.length), ...body];
  const limits = shared ? [0x03, ...uleb(1), ...uleb(MAX_PAGES)] : [0x00, ...uleb(1)];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 8, I32, I32, I32, I32, I32, I32, I32, I32, 0]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, ...limits]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('run'), 0x00, 0]),
    ...section(10, [1, ...func]),
  ];
  return Uint8Array.from(bytes);
}

/** Largest arena a shared memory may grow to (64 KiB pages): 1 GiB. */
const MAX_PAGES = 16384;
const PAGE = 65536;

const moduleCache = new Map<string, WebAssembly.Module>();

/** The compiled kernel for depth D and F features (cached per process). */
export function forestKernel(D: number, F: number, shared: boolean): WebAssembly.Module {
  const key = `${D}:${F}:${shared ? 's' : 'p'}`;
  let m = moduleCache.get(key);
  if (m === undefined) {
    m = new WebAssembly.Module(forestKernelBytes(D, F, shared));
    moduleCache.set(key, m);
  }
  return m;
}

/** Whether this runtime can run the kernel (WebAssembly present and the module compiles). */
export function wasmAvailable(): boolean {
  if (wasmOk === null) {
    try {
      forestKernel(1, 1, false);
      wasmOk = true;
    } catch {
      wasmOk = false;
    }
  }
  return wasmOk;
}
let wasmOk: boolean | null = null;

/** Where things live in an arena; every thread of a pool reads the same layout. */
export interface ArenaLayout {
  readonly depth: number;
  readonly nTrees: number;
  readonly nFeatures: number;
  readonly nodes: number;
  readonly leaves: number;
  /** First thread's scratch; thread t's is at scratch + t · scratchBytes. */
  readonly scratch: number;
  readonly scratchBytes: number;
  readonly out: number;
  readonly input: number;
  /** Rows the out and input areas hold. */
  readonly capacityRows: number;
  readonly bytes: number;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

export function arenaLayout(depth: number, nTrees: number, nFeatures: number, threads: number, capacityRows: number): ArenaLayout {
  const nI = (1 << depth) - 1;
  const nodes = 0;
  const leaves = align(nodes + nI * nTrees * 8, 64);
  const scratch = align(leaves + (nI + 1) * nTrees * 8, 64);
  const scratchBytes = align(WASM_BLOCK * (2 * nFeatures * 4 + 8), 64);
  const out = scratch + threads * scratchBytes;
  const input = align(out + capacityRows * 8, 64);
  const bytes = input + capacityRows * nFeatures * 4;
  return { depth, nTrees, nFeatures, nodes, leaves, scratch, scratchBytes, out, input, capacityRows, bytes };
}

/** Bytes of input and output an arena holds at once (larger inputs are predicted in fills). */
let arenaBudget = 64 << 20;

/** Changes the arena budget (tests use a small one to exercise several fills); returns the old one. */
export function setPredictArenaBudget(bytes: number): number {
  const old = arenaBudget;
  arenaBudget = bytes;
  return old;
}

/** Rows per arena fill. */
export function arenaCapacity(nFeatures: number, nRows: number): number {
  return Math.max(WASM_BLOCK, Math.min(nRows, Math.floor(arenaBudget / (nFeatures * 4 + 8))));
}

/**
 * The forest's node and leaf areas as one image to copy into an arena at offset 0
 * (layout.nodes .. layout.scratch).
 */
export function forestImage(layout: ArenaLayout, code: Int32Array, thr: Float64Array, leaf: Float64Array): Uint8Array {
  const img = new ArrayBuffer(layout.scratch);
  const dv = new DataView(img);
  for (let i = 0; i < code.length; i++) {
    dv.setInt32(layout.nodes + i * 8, code[i] * 4, true);
    dv.setFloat32(layout.nodes + i * 8 + 4, f32AtOrBelow(thr[i]), true);
  }
  new Float64Array(img, layout.leaves, leaf.length).set(leaf);
  return new Uint8Array(img);
}

/**
 * The largest float32 at or below t, so that for every float32 x, x > t exactly when
 * x > f32AtOrBelow(t). Trained thresholds are float32 already and pass unchanged; this
 * keeps a hand-made model with float64 thresholds equal to the JavaScript kernel.
 */
export function f32AtOrBelow(t: number): number {
  const r = Math.fround(t);
  if (!(r > t)) return r; // exact, rounded down, or NaN
  const f = new Float32Array([r]);
  const u = new Uint32Array(f.buffer);
  if (r === 0) u[0] = 0x80000001; // below +0 (t is a tiny negative): the largest negative subnormal
  else if (r > 0) u[0] -= 1;
  else u[0] += 1;
  return f[0];
}

/** Grows `memory` to hold `bytes`. */
export function ensureMemory(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return;
  const pages = Math.ceil((bytes - have) / PAGE);
  memory.grow(pages);
}

export type KernelRun = (input: number, nRows: number, F: number, out: number, scratch: number, nodes: number, leaves: number, T: number) => void;

export function instantiateKernel(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelRun {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  return inst.exports.run as KernelRun;
}

/** Runs rows [r0, r1) of an arena's input on thread `thread`'s scratch. */
export function runRows(run: KernelRun, L: ArenaLayout, r0: number, r1: number, thread: number): void {
  if (r1 <= r0) return;
  run(L.input + r0 * L.nFeatures * 4, r1 - r0, L.nFeatures, L.out + r0 * 8, L.scratch + thread * L.scratchBytes, L.nodes, L.leaves, L.nTrees);
}

export function newMemory(bytes: number, shared: boolean): WebAssembly.Memory {
  const initial = Math.max(1, Math.ceil(bytes / PAGE));
  if (shared) {
    if (initial > MAX_PAGES) throw new RangeError(`prediction arena of ${bytes} bytes exceeds ${MAX_PAGES} pages`);
    return new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared: true });
  }
  return new WebAssembly.Memory({ initial });
}
