import { ConfigError, Mulberry32 } from '@engine/shared';
import { GbdtModel, columnMatrix, rowMajorMatrix, trainGbdt, type GbdtParams } from '../src';
import { treeDepth } from '../src/tree';
import { naivePredict } from './gbdt-naive';

/** No sampling, no shrinkage, no regularisation: every number below is computable by hand. */
const EXACT: Partial<GbdtParams> = {
  learningRate: 1,
  lambdaL2: 0,
  baggingFraction: 1,
  featureFraction: 1,
  minDataInLeaf: 1,
  minSumHessianInLeaf: 0,
};

function uniformMatrix(n: number, F: number, seed: number, nanRate = 0): Float64Array {
  const rng = new Mulberry32(seed);
  const X = new Float64Array(n * F);
  for (let i = 0; i < n * F; i++) X[i] = rng.next() < nanRate ? NaN : rng.next();
  return X;
}

describe('GBDT trainer: known answers', () => {
  it('finds the single split of a step function, with exact leaf means', async () => {
    // x0 = 0.00, 0.01, … 0.99; y = 10 above 0.5 (x1 is noise)
    const n = 100;
    const X = new Float64Array(n * 2);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      X[i * 2] = i / 100;
      X[i * 2 + 1] = (i * 37) % 100;
      y[i] = i / 100 > 0.5 ? 10 : 0;
    }
    const m = await trainGbdt({ x: rowMajorMatrix(X, n, 2), y }, { ...EXACT, nEstimators: 1, maxDepth: 1 }, { threads: 1 });
    const t = m.trees[0];
    expect(t.numLeaves).toBe(2);
    expect(t.splitFeature[0]).toBe(0);
    // the edge lies between 0.50 and 0.51 (float32 midpoint)
    expect(t.threshold[0]).toBeGreaterThanOrEqual(Math.fround(0.5));
    expect(t.threshold[0]).toBeLessThan(Math.fround(0.51));
    expect(m.baseScore).toBe(Math.fround(4.9));
    // leaf values: mean(y | side) − base, as float32
    expect(t.leafValue[0]).toBe(Math.fround(0 - Math.fround(4.9)));
    expect(t.leafValue[1]).toBe(Math.fround(10 - Math.fround(4.9)));
    expect(m.predictRow([0.2, 0])).toBeCloseTo(0, 6);
    expect(m.predictRow([0.9, 0])).toBeCloseTo(10, 6);
    // gain = ½ (GL²/HL + GR²/HR − G²/H) with G = Σ(base − y)
    const G = 100 * Math.fround(4.9) - 490;
    const GL = 51 * Math.fround(4.9);
    const expected = 0.5 * ((GL * GL) / 51 + ((G - GL) * (G - GL)) / 49 - (G * G) / 100);
    expect(t.splitGain[0]).toBeCloseTo(expected, 2);
  });

  it('grows a stump (one leaf at the mean) when the target is constant', async () => {
    const n = 200;
    const X = uniformMatrix(n, 3, 1);
    const y = new Float64Array(n).fill(3.25);
    const m = await trainGbdt({ x: rowMajorMatrix(X, n, 3), y }, { ...EXACT, nEstimators: 3 }, { threads: 1 });
    for (const t of m.trees) expect(t.numLeaves).toBe(1);
    expect(m.predict(rowMajorMatrix(X, n, 3)).every((p) => p === 3.25)).toBe(true);
  });

  it('learns where missing values go: NaN follows the side whose targets it shares', async () => {
    const n = 400;
    for (const nanTarget of [0, 10]) {
      const X = new Float64Array(n);
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        if (i % 4 === 0) {
          X[i] = NaN;
          y[i] = nanTarget;
        } else {
          X[i] = i / n;
          y[i] = i / n > 0.5 ? 10 : 0;
        }
      }
      const m = await trainGbdt({ x: rowMajorMatrix(X, n, 1), y }, { ...EXACT, nEstimators: 1, maxDepth: 1 }, { threads: 1 });
      expect(m.trees[0].defaultLeft[0]).toBe(nanTarget === 0 ? 1 : 0);
      expect(m.predictRow([NaN])).toBeCloseTo(nanTarget, 5);
    }
  });

  it('sends NaNs never seen in training to the larger child', async () => {
    const n = 300;
    const X = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      X[i] = i / n;
      y[i] = i < 100 ? 5 : -5; // left child has 100 rows, right 200
    }
    const m = await trainGbdt({ x: rowMajorMatrix(X, n, 1), y }, { ...EXACT, nEstimators: 1, maxDepth: 1 }, { threads: 1 });
    expect(m.trees[0].defaultLeft[0]).toBe(0);
    expect(m.predictRow([NaN])).toBeCloseTo(-5, 5);
  });

  it('fits a monotone target with a monotone, accurate staircase', async () => {
    const n = 2000;
    const X = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      X[i] = i / n;
      y[i] = 3 * X[i] + X[i] * X[i];
    }
    const m = await trainGbdt({ x: rowMajorMatrix(X, n, 1), y }, { nEstimators: 200, learningRate: 0.2, baggingFraction: 1, featureFraction: 1 }, { threads: 1 });
    const grid = Float64Array.from({ length: 500 }, (_, i) => i / 500);
    const p = m.predict(rowMajorMatrix(grid, 500, 1));
    for (let i = 1; i < 500; i++) expect(p[i]).toBeGreaterThanOrEqual(p[i - 1] - 1e-9);
    let se = 0;
    for (let i = 0; i < 500; i++) se += (p[i] - (3 * grid[i] + grid[i] * grid[i])) ** 2;
    expect(Math.sqrt(se / 500)).toBeLessThan(0.02);
  });

  it('bounds trees by depth (depthwise) and by leaves (leafwise)', async () => {
    const n = 3000;
    const F = 4;
    const X = uniformMatrix(n, F, 2);
    const rng = new Mulberry32(5);
    const y = Float64Array.from({ length: n }, (_, i) => Math.sin(6 * X[i * F]) + X[i * F + 1] * X[i * F + 2] + 0.3 * rng.next());
    const x = rowMajorMatrix(X, n, F);
    const dw = await trainGbdt({ x, y }, { nEstimators: 5, maxDepth: 3, numLeaves: 64, minDataInLeaf: 5 }, { threads: 1 });
    for (const t of dw.trees) {
      expect(treeDepth(t)).toBeLessThanOrEqual(3);
      expect(t.numLeaves).toBeLessThanOrEqual(8);
    }
    expect(dw.trees.some((t) => t.numLeaves === 8)).toBe(true);
    const lw = await trainGbdt({ x, y }, { nEstimators: 5, growPolicy: 'leafwise', numLeaves: 7, maxDepth: 0, minDataInLeaf: 5 }, { threads: 1 });
    for (const t of lw.trees) expect(t.numLeaves).toBeLessThanOrEqual(7);
    expect(lw.trees.some((t) => t.numLeaves === 7 && treeDepth(t) > 3)).toBe(true);
  });

  it('respects minDataInLeaf in every leaf', async () => {
    const n = 1000;
    const X = uniformMatrix(n, 2, 3);
    const y = Float64Array.from({ length: n }, (_, i) => (X[i * 2] > 0.97 ? 50 : 0));
    const m = await trainGbdt({ x: rowMajorMatrix(X, n, 2), y }, { ...EXACT, nEstimators: 4, minDataInLeaf: 40, maxDepth: 4 }, { threads: 1 });
    for (const t of m.trees) for (const c of t.leafCount) expect(c).toBeGreaterThanOrEqual(40);
  });

  it('ranks the informative feature first by gain and counts splits', async () => {
    const n = 3000;
    const F = 5;
    const X = uniformMatrix(n, F, 4);
    const rng = new Mulberry32(9);
    const y = Float64Array.from({ length: n }, (_, i) => 5 * X[i * F + 3] + rng.next());
    const m = await trainGbdt({ x: rowMajorMatrix(X, n, F), y }, { nEstimators: 30, maxDepth: 3 }, { threads: 1 });
    const gain = m.featureImportance('gain');
    const split = m.featureImportance('split');
    expect(gain.indexOf(Math.max(...gain))).toBe(3);
    expect(split.reduce((a, b) => a + b, 0)).toBe(m.trees.reduce((a, t) => a + t.numLeaves - 1, 0));
    expect(m.toJSON().feature_importance.gain).toEqual(Array.from(gain));
  });

  it('reads row-major and columnar matrices into the same model', async () => {
    const n = 1500;
    const F = 3;
    const X = uniformMatrix(n, F, 6, 0.05);
    const y = Float64Array.from({ length: n }, (_, i) => (X[i * F] > 0.5 ? 1 : 0) + (Number.isNaN(X[i * F + 1]) ? 2 : X[i * F + 1]));
    const cols = Array.from({ length: F }, (_, f) => Float32Array.from({ length: n }, (_, i) => X[i * F + f]));
    const rows = new Float32Array(X);
    const params = { nEstimators: 10, seed: 3 };
    const a = await trainGbdt({ x: rowMajorMatrix(rows, n, F), y }, params, { threads: 1 });
    const b = await trainGbdt({ x: columnMatrix(cols), y }, params, { threads: 1 });
    expect(b.serialize()).toBe(a.serialize());
  });

  it('trains on a subset of rows (time-ordered) and the seed changes the bags', async () => {
    const n = 2000;
    const X = uniformMatrix(n, 3, 8);
    const y = Float64Array.from({ length: n }, (_, i) => X[i * 3] * 4);
    const rows = Int32Array.from({ length: 1000 }, (_, i) => i * 2);
    const x = rowMajorMatrix(X, n, 3);
    const a = await trainGbdt({ x, y, rows }, { nEstimators: 5, seed: 1 }, { threads: 1 });
    const b = await trainGbdt({ x, y, rows }, { nEstimators: 5, seed: 2 }, { threads: 1 });
    expect(a.trees[0].internalCount[0]).toBeLessThan(1000);
    expect(a.serialize()).not.toBe(b.serialize());
  });
});

