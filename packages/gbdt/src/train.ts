import { ConfigError, DataError, Mulberry32, deriveSeed } from '@engine/shared';
import { binCount, fitAndBinRows } from './binning';
import type { FeatureMatrix } from './matrix';
import { GbdtModel } from './model';
import { makeObjective, prepareLabels } from './objective';
import { resolveGbdtParams, resolveThreads, type GbdtParams, type GbdtRunOptions } from './params';
import { CompiledForest } from './predictor';
import { GbdtThreadPool } from './thread-pool';
import { TreeLearner, allocateHistBuffers, type TreeLearnerConfig } from './tree-learner';
import type { GbdtTree } from './tree';

/** What to train on. Rows are in time order (the validation tail is taken from the end). */
export interface GbdtTrainingData {
  x: FeatureMatrix;
  /** Target of every row of `x` (finite). For logistic, y > 0 is the positive class. */
  y: ArrayLike<number>;
  /** Training rows (ascending indices into x/y); default all rows. */
  rows?: Int32Array;
  /** Names of the features, in matrix order; default f0, f1, … */
  featureNames?: readonly string[];
  /**
   * An explicit validation set for early stopping (e.g. the rows after the training
   * window). Without it, `validationFraction` takes the last rows of the training rows.
   */
  valid?: { x: FeatureMatrix; y: ArrayLike<number>; rows?: Int32Array };
}

/** Options of one training run (never stored in the model). */
export interface GbdtTrainOptions extends GbdtRunOptions {
  /** A pool to reuse across trainings (its thread count wins over `threads`). */
  pool?: GbdtThreadPool;
}

const STREAM_BINS = 1;
const STREAM_BAG = 2;
const STREAM_FEATURES = 3;
const STREAM_NODE_FEATURES = 4;

function allRows(n: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  return r;
}

/** Row indices must be ascending and inside the matrix; a DataError names the first bad one. */
export function checkRows(rows: Int32Array, nRows: number, what: string): void {
  let prev = -1;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (!(r > prev && r < nRows)) {
      throw new DataError('ROWS_INVALID', `${what} row indices must be ascending and within [0, ${nRows}); index ${i} is ${r} after ${prev}`);
    }
    prev = r;
  }
}

/** Every used target must be finite; a DataError names the first bad row. */
export function checkLabels(y: ArrayLike<number>, rows: Int32Array, what: string): void {
  for (let i = 0; i < rows.length; i++) {
    const v = y[rows[i]];
    if (!Number.isFinite(v)) throw new DataError('LABEL_INVALID', `${what} target of row ${rows[i]} is ${v}; targets must be finite`);
  }
}

