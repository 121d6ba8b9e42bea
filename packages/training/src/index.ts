// Validation core (walk-forward, threshold, simulation, metrics, gates, scenarios) and the per-symbol pipeline.
export * from './walk-forward/folds';
export * from './threshold/select-threshold';
export * from './simulation/simulate';
export * from './metrics/trade-metrics';
export * from './metrics/break-even';
export { maxDrawdown, median } from './metrics/stats';
export * from './metrics/normal';
export * from './metrics/deflated-sharpe';
export * from './metrics/multiple-testing';
export * from './gates/gates';
export * from './scenarios/scenarios';
export * from './pipeline/config';
export * from './pipeline/train-symbol';
export * from './pipeline/trial';
export { ENGINE_VERSION } from './pipeline/version';
export * from './synthetic/planted-market';
export * from './gates/trial-deflation';
export * from './costs/profiles';
