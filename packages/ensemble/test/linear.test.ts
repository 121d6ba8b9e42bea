import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, DataError, Mulberry32 } from '@engine/shared';
import {
  LinearModel,
  chooseLogisticC,
  chooseRidgeAlpha,
  fitLogistic,
  fitRidge,
  fitStandardiser,
  type InnerFold,
  type LinearModelJson,
} from '../src/linear';

/** `scripts/make-linear-golden.py`'s output: scikit-learn 1.2 on a seeded 400 × 6 matrix. */
interface Golden {
  columns: (number | null)[][];
  y: number[];
  train_rows: number[];
  probe_rows: number[];
  standardiser: { means: number[]; scales: number[]; indicator_features: number[] };
  ridge: { alpha: number; coef: number[]; indicator_coef: number[]; intercept: number; predictions: number[] }[];
  logistic: { C: number; coef: number[]; indicator_coef: number[]; intercept: number; margins: number[]; probabilities: number[] }[];
}

const golden = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'linear-golden.json'), 'utf8')) as Golden;
const gColumns = golden.columns.map((c) => Float64Array.from(c, (v) => (v === null ? NaN : v)));
const gY = Float64Array.from(golden.y);
const gTrain = Int32Array.from(golden.train_rows);
const gProbe = Int32Array.from(golden.probe_rows);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function rowOf(columns: readonly Float64Array[], r: number): Float64Array {
  return Float64Array.from(columns, (c) => c[r]);
}

/** n rows of F standard-normal features, a share of them NaN in the listed features. */
function randomColumns(n: number, F: number, seed: number, nanFeatures: number[] = [], nanRate = 0.2): Float64Array[] {
  const rng = new Mulberry32(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  return Array.from({ length: F }, (_, f) =>
    Float64Array.from({ length: n }, () => {
      const v = 3 * f + (f + 1) * normal();
      return nanFeatures.includes(f) && rng.next() < nanRate ? NaN : v;
    }),
  );
}

function noise(n: number, seed: number, sd = 1): Float64Array {
  const rng = new Mulberry32(seed);
  return Float64Array.from({ length: n }, () => sd * Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next()));
}

function range(a: number, b: number): Int32Array {
  return Int32Array.from({ length: b - a }, (_, i) => a + i);
}

/**
 * The design column of a model's standardised feature f, or of its indicator, on `rows`,
 * written out from the definition (independent of the fitting code's blocks).
 */
function designColumn(m: LinearModel, columns: readonly Float64Array[], rows: Int32Array, f: number, indicator: boolean): Float64Array {
  return Float64Array.from(rows, (r) => {
    const v = columns[f][r];
    if (indicator) return Number.isNaN(v) ? 1 : 0;
    return Number.isNaN(v) ? 0 : (v - m.means[f]) / m.scales[f];
  });
}

/**
 * The gradient of each model's objective on its training rows, per design column and for
 * the intercept: ridge Σ r·x − alpha·w (r = y − prediction), logistic C·Σ (y − p)·x − w;
 * both vanish at the optimum.
 */
function optimalityGap(m: LinearModel, columns: readonly Float64Array[], y: ArrayLike<number>, rows: Int32Array): number {
  const pred = m.predict(columns, rows);
  const resid = Float64Array.from(rows, (r, i) => (m.kind === 'ridge' ? y[r] : y[r] > 0 ? 1 : 0) - pred[i]);
  const scale = m.kind === 'ridge' ? 1 : m.penalty;
  const shrink = m.kind === 'ridge' ? m.penalty : 1;
  let gap = Math.abs(scale * resid.reduce((a, b) => a + b, 0));
  const check = (x: Float64Array, w: number): void => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i] * resid[i];
    gap = Math.max(gap, Math.abs(scale * s - shrink * w));
  };
  for (let f = 0; f < m.nFeatures; f++) if (m.coef[f] !== 0) check(designColumn(m, columns, rows, f, false), m.coef[f]);
  m.indicatorFeatures.forEach((f, k) => check(designColumn(m, columns, rows, f, true), m.indicatorCoef[k]));
  return gap / rows.length;
}

