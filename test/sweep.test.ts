/**
 * `engine sweep` with its controls (a new search dimension shows both):
 * - positive control: a seeded market with a planted edge; the sweep's real points pass the
 *   daily gates AND the deflated Sharpe at the symbol's true trial count, every point in
 *   the ledger;
 * - negative control: the same market with the target permuted, as a grid point: recorded
 *   as a control (never counted as a trial) and failing;
 * - on one machine (PGlite) and on the fleet (a training worker on the real Redis and
 *   PostgreSQL, one job per point with deterministic ids: a rerun adds nothing and ranks
 *   the same);
 * - the CLI refuses a bad grid before any work (exit 2, naming the point).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger, formatUtcDay, loadConfig } from '@engine/shared';
import { QUEUES, expandGrid, runSweepHere, runSweepOnFleet, startTrainWorker, sweepId, type SweepRequest, type TrainWorker } from '@engine/fleet';
import { openRegistryContext } from '@engine/registry';
import { plantedMarket, type TrainConfigOverrides } from '@engine/training';
import { REPO_ROOT } from './support/paths';
import { candleCsvGz } from './support/candle-csv';
import { REDIS_URL, cleanUp, dropRedisPrefix, freshDatabase } from './support/fleet-harness';

jest.setTimeout(600_000);

const log = createLogger({ level: 'silent' });
const START = Date.UTC(2026, 0, 1);
const DAYS = 90;
const RUN_DATE = formatUtcDay(START + DAYS * 86_400_000);
/** Few, shallow trees: finding the planted edge does not need more (as the pipeline's own positive control). */
const FAST: TrainConfigOverrides = { walk_forward: { train_days: 10, test_days: 5, step_days: 5 }, model: { nEstimators: 40, maxDepth: 4 }, confidence_model: { nEstimators: 10 } };
const GRID = {
  base: FAST,
  axes: { 'model.maxDepth': [3, 4], 'controls.permute_target_seed': [null, 12345] },
};

