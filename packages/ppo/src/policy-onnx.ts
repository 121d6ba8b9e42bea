import { DataError } from '@engine/shared';
import { ATTR, floatInitializer, modelProtoType, ONNX_IR_VERSION } from '@engine/gbdt';
import type { PpoPolicy } from './policy';

/** Default graph input: float32 [N, observationSize]. */
export const POLICY_ONNX_INPUT = 'observation';
/** Graph output: float32 [N, actionCount], the softmax of the logits. */
export const POLICY_ONNX_OUTPUT_PROBABILITIES = 'action_probabilities';
/** Graph output: int64 [N, 1], the first action of highest logit. */
export const POLICY_ONNX_OUTPUT_GREEDY = 'greedy_action';
/** The only operator set used: ai.onnx 17 (Gemm, Tanh, Softmax, ArgMax). */
export const POLICY_ONNX_OPSET = 17;

/** TensorProto.DataType values of the graph's inputs and outputs. */
const ELEM = { FLOAT: 1, INT64: 7 } as const;

/** What goes into the file besides the policy. */
export interface PolicyOnnxOptions {
  /** Name of the graph input. Default {@link POLICY_ONNX_INPUT}. */
  inputName?: string;
  /** ModelProto.producer_version (e.g. the engine version). */
  producerVersion?: string;
  /** ModelProto.doc_string. */
  docString?: string;
  /** Extra metadata_props (key → value). */
  metadata?: Record<string, string>;
}

/** A ValueInfoProto of a tensor of any element type (gbdt's `tensorInfo` writes float only). */
function tensorValueInfo(name: string, elemType: number, dims: Array<number | string>): Record<string, unknown> {
  return {
    name,
    type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

type Node = Record<string, unknown>;
const node = (op: string, input: string[], output: string[], name: string, attribute: unknown[] = []): Node => ({ input, output, name, op_type: op, domain: '', attribute });
const intAttr = (name: string, i: number): Record<string, unknown> => ({ name, type: ATTR.INT, i });

/**
 * Writes the policy as one ONNX graph (ai.onnx opset 17): input float32 [N, observations];
 * per layer `Gemm` (weights [out, in] with transB = 1, bias) and `Tanh` after the hidden
 * ones; the logits go to `Softmax` (output `action_probabilities`, float32 [N, actions]) and
 * to `ArgMax` (output `greedy_action`, int64 [N, 1], first index on ties). Weights are the
 * policy's float32 values, so onnxruntime matches {@link PpoPolicy} up to float32 arithmetic.
 */
export function exportPolicyOnnx(policy: PpoPolicy, opts: PolicyOnnxOptions = {}): Uint8Array {
  const input = opts.inputName ?? POLICY_ONNX_INPUT;
  if (input === '' || input === POLICY_ONNX_OUTPUT_PROBABILITIES || input === POLICY_ONNX_OUTPUT_GREEDY || input.startsWith('policy_')) {
    throw new DataError('ONNX_INVALID', `the policy's input name must be non-empty, not an output's name and not start with 'policy_'; got '${input}'`);
  }
  const sizes = [policy.observationSize, ...policy.hiddenSizes, policy.actionCount];
  const nodes: Node[] = [];
  const inits: Record<string, unknown>[] = [];
  let x = input;
  policy.layers.forEach((layer, l) => {
    const last = l === sizes.length - 2;
    inits.push(floatInitializer(`policy_w${l}`, [sizes[l + 1], sizes[l]], layer.weights), floatInitializer(`policy_b${l}`, [sizes[l + 1]], layer.bias));
    const z = last ? 'policy_logits' : `policy_z${l}`;
    nodes.push(node('Gemm', [x, `policy_w${l}`, `policy_b${l}`], [z], `policy_gemm${l}`, [intAttr('transB', 1)]));
    if (!last) {
      nodes.push(node('Tanh', [z], [`policy_h${l}`], `policy_tanh${l}`));
      x = `policy_h${l}`;
    }
  });
  nodes.push(node('Softmax', ['policy_logits'], [POLICY_ONNX_OUTPUT_PROBABILITIES], 'policy_softmax', [intAttr('axis', 1)]));
  nodes.push(node('ArgMax', ['policy_logits'], [POLICY_ONNX_OUTPUT_GREEDY], 'policy_argmax', [intAttr('axis', 1), intAttr('keepdims', 1), intAttr('select_last_index', 0)]));
  const metadata: Record<string, string> = {
    format: 'engine-ppo-policy',
    observation_size: String(policy.observationSize),
    action_count: String(policy.actionCount),
    hidden_sizes: JSON.stringify(policy.hiddenSizes),
    ...opts.metadata,
  };
  const model = {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: POLICY_ONNX_OPSET }],
    producer_name: 'engine',
    producer_version: opts.producerVersion ?? '0',
    doc_string: opts.docString ?? 'Engine PPO policy: action probabilities and the greedy action',
    graph: {
      name: 'engine_ppo_policy',
      node: nodes,
      initializer: inits,
      input: [tensorValueInfo(input, ELEM.FLOAT, ['N', policy.observationSize])],
      output: [tensorValueInfo(POLICY_ONNX_OUTPUT_PROBABILITIES, ELEM.FLOAT, ['N', policy.actionCount]), tensorValueInfo(POLICY_ONNX_OUTPUT_GREEDY, ELEM.INT64, ['N', 1])],
    },
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  const T = modelProtoType();
  const err = T.verify(model);
  if (err !== null) throw new DataError('ONNX_INVALID', `ONNX model does not match the schema: ${err}`);
  return T.encode(T.fromObject(model)).finish();
}
