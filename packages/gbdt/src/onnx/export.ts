import { DataError } from '@engine/shared';
import type { GbdtModel } from '../model';
import { ATTR, ELEM_FLOAT, modelProtoType } from './onnx-proto';

/** Graph input: float32 [N, F], features in the model's order, NaN = missing. */
export const ONNX_INPUT = 'features';
/** Graph output of the edge model: float32 [N, 1], predicted net edge in bps. */
export const ONNX_OUTPUT_EDGE = 'predicted_edge_bps';
/** Graph output of the confidence model: float32 [N, 1], P(net edge > 0). */
export const ONNX_OUTPUT_CONFIDENCE = 'confidence';
/** ONNX IR version written (ONNX 1.12's). */
export const ONNX_IR_VERSION = 8;
/** Operator sets: ai.onnx.ml 3 (TreeEnsembleRegressor) and ai.onnx 17 (Sigmoid). */
export const ONNX_OPSETS = { 'ai.onnx.ml': 3, '': 17 } as const;

/** What goes into the ONNX file. */
export interface OnnxExportInput {
  /** The regression model: output {@link ONNX_OUTPUT_EDGE}. */
  edge: GbdtModel;
  /**
   * An optional logistic model on the same features: a second ensemble whose margin goes
   * through a Sigmoid node to output {@link ONNX_OUTPUT_CONFIDENCE}. One file, one session,
   * both numbers.
   */
  confidence?: GbdtModel;
  /** ModelProto.producer_version (e.g. the engine version). */
  producerVersion?: string;
  /** ModelProto.doc_string. */
  docString?: string;
  /** Extra metadata_props (key → value). */
  metadata?: Record<string, string>;
}

type Attr = Record<string, unknown>;

const intsAttr = (name: string, ints: number[]): Attr => ({ name, type: ATTR.INTS, ints });
const floatsAttr = (name: string, floats: number[]): Attr => ({ name, type: ATTR.FLOATS, floats });
const stringAttr = (name: string, s: string): Attr => ({ name, type: ATTR.STRING, s: Buffer.from(s, 'utf8') });
const intAttr = (name: string, i: number): Attr => ({ name, type: ATTR.INT, i });

const LEQ = Buffer.from('BRANCH_LEQ', 'utf8');
const LEAF = Buffer.from('LEAF', 'utf8');

/**
 * One ai.onnx.ml TreeEnsembleRegressor node for a model. Per tree, internal node n keeps
 * id n and leaf l gets id (numLeaves − 1) + l; the true branch is `x <= threshold`
 * (BRANCH_LEQ on float32, our left child) and `nodes_missing_value_tracks_true` sends NaN
 * to the true branch when the split's default direction is left. The output is the margin
 * base_score + Σ leaf values.
 */
