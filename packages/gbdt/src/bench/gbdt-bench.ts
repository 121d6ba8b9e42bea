/**
 * `npm run bench:gbdt`: our GBDT against XGBoost, LightGBM and scikit-learn, in one gbdt_bench.py run.
 *
 * 1. Generates make_synth.py's data sets (150 days by default, and the high-signal variant
 *    `--alpha 3 --df-eps 30`) in a work folder outside the repo (default /tmp/engine-gbdt-bench).
 * 2. Runs `gbdt_bench.py bench` with `--libs xgb,lgbm,hgb` and our trainer as the external `ts`
 *    (`engine bench gbdt-ext`), same warm-up, repeats and thread count; prints its table.
 *    LightGBM runs under its own interpreter (--lgbm-python, default $LGBM_PYTHON, else the
 *    venv of the anchors' setup_lgbm.sh); without one that imports lightgbm it is skipped,
 *    with a line saying so. Every library's raw JSON line is appended to WORK/results.jsonl.
 * 3. Prints one JSON line per target: time, RMSE, Pearson and memory against XGBoost; time and
 *    RMSE against the better of XGBoost and LightGBM (`*_vs_best`); the
 *    correlation of our predictions with sklearn's on the high-signal set; in-process batch
 *    throughput (the thread pool on --threads, the WebAssembly kernel on one thread, and
 *    its speed-up over the JavaScript kernel, measured round-robin in one process; plus the
 *    ratio to XGBoost's predict rows/s from the same gbdt_bench.py run), single-row latency,
 *    and onnxruntime parity of the exported model.
 *
 * Options: --days N (150) --threads N (2) --repeats N (3) --warmup N (1) --work DIR
 *          --lgbm-python PATH --skip-high-signal --skip-inprocess
 * Needs: Debian's /usr/bin/python3 with xgboost, sklearn, numpy, scipy; the built CLI.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { exportOnnx } from '../onnx';
import { rowMajorMatrix } from '../matrix';
import { GbdtThreadPool } from '../thread-pool';
import { trainGbdt } from '../train';
import { ANCHORS, PYTHON, REPO_ROOT, ensureData, median, metricLine, readF32 } from './bench-data';

const CLI = path.join(REPO_ROOT, 'apps', 'cli', 'dist', 'main.js');

interface Args {
  days: number;
  threads: number;
  repeats: number;
  warmup: number;
  work: string;
  highSignal: boolean;
  inProcess: boolean;
  /** Interpreter with lightgbm (see setup_lgbm.sh). */
  lgbmPython: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    days: 150,
    threads: 2,
    repeats: 3,
    warmup: 1,
    work: '/tmp/engine-gbdt-bench',
    highSignal: true,
    inProcess: true,
    lgbmPython: process.env.LGBM_PYTHON ?? '/tmp/engine-anchors-venv/bin/python',
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--days') a.days = Number(v());
    else if (k === '--threads') a.threads = Number(v());
    else if (k === '--repeats') a.repeats = Number(v());
    else if (k === '--warmup') a.warmup = Number(v());
    else if (k === '--work') a.work = v();
    else if (k === '--lgbm-python') a.lgbmPython = v();
    else if (k === '--skip-high-signal') a.highSignal = false;
    else if (k === '--skip-inprocess') a.inProcess = false;
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

type Row = Record<string, unknown> & { lib: string };

const num = (r: Row, k: string): number => Number(r[k]);

/** gbdt_bench.py bench with our external trainer; returns its JSON lines (its table goes to stdout). */
/** Whether `python` exists and imports lightgbm (else gbdt_bench.py would fail on `lgbm`). */
function lightgbmAvailable(python: string): boolean {
  if (!existsSync(python)) return false;
  return spawnSync(python, ['-c', 'import lightgbm'], { stdio: 'ignore' }).status === 0;
}

function runBench(data: string, libs: string, a: Args, repeats: number, warmup: number, predDir: string): Row[] {
  // gbdt_bench.py runs it through a shell: quote the paths, and name this process's own Node
  // (a bare `node` is whatever PATH finds, not necessarily the Node this bench runs on).
  const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const ext = `ts=${sh(process.execPath)} ${sh(CLI)} bench gbdt-ext {data} {pred} {threads}`;
  const args = [
    path.join(ANCHORS, 'gbdt_bench.py'), 'bench', data, '--libs', libs, '--repeats', String(repeats), '--warmup', String(warmup),
    '--threads', String(a.threads), '--pred-dir', predDir, '--jsonl', path.join(a.work, 'results.jsonl'), '--ext', ext,
    '--lgbm-python', a.lgbmPython,
  ];
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`gbdt_bench.py failed (exit ${r.status})`);
  const rows: Row[] = [];
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('{')) rows.push(JSON.parse(line) as Row);
    else process.stdout.write(`${line}\n`);
  }
  return rows;
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let c = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    c += (a[i] - ma) * (b[i] - mb);
    va += (a[i] - ma) ** 2;
    vb += (b[i] - mb) ** 2;
  }
  return c / Math.sqrt(va * vb);
}

