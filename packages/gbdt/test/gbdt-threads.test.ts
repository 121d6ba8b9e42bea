import { existsSync } from 'node:fs';
import { columnMatrix, GbdtThreadPool, rowMajorMatrix, trainGbdt, type GbdtParams } from '../src';
import { setPredictArenaBudget } from '../src/wasm-forest';
import { histKernelBytes, setHistWasmEnabled } from '../src/wasm-hist';
import { Mulberry32 } from '@engine/shared';
import { histWorkerScript } from '../src/thread-pool';

// Worker threads run the compiled dist/ twin of hist-worker.ts (tsc -b builds it first).
const n = 6000;
const F = 9;
const rng = new Mulberry32(21);
const X = new Float32Array(n * F);
for (let i = 0; i < n * F; i++) X[i] = rng.next() < 0.03 ? NaN : rng.next() * 2 - 1;
const y = Float64Array.from({ length: n }, (_, i) => {
  const a = X[i * F] || 0;
  const b = X[i * F + 1] || 0;
  return Math.tanh(3 * a) + a * b + 0.5 * (rng.next() - 0.5);
});
const x = rowMajorMatrix(X, n, F);

describe('GBDT determinism across thread counts', () => {
  it('finds the compiled worker script', () => {
    expect(existsSync(histWorkerScript())).toBe(true);
  });

  const cases: Array<[string, Partial<GbdtParams>]> = [
    ['depthwise squared error, bagged and column-sampled', { nEstimators: 25, maxDepth: 5 }],
    ['leafwise Huber', { nEstimators: 20, objective: 'huber', growPolicy: 'leafwise', numLeaves: 31, maxDepth: 0 }],
    ['logistic (per-row hessians)', { nEstimators: 15, objective: 'logistic', maxDepth: 4 }],
  ];
  it.each(cases)('%s: byte-identical model JSON for 1, 2 and 3 threads', async (_name, params) => {
    const one = (await trainGbdt({ x, y }, { ...params, seed: 5 }, { threads: 1 })).serialize();
    const two = (await trainGbdt({ x, y }, { ...params, seed: 5 }, { threads: 2 })).serialize();
    const three = (await trainGbdt({ x, y }, { ...params, seed: 5 }, { threads: 3 })).serialize();
    expect(two).toBe(one);
    expect(three).toBe(one);
    expect(JSON.parse(one).trees.length).toBe(params.nEstimators);
  });

  it('the WebAssembly histogram kernels give the JavaScript loops\' models byte for byte', async () => {
    expect(WebAssembly.validate(histKernelBytes())).toBe(true);
    const params = { nEstimators: 12, maxDepth: 6, seed: 9 };
    const fit = async (threads: number): Promise<string> => (await trainGbdt({ x, y }, params, { threads })).serialize();
    const wasm = [await fit(1), await fit(2)];
    const old = setHistWasmEnabled(false);
    let js: string[];
    try {
      js = [await fit(1), await fit(2)];
    } finally {
      setHistWasmEnabled(old);
    }
    expect(wasm[0]).toBe(js[0]);
    expect(wasm[1]).toBe(js[0]);
    expect(js[1]).toBe(js[0]);
  });

  it('bins a matrix in shared memory on every thread, with the same result', async () => {
    const shared = new Float32Array(new SharedArrayBuffer(X.byteLength));
    shared.set(X);
    const xs = rowMajorMatrix(shared, n, F);
    const params = { nEstimators: 8, seed: 2 };
    const plain = (await trainGbdt({ x, y }, params, { threads: 1 })).serialize();
    expect((await trainGbdt({ x: xs, y }, params, { threads: 2 })).serialize()).toBe(plain);
    expect((await trainGbdt({ x: xs, y }, params, { threads: 3 })).serialize()).toBe(plain);
    const rows = Int32Array.from({ length: 4000 }, (_, i) => i + 1000);
    const sub = (await trainGbdt({ x, y, rows }, params, { threads: 1 })).serialize();
    expect((await trainGbdt({ x: xs, y, rows }, params, { threads: 3 })).serialize()).toBe(sub);
  });

  it('reuses one pool across trainings (e.g. walk-forward folds)', async () => {
    const pool = await GbdtThreadPool.create(2);
    try {
      const first = Int32Array.from({ length: 3000 }, (_, i) => i);
      const second = Int32Array.from({ length: 3000 }, (_, i) => 3000 + i);
      const a = await trainGbdt({ x, y, rows: first }, { nEstimators: 10 }, { pool });
      const b = await trainGbdt({ x, y, rows: second }, { nEstimators: 10 }, { pool });
      const a1 = await trainGbdt({ x, y, rows: first }, { nEstimators: 10 }, { threads: 1 });
      const b1 = await trainGbdt({ x, y, rows: second }, { nEstimators: 10 }, { threads: 1 });
      expect(a.serialize()).toBe(a1.serialize());
      expect(b.serialize()).toBe(b1.serialize());
    } finally {
      await pool.close();
    }
  });
});

