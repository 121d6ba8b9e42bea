/**
 * Worker-thread entry of the agent trainer (runs from dist/): trains one job's PPO agent,
 * single-threaded, on the shared tape, and answers with the agent's JSON.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type AgentInit, type AgentJob, type AgentReply, trainAgentJob } from './agent-jobs';

const port = parentPort;
if (port === null) throw new Error('agent-worker.js must run as a worker thread');
const init = workerData as AgentInit;

port.on('message', (job: AgentJob) => {
  trainAgentJob(job, init).then(
    (r) => port.postMessage(r satisfies AgentReply),
    (e: unknown) => port.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e), code: (e as { code?: string }).code } satisfies AgentReply),
  );
});
