#!/usr/bin/env node
/**
 * `npm run bench:fleet`: fleet throughput. Trains the same run (default: the 4 real
 * symbols, 150-day window, CSV source) with 1 and then 2 training-worker processes on the
 * real Redis and PostgreSQL, and prints one JSON line per configuration (wall time,
 * symbols per hour) and a last line with the speed-up of 2 workers over 1 (the reference,
 * measured in the same run). Candles are loaded into the shared cache first, so both
 * configurations time training, not CSV parsing.
 *
 *   npm run bench:fleet -- [--symbols BTC/USDT,…] [--days 150] [--date 2026-07-17]
 *     [--workers 1,2] [--threads 1] [--source csv:DIR] [--training JSON] [--redis URL] [--pg ADMIN_URL]
 *
 * `--threads` is ENGINE_TRAIN_THREADS of each worker (default 1, so the speed-up measures
 * process scaling; 0 lets every worker use every core). `--training` overrides the training
 * defaults (a quick check); the reported figure uses the defaults.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadCandles, realCandleDir } from '@engine/candles';
import { DAY_MS, createLogger, loadConfig, parseUtcDay } from '@engine/shared';
import { QUEUES, jobIds } from '../jobs';
import { createPgDb } from '@engine/registry';
import { closeRunProducer, openRunProducer } from '../scheduler';
import { startRun } from '../run';
import { spawnWorker, stop } from './bench-support';


interface Args {
  symbols: string[];
  days: number;
  date: string;
  workers: number[];
  threads: number;
  source: string;
  redis: string;
  pg: string;
  training?: Record<string, unknown>;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    symbols: ['BTC/USDT', 'ETH/USDT', 'SUI/USDT', 'TAO/USDT'],
    days: 150,
    date: '2026-07-17',
    workers: [1, 2],
    threads: 1,
    source: `csv:${realCandleDir(loadConfig())}`,
    redis: 'redis://127.0.0.1:6379',
    pg: 'postgres://postgres@127.0.0.1:5432/postgres',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`option ${k} needs a value`);
    if (k === '--symbols') a.symbols = v.split(',');
    else if (k === '--days') a.days = Number(v);
    else if (k === '--date') a.date = v;
    else if (k === '--workers') a.workers = v.split(',').map(Number);
    else if (k === '--threads') a.threads = Number(v);
    else if (k === '--source') a.source = v;
    else if (k === '--training') a.training = JSON.parse(v) as Record<string, unknown>;
    else if (k === '--redis') a.redis = v;
    else if (k === '--pg') a.pg = v;
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

async function measure(a: Args, workers: number, dataDir: string): Promise<Record<string, unknown>> {
  const tag = `${process.pid}_${Date.now()}`;
  const dbName = `engine_bench_${tag}`;
  const admin = createPgDb({ connectionString: a.pg });
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = new URL(a.pg);
  dbUrl.pathname = `/${dbName}`;
  const prefix = `bench-fleet-${tag}`;
  const env = {
    REDIS_URL: a.redis,
    DATABASE_URL: dbUrl.toString(),
    ENGINE_QUEUE_PREFIX: prefix,
    ENGINE_DATA_DIR: dataDir,
    ENGINE_WORKER_ROLE: 'train',
    ENGINE_TRAIN_THREADS: String(a.threads),
    LOG_LEVEL: 'info',
  };
  const procs = Array.from({ length: workers }, (_, i) => spawnWorker(env, `bench-${i + 1}`));
  const redis = new Redis(a.redis, { maxRetriesPerRequest: null });
  const producer = openRunProducer(redis, prefix);
  const train = new Queue(QUEUES.train, { connection: redis, prefix });
  try {
    await Promise.all(procs.map((p) => p.ready));
    const t0 = Date.now();
    await startRun(producer, { runDate: a.date, symbols: a.symbols, source: a.source, windowDays: a.days, trigger: 'manual', retry: { attempts: 1, backoffMs: 1_000 }, training: a.training }, createLogger({ level: 'warn' }));
    const ids = a.symbols.map((s) => jobIds.train(a.date, s));
    const states: Record<string, string> = {};
    for (;;) {
      for (const id of ids) states[id] = (await (await train.getJob(id))?.getState()) ?? 'missing';
      if (ids.every((id) => states[id] === 'completed' || states[id] === 'failed')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const wallS = (Date.now() - t0) / 1000;
    const jobs = await Promise.all(ids.map((id) => train.getJob(id)));
    const perJob = jobs.map((j) => ({ id: j!.id, by: j!.processedBy, s: ((j!.finishedOn ?? 0) - (j!.processedOn ?? 0)) / 1000, state: states[j!.id!], reason: j!.failedReason }));
    const completed = perJob.filter((j) => j.state === 'completed').length;
    return { bench: 'fleet', workers, symbols: a.symbols.length, completed, windowDays: a.days, threadsPerWorker: a.threads, training: a.training ?? 'defaults', cpus: cpus().length, wallS: Math.round(wallS * 10) / 10, symbolsPerHour: Math.round((completed / wallS) * 3600 * 10) / 10, jobs: perJob };
  } finally {
    await Promise.all(procs.map((p) => stop(p.child)));
    await train.obliterate({ force: true }).catch(() => undefined);
    await producer.runQueue.obliterate({ force: true }).catch(() => undefined);
    await new Queue(QUEUES.sync, { connection: redis, prefix }).obliterate({ force: true }).catch(() => undefined);
    await train.close();
    await closeRunProducer(producer);
    redis.disconnect();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.close();
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const dataDir = await mkdtemp(path.join(tmpdir(), 'engine-bench-fleet-'));
  try {
    // Warm the candle cache both configurations share (and the BTC/USDT reference).
    const end = parseUtcDay(a.date);
    for (const symbol of new Set([...a.symbols, 'BTC/USDT'])) {
      await loadCandles({ symbol, start: end - a.days * DAY_MS, end, source: a.source, cacheDir: path.join(dataDir, 'candles') });
    }
    const results: Record<string, unknown>[] = [];
    for (const n of a.workers) {
      const r = await measure(a, n, dataDir);
      results.push(r);
      process.stdout.write(`${JSON.stringify(r)}\n`);
    }
    const ref = results[0];
    for (const r of results.slice(1)) {
      process.stdout.write(`${JSON.stringify({ bench: 'fleet', metric: 'speedup', reference: `${ref!.workers} worker(s)`, workers: r.workers, speedup: Math.round(((ref!.wallS as number) / (r.wallS as number)) * 100) / 100 })}\n`);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:fleet: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
