/**
 * The training worker's sandboxed processor: BullMQ loads this file (compiled, from dist)
 * in a worker thread and calls the default export once per job, so the CPU-heavy pipeline
 * never blocks the main thread that renews job locks. The thread keeps its PostgreSQL pool
 * between jobs; it dies with the thread. The thread never talks to Redis: its model is held
 * in the registry, and the run's parent job publishes it (false-discovery control).
 */
import { type SandboxedJob } from 'bullmq';
import { QUEUES, parseJob, type SweepPointResult, type TrainProgress, type TrainResult } from './jobs';
import { createLogger, loadConfig, resolveGitCommit, type Logger } from '@engine/shared';
import { openRegistryContext } from '@engine/registry';
import { toJobError } from './job-errors';
import { workerIdentity } from './identity';
import { evaluateSweepPoint, runTrainJob, trainAndRecord, type TrainContext } from './train-job';
import { openReplayNamespace, type ReplayNamespace } from './replay/context';
import { replayTrainContext } from './replay/run-replay';
import { createTrainingPorts } from './training-ports';

interface ThreadContext {
  train: TrainContext;
  log: Logger;
  /** A replay's namespace on the thread's database handle, opened once per replay. */
  replay(id: string): Promise<ReplayNamespace>;
}

let context: Promise<ThreadContext> | undefined;

async function openContext(): Promise<ThreadContext> {
  const config = loadConfig();
  const identity = workerIdentity(config);
  const log = createLogger({ level: config.logLevel, name: 'train' }).child({ worker: identity.id });
  const actor = `train@${identity.id}`;
  const reg = await openRegistryContext(config, { actor, logger: log, poolSize: 2 });
  const replays = new Map<string, Promise<ReplayNamespace>>();
  return {
    log,
    replay(id) {
      let ns = replays.get(id);
      if (ns === undefined) {
        ns = openReplayNamespace(reg.db, config, id);
        replays.set(id, ns);
        ns.catch(() => replays.delete(id));
      }
      return ns;
    },
    train: {
      ports: createTrainingPorts(config, { gitCommit: resolveGitCommit(config) }),
      registry: reg.registry,
      store: reg.store,
      trials: reg.trials,
      fitCache: reg.fitCache,
      source: 'fleet',
      actor,
    },
  };
}

/** The thread's context, opened on the first job; a failed open (database down) is retried on the next. */
function threadContext(): Promise<ThreadContext> {
  context ??= openContext().catch((err: unknown) => {
    context = undefined;
    throw err;
  });
  return context;
}

/**
 * Forward progress to BullMQ at most every 500 ms, but always on a stage change; and write
 * one line to the job's log (Bull Board's Logs tab) at every stage change and every fold.
 */
function throttledProgress(job: SandboxedJob): (p: TrainProgress) => void {
  let last: TrainProgress | undefined;
  let at = 0;
  let logged = '';
  return (p) => {
    const now = Date.now();
    const key = `${p.stage}/${p.fold ?? ''}`;
    if (key !== logged) {
      logged = key;
      try {
        job.log(`${new Date(now).toISOString()} ${p.stage}${p.fold !== undefined ? ` ${p.fold}/${p.folds ?? '?'}` : ''} (${p.pct}%)${p.message ? `: ${p.message}` : ''}`);
      } catch {
        // a log line is never worth failing the job for
      }
    }
    // A report carrying the candle request count is never dropped (/metrics counts it).
    if (last && last.stage === p.stage && last.fold === p.fold && now - at < 500 && p.candle_requests === undefined) return;
    last = p;
    at = now;
    void job.updateProgress({ ...p }).catch(() => undefined);
  };
}

export default async function processTrainJob(job: SandboxedJob, _token?: string, signal?: AbortSignal): Promise<TrainResult | SweepPointResult> {
  const raw = job.data as { symbol?: unknown; runDate?: unknown };
  const where = `${String(raw?.symbol)} ${String(raw?.runDate)}`;
  let log: Logger | undefined;
  try {
    const ctx = await threadContext();
    log = ctx.log.child({ jobId: job.id, symbol: raw?.symbol, attempt: job.attemptsMade + 1 });
    const data = parseJob(QUEUES.train, job.data);
    const hooks = { progress: throttledProgress(job), signal, log };
    if (data.sweep !== undefined) return await evaluateSweepPoint({ ...data, sweep: data.sweep }, ctx.train, hooks);
    if (data.replay !== undefined) {
      const ns = await ctx.replay(data.replay.id);
      return (await trainAndRecord(data, replayTrainContext(ns, data.replay, ctx.train.ports, ctx.train.actor), hooks)).result;
    }
    return await runTrainJob(data, ctx.train, hooks);
  } catch (err) {
    const e = toJobError(err, `training ${where}`);
    log?.error({ err: e.message, code: (err as { code?: unknown }).code, permanent: e.name === 'UnrecoverableError' }, 'training job failed');
    throw e;
  }
}
