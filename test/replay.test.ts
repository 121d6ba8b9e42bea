/**
 * `engine replay` (issue 18): the factory through history on a seeded market.
 * - positive control: a planted edge is published on every retrain date and, traded live by
 *   the consumer's Trader, realises a net edge consistent with what its gates predicted;
 * - negative control: the same market with the target permuted publishes nothing and
 *   trades nothing;
 * - no look-ahead: poisoning every candle after the last retrain date changes no model and
 *   no trade closed before it;
 * - the replay lives in its own registry namespace: production's models, log and live
 *   pointers stay empty; the same command resumes (nothing is trained again);
 * - on the fleet: one BullMQ job per (symbol, retrain date) with deterministic ids on a
 *   training worker (real Redis and PostgreSQL), the same books as in-process;
 * - the CLI refuses a bad request before any work (exit 2).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger, loadConfig, type CandleSeries } from '@engine/shared';
import { BUNDLE_FILES } from '@engine/model';
import { QUEUES, openReplayContext, replayId, resolveReplayRequest, runReplayHere, runReplayOnFleet, startTrainWorker, type ReplayReport, type ReplayRequest, type TrainWorker } from '@engine/fleet';
import { openRegistryContext } from '@engine/registry';
import { plantedMarket, type TrainConfigOverrides } from '@engine/training';
import { REPO_ROOT } from './support/paths';
import { candleCsvGz } from './support/candle-csv';
import { REDIS_URL, cleanUp, dropRedisPrefix, freshDatabase } from './support/fleet-harness';

jest.setTimeout(600_000);

const log = createLogger({ level: 'silent' });
const START = Date.UTC(2026, 0, 1);
const DAYS = 30;
/** Few, shallow trees on 10-day training windows: the planted edge does not need more (as the pipeline's own positive control). */
const FAST: TrainConfigOverrides = { walk_forward: { train_days: 10, test_days: 5, step_days: 5 }, model: { nEstimators: 30, maxDepth: 4 }, confidence_model: { nEstimators: 10 } };
/** Three retrain dates two days apart, 22-day windows (two 5-day folds each on the calendar grid), trading to day 29. */
const PLAN = { symbols: ['SYN/USDT'], from: '2026-01-24', to: '2026-01-29', retrainEveryDays: 2, windowDays: 22 };
const POISON_FROM = Date.UTC(2026, 0, 28);

