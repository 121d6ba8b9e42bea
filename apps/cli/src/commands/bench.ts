import { closeSync, fstatSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError, DataError } from '@engine/shared';
import { GbdtThreadPool, rowMajorMatrix, trainGbdt, type GbdtParams } from '@engine/gbdt';

/**
 * The anchors' `xgb` configuration (../shared/anchors/gbdt_bench.py): 300 trees, depth 6
 * depth-wise, learning rate 0.05, 255 bins, subsample 0.8, colsample 0.8, at least 20 rows
 * (hessian 20) per child, λ = 1, base score = mean target.
 */
export const ANCHOR_XGB_PARAMS: Partial<GbdtParams> = {
  objective: 'squared_error',
  nEstimators: 300,
  learningRate: 0.05,
  growPolicy: 'depthwise',
  maxDepth: 6,
  numLeaves: 64,
  maxBins: 255,
  baggingFraction: 0.8,
  featureFraction: 0.8,
  minDataInLeaf: 20,
  lambdaL2: 1,
  minGainToSplit: 0,
  seed: 0,
};

interface Interchange {
  X: Float32Array;
  y: Float32Array;
  rows: number;
  features: number;
  trainRows: number;
  featureNames: string[];
}

/**
 * Reads a float32 file straight into shared memory: the trainer's threads then bin the
 * matrix in parallel, and no second copy of it is ever made.
 */
function readF32(file: string): Float32Array {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size % 4 !== 0) throw new DataError('INTERCHANGE_INVALID', `${file} has ${size} bytes, not a whole number of float32 values`);
    const bytes = new Uint8Array(new SharedArrayBuffer(Math.max(4, size)), 0, size);
    for (let off = 0; off < size; ) {
      const got = readSync(fd, bytes, off, Math.min(size - off, 1 << 26), off);
      if (got <= 0) throw new DataError('INTERCHANGE_INVALID', `${file}: unexpected end of file at byte ${off} of ${size}`);
      off += got;
    }
    return new Float32Array(bytes.buffer, 0, size / 4);
  } finally {
    closeSync(fd);
  }
}

/** Reads a gbdt_bench.py interchange folder (X.f32 row-major, y.f32, meta.json). */
export function readInterchange(dir: string): Interchange {
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { rows: number; features: number; train_rows: number; feature_names?: string[] };
  const { rows, features, train_rows: trainRows } = meta;
  const X = readF32(path.join(dir, 'X.f32'));
  const y = readF32(path.join(dir, 'y.f32'));
  if (X.length !== rows * features) throw new DataError('INTERCHANGE_INVALID', `${dir}/X.f32 has ${X.length} values; meta.json says ${rows} x ${features}`);
  if (y.length !== rows) throw new DataError('INTERCHANGE_INVALID', `${dir}/y.f32 has ${y.length} values; meta.json says ${rows} rows`);
  if (!(trainRows > 0 && trainRows < rows)) throw new DataError('INTERCHANGE_INVALID', `meta.json train_rows ${trainRows} must be in (0, ${rows})`);
  const featureNames = meta.feature_names ?? Array.from({ length: features }, (_, f) => `f${f}`);
  return { X, y, rows, features, trainRows, featureNames };
}

function median(a: number[]): number {
  const s = [...a].sort((p, q) => p - q);
  return s[s.length >> 1] ?? NaN;
}

/**
 * `engine bench gbdt-ext DATA_DIR PRED_FILE [THREADS]`: the external-trainer side of
 * gbdt_bench.py. Trains our GBDT with the anchors' xgb settings on the training rows, writes
 * the test rows' predictions (float32 LE) and prints one JSON line with the timings.
 */
async function gbdtExt(dataDir: string, predFile: string, threadsArg: string | undefined, opts: { params?: string }): Promise<void> {
  const threads = threadsArg === undefined ? undefined : Number(threadsArg);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new ConfigError(`THREADS must be a whole number >= 1, got '${threadsArg}'`);
  let overrides: Partial<GbdtParams> = {};
  if (opts.params !== undefined) {
    try {
      overrides = JSON.parse(opts.params) as Partial<GbdtParams>;
    } catch (err) {
      throw new ConfigError(`--params must be a JSON object of GBDT parameters: ${(err as Error).message}`);
    }
  }
  const d = readInterchange(dataDir);
  const F = d.features;
  const k = d.trainRows;
  const xTrain = rowMajorMatrix(d.X.subarray(0, k * F), k, F);
  const xTest = rowMajorMatrix(d.X.subarray(k * F), d.rows - k, F);
  const params = { ...ANCHOR_XGB_PARAMS, ...overrides };

  let t0 = performance.now();
  const model = await trainGbdt({ x: xTrain, y: d.y.subarray(0, k), featureNames: d.featureNames }, params, { threads });
  const trainS = (performance.now() - t0) / 1000;

  // batch prediction on the same thread count: one warm-up, then the median of 5
  const pool = await GbdtThreadPool.create(threads ?? 1);
  const pred = new Float64Array(d.rows - k);
  const predTimes: number[] = [];
  try {
    for (let r = 0; r < 6; r++) {
      t0 = performance.now();
      await pool.predict(model, xTest, pred);
      if (r > 0) predTimes.push((performance.now() - t0) / 1000);
    }
  } finally {
    await pool.close();
  }
  const predictS = median(predTimes);
  writeFileSync(predFile, new Uint8Array(Float32Array.from(pred).buffer));

  const lat: number[] = [];
  const nLat = Math.min(300, d.rows - k);
  for (let i = 0; i < nLat; i++) {
    const row = d.X.subarray((k + i) * F, (k + i + 1) * F);
    const s = process.hrtime.bigint();
    model.predictRow(row);
    lat.push(Number(process.hrtime.bigint() - s) / 1000);
  }
  const fitted = model.predict(xTrain);
  let se = 0;
  for (let i = 0; i < k; i++) se += (fitted[i]! - d.y[i]!) ** 2;

  process.stdout.write(
    `${JSON.stringify({
      library: `engine-gbdt (node ${process.version})`,
      train_s: trainS,
      predict_s: predictS,
      predict_s_stat: 'median of 5 after a warm-up',
      predict_1row_us: median(lat),
      n_leaves_total: model.totalLeaves,
      train_rmse: Math.sqrt(se / k),
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
      threads: threads ?? null,
      params,
    })}\n`,
  );
}

/** `engine bench …`: benchmark helpers that speak the reference harnesses' formats. */
export function registerBenchCommands(program: Command): void {
  const bench = program.command('bench').description('benchmark helpers (external-trainer side of the reference harnesses)');
  bench
    .command('gbdt-ext')
    .description("train the GBDT on a gbdt_bench.py interchange folder with the anchors' xgb settings; write test predictions; print one JSON line")
    .argument('<dataDir>', 'folder with X.f32, y.f32, meta.json')
    .argument('<predFile>', 'where to write the test rows\' predictions (float32 LE)')
    .argument('[threads]', 'threads (default: every core)')
    .option('--params <json>', 'GBDT parameter overrides, e.g. \'{"nEstimators":100}\'')
    .action(gbdtExt);
}
