import type { FlowProducer, Queue } from 'bullmq';
import { formatUtcDay, type Logger, type RetrySettings } from '@engine/shared';
import { JOB_NAMES, JOB_OPTIONS, QUEUES, jobIds, parseJob, type RunJob, type TrainJob } from './jobs';

/** The producer side of the fleet: what it takes to add a run. */
export interface RunProducer {
  flow: FlowProducer;
  /** The `run` queue (to look up an existing run). */
  runQueue: Queue;
  /** BullMQ key prefix (ENGINE_QUEUE_PREFIX). */
  prefix: string;
}

/** A request for one run: every symbol of it is trained for `runDate`. */
export interface RunRequest {
  runDate: string;
  symbols: string[];
  /** Candle source: `binance` (any ccxt id) or `csv:DIR`. */
  source: string;
  windowDays: number;
  trigger: RunJob['trigger'];
  /** Overrides of the training defaults for every symbol of this run (see `TrainJob.training`). */
  training?: TrainJob['training'];
  /** Training attempts and first backoff per symbol (transient failures only): the configuration's ENGINE_TRAIN_ATTEMPTS / _BACKOFF_MS, or a run's own. */
  retry: RetrySettings;
}

export interface RunStarted {
  runJobId: string;
  /** False when a run for that day already existed: nothing was added. */
  added: boolean;
  /** The existing run's state when `added` is false. */
  existingState?: string;
  trainJobIds: string[];
}

/** The run date of a cron fire: the UTC day the fire belongs to. */
export function runDateOfFire(fireMs: number): string {
  return formatUtcDay(fireMs);
}

/**
 * Add one run: a parent job `run-YYYY-MM-DD` on the run queue and one child per symbol
 * `train-YYYY-MM-DD-BASE-QUOTE` on the train queue, in one FlowProducer transaction.
 *
 * Children carry `ignoreDependencyOnFailure`, so a symbol that fails (after its retries)
 * is recorded on the parent as an ignored failure and never holds the others back; the
 * parent is processed once all children are done. The ids are deterministic, so a second
 * trigger for the same day finds the run and adds nothing; two triggers racing each other
 * still cannot duplicate a job, because BullMQ refuses an id it already holds.
 */
export async function startRun(p: RunProducer, req: RunRequest, log: Logger): Promise<RunStarted> {
  const run = parseJob(QUEUES.run, { runDate: req.runDate, symbols: [...new Set(req.symbols)], trigger: req.trigger });
  const runJobId = jobIds.run(run.runDate);
  const trainJobIds = run.symbols.map((s) => jobIds.train(run.runDate, s));

  const existing = await p.runQueue.getJob(runJobId);
  if (existing) {
    const state = await existing.getState();
    log.info({ runJobId, state, trigger: req.trigger }, 'a run for this day already exists; nothing added');
    return { runJobId, added: false, existingState: state, trainJobIds };
  }

  await p.flow.add({
    name: JOB_NAMES.run,
    queueName: QUEUES.run,
    prefix: p.prefix,
    data: run,
    opts: JOB_OPTIONS.run(run.runDate),
    children: run.symbols.map((symbol) => {
      const data: TrainJob = parseJob(QUEUES.train, { runDate: run.runDate, symbol, windowDays: req.windowDays, source: req.source, ...(req.training ? { training: req.training } : {}) });
      return {
        name: JOB_NAMES.train,
        queueName: QUEUES.train,
        prefix: p.prefix,
        data,
        opts: JOB_OPTIONS.train(run.runDate, symbol, req.retry),
      };
    }),
  });
  log.info({ runJobId, runDate: run.runDate, symbols: run.symbols, trigger: req.trigger, source: req.source, windowDays: req.windowDays }, 'run added');
  return { runJobId, added: true, trainJobIds };
}
