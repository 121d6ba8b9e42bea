import { Worker } from 'node:worker_threads';
import { DataError, Mulberry32 } from '@engine/shared';
import { columnMatrix, modelProtoType, trainGbdt, type GbdtModel } from '@engine/gbdt';
import { applyHead, combinedScore, exportScoreOnnx, fitCombiner, foldEnsemble, nonNegativeLeastSquares, plattScaling, ScoreModel, type LinearTerm } from '../src';

/** onnxruntime-node in a worker thread (inside jest's sandbox its typed arrays fail instanceof checks). */
function runOnnx(bytes: Uint8Array, input: Float32Array, dims: number[]): Promise<Record<string, Float32Array>> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const ort = require(workerData.ort);
    (async () => {
      const s = await ort.InferenceSession.create(workerData.bytes);
      const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', workerData.input, workerData.dims) });
      const outputs = {};
      for (const name of s.outputNames) outputs[name] = out[name].data;
      parentPort.postMessage({ outputs });
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { ort: require.resolve('onnxruntime-node'), bytes, input, dims } });
    w.once('message', (m: { error?: string; outputs?: Record<string, Float32Array> }) => {
      void w.terminate();
      if (m.error !== undefined) reject(new Error(m.error));
      else resolve(m.outputs!);
    });
    w.once('error', reject);
  });
}

function normal(rng: Mulberry32): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

describe('non-negative stacking', () => {
  it('is the exact NNLS optimum: active weights have zero residual correlation, dropped ones a non-positive one', () => {
    const rng = new Mulberry32(1);
    const n = 2000;
    const z = [0, 1, 2].map(() => Float64Array.from({ length: n }, () => normal(rng)));
    const y = Float64Array.from({ length: n }, (_, i) => 3 + 2 * z[0]![i]! + 0.5 * z[1]![i]! - 1 * z[2]![i]! + normal(rng));
    const fit = nonNegativeLeastSquares(z, y);
    expect(fit.coef[2]).toBe(0);
    // z3's term joins the noise (sd √2): the others stay within a few standard errors of the truth
    expect(Math.abs(fit.coef[0]! - 2)).toBeLessThan(0.15);
    expect(Math.abs(fit.coef[1]! - 0.5)).toBeLessThan(0.15);
    // KKT: gradient of the squared error w.r.t. each coefficient
    const r = Float64Array.from(y, (v, i) => v - fit.intercept - fit.coef.reduce((s, c, k) => s + c * z[k]![i]!, 0));
    const grad = z.map((zk) => zk.reduce((s, v, i) => s + v * r[i]!, 0) / n);
    expect(Math.abs(grad[0]!)).toBeLessThan(1e-9);
    expect(Math.abs(grad[1]!)).toBeLessThan(1e-9);
    expect(grad[2]!).toBeLessThan(0);
    expect(r.reduce((s, v) => s + v, 0) / n).toBeCloseTo(0, 9);
  });
});

describe('Platt calibration', () => {
  it('recovers the slope and intercept of a logistic relation and is a stationary point of the smoothed likelihood', () => {
    const rng = new Mulberry32(2);
    const n = 40_000;
    const s = Float64Array.from({ length: n }, () => normal(rng));
    const y = Uint8Array.from(s, (v) => (rng.next() < 1 / (1 + Math.exp(-(1.5 * v - 0.5))) ? 1 : 0));
    const h = plattScaling(s, y);
    expect(h.scale).toBeCloseTo(1.5, 1);
    expect(h.offset).toBeCloseTo(-0.5, 1);
    const nPos = y.reduce((a, v) => a + v, 0);
    const tPos = (nPos + 1) / (nPos + 2);
    const tNeg = 1 / (n - nPos + 2);
    let ga = 0;
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const d = 1 / (1 + Math.exp(-(h.scale * s[i]! + h.offset))) - (y[i] ? tPos : tNeg);
      ga += d * s[i]!;
      gb += d;
    }
    expect(Math.abs(ga) / n).toBeLessThan(1e-8);
    expect(Math.abs(gb) / n).toBeLessThan(1e-8);
  });

  it('stays finite when the classes separate', () => {
    const s = Float64Array.from({ length: 100 }, (_, i) => i - 50);
    const h = plattScaling(s, Uint8Array.from(s, (v) => (v > 0 ? 1 : 0)));
    expect(Number.isFinite(h.scale) && Number.isFinite(h.offset)).toBe(true);
    expect(h.scale).toBeGreaterThan(0);
  });
});

