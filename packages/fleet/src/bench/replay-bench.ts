#!/usr/bin/env node
/**
 * `npm run bench:replay`: how fast the factory replays, on the real candles (issue 18).
 *
 * 1. In this process, one symbol (default ETH/USDT, 150-day windows, production defaults)
 *    replayed with DAILY retraining over `--dates` consecutive days: the first date fits
 *    every fold (an empty fit cache: the cold daily run), the next ones reuse the folds
 *    they share with the day before (the warm daily run; target ≤ 5 s). Printed per date,
 *    then `daily` (cold, warm median) and `replay_180d`: one symbol × 180 days of daily
 *    retraining (target ≤ 15 min), EXTRAPOLATED from the measured dates — a cold run every
 *    28 days (the warm-up history's anchor moves), warm runs between, and the measured
 *    simulation time per day.
 * 2. On the fleet (real Redis and PostgreSQL, `apps/worker` processes): two symbols ×
 *    `--fleet-dates` daily retrain dates with 1 and then 2 training workers; per
 *    configuration the wall time and retrain jobs per hour, then `scaling_20x180`: 20
 *    symbols × 180 daily retrain dates on N workers, EXTRAPOLATED linearly from the
 *    measured throughput (labelled as such).
 *
 *   npm run bench:replay -- [--symbol ETH/USDT] [--dates 6] [--first 2026-07-03]
 *     [--fleet-symbols BTC/USDT,ETH/USDT] [--fleet-dates 3] [--fleet-first 2026-07-10]
 *     [--workers 1,2] [--threads 2] [--source csv:DIR] [--skip-fleet] [--redis URL] [--pg ADMIN_URL]
 *
 * Machine-readable: one JSON line per measurement.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { realCandleDir } from '@engine/candles';
import { DAY_MS, createLogger, formatUtcDay, loadConfig, parseUtcDay } from '@engine/shared';
import { createPgDb } from '@engine/registry';
import { QUEUES } from '../jobs';
import { resolveReplayRequest } from '../replay/plan';
import { runReplayHere, runReplayOnFleet, type ReplayProgress } from '../replay/run-replay';
import { HISTORY_ANCHOR_DAYS } from '../train-job';
import { spawnWorker, stop } from './bench-support';

interface Args {
  symbol: string;
  dates: number;
  first: string;
  fleetSymbols: string[];
  fleetDates: number;
  fleetFirst: string;
  workers: number[];
  threads: number;
  source: string;
  skipFleet: boolean;
  redis: string;
  pg: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    symbol: 'ETH/USDT',
    dates: 6,
    first: '2026-07-03',
    fleetSymbols: ['BTC/USDT', 'ETH/USDT'],
    fleetDates: 3,
    fleetFirst: '2026-07-10',
    workers: [1, 2],
    threads: 2,
    source: `csv:${realCandleDir(loadConfig())}`,
    skipFleet: false,
    redis: 'redis://127.0.0.1:6379',
    pg: 'postgres://postgres@127.0.0.1:5432/postgres',
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--skip-fleet') {
      a.skipFleet = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`option ${k} needs a value`);
    if (k === '--symbol') a.symbol = v;
    else if (k === '--dates') a.dates = Number(v);
    else if (k === '--first') a.first = v;
    else if (k === '--fleet-symbols') a.fleetSymbols = v.split(',');
    else if (k === '--fleet-dates') a.fleetDates = Number(v);
    else if (k === '--fleet-first') a.fleetFirst = v;
    else if (k === '--workers') a.workers = v.split(',').map(Number);
    else if (k === '--threads') a.threads = Number(v);
    else if (k === '--source') a.source = v;
    else if (k === '--redis') a.redis = v;
    else if (k === '--pg') a.pg = v;
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

const line = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify({ bench: 'replay', ...o })}\n`);
const r1 = (x: number): number => Math.round(x * 10) / 10;
const median = (xs: number[]): number => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Seconds each retrain date took (from one "decided" progress report to the next). */
function dateTimer(): { onProgress: (p: ReplayProgress) => void; seconds: number[] } {
  let last = Date.now();
  const seconds: number[] = [];
  return {
    seconds,
    onProgress: (p) => {
      if (p.phase === 'train' && p.message.endsWith(' decided')) {
        const now = Date.now();
        seconds.push((now - last) / 1000);
        last = now;
      }
    },
  };
}

