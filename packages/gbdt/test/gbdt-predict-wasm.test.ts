import { columnMatrix, GbdtModel, rowMajorMatrix, type FeatureMatrix, type GbdtModelJson } from '../src';
import { DEFAULT_GBDT_PARAMS } from '../src/params';
import { Mulberry32 } from '@engine/shared';
import type { GbdtTreeJson } from '../src/tree';
import { naivePredict } from './gbdt-naive';
import { f32AtOrBelow, forestKernelBytes, setPredictArenaBudget, WASM_MAX_DEPTH } from '../src/wasm-forest';

/**
 * The WebAssembly batch kernel against the JavaScript one (bit for bit) and against a
 * naive walk, on synthetic forests built to hit the edges: values equal to thresholds,
 * ±0, ±Infinity, NaN with both default directions, single-leaf trees, lopsided trees
 * (pushed down through pass-through nodes), row counts that are not multiples of the
 * 8-row lanes or the 64-row blocks.
 */

// values drawn for both thresholds and data, so equality and signed zeros come up often
const POOL = [-1e30, -2.5, -1, -0, 0, Math.fround(0.1), 0.5, 1, 3.25, 1e30];

function randomTree(rng: Mulberry32, F: number, maxDepth: number): GbdtTreeJson {
  const t: GbdtTreeJson = {
    num_leaves: 0, split_feature: [], threshold: [], default_left: [], left_child: [], right_child: [],
    split_gain: [], internal_count: [], leaf_value: [], leaf_count: [],
  };
  // pre-order: node ids in creation order, children after parents (the model format's rule)
  const grow = (d: number): number => {
    if (d >= maxDepth || (d > 0 && rng.next() < 0.3)) {
      t.leaf_value.push(Math.fround((rng.next() - 0.5) * 10));
      t.leaf_count.push(1);
      return ~(t.leaf_value.length - 1);
    }
    const id = t.split_feature.length;
    t.split_feature.push(Math.floor(rng.next() * F));
    t.threshold.push(POOL[Math.floor(rng.next() * POOL.length)]);
    t.default_left.push(rng.next() < 0.5 ? 1 : 0);
    t.left_child.push(0);
    t.right_child.push(0);
    t.split_gain.push(1);
    t.internal_count.push(1);
    t.left_child[id] = grow(d + 1);
    t.right_child[id] = grow(d + 1);
    return id;
  };
  if (maxDepth === 0 || rng.next() < 0.05) {
    t.leaf_value.push(Math.fround(rng.next()));
    t.leaf_count.push(1);
  } else grow(0);
  t.num_leaves = t.leaf_value.length;
  return t;
}

function randomModel(seed: number, F: number, nTrees: number, maxDepth: number): GbdtModel {
  const rng = new Mulberry32(seed);
  const trees = Array.from({ length: nTrees }, () => randomTree(rng, F, maxDepth));
  const j: GbdtModelJson = {
    format: 'engine-gbdt', version: 1, objective: 'squared_error', base_score: 0.25, huber_delta: 1, num_features: F,
    feature_names: Array.from({ length: F }, (_, i) => `f${i}`), num_trees: nTrees, rounds_trained: nTrees,
    params: { ...DEFAULT_GBDT_PARAMS }, valid_loss: [], feature_importance: { gain: new Array<number>(F).fill(0), split: new Array<number>(F).fill(0) }, trees,
  };
  return GbdtModel.fromJSON(j);
}

function randomRows(seed: number, n: number, F: number): Float64Array {
  const rng = new Mulberry32(seed);
  return Float64Array.from({ length: n * F }, () => {
    const u = rng.next();
    if (u < 0.08) return NaN;
    if (u < 0.1) return u < 0.09 ? Infinity : -Infinity;
    if (u < 0.55) return POOL[Math.floor(rng.next() * POOL.length)];
    return (rng.next() - 0.5) * 8;
  });
}

function layouts(X: Float64Array, n: number, F: number): Array<[string, FeatureMatrix]> {
  const column = (f: number): number[] => Array.from({ length: n }, (_, i) => X[i * F + f]);
  const cols = (make: (v: number[]) => Float32Array | Float64Array): FeatureMatrix => columnMatrix(Array.from({ length: F }, (_, f) => make(column(f))));
  return [
    ['rows f64', rowMajorMatrix(X, n, F)],
    ['rows f32', rowMajorMatrix(Float32Array.from(X), n, F)],
    ['columns f64', cols((v) => Float64Array.from(v))],
    ['columns f32', cols((v) => Float32Array.from(v))],
  ];
}

function run(m: GbdtModel, x: FeatureMatrix, backend: 'js' | 'wasm', treeEnd = m.trees.length): Float64Array {
  const out = new Float64Array(x.nRows).fill(m.baseScore);
  m.compiled().addRows(x, out, treeEnd, backend);
  return out;
}

function expectBitIdentical(a: Float64Array, b: Float64Array): void {
  let diff = -1;
  for (let i = 0; i < a.length && diff < 0; i++) if (!Object.is(a[i], b[i])) diff = i;
  expect(diff).toBe(-1);
}