export function treeEnsembleNode(m: GbdtModel, output: string, name: string): Record<string, unknown> {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: Buffer[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missingTrue: number[] = [];
  const tTree: number[] = [];
  const tNode: number[] = [];
  const tId: number[] = [];
  const tWeight: number[] = [];
  m.trees.forEach((t, ti) => {
    const nn = t.numLeaves - 1;
    const id = (c: number): number => (c >= 0 ? c : nn + ~c);
    for (let n = 0; n < nn; n++) {
      treeIds.push(ti);
      nodeIds.push(n);
      featureIds.push(t.splitFeature[n]);
      modes.push(LEQ);
      values.push(t.threshold[n]);
      trueIds.push(id(t.leftChild[n]));
      falseIds.push(id(t.rightChild[n]));
      missingTrue.push(t.defaultLeft[n]);
    }
    for (let l = 0; l < t.numLeaves; l++) {
      treeIds.push(ti);
      nodeIds.push(nn + l);
      featureIds.push(0);
      modes.push(LEAF);
      values.push(0);
      trueIds.push(0);
      falseIds.push(0);
      missingTrue.push(0);
      tTree.push(ti);
      tNode.push(nn + l);
      tId.push(0);
      tWeight.push(t.leafValue[l]);
    }
  });
  return {
    input: [ONNX_INPUT],
    output: [output],
    name,
    op_type: 'TreeEnsembleRegressor',
    domain: 'ai.onnx.ml',
    attribute: [
      stringAttr('aggregate_function', 'SUM'),
      floatsAttr('base_values', [m.baseScore]),
      intAttr('n_targets', 1),
      intsAttr('nodes_falsenodeids', falseIds),
      intsAttr('nodes_featureids', featureIds),
      intsAttr('nodes_missing_value_tracks_true', missingTrue),
      { name: 'nodes_modes', type: ATTR.STRINGS, strings: modes },
      intsAttr('nodes_nodeids', nodeIds),
      intsAttr('nodes_treeids', treeIds),
      intsAttr('nodes_truenodeids', trueIds),
      floatsAttr('nodes_values', values),
      stringAttr('post_transform', 'NONE'),
      intsAttr('target_ids', tId),
      intsAttr('target_nodeids', tNode),
      intsAttr('target_treeids', tTree),
      floatsAttr('target_weights', tWeight),
    ],
  };
}

export function tensorInfo(name: string, dims: Array<number | string>): Record<string, unknown> {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: ELEM_FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/**
 * Writes the model(s) as one ONNX file (ai.onnx.ml TreeEnsembleRegressor, opset 3):
 * input `features` float32 [N, F]; output `predicted_edge_bps` float32 [N, 1]; with a
 * confidence model also `confidence` float32 [N, 1] (sigmoid of the logistic ensemble).
 * Thresholds and leaf values are the models' float32 values, so onnxruntime matches
 * {@link GbdtModel.predict} up to float32 summation.
 */
export function exportOnnx(input: OnnxExportInput): Uint8Array {
  const { edge, confidence } = input;
  if (edge.objective === 'logistic') {
    throw new DataError('MODEL_INVALID', 'the edge model must be a regression (squared_error or huber); got a logistic model');
  }
  if (confidence !== undefined) {
    if (confidence.objective !== 'logistic') {
      throw new DataError('MODEL_INVALID', `the confidence model must be logistic; got ${confidence.objective}`);
    }
    if (confidence.nFeatures !== edge.nFeatures || confidence.featureNames.some((n, i) => n !== edge.featureNames[i])) {
      throw new DataError('MODEL_INVALID', 'the confidence model must use the same features, in the same order, as the edge model');
    }
  }
  const F = edge.nFeatures;
  const nodes = [treeEnsembleNode(edge, ONNX_OUTPUT_EDGE, 'edge_ensemble')];
  const outputs = [tensorInfo(ONNX_OUTPUT_EDGE, ['N', 1])];
  if (confidence !== undefined) {
    nodes.push(treeEnsembleNode(confidence, 'confidence_logit', 'confidence_ensemble'));
    nodes.push({ input: ['confidence_logit'], output: [ONNX_OUTPUT_CONFIDENCE], name: 'confidence_sigmoid', op_type: 'Sigmoid', domain: '' });
    outputs.push(tensorInfo(ONNX_OUTPUT_CONFIDENCE, ['N', 1]));
  }
  const metadata: Record<string, string> = {
    feature_names: JSON.stringify(edge.featureNames),
    edge_objective: edge.objective,
    edge_trees: String(edge.trees.length),
    ...(confidence !== undefined ? { confidence_trees: String(confidence.trees.length) } : {}),
    ...input.metadata,
  };
  const model = {
    ir_version: ONNX_IR_VERSION,
    opset_import: Object.entries(ONNX_OPSETS).map(([domain, version]) => ({ domain, version })),
    producer_name: 'engine',
    producer_version: input.producerVersion ?? '0',
    doc_string: input.docString ?? 'Engine gradient-boosted trees: predicted net edge (bps) and confidence',
    graph: {
      name: 'engine_gbdt',
      node: nodes,
      input: [tensorInfo(ONNX_INPUT, ['N', F])],
      output: outputs,
    },
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  const T = modelProtoType();
  const err = T.verify(model);
  if (err !== null) throw new DataError('ONNX_INVALID', `ONNX model does not match the schema: ${err}`);
  return T.encode(T.fromObject(model)).finish();
}