describe('fitCombiner', () => {
  const rng = new Mulberry32(3);
  const n = 5000;
  const signal = Float64Array.from({ length: n }, () => normal(rng));
  const outcome = Float64Array.from(signal, (v) => 2 + 3 * v + 4 * normal(rng));
  const good = Float64Array.from(signal, (v) => 10 * v + 50 + normal(rng));
  const noisy = Float64Array.from(signal, (v) => 0.01 * v + 0.02 * normal(rng));
  const constant = new Float64Array(n).fill(7);

  it('equal weights standardise members by their out-of-fold mean and sd, and give a constant member no weight', () => {
    const c = fitCombiner({ members: ['a', 'b', 'c'], scores: [good, noisy, constant], outcome }, 'equal');
    expect(c.weights).toEqual([0.5, 0.5, 0]);
    expect(c.means[0]).toBeCloseTo(50, 0);
    expect(c.sds[2]).toBe(1);
    const s = combinedScore(c, [good, noisy, constant]);
    expect(s.reduce((a, v) => a + v, 0) / n).toBeCloseTo(0, 9);
    // the edge head maps s into outcome units: mean preserved, slope positive
    const e = applyHead(c.edge, s, 'identity');
    expect(e.reduce((a, v) => a + v, 0) / n).toBeCloseTo(outcome.reduce((a, v) => a + v, 0) / n, 6);
    expect(c.edge.scale).toBeGreaterThan(0);
    expect(c.diagnostics.correlations[0]![1]).toBeGreaterThan(0.3);
    expect(c.diagnostics.disagreement).toBeGreaterThan(0);
    expect(c.diagnostics.outcome_correlation.combined).toBeGreaterThan(0.3);
  });

  it('stacking puts (almost) all weight on the informative member and weights sum to 1', () => {
    const pure = Float64Array.from({ length: n }, () => normal(rng));
    const c = fitCombiner({ members: ['good', 'pure_noise'], scores: [good, pure], outcome }, 'stacking');
    expect(c.weights[0]! + c.weights[1]!).toBeCloseTo(1, 12);
    expect(c.weights[0]).toBeGreaterThan(0.95);
  });

  it('a member that ranks outcomes backwards gets weight 0 in stacking; if all do, the edge is the mean', () => {
    const backwards = Float64Array.from(good, (v) => -v);
    const c = fitCombiner({ members: ['bad'], scores: [backwards], outcome }, 'stacking');
    expect(c.edge.scale).toBe(0);
    expect(c.confidence.scale).toBe(0);
    expect(c.edge.offset).toBeCloseTo(outcome.reduce((a, v) => a + v, 0) / n, 9);
  });

  it('refuses non-finite scores with the member and row named', () => {
    const bad = Float64Array.from(good);
    bad[5] = NaN;
    expect(() => fitCombiner({ members: ['gbdt'], scores: [bad], outcome }, 'equal')).toThrow(/member gbdt score 5 is NaN/);
  });
});