function metric(dataset: string, name: string, value: number, target: string, pass: boolean | null, extra: Record<string, unknown> = {}): void {
  metricLine('gbdt', dataset, name, value, target, pass, extra);
}

/** Trains in-process once more to time the predictor and check onnxruntime parity. */
async function inProcess(data: string, a: Args, xgb: Row): Promise<void> {
  const meta = JSON.parse(readFileSync(path.join(data, 'meta.json'), 'utf8')) as { rows: number; features: number; train_rows: number; feature_names: string[] };
  const X = readF32(path.join(data, 'X.f32'));
  const y = readF32(path.join(data, 'y.f32'));
  const { rows: n, features: F, train_rows: k } = meta;
  const model = await trainGbdt(
    { x: rowMajorMatrix(X.subarray(0, k * F), k, F), y: y.subarray(0, k), featureNames: meta.feature_names },
    { nEstimators: 300, maxDepth: 6, learningRate: 0.05, baggingFraction: 0.8, featureFraction: 0.8 },
    { threads: a.threads },
  );
  const xTest = rowMajorMatrix(X.subarray(k * F), n - k, F);
  const ds = path.basename(data);
  const N = n - k;
  // Batch kernels, round-robin so that the machine's drift hits each alike; medians.
  // js = the JavaScript kernel (the reference), wasm = model.predict on this thread,
  // pool = GbdtThreadPool.predict on a.threads threads.
  const out = new Float64Array(N);
  const forest = model.compiled();
  const pool = await GbdtThreadPool.create(a.threads);
  const times: Record<'js' | 'wasm' | 'pool', number[]> = { js: [], wasm: [], pool: [] };
  let identical = true;
  try {
    const want = model.predict(xTest);
    for (let r = 0; r < 11; r++) {
      let t0 = performance.now();
      out.fill(model.baseScore);
      forest.addRows(xTest, out, forest.nTrees, 'js');
      times.js.push(performance.now() - t0);
      t0 = performance.now();
      model.predict(xTest, out);
      times.wasm.push(performance.now() - t0);
      t0 = performance.now();
      await pool.predict(model, xTest, out);
      times.pool.push(performance.now() - t0);
      identical &&= out.every((v, i) => Object.is(v, want[i]));
    }
  } finally {
    await pool.close();
  }
  const rate = (key: 'js' | 'wasm' | 'pool'): number => N / (median(times[key].slice(1)) / 1000); // first round = warm-up
  const xgbRate = N / num(xgb, 'predict_s_median');
  const common = { rows: N, features: F, trees: model.trees.length, leaves: model.totalLeaves };
  metric(ds, 'predict_batch_rows_per_s', rate('pool'), '>= 1e6', rate('pool') >= 1e6, { ...common, threads: a.threads, bit_identical_to_predict: identical });
  metric(ds, 'predict_batch_rows_per_s_1thread', rate('wasm'), 'info', null, { ...common, threads: 1, kernel: 'wasm' });
  metric(ds, 'predict_wasm_speedup_vs_js_kernel', rate('wasm') / rate('js'), 'info (same run, 1 thread)', null, { js_rows_per_s: rate('js') });
  metric(ds, 'predict_batch_ratio_vs_xgb', rate('pool') / xgbRate, 'info (same run, both on threads)', null, { xgb_rows_per_s: xgbRate, threads: a.threads });
  if (!identical) throw new Error('pool predictions differ from model.predict');
  const lat: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const r = k + (i % (n - k));
    const row = X.subarray(r * F, r * F + F);
    const t0 = process.hrtime.bigint();
    model.predictRow(row);
    lat.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  lat.sort((p, q) => p - q);
  const med = lat[lat.length >> 1];
  metric(ds, 'predict_1row_us_median', med, '<= 10', med <= 10, { p90_us: lat[Math.floor(lat.length * 0.9)] });

  // onnxruntime parity on the test rows (they include the data set's NaNs)
  const ort = createRequire(path.join(REPO_ROOT, 'package.json'))('onnxruntime-node') as {
    InferenceSession: { create(b: Uint8Array): Promise<{ run(f: Record<string, unknown>): Promise<Record<string, { data: Float32Array }>> }> };
    Tensor: new (type: string, data: Float32Array, dims: number[]) => unknown;
  };
  const session = await ort.InferenceSession.create(exportOnnx({ edge: model }));
  const res = await session.run({ features: new ort.Tensor('float32', X.slice(k * F), [n - k, F]) });
  const onnx = res.predicted_edge_bps.data;
  let ss = 0;
  for (let i = 0; i < n - k; i++) ss += out[i] * out[i];
  const scale = Math.sqrt(ss / (n - k));
  let worstRel = 0;
  let worstAbs = 0;
  for (let i = 0; i < n - k; i++) {
    const d = Math.abs(onnx[i] - out[i]);
    worstAbs = Math.max(worstAbs, d);
    worstRel = Math.max(worstRel, d / Math.max(Math.abs(out[i]), scale));
  }
  let nanRows = 0;
  for (let i = k; i < n; i++) {
    for (let f = 0; f < F; f++) {
      if (Number.isNaN(X[i * F + f])) {
        nanRows++;
        break;
      }
    }
  }
  metric(ds, 'onnx_max_rel_diff', worstRel, '<= 1e-5 (relative to max(|pred|, rms pred))', worstRel <= 1e-5, { max_abs_diff: worstAbs, rows: n - k, rows_with_nan: nanRows });
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: build first (npm run build)`);
  mkdirSync(a.work, { recursive: true });
  const data = path.join(a.work, `synth${a.days}`);
  ensureData(data, a.days, []);
  const withLgbm = lightgbmAvailable(a.lgbmPython);
  if (!withLgbm) process.stdout.write(`# lgbm skipped: no interpreter with lightgbm at ${a.lgbmPython} (bash ${path.join(ANCHORS, 'setup_lgbm.sh')} makes one)\n`);
  const rows = runBench(data, withLgbm ? 'xgb,lgbm,hgb' : 'xgb,hgb', a, a.repeats, a.warmup, path.join(a.work, 'pred'));
  const by = (lib: string): Row => {
    const r = rows.find((x) => x.lib === lib);
    if (r === undefined) throw new Error(`no result for ${lib}`);
    return r;
  };
  const ts = by('ts');
  const xgb = by('xgb');
  const hgb = by('hgb');
  const lgbm = withLgbm ? by('lgbm') : null;
  const ds = path.basename(data);
  const timeRatio = num(ts, 'train_s_best') / num(xgb, 'train_s_best');
  metric(ds, 'train_time_ratio_vs_xgb', timeRatio, '<= 1.5 (moonshot <= 1.0)', timeRatio <= 1.5, { ts_s: num(ts, 'train_s_best'), xgb_s: num(xgb, 'train_s_best'), threads: a.threads });
  metric(ds, 'train_time_ratio_vs_hgb', num(ts, 'train_s_best') / num(hgb, 'train_s_best'), 'info', null, { hgb_s: num(hgb, 'train_s_best') });
  const rmseRatio = num(ts, 'rmse') / num(xgb, 'rmse');
  metric(ds, 'test_rmse_ratio_vs_xgb', rmseRatio, '<= 1.005', rmseRatio <= 1.005, { ts: num(ts, 'rmse'), xgb: num(xgb, 'rmse'), hgb: num(hgb, 'rmse') });
  const dP = num(ts, 'pearson') - num(xgb, 'pearson');
  metric(ds, 'test_pearson_minus_xgb', dP, '>= -0.01', dP >= -0.01, { ts: num(ts, 'pearson'), xgb: num(xgb, 'pearson'), hgb: num(hgb, 'pearson') });
  const memRatio = num(ts, 'peak_rss_mb') / num(xgb, 'peak_rss_mb');
  metric(ds, 'peak_rss_ratio_vs_xgb', memRatio, '<= 2', memRatio <= 2, { ts_mb: num(ts, 'peak_rss_mb'), xgb_mb: num(xgb, 'peak_rss_mb') });
  // against the better of the C++ trainers, each measure on its own (the fastest and the most accurate may differ)
  const refs = lgbm === null ? [xgb] : [xgb, lgbm];
  const fastest = refs.reduce((b, r) => (num(r, 'train_s_best') < num(b, 'train_s_best') ? r : b));
  const mostAccurate = refs.reduce((b, r) => (num(r, 'rmse') < num(b, 'rmse') ? r : b));
  const refsOf = (key: string): Record<string, number> => Object.fromEntries(refs.map((r) => [r.lib, num(r, key)]));
  const bestTime = num(ts, 'train_s_best') / num(fastest, 'train_s_best');
  metric(ds, 'train_time_ratio_vs_best', bestTime, '<= 1.0', bestTime <= 1, { ts_s: num(ts, 'train_s_best'), best: fastest.lib, refs_s: refsOf('train_s_best'), threads: a.threads });
  const bestRmse = num(ts, 'rmse') / num(mostAccurate, 'rmse');
  metric(ds, 'test_rmse_ratio_vs_best', bestRmse, '<= 1.005', bestRmse <= 1.005, { ts: num(ts, 'rmse'), best: mostAccurate.lib, refs: refsOf('rmse') });

  if (a.highSignal) {
    const hs = path.join(a.work, `synth${a.days}_hs`);
    ensureData(hs, a.days, ['--alpha', '3', '--df-eps', '30']);
    const predDir = path.join(a.work, 'pred_hs');
    const hsRows = runBench(hs, 'hgb', a, 1, 0, predDir);
    const p = (lib: string): Float32Array => readF32(String(hsRows.find((r) => r.lib === lib)?.pred_file));
    const corr = pearson(p('ts'), p('hgb'));
    metric(path.basename(hs), 'prediction_corr_with_hgb', corr, '>= 0.95', corr >= 0.95);
  }
  if (a.inProcess) await inProcess(data, a, xgb);
}

main().catch((err: unknown) => {
  process.stderr.write(`gbdt-bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
