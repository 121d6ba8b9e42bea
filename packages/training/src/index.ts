// Validation core (labels, costs, walk-forward, simulation, metrics, gates, scenarios, manifest) and the per-symbol pipeline.
export * from './costs/cost-model';
export * from './labels/triple-barrier';
export { rollingReturnStd } from './labels/rolling-volatility';
export * from './walk-forward/folds';
export * from './threshold/select-threshold';
export * from './simulation/trade-decider';
export * from './simulation/simulate';
export * from './metrics/trade-metrics';
export { maxDrawdown, median, normalCdf } from './metrics/stats';
export * from './gates/gates';
export * from './scenarios/scenarios';
export * from './manifest/manifest';
export { MANIFEST_JSON_SCHEMA } from './manifest/manifest-schema';
export { validateJsonSchema, type JsonSchema } from './manifest/json-schema';
export * from './pipeline/config';
export * from './pipeline/train-symbol';
export { ENGINE_VERSION } from './pipeline/version';
export * from './synthetic/planted-market';