describe('folding an ensemble into one score model and one ONNX graph', () => {
  const F = 8;
  const nTrain = 3000;
  const nTest = 10_000;
  const names = Array.from({ length: F }, (_, f) => `feat_${f}`);
  function columns(n: number, seed: number): Float64Array[] {
    const rng = new Mulberry32(seed);
    return Array.from({ length: F }, () => Float64Array.from({ length: n }, () => (rng.next() < 0.06 ? NaN : Math.fround(normal(rng) * 5))));
  }
  const xtr = columns(nTrain, 10);
  const rng = new Mulberry32(11);
  const ytr = Float64Array.from({ length: nTrain }, (_, i) => (Number.isNaN(xtr[0]![i]!) ? 2 : xtr[0]![i]!) + 0.3 * (xtr[1]![i]! || 0) + 3 * normal(rng));
  const xte = columns(nTest, 12);
  // a hand-made linear member (float32-representable numbers, as a fitted one holds)
  const term: LinearTerm = {
    means: names.map((_, j) => Math.fround(0.1 * j)),
    inv_scales: names.map((_, j) => Math.fround(1 / (4 + j))),
    coef: names.map((_, j) => Math.fround((j % 3) - 1 + 0.25)),
    missing_coef: names.map((_, j) => Math.fround(j % 2 === 0 ? 0.5 : 0)),
    intercept: Math.fround(1.5),
  };
  let gbdt: GbdtModel;
  let rf: GbdtModel;

  beforeAll(async () => {
    const x = columnMatrix(xtr);
    gbdt = await trainGbdt({ x, y: ytr, featureNames: names }, { nEstimators: 120, maxDepth: 5 }, { threads: 1 });
    rf = await trainGbdt({ x, y: ytr, featureNames: names }, { nEstimators: 40, maxDepth: 4, learningRate: 0.5, seed: 3 }, { threads: 1 });
  });

  function linearScore(t: LinearTerm, cols: Float64Array[], i: number): number {
    let s = t.intercept;
    for (let j = 0; j < F; j++) {
      const v = cols[j]![i]!;
      s += Number.isNaN(v) ? t.missing_coef[j]! : t.coef[j]! * (v - t.means[j]!) * t.inv_scales[j]!;
    }
    return s;
  }

  it('the folded model equals the member-by-member ensemble, and onnxruntime equals both within 1e-5 relative on 10,000 rows with NaNs', async () => {
    const xm = columnMatrix(xte);
    const oofLike = [gbdt.predict(columnMatrix(xtr)), rf.predict(columnMatrix(xtr)), Float64Array.from({ length: nTrain }, (_, i) => linearScore(term, xtr, i))];
    const comb = fitCombiner({ members: ['gbdt', 'rf', 'linear'], scores: oofLike, outcome: ytr }, 'stacking');
    const { edge, confidence } = foldEnsemble(
      [
        { name: 'gbdt', kind: 'trees', model: gbdt },
        { name: 'rf', kind: 'trees', model: rf },
        { name: 'linear', kind: 'linear', term },
      ],
      comb,
      names,
    );
    // member by member
    const members = [gbdt.predict(xm), rf.predict(xm), Float64Array.from({ length: nTest }, (_, i) => linearScore(term, xte, i))];
    const s = combinedScore(comb, members);
    const wantEdge = applyHead(comb.edge, s, 'identity');
    const wantConf = applyHead(comb.confidence, s, 'logistic');
    const gotEdge = edge.predict(xm);
    const gotConf = confidence.predict(xm);
    const scaleE = Math.sqrt(wantEdge.reduce((a, v) => a + v * v, 0) / nTest);
    let maxE = 0;
    let maxC = 0;
    for (let i = 0; i < nTest; i++) {
      maxE = Math.max(maxE, Math.abs(gotEdge[i]! - wantEdge[i]!) / Math.max(Math.abs(wantEdge[i]!), scaleE));
      maxC = Math.max(maxC, Math.abs(gotConf[i]! - wantConf[i]!));
      const row = xte.map((c) => c[i]!);
      expect(edge.predictRow(row)).toBeCloseTo(gotEdge[i]!, 9);
    }
    expect(maxE).toBeLessThan(1e-5);
    expect(maxC).toBeLessThan(1e-6);

    const bytes = exportScoreOnnx({ edge, confidence, producerVersion: 'test' });
    const graph = modelProtoType().toObject(modelProtoType().decode(bytes)) as { graph: { node: { op_type: string }[] } };
    const ops = graph.graph.node.map((n) => n.op_type);
    expect(ops.filter((o) => o === 'TreeEnsembleRegressor')).toHaveLength(1);
    expect(ops.filter((o) => o === 'LinearRegressor')).toHaveLength(1);
    expect(ops).toEqual(expect.arrayContaining(['Add', 'Mul', 'Sigmoid', 'IsNaN', 'Where']));
    const input = new Float32Array(nTest * F);
    for (let i = 0; i < nTest; i++) for (let j = 0; j < F; j++) input[i * F + j] = xte[j]![i]!;
    const out = await runOnnx(bytes, input, [nTest, F]);
    let maxOE = 0;
    let maxOC = 0;
    for (let i = 0; i < nTest; i++) {
      maxOE = Math.max(maxOE, Math.abs(out.predicted_edge_bps![i]! - gotEdge[i]!) / Math.max(Math.abs(gotEdge[i]!), scaleE));
      maxOC = Math.max(maxOC, Math.abs(out.confidence![i]! - gotConf[i]!));
    }
    expect(maxOE).toBeLessThan(1e-5);
    expect(maxOC).toBeLessThan(1e-5);
  });

  it('a linear-only model exports without a forest and round-trips exactly through its JSON', async () => {
    const edge = new ScoreModel({ featureNames: names, trees: null, linear: term, head: { link: 'identity', output: 'predicted_edge_bps', scale: 1, offset: 0 } });
    const conf = new ScoreModel({ featureNames: names, trees: null, linear: { ...term, intercept: -0.25 }, head: { link: 'logistic', output: 'confidence', scale: 1, offset: 0 } });
    const again = ScoreModel.parse(edge.serialize());
    expect(again.serialize()).toBe(edge.serialize());
    const xm = columnMatrix(xte);
    const bytes = exportScoreOnnx({ edge, confidence: conf });
    const input = new Float32Array(nTest * F);
    for (let i = 0; i < nTest; i++) for (let j = 0; j < F; j++) input[i * F + j] = xte[j]![i]!;
    const out = await runOnnx(bytes, input, [nTest, F]);
    const e = edge.predict(xm);
    const c = conf.predict(xm);
    for (let i = 0; i < nTest; i += 7) {
      expect(Math.abs(out.predicted_edge_bps![i]! - e[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(e[i]!)));
      expect(Math.abs(out.confidence![i]! - c[i]!)).toBeLessThan(1e-6);
    }
  });

  it('parse names the bad field', () => {
    const edge = new ScoreModel({ featureNames: names, trees: null, linear: term, head: { link: 'identity', output: 'predicted_edge_bps', scale: 1, offset: 0 } });
    const j = JSON.parse(edge.serialize()) as { head: { scale: unknown } };
    j.head.scale = 'big';
    expect(() => ScoreModel.parse(JSON.stringify(j))).toThrow(DataError);
    expect(() => ScoreModel.parse(JSON.stringify(j))).toThrow(/head\.scale/);
  });
});