describe('GBDT trainer: losses', () => {
  it('logistic loss gives probabilities of y > 0', async () => {
    const n = 4000;
    const X = uniformMatrix(n, 2, 10);
    const rng = new Mulberry32(11);
    // P(y > 0) = 0.9 when x0 > 0.5, else 0.2
    const y = Float64Array.from({ length: n }, (_, i) => (rng.next() < (X[i * 2] > 0.5 ? 0.9 : 0.2) ? 12.5 : -3));
    const m = await trainGbdt({ x: rowMajorMatrix(X, n, 2), y }, { objective: 'logistic', nEstimators: 60, learningRate: 0.2, maxDepth: 2 }, { threads: 1 });
    const p = m.predict(rowMajorMatrix(X, n, 2));
    let hi = 0;
    let nHi = 0;
    let lo = 0;
    let nLo = 0;
    for (let i = 0; i < n; i++) {
      expect(p[i]).toBeGreaterThan(0);
      expect(p[i]).toBeLessThan(1);
      if (X[i * 2] > 0.5) {
        hi += p[i];
        nHi++;
      } else {
        lo += p[i];
        nLo++;
      }
    }
    expect(hi / nHi).toBeCloseTo(0.9, 1);
    expect(lo / nLo).toBeCloseTo(0.2, 1);
    expect(m.predictRow([0.9, 0.5])).toBeGreaterThan(0.8);
  });

  it('Huber loss shrugs off outliers that drag squared error', async () => {
    const n = 3000;
    const X = uniformMatrix(n, 1, 12);
    const rng = new Mulberry32(13);
    const truth = (x: number): number => (x > 0.5 ? 2 : -2);
    const y = Float64Array.from({ length: n }, (_, i) => truth(X[i]) + rng.next() - 0.5 + (i % 50 === 0 ? 400 : 0));
    const params = { nEstimators: 100, learningRate: 0.1, maxDepth: 2, baggingFraction: 1, featureFraction: 1 };
    const sq = await trainGbdt({ x: rowMajorMatrix(X, n, 1), y }, params, { threads: 1 });
    const hu = await trainGbdt({ x: rowMajorMatrix(X, n, 1), y }, { ...params, objective: 'huber' }, { threads: 1 });
    const err = (m: GbdtModel): number => Math.abs(m.predictRow([0.25]) - truth(0.25)) + Math.abs(m.predictRow([0.75]) - truth(0.75));
    expect(hu.huberDelta).toBeGreaterThan(0);
    expect(err(hu)).toBeLessThan(1);
    expect(err(sq)).toBeGreaterThan(err(hu) + 5);
  });
});

