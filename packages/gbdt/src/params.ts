import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ConfigError } from '@engine/shared';

/** Loss functions the trainer optimises. */
export type GbdtObjective = 'squared_error' | 'huber' | 'logistic';

/** `leafwise`: best-first (LightGBM); `depthwise`: level by level (XGBoost `depthwise`). */
export type GrowPolicy = 'leafwise' | 'depthwise';

/**
 * `gbdt`: gradient boosting, each tree fits the residual of the trees before it.
 * `rf`: a random forest, every tree fits the residual of the base score (see
 * {@link GbdtParams.boosting}).
 */
export type BoostingMode = 'gbdt' | 'rf';

/**
 * Hyperparameters of the histogram GBDT. Every field has a default (see
 * {@link DEFAULT_GBDT_PARAMS}); the defaults are the anchors' `xgb` settings, so a default
 * model is the one the benchmark compares with XGBoost.
 */
export interface GbdtParams {
  /** Loss. `logistic` models P(y > 0): rows with y > 0 are the positive class. Default `squared_error`. */
  objective: GbdtObjective;
  /**
   * `gbdt` (default): boosting. `rf`: a random forest from the same tree learner: all
   * {@link GbdtParams.nEstimators} trees fit the same residuals `y − baseScore` (the scores
   * are not updated between trees), each on its own row bag ({@link GbdtParams.baggingFraction},
   * a seeded Bernoulli draw, i.e. sampling WITHOUT replacement, unlike scikit-learn's
   * bootstrap) and usually with {@link GbdtParams.featureFractionByNode} < 1; every leaf is
   * then stored as its value / nEstimators (float32), so the model predicts
   * `baseScore + mean of the trees` with the usual predictors, serialization and ONNX export.
   * In `rf` mode `learningRate` is ignored (the trees are averaged, not shrunk), the
   * objective must be `squared_error` and `earlyStoppingRounds` 0; set `lambdaL2` to 0 for
   * leaves that are true means of their rows (λ shrinks a leaf of c rows by c/(c+λ)).
   * Progress and `validLoss` report the average of the trees so far.
   */
  boosting: BoostingMode;
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
  /**
   * Share of the tree's features (those {@link GbdtParams.featureFraction} drew) that each
   * node's split search draws, seeded (scikit-learn's `max_features`, LightGBM's
   * `feature_fraction_bynode`): `max(1, round(share × tree features))` of them, drawn without
   * replacement per node; when none of those can split the node, further features are
   * drawn until one can (as scikit-learn does). The draws are made on the calling thread in
   * the order the nodes are created, so models stay byte-identical for any thread count.
   * 1 = off (every node searches all of the tree's features). Default 1.
   */
  featureFractionByNode: number;
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

// New parameters go at the end (see PARAMS_ADDED_LATER): a model's JSON lists its params in this order.
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
  boosting: 'gbdt',
  featureFractionByNode: 1,
});

/**
 * Parameters added after model format version 1. A model's JSON records them only when they
 * differ from their defaults, so models trained without them keep their exact bytes, and
 * reading a model fills in the defaults (see {@link paramsToJson}, {@link paramsFromJson}).
 */
const PARAMS_ADDED_LATER = ['boosting', 'featureFractionByNode'] as const satisfies ReadonlyArray<keyof GbdtParams>;

/** The params as a model's JSON records them: later parameters only when not at their default. */
export function paramsToJson(p: Readonly<GbdtParams>): Partial<GbdtParams> {
  const out: Partial<GbdtParams> = { ...p };
  for (const k of PARAMS_ADDED_LATER) if (p[k] === DEFAULT_GBDT_PARAMS[k]) delete out[k];
  return out;
}

/** The params of a model's JSON, with the defaults of parameters it does not record. */
export function paramsFromJson(j: Partial<GbdtParams>): GbdtParams {
  return { ...DEFAULT_GBDT_PARAMS, ...j };
}

/** Type-level equality, to keep a zod schema and the interface it validates in step. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Every parameter's rule, once: the trainer, training overrides and job payloads all check with it. */
export const gbdtParamsSchema = z
  .strictObject({
    objective: z.enum(['squared_error', 'huber', 'logistic']),
    nEstimators: z.number().int().min(1),
    learningRate: z.number().gt(0).max(1),
    numLeaves: z.number().int().min(2).max(4096),
    maxDepth: z.number().int().min(0).max(30),
    growPolicy: z.enum(['leafwise', 'depthwise']),
    maxBins: z.number().int().min(2).max(255),
    binSampleRows: z.number().int().min(1000),
    lambdaL2: z.number().min(0),
    minDataInLeaf: z.number().int().min(1),
    minSumHessianInLeaf: z.number().min(0),
    minGainToSplit: z.number().min(0),
    featureFraction: z.number().gt(0).max(1),
    baggingFraction: z.number().gt(0).max(1),
    huberDelta: z.number().min(0),
    seed: z.number().int().min(0).max(0xffffffff),
    earlyStoppingRounds: z.number().int().min(0),
    validationFraction: z.number().min(0).lt(0.9),
    boosting: z.enum(['gbdt', 'rf']),
    featureFractionByNode: z.number().gt(0).max(1),
  })
  .refine((p) => p.growPolicy === 'leafwise' || p.maxDepth > 0, { message: 'maxDepth must be > 0 for depthwise growth (0 = unlimited is leafwise only)', path: ['maxDepth'] })
  .refine((p) => p.boosting !== 'rf' || p.objective === 'squared_error', {
    message: "random forest mode (boosting 'rf') supports only the squared_error objective",
    path: ['objective'],
  })
  .refine((p) => p.boosting !== 'rf' || p.earlyStoppingRounds === 0, {
    message: "early stopping has no meaning for a random forest (boosting 'rf'): its trees are averaged, not ordered",
    path: ['earlyStoppingRounds'],
  });
const paramsInStep: Equal<z.infer<typeof gbdtParamsSchema>, GbdtParams> = true;
void paramsInStep;

/** Fills defaults and validates every parameter; throws {@link ConfigError} naming the bad one. */
export function resolveGbdtParams(p: Partial<GbdtParams> = {}): GbdtParams {
  const r: GbdtParams = { ...DEFAULT_GBDT_PARAMS, ...p };
  const checked = gbdtParamsSchema.safeParse(r);
  if (!checked.success) {
    const i = checked.error.issues[0]!;
    if (i.code === 'unrecognized_keys') {
      throw new ConfigError(`unknown GBDT parameter ${i.keys.map((k) => `'${k}'`).join(', ')} (known: ${Object.keys(DEFAULT_GBDT_PARAMS).join(', ')})`, { param: i.keys[0] });
    }
    const name = String(i.path[0] ?? '?');
    const value = (r as unknown as Record<string, unknown>)[name];
    throw new ConfigError(`GBDT parameter ${name}: ${i.message}; got ${JSON.stringify(value)}`, { param: name, value });
  }
  return r;
}

/** Threads to use: the option, else every core; at least 1. */
export function resolveThreads(threads: number | undefined): number {
  if (threads === undefined) return Math.max(1, availableParallelism());
  if (!(Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
    throw new ConfigError(`GBDT parameter threads: must be an integer in [1, 256]; got ${JSON.stringify(threads)}`, { param: 'threads', value: threads });
  }
  return threads;
}
