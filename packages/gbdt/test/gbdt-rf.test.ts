import { ConfigError, Mulberry32 } from '@engine/shared';
import { GbdtModel, resolveGbdtParams, rowMajorMatrix, trainGbdt, type GbdtModelJson, type GbdtParams } from '../src';
import { exportOnnx, ONNX_OUTPUT_EDGE } from '../src/onnx';
import { naivePredict } from './gbdt-naive';
import { maxRelDiff, runOnnx } from './onnx-run';

/** A forest without any sampling: every tree sees every row and every feature. */
const FULL: Partial<GbdtParams> = { boosting: 'rf', lambdaL2: 0, baggingFraction: 1, featureFraction: 1, featureFractionByNode: 1 };
/** The usual forest: half the rows per tree, a third of the features per node. */
const FOREST: Partial<GbdtParams> = { boosting: 'rf', lambdaL2: 0, baggingFraction: 0.5, featureFraction: 1, featureFractionByNode: 1 / 3 };

// 9 features, 3 of them informative, with NaNs; y = signal + heavy noise
const F = 9;
function data(n: number, seed: number): { X: Float32Array; y: Float64Array } {
  const rng = new Mulberry32(seed);
  const X = new Float32Array(n * F);
  for (let i = 0; i < n * F; i++) X[i] = rng.next() < 0.02 ? NaN : rng.next() * 2 - 1;
  const y = Float64Array.from({ length: n }, (_, i) => {
    const a = X[i * F] || 0;
    const b = X[i * F + 1] || 0;
    const c = X[i * F + 2] || 0;
    return Math.tanh(3 * a) + a * b + 0.5 * Math.sign(c) + 1.5 * (rng.next() - 0.5);
  });
  return { X, y };
}
const n = 6000;
const train = data(n, 41);
const x = rowMajorMatrix(train.X, n, F);
const nTest = 4000;
const test = data(nTest, 42);
const xTest = rowMajorMatrix(test.X, nTest, F);

function rmse(m: GbdtModel): number {
  const p = m.predict(xTest);
  let s = 0;
  for (let i = 0; i < nTest; i++) s += (p[i] - test.y[i]) ** 2;
  return Math.sqrt(s / nTest);
}

/** Leaf of `row` in `tree` (float32 comparisons, NaN following default_left). */
function leafOf(m: GbdtModel, t: number, row: ArrayLike<number>): number {
  const tree = m.trees[t];
  let node = tree.numLeaves > 1 ? 0 : ~0;
  while (node >= 0) {
    const v = Math.fround(row[tree.splitFeature[node]]);
    const left = Number.isNaN(v) ? tree.defaultLeft[node] === 1 : v <= tree.threshold[node];
    node = left ? tree.leftChild[node] : tree.rightChild[node];
  }
  return ~node;
}

const distinctFeatures = (m: GbdtModel, t: number): number => new Set(m.trees[t].splitFeature).size;

