import { z } from 'zod';
import type { JobsOptions } from 'bullmq';
import { PermanentError, parsePair, pairSlug, parseUtcDay, type RetrySettings } from '@engine/shared';
import { trainConfigOverridesSchema, type OutOfSampleEvaluation } from '@engine/training';

/**
 * The job catalog: every queue, its payload schema, its job options and its result type,
 * in one place so the scheduler, the workers, the CLI and the dashboard cannot drift
 * apart. Payloads are small (symbol, run date, ids, training overrides): never candles or
 * models. It lives in the fleet package because a training job's overrides are typed by
 * the training configuration's own schema (@engine/training), which packages/shared
 * cannot import.
 */
export const QUEUES = {
  /** Parent job of a daily run; its children are the per-symbol training jobs. */
  run: 'run',
  /** One job per (run date, symbol): candles → features → labels → folds → model → bundle. */
  train: 'train',
  /** Registry write + Dropbox upload of one finished bundle; also the periodic sweep. */
  sync: 'sync',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

const runDate = z.string().refine((s) => {
  try {
    parseUtcDay(s);
    return true;
  } catch {
    return false;
  }
}, 'expected a UTC day YYYY-MM-DD');
const symbol = z.string().refine((s) => {
  try {
    return parsePair(s).symbol === s;
  } catch {
    return false;
  }
}, 'expected an upper-case pair BASE/QUOTE such as BTC/USDT');

export const runJobSchema = z.object({
  runDate,
  symbols: z.array(symbol).min(1),
  trigger: z.enum(['schedule', 'manual']),
}).strict();
export type RunJob = z.infer<typeof runJobSchema>;

export const trainJobSchema = z.object({
  runDate,
  symbol,
  windowDays: z.number().int().min(1).max(3650),
  /** `binance` (any ccxt exchange id) or `csv:DIR`. */
  source: z.string().min(1),
  /**
   * Overrides of the training defaults for this job (deep-partial TrainConfig, e.g.
   * `{ "model": { "nEstimators": 50 } }`), checked against the training configuration's
   * schema wherever a payload is made or read; recorded in the manifest. Absent on
   * scheduled runs: they train with the defaults.
   */
  training: trainConfigOverridesSchema.optional(),
  /**
   * A sweep's grid point (`engine sweep`): the job evaluates the configuration and records
   * the trial, and never records or publishes a model.
   */
  /** `evaluate`: a comparison's point (`engine compare`): the job also measures the out-of-sample evaluation. */
  sweep: z.object({ id: z.string().regex(/^[0-9a-f]{12}$/), point: z.number().int().min(0), evaluate: z.boolean().optional() }).strict().optional(),
  /**
   * A replay's (symbol, retrain date) (`engine replay`): the daily job, recorded in the
   * replay's registry namespace on the replay's clock; never in production's tables.
   */
  replay: z.object({ id: z.string().regex(/^[0-9a-f]{12}$/), liveDelayMinutes: z.number().int().min(0).max(1439), ttlHours: z.number().positive() }).strict().optional(),
}).strict().refine((j) => j.sweep === undefined || j.replay === undefined, 'a job is a sweep point or a replay day, not both');
export type TrainJob = z.infer<typeof trainJobSchema>;

export const syncJobSchema = z.union([
  z.object({ kind: z.literal('model'), modelId: z.string().uuid(), symbol, runDate }).strict(),
  z.object({ kind: z.literal('sweep') }).strict(),
]);
export type SyncJob = z.infer<typeof syncJobSchema>;

/** What a training job returns (stored by BullMQ; small). */
export interface TrainResult {
  modelId: string;
  symbol: string;
  runDate: string;
  verdict: 'published' | 'rejected';
  reasons: string[];
  /** Where the bundle waits for the sync worker (staging store key). */
  bundleRef: string;
}

/** What a sweep point's job returns: the evaluation, as the ranking table needs it. */
export interface SweepPointResult {
  sweepId: string;
  point: number;
  symbol: string;
  runDate: string;
  configHash: string;
  modelId: string;
  /** Would the daily run's gates publish it (before the deflated-Sharpe and false-discovery controls)? */
  passed: boolean;
  failed: string[];
  trades: number;
  /** Daily Sharpe (not annualised) and PSR(0) of its out-of-sample days. */
  sharpe: number | null;
  psr0: number;
  oosDays: number;
  /** Annualised Sharpe, as the gate table shows. */
  sharpeAnnual: number;
  /** Net and mean round-trip cost per trade (bps), profit factor (null: no losing trade), and the venue. */
  meanNetBps?: number;
  meanRoundTripBps?: number;
  profitFactor?: number | null;
  /** The round-trip cost at which these trades would pass the Sharpe and PF gates; null: not even at 0. */
  breakEvenBps?: number | null;
  /** Maker entries the rules took that never filled (absent with taker entries). */
  unfilled?: number;
  /** `side venue`: e.g. `short binance-usdm-taker@1`, or `long cost-v1`. */
  market?: string;
  /** A comparison's point: out-of-sample daily net bps, rank IC and the confidence's Brier score and calibration. */
  evaluation?: OutOfSampleEvaluation;
}

export const JOB_SCHEMAS = { [QUEUES.run]: runJobSchema, [QUEUES.train]: trainJobSchema, [QUEUES.sync]: syncJobSchema } as const;

/** Validate a payload at the boundary; a malformed payload is a permanent failure. */
export function parseJob<Q extends QueueName>(queue: Q, data: unknown): z.infer<(typeof JOB_SCHEMAS)[Q]> {
  const r = JOB_SCHEMAS[queue].safeParse(data);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
    throw new PermanentError('PAYLOAD_INVALID', `invalid ${queue} job payload: ${why}`, { queue });
  }
  return r.data as z.infer<(typeof JOB_SCHEMAS)[Q]>;
}

