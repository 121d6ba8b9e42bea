import { availableParallelism } from 'node:os';
import { ConfigError } from '@engine/shared';

/** Loss functions the trainer optimises. */
export type GbdtObjective = 'squared_error' | 'huber' | 'logistic';

/** `leafwise`: best-first (LightGBM); `depthwise`: level by level (XGBoost `depthwise`). */
export type GrowPolicy = 'leafwise' | 'depthwise';

/**
 * Hyperparameters of the histogram GBDT. Every field has a default (see
 * {@link DEFAULT_GBDT_PARAMS}); the defaults are the anchors' `xgb` settings, so a default
 * model is the one the benchmark compares with XGBoost.
 */
export interface GbdtParams {
  /** Loss. `logistic` models P(y > 0): rows with y > 0 are the positive class. Default `squared_error`. */
  objective: GbdtObjective;
  /** Boosting rounds (trees). Default 300. */
  nEstimators: number;
  /** Shrinkage applied to every leaf value. Default 0.05. */
  learningRate: number;
  /** Maximum leaves per tree. Default 64 (the most a depth-6 tree can have). */
  numLeaves: number;
  /** Maximum depth of a tree (root = depth 0); 0 = unlimited (leafwise only). Default 6. */
  maxDepth: number;
  /** Growth strategy. Default `depthwise`. */
  growPolicy: GrowPolicy;
  /** Value bins per feature (2..255); one more bin holds missing values. Default 255. */
  maxBins: number;
  /** Rows sampled (without replacement, seeded) to place the bin edges. Default 200,000. */
  binSampleRows: number;
  /** L2 regularisation on leaf values (XGBoost `lambda`). Default 1. */
  lambdaL2: number;
  /** Minimum rows in each child of a split. Default 20. */
  minDataInLeaf: number;
  /** Minimum sum of hessians in each child (XGBoost `min_child_weight`). Default 1e-3. */
  minSumHessianInLeaf: number;
  /** A split must gain at least this much (XGBoost `gamma`, gain with the ½ factor). Default 0. */
  minGainToSplit: number;
  /** Share of features drawn (seeded, without replacement) for each tree. Default 0.8. */
  featureFraction: number;
  /** Share of rows drawn (seeded Bernoulli) for each tree. Default 0.8. */
  baggingFraction: number;
  /** Huber transition point in target units; 0 = 1.345 × 1.4826 × MAD of the target. Default 0. */
  huberDelta: number;
  /** Seed of every random choice (bin sample, bagging, feature sampling). Default 0. */
  seed: number;
  /**
   * Early stopping: stop when the validation loss has not improved for this many rounds and
   * keep the best round's trees. 0 = off. Needs a validation set (explicit or
   * {@link GbdtParams.validationFraction}). Default 0.
   */
  earlyStoppingRounds: number;
  /**
   * Share of the training rows, taken from the END (they are in time order), held out for
   * early stopping when no explicit validation set is given. 0 = none. Default 0.
   */
  validationFraction: number;
}

