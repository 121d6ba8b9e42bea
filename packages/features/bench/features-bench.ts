/**
 * `npm run bench:features`: the FeatureRecipe on 150 days (216 000 one-minute rows) of one
 * symbol with its BTC context, from the real data, against the pandas reference script on
 * the same rows in the same run. Prints one JSON line per measurement.
 *
 *   node packages/features/dist/bench/features-bench.js [--symbol ETH/USDT] [--days 150] [--repeat 5]
 *
 * Reads the real candles from ENGINE_OHLCV_DIR (default ../shared/data/ohlcv beside the
 * checkout) with @engine/candles' readCandleFile: a program beside the package, so the
 * library itself stays free of I/O and of @engine/candles.
 *
 * Targets (issue 3): whole recipe in batch ≤ 1 s; streaming update ≤ 20 µs median;
 * the textbook subset ≥ 3× faster than pandas.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { candleFilePath, readCandleFile, realCandleDir } from '@engine/candles';
import { buildFeatures, type CandleInput, type FeatureName, FeatureState, RECIPE, referenceSymbolFor } from '@engine/features';
import { loadConfig, sliceCandles } from '@engine/shared';

/** The textbook indicators reference.py times as its "subset" (same list there). */
const TEXTBOOK: FeatureName[] = [
  'ret_1', 'ret_3', 'ret_5', 'zscore_ret_1', 'zscore_ret_3', 'zscore_ret_5',
  'ema_5', 'ema_8', 'ema_21', 'ema_34', 'ema_diff_5_21', 'ema_diff_8_34',
  'adx', 'atr', 'rsi_7', 'rsi_14', 'bb_upper', 'bb_lower', 'bb_width', 'mean_rev',
  'realized_sigma_30', 'realized_sigma_60', 'vol_regime', 'kurt', 'btc_beta',
];

