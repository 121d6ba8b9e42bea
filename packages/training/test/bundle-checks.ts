import { createHash } from 'node:crypto';
import { type ModelManifest, serializeManifest, validateManifest } from '@engine/model';
import type { TrainedModelBundle } from '../src';

/** The parsed JSON file of a bundle. */
export function bundleJson<T = unknown>(b: Pick<TrainedModelBundle, 'files'>, name: string): T {
  const f = b.files.find((x) => x.name === name);
  if (!f) throw new Error(`bundle has no ${name}`);
  return JSON.parse(new TextDecoder().decode(f.bytes)) as T;
}

/**
 * Internal consistency of a manifest and its bundle, as a list of broken rules (empty when
 * consistent): schema, wins + losses = trades, fold sums = totals, artifact hashes = files,
 * gate verdicts = values vs bounds.
 */
export function bundleProblems(b: Pick<TrainedModelBundle, 'manifest' | 'files' | 'folds'>): string[] {
  const bad: string[] = [];
  const m: ModelManifest = JSON.parse(new TextDecoder().decode(serializeManifest(b.manifest))) as ModelManifest;
  const checked = validateManifest(m);
  if (!checked.ok) bad.push(...checked.problems.map((e) => `schema: ${e}`));
  const mt = m.metrics;
  if (mt.wins + mt.losses !== mt.total_trades) bad.push(`wins ${mt.wins} + losses ${mt.losses} ≠ trades ${mt.total_trades}`);
  const folds = b.folds.filter((f) => !f.skipped);
  const sum = (k: 'total_trades' | 'wins' | 'losses' | 'total_profit_gbp' | 'total_net_bps') => folds.reduce((a, f) => a + (f.metrics ? f.metrics[k] : 0), 0);
  for (const k of ['total_trades', 'wins', 'losses'] as const) if (sum(k) !== mt[k]) bad.push(`fold sum of ${k} ${sum(k)} ≠ total ${mt[k]}`);
  for (const k of ['total_profit_gbp', 'total_net_bps'] as const) if (Math.abs(sum(k) - mt[k]) > 1e-6 * Math.max(1, Math.abs(mt[k]))) bad.push(`fold sum of ${k} ${sum(k)} ≠ total ${mt[k]}`);
  if (m.walk_forward.folds_evaluated !== folds.length) bad.push(`folds_evaluated ${m.walk_forward.folds_evaluated} ≠ ${folds.length} evaluated folds in folds.json`);
  const er = mt.exit_reasons;
  if (er.tp + er.sl + er.time + (er.agent ?? 0) !== mt.total_trades) bad.push('exit reasons do not add up to the trades');
  const names = b.files.map((f) => f.name).sort();
  if (JSON.stringify(Object.keys(m.artifacts).sort()) !== JSON.stringify(names)) bad.push(`artifacts ${Object.keys(m.artifacts)} ≠ files ${names}`);
  for (const f of b.files) {
    const h = createHash('sha256').update(f.bytes).digest('hex');
    if (m.artifacts[f.name] !== h) bad.push(`hash of ${f.name} does not match the manifest`);
  }
  for (const g of m.gates.results) {
    if (g.value === null || g.bound === null) continue;
    const ok = g.name.startsWith('plausible_') ? g.value < g.bound : g.op === '>=' ? g.value >= g.bound : g.value <= g.bound;
    if (ok !== g.passed && !(g.note ?? '').startsWith('not judged')) bad.push(`gate ${g.name}: value ${g.value} ${g.op} ${g.bound} but passed = ${g.passed}`);
  }
  if (m.gates.passed !== m.gates.results.every((g) => g.passed)) bad.push('gates.passed disagrees with the results');
  const eq = bundleJson<{ points: { equity_gbp: number }[] }>(b, 'equity.json');
  if (eq.points.length !== mt.total_trades) bad.push(`equity curve has ${eq.points.length} points for ${mt.total_trades} trades`);
  const last = eq.points[eq.points.length - 1];
  if (last && Math.abs(last.equity_gbp - mt.total_profit_gbp) > 1e-6 * Math.max(1, Math.abs(mt.total_profit_gbp))) bad.push('equity curve does not end at the total profit');
  if (m.trading_params.recommended_edge_threshold_bps !== m.thresholds.final.threshold_bps) bad.push('recommended threshold ≠ final threshold');
  return bad;
}
