import { randomUUID } from 'node:crypto';
import { DAY_MS, parseUtcDay, type GateResult, type ManifestCore, type ModelBundle } from '@engine/shared';
import { sha256Hex } from '@engine/registry';

/**
 * Model bundles for the dashboard's tests, built the way the pipeline reports a model:
 * seeded simulated out-of-sample trades over six 5-day test windows, the metrics and the
 * SPEC's gates computed from those trades (medians over the model's own folds), and the
 * files the dashboard reads (equity.json, folds.json, importance.json). The verdict is
 * whatever the gates say; `buildBundle` throws when it is not the one the test asked for,
 * so a fixture can never silently show the wrong thing.
 *
 * model.onnx holds fixed test bytes, not a runnable model: nothing in the dashboard
 * loads it (the consumer's tests do that with real models); it is here because every
 * bundle must carry one and the registry verifies its hash.
 */
export interface SeedSpec {
  symbol: string;
  runDate: string;
  /** PRNG seed: the same spec gives the same bundle (except the model id). */
  seed: number;
  /** Mean P&L per trade, GBP. */
  edgeGbp: number;
  /** Standard deviation of a trade's P&L, GBP (default 6: Sharpe in single digits at a 0.5 GBP edge). */
  noiseGbp?: number;
  /** The verdict the gates must reach. */
  expect: 'published' | 'rejected';
  tradesPerFold?: number;
}

const FEATURES = ['ret_1', 'ret_5', 'ret_15', 'ret_60', 'vol_15', 'vol_60', 'vol_ratio_15_60', 'rsi_14', 'atr_14_rel', 'range_rel', 'vwap_dev_60', 'ema_dev_20', 'ema_dev_100', 'volume_z_60', 'btc_ret_5', 'btc_beta_240', 'hour_sin', 'hour_cos', 'body_rel', 'upper_wick_rel'];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function maxDrawdown(pnl: number[]): number {
  let eq = 0;
  let peak = 0;
  let dd = 0;
  for (const p of pnl) {
    eq += p;
    peak = Math.max(peak, eq);
    dd = Math.max(dd, peak - eq);
  }
  return dd;
}

function sharpe(daily: number[]): number {
  const mean = daily.reduce((a, b) => a + b, 0) / daily.length;
  const sd = Math.sqrt(daily.reduce((a, b) => a + (b - mean) ** 2, 0) / (daily.length - 1));
  return sd > 0 ? (mean / sd) * Math.sqrt(365) : 0;
}

