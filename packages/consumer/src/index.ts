/**
 * @engine/consumer: what Hamilton, the live trader, imports. Open a symbol's published
 * model safely (hashes, recipe, golden vectors, ONNX), keep streaming features from live
 * candles, and decide with the training simulation's own rules; swap to a newly published
 * model between candles and keep the old one when the new one is broken.
 */
export * from './errors';
export { detectCuda, createOnnxSession } from './onnx-runtime';
export type { CudaAvailability, ExecutionProvider, OnnxSession, OnnxSessionOptions } from './onnx-runtime';
export { MAX_UNSIZED_FILE_BYTES, resolveSource, readSourceFile } from './model-source';
export type { ModelSource, ModelSourceSpec, ReadableFiles, ReadLimit } from './model-source';
export { bundleFromMemory, fetchLatestBundle, fetchPointedBundle, parseManifest, parsePointer, verifyArtifacts } from './bundle-fetch';
export type { FetchedBundle } from './bundle-fetch';
export { LiveModel } from './live-model';
/** The golden-vector rule every opened model passes (defined by the contract, @engine/model). */
export { GOLDEN_TOLERANCE } from '@engine/model';
export type { GoldenReport, ModelGuardOptions, Prediction, PredictorKind } from './live-model';
export { openBundle, openFromPointer, openModel } from './open-model';
export type { OpenModelOptions, OpenModelRequest } from './open-model';
export { ModelWatcher } from './model-watcher';
export type { ModelWatcherEvents, ModelWatcherOptions, PollOutcome } from './model-watcher';
export { PositionTracker } from './position-tracker';
export type { ClosedPosition, OpenPosition } from './position-tracker';
export { Trader } from './trader';
export { JsonlFeedbackSink, decisionRecord, tradeRecord } from './feedback';
export type { FeedbackSink } from './feedback';
export type { CandleDecision, ModelProvider, TraderOptions, TraderSnapshot } from './trader';
