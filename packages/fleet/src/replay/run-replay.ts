import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import { ConfigError, DAY_MS, EngineError, MINUTE_MS, parseUtcDay, wrapError, type Config, type Logger } from '@engine/shared';
import { referenceSymbolFor } from '@engine/features';
import type { ModelDetail } from '@engine/registry';
import { decideRun } from '../false-discovery';
import { JOB_NAMES, JOB_OPTIONS, QUEUES, parseJob, type TrainJob } from '../jobs';
import { createRedisConnection, ensureRedis } from '../redis';
import { trainAndRecord, type TrainContext, type TrainingPorts } from '../train-job';
import { createTrainingPorts } from '../training-ports';
import { openReplayContext, type ReplayContext, type ReplayNamespace, type ReplayStep } from './context';
import { liveFrom, retrainDates, type ReplayRequest } from './plan';
import { candleSpan, modelOpener, timeline, tradeBook, type ReplayTrade } from './simulate';
import { buyAndHoldDaily, dailyByExit, fleetBooks, fleetStatistics, modelRows, replayDays, summariseBook, type ReplayReport, type SymbolReport } from './report';

/** Progress of a replay: retrain dates decided, and the (symbol, date) jobs finished. */
export interface ReplayProgress {
  phase: 'train' | 'simulate' | 'done';
  datesDone: number;
  dates: number;
  jobsDone: number;
  jobs: number;
  message: string;
}

/** A replay's training context: the production job's context on the replay's namespace, clock and freshness. */
export function replayTrainContext(ns: Pick<ReplayNamespace, 'registry' | 'store' | 'trials' | 'fitCache'>, req: Pick<ReplayRequest, 'liveDelayMinutes' | 'ttlHours'>, ports: TrainingPorts, actor: string): TrainContext {
  return { ports, registry: ns.registry, store: ns.store, trials: ns.trials, fitCache: ns.fitCache, source: 'replay', actor, schedule: { clock: (d) => new Date(liveFrom(req, d)), ttlHours: req.ttlHours } };
}

/** The training job of (symbol, retrain date) in a replay: the daily job's payload, tagged with the replay. */
export function replayJob(req: ReplayRequest, id: string, symbol: string, runDate: string): TrainJob {
  return parseJob(QUEUES.train, { runDate, symbol, windowDays: req.windowDays, source: req.source, training: req.training, replay: { id, liveDelayMinutes: req.liveDelayMinutes, ttlHours: req.ttlHours } });
}

/**
 * Decide one retrain date of a replay exactly as a daily run decides: the held models of
 * the day adjusted together (false-discovery control), released, the live pointers moved
 * by the registry's own rules; then each symbol's step (its model, verdict and the live
 * model the day left) is recorded. Idempotent: a decided day is left as it was.
 */
export async function decideReplayDate(ns: Pick<ReplayNamespace, 'id' | 'registry' | 'store' | 'trials' | 'recordStep'>, runDate: string, symbols: readonly string[], failures: ReadonlyMap<string, string>, opts: { settings: Config['falseDiscovery']; actor: string; log: Logger }): Promise<void> {
  await decideRun(runDate, ns, { settings: opts.settings, actor: opts.actor, decidedBy: `replay ${ns.id} (${runDate})`, log: opts.log });
  for (const symbol of symbols) {
    const model = await ns.registry.findModel(symbol, runDate);
    const live = await ns.registry.liveModel(symbol);
    const verdict = model === null ? null : model.syncState === 'held' ? null : model.verdict;
    await ns.recordStep({
      symbol,
      runDate,
      modelId: model?.id ?? null,
      verdict,
      liveModelId: live !== null && live.demoted === null ? live.modelId : null,
      error: model === null ? (failures.get(symbol) ?? 'no model recorded') : null,
    });
  }
}

/**
 * The replay's driver, the same in-process and on the fleet: retrain dates in order (the
 * gate history and the trial ledger of day d are what days before it recorded), each
 * date's symbols trained by `trainDate` (in-process one after the other, or as BullMQ jobs
 * on as many workers as run), then decided. A date already decided is skipped, a model
 * already recorded is not trained again: the same command resumes a crashed replay.
 */