/** The candles with every bar from `from` on replaced by another walk (still valid candles). */
function poisoned(c: CandleSeries, from: number): CandleSeries {
  const out = { ...c, open: Float64Array.from(c.open), high: Float64Array.from(c.high), low: Float64Array.from(c.low), close: Float64Array.from(c.close), volume: Float64Array.from(c.volume) };
  for (let i = 0; i < c.ts.length; i++) {
    if (c.ts[i]! < from) continue;
    const k = 1 + 0.3 * Math.sin(i / 7);
    out.open[i] = c.open[i]! * k;
    out.close[i] = c.close[i]! * k;
    out.high[i] = Math.max(out.open[i]!, out.close[i]!) * 1.001;
    out.low[i] = Math.min(out.open[i]!, out.close[i]!) * 0.999;
    out.volume[i] = c.volume[(i * 7919) % c.ts.length]!;
  }
  return out;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('engine replay', () => {
  let dir: string;
  let source: string;
  let poisonedSource: string;
  let here: ReplayReport;
  let req: ReplayRequest;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'engine-replay-'));
    const m = plantedMarket({ days: DAYS, seed: 3, start: START, symbol: 'SYN/USDT' });
    for (const [sub, c, r] of [
      ['planted', m.candles, m.reference],
      ['poisoned', poisoned(m.candles, POISON_FROM), poisoned(m.reference, POISON_FROM)],
    ] as const) {
      await mkdir(path.join(dir, sub), { recursive: true });
      await writeFile(path.join(dir, sub, 'SYNUSDT-1m.csv.gz'), candleCsvGz(c));
      await writeFile(path.join(dir, sub, 'BTCUSDT-1m.csv.gz'), candleCsvGz(r));
    }
    source = `csv:${path.join(dir, 'planted')}`;
    poisonedSource = `csv:${path.join(dir, 'poisoned')}`;
    req = resolveReplayRequest({ ...PLAN, source, training: FAST });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('planted edge: published on every retrain date, traded live with the edge its gates predicted; production untouched; resumable', async () => {
    const config = loadConfig({ ENGINE_DATA_DIR: path.join(dir, 'here') });
    here = await runReplayHere(config, req, log, { threads: 2 });
    expect(here.retrainDates).toEqual(['2026-01-24', '2026-01-26', '2026-01-28']);
    expect(here.days).toHaveLength(5);
    const sym = here.symbols[0]!;
    expect(sym.models.map((m) => m.verdict)).toEqual(['published', 'published', 'published']);
    // every published model traded while live; the factory's book is theirs
    expect(sym.models.every((m) => m.live.trades > 0)).toBe(true);
    expect(sym.books.factory.trades).toBe(sym.models.reduce((a, m) => a + m.live.trades, 0));
    expect(sym.books.factory.trades).toBeGreaterThan(100);
    expect(sym.books.factory.totalNetBps).toBeGreaterThan(0);
    expect(sym.books.factory.daily.reduce((a, v) => a + v, 0)).toBeCloseTo(sym.books.factory.totalNetBps, 6);
    expect(sym.books.no_trading.totalNetBps).toBe(0);
    // gates off = every model published: the same models here, so the same book
    expect(sym.books.gates_off.totalNetBps).toBeCloseTo(sym.books.factory.totalNetBps, 6);
    // the stated interval: realised vs predicted net bps per trade, |z| < 2.58 on both standard errors
    expect(here.edgeCheck.consistent).toBe(true);
    expect(here.edgeCheck.liveMeanBps!).toBeGreaterThan(5);
    expect(here.shrinkage.ratio!).toBeGreaterThan(0.5);
    expect(here.shrinkage.ratio!).toBeLessThan(1.5);
    expect(here.publications.published).toBeGreaterThan(here.publications.upper95ByChance);
    const ctx = await openReplayContext(config, req, { actor: 'test', logger: log });
    try {
      const steps = await ctx.steps();
      expect(steps.map((s) => [s.runDate, s.verdict, s.liveModelId === s.modelId])).toEqual([
        ['2026-01-24', 'published', true],
        ['2026-01-26', 'published', true],
        ['2026-01-28', 'published', true],
      ]);
      // the replay's trials are its own (source replay), in its namespace
      const trials = await ctx.trials.list('SYN/USDT', { includeControls: true });
      expect(trials.map((t) => [t.runDate, t.source])).toEqual([
        ['2026-01-24', 'replay'],
        ['2026-01-26', 'replay'],
        ['2026-01-28', 'replay'],
      ]);
      const m = (await ctx.registry.getModel(steps[0]!.modelId!))!;
      expect(m.createdAt).toBe('2026-01-24T02:00:00.000Z');
      expect(m.manifest.expires_at).toBe('2026-01-27T02:00:00.000Z');
      const events = await ctx.registry.events('SYN/USDT');
      expect(events.filter((e) => e.event === 'published')).toHaveLength(3);
    } finally {
      await ctx.close();
    }
    const prod = await openRegistryContext(config, { actor: 'test', logger: log });
    try {
      expect(await prod.registry.listModels()).toEqual([]);
      expect(await prod.registry.liveModels()).toEqual([]);
      expect(await prod.registry.events()).toEqual([]);
      expect(await prod.trials.list('SYN/USDT', { includeControls: true })).toEqual([]);
    } finally {
      await prod.close();
    }
    // Resume: the same request finds every decided day and trains nothing.
    const again = await runReplayHere(config, req, log, { threads: 2 });
    expect(again.symbols).toEqual(here.symbols);
    expect(again.seconds.train).toBeLessThan(5);
  });

  test('permuted target (negative control): nothing published, nothing traded', async () => {
    const config = loadConfig({ ENGINE_DATA_DIR: path.join(dir, 'permuted') });
    const r = await runReplayHere(config, resolveReplayRequest({ ...PLAN, source, training: { ...FAST, controls: { permute_target_seed: 7 } } }), log, { threads: 2 });
    expect(r.publications.published).toBeLessThanOrEqual(r.publications.upper95ByChance);
    expect(r.publications.published).toBe(0);
    expect(r.fleet.factory.trades).toBe(0);
    // shadow trading the rejected models: whatever they trade loses (at most the costs' worth)
    if (r.gatePrecision.rejected.trades > 0) expect(r.gatePrecision.rejected.meanNetBps!).toBeLessThan(5);
  });

  test('no look-ahead: candles after the last retrain date change no model and no trade closed before it', async () => {
    const config = loadConfig({ ENGINE_DATA_DIR: path.join(dir, 'poisoned-run') });
    const p = await runReplayHere(config, resolveReplayRequest({ ...PLAN, source: poisonedSource, training: FAST }), log, { threads: 2 });
    const a = here.symbols[0]!;
    const b = p.symbols[0]!;
    expect(b.models.map((m) => m.modelId)).toEqual(a.models.map((m) => m.modelId));
    expect(b.models.map((m) => m.gate)).toEqual(a.models.map((m) => m.gate));
    // the models' bytes too
    const ca = await openReplayContext(loadConfig({ ENGINE_DATA_DIR: path.join(dir, 'here') }), req, { actor: 'test', logger: log });
    const cb = await openReplayContext(config, resolveReplayRequest({ ...PLAN, source: poisonedSource, training: FAST }), { actor: 'test', logger: log });
    try {
      for (const m of a.models) {
        const [x, y] = [await ca.store.get((await ca.registry.getModel(m.modelId))!.location), await cb.store.get((await cb.registry.getModel(m.modelId))!.location)];
        const f = (bundle: typeof x) => sha(bundle.files.find((q) => q.name === BUNDLE_FILES.onnx)!.bytes);
        expect(f(y)).toBe(f(x));
      }
    } finally {
      await ca.close();
      await cb.close();
    }
    // the days before the poison are traded identically (exits by day: day k closes its trades)
    const before = here.days.findIndex((d) => d === '2026-01-28');
    expect(b.books.factory.daily.slice(0, before)).toEqual(a.books.factory.daily.slice(0, before));
    expect(b.books.factory.daily.slice(before)).not.toEqual(a.books.factory.daily.slice(before));
  });

  test('on the fleet: one job per (symbol, retrain date), deterministic ids, the same books, resumable', async () => {
    const prefix = `t-replay-${process.pid}-${Date.now()}`;
    const db = await freshDatabase('replay');
    const env = { REDIS_URL, DATABASE_URL: db.url, ENGINE_QUEUE_PREFIX: prefix, ENGINE_DATA_DIR: path.join(dir, 'fleet'), ENGINE_TRAIN_THREADS: '2', ENGINE_HEALTH_PORT: '0' };
    const config = loadConfig(env);
    let worker: TrainWorker | undefined;
    try {
      worker = await startTrainWorker(config, log, { env: { ...process.env, ...env } });
      const r = await runReplayOnFleet(config, req, log, { pollMs: 250 });
      expect(r.symbols).toEqual(here.symbols);
      const id = replayId(req);
      const queue = new Queue(QUEUES.train, { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix });
      try {
        const ids = (await queue.getJobs(['completed'])).map((j) => j.id).sort();
        expect(ids).toEqual(['2026-01-24', '2026-01-26', '2026-01-28'].map((d) => `replay-${id}-${d}-SYN-USDT`));
        const again = await runReplayOnFleet(config, req, log, { pollMs: 250 });
        expect(again.symbols).toEqual(r.symbols);
        expect((await queue.getJobs(['completed', 'waiting', 'active'])).length).toBe(3);
      } finally {
        await queue.close();
        await (queue.opts.connection as Redis).quit();
      }
      // production's tables in the fleet's database stay empty
      const prod = await openRegistryContext(config, { actor: 'test', logger: log });
      try {
        expect(await prod.registry.listModels()).toEqual([]);
        expect(await prod.registry.liveModels()).toEqual([]);
      } finally {
        await prod.close();
      }
    } finally {
      await cleanUp([() => worker?.close(), () => dropRedisPrefix(prefix), () => db.drop()]);
    }
  });

  test('the CLI refuses a bad request before any work (exit 2)', async () => {
    const run = promisify(execFile);
    const err = await run(process.execPath, [path.join(REPO_ROOT, 'apps/cli/dist/main.js'), 'replay', '--symbols', 'SYN/USDT', '--from', '2026-01-24', '--to', '2026-01-20', '--source', source], {
      env: { PATH: process.env.PATH ?? '', ENGINE_DATA_DIR: path.join(dir, 'cli') },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toMatch(/--to \(2026-01-20\) must be after --from/);
    const err2 = await run(process.execPath, [path.join(REPO_ROOT, 'apps/cli/dist/main.js'), 'replay', '--symbols', 'SYN/USDT', '--from', '2026-01-24', '--to', '2026-01-29', '--retrain-every', 'weekly', '--source', source], {
      env: { PATH: process.env.PATH ?? '', ENGINE_DATA_DIR: path.join(dir, 'cli') },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err2 as { code: number }).code).toBe(2);
    expect((err2 as { stderr: string }).stderr).toMatch(/--retrain-every must be a number of days such as 1d or 7d/);
  });
});