describe('linear models against scikit-learn (golden values)', () => {
  it('standardises with the training rows’ means and population sds, an indicator for each feature with a NaN', () => {
    const std = fitStandardiser(gColumns, gTrain);
    expect(maxAbsDiff(std.means, golden.standardiser.means)).toBeLessThan(1e-12);
    for (let f = 0; f < std.scales.length; f++) expect(std.scales[f]).toBeCloseTo(golden.standardiser.scales[f], 12);
    expect(Array.from(std.indicatorFeatures)).toEqual(golden.standardiser.indicator_features);
    // feature 3 is constant: scale 1, left out of the fit
    expect(std.scales[3]).toBe(1);
    expect(Array.from(std.constant)).toEqual([0, 0, 0, 1, 0, 0]);
  });

  it.each(golden.ridge.map((g) => [g.alpha, g] as const))('ridge alpha %p: coefficients, intercept and predictions of Ridge(solver=cholesky)', (alpha, g) => {
    const m = fitRidge({ columns: gColumns, y: gY, rows: gTrain }, { alpha });
    expect(m.kind).toBe('ridge');
    expect(maxAbsDiff(m.coef, g.coef)).toBeLessThan(1e-6);
    expect(maxAbsDiff(m.indicatorCoef, g.indicator_coef)).toBeLessThan(1e-6);
    expect(Math.abs(m.intercept - g.intercept)).toBeLessThan(1e-6);
    expect(m.coef[3]).toBe(0);
    expect(maxAbsDiff(m.predict(gColumns, gProbe), g.predictions)).toBeLessThan(1e-6);
    expect(maxAbsDiff(Array.from(gProbe, (r) => m.predictRow(rowOf(gColumns, r))), g.predictions)).toBeLessThan(1e-6);
  });

  it.each(golden.logistic.map((g) => [g.C, g] as const))('logistic C %p: coefficients, intercept, margins and probabilities of LogisticRegression', (C, g) => {
    const m = fitLogistic({ columns: gColumns, y: gY, rows: gTrain }, { C });
    expect(m.kind).toBe('logistic');
    expect(maxAbsDiff(m.coef, g.coef)).toBeLessThan(1e-6);
    expect(maxAbsDiff(m.indicatorCoef, g.indicator_coef)).toBeLessThan(1e-6);
    expect(Math.abs(m.intercept - g.intercept)).toBeLessThan(1e-6);
    expect(maxAbsDiff(m.margin(gColumns, gProbe), g.margins)).toBeLessThan(1e-6);
    expect(maxAbsDiff(m.predict(gColumns, gProbe), g.probabilities)).toBeLessThan(1e-6);
    expect(maxAbsDiff(Array.from(gProbe, (r) => m.predictRow(rowOf(gColumns, r))), g.probabilities)).toBeLessThan(1e-6);
  });
});