async function drive(
  ctx: ReplayContext,
  req: ReplayRequest,
  trainDate: (runDate: string, symbols: string[]) => Promise<Map<string, string>>,
  opts: { settings: Config['falseDiscovery']; actor: string; log: Logger; onProgress?: (p: ReplayProgress) => void },
): Promise<void> {
  const dates = retrainDates(req);
  const decided = new Set((await ctx.steps()).map((s) => `${s.symbol} ${s.runDate}`));
  let done = 0;
  const jobs = dates.length * req.symbols.length;
  for (const [k, d] of dates.entries()) {
    const todo = req.symbols.filter((s) => !decided.has(`${s} ${d}`));
    if (todo.length > 0) {
      const untrained: string[] = [];
      for (const s of todo) if ((await ctx.registry.findModel(s, d)) === null) untrained.push(s);
      opts.onProgress?.({ phase: 'train', datesDone: k, dates: dates.length, jobsDone: done + req.symbols.length - untrained.length, jobs, message: `${d}: training ${untrained.length} symbol(s)` });
      const failures = untrained.length > 0 ? await trainDate(d, untrained) : new Map<string, string>();
      await decideReplayDate(ctx, d, todo, failures, opts);
    }
    done += req.symbols.length;
    opts.onProgress?.({ phase: 'train', datesDone: k + 1, dates: dates.length, jobsDone: done, jobs, message: `${d} decided` });
  }
}

/** Simulate every symbol's books over the replay and assemble the report (saved in the namespace). */
export async function replayReport(ctx: ReplayContext, req: ReplayRequest, ports: TrainingPorts, opts: { trainSeconds: number; signal?: AbortSignal; onProgress?: (p: ReplayProgress) => void }): Promise<ReplayReport> {
  const t0 = Date.now();
  const steps = await ctx.steps();
  const dates = retrainDates(req);
  const days = replayDays(req);
  const open = await modelOpener(ctx.registry, ctx.store, req);
  const symbols: SymbolReport[] = [];
  const allShadow: ReplayTrade[] = [];
  const allFactory: ReplayTrade[] = [];
  const start = parseUtcDay(req.from);
  const end = parseUtcDay(req.to);
  for (const [k, symbol] of req.symbols.entries()) {
    opts.onProgress?.({ phase: 'simulate', datesDone: dates.length, dates: dates.length, jobsDone: k, jobs: req.symbols.length, message: `trading ${symbol} with the consumer's Trader` });
    const own = steps.filter((s) => s.symbol === symbol);
    const span = candleSpan(req);
    const candles = await ports.candles({ symbol, range: span, source: req.source, signal: opts.signal });
    const reference = await ports.candles({ symbol: referenceSymbolFor(symbol), range: span, source: req.source, signal: opts.signal });
    const factorySeg = timeline(req, own, 'factory');
    const shadowSeg = timeline(req, own, 'gates_off');
    const factory = await tradeBook({ symbol, candles, reference, start, end, segments: factorySeg, open });
    const shadow = await tradeBook({ symbol, candles, reference, start, end, segments: shadowSeg, open });
    allShadow.push(...shadow.trades);
    allFactory.push(...factory.trades);
    // buy and hold from the first trading minute's open
    // the candles are a complete minute grid: the row of minute t is (t − first) / 1 min
    const rowOf = (t: number): number => (t - candles.ts[0]!) / MINUTE_MS;
    const i0 = rowOf(start);
    const entry = i0 >= 0 && i0 < candles.ts.length ? candles.open[i0]! : Number.NaN;
    const closes = days.map((d) => {
      const i = rowOf(parseUtcDay(d) + DAY_MS - MINUTE_MS);
      return i >= 0 && i < candles.ts.length && !candles.gap[i] ? candles.close[i]! : Number.NaN;
    });
    const details = new Map<string, ModelDetail>();
    for (const s of own) if (s.modelId !== null) details.set(s.modelId, (await ctx.registry.getModel(s.modelId))!);
    const liveDays = new Map<string, number>();
    for (const [id, minutes] of factory.modelMinutes) liveDays.set(id, minutes / 1440);
    symbols.push({
      symbol,
      books: {
        factory: summariseBook(dailyByExit(factory.trades, days), factory.trades),
        gates_off: summariseBook(dailyByExit(shadow.trades, days), shadow.trades),
        no_trading: summariseBook(new Array<number>(days.length).fill(0), null),
        buy_and_hold: summariseBook(buyAndHoldDaily(closes, entry), null),
      },
      models: modelRows(symbol, own, details, factory.trades, shadow.trades, liveDays),
      failedDays: own.filter((s) => s.error !== null).map((s) => ({ runDate: s.runDate, error: s.error! })),
      openAtEnd: { factory: factory.openAtEnd, gates_off: shadow.openAtEnd },
    });
  }
  const report: ReplayReport = {
    replayId: ctx.id,
    request: req,
    retrainDates: dates,
    days,
    symbols,
    fleet: fleetBooks(symbols, days.length),
    ...fleetStatistics(symbols, allShadow, allFactory, req.training),
    seconds: { train: opts.trainSeconds, simulate: (Date.now() - t0) / 1000 },
  };
  await ctx.saveReport(report);
  opts.onProgress?.({ phase: 'done', datesDone: dates.length, dates: dates.length, jobsDone: req.symbols.length, jobs: req.symbols.length, message: 'report saved' });
  return report;
}