describe('WebAssembly prediction kernel', () => {
  it('emits a valid module for every depth it supports', () => {
    for (let D = 0; D <= WASM_MAX_DEPTH; D++) {
      for (const F of [1, 7, 60]) {
        for (const shared of [false, true]) expect(WebAssembly.validate(forestKernelBytes(D, F, shared))).toBe(true);
      }
    }
    expect(() => forestKernelBytes(WASM_MAX_DEPTH + 1, 3, false)).toThrow(/depth/);
    expect(() => forestKernelBytes(3, 0, false)).toThrow(/feature count/);
  });

  it('rounds float64 thresholds down to the float32 that splits float32 inputs the same way', () => {
    for (const t of [0.5, Math.fround(0.1), 0.1, 1e30, -1e30, 1e39, -1e39, -1e-50, 1e-50, 0, -0, Infinity, -Infinity]) {
      const r = f32AtOrBelow(t);
      expect(Math.fround(r)).toBe(r);
      expect(r <= t || Number.isNaN(t)).toBe(true);
      // no float32 lies strictly between r and t
      const f = new Float32Array([r]);
      const u = new Uint32Array(f.buffer);
      if (r !== Infinity && r !== -Infinity && t !== r) {
        if (r > 0 || Object.is(r, 0)) u[0] += 1;
        else if (Object.is(r, -0)) u[0] = 1;
        else u[0] -= 1;
        expect(f[0]).toBeGreaterThan(t);
      }
    }
    expect(f32AtOrBelow(0.1)).toBeLessThan(0.1);
    expect(f32AtOrBelow(1e39)).toBe(3.4028234663852886e38);
    expect(Number.isNaN(f32AtOrBelow(NaN))).toBe(true);
  });

  const forests: Array<[string, number, number, number]> = [
    ['stumps only (depth 0)', 0, 5, 3],
    ['depth 1', 1, 9, 4],
    ['depth 3, lopsided', 3, 40, 5],
    ['depth 6', 6, 60, 11],
    ['depth 10', 10, 12, 6],
  ];
  it.each(forests)('%s: bit-identical to the JavaScript kernel on every layout, and equal to a naive walk', (_name, depth, nTrees, F) => {
    const m = randomModel(depth * 100 + nTrees, F, nTrees, depth);
    expect(m.compiled().wasmCapable).toBe(true);
    for (const n of [128, 129, 1003]) {
      const X = randomRows(n + F, n, F);
      for (const [, x] of layouts(X, n, F)) {
        const wasm = run(m, x, 'wasm');
        expectBitIdentical(wasm, run(m, x, 'js'));
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(wasm[i] - naivePredict(m, X.subarray(i * F, i * F + F))));
        expect(worst).toBeLessThan(1e-9);
      }
    }
  });

  it('adds only the first treeEnd trees when asked', () => {
    const m = randomModel(7, 6, 30, 5);
    const n = 300;
    const X = randomRows(8, n, 6);
    const x = rowMajorMatrix(X, n, 6);
    for (const end of [0, 1, 17, 30]) {
      const wasm = run(m, x, 'wasm', end);
      expectBitIdentical(wasm, run(m, x, 'js', end));
      expect(wasm[5]).toBeCloseTo(naivePredict(m, X.subarray(30, 36), end), 9);
    }
  });

  it('predicts inputs larger than its arena in several fills, with the same bits', () => {
    const m = randomModel(11, 8, 25, 6);
    const n = 5000;
    const X = randomRows(12, n, 8);
    const want = run(m, rowMajorMatrix(X, n, 8), 'js');
    const old = setPredictArenaBudget(64 * 1024); // about 1,600 rows per fill
    try {
      const fresh = randomModel(11, 8, 25, 6); // a forest whose arena is laid out under the small budget
      expectBitIdentical(run(fresh, rowMajorMatrix(X, n, 8), 'wasm'), want);
    } finally {
      setPredictArenaBudget(old);
    }
  });

  it('model.predict uses it for batches and stays equal to predictRow up to summation order', () => {
    const m = randomModel(21, 10, 50, 6);
    const n = 2000;
    const X = randomRows(22, n, 10);
    const p = m.predict(rowMajorMatrix(X, n, 10));
    expectBitIdentical(p, run(m, rowMajorMatrix(X, n, 10), 'wasm'));
    for (let i = 0; i < n; i += 97) expect(p[i]).toBeCloseTo(m.predictRow(X.subarray(i * 10, i * 10 + 10)), 9);
  });

  it('refuses the wasm backend for forests deeper than it supports', () => {
    const m = randomModel(31, 3, 2, 12);
    expect(m.compiled().wasmCapable).toBe(false);
    const x = rowMajorMatrix(randomRows(32, 200, 3), 200, 3);
    expect(() => run(m, x, 'wasm')).toThrow(/cannot run this forest/);
    // auto falls back to the JavaScript pointer walk
    const p = m.predict(x);
    expect(p[3]).toBeCloseTo(naivePredict(m, randomRows(32, 200, 3).subarray(9, 12)), 9);
  });
});
