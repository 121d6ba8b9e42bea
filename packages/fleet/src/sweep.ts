import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import { ConfigError, EngineError, parsePair, wrapError, type Config, type Logger } from '@engine/shared';
import { openRegistryContext, type TrialLedger } from '@engine/registry';
import { canonicalJson, deflateByTrials, parseTrainConfigOverrides, resolveTrainConfig, trialLookback, type TrainConfigOverrides } from '@engine/training';
import { JOB_NAMES, JOB_OPTIONS, QUEUES, parseJob, type SweepPointResult, type TrainJob } from './jobs';
import { createRedisConnection, ensureRedis } from './redis';
import { evaluateSweepPoint } from './train-job';
import { createTrainingPorts } from './training-ports';

/**
 * A sweep's grid: either explicit points, or axes whose cartesian product (over a base)
 * makes the points. Axes name a setting by its dotted path in the training configuration:
 *
 *   { "base": { "model": { "nEstimators": 100 } },
 *     "axes": { "labels.horizon_minutes": [4, 60], "costs.fee_bps_per_side": [10, 5] } }
 *   { "points": [ { "labels": { "horizon_minutes": 60 } }, { … } ] }
 */
export interface SweepGrid {
  base?: Record<string, unknown>;
  axes?: Record<string, unknown[]>;
  points?: Record<string, unknown>[];
}

function setPath(o: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let at = o;
  for (const k of keys.slice(0, -1)) {
    if (typeof at[k] !== 'object' || at[k] === null || Array.isArray(at[k])) at[k] = {};
    at = at[k] as Record<string, unknown>;
  }
  at[keys[keys.length - 1]!] = value;
}

/** The grid's points, each checked against the training configuration's schema (a typo fails here, naming the point). */
export function expandGrid(grid: SweepGrid): TrainConfigOverrides[] {
  const raw: Record<string, unknown>[] = [];
  if (grid.points !== undefined) raw.push(...grid.points);
  if (grid.axes !== undefined) {
    let combos: Record<string, unknown>[] = [JSON.parse(JSON.stringify(grid.base ?? {})) as Record<string, unknown>];
    for (const [axis, values] of Object.entries(grid.axes)) {
      if (!Array.isArray(values) || values.length === 0) throw new ConfigError(`sweep grid axis '${axis}' needs a non-empty array of values`);
      const next: Record<string, unknown>[] = [];
      for (const c of combos) {
        for (const v of values) {
          const copy = JSON.parse(JSON.stringify(c)) as Record<string, unknown>;
          setPath(copy, axis, v);
          next.push(copy);
        }
      }
      combos = next;
    }
    raw.push(...combos);
  }
  if (raw.length === 0) throw new ConfigError('the sweep grid has no points: give "points" or "axes"');
  if (raw.length > 1000) throw new ConfigError(`the sweep grid has ${raw.length} points; at most 1000 per sweep`);
  return raw.map((p, k) => {
    const o = parseTrainConfigOverrides(p, `sweep grid point ${k}`);
    resolveTrainConfig(o);
    return o;
  });
}

export interface SweepRequest {
  symbols: string[];
  runDate: string;
  windowDays: number;
  source: string;
  points: TrainConfigOverrides[];
  /** A comparison (`engine compare`): every point also measures its out-of-sample evaluation. */
  evaluate?: boolean;
}

/** The sweep's id: the same symbols, window, source and points always give the same id (and the same job ids). */
export function sweepId(req: SweepRequest): string {
  return createHash('sha256')
    .update(canonicalJson({ symbols: [...req.symbols].sort(), runDate: req.runDate, windowDays: req.windowDays, source: req.source, points: req.points, ...(req.evaluate === true ? { evaluate: true } : {}) }))
    .digest('hex')
    .slice(0, 12);
}

/** One row of the ranked table. */
export interface SweepRow extends SweepPointResult {
  /** The point's training overrides. */
  training: TrainConfigOverrides;
  /** Trials of the symbol in the ledger's lookback, this one included. */
  n: number;
  nEffective: number;
  sr0: number;
  dsr: number;
  minTrackRecordDays: number;
  /** `pass` when the daily run's gates pass and DSR ≥ the bound; else why not. */
  verdict: string;
}

export interface SweepReport {
  sweepId: string;
  rows: SweepRow[];
  failed: { symbol: string; point: number; error: string }[];
}

/** The deflated-Sharpe bound a point must reach (SPEC §1.7). */
export const MIN_DSR = 0.95;
/** The deflation rankSweep applies, for the ledger's readers above the fleet (the dashboard's trials page), which do not import training. */
export { deflateByTrials, TRIAL_LOOKBACK_DAYS, trialLookback, type TrialDeflation } from '@engine/training';

/** Rank a sweep's results by DSR at each symbol's true trial count (the ledger's lookback, every point of this sweep included). */
export async function rankSweep(id: string, results: SweepPointResult[], points: TrainConfigOverrides[], ledger: TrialLedger): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  for (const r of results) {
    const { from } = trialLookback(r.runDate);
    const all = await ledger.list(r.symbol, { from, to: r.runDate, includeControls: true });
    const own = all.find((t) => t.configHash === r.configHash && t.runDate === r.runDate);
    if (own === undefined) throw new EngineError('TRIAL_MISSING', `sweep ${id}: the ledger has no trial for ${r.symbol} point ${r.point}`, { permanent: false });
    // Controls (a permuted target, extra features) are recorded but never counted as trials;
    // a control point is judged against the real trials, and can never pass.
    const d = deflateByTrials(own, all.filter((t) => !t.isControl), r.runDate);
    // The point's own deflated_sharpe gate saw the ledger while the sweep was still running;
    // it is judged again here, at the sweep's full N.
    const failed = r.failed.filter((g) => g !== 'deflated_sharpe');
    const verdict = own.isControl
      ? `control (not a trial)${failed.length === 0 ? ': PASSED the gates, investigate' : ''}`
      : failed.length > 0
        ? `fails ${failed.join(', ')}`
        : d.dsr >= MIN_DSR
          ? 'pass'
          : `fails deflated_sharpe (${d.dsr.toFixed(3)} < ${MIN_DSR})`;
    rows.push({ ...r, training: points[r.point]!, n: d.n, nEffective: d.n_effective, sr0: d.sr0, dsr: d.dsr, minTrackRecordDays: d.min_track_record_days, verdict });
  }
  return rows.sort((a, b) => b.dsr - a.dsr || (b.sharpe ?? -Infinity) - (a.sharpe ?? -Infinity) || a.symbol.localeCompare(b.symbol) || a.point - b.point);
}