describe('linear models: fitting', () => {
  // 3000 rows: several design blocks; NaNs in features 1 and 3
  const n = 3000;
  const columns = randomColumns(n, 5, 11, [1, 3]);
  const eps = noise(n, 12);
  const y = Float64Array.from({ length: n }, (_, i) => {
    const x1 = Number.isNaN(columns[1][i]) ? 2 : columns[1][i] / 2;
    return 0.5 * columns[0][i] - x1 + 0.1 * columns[4][i] + eps[i];
  });
  const rows = Int32Array.from({ length: 2400 }, (_, i) => i + Math.floor(i / 4));

  it('ridge meets its optimality conditions across many blocks of rows', () => {
    const m = fitRidge({ columns, y, rows }, { alpha: 3 });
    expect(optimalityGap(m, columns, y, rows)).toBeLessThan(1e-10);
    expect(Array.from(m.indicatorFeatures)).toEqual([1, 3]);
  });

  it('logistic meets its optimality conditions across many blocks of rows', () => {
    const m = fitLogistic({ columns, y, rows }, { C: 0.5 });
    expect(optimalityGap(m, columns, y, rows)).toBeLessThan(1e-10);
  });

  it('predicts the same numbers row by row and column by column, to the bit', () => {
    for (const m of [fitRidge({ columns, y, rows }, { alpha: 1 }), fitLogistic({ columns, y, rows }, { C: 1 })]) {
      const all = m.predict(columns);
      const margins = m.margin(columns);
      for (let r = 0; r < n; r += 7) {
        expect(m.predictRow(rowOf(columns, r))).toBe(all[r]);
        expect(m.marginRow(rowOf(columns, r))).toBe(margins[r]);
      }
      const some = Int32Array.of(5, 17, 2999);
      expect(Array.from(m.predict(columns, some))).toEqual([all[5], all[17], all[2999]]);
    }
  });

  it('uses the training rows only: other rows can change without changing the model', () => {
    const changed = columns.map((c) => c.slice());
    const yChanged = y.slice();
    const inTrain = new Set(rows);
    for (let r = 0; r < n; r++) {
      if (inTrain.has(r)) continue;
      changed[0][r] = 1e9;
      changed[2][r] = NaN; // never NaN on a training row: no indicator appears
      yChanged[r] = -1e9;
    }
    expect(fitStandardiser(changed, rows)).toEqual(fitStandardiser(columns, rows));
    expect(fitRidge({ columns: changed, y: yChanged, rows }, { alpha: 2 }).serialize()).toBe(fitRidge({ columns, y, rows }, { alpha: 2 }).serialize());
    expect(fitLogistic({ columns: changed, y: yChanged, rows }, { C: 2 }).serialize()).toBe(fitLogistic({ columns, y, rows }, { C: 2 }).serialize());
  });

  it('is deterministic: the same inputs give the same model bytes', () => {
    expect(fitLogistic({ columns, y, rows }, { C: 0.1 }).serialize()).toBe(fitLogistic({ columns, y, rows }, { C: 0.1 }).serialize());
  });

  it('a NaN at prediction time counts as the training mean, plus its indicator’s coefficient when it has one', () => {
    const m = fitRidge({ columns, y, rows }, { alpha: 1 });
    const row = rowOf(columns, 0);
    row[0] = m.means[0];
    row[1] = NaN;
    const withMean = m.predictRow(row);
    row[0] = NaN; // feature 0 has no indicator
    expect(m.predictRow(row)).toBeCloseTo(withMean, 12);
    row[1] = m.means[1]; // feature 1 has one
    const k = Array.from(m.indicatorFeatures).indexOf(1);
    expect(m.predictRow(row)).toBeCloseTo(withMean - m.indicatorCoef[k], 12);
  });

  it('a feature constant or entirely NaN on the training rows gets coefficient 0 (its indicator too)', () => {
    const cols = randomColumns(500, 3, 5);
    const train = range(0, 400);
    for (let r = 0; r < 400; r++) {
      cols[1][r] = 7.25;
      cols[2][r] = NaN;
    }
    const yy = Float64Array.from(cols[0], (v, i) => v + (i % 3));
    for (const m of [fitRidge({ columns: cols, y: yy, rows: train }, { alpha: 1 }), fitLogistic({ columns: cols, y: yy, rows: train }, { C: 1 })]) {
      expect(m.coef[0]).not.toBe(0);
      expect(m.coef[1]).toBe(0);
      expect(m.coef[2]).toBe(0);
      expect(Array.from(m.scales.subarray(1))).toEqual([1, 1]);
      expect(m.means[2]).toBe(0);
      expect(Array.from(m.indicatorFeatures)).toEqual([2]);
      expect(m.indicatorCoef[0]).toBe(0);
      // later values of those features (rows 400+) do not move a prediction
      expect(m.predictRow([0.3, 99, -5])).toBe(m.predictRow([0.3, 7.25, NaN]));
    }
  });

  it('logistic fits separable data (the penalty keeps the coefficients finite)', () => {
    const cols = [Float64Array.from({ length: 200 }, (_, i) => i - 99.5)];
    const yy = Float64Array.from(cols[0], (v) => (v > 0 ? 1 : -1));
    const m = fitLogistic({ columns: cols, y: yy }, { C: 100 });
    expect(Number.isFinite(m.coef[0])).toBe(true);
    expect(m.predictRow([50])).toBeGreaterThan(0.99);
    expect(m.predictRow([-50])).toBeLessThan(0.01);
  });

  it('logistic refuses a training set of one class with a DataError', () => {
    const cols = randomColumns(100, 2, 3);
    for (const yy of [new Float64Array(100).fill(-1), new Float64Array(100).fill(0), new Float64Array(100).fill(2)]) {
      expect(() => fitLogistic({ columns: cols, y: yy }, { C: 1 })).toThrow(DataError);
      expect(() => fitLogistic({ columns: cols, y: yy }, { C: 1 })).toThrow(/both classes; all 100 training rows have y/);
    }
  });

  it('rejects bad inputs and options with named errors', () => {
    const cols = randomColumns(50, 2, 4);
    const yy = noise(50, 5);
    expect(() => fitRidge({ columns: cols, y: yy }, { alpha: 0 })).toThrow(ConfigError);
    expect(() => fitLogistic({ columns: cols, y: yy }, { C: NaN })).toThrow(ConfigError);
    expect(() => fitRidge({ columns: cols, y: yy, rows: Int32Array.of(3, 2) }, { alpha: 1 })).toThrow(/ascending/);
    expect(() => fitRidge({ columns: cols, y: yy.subarray(1) }, { alpha: 1 })).toThrow(DataError);
    const inf = cols.map((c) => c.slice());
    inf[1][7] = Infinity;
    expect(() => fitRidge({ columns: inf, y: yy }, { alpha: 1 })).toThrow(/feature 1 of row 7 is Infinity/);
    const badY = yy.slice();
    badY[3] = NaN;
    expect(() => fitRidge({ columns: cols, y: badY }, { alpha: 1 })).toThrow(/target of row 3 is NaN/);
  });
});

