import { createHash, randomUUID } from 'node:crypto';
import type { GateResult, ManifestCore, ModelBundle } from '@engine/model';

/** Deterministic pseudo-random bytes (xorshift32), so "model" files have realistic, incompressible content. */
export function seededBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export interface BundleSpec {
  symbol?: string;
  runDate?: string;
  modelId?: string;
  /** Gate verdict (default true). */
  passed?: boolean;
  sharpe?: number;
  winRate?: number;
  maxDrawdown?: number;
  onnxBytes?: number;
  seed?: number;
  /** Replace the gate table (e.g. to inject a duplicate gate name). */
  gates?: GateResult[];
}

/**
 * A bundle shaped as packages/training produces it: model.onnx, model.json,
 * golden.json, folds.json, with a manifest whose artifacts hash every file.
 */
export function makeBundle(spec: BundleSpec = {}): ModelBundle {
  const passed = spec.passed ?? true;
  const seed = spec.seed ?? 7;
  const sharpe = spec.sharpe ?? (passed ? 1.4 : -4.2);
  const winRate = spec.winRate ?? (passed ? 0.56 : 0.34);
  const maxDrawdown = spec.maxDrawdown ?? (passed ? 0.08 : 0.31);
  const files = [
    { name: 'model.onnx', bytes: seededBytes(spec.onnxBytes ?? 3000, seed) },
    { name: 'model.json', bytes: Buffer.from(JSON.stringify({ trees: 300, seed })) },
    { name: 'golden.json', bytes: Buffer.from(JSON.stringify({ inputs: [[0.1, 0.2]], outputs: [1.5] })) },
    { name: 'folds.json', bytes: Buffer.from(JSON.stringify([{ fold: 1, sharpe }])) },
  ];
  const gates: GateResult[] = spec.gates ?? [
    { name: 'sharpe_ratio', value: sharpe, bound: 0.7, op: '>=', passed: sharpe >= 0.7 },
    { name: 'profit_factor', value: passed ? 1.3 : 0.5, bound: 1.1, op: '>=', passed },
    { name: 'max_drawdown', value: maxDrawdown, bound: 0.12, op: '<=', passed: maxDrawdown <= 0.12, note: 'bound = 1.2 x median over 4 published models' },
    { name: 'win_rate', value: winRate, bound: 0.5, op: '>=', passed: winRate >= 0.5 },
    { name: 'total_trades', value: 420, bound: 300, op: '>=', passed: true },
  ];
  const manifest: ManifestCore = {
    model_id: spec.modelId ?? randomUUID(),
    created_at: '2026-07-16T02:14:00.000Z',
    symbol: spec.symbol ?? 'BTC/USDT',
    run_date: spec.runDate ?? '2026-07-16',
    feature_recipe: { version: '1.0.0', hash: 'a'.repeat(64), names: ['ret_1', 'ret_5'] },
    metrics: {
      total_trades: 420,
      wins: Math.round(420 * winRate),
      losses: 420 - Math.round(420 * winRate),
      win_rate: winRate,
      total_profit_gbp: passed ? 812.5 : -2210,
      sharpe_ratio: sharpe,
      profit_factor: passed ? 1.3 : 0.5,
      max_drawdown: maxDrawdown,
      costs: { fees_gbp: 120.25, spread_gbp: 40.5, slippage_gbp: 12 },
    },
    gates: { passed, median_source: 'folds', results: gates },
    artifacts: Object.fromEntries(files.map((f) => [f.name, sha(f.bytes)])),
    training_window_days: 150,
  };
  return { manifest, files };
}