/**
 * A sweep on the fleet: one job per (symbol, point) on the train queue with deterministic
 * ids (a rerun finds the jobs it added and adds nothing), then wait for all of them and
 * rank. Resumable: interrupt it and run it again.
 */
export async function runSweepOnFleet(config: Config, req: SweepRequest, log: Logger, opts: { pollMs?: number; timeoutMs?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<SweepReport> {
  if (!config.redisUrl) throw new ConfigError('a sweep on the fleet needs REDIS_URL');
  const id = sweepId(req);
  const connection = createRedisConnection(config.redisUrl, 'producer', log);
  const queue = new Queue(QUEUES.train, { connection, prefix: config.queuePrefix });
  try {
    await ensureRedis(connection, config.redisUrl);
    const jobs: { name: string; data: TrainJob; opts: ReturnType<typeof JOB_OPTIONS.sweepPoint> }[] = [];
    for (const symbol of req.symbols) {
      req.points.forEach((training, point) => {
        const data = parseJob(QUEUES.train, { runDate: req.runDate, symbol, windowDays: req.windowDays, source: req.source, training, sweep: { id, point, ...(req.evaluate === true ? { evaluate: true } : {}) } });
        jobs.push({ name: JOB_NAMES.sweepPoint, data, opts: JOB_OPTIONS.sweepPoint(id, symbol, point, config.retry.train) });
      });
    }
    await queue.addBulk(jobs);
    log.info({ sweep: id, jobs: jobs.length }, 'sweep added (jobs already there are kept)');
    const deadline = Date.now() + (opts.timeoutMs ?? 24 * 3_600_000);
    const results: SweepPointResult[] = [];
    const failed: SweepReport['failed'] = [];
    for (;;) {
      results.length = 0;
      failed.length = 0;
      let pending = 0;
      for (const j of jobs) {
        const job = await queue.getJob(j.opts.jobId!);
        const state = job ? await job.getState() : 'missing';
        if (state === 'completed') results.push((await queue.getJob(j.opts.jobId!))!.returnvalue as SweepPointResult);
        else if (state === 'failed' || state === 'missing') failed.push({ symbol: j.data.symbol, point: j.data.sweep!.point, error: job?.failedReason ?? 'the job was removed' });
        else pending++;
      }
      opts.onProgress?.(jobs.length - pending, jobs.length);
      if (pending === 0) break;
      if (Date.now() > deadline) throw new EngineError('SWEEP_TIMEOUT', `sweep ${id}: ${pending} of ${jobs.length} points still running; run the same command again to keep waiting`, { permanent: false });
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 2_000));
    }
    const reg = await openRegistryContext(config, { actor: `sweep@${hostname()}`, logger: log, poolSize: 2 });
    try {
      return { sweepId: id, rows: await rankSweep(id, results, req.points, reg.trials), failed };
    } finally {
      await reg.close();
    }
  } finally {
    await queue.close();
    await connection.quit().catch(() => connection.disconnect());
  }
}

/** A sweep on one machine: the same evaluation per point, in this process, with the embedded (or configured) registry's ledger. */
export async function runSweepHere(config: Config, req: SweepRequest, log: Logger, opts: { threads?: number; cacheDir?: string; onProgress?: (done: number, total: number) => void } = {}): Promise<SweepReport> {
  const id = sweepId(req);
  const cfg: Config = { ...config, mode: 'single', worker: { ...config.worker, trainThreads: opts.threads ?? config.worker.trainThreads } };
  const reg = await openRegistryContext(cfg, { actor: `sweep@${hostname()}`, logger: log });
  try {
    const ports = createTrainingPorts(cfg, { cacheDir: opts.cacheDir });
    const results: SweepPointResult[] = [];
    const failed: SweepReport['failed'] = [];
    const total = req.symbols.length * req.points.length;
    let done = 0;
    for (const symbol of req.symbols.map((s) => parsePair(s).symbol)) {
      for (let point = 0; point < req.points.length; point++) {
        const job = { runDate: req.runDate, symbol, windowDays: req.windowDays, source: req.source, training: req.points[point], sweep: { id, point, ...(req.evaluate === true ? { evaluate: true } : {}) } };
        try {
          results.push(await evaluateSweepPoint(job, { ports, registry: reg.registry, trials: reg.trials }, { progress: () => undefined, log: log.child({ symbol, point }) }));
        } catch (err) {
          const e = wrapError(err, `sweep ${id}: ${symbol} point ${point}`);
          log.error({ symbol, point, err: e.message }, 'sweep point failed');
          failed.push({ symbol, point, error: e.message });
        }
        opts.onProgress?.(++done, total);
      }
    }
    return { sweepId: id, rows: await rankSweep(id, results, req.points, reg.trials), failed };
  } finally {
    await reg.close();
  }
}