/** Runtime options that do not change the model (never written into it). */
export interface GbdtRunOptions {
  /**
   * Threads for histogram building, including the calling thread (default
   * `os.availableParallelism()`). 1 runs everything in-process. The model is byte-identical
   * whatever the value.
   */
  threads?: number;
  /** Called after each tree with the round just finished. */
  onProgress?: (p: GbdtProgress) => void;
  /** Aborts training between trees; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** One progress report. */
export interface GbdtProgress {
  /** Trees built so far. */
  iteration: number;
  /** Planned trees. */
  total: number;
  /** Mean training loss after this round (over all training rows). */
  trainLoss: number;
  /** Validation loss after this round, when a validation set exists. */
  validLoss?: number;
  /** Best validation round so far (1-based), when early stopping is on. */
  bestIteration?: number;
}

export const DEFAULT_GBDT_PARAMS: Readonly<GbdtParams> = Object.freeze({
  objective: 'squared_error',
  nEstimators: 300,
  learningRate: 0.05,
  numLeaves: 64,
  maxDepth: 6,
  growPolicy: 'depthwise',
  maxBins: 255,
  binSampleRows: 200_000,
  lambdaL2: 1,
  minDataInLeaf: 20,
  minSumHessianInLeaf: 1e-3,
  minGainToSplit: 0,
  featureFraction: 0.8,
  baggingFraction: 0.8,
  huberDelta: 0,
  seed: 0,
  earlyStoppingRounds: 0,
  validationFraction: 0,
});

function check(ok: boolean, name: string, rule: string, value: unknown): void {
  if (!ok) throw new ConfigError(`GBDT parameter ${name} must be ${rule}; got ${JSON.stringify(value)}`, { param: name, value });
}

/** Fills defaults and validates every parameter; throws {@link ConfigError} naming the bad one. */
export function resolveGbdtParams(p: Partial<GbdtParams> = {}): GbdtParams {
  for (const key of Object.keys(p)) {
    check(key in DEFAULT_GBDT_PARAMS, key, `one of ${Object.keys(DEFAULT_GBDT_PARAMS).join(', ')}`, key);
  }
  const r: GbdtParams = { ...DEFAULT_GBDT_PARAMS, ...p };
  const int = (v: number): boolean => Number.isInteger(v);
  check(['squared_error', 'huber', 'logistic'].includes(r.objective), 'objective', 'squared_error, huber or logistic', r.objective);
  check(int(r.nEstimators) && r.nEstimators >= 1, 'nEstimators', 'an integer >= 1', r.nEstimators);
  check(r.learningRate > 0 && r.learningRate <= 1, 'learningRate', 'in (0, 1]', r.learningRate);
  check(int(r.numLeaves) && r.numLeaves >= 2 && r.numLeaves <= 4096, 'numLeaves', 'an integer in [2, 4096]', r.numLeaves);
  check(int(r.maxDepth) && r.maxDepth >= 0 && r.maxDepth <= 30, 'maxDepth', 'an integer in [0, 30] (0 = unlimited)', r.maxDepth);
  check(r.growPolicy === 'leafwise' || r.growPolicy === 'depthwise', 'growPolicy', 'leafwise or depthwise', r.growPolicy);
  check(r.growPolicy === 'leafwise' || r.maxDepth > 0, 'maxDepth', '> 0 for depthwise growth', r.maxDepth);
  check(int(r.maxBins) && r.maxBins >= 2 && r.maxBins <= 255, 'maxBins', 'an integer in [2, 255]', r.maxBins);
  check(int(r.binSampleRows) && r.binSampleRows >= 1000, 'binSampleRows', 'an integer >= 1000', r.binSampleRows);
  check(r.lambdaL2 >= 0 && Number.isFinite(r.lambdaL2), 'lambdaL2', 'finite and >= 0', r.lambdaL2);
  check(int(r.minDataInLeaf) && r.minDataInLeaf >= 1, 'minDataInLeaf', 'an integer >= 1', r.minDataInLeaf);
  check(r.minSumHessianInLeaf >= 0 && Number.isFinite(r.minSumHessianInLeaf), 'minSumHessianInLeaf', 'finite and >= 0', r.minSumHessianInLeaf);
  check(r.minGainToSplit >= 0 && Number.isFinite(r.minGainToSplit), 'minGainToSplit', 'finite and >= 0', r.minGainToSplit);
  check(r.featureFraction > 0 && r.featureFraction <= 1, 'featureFraction', 'in (0, 1]', r.featureFraction);
  check(r.baggingFraction > 0 && r.baggingFraction <= 1, 'baggingFraction', 'in (0, 1]', r.baggingFraction);
  check(r.huberDelta >= 0 && Number.isFinite(r.huberDelta), 'huberDelta', 'finite and >= 0 (0 = from the data)', r.huberDelta);
  check(int(r.seed) && r.seed >= 0 && r.seed <= 0xffffffff, 'seed', 'an integer in [0, 2^32)', r.seed);
  check(int(r.earlyStoppingRounds) && r.earlyStoppingRounds >= 0, 'earlyStoppingRounds', 'an integer >= 0', r.earlyStoppingRounds);
  check(r.validationFraction >= 0 && r.validationFraction < 0.9, 'validationFraction', 'in [0, 0.9)', r.validationFraction);
  return r;
}

/** Threads to use: the option, else every core; at least 1. */
export function resolveThreads(threads: number | undefined): number {
  if (threads === undefined) return Math.max(1, availableParallelism());
  check(Number.isInteger(threads) && threads >= 1 && threads <= 256, 'threads', 'an integer in [1, 256]', threads);
  return threads;
}
