/**
 * Reading the plot and table data out of a model bundle's files (folds.json,
 * equity.json, feature importance). Each reader returns the data or says exactly what is
 * missing or malformed — a page shows "no equity data in this bundle: …" rather than an
 * empty chart or a crash, and never silently invents data.
 */

/** Out-of-sample equity over time, with the test windows' boundaries. */
export interface EquityData {
  /** Epoch ms per point, ascending. */
  t: number[];
  /** Cumulative P&L per point. */
  equity: number[];
  /** Unit of `equity` (`GBP`, `bps`), when the file says. */
  unit: string | null;
  /** Fold boundaries (start of each fold's test window), epoch ms, with the fold number. */
  folds: { index: number; start: number; end: number | null }[];
}

/** One row of the per-fold table: column → value, in the file's column order. */
export type FoldRow = Record<string, unknown>;

export interface ImportanceItem {
  name: string;
  value: number;
}

export interface Importance {
  items: ImportanceItem[];
  /** What the numbers are (`gain`, `split`), when the file says. */
  kind: string | null;
}

/** Data, or the reason there is none. */
export type Read<T> = { ok: true; value: T } | { ok: false; reason: string };

const fail = <T>(reason: string): Read<T> => ({ ok: false, reason });

function parseJson(files: Map<string, Uint8Array>, name: string): Read<unknown> {
  const bytes = files.get(name);
  if (bytes === undefined) return fail(`the bundle has no ${name} (files: ${[...files.keys()].sort().join(', ') || 'none'})`);
  try {
    return { ok: true, value: JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown };
  } catch (err) {
    return fail(`${name} is not valid JSON: ${(err as Error).message}`);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const first = (o: Record<string, unknown>, keys: readonly string[]): unknown => {
  for (const k of keys) if (o[k] !== undefined) return o[k];
  return undefined;
};
const numArray = (v: unknown): number[] | null => {
  if (!Array.isArray(v)) return null;
  const out: number[] = [];
  for (const x of v) {
    if (typeof x === 'number') out.push(x);
    else if (x === null) out.push(NaN);
    else return null;
  }
  return out;
};

const TIME_KEYS = ['t', 'ts', 'time', 'times', 'timestamp', 'timestamps', 'at', 'exit', 'exit_ts', 'exit_time'] as const;
const EQUITY_KEYS = ['equity', 'equity_gbp', 'cum_pnl', 'cumulative', 'cum_pnl_gbp', 'value', 'values', 'pnl_cum'] as const;
const FOLD_START_KEYS = ['test_start', 'start', 'from', 'ts'] as const;
const FOLD_END_KEYS = ['test_end', 'end', 'to'] as const;

/** Time (epoch ms, or an ISO string) → epoch ms; NaN when it is neither. */
function toMs(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Date.parse(v);
  return NaN;
}

/**
 * The out-of-sample equity curve from `equity.json`. The trainer writes rows —
 * `{ currency, points: [{ exit: ISO, equity_gbp, … }], fold_boundaries: [{ fold,
 * test_start, test_end }] }` — and columns (`{ t: [...], equity: [...] }`) are accepted
 * too; times as epoch ms or ISO strings; boundaries as objects or bare epoch ms.
 */
export function readEquity(files: Map<string, Uint8Array>, name = 'equity.json'): Read<EquityData> {
  const parsed = parseJson(files, name);
  if (!parsed.ok) return parsed;
  const doc = parsed.value;
  const root: Record<string, unknown> = isObj(doc) ? doc : { points: doc };
  const cols = isObj(root.curve) ? root.curve : root;
  let t = numArray(first(cols, TIME_KEYS));
  let equity = numArray(first(cols, EQUITY_KEYS));
  if (t === null || equity === null) {
    const rows = first(root, ['points', 'curve', 'rows', 'series']);
    if (Array.isArray(rows) && rows.every(isObj)) {
      t = rows.map((r) => toMs(first(r, TIME_KEYS)));
      equity = rows.map((r) => {
        const v = first(r, EQUITY_KEYS);
        return typeof v === 'number' ? v : NaN;
      });
    }
  }
  if (t === null || equity === null) {
    return fail(`${name} has no time and equity series (expected keys ${TIME_KEYS.join('/')} and ${EQUITY_KEYS.join('/')}; found: ${Object.keys(root).join(', ') || 'nothing'})`);
  }
  if (t.length !== equity.length) return fail(`${name}: ${t.length} times but ${equity.length} equity values`);
  if (t.length === 0) return fail(`${name} has an empty curve (no out-of-sample trades)`);

  const folds: EquityData['folds'] = [];
  const foldList = first(root, ['folds', 'fold_windows', 'fold_boundaries']);
  if (Array.isArray(foldList)) {
    foldList.forEach((f, i) => {
      if (!isObj(f)) return;
      const start = toMs(first(f, FOLD_START_KEYS));
      const end = toMs(first(f, FOLD_END_KEYS));
      const index = typeof f.index === 'number' ? f.index : typeof f.fold === 'number' ? f.fold : i;
      if (Number.isFinite(start)) folds.push({ index, start, end: Number.isFinite(end) ? end : null });
    });
  }
  const bounds = numArray(first(root, ['fold_boundaries', 'boundaries', 'fold_starts']));
  folds.sort((a, b) => a.start - b.start);
  if (folds.length === 0 && bounds !== null) bounds.forEach((b, i) => folds.push({ index: i, start: b, end: bounds[i + 1] ?? null }));
  const unit = first(root, ['unit', 'currency']);
  return { ok: true, value: { t, equity, unit: typeof unit === 'string' ? unit : null, folds } };
}

/** Drawdown of an equity curve: at each point, equity minus its running peak (≤ 0). */
export function drawdown(equity: readonly number[]): number[] {
  const out = new Array<number>(equity.length);
  let peak = -Infinity;
  for (let i = 0; i < equity.length; i++) {
    const v = equity[i]!;
    if (Number.isFinite(v) && v > peak) peak = v;
    out[i] = Number.isFinite(v) && Number.isFinite(peak) ? v - peak : NaN;
  }
  return out;
}

/**
 * The per-fold table from `folds.json`: a bare array of rows or `{ folds: [...] }`.
 * Only scalar cells are kept (nested objects are summarised as JSON by the page).
 */
export function readFolds(files: Map<string, Uint8Array>, name = 'folds.json'): Read<FoldRow[]> {
  const parsed = parseJson(files, name);
  if (!parsed.ok) return parsed;
  const doc = parsed.value;
  const rows = Array.isArray(doc) ? doc : isObj(doc) ? first(doc, ['folds', 'rows']) : undefined;
  if (!Array.isArray(rows)) return fail(`${name} is neither an array of folds nor { folds: [...] }`);
  if (rows.length === 0) return fail(`${name} lists no folds`);
  if (!rows.every(isObj)) return fail(`${name}: every fold must be an object`);
  return { ok: true, value: rows };
}

const IMPORTANCE_FILES = ['importance.json', 'feature_importance.json', 'feature-importance.json'] as const;

/**
 * Feature importance, largest first. Looks in the bundle's importance file, then in
 * `model.json` (`feature_importance`), then in the manifest. Accepts
 * `{ names: [...], values: [...] }`, `{ name: value, … }` or `[{ name, value|gain }]`.
 */
export function readImportance(files: Map<string, Uint8Array>, manifest: Record<string, unknown>): Read<Importance> {
  const candidates: { where: string; doc: unknown }[] = [];
  for (const name of IMPORTANCE_FILES) {
    if (files.has(name)) {
      const p = parseJson(files, name);
      if (!p.ok) return p;
      candidates.push({ where: name, doc: p.value });
    }
  }
  if (files.has('model.json')) {
    const p = parseJson(files, 'model.json');
    if (p.ok && isObj(p.value) && p.value.feature_importance !== undefined) {
      const fi = p.value.feature_importance;
      // The native GBDT model: `feature_names` beside `feature_importance: { gain: [...], split: [...] }`.
      const doc = isObj(fi) && Array.isArray(fi.gain) && Array.isArray(p.value.feature_names) ? { kind: 'gain', names: p.value.feature_names, values: fi.gain } : fi;
      candidates.push({ where: 'model.json feature_importance', doc });
    }
  }
  if (manifest.feature_importance !== undefined) candidates.push({ where: 'manifest feature_importance', doc: manifest.feature_importance });
  const c = candidates[0];
  if (c === undefined) return fail(`the bundle has no feature importance (looked for ${IMPORTANCE_FILES.join(', ')}, model.json feature_importance, manifest feature_importance)`);

  let doc = c.doc;
  let kind: string | null = null;
  if (isObj(doc) && typeof doc.kind === 'string') kind = doc.kind;
  if (isObj(doc) && typeof doc.type === 'string') kind = doc.type;
  if (isObj(doc) && (Array.isArray(doc.features) || Array.isArray(doc.items))) doc = doc.features ?? doc.items;

  let items: ImportanceItem[] | null = null;
  if (isObj(doc) && Array.isArray(doc.names)) {
    const values = numArray(first(doc, ['values', 'gain', 'importance']));
    const names = doc.names;
    if (values !== null && values.length === names.length && names.every((n) => typeof n === 'string')) {
      items = names.map((n, i) => ({ name: n as string, value: values[i]! }));
    }
  } else if (Array.isArray(doc)) {
    // The trainer's importance.json: `{ model, features: [{ name, gain, splits }] }`, ranked by gain.
    const rows: unknown[] = doc;
    const valueKey = (['value', 'gain', 'importance'] as const).find((k) => rows.every((r) => isObj(r) && typeof r[k] === 'number'));
    if (valueKey !== undefined && rows.every((r) => isObj(r) && typeof first(r, ['name', 'feature']) === 'string')) {
      items = (rows as Record<string, unknown>[]).map((r) => ({ name: first(r, ['name', 'feature']) as string, value: r[valueKey] as number }));
      if (kind === null && valueKey !== 'value') kind = valueKey;
    }
  } else if (isObj(doc)) {
    const entries = Object.entries(doc).filter(([k]) => k !== 'kind' && k !== 'type');
    if (entries.length > 0 && entries.every(([, v]) => typeof v === 'number')) items = entries.map(([name, v]) => ({ name, value: v as number }));
  }
  if (items === null) return fail(`${c.where} is not a list of feature → importance (expected { names, values }, { feature: value } or [{ name, value }])`);
  const bad = items.find((it) => !Number.isFinite(it.value));
  if (bad) return fail(`${c.where}: feature '${bad.name}' has importance ${bad.value}`);
  items.sort((a, b) => b.value - a.value || a.name.localeCompare(b.name));
  return { ok: true, value: { items, kind } };
}
