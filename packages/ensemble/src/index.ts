export { applyHead, combinedScore, fitCombiner, nonNegativeLeastSquares, plattScaling } from './combine';
export type { AffineHead, Combiner, CombinerData, CombinerDiagnostics, CombinerKind } from './combine';
export { foldEnsemble } from './fold';
export type { FoldMember } from './fold';
export { isScoreModelJson, SCORE_MODEL_FORMAT, SCORE_MODEL_VERSION, ScoreModel } from './score-model';
export type { LinearTerm, ScoreHead, ScoreModelJson } from './score-model';
export { exportScoreOnnx } from './onnx-export';
export type { ScoreOnnxInput } from './onnx-export';