describe('GBDT trainer: early stopping, progress, abort, validation', () => {
  const n = 3000;
  const X = uniformMatrix(n, 3, 14);
  const rng = new Mulberry32(15);
  const noise = Float64Array.from({ length: n }, () => rng.next() - 0.5);

  it('stops when the time-ordered validation tail stops improving and keeps the best round', async () => {
    const seen: number[] = [];
    const m = await trainGbdt(
      { x: rowMajorMatrix(X, n, 3), y: noise },
      { nEstimators: 300, learningRate: 0.3, validationFraction: 0.25, earlyStoppingRounds: 10 },
      { threads: 1, onProgress: (p) => seen.push(p.iteration) },
    );
    expect(m.roundsTrained).toBeLessThan(300);
    expect(m.validLoss.length).toBe(m.roundsTrained);
    const best = m.validLoss.indexOf(Math.min(...m.validLoss)) + 1;
    expect(m.trees.length).toBe(best);
    expect(m.roundsTrained - best).toBe(10);
    expect(seen).toEqual(Array.from({ length: m.roundsTrained }, (_, i) => i + 1));
    // the tail is held out: the bag of the first tree never exceeds the first 75% of rows
    expect(m.trees[0].internalCount[0]).toBeLessThanOrEqual(2250);
  });

  it('uses an explicit validation set when given', async () => {
    const m = await trainGbdt(
      { x: rowMajorMatrix(X, n, 3), y: noise, rows: Int32Array.from({ length: 2000 }, (_, i) => i), valid: { x: rowMajorMatrix(X, n, 3), y: noise, rows: Int32Array.from({ length: 1000 }, (_, i) => 2000 + i) } },
      { nEstimators: 200, learningRate: 0.3, earlyStoppingRounds: 5 },
      { threads: 1 },
    );
    expect(m.roundsTrained).toBeLessThan(200);
  });

  it('aborts between trees with the signal', async () => {
    const ac = new AbortController();
    const run = trainGbdt({ x: rowMajorMatrix(X, n, 3), y: noise }, { nEstimators: 500 }, { threads: 1, signal: ac.signal, onProgress: (p) => p.iteration === 3 && ac.abort() });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects bad parameters and bad targets with named errors', async () => {
    const x = rowMajorMatrix(X, n, 3);
    await expect(trainGbdt({ x, y: noise }, { learningRate: 0 })).rejects.toBeInstanceOf(ConfigError);
    await expect(trainGbdt({ x, y: noise }, { maxBins: 256 })).rejects.toThrow(/maxBins/);
    await expect(trainGbdt({ x, y: noise }, { earlyStoppingRounds: 5 })).rejects.toThrow(/validation set/);
    await expect(trainGbdt({ x, y: noise }, { bogus: 1 } as unknown as Partial<GbdtParams>)).rejects.toThrow(/bogus/);
    const bad = Float64Array.from(noise);
    bad[17] = NaN;
    await expect(trainGbdt({ x, y: bad })).rejects.toThrow(/row 17/);
  });
});