/** Draws `k` of `F` features without replacement (partial Fisher–Yates), ascending. */
function drawFeatures(rng: Mulberry32, pool: Int32Array, F: number, k: number, out: Int32Array): void {
  for (let i = 0; i < F; i++) pool[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + rng.nextInt(F - i);
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  out.set(pool.subarray(0, k));
  out.subarray(0, k).sort();
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Trains a histogram GBDT, or a random forest with `boosting: 'rf'`. Bins are fitted on the
 * training rows only; trees grow leaf-wise or depth-wise with histogram subtraction, their
 * histograms built on `threads` threads (worker_threads + SharedArrayBuffer). The same
 * data, params and seed give a byte-identical model whatever the thread count. The event
 * loop gets a turn after every tree; `signal` aborts between trees.
 */
export async function trainGbdt(data: GbdtTrainingData, params: Partial<GbdtParams> = {}, opts: GbdtTrainOptions = {}): Promise<GbdtModel> {
  const p = resolveGbdtParams(params);
  const { x, y } = data;
  opts.signal?.throwIfAborted();
  if (y.length !== x.nRows) throw new DataError('LABEL_INVALID', `target has ${y.length} values; the matrix has ${x.nRows} rows`);
  const featureNames = data.featureNames ?? Array.from({ length: x.nFeatures }, (_, f) => `f${f}`);
  if (featureNames.length !== x.nFeatures) {
    throw new DataError('MATRIX_SHAPE', `${featureNames.length} feature names for ${x.nFeatures} features`);
  }
  let rows = data.rows ?? allRows(x.nRows);
  checkRows(rows, x.nRows, 'training');
  checkLabels(y, rows, 'training');

  // validation set: explicit, or the time-ordered tail of the training rows
  let valid: { x: FeatureMatrix; y: ArrayLike<number>; rows: Int32Array } | null = null;
  if (data.valid !== undefined) {
    const vr = data.valid.rows ?? allRows(data.valid.x.nRows);
    checkRows(vr, data.valid.x.nRows, 'validation');
    checkLabels(data.valid.y, vr, 'validation');
    if (data.valid.x.nFeatures !== x.nFeatures) {
      throw new DataError('MATRIX_SHAPE', `validation matrix has ${data.valid.x.nFeatures} features; training has ${x.nFeatures}`);
    }
    valid = { x: data.valid.x, y: data.valid.y, rows: vr };
  } else if (p.validationFraction > 0) {
    const nValid = Math.floor(rows.length * p.validationFraction);
    if (nValid < 1) throw new DataError('TOO_FEW_ROWS', `validationFraction ${p.validationFraction} of ${rows.length} rows leaves no validation rows`);
    valid = { x, y, rows: rows.slice(rows.length - nValid) };
    rows = rows.slice(0, rows.length - nValid);
  }
  if (p.earlyStoppingRounds > 0 && valid === null) {
    throw new ConfigError('earlyStoppingRounds needs a validation set: pass data.valid or set validationFraction > 0', { param: 'earlyStoppingRounds' });
  }
  const n = rows.length;
  if (n < 2 * p.minDataInLeaf) {
    throw new DataError('TOO_FEW_ROWS', `${n} training rows cannot be split with minDataInLeaf ${p.minDataInLeaf}`);
  }

  const ownPool = opts.pool === undefined;
  const pool = opts.pool ?? (await GbdtThreadPool.create(resolveThreads(opts.threads)));
  try {
    return await boost({ p, x, y, rows, valid, featureNames }, pool, opts);
  } finally {
    if (ownPool) await pool.close();
  }
}

/** Validated inputs of one training. */
interface BoostInput {
  p: GbdtParams;
  x: FeatureMatrix;
  y: ArrayLike<number>;
  rows: Int32Array;
  valid: { x: FeatureMatrix; y: ArrayLike<number>; rows: Int32Array } | null;
  featureNames: readonly string[];
}

/** Bins the training rows, then grows the trees on the pool. */
async function boost(input: BoostInput, pool: GbdtThreadPool, opts: GbdtTrainOptions): Promise<GbdtModel> {
  const { p, x, y, rows, valid, featureNames } = input;
  const n = rows.length;
  const F = x.nFeatures;
  // binning (training rows only) into shared memory; feature columns start on 4-byte
  // boundaries so the root histogram reads 4 bins per load
  const colStride = (n + 3) & ~3;
  const binsSab = new SharedArrayBuffer(Math.max(8, colStride * F));
  const mapper = await fitAndBinRows(
    x,
    rows.length === x.nRows ? null : rows,
    { maxBins: p.maxBins, sampleRows: p.binSampleRows, seed: deriveSeed(p.seed, STREAM_BINS) },
    new Uint8Array(binsSab, 0, colStride * F),
    colStride,
    pool,
  );
  const nBins = new Int32Array(F);
  for (let f = 0; f < F; f++) nBins[f] = binCount(mapper, f);

  const label = prepareLabels(p.objective, y, rows, n);
  const objective = makeObjective(p.objective, label, p.huberDelta);
  // float32, like every other number of the model, so ONNX carries it exactly
  const baseScore = Math.fround(objective.baseScore(label));

  let validLabel: Float64Array | null = null;
  let validScore: Float64Array | null = null;
  let validX: FeatureMatrix | null = null;
  if (valid !== null) {
    validLabel = prepareLabels(p.objective, valid.y, valid.rows, valid.rows.length);
    validScore = new Float64Array(valid.rows.length).fill(baseScore);
    validX = selectRows(valid.x, valid.rows);
  }

  // Random forest: every tree fits y − baseScore (the gradients are computed once); the
  // scores still accumulate the scaled trees, so that after k of T trees the forest of those
  // k predicts base + (T/k)·(score − base).
  const forest = p.boosting === 'rf';
  const cfg: TreeLearnerConfig = {
    nRows: n,
    colStride,
    nFeatures: F,
    nBins,
    edges: mapper.edges,
    constHessian: objective.constHessian,
    objectiveKernel: objective.kernel,
    huberDelta: objective.huberDelta,
    baggingFraction: p.baggingFraction,
    lambdaL2: p.lambdaL2,
    minDataInLeaf: p.minDataInLeaf,
    minSumHessianInLeaf: p.minSumHessianInLeaf,
    minGainToSplit: p.minGainToSplit,
    numLeaves: p.numLeaves,
    maxDepth: p.maxDepth,
    growPolicy: p.growPolicy,
    // a forest stores each tree's share of the average: leaf / trees, rounded once to float32
    learningRate: forest ? 1 / p.nEstimators : p.learningRate,
    freezeGradients: forest,
    featureFractionByNode: p.featureFractionByNode,
    nodeFeatureSeed: deriveSeed(p.seed, STREAM_NODE_FEATURES),
  };
  const learner = new TreeLearner(cfg, allocateHistBuffers(cfg, binsSab));
  // targets and scores live in shared memory: the threads compute gradients from them
  const score = learner.v.score;
  learner.v.label.set(label);
  score.fill(baseScore);

  const bagRng = new Mulberry32(deriveSeed(p.seed, STREAM_BAG));
  const featRng = new Mulberry32(deriveSeed(p.seed, STREAM_FEATURES));
  const featPool = new Int32Array(F);
  const feats = new Int32Array(F);
  const nFeats = Math.max(1, Math.round(F * p.featureFraction));
  const trees: GbdtTree[] = [];
  const validLoss: number[] = [];
  // forest mode: scratch for the scores of the trees so far (allocated when first needed)
  let trainTmp: Float64Array | null = null;
  let validTmp: Float64Array | null = null;
  let bestIter = 0;
  let bestLoss = Infinity;
  await pool.attach(learner.buffers);
  try {
    for (let it = 0; it < p.nEstimators; it++) {
      opts.signal?.throwIfAborted();
      if (nFeats < F) drawFeatures(featRng, featPool, F, nFeats, feats);
      else for (let f = 0; f < F; f++) feats[f] = f;
      // the bag: one seeded draw per row (row r takes draw r of this tree's stream)
      const bagState = bagRng.rawState;
      bagRng.advance(n);
      const tree = learner.grow(bagState, feats, nFeats, pool);
      trees.push(tree);
      const scale = forest ? p.nEstimators / (it + 1) : 1;
      let vLoss: number | undefined;
      if (validScore !== null && validLabel !== null && validX !== null) {
        // one tree at a time: the JavaScript kernel, since a WebAssembly arena per tree
        // would cost more to set up than the walk itself
        new CompiledForest([tree], F).addRows(validX, validScore, 1, 'js');
        vLoss = objective.loss(validLabel, forest ? forestScores(validScore, baseScore, scale, validTmp ??= new Float64Array(validScore.length)) : validScore);
        validLoss.push(vLoss);
        if (vLoss < bestLoss) {
          bestLoss = vLoss;
          bestIter = it + 1;
        }
      }
      if (opts.onProgress !== undefined) {
        opts.onProgress({
          iteration: it + 1,
          total: p.nEstimators,
          trainLoss: objective.loss(label, forest ? forestScores(score, baseScore, scale, trainTmp ??= new Float64Array(n)) : score),
          validLoss: vLoss,
          bestIteration: vLoss === undefined ? undefined : bestIter,
        });
      }
      if (p.earlyStoppingRounds > 0 && it + 1 - bestIter >= p.earlyStoppingRounds) break;
      await yieldToEventLoop();
    }
  } finally {
    pool.detach();
  }
  return new GbdtModel({
    objective: p.objective,
    baseScore,
    huberDelta: objective.huberDelta,
    nFeatures: F,
    featureNames,
    params: p,
    trees: p.earlyStoppingRounds > 0 ? trees.slice(0, bestIter) : trees,
    roundsTrained: trees.length,
    validLoss,
  });
}

/** Scores of the trees so far as a forest: out = base + scale · (score − base). */
function forestScores(score: Float64Array, base: number, scale: number, out: Float64Array): Float64Array {
  for (let i = 0; i < score.length; i++) out[i] = base + scale * (score[i] - base);
  return out;
}

/** The selected rows of a matrix as a compact matrix (a view when rows are all rows). */
function selectRows(m: FeatureMatrix, rows: Int32Array): FeatureMatrix {
  if (rows.length === m.nRows) return m;
  const F = m.nFeatures;
  if (m.layout === 'rows') {
    const out = new (m.data.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(rows.length * F);
    for (let i = 0; i < rows.length; i++) out.set(m.data.subarray(rows[i] * F, rows[i] * F + F), i * F);
    return { layout: 'rows', data: out, nRows: rows.length, nFeatures: F };
  }
  const cols = m.columns.map((c) => {
    const out = new (c.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = c[rows[i]];
    return out;
  });
  return { layout: 'columns', columns: cols, nRows: rows.length, nFeatures: F };
}
