export { exportOnnx, ONNX_INPUT, ONNX_IR_VERSION, ONNX_OPSETS, ONNX_OUTPUT_CONFIDENCE, ONNX_OUTPUT_EDGE } from './export';
export type { OnnxExportInput } from './export';
export { modelProtoType } from './onnx-proto';
