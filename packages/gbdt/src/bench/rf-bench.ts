/**
 * `npm run bench:rf`: our random forest (`boosting: 'rf'`) against scikit-learn's
 * RandomForestRegressor, in the same run, on make_synth.py's data (the 150-day set that
 * `bench:gbdt` uses, in the same work folder).
 *
 * Same forest on both sides: T trees of depth ≤ 6 and ≤ 64 leaves, ≥ 20 rows per leaf, a
 * share of the training rows per tree (sklearn: `max_samples` drawn WITH replacement, the
 * bootstrap; ours: a Bernoulli draw without replacement), and the same number of features
 * drawn per node (`max_features` is given our count, max(1, round(F × node fraction))).
 * Ours uses lambdaL2 0 (leaves are plain means), no per-tree feature sampling, 255 bins.
 * scikit-learn runs in packages/gbdt/bench/rf_anchor.py; when it cannot take NaN (before
 * 1.4, e.g. Debian's 1.2) it replaces NaN by −FLT_MAX, and ours then gets that same matrix.
 *
 * Prints JSON lines like bench:gbdt's: `train_time_ratio_vs_sklearn` (ours best / sklearn
 * best, target ≤ 1.0), `test_rmse_ratio_vs_sklearn` (target ≤ 1.005), and the Pearson
 * difference (info). Our training is timed in-process from the float32 arrays to the model
 * (binning and worker start included), like gbdt_bench.py times .fit.
 *
 * Options: --days N (150) --threads N (2) --trees N (100) --row-fraction F (0.5)
 *          --node-fraction F (0.33) --repeats N (3) --warmup N (1) (ours)
 *          --sklearn-repeats N (1) --sklearn-warmup N (0) (a sklearn fit takes minutes)
 *          --sklearn-python PATH (/usr/bin/python3) --work DIR (/tmp/engine-gbdt-bench)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { rowMajorMatrix } from '../matrix';
import type { GbdtModel } from '../model';
import type { GbdtParams } from '../params';
import { trainGbdt } from '../train';
import { PYTHON, REPO_ROOT, ensureData, loadBenchData, metricLine, type BenchData } from './bench-data';

const ANCHOR_SCRIPT = path.join(REPO_ROOT, 'packages', 'gbdt', 'bench', 'rf_anchor.py');

interface Args {
  days: number;
  threads: number;
  trees: number;
  rowFraction: number;
  nodeFraction: number;
  repeats: number;
  warmup: number;
  sklearnRepeats: number;
  sklearnWarmup: number;
  sklearnPython: string;
  work: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    days: 150,
    threads: 2,
    trees: 100,
    rowFraction: 0.5,
    nodeFraction: 0.33,
    repeats: 3,
    warmup: 1,
    sklearnRepeats: 1,
    sklearnWarmup: 0,
    sklearnPython: PYTHON,
    work: '/tmp/engine-gbdt-bench',
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
    else if (k === '--trees') a.trees = Number(v());
    else if (k === '--row-fraction') a.rowFraction = Number(v());
    else if (k === '--node-fraction') a.nodeFraction = Number(v());
    else if (k === '--repeats') a.repeats = Number(v());
    else if (k === '--warmup') a.warmup = Number(v());
    else if (k === '--sklearn-repeats') a.sklearnRepeats = Number(v());
    else if (k === '--sklearn-warmup') a.sklearnWarmup = Number(v());
    else if (k === '--sklearn-python') a.sklearnPython = v();
    else if (k === '--work') a.work = v();
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

/** The forest both sides grow. */
const DEPTH = 6;
const LEAVES = 64;
const MIN_LEAF = 20;

/** What rf_anchor.py prints. */
interface SklearnResult {
  library: string;
  nan_handling: 'native' | 'sentinel';
  sentinel: number;
  train_s_best: number;
  train_s_all: number[];
  rmse: number;
  pearson: number;
  train_rmse: number;
  n_leaves_total: number;
}

