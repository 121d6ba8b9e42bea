export {};
// The histogram GBDT trainer and its ONNX export.
export * from './gbdt';
export * from './onnx';
