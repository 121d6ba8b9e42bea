/**
 * What the GBDT benchmarks share: where the anchors live, make_synth.py's data sets in
 * gbdt_bench.py's interchange format, and the machine-readable result line.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
export const ANCHORS = process.env.ENGINE_ANCHORS_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'anchors');
/** Debian's Python, with xgboost, scikit-learn, numpy and scipy. */
export const PYTHON = '/usr/bin/python3';

/** make_synth.py into `dir` unless it is already there. */
export function ensureData(dir: string, days: number, extra: string[]): void {
  if (existsSync(path.join(dir, 'meta.json'))) return;
  execFileSync(PYTHON, [path.join(ANCHORS, 'make_synth.py'), dir, '--days', String(days), ...extra], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** A data folder in memory: X row-major (NaN = missing), rows [0, trainRows) train, the rest test. */
export interface BenchData {
  X: Float32Array;
  y: Float32Array;
  rows: number;
  features: number;
  trainRows: number;
  featureNames: string[];
}

export function loadBenchData(dir: string): BenchData {
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { rows: number; features: number; train_rows: number; feature_names: string[] };
  return { X: readF32(path.join(dir, 'X.f32')), y: readF32(path.join(dir, 'y.f32')), rows: meta.rows, features: meta.features, trainRows: meta.train_rows, featureNames: meta.feature_names };
}

export function median(a: number[]): number {
  const s = [...a].sort((p, q) => p - q);
  return s[s.length >> 1];
}

/** One result line: `{"bench", "dataset", "metric", "value", "target", "pass", …extra}`. */
export function metricLine(bench: string, dataset: string, name: string, value: number, target: string, pass: boolean | null, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ bench, dataset, metric: name, value, target, pass, ...extra })}\n`);
}