/* Deterministic job ids, in BullMQ's allowed syntax (no ':', not an integer). A second
 * trigger on the same day computes the same ids, and BullMQ adds nothing. */
export const jobIds = {
  run: (day: string) => `run-${day}`,
  train: (day: string, sym: string) => `train-${day}-${pairSlug(parsePair(sym))}`,
  sync: (modelId: string) => `sync-${modelId}`,
  sweepPoint: (sweepId: string, sym: string, point: number) => `sweep-${sweepId}-${pairSlug(parsePair(sym))}-${point}`,
  replayDay: (replayId: string, day: string, sym: string) => `replay-${replayId}-${day}-${pairSlug(parsePair(sym))}`,
};

/** Job names inside the queues (BullMQ routes by queue; the name says which kind of job). */
export const JOB_NAMES = {
  /** The daily Job Scheduler's tick on the `run` queue; its processor starts a run. */
  daily: 'daily',
  /** A run's parent job; processed once every child has finished (or failed). */
  run: 'run',
  train: 'train',
  /** A sweep's grid point on the train queue (`engine sweep`). */
  sweepPoint: 'sweep-point',
  /** A replay's (symbol, retrain date) on the train queue (`engine replay`). */
  replayDay: 'replay-day',
  syncModel: 'sync-model',
  /** The sync worker's periodic Job Scheduler tick: re-sync whatever is pending. */
  sweep: 'sweep',
} as const;

/** Ids of the Job Schedulers (upserted at start, so a restart never duplicates them). */
export const SCHEDULER_IDS = { daily: 'daily-run', syncSweep: 'sync-sweep' } as const;

/** Completed and failed jobs are kept this long (seconds), so a re-trigger on the same day still sees them. */
export const KEEP_FINISHED_JOBS_S = 14 * 86_400;

/** The backoff type of sync jobs, implemented by `retryAfterBackoff` in the sync worker. */
export const SYNC_BACKOFF = 'retry-after';

/**
 * Job options per queue. Transient failures retry with exponential backoff
 * (`delay · 2^(attempt−1)`; sync jobs honour a server's Retry-After too), permanent ones
 * fail at once; `retry` comes from the configuration (ENGINE_TRAIN_ATTEMPTS, … ).
 */