describe('random forest mode', () => {
  it('averages identical trees when nothing is sampled: T trees predict as one', async () => {
    const T = 5;
    const one = await trainGbdt({ x, y: train.y }, { ...FULL, nEstimators: 1, maxDepth: 4 }, { threads: 1 });
    const five = await trainGbdt({ x, y: train.y }, { ...FULL, nEstimators: T, maxDepth: 4 }, { threads: 1 });
    // a one-tree forest is the first tree of a boosting run with learning rate 1
    const boosted = await trainGbdt({ x, y: train.y }, { ...FULL, boosting: 'gbdt', learningRate: 1, nEstimators: 1, maxDepth: 4 }, { threads: 1 });
    expect(JSON.stringify(one.toJSON().trees)).toBe(JSON.stringify(boosted.toJSON().trees));
    expect(one.trees[0].numLeaves).toBe(16);
    for (const t of five.trees) {
      expect(Array.from(t.splitFeature)).toEqual(Array.from(one.trees[0].splitFeature));
      expect(Array.from(t.threshold)).toEqual(Array.from(one.trees[0].threshold));
      // each leaf holds its share of the average (rounded once to float32, so within an ulp)
      t.leafValue.forEach((v, l) => {
        expect(Math.fround(v)).toBe(v);
        expect(Math.abs(v * T - one.trees[0].leafValue[l])).toBeLessThanOrEqual(2 ** -22 * Math.abs(one.trees[0].leafValue[l]));
      });
    }
    const p1 = one.predict(xTest);
    const p5 = five.predict(xTest);
    for (let i = 0; i < nTest; i++) expect(p5[i]).toBeCloseTo(p1[i], 5);
  });

  it('predicts the base score plus the mean of its trees, each leaf the mean target of its rows', async () => {
    const T = 4;
    const m = await trainGbdt({ x, y: train.y }, { ...FULL, featureFractionByNode: 0.5, nEstimators: T, maxDepth: 5 }, { threads: 1 });
    let mean = 0;
    for (let i = 0; i < n; i++) mean += train.y[i] / n;
    expect(m.baseScore).toBe(Math.fround(mean));
    // leaves, recomputed by routing every training row (no bagging: every tree saw them all)
    for (let t = 0; t < T; t++) {
      const tree = m.trees[t];
      const sum = new Float64Array(tree.numLeaves);
      const count = new Float64Array(tree.numLeaves);
      for (let i = 0; i < n; i++) {
        const l = leafOf(m, t, train.X.subarray(i * F, i * F + F));
        sum[l] += train.y[i] - m.baseScore;
        count[l]++;
      }
      for (let l = 0; l < tree.numLeaves; l++) {
        expect(count[l]).toBe(tree.leafCount[l]);
        expect(tree.leafValue[l]).toBeCloseTo(sum[l] / count[l] / T, 6);
      }
    }
    // predictions: base + Σ leaf (= base + mean of the trees' own predictions)
    const p = m.predict(xTest);
    for (let i = 0; i < 300; i++) {
      const row = test.X.subarray(i * F, i * F + F);
      // each tree's own prediction is T × its stored leaf
      let sum = 0;
      for (let t = 0; t < T; t++) sum += m.trees[t].leafValue[leafOf(m, t, row)] * T;
      expect(p[i]).toBeCloseTo(m.baseScore + sum / T, 9);
      expect(p[i]).toBeCloseTo(naivePredict(m, row), 12);
      expect(m.predictRow(row)).toBeCloseTo(naivePredict(m, row), 12);
    }
  });

  it('beats a single tree on a noisy target', async () => {
    // the noise alone costs an RMSE of 1.5/√12 ≈ 0.433; one tree adds about 0.03 to that
    const single = await trainGbdt({ x, y: train.y }, { ...FULL, nEstimators: 1, maxDepth: 8 }, { threads: 1 });
    const forest = await trainGbdt({ x, y: train.y }, { ...FOREST, featureFractionByNode: 2 / 3, nEstimators: 60, maxDepth: 8 }, { threads: 2 });
    expect(forest.trees).toHaveLength(60);
    expect(rmse(forest)).toBeLessThan(0.97 * rmse(single));
  });

  it('draws features per node: trees use more features than a per-tree draw allows, deterministically', async () => {
    const perTree = await trainGbdt({ x, y: train.y }, { ...FOREST, featureFraction: 1 / 3, featureFractionByNode: 1, nEstimators: 10, maxDepth: 5 }, { threads: 1 });
    for (let t = 0; t < 10; t++) expect(distinctFeatures(perTree, t)).toBeLessThanOrEqual(3);
    const perNode = await trainGbdt({ x, y: train.y }, { ...FOREST, nEstimators: 10, maxDepth: 5 }, { threads: 1 });
    expect(Math.max(...Array.from({ length: 10 }, (_, t) => distinctFeatures(perNode, t)))).toBeGreaterThan(3);
    // no bagging: only the node draws make trees differ, so their roots differ
    const noBag = await trainGbdt({ x, y: train.y }, { ...FOREST, baggingFraction: 1, nEstimators: 10, maxDepth: 5 }, { threads: 1 });
    expect(new Set(noBag.trees.map((t) => `${t.splitFeature[0]}:${t.threshold[0]}`)).size).toBeGreaterThan(1);
    const again = await trainGbdt({ x, y: train.y }, { ...FOREST, nEstimators: 10, maxDepth: 5 }, { threads: 1 });
    expect(again.serialize()).toBe(perNode.serialize());
    const otherSeed = await trainGbdt({ x, y: train.y }, { ...FOREST, nEstimators: 10, maxDepth: 5, seed: 1 }, { threads: 1 });
    expect(otherSeed.serialize()).not.toBe(perNode.serialize());
  });

  it('samples features per node in boosting too', async () => {
    const plain = await trainGbdt({ x, y: train.y }, { nEstimators: 5 }, { threads: 1 });
    const byNode = await trainGbdt({ x, y: train.y }, { nEstimators: 5, featureFractionByNode: 0.5 }, { threads: 1 });
    expect(byNode.serialize()).not.toBe(plain.serialize());
    expect(byNode.toJSON().params.featureFractionByNode).toBe(0.5);
  });

  const threadCases: Array<[string, Partial<GbdtParams>]> = [
    ['depthwise, bagged, per-node features', { ...FOREST, nEstimators: 12, maxDepth: 6 }],
    ['leafwise, per-tree and per-node features', { ...FOREST, featureFraction: 0.8, growPolicy: 'leafwise', numLeaves: 40, maxDepth: 0, nEstimators: 8 }],
    ['boosting with per-node features', { nEstimators: 10, featureFractionByNode: 0.4 }],
  ];
  it.each(threadCases)('%s: byte-identical model JSON for 1, 2 and 3 threads', async (_name, params) => {
    const fit = async (threads: number): Promise<string> => (await trainGbdt({ x, y: train.y }, { ...params, seed: 7 }, { threads })).serialize();
    const one = await fit(1);
    expect(await fit(2)).toBe(one);
    expect(await fit(3)).toBe(one);
  });

  it('reports the loss of the trees so far as a forest', async () => {
    const losses: Array<{ train: number; valid?: number }> = [];
    const m = await trainGbdt(
      { x, y: train.y, valid: { x: xTest, y: test.y } },
      { ...FOREST, nEstimators: 6, maxDepth: 4 },
      { threads: 2, onProgress: (p) => losses.push({ train: p.trainLoss, valid: p.validLoss }) },
    );
    expect(losses).toHaveLength(6);
    expect(m.validLoss).toHaveLength(6);
    // after the last tree: the model's own mean squared error
    expect(m.validLoss[5]).toBeCloseTo(rmse(m) ** 2, 6);
    const p = m.predict(x);
    let se = 0;
    for (let i = 0; i < n; i++) se += (p[i] - train.y[i]) ** 2;
    expect(losses[5].train).toBeCloseTo(se / n, 6);
    // after one tree: that tree alone (scaled up to a whole forest)
    const first = new GbdtModel({
      objective: m.objective,
      baseScore: m.baseScore,
      huberDelta: m.huberDelta,
      nFeatures: F,
      featureNames: m.featureNames,
      params: m.params,
      trees: [{ ...m.trees[0], leafValue: m.trees[0].leafValue.map((v) => v * 6) }],
      roundsTrained: 1,
      validLoss: [],
    });
    expect(m.validLoss[0]).toBeCloseTo(rmse(first) ** 2, 5);
  });

  it('records the mode in the model JSON and round-trips it; boosting models keep their bytes', async () => {
    const m = await trainGbdt({ x, y: train.y }, { ...FOREST, nEstimators: 3, maxDepth: 3 }, { threads: 1 });
    const json = JSON.parse(m.serialize()) as GbdtModelJson;
    expect(json.params.boosting).toBe('rf');
    expect(json.params.featureFractionByNode).toBe(1 / 3);
    const back = GbdtModel.parse(m.serialize());
    expect(back.params.boosting).toBe('rf');
    expect(back.serialize()).toBe(m.serialize());
    // parameters added later are written only when set, and filled in when read
    const boosted = await trainGbdt({ x, y: train.y }, { nEstimators: 2, maxDepth: 3 }, { threads: 1 });
    const bj = JSON.parse(boosted.serialize()) as GbdtModelJson;
    expect('boosting' in bj.params).toBe(false);
    expect('featureFractionByNode' in bj.params).toBe(false);
    expect(boosted.params.boosting).toBe('gbdt');
    expect(GbdtModel.parse(boosted.serialize()).params.featureFractionByNode).toBe(1);
    expect(GbdtModel.parse(boosted.serialize()).serialize()).toBe(boosted.serialize());
  });

  it('refuses losses and early stopping a forest does not support, naming the parameter', () => {
    expect(() => resolveGbdtParams({ boosting: 'rf', objective: 'logistic' })).toThrow(ConfigError);
    expect(() => resolveGbdtParams({ boosting: 'rf', objective: 'huber' })).toThrow(/objective.*squared_error/);
    expect(() => resolveGbdtParams({ boosting: 'rf', earlyStoppingRounds: 5, validationFraction: 0.2 })).toThrow(/earlyStoppingRounds/);
    expect(() => resolveGbdtParams({ featureFractionByNode: 0 })).toThrow(/featureFractionByNode/);
    expect(() => resolveGbdtParams({ boosting: 'forest' as never })).toThrow(/boosting/);
    expect(resolveGbdtParams({ boosting: 'rf', learningRate: 0.05 }).boosting).toBe('rf');
  });

  it('exports to ONNX unchanged: onnxruntime predicts what the model does', async () => {
    const m = await trainGbdt({ x, y: train.y }, { ...FOREST, nEstimators: 50, maxDepth: 6 }, { threads: 2 });
    const { outputs } = await runOnnx(exportOnnx({ edge: m }), test.X, [nTest, F]);
    expect(maxRelDiff(outputs[ONNX_OUTPUT_EDGE].data, m.predict(xTest))).toBeLessThan(1e-5);
  });
});