describe('GBDT prediction on a thread pool', () => {
  const same = (a: Float64Array, b: Float64Array): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

  it('gives model.predict bit for bit, for several models, layouts and sizes through one pool', async () => {
    const reg = await trainGbdt({ x, y }, { nEstimators: 30, maxDepth: 6, seed: 3 }, { threads: 1 });
    const cls = await trainGbdt({ x, y: y.map((v) => (v > 0 ? 1 : 0)) }, { nEstimators: 20, maxDepth: 4, objective: 'logistic' }, { threads: 1 });
    const cols = columnMatrix(Array.from({ length: F }, (_, f) => Float64Array.from({ length: n }, (_, i) => X[i * F + f])));
    const pool = await GbdtThreadPool.create(3);
    try {
      for (const m of [reg, cls, reg]) {
        for (const input of [x, cols]) {
          // offload: every row is predicted by the workers, not by this thread
          expect(same(await pool.predict(m, input, undefined, { offload: true }), m.predict(input))).toBe(true);
          expect(same(await pool.predict(m, input), m.predict(input))).toBe(true);
        }
      }
      // a bigger input grows the shared arena; results still match
      const big = new Float32Array(4 * n * F);
      for (let k = 0; k < 4; k++) big.set(X, k * n * F);
      const xb = rowMajorMatrix(big, 4 * n, F);
      const out = new Float64Array(4 * n);
      expect(await pool.predict(reg, xb, out)).toBe(out);
      expect(same(out, reg.predict(xb))).toBe(true);
      // logistic predictions are probabilities
      const p = await pool.predict(cls, x);
      expect(p.every((v) => v > 0 && v < 1)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('runs the inputs in several arena fills when they exceed the budget', async () => {
    const m = await trainGbdt({ x, y }, { nEstimators: 12, maxDepth: 5 }, { threads: 1 });
    const pool = await GbdtThreadPool.create(2);
    const old = setPredictArenaBudget(100 * 1024); // about 2,300 rows per fill
    try {
      expect(same(await pool.predict(m, x, undefined, { offload: true }), m.predict(x))).toBe(true);
      expect(same(await pool.predict(m, x), m.predict(x))).toBe(true);
    } finally {
      setPredictArenaBudget(old);
      await pool.close();
    }
  });

  it('serves one prediction at a time and predicts small inputs on the calling thread', async () => {
    const m = await trainGbdt({ x, y }, { nEstimators: 5, maxDepth: 3 }, { threads: 1 });
    const pool = await GbdtThreadPool.create(2);
    try {
      const first = pool.predict(m, x);
      await expect(pool.predict(m, x)).rejects.toThrow(/one pool per concurrent job/);
      expect(same(await first, m.predict(x))).toBe(true);
      const small = rowMajorMatrix(X.subarray(0, 100 * F), 100, F);
      expect(same(await pool.predict(m, small), m.predict(small))).toBe(true);
    } finally {
      await pool.close();
    }
    await expect(pool.predict(m, x)).rejects.toThrow(/closed/);
  });
});
