import { DataError } from '@engine/shared';
import { ATTR, floatInitializer, modelProtoType, ONNX_INPUT, ONNX_IR_VERSION, ONNX_OPSETS, ONNX_OUTPUT_CONFIDENCE, ONNX_OUTPUT_EDGE, tensorInfo, treeEnsembleNode } from '@engine/gbdt';
import type { ScoreModel } from './score-model';

/** What goes into the ONNX file: the edge model and, optionally, the confidence model. */
export interface ScoreOnnxInput {
  edge: ScoreModel;
  confidence?: ScoreModel;
  producerVersion?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

type Node = Record<string, unknown>;
const node = (op: string, input: string[], output: string[], name: string, domain = '', attribute: unknown[] = []): Node => ({ input, output, name, op_type: op, domain, attribute });

/**
 * The score subgraph of a model, writing `prefix_score` [N, 1]:
 * - the forest: one ai.onnx.ml TreeEnsembleRegressor (every member's trees, already scaled);
 * - the linear term: IsNaN → Where (missing → mean) → Sub(mean) → Mul(1/scale) → Concat with
 *   Cast(IsNaN) → one ai.onnx.ml LinearRegressor (coefficients, then missing-indicator
 *   coefficients, and the intercept);
 * - joined by Add.
 */
function scoreNodes(m: ScoreModel, prefix: string, nodes: Node[], inits: Record<string, unknown>[]): string {
  const F = m.nFeatures;
  const parts: string[] = [];
  if (m.trees !== null) {
    nodes.push(treeEnsembleNode(m.trees, `${prefix}_forest`, `${prefix}_forest`));
    parts.push(`${prefix}_forest`);
  }
  const l = m.linear;
  if (l !== null) {
    inits.push(floatInitializer(`${prefix}_mean`, [F], l.means), floatInitializer(`${prefix}_inv_scale`, [F], l.inv_scales));
    nodes.push(
      node('IsNaN', [ONNX_INPUT], [`${prefix}_isnan`], `${prefix}_isnan`),
      node('Where', [`${prefix}_isnan`, `${prefix}_mean`, ONNX_INPUT], [`${prefix}_imputed`], `${prefix}_impute`),
      node('Sub', [`${prefix}_imputed`, `${prefix}_mean`], [`${prefix}_centred`], `${prefix}_centre`),
      node('Mul', [`${prefix}_centred`, `${prefix}_inv_scale`], [`${prefix}_standardised`], `${prefix}_standardise`),
      node('Cast', [`${prefix}_isnan`], [`${prefix}_missing`], `${prefix}_missing`, '', [{ name: 'to', type: ATTR.INT, i: 1 }]),
      node('Concat', [`${prefix}_standardised`, `${prefix}_missing`], [`${prefix}_design`], `${prefix}_design`, '', [{ name: 'axis', type: ATTR.INT, i: 1 }]),
      node('LinearRegressor', [`${prefix}_design`], [`${prefix}_linear`], `${prefix}_linear`, 'ai.onnx.ml', [
        { name: 'coefficients', type: ATTR.FLOATS, floats: [...l.coef, ...l.missing_coef] },
        { name: 'intercepts', type: ATTR.FLOATS, floats: [l.intercept] },
        { name: 'targets', type: ATTR.INT, i: 1 },
      ]),
    );
    parts.push(`${prefix}_linear`);
  }
  if (parts.length === 2) {
    nodes.push(node('Add', parts, [`${prefix}_score`], `${prefix}_add`));
    return `${prefix}_score`;
  }
  return parts[0]!;
}

/** `link(offset + scale · score)` as Mul → Add (→ Sigmoid). */
function headNodes(m: ScoreModel, score: string, output: string, prefix: string, nodes: Node[], inits: Record<string, unknown>[]): void {
  inits.push(floatInitializer(`${prefix}_scale`, [1], [m.head.scale]), floatInitializer(`${prefix}_offset`, [1], [m.head.offset]));
  nodes.push(node('Mul', [score, `${prefix}_scale`], [`${prefix}_scaled`], `${prefix}_scale`));
  if (m.head.link === 'logistic') {
    nodes.push(node('Add', [`${prefix}_scaled`, `${prefix}_offset`], [`${prefix}_logit`], `${prefix}_offset`));
    nodes.push(node('Sigmoid', [`${prefix}_logit`], [output], `${prefix}_sigmoid`));
  } else nodes.push(node('Add', [`${prefix}_scaled`, `${prefix}_offset`], [output], `${prefix}_offset`));
}

/**
 * Writes score models as one ONNX file with the same interface as the GBDT's: input
 * `features` float32 [N, F]; outputs `predicted_edge_bps` and (with a confidence model)
 * `confidence`, float32 [N, 1]. When the edge and confidence share their score (an
 * ensemble: one combined score, two heads) the score is computed once.
 */
export function exportScoreOnnx(input: ScoreOnnxInput): Uint8Array {
  const { edge, confidence } = input;
  if (edge.head.link !== 'identity') throw new DataError('MODEL_INVALID', 'the edge output must have the identity link');
  if (confidence !== undefined) {
    if (confidence.head.link !== 'logistic') throw new DataError('MODEL_INVALID', 'the confidence output must have the logistic link');
    if (confidence.nFeatures !== edge.nFeatures || confidence.featureNames.some((n, i) => n !== edge.featureNames[i])) {
      throw new DataError('MODEL_INVALID', 'the confidence model must use the same features, in the same order, as the edge model');
    }
  }
  const nodes: Node[] = [];
  const inits: Record<string, unknown>[] = [];
  const edgeScore = scoreNodes(edge, 'edge', nodes, inits);
  headNodes(edge, edgeScore, ONNX_OUTPUT_EDGE, 'edge_head', nodes, inits);
  const outputs = [tensorInfo(ONNX_OUTPUT_EDGE, ['N', 1])];
  if (confidence !== undefined) {
    const confScore = confidence.sameScore(edge) ? edgeScore : scoreNodes(confidence, 'confidence', nodes, inits);
    headNodes(confidence, confScore, ONNX_OUTPUT_CONFIDENCE, 'confidence_head', nodes, inits);
    outputs.push(tensorInfo(ONNX_OUTPUT_CONFIDENCE, ['N', 1]));
  }
  const metadata: Record<string, string> = {
    feature_names: JSON.stringify(edge.featureNames),
    edge_trees: String(edge.trees?.trees.length ?? 0),
    edge_linear: String(edge.linear !== null),
    ...input.metadata,
  };
  const model = {
    ir_version: ONNX_IR_VERSION,
    opset_import: Object.entries(ONNX_OPSETS).map(([domain, version]) => ({ domain, version })),
    producer_name: 'engine',
    producer_version: input.producerVersion ?? '0',
    doc_string: input.docString ?? 'Engine score model: predicted net edge (bps) and confidence',
    graph: { name: 'engine_score', node: nodes, initializer: inits, input: [tensorInfo(ONNX_INPUT, ['N', edge.nFeatures])], output: outputs },
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  const T = modelProtoType();
  const err = T.verify(model);
  if (err !== null) throw new DataError('ONNX_INVALID', `ONNX model does not match the schema: ${err}`);
  return T.encode(T.fromObject(model)).finish();
}