export const JOB_OPTIONS = {
  /** A run's parent job: once every child is done it decides the run (false-discovery control) and hands the models to the sync queue; retried when PostgreSQL or Redis is down. */
  run: (runDate: string): JobsOptions => ({ jobId: jobIds.run(runDate), attempts: 8, backoff: { type: 'exponential', delay: 10_000 }, removeOnComplete: { age: KEEP_FINISHED_JOBS_S }, removeOnFail: { age: KEEP_FINISHED_JOBS_S } }),
  /** One symbol's training job, a child of its run: its failure never fails the run or holds back the others. */
  train: (runDate: string, symbol: string, retry: RetrySettings): JobsOptions => ({
    jobId: jobIds.train(runDate, symbol),
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    failParentOnFailure: false,
    ignoreDependencyOnFailure: true,
    removeOnComplete: { age: KEEP_FINISHED_JOBS_S },
    removeOnFail: { age: KEEP_FINISHED_JOBS_S },
  }),
  /** One grid point of a sweep: retried like training, kept a fortnight so a rerun of the sweep finds it. */
  sweepPoint: (sweepId: string, symbol: string, point: number, retry: RetrySettings): JobsOptions => ({
    jobId: jobIds.sweepPoint(sweepId, symbol, point),
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    removeOnComplete: { age: KEEP_FINISHED_JOBS_S },
    removeOnFail: { age: KEEP_FINISHED_JOBS_S },
  }),
  /** One (symbol, retrain date) of a replay: retried like training, kept a fortnight so a resumed replay finds it. */
  replayDay: (replayId: string, day: string, symbol: string, retry: RetrySettings): JobsOptions => ({
    jobId: jobIds.replayDay(replayId, day, symbol),
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    removeOnComplete: { age: KEEP_FINISHED_JOBS_S },
    removeOnFail: { age: KEEP_FINISHED_JOBS_S },
  }),
  /** The daily Job Scheduler's tick (starting a run only needs Redis: a few quick retries). */
  daily: (): JobsOptions => ({ attempts: 5, backoff: { type: 'exponential', delay: 10_000 }, removeOnComplete: { age: KEEP_FINISHED_JOBS_S }, removeOnFail: { age: KEEP_FINISHED_JOBS_S } }),
  /** The sync worker's sweep tick (every 30 minutes): a few retries, the last hundred kept. */
  sweep: (): JobsOptions => ({ attempts: 3, backoff: { type: 'exponential', delay: 30_000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } }),
  /** Publishing one recorded model: deterministic id, retries with the Retry-After-aware backoff. */
  sync: (modelId: string, retry: RetrySettings): JobsOptions => ({
    jobId: jobIds.sync(modelId),
    attempts: retry.attempts,
    backoff: { type: SYNC_BACKOFF, delay: retry.backoffMs },
    removeOnComplete: { age: KEEP_FINISHED_JOBS_S },
    removeOnFail: { age: 30 * 86_400 },
  }),
} as const;

/** Stages a training job reports through `job.updateProgress`. */
export type TrainStage = 'candles' | 'features' | 'labels' | 'fold' | 'final' | 'export' | 'registry' | 'done';

/** The progress object of a training job (what Bull Board shows). */
export interface TrainProgress {
  stage: TrainStage;
  /** 0‥100 over the whole job. */
  pct: number;
  /** For `fold`: 1-based index and count. */
  fold?: number;
  folds?: number;
  message?: string;
  /** End of the candle stage: HTTP requests the candle loads made (0 from the cache or files), for /metrics. */
  candle_requests?: number;
}

/** What a run's parent job returns once all its children have finished. */
export interface RunResult {
  runDate: string;
  symbols: string[];
  published: string[];
  rejected: string[];
  /** symbol → failure reason, for the children that failed (never blocks the others). */
  failed: Record<string, string>;
  /** The run's false-discovery decision: each held model, whether it was a candidate, its p and adjusted p. */
  decisions: { symbol: string; modelId: string; candidate: boolean; p: number | null; pAdjusted: number | null; verdict: 'published' | 'rejected' }[];
}