export function buildBundle(spec: SeedSpec): ModelBundle {
  const rand = mulberry32(spec.seed);
  const perFold = spec.tradesPerFold ?? 60;
  const noise = spec.noiseGbp ?? 6;
  const end = parseUtcDay(spec.runDate);
  const folds: Record<string, unknown>[] = [];
  const t: number[] = [];
  const equity: number[] = [];
  const allPnl: number[] = [];
  const daily = new Map<number, number>();
  const foldWindows: { index: number; test_start: number; test_end: number }[] = [];
  let eq = 0;
  for (let k = 0; k < 6; k++) {
    const testStart = end - (6 - k) * 5 * DAY_MS;
    const testEnd = testStart + 5 * DAY_MS;
    for (let d = testStart; d < testEnd; d += DAY_MS) daily.set(d, daily.get(d) ?? 0);
    const times = Array.from({ length: perFold }, () => testStart + Math.floor(rand() * (testEnd - testStart - 3_600_000))).sort((a, b) => a - b);
    const pnl = times.map(() => Math.round((spec.edgeGbp + noise * gauss(rand)) * 100) / 100);
    if (k === 0) {
      t.push(testStart);
      equity.push(0);
    }
    times.forEach((ts, i) => {
      eq += pnl[i]!;
      t.push(ts);
      equity.push(Math.round(eq * 100) / 100);
      const day = Math.floor(ts / DAY_MS) * DAY_MS;
      daily.set(day, (daily.get(day) ?? 0) + pnl[i]!);
    });
    allPnl.push(...pnl);
    const wins = pnl.filter((p) => p > 0);
    const losses = pnl.filter((p) => p <= 0);
    foldWindows.push({ index: k, test_start: testStart, test_end: testEnd });
    folds.push({
      index: k,
      train_start: testStart - 20 * DAY_MS,
      train_end: testStart,
      test_start: testStart,
      test_end: testEnd,
      purged: 180 + Math.floor(rand() * 40),
      trades: pnl.length,
      win_rate: wins.length / pnl.length,
      profit_gbp: Math.round(pnl.reduce((a, b) => a + b, 0) * 100) / 100,
      profit_factor: wins.reduce((a, b) => a + b, 0) / Math.max(1e-9, -losses.reduce((a, b) => a + b, 0)),
      max_drawdown_gbp: maxDrawdown(pnl),
    });
  }

  const wins = allPnl.filter((p) => p > 0);
  const losses = allPnl.filter((p) => p <= 0);
  const metrics = {
    total_trades: allPnl.length,
    wins: wins.length,
    losses: losses.length,
    win_rate: wins.length / allPnl.length,
    total_profit_gbp: Math.round(allPnl.reduce((a, b) => a + b, 0) * 100) / 100,
    sharpe_ratio: sharpe([...daily.keys()].sort((a, b) => a - b).map((d) => daily.get(d)!)),
    profit_factor: wins.reduce((a, b) => a + b, 0) / -losses.reduce((a, b) => a + b, 0),
    max_drawdown: maxDrawdown(allPnl),
  };
  const medDd = median(folds.map((f) => f.max_drawdown_gbp as number));
  const medWin = median(folds.map((f) => f.win_rate as number));
  const gate = (name: string, value: number, op: '>=' | '<=', bound: number, note?: string): GateResult => ({
    name,
    value,
    bound,
    op,
    passed: op === '>=' ? value >= bound : value <= bound,
    ...(note ? { note } : {}),
  });
  const results = [
    gate('sharpe', metrics.sharpe_ratio, '>=', 0.7),
    gate('profit_factor', metrics.profit_factor, '>=', 1.1),
    gate('max_drawdown', metrics.max_drawdown, '<=', 1.2 * medDd, '1.2 × median fold drawdown'),
    gate('win_rate', metrics.win_rate, '>=', medWin - 0.01, 'median fold win rate − 1 pp'),
    gate('trades', metrics.total_trades, '>=', 300),
  ];
  const passed = results.every((g) => g.passed);
  if ((passed ? 'published' : 'rejected') !== spec.expect) {
    throw new Error(`seed ${spec.seed} for ${spec.symbol} ${spec.runDate} gives a ${passed ? 'published' : 'rejected'} model, the test wants ${spec.expect}: ${JSON.stringify(results)}`);
  }

  const raw = FEATURES.map(() => -Math.log(1 - rand()));
  const total = raw.reduce((a, b) => a + b, 0);
  const enc = (o: unknown) => Buffer.from(`${JSON.stringify(o)}\n`, 'utf8');
  const files = [
    { name: 'model.onnx', bytes: Buffer.from(`dashboard test bundle ${spec.symbol} ${spec.runDate} seed ${spec.seed}: not a runnable model\n`, 'utf8') },
    { name: 'equity.json', bytes: enc({ unit: 'GBP', t, equity, folds: foldWindows }) },
    { name: 'folds.json', bytes: enc(folds) },
    { name: 'importance.json', bytes: enc({ kind: 'gain', names: FEATURES, values: raw.map((v) => v / total) }) },
  ];
  const manifest: ManifestCore = {
    model_id: randomUUID(),
    created_at: new Date(end + 2 * 3_600_000).toISOString(),
    symbol: spec.symbol,
    run_date: spec.runDate,
    training_window_days: 150,
    feature_recipe: { version: '1', hash: 'f'.repeat(64), names: FEATURES },
    metrics,
    gates: { passed, median_source: 'folds', results },
    artifacts: Object.fromEntries(files.map((f) => [f.name, sha256Hex(f.bytes)])),
  };
  return { manifest, files };
}