async function inProcess(a: Args, dataDir: string): Promise<void> {
  const to = formatUtcDay(parseUtcDay(a.first) + a.dates * DAY_MS);
  const req = resolveReplayRequest({ symbols: [a.symbol], from: a.first, to, retrainEveryDays: 1, windowDays: 150, source: a.source });
  const config = loadConfig({ ENGINE_DATA_DIR: dataDir });
  const t = dateTimer();
  const t0 = Date.now();
  const report = await runReplayHere(config, req, createLogger({ level: 'warn' }), { threads: a.threads, onProgress: t.onProgress });
  const dates = report.retrainDates;
  dates.forEach((d, k) => line({ metric: 'daily_run', symbol: a.symbol, run_date: d, seconds: r1(t.seconds[k] ?? NaN), cache: k === 0 ? 'cold' : 'warm' }));
  const cold = t.seconds[0]!;
  const warm = median(t.seconds.slice(1));
  line({ metric: 'daily', symbol: a.symbol, window_days: 150, threads: a.threads, cold_s: r1(cold), warm_median_s: r1(warm), warm_target_s: 5, warm_meets_target: warm <= 5, measured_dates: dates.length });
  const simPerDay = report.seconds.simulate / report.days.length;
  const colds = Math.ceil(180 / HISTORY_ANCHOR_DAYS) + 1;
  const est = colds * cold + (180 - colds) * warm + 180 * simPerDay;
  line({ metric: 'replay_180d', symbol: a.symbol, extrapolated: true, from: `${dates.length} measured daily retrains (${formatUtcDay(parseUtcDay(a.first))} …)`, cold_runs: colds, warm_runs: 180 - colds, simulate_s_per_day: r1(simPerDay * 10) / 10, estimate_s: Math.round(est), target_s: 900, meets_target: est <= 900, measured_wall_s: r1((Date.now() - t0) / 1000) });
}

async function onFleet(a: Args, workers: number, dataDir: string): Promise<number> {
  const tag = `${process.pid}_${Date.now()}`;
  const dbName = `engine_bench_replay_${tag}`;
  const admin = createPgDb({ connectionString: a.pg });
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = new URL(a.pg);
  dbUrl.pathname = `/${dbName}`;
  const prefix = `bench-replay-${tag}`;
  const threads = Math.max(1, Math.floor(a.threads / workers));
  const env = { REDIS_URL: a.redis, DATABASE_URL: dbUrl.toString(), ENGINE_QUEUE_PREFIX: prefix, ENGINE_DATA_DIR: dataDir, ENGINE_WORKER_ROLE: 'train', ENGINE_TRAIN_THREADS: String(threads), LOG_LEVEL: 'warn' };
  const procs = Array.from({ length: workers }, (_, i) => spawnWorker({ ...env, LOG_LEVEL: 'info' }, `bench-replay-${i + 1}`));
  const redis = new Redis(a.redis, { maxRetriesPerRequest: null });
  try {
    await Promise.all(procs.map((p) => p.ready));
    const to = formatUtcDay(parseUtcDay(a.fleetFirst) + a.fleetDates * DAY_MS);
    const req = resolveReplayRequest({ symbols: a.fleetSymbols, from: a.fleetFirst, to, retrainEveryDays: 1, windowDays: 150, source: a.source });
    const t0 = Date.now();
    const report = await runReplayOnFleet(loadConfig(env), req, createLogger({ level: 'warn' }), { pollMs: 500 });
    const wallS = (Date.now() - t0) / 1000;
    const jobs = report.retrainDates.length * a.fleetSymbols.length;
    const perHour = (jobs / wallS) * 3600;
    line({ metric: 'fleet', workers, threads_per_worker: threads, symbols: a.fleetSymbols.length, retrain_dates: report.retrainDates.length, jobs, wall_s: r1(wallS), train_s: r1(report.seconds.train), simulate_s: r1(report.seconds.simulate), retrain_jobs_per_hour: Math.round(perHour), cpus: cpus().length });
    return perHour;
  } finally {
    await Promise.all(procs.map((p) => stop(p.child)));
    await new Queue(QUEUES.train, { connection: redis, prefix }).obliterate({ force: true }).catch(() => undefined);
    redis.disconnect();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.close();
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const dataDir = await mkdtemp(path.join(tmpdir(), 'engine-bench-replay-'));
  try {
    await inProcess(a, dataDir);
    if (a.skipFleet) return;
    const rates: { workers: number; perHour: number }[] = [];
    for (const n of a.workers) rates.push({ workers: n, perHour: await onFleet(a, n, dataDir) });
    const jobs = 20 * 180;
    const ref = rates[0]!;
    for (const r of rates) line({ metric: 'scaling_20x180', extrapolated: true, workers: r.workers, measured: true, estimate_hours: r1(jobs / r.perHour), speedup_vs_first: Math.round((r.perHour / ref.perHour) * 100) / 100 });
    // more workers (each on its own machine): linear in the per-worker throughput measured with the most workers
    const best = rates[rates.length - 1]!;
    for (const n of [5, 10, 20]) line({ metric: 'scaling_20x180', extrapolated: true, workers: n, measured: false, basis: `${best.workers} worker(s) on one ${cpus().length}-core machine`, estimate_hours: r1(jobs / ((best.perHour / best.workers) * n)) });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:replay: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
