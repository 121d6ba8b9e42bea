/**
 * Worker-thread entry of the fold trainer pool (runs from dist/): fits one job's models,
 * single-threaded, on the shared feature columns and target, and answers with predictions
 * for the requested rows and, when asked, the model's native JSON.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { columnMatrix } from '@engine/gbdt';
import { type FitInit, type FitJob, type FitReply, fitAndPredict } from './fold-pool';

const port = parentPort;
if (port === null) throw new Error('fold-worker.js must run as a worker thread');
const init = workerData as FitInit;
const x = columnMatrix(init.columns);

port.on('message', (job: FitJob) => {
  fitAndPredict(job, { x, ...init }).then(
    (r) => port.postMessage(r satisfies FitReply),
    (e: unknown) => port.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code } satisfies FitReply),
  );
});
