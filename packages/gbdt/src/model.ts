import { DataError } from '@engine/shared';
import type { FeatureMatrix } from './matrix';
import { sigmoid } from './objective';
import { paramsFromJson, paramsToJson, type GbdtObjective, type GbdtParams } from './params';
import { CompiledForest } from './predictor';
import { treeFromJson, treeToJson, type GbdtTree, type GbdtTreeJson } from './tree';

/** Identifies the native model format. */
export const GBDT_MODEL_FORMAT = 'engine-gbdt';
export const GBDT_MODEL_VERSION = 1;

/** The native model JSON (all numbers round-trip exactly through JSON). */
export interface GbdtModelJson {
  format: typeof GBDT_MODEL_FORMAT;
  version: number;
  objective: GbdtObjective;
  /** Starting margin (mean target; log-odds of the mean label for logistic). */
  base_score: number;
  huber_delta: number;
  num_features: number;
  feature_names: string[];
  /** Trees kept (the best round when early stopping ran). */
  num_trees: number;
  /** Rounds trained before stopping. */
  rounds_trained: number;
  /**
   * The training parameters. Those added after version 1 (`boosting`,
   * `featureFractionByNode`) appear only when not at their defaults; `boosting: 'rf'` marks
   * a random forest (leaves already divided by the number of trees).
   */
  params: Partial<GbdtParams>;
  /** Validation loss per round, when a validation set was used. */
  valid_loss: number[];
  feature_importance: { gain: number[]; split: number[] };
  trees: GbdtTreeJson[];
}

/** Which importance: total split gain, or number of splits, per feature. */
export type ImportanceKind = 'gain' | 'split';

/**
 * A trained gradient-boosted tree ensemble, or a random forest (`params.boosting === 'rf'`,
 * whose leaves hold value / number of trees). Predictions are `base_score + Σ leaf values`
 * (the sigmoid of that for logistic), with float32 thresholds and leaf values exactly as
 * exported to ONNX.
 */
export class GbdtModel {
  readonly objective: GbdtObjective;
  readonly baseScore: number;
  readonly huberDelta: number;
  readonly nFeatures: number;
  readonly featureNames: readonly string[];
  readonly params: Readonly<GbdtParams>;
  readonly trees: readonly GbdtTree[];
  readonly roundsTrained: number;
  readonly validLoss: readonly number[];
  private forest: CompiledForest | null = null;

  constructor(init: {
    objective: GbdtObjective;
    baseScore: number;
    huberDelta: number;
    nFeatures: number;
    featureNames: readonly string[];
    params: GbdtParams;
    trees: readonly GbdtTree[];
    roundsTrained: number;
    validLoss: readonly number[];
  }) {
    if (init.featureNames.length !== init.nFeatures) {
      throw new DataError('MODEL_INVALID', `model has ${init.nFeatures} features but ${init.featureNames.length} feature names`);
    }
    this.objective = init.objective;
    this.baseScore = init.baseScore;
    this.huberDelta = init.huberDelta;
    this.nFeatures = init.nFeatures;
    this.featureNames = init.featureNames;
    this.params = init.params;
    this.trees = init.trees;
    this.roundsTrained = init.roundsTrained;
    this.validLoss = init.validLoss;
  }

  /** The forest flattened for prediction (built on first use). */
  compiled(): CompiledForest {
    if (this.forest === null) this.forest = new CompiledForest(this.trees, this.nFeatures);
    return this.forest;
  }

  /** Raw margins (base score + tree sum) of every row. */
  predictMargin(x: FeatureMatrix, out?: Float64Array): Float64Array {
    const res = out ?? new Float64Array(x.nRows);
    res.fill(this.baseScore, 0, x.nRows);
    this.compiled().addRows(x, res);
    return res;
  }

  /** Predictions of every row: the margin, or P(y > 0) for the logistic objective. */
  predict(x: FeatureMatrix, out?: Float64Array): Float64Array {
    return this.marginToPrediction(this.predictMargin(x, out), x.nRows);
  }

  /** Turns margins into predictions in place (the sigmoid for logistic; identity otherwise). */
  marginToPrediction(res: Float64Array, nRows: number): Float64Array {
    if (this.objective === 'logistic') for (let i = 0; i < nRows; i++) res[i] = sigmoid(res[i]);
    return res;
  }

