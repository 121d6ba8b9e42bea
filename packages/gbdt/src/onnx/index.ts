export { exportOnnx, tensorInfo, treeEnsembleNode, ONNX_INPUT, ONNX_IR_VERSION, ONNX_OPSETS, ONNX_OUTPUT_CONFIDENCE, ONNX_OUTPUT_EDGE } from './export';
export type { OnnxExportInput } from './export';
export { ATTR, ELEM_FLOAT, floatInitializer, modelProtoType } from './onnx-proto';
