import { DataError } from '@engine/shared';
import { exportOnnx, GBDT_MODEL_FORMAT, GbdtModel } from '@engine/gbdt';
import { exportScoreOnnx } from './onnx-export';
import { SCORE_MODEL_FORMAT, ScoreModel } from './score-model';

/**
 * A model as a bundle ships it: a GBDT (families gbdt and rf, and every confidence GBDT)
 * or a folded score model (linear, ensemble). Both predict a row of features in model
 * order with `predictRow` and serialise to the native JSON the consumer reads.
 */
export type PortableModel = GbdtModel | ScoreModel;

/** The `format` of a native model file's JSON (without parsing the trees twice). */
export function nativeFormat(json: string): string | null {
  const m = /^\s*\{\s*"format"\s*:\s*"([^"]+)"/.exec(json);
  return m ? m[1]! : null;
}

/** Parses a native model file: a GBDT's (`engine-gbdt`) or a score model's (`engine-score-model`). */
export function parsePortableModel(json: string): PortableModel {
  const f = nativeFormat(json);
  if (f === SCORE_MODEL_FORMAT) return ScoreModel.parse(json);
  if (f === GBDT_MODEL_FORMAT || f === null) return GbdtModel.parse(json);
  throw new DataError('MODEL_INVALID', `unknown native model format '${f}'; expected ${GBDT_MODEL_FORMAT} or ${SCORE_MODEL_FORMAT}`);
}

/** A GBDT as a score model (a logistic one keeps its margin as the score and gets the sigmoid head). */
export function asScoreModel(m: PortableModel, output: 'predicted_edge_bps' | 'confidence'): ScoreModel {
  if (m instanceof ScoreModel) return m;
  const trees = m.objective === 'squared_error' ? m : new GbdtModel({ objective: 'squared_error', baseScore: m.baseScore, huberDelta: 0, nFeatures: m.nFeatures, featureNames: m.featureNames, params: m.params, trees: m.trees, roundsTrained: m.roundsTrained, validLoss: m.validLoss });
  return new ScoreModel({ featureNames: m.featureNames, trees, linear: null, head: { link: m.objective === 'logistic' ? 'logistic' : 'identity', output, scale: 1, offset: 0 } });
}

/**
 * One ONNX file for an edge model and its confidence model, whatever their families: two
 * GBDTs as before (exportOnnx, byte-identical to earlier bundles), anything else as score
 * subgraphs (exportScoreOnnx). Same input and output names either way.
 */
export function exportPortableOnnx(input: { edge: PortableModel; confidence: PortableModel; producerVersion?: string; docString?: string; metadata?: Record<string, string> }): Uint8Array {
  const { edge, confidence, ...rest } = input;
  if (edge instanceof GbdtModel && confidence instanceof GbdtModel) return exportOnnx({ edge, confidence, ...rest });
  return exportScoreOnnx({ edge: asScoreModel(edge, 'predicted_edge_bps'), confidence: asScoreModel(confidence, 'confidence'), ...rest });
}

/**
 * Per-feature importance of a portable model: total split gain and split count of its
 * trees, plus, for a linear term, |coefficient| (per standardised unit) reported as gain
 * beside the trees' so the ranking still reads "what the model leans on".
 */
export function portableImportance(m: PortableModel): { gain: number[]; split: number[] } {
  const F = m.nFeatures;
  const trees = m instanceof GbdtModel ? m : m.trees;
  const gain = trees ? Array.from(trees.featureImportance('gain')) : new Array<number>(F).fill(0);
  const split = trees ? Array.from(trees.featureImportance('split')) : new Array<number>(F).fill(0);
  if (m instanceof ScoreModel && m.linear !== null) for (let j = 0; j < F; j++) gain[j]! += Math.abs(m.linear.coef[j]!);
  return { gain, split };
}