  /** Prediction for one row of `nFeatures` values (NaN = missing). */
  predictRow(row: ArrayLike<number>): number {
    const m = this.baseScore + this.compiled().predictRow(row);
    return this.objective === 'logistic' ? sigmoid(m) : m;
  }

  /** Per-feature importance: total gain of the feature's splits, or their number. */
  featureImportance(kind: ImportanceKind = 'gain'): Float64Array {
    const out = new Float64Array(this.nFeatures);
    for (const t of this.trees) {
      for (let n = 0; n < t.numLeaves - 1; n++) out[t.splitFeature[n]] += kind === 'gain' ? t.splitGain[n] : 1;
    }
    return out;
  }

  /** Total number of leaves over all trees. */
  get totalLeaves(): number {
    let s = 0;
    for (const t of this.trees) s += t.numLeaves;
    return s;
  }

  toJSON(): GbdtModelJson {
    return {
      format: GBDT_MODEL_FORMAT,
      version: GBDT_MODEL_VERSION,
      objective: this.objective,
      base_score: this.baseScore,
      huber_delta: this.huberDelta,
      num_features: this.nFeatures,
      feature_names: [...this.featureNames],
      num_trees: this.trees.length,
      rounds_trained: this.roundsTrained,
      params: paramsToJson(this.params),
      valid_loss: [...this.validLoss],
      feature_importance: { gain: Array.from(this.featureImportance('gain')), split: Array.from(this.featureImportance('split')) },
      trees: this.trees.map(treeToJson),
    };
  }

  /** The native model as a JSON string (deterministic: same model → same bytes). */
  serialize(): string {
    return JSON.stringify(this.toJSON());
  }

  static fromJSON(j: GbdtModelJson): GbdtModel {
    if (j.format !== GBDT_MODEL_FORMAT) {
      throw new DataError('MODEL_INVALID', `expected a model of format ${GBDT_MODEL_FORMAT}; found ${String(j.format)}`);
    }
    if (j.version !== GBDT_MODEL_VERSION) {
      throw new DataError('MODEL_INVALID', `model format version ${j.version} is not supported (expected ${GBDT_MODEL_VERSION})`);
    }
    if (j.trees.length !== j.num_trees) {
      throw new DataError('MODEL_INVALID', `model says ${j.num_trees} trees but holds ${j.trees.length}`);
    }
    const trees = j.trees.map(treeFromJson);
    trees.forEach((t, i) => validateTree(t, i, j.num_features));
    return new GbdtModel({
      objective: j.objective,
      baseScore: j.base_score,
      huberDelta: j.huber_delta,
      nFeatures: j.num_features,
      featureNames: j.feature_names,
      params: paramsFromJson(j.params),
      trees,
      roundsTrained: j.rounds_trained,
      validLoss: j.valid_loss,
    });
  }

  static parse(text: string): GbdtModel {
    return GbdtModel.fromJSON(JSON.parse(text) as GbdtModelJson);
  }
}

/** Structural checks so a corrupt model fails at load, not with a wrong prediction. */
function validateTree(t: GbdtTree, i: number, nFeatures: number): void {
  const nn = t.numLeaves - 1;
  const bad = (what: string): never => {
    throw new DataError('MODEL_INVALID', `tree ${i}: ${what}`);
  };
  if (!(t.numLeaves >= 1) || t.leafValue.length !== t.numLeaves) bad(`has ${t.leafValue.length} leaf values for ${t.numLeaves} leaves`);
  for (const a of [t.splitFeature, t.threshold, t.defaultLeft, t.leftChild, t.rightChild]) {
    if (a.length !== nn) bad(`node arrays must have ${nn} entries; found ${a.length}`);
  }
  for (let n = 0; n < nn; n++) {
    if (t.splitFeature[n] < 0 || t.splitFeature[n] >= nFeatures) bad(`node ${n} splits on feature ${t.splitFeature[n]} (model has ${nFeatures})`);
    for (const c of [t.leftChild[n], t.rightChild[n]]) {
      if (c >= 0 ? c <= n || c >= nn : ~c >= t.numLeaves) bad(`node ${n} has an invalid child ${c}`);
    }
  }
}