const SYSTEM_PYTHON = '/usr/bin/python3';
const SCRIPT = path.resolve(__dirname, '..', '..', 'reference', 'reference.py');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function emit(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ bench: 'features', ...record })}\n`);
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Wall and CPU milliseconds of each of `repeat` runs. */
function timeRuns(repeat: number, fn: () => void): { wall: number[]; cpu: number[] } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function main(): void {
  const symbol = arg('symbol', 'ETH/USDT');
  const days = Number(arg('days', '150'));
  const repeat = Number(arg('repeat', '5'));
  const refSymbol = referenceSymbolFor(symbol);
  const rows = days * 1440;
  const dir = realCandleDir(loadConfig());
  const coinFile = candleFilePath(dir, symbol);
  const refFile = candleFilePath(dir, refSymbol);
  const coinAll = readCandleFile(coinFile, symbol);
  const refAll = readCandleFile(refFile, refSymbol);
  if (coinAll.ts.length < rows) throw new Error(`${coinFile} has ${coinAll.ts.length} rows, fewer than ${days} days (${rows})`);
  const start = coinAll.ts.length - rows; // the most recent `days` days
  const candles = sliceCandles(coinAll, start, start + rows);
  const reference = sliceCandles(refAll, start, start + rows);
  const common = { symbol, reference: refSymbol, rows, features: RECIPE.names.length, node: process.version };

  // Batch, whole recipe: the first call (cold JIT) and the best of `repeat` warm calls.
  const full = timeRuns(repeat + 1, () => buildFeatures(candles, { reference }));
  const fullBest = Math.min(...full.wall.slice(1));
  emit({
    metric: 'batch_full',
    ...common,
    first_ms: round(full.wall[0]),
    best_ms: round(fullBest),
    median_ms: round(median(full.wall.slice(1))),
    cpu_best_ms: round(Math.min(...full.cpu.slice(1))),
    rows_per_s: Math.round(rows / (fullBest / 1000)),
    target_ms: 1000,
    pass: fullBest <= 1000,
  });

  // Batch, the textbook subset timed against pandas.
  const sub = timeRuns(repeat + 1, () => buildFeatures(candles, { reference }, { features: TEXTBOOK }));
  const subBest = Math.min(...sub.wall.slice(1));
  const subCpu = Math.min(...sub.cpu.slice(1));
  emit({ metric: 'batch_subset', ...common, features: TEXTBOOK.length, first_ms: round(sub.wall[0]), best_ms: round(subBest), cpu_best_ms: round(subCpu), rows_per_s: Math.round(rows / (subBest / 1000)) });

  // Streaming: every candle through FeatureState.update, each call timed.
  const inputs: CandleInput[] = [];
  const refInputs: CandleInput[] = [];
  for (let i = 0; i < rows; i++) {
    inputs.push({ ts: candles.ts[i], open: candles.open[i], high: candles.high[i], low: candles.low[i], close: candles.close[i], volume: candles.volume[i] });
    refInputs.push({ ts: reference.ts[i], open: reference.open[i], high: reference.high[i], low: reference.low[i], close: reference.close[i], volume: reference.volume[i] });
  }
  const perCall = new Float64Array(rows);
  const state = new FeatureState(symbol, refSymbol);
  const s0 = process.hrtime.bigint();
  for (let i = 0; i < rows; i++) {
    const t0 = process.hrtime.bigint();
    state.update(inputs[i], refInputs[i]);
    perCall[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const streamTotalMs = Number(process.hrtime.bigint() - s0) / 1e6;
  const sorted = Float64Array.from(perCall).sort();
  const q = (p: number): number => sorted[Math.min(rows - 1, Math.floor(p * rows))];
  emit({
    metric: 'stream_update',
    ...common,
    median_us: round(q(0.5), 3),
    p90_us: round(q(0.9), 3),
    p99_us: round(q(0.99), 3),
    max_us: round(sorted[rows - 1], 1),
    mean_us: round((streamTotalMs * 1000) / rows, 3),
    target_median_us: 20,
    pass: q(0.5) <= 20,
  });

  // pandas on the same rows, in the same run (CSV loading not timed there either).
  if (!existsSync(SYSTEM_PYTHON)) {
    emit({ metric: 'pandas_ratio', ...common, skipped: `${SYSTEM_PYTHON} not found` });
    return;
  }
  const run = spawnSync(
    SYSTEM_PYTHON,
    [SCRIPT, '--coin', coinFile, '--ref', refFile, '--start', String(start), '--rows', String(rows), '--time', '--repeat', String(Math.max(3, repeat - 2))],
    { encoding: 'utf8', timeout: 600_000 },
  );
  if (run.status !== 0) {
    emit({ metric: 'pandas_ratio', ...common, skipped: `reference.py failed (${run.status}): ${run.stderr.trim().split('\n').pop()}` });
    process.exitCode = 1;
    return;
  }
  const py = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
    subset_ms: number;
    all_ms: number;
    subset_cpu_ms: number;
    all_cpu_ms: number;
    subset: string[];
    pandas: string;
  };
  if (py.subset.join() !== TEXTBOOK.join()) throw new Error('reference.py SUBSET differs from the bench TEXTBOOK list');
  const ratio = py.subset_ms / subBest;
  emit({
    metric: 'pandas_ratio',
    ...common,
    features: TEXTBOOK.length,
    pandas: py.pandas,
    pandas_subset_ms: round(py.subset_ms),
    ours_subset_ms: round(subBest),
    ratio: round(ratio),
    ratio_cpu: round(py.subset_cpu_ms / subCpu),
    pandas_all_ms: round(py.all_ms),
    ours_all_ms: round(fullBest),
    ratio_all: round(py.all_ms / fullBest),
    ratio_all_cpu: round(py.all_cpu_ms / Math.min(...full.cpu.slice(1))),
    target_ratio: 3,
    pass: ratio >= 3,
  });
}

main();
