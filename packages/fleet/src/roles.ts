import type { Config, Logger, Closeable } from '@engine/shared';
import { startSyncWorker } from './sync-worker';
import { startTrainWorker } from './train-worker';

export type WorkerRole = Config['worker']['role'];

/** Start the worker of `role` (default: ENGINE_WORKER_ROLE). */
export async function startWorkerRole(config: Config, log: Logger, role: WorkerRole = config.worker.role): Promise<Closeable> {
  return role === 'train' ? startTrainWorker(config, log) : startSyncWorker(config, log);
}