describe('linear models: choosing the penalty on inner folds', () => {
  const n = 2000;
  const columns = randomColumns(n, 6, 21, [2]);
  // three walk-forward folds: train on what comes before, test on the next block
  const folds: InnerFold[] = [
    { train: range(0, 500), test: range(500, 1000) },
    { train: range(0, 1000), test: range(1000, 1500) },
    { train: range(0, 1500), test: range(1500, 2000) },
  ];

  it('a pure-noise target picks the largest alpha; a strong linear one the smallest', () => {
    const pure = noise(n, 22);
    const noisy = chooseRidgeAlpha(randomColumns(n, 40, 24), pure, folds);
    expect(noisy.value).toBe(1e4);
    expect(noisy.grid).toEqual([1e-2, 1e-1, 1, 1e1, 1e2, 1e3, 1e4]);
    const eps = noise(n, 23, 0.01);
    const strong = Float64Array.from({ length: n }, (_, i) => 2 * columns[0][i] - columns[1][i] + 0.5 * columns[5][i] + eps[i]);
    const choice = chooseRidgeAlpha(columns, strong, folds);
    expect(choice.value).toBe(1e-2);
    // the losses say why: the held-out error grows with the penalty
    for (let g = 1; g < choice.meanLoss.length; g++) expect(choice.meanLoss[g]).toBeGreaterThan(choice.meanLoss[g - 1]);
  });

  it('a pure-noise label picks the smallest C; an informative one a larger C', () => {
    // 40 features of noise: a weak penalty overfits by far more than the draws' luck
    const wide = randomColumns(n, 40, 24);
    const pure = chooseLogisticC(wide, noise(n, 29), folds);
    expect(pure.value).toBe(1e-4);
    const eps = noise(n, 25);
    const informative = Float64Array.from({ length: n }, (_, i) => columns[0][i] - 0.3 * columns[1][i] + eps[i]);
    expect(chooseLogisticC(columns, informative, folds).value).toBeGreaterThan(1e-2);
  });

  it('scores each fold with a model (and standardiser) fitted on that fold’s training rows only', () => {
    const eps = noise(n, 26);
    const y = Float64Array.from({ length: n }, (_, i) => columns[0][i] + (Number.isNaN(columns[2][i]) ? 1 : 0) + eps[i]);
    const grid = [0.1, 100];
    const ridge = chooseRidgeAlpha(columns, y, folds, grid);
    const logistic = chooseLogisticC(columns, y, folds, grid);
    folds.forEach((fold, k) => {
      grid.forEach((value, g) => {
        const r = fitRidge({ columns, y, rows: fold.train }, { alpha: value }).predict(columns, fold.test);
        let mse = 0;
        fold.test.forEach((row, i) => (mse += (y[row] - r[i]) ** 2));
        expect(ridge.foldLoss[g][k]).toBeCloseTo(mse / fold.test.length, 12);
        const p = fitLogistic({ columns, y, rows: fold.train }, { C: value }).predict(columns, fold.test);
        let ll = 0;
        fold.test.forEach((row, i) => (ll -= Math.log(y[row] > 0 ? p[i] : 1 - p[i])));
        expect(logistic.foldLoss[g][k]).toBeCloseTo(ll / fold.test.length, 9);
      });
    });
    expect(ridge.meanLoss[0]).toBeCloseTo((ridge.foldLoss[0][0] + ridge.foldLoss[0][1] + ridge.foldLoss[0][2]) / 3, 14);
  });

  it('ties go to the larger penalty', () => {
    // every feature constant on the training rows: every penalty gives the same model
    const flat = [new Float64Array(n).fill(1), new Float64Array(n).fill(-2)];
    const y = noise(n, 27);
    const ridge = chooseRidgeAlpha(flat, y, folds, [1, 1000, 10]);
    expect(new Set(ridge.meanLoss).size).toBe(1);
    expect(ridge.value).toBe(1000);
    const logistic = chooseLogisticC(flat, y, folds, [1, 0.001, 10]);
    expect(new Set(logistic.meanLoss).size).toBe(1);
    expect(logistic.value).toBe(0.001);
  });

  it('rejects empty grids, overlapping folds and one-class fold training sets', () => {
    const y = noise(n, 28);
    expect(() => chooseRidgeAlpha(columns, y, folds, [])).toThrow(ConfigError);
    expect(() => chooseRidgeAlpha(columns, y, [])).toThrow(ConfigError);
    expect(() => chooseRidgeAlpha(columns, y, [{ train: range(0, 600), test: range(500, 700) }])).toThrow(/fold 0: row 500 is both a training and a test row/);
    const oneClass = y.map((v, i) => (i < 500 ? -Math.abs(v) : v));
    expect(() => chooseLogisticC(columns, oneClass, folds)).toThrow(/fold 0 training rows have y ≤ 0/);
  });
});

