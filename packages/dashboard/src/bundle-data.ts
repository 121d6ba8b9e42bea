import {
  BUNDLE_FILES,
  equityFileSchema,
  foldsFileSchema,
  importanceFileSchema,
  readBundleJson,
  type BundleFileRead,
  type FoldReport,
} from '@engine/model';

/**
 * The plot and table data of a model page, read from the bundle's typed files
 * (equity.json, folds.json, importance.json: their schemas live in @engine/model). Each
 * reader returns the data or says exactly what is missing or malformed — a page shows
 * "No equity data in this bundle: …" rather than an empty chart or a crash.
 */
export type Read<T> = BundleFileRead<T>;

/** Out-of-sample equity over time, with the test windows' boundaries. */
export interface EquityData {
  /** Epoch ms per point (a trade's exit), ascending. */
  t: number[];
  /** Cumulative P&L per point. */
  equity: number[];
  /** Unit of `equity`. */
  unit: string;
  /** Each evaluated fold's test window, epoch ms, by start. */
  folds: { index: number; start: number; end: number }[];
}

export interface ImportanceItem {
  name: string;
  value: number;
}

export interface Importance {
  /** Largest first. */
  items: ImportanceItem[];
  /** What the numbers are. */
  kind: 'gain';
}

/** The out-of-sample equity curve from `equity.json`. */
export function readEquity(files: ReadonlyMap<string, Uint8Array>): Read<EquityData> {
  const r = readBundleJson(files, BUNDLE_FILES.equity, equityFileSchema);
  if (!r.ok) return r;
  const e = r.value;
  if (e.points.length === 0) return { ok: false, reason: `${BUNDLE_FILES.equity} has an empty curve (no out-of-sample trades)` };
  const folds = e.fold_boundaries.map((f) => ({ index: f.fold, start: Date.parse(f.test_start), end: Date.parse(f.test_end) })).sort((a, b) => a.start - b.start);
  return { ok: true, value: { t: e.points.map((p) => Date.parse(p.exit)), equity: e.points.map((p) => p.equity_gbp), unit: e.currency, folds } };
}

/** Drawdown of an equity curve: at each point, equity minus its running peak (≤ 0). */
export function drawdown(equity: readonly number[]): number[] {
  const out = new Array<number>(equity.length);
  // The curve starts from 0 before its first trade: a first trade that loses is already a
  // drawdown (issue 19: the peak started at −∞ and the plot missed it, unlike the card and the CLI).
  let peak = 0;
  for (let i = 0; i < equity.length; i++) {
    const v = equity[i]!;
    if (Number.isFinite(v) && v > peak) peak = v;
    out[i] = Number.isFinite(v) && Number.isFinite(peak) ? v - peak : NaN;
  }
  return out;
}

/** The per-fold table from `folds.json`. */
export function readFolds(files: ReadonlyMap<string, Uint8Array>): Read<FoldReport[]> {
  const r = readBundleJson(files, BUNDLE_FILES.folds, foldsFileSchema);
  if (!r.ok) return r;
  if (r.value.length === 0) return { ok: false, reason: `${BUNDLE_FILES.folds} lists no folds` };
  return r;
}

/** The final model's feature importance from `importance.json`, largest gain first. */
export function readImportance(files: ReadonlyMap<string, Uint8Array>): Read<Importance> {
  const r = readBundleJson(files, BUNDLE_FILES.importance, importanceFileSchema);
  if (!r.ok) return r;
  const items = r.value.features.map((f) => ({ name: f.name, value: f.gain }));
  const bad = items.find((it) => !Number.isFinite(it.value));
  if (bad) return { ok: false, reason: `${BUNDLE_FILES.importance}: feature '${bad.name}' has importance ${bad.value}` };
  items.sort((a, b) => b.value - a.value || a.name.localeCompare(b.name));
  return { ok: true, value: { items, kind: 'gain' } };
}
