/**
 * @engine/fleet: the fleet's processes as library functions — the Redis factory, the run
 * producer and the daily scheduler, the training worker (its pipeline runs in a sandboxed
 * processor) and the sync worker, and the single-machine runner that runs the same
 * training job in-process. Apps only start them.
 */
export * from './jobs';
export * from './redis';
export * from './health';
export * from './run';
export * from './scheduler';
export * from './identity';
export * from './job-errors';
export * from './sync-queue';
export * from './train-job';
export * from './train-worker';
export * from './sync-worker';
export * from './roles';
export * from './single-machine';
export * from './sweep';
export * from './compare';
export * from './false-discovery';
export { candlesMarketOf, marketInputs, PERPETUAL_SOURCES } from './training-ports';
export * from './metrics';
export * from './live-monitor';
export * from './replay/plan';
export * from './replay/context';
export * from './replay/simulate';
export * from './replay/report';
export * from './replay/run-replay';