export interface ReplayRunOptions {
  threads?: number;
  cacheDir?: string;
  onProgress?: (p: ReplayProgress) => void;
  signal?: AbortSignal;
}

/** Single-machine mode: the replay in-process, the training jobs one after the other (the same `trainAndRecord` the fleet's workers run). */
export async function runReplayHere(config: Config, req: ReplayRequest, log: Logger, opts: ReplayRunOptions = {}): Promise<ReplayReport> {
  const cfg: Config = { ...config, mode: 'single', worker: { ...config.worker, trainThreads: opts.threads ?? config.worker.trainThreads } };
  const actor = `replay@${hostname()}`;
  const ctx = await openReplayContext(cfg, req, { actor, logger: log });
  try {
    const ports = createTrainingPorts(cfg, { cacheDir: opts.cacheDir });
    const train = replayTrainContext(ctx, req, ports, actor);
    const t0 = Date.now();
    await drive(
      ctx,
      req,
      async (runDate, symbols) => {
        const failures = new Map<string, string>();
        for (const symbol of symbols) {
          try {
            await trainAndRecord(replayJob(req, ctx.id, symbol, runDate), train, { progress: () => undefined, signal: opts.signal, log: log.child({ symbol, runDate }) });
          } catch (err) {
            if (opts.signal?.aborted) throw err;
            const e = wrapError(err, `replay ${symbol} ${runDate}`);
            log.error({ symbol, runDate, code: e.code, err: e.message }, 'replay training failed');
            failures.set(symbol, `${e.code}: ${e.message}`);
          }
        }
        return failures;
      },
      { settings: cfg.falseDiscovery, actor, log, onProgress: opts.onProgress },
    );
    return await replayReport(ctx, req, ports, { trainSeconds: (Date.now() - t0) / 1000, signal: opts.signal, onProgress: opts.onProgress });
  } finally {
    await ctx.close();
  }
}

/**
 * The replay on the fleet: each retrain date's symbols become training jobs (deterministic
 * ids `replay-<id>-<date>-<symbol>`) that any training worker takes; this process waits for
 * the date, decides it, and goes on. Killing it loses nothing: the jobs finish on their
 * workers, and the same command finds them (and the decided dates) and carries on.
 */
export async function runReplayOnFleet(config: Config, req: ReplayRequest, log: Logger, opts: ReplayRunOptions & { pollMs?: number } = {}): Promise<ReplayReport> {
  if (!config.redisUrl) throw new ConfigError('a replay on the fleet needs REDIS_URL');
  const actor = `replay@${hostname()}`;
  const ctx = await openReplayContext(config, req, { actor, logger: log, poolSize: 2 });
  const connection = createRedisConnection(config.redisUrl, 'producer', log);
  const queue = new Queue(QUEUES.train, { connection, prefix: config.queuePrefix });
  try {
    await ensureRedis(connection, config.redisUrl);
    const dates = retrainDates(req);
    const t0 = Date.now();
    await drive(
      ctx,
      req,
      async (runDate, symbols) => {
        const jobs = symbols.map((symbol) => ({ name: JOB_NAMES.replayDay, data: replayJob(req, ctx.id, symbol, runDate), opts: JOB_OPTIONS.replayDay(ctx.id, runDate, symbol, config.retry.train) }));
        await queue.addBulk(jobs);
        const failures = new Map<string, string>();
        for (;;) {
          if (opts.signal?.aborted) throw new EngineError('ABORTED', 'replay interrupted; run the same command to resume', { permanent: false });
          let pending = 0;
          failures.clear();
          for (const j of jobs) {
            const job = await queue.getJob(j.opts.jobId!);
            const state = job ? await job.getState() : 'missing';
            if (state === 'failed' || state === 'missing') failures.set(j.data.symbol, job?.failedReason ?? 'the job was removed');
            else if (state !== 'completed') pending++;
          }
          opts.onProgress?.({ phase: 'train', datesDone: dates.indexOf(runDate), dates: dates.length, jobsDone: jobs.length - pending, jobs: jobs.length, message: `${runDate}: ${jobs.length - pending}/${jobs.length} jobs finished` });
          if (pending === 0) return failures;
          await new Promise((r) => setTimeout(r, opts.pollMs ?? 1_000));
        }
      },
      { settings: config.falseDiscovery, actor, log, onProgress: opts.onProgress },
    );
    const ports = createTrainingPorts(config, { cacheDir: opts.cacheDir });
    return await replayReport(ctx, req, ports, { trainSeconds: (Date.now() - t0) / 1000, signal: opts.signal, onProgress: opts.onProgress });
  } finally {
    await queue.close();
    await connection.quit().catch(() => connection.disconnect());
    await ctx.close();
  }
}

export type { ReplayStep };