describe('linear models: serialisation', () => {
  const columns = randomColumns(600, 4, 31, [0, 2]);
  const y = Float64Array.from({ length: 600 }, (_, i) => (Number.isNaN(columns[0][i]) ? 0 : columns[0][i]) - 0.2 * columns[1][i] + (i % 5) - 2);
  const names = ['ret_1', 'rsi_14', 'atr', 'btc_beta'];

  it('serialize → parse round-trips exactly', () => {
    for (const m of [fitRidge({ columns, y, featureNames: names }, { alpha: 0.7 }), fitLogistic({ columns, y, featureNames: names }, { C: 0.3 })]) {
      const text = m.serialize();
      const back = LinearModel.parse(text);
      expect(back.serialize()).toBe(text);
      expect(back.kind).toBe(m.kind);
      expect(back.penalty).toBe(m.penalty);
      expect(back.featureNames).toEqual(names);
      for (const key of ['means', 'scales', 'coef', 'indicatorFeatures', 'indicatorCoef'] as const) expect(back[key]).toEqual(m[key]);
      expect(back.intercept).toBe(m.intercept);
      expect(back.predict(columns)).toEqual(m.predict(columns));
    }
  });

  it('exposes its terms as plain per-feature arrays', () => {
    const m = fitRidge({ columns, y, featureNames: names }, { alpha: 0.7 });
    const p = m.toPlain();
    expect(p.missingCoef).toEqual([m.indicatorCoef[0], 0, m.indicatorCoef[1], 0]);
    const row = [NaN, 1.5, NaN, -3];
    let margin = p.intercept;
    for (let f = 0; f < 4; f++) {
      const v = Number.isNaN(row[f]) ? p.means[f] : row[f];
      margin += (p.coef[f] * (v - p.means[f])) / p.scales[f] + (Number.isNaN(row[f]) ? p.missingCoef[f] : 0);
    }
    expect(m.predictRow(row)).toBeCloseTo(margin, 12);
  });

  it('parse rejects a malformed model with a message naming the field', () => {
    const good = fitLogistic({ columns, y, featureNames: names }, { C: 0.3 }).toJSON();
    const broken = (change: (j: LinearModelJson) => void): string => {
      const j = JSON.parse(JSON.stringify(good)) as LinearModelJson;
      change(j);
      return JSON.stringify(j);
    };
    expect(() => LinearModel.parse(broken((j) => j.scales.pop()))).toThrow(/invalid linear model: scales: expected 4 values/);
    expect(() => LinearModel.parse(broken((j) => (j.scales[1] = 0)))).toThrow(/scales\.1:/);
    expect(() => LinearModel.parse(broken((j) => ((j.coef as unknown[])[2] = 'x')))).toThrow(/coef\.2:/);
    expect(() => LinearModel.parse(broken((j) => (j.indicator_features = [2, 0])))).toThrow(/indicator_features\.1: indicator features must be ascending/);
    expect(() => LinearModel.parse(broken((j) => (j.kind = 'lasso' as 'ridge')))).toThrow(/kind:/);
    expect(() => LinearModel.parse(broken((j) => delete (j as Partial<LinearModelJson>).intercept))).toThrow(/intercept:/);
    expect(() => LinearModel.parse(broken((j) => (j.format = 'engine-gbdt' as 'engine-linear')))).toThrow(/format:/);
    expect(() => LinearModel.parse('{"format":')).toThrow(/not JSON/);
    try {
      LinearModel.parse(broken((j) => j.means.push(1)));
    } catch (err) {
      expect(err).toBeInstanceOf(DataError);
      expect((err as DataError).code).toBe('MODEL_INVALID');
    }
  });
});