describe('engine sweep', () => {
  let dir: string;
  let source: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'engine-sweep-'));
    const m = plantedMarket({ days: DAYS, seed: 1, start: START, symbol: 'SYN/USDT' });
    await writeFile(path.join(dir, 'SYNUSDT-1m.csv.gz'), candleCsvGz(m.candles));
    await writeFile(path.join(dir, 'BTCUSDT-1m.csv.gz'), candleCsvGz(m.reference));
    source = `csv:${dir}`;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a grid expands to checked points; a typo names the point', () => {
    const points = expandGrid(GRID);
    expect(points).toHaveLength(4);
    expect(points.map((p) => [p.model?.maxDepth, p.controls?.permute_target_seed])).toEqual([[3, null], [3, 12345], [4, null], [4, 12345]]);
    expect(() => expandGrid({ points: [FAST, { model: { nEstimatorz: 5 } }] })).toThrow(/sweep grid point 1/);
    expect(() => expandGrid({ axes: { 'labels.horizon_minutes': [] } })).toThrow(/non-empty array/);
    expect(() => expandGrid({})).toThrow(/no points/);
    const req: SweepRequest = { symbols: ['SYN/USDT'], runDate: RUN_DATE, windowDays: DAYS, source, points };
    expect(sweepId(req)).toBe(sweepId({ ...req, symbols: ['SYN/USDT'] }));
    expect(sweepId(req)).not.toBe(sweepId({ ...req, points: points.slice(1) }));
  });

  test('on one machine: the planted edge passes at its true trial count, the permuted target is a failing control', async () => {
    const dataDir = path.join(dir, 'single');
    const config = loadConfig({ ENGINE_DATA_DIR: dataDir });
    const req: SweepRequest = { symbols: ['SYN/USDT'], runDate: RUN_DATE, windowDays: DAYS, source, points: expandGrid(GRID) };
    const report = await runSweepHere(config, req, log, { threads: 2 });
    expect(report.failed).toEqual([]);
    expect(report.rows).toHaveLength(4);
    const real = report.rows.filter((r) => !r.training.controls?.permute_target_seed);
    const controls = report.rows.filter((r) => r.training.controls?.permute_target_seed);
    // The positive control: both real points pass the gates and the DSR at N = 2 (controls are not trials).
    for (const r of real) {
      expect(r.verdict).toBe('pass');
      expect(r.n).toBe(2);
      expect(r.dsr).toBeGreaterThanOrEqual(0.95);
    }
    // The negative control: recorded, not counted, failing.
    for (const r of controls) {
      expect(r.passed).toBe(false);
      expect(r.verdict).toBe('control (not a trial)');
    }
    // Ranked: best DSR first; the controls last.
    expect(report.rows.slice(0, 2).every((r) => !r.training.controls?.permute_target_seed)).toBe(true);
    // Every point is in the ledger, once; a rerun records nothing new and ranks the same.
    const again = await runSweepHere(config, req, log, { threads: 2 });
    expect(again.rows.map((r) => [r.point, r.dsr])).toEqual(report.rows.map((r) => [r.point, r.dsr]));
    const reg = await openRegistryContext(config, { actor: 'test', logger: log });
    try {
      const trials = await reg.trials.list('SYN/USDT', { includeControls: true });
      expect(trials).toHaveLength(4);
      expect(trials.every((t) => t.source === 'sweep')).toBe(true);
      expect(trials.filter((t) => t.isControl)).toHaveLength(2);
      // A sweep never records or publishes a model.
      expect(await reg.registry.listModels()).toEqual([]);
    } finally {
      await reg.close();
    }
  });

  test('on the fleet: one job per point, deterministic ids, resumable', async () => {
    const prefix = `t-sweep-${process.pid}-${Date.now()}`;
    const db = await freshDatabase('sweep');
    const env = { REDIS_URL, DATABASE_URL: db.url, ENGINE_QUEUE_PREFIX: prefix, ENGINE_DATA_DIR: path.join(dir, 'fleet'), ENGINE_TRAIN_THREADS: '2', ENGINE_HEALTH_PORT: '0' };
    const config = loadConfig(env);
    let worker: TrainWorker | undefined;
    try {
      // The job threads read their configuration from this environment, as in a pod.
      worker = await startTrainWorker(config, log, { env: { ...process.env, ...env } });
      const req: SweepRequest = { symbols: ['SYN/USDT'], runDate: RUN_DATE, windowDays: DAYS, source, points: expandGrid({ points: [FAST, { ...FAST, controls: { permute_target_seed: 7 } }] }) };
      const report = await runSweepOnFleet(config, req, log, { pollMs: 250 });
      expect(report.failed).toEqual([]);
      expect(report.rows.map((r) => [r.point, r.verdict])).toEqual([[0, 'pass'], [1, 'control (not a trial)']]);
      const queue = new Queue(QUEUES.train, { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix });
      try {
        const ids = (await queue.getJobs(['completed'])).map((j) => j.id).sort();
        expect(ids).toEqual([`sweep-${report.sweepId}-SYN-USDT-0`, `sweep-${report.sweepId}-SYN-USDT-1`]);
        // Rerun: the jobs are found, nothing is added or retrained, the ranking is the same.
        const again = await runSweepOnFleet(config, req, log, { pollMs: 250 });
        expect(again.rows).toEqual(report.rows);
        expect((await queue.getJobs(['completed', 'waiting', 'active'])).length).toBe(2);
      } finally {
        await queue.close();
        await (queue.opts.connection as Redis).quit();
      }
    } finally {
      await cleanUp([() => worker?.close(), () => dropRedisPrefix(prefix), () => db.drop()]);
    }
  });

  test('the CLI refuses a bad grid before any work (exit 2, naming the point)', async () => {
    const run = promisify(execFile);
    const err = await run(process.execPath, [path.join(REPO_ROOT, 'apps/cli/dist/main.js'), 'sweep', '--symbols', 'SYN/USDT', '--source', source, '--grid', '{"points":[{"model":{"maxDepth":4}},{"labels":{"horizon":5}}]}'], {
      env: { PATH: process.env.PATH ?? '', ENGINE_DATA_DIR: path.join(dir, 'cli') },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toMatch(/sweep grid point 1/);
    expect((err as { stderr: string }).stderr).not.toMatch(/at .*\.js/);
  });
});
