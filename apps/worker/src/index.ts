export * from './identity';
export * from './job-errors';
export * from './sync-queue';
export * from './train-job';
export * from './train-worker';
export * from './sync-worker';
export * from './roles';
export * from './single-machine';