describe('GBDT predictor', () => {
  it('matches a naive walk of the trees, for shallow (complete layout) and deep (pointer layout) forests', async () => {
    const n = 3000;
    const F = 3;
    const X = uniformMatrix(n, F, 17, 0.08);
    // a 40-step staircase in x0: leaf-wise trees without a depth limit grow deep chains
    const y = Float64Array.from({ length: n }, (_, i) => Math.floor((X[i * F] || 0) * 40) + (Number.isNaN(X[i * F + 1]) ? 5 : 0));
    const x = rowMajorMatrix(X, n, F);
    const shallow = await trainGbdt({ x, y }, { nEstimators: 20, maxDepth: 4 }, { threads: 1 });
    const deep = await trainGbdt({ x, y }, { ...EXACT, nEstimators: 3, growPolicy: 'leafwise', maxDepth: 0, numLeaves: 64, minDataInLeaf: 5 }, { threads: 1 });
    expect(Math.max(...deep.trees.map(treeDepth))).toBeGreaterThan(10);
    for (const m of [shallow, deep]) {
      const p = m.predict(x);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const row = X.subarray(i * F, i * F + F);
        const want = naivePredict(m, row);
        worst = Math.max(worst, Math.abs(p[i] - want), Math.abs(m.predictRow(row) - want));
      }
      expect(worst).toBeLessThan(1e-9);
    }
  });
});

describe('GBDT model format', () => {
  it('round-trips through JSON with bit-identical predictions', async () => {
    const n = 2000;
    const F = 4;
    const X = uniformMatrix(n, F, 16, 0.05);
    const y = Float64Array.from({ length: n }, (_, i) => Math.sin(5 * (X[i * F] || 0)) + (X[i * F + 1] || 0) * 2);
    const x = rowMajorMatrix(X, n, F);
    const m = await trainGbdt({ x, y, featureNames: ['a', 'b', 'c', 'd'] }, { nEstimators: 40 }, { threads: 1 });
    const text = m.serialize();
    const back = GbdtModel.parse(text);
    expect(back.serialize()).toBe(text);
    expect(back.featureNames).toEqual(['a', 'b', 'c', 'd']);
    const p1 = m.predict(x);
    const p2 = back.predict(x);
    expect(Buffer.from(p2.buffer).equals(Buffer.from(p1.buffer))).toBe(true);
    for (let i = 0; i < 50; i++) expect(back.predictRow(X.subarray(i * F, i * F + F))).toBe(p1[i]);
  });

  it('refuses a corrupt model at load', () => {
    const good = {
      format: 'engine-gbdt', version: 1, objective: 'squared_error', base_score: 0, huber_delta: 0, num_features: 1, feature_names: ['x'],
      num_trees: 1, rounds_trained: 1, params: {}, valid_loss: [], feature_importance: { gain: [0], split: [0] },
      trees: [{ num_leaves: 2, split_feature: [3], threshold: [0.5], default_left: [0], left_child: [-1], right_child: [-2], split_gain: [1], internal_count: [2], leaf_value: [0, 1], leaf_count: [1, 1] }],
    };
    expect(() => GbdtModel.fromJSON(good as never)).toThrow(/feature 3/);
    expect(() => GbdtModel.fromJSON({ ...good, format: 'xgboost' } as never)).toThrow(/format/);
  });
});
