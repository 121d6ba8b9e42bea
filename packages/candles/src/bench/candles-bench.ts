/**
 * `npm run bench:candles`: loading 150 days of BTC/USDT from the Arrow cache versus
 * parsing the CSV.gz, measured in the same run. Prints one JSON line per case and one
 * with the ratio of medians; exits 1 when the cache is less than 10× faster.
 *
 * Both cases produce the same thing: a validated 216,000-minute CandleSeries. The CSV
 * case streams the gzip through the hand-written parser (a fresh source each run, so
 * nothing is memoised); the cache case is `loadCandles` on a warm cache.
 *
 * Options: `--dir DIR` (default ENGINE_OHLCV_DIR or ../shared/data/ohlcv beside the
 * checkout), `--symbol`, `--days`, `--runs` (15), `--warmup` (3, not measured).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadConfig, parsePair, type CandleSeries } from '@engine/shared';
import { realCandleDir } from '../candle-file';
import { CsvSource } from '../csv-source';
import { loadCandles } from '../load-candles';
import { resolveWindow } from '../window';
import { sliceRawByTime } from '../raw-candles';
import { toMinuteGrid } from '../grid';
import { checkHistory } from '../validate';

const REQUIRED_RATIO = 10;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Full garbage collection between runs (both cases alike), so that one run's garbage is
 * not collected inside the next run's timing. Enabled at run time: `npm run` passes no flags.
 */
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** Wall time, and CPU time of the whole process (threads included: gunzip runs in the pool). */
async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  collectGarbage();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = await fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000, value };
}

function sameSeries(a: CandleSeries, b: CandleSeries): boolean {
  const cols = ['ts', 'open', 'high', 'low', 'close', 'volume'] as const;
  if (a.ts.length !== b.ts.length) return false;
  for (const k of cols) {
    const x = a[k];
    const y = b[k];
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
  }
  return true;
}

async function main(): Promise<void> {
  const dir = arg('dir') ?? realCandleDir(loadConfig());
  const symbol = arg('symbol') ?? 'BTC/USDT';
  const days = Number(arg('days') ?? 150);
  const runs = Math.max(3, Number(arg('runs') ?? 15));
  const warmup = Math.max(0, Number(arg('warmup') ?? 3));
  const pair = parsePair(symbol);
  const window = await resolveWindow({ days, source: new CsvSource(dir), symbol });
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'engine-candles-bench-'));
  try {
    const source = `csv:${dir}`;
    const first = await loadCandles({ symbol, start: window.start, end: window.end, source, cacheDir });
    if (first.summary.cache !== 'miss') throw new Error(`expected an empty cache first, got ${first.summary.cache}`);

    const parseCsv = async (): Promise<CandleSeries> => {
      const rows = await new CsvSource(dir).readAll(pair);
      const series = toMinuteGrid(pair.symbol, sliceRawByTime(rows, window.start, window.end), window.start, window.end);
      checkHistory(series, source);
      return series;
    };
    const fromCache = async (): Promise<CandleSeries> => {
      const r = await loadCandles({ symbol, start: window.start, end: window.end, source, cacheDir });
      if (r.summary.cache !== 'hit') throw new Error(`expected a cache hit, got ${r.summary.cache}`);
      return r.candles;
    };

    const csvMs: number[] = [];
    const cacheMs: number[] = [];
    const csvCpu: number[] = [];
    const cacheCpu: number[] = [];
    let csvSeries: CandleSeries | undefined;
    let cacheSeries: CandleSeries | undefined;
    // Unmeasured warm-up (JIT, allocator), then interleaved runs so that background load
    // on the machine hits both cases alike.
    for (let i = 0; i < warmup; i++) {
      await time(parseCsv);
      await time(fromCache);
    }
    for (let i = 0; i < runs; i++) {
      const a = await time(parseCsv);
      csvMs.push(a.ms);
      csvCpu.push(a.cpuMs);
      csvSeries = a.value;
      const b = await time(fromCache);
      cacheMs.push(b.ms);
      cacheCpu.push(b.cpuMs);
      cacheSeries = b.value;
    }
    if (!csvSeries || !cacheSeries || !sameSeries(csvSeries, cacheSeries)) throw new Error('cache and CSV disagree: the benchmark would compare different data');

    const base = { bench: 'candles', symbol: pair.symbol, days, rows: cacheSeries.ts.length, runs, warmup, window: { start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString() } };
    const line = (name: string, xs: number[], cpu: number[]): Record<string, unknown> => ({
      ...base,
      case: name,
      median_ms: round(median(xs)),
      min_ms: round(Math.min(...xs)),
      max_ms: round(Math.max(...xs)),
      cpu_median_ms: round(median(cpu)),
    });
    // The verdict is on wall time; the CPU-time ratio is printed beside it because on a
    // shared machine wall time also measures the neighbours.
    const ratio = median(csvMs) / median(cacheMs);
    const cpuRatio = median(csvCpu) / median(cacheCpu);
    process.stdout.write(`${JSON.stringify(line('csv-gz-parse', csvMs, csvCpu))}\n`);
    process.stdout.write(`${JSON.stringify(line('arrow-cache', cacheMs, cacheCpu))}\n`);
    process.stdout.write(`${JSON.stringify({ ...base, case: 'ratio', metric: 'csv_median_over_cache_median', ratio: round(ratio), cpu_ratio: round(cpuRatio), required: REQUIRED_RATIO, pass: ratio >= REQUIRED_RATIO })}\n`);
    if (ratio < REQUIRED_RATIO) process.exitCode = 1;
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`candles-bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