function runSklearn(data: string, a: Args, nodeFeatures: number): SklearnResult {
  const args = [
    ANCHOR_SCRIPT, data, '--trees', String(a.trees), '--max-depth', String(DEPTH), '--max-leaf-nodes', String(LEAVES),
    '--min-samples-leaf', String(MIN_LEAF), '--max-features', String(nodeFeatures), '--max-samples', String(a.rowFraction),
    '--threads', String(a.threads), '--repeats', String(a.sklearnRepeats), '--warmup', String(a.sklearnWarmup),
  ];
  process.stderr.write(`# running scikit-learn RandomForestRegressor (${a.trees} trees, ${a.threads} jobs) ...\n`);
  const env = { ...process.env, OMP_NUM_THREADS: String(a.threads), OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const r = spawnSync(a.sklearnPython, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`rf_anchor.py failed (exit ${r.status})`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error('rf_anchor.py printed no result line');
  return JSON.parse(line) as SklearnResult;
}

function scores(pred: ArrayLike<number>, y: ArrayLike<number>): { rmse: number; pearson: number } {
  const n = y.length;
  let se = 0;
  let mp = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    se += (pred[i] - y[i]) ** 2;
    mp += pred[i];
    my += y[i];
  }
  mp /= n;
  my /= n;
  let c = 0;
  let vp = 0;
  let vy = 0;
  for (let i = 0; i < n; i++) {
    c += (pred[i] - mp) * (y[i] - my);
    vp += (pred[i] - mp) ** 2;
    vy += (y[i] - my) ** 2;
  }
  return { rmse: Math.sqrt(se / n), pearson: c / Math.sqrt(vp * vy) };
}

/** Our forest, trained warmup + repeats times; the last model and every timed run's seconds. */
async function runOurs(d: BenchData, a: Args): Promise<{ times: number[]; cold: number | null; rmse: number; pearson: number; trainRmse: number; leaves: number }> {
  const { X, y, features: F, trainRows: k, rows: n } = d;
  const params: Partial<GbdtParams> = {
    boosting: 'rf',
    nEstimators: a.trees,
    maxDepth: DEPTH,
    numLeaves: LEAVES,
    growPolicy: 'depthwise',
    minDataInLeaf: MIN_LEAF,
    minSumHessianInLeaf: 0,
    lambdaL2: 0,
    baggingFraction: a.rowFraction,
    featureFraction: 1,
    featureFractionByNode: a.nodeFraction,
    seed: 0,
  };
  const xTrain = rowMajorMatrix(X.subarray(0, k * F), k, F);
  const yTrain = y.subarray(0, k);
  const times: number[] = [];
  let cold: number | null = null;
  let model: GbdtModel | null = null;
  for (let r = 0; r < a.warmup + a.repeats; r++) {
    const t0 = performance.now();
    model = await trainGbdt({ x: xTrain, y: yTrain, featureNames: d.featureNames }, params, { threads: a.threads });
    const s = (performance.now() - t0) / 1000;
    if (r < a.warmup) cold ??= s;
    else times.push(s);
  }
  if (model === null) throw new Error('no training ran (repeats 0?)');
  const test = scores(model.predict(rowMajorMatrix(X.subarray(k * F), n - k, F)), y.subarray(k));
  const train = scores(model.predict(xTrain), yTrain);
  return { times, cold, rmse: test.rmse, pearson: test.pearson, trainRmse: train.rmse, leaves: model.totalLeaves };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  mkdirSync(a.work, { recursive: true });
  const data = path.join(a.work, `synth${a.days}`);
  ensureData(data, a.days, []);
  const d = loadBenchData(data);
  // our count of features per node (featureFraction 1: the tree has all F), given to sklearn as an int
  const nodeFeatures = Math.max(1, Math.round(d.features * a.nodeFraction));
  const sk = runSklearn(data, a, nodeFeatures);
  if (sk.nan_handling === 'sentinel') {
    // the matrix sklearn saw: NaN → −FLT_MAX (a value below every other, so splits send it left)
    for (let i = 0; i < d.X.length; i++) if (Number.isNaN(d.X[i])) d.X[i] = sk.sentinel;
  }
  const ours = await runOurs(d, a);
  const best = Math.min(...ours.times);
  const ds = path.basename(data);
  const settings = {
    trees: a.trees, max_depth: DEPTH, max_leaves: LEAVES, min_leaf: MIN_LEAF, row_fraction: a.rowFraction, node_fraction: a.nodeFraction,
    node_features: nodeFeatures, features: d.features, rows_train: d.trainRows, threads: a.threads, nan_handling: sk.nan_handling, sklearn: sk.library,
  };
  process.stdout.write(`# ours: train ${best.toFixed(2)} s best of [${ours.times.map((t) => t.toFixed(2)).join(', ')}] (cold ${ours.cold?.toFixed(2) ?? '-'}), test RMSE ${ours.rmse.toFixed(4)}, pearson ${ours.pearson.toFixed(4)}, ${ours.leaves} leaves\n`);
  process.stdout.write(`# ${sk.library}: train ${sk.train_s_best.toFixed(2)} s best of [${sk.train_s_all.map((t) => t.toFixed(2)).join(', ')}], test RMSE ${sk.rmse.toFixed(4)}, pearson ${sk.pearson.toFixed(4)}, ${sk.n_leaves_total} leaves\n`);
  const timeRatio = best / sk.train_s_best;
  metricLine('rf', ds, 'train_time_ratio_vs_sklearn', timeRatio, '<= 1.0', timeRatio <= 1, { ts_s: best, ts_cold_s: ours.cold, sklearn_s: sk.train_s_best, ...settings });
  const rmseRatio = ours.rmse / sk.rmse;
  metricLine('rf', ds, 'test_rmse_ratio_vs_sklearn', rmseRatio, '<= 1.005', rmseRatio <= 1.005, { ts: ours.rmse, sklearn: sk.rmse, ts_train: ours.trainRmse, sklearn_train: sk.train_rmse });
  metricLine('rf', ds, 'test_pearson_minus_sklearn', ours.pearson - sk.pearson, 'info', null, { ts: ours.pearson, sklearn: sk.pearson, ts_leaves: ours.leaves, sklearn_leaves: sk.n_leaves_total });
}

main().catch((err: unknown) => {
  process.stderr.write(`rf-bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
