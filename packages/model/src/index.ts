/**
 * @engine/model: what a published model is and how it trades — the one contract the
 * trainer, the registry, the publisher, the dashboard and Hamilton's consumer agree on.
 * Pure: no I/O, no logging.
 */
export * from './bundle';
export * from './bundle-io';
export * from './bundle-files/golden';
export * from './layout';
export * from './manifest/manifest';
export * from './manifest/false-discovery';
export * from './manifest/json-schema';
export * from './manifest/validate-manifest';
export * from './problems';
export * from './rules/cost-model';
export * from './rules/triple-barrier';
export * from './rules/spike-rule';
export { rollingReturnStd } from './rules/rolling-volatility';
export * from './rules/trade-decider';
export * from './bundle-files/folds';
export * from './bundle-files/equity';
export * from './bundle-files/importance';
export * from './bundle-files/read';
export * from './live-feedback';
