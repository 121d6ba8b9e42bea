import type { ModelDetail } from '@engine/registry';
import { html, raw, type SafeHtml } from '../html';
import { barChart, lineChart } from '../plot';
import { drawdown, type EquityData, type FoldRow, type Importance, type Read } from '../bundle-data';
import { badge, fmtMetric, fmtTime, HEADLINE_METRICS, symbolHref } from './format';
import { layout, type PageContext } from './layout';

/** What the model page shows besides the registry row: data read from the bundle's files. */
export interface ModelPlots {
  /** Why the bundle could not be read at all (missing from the store, corrupt), or null. */
  bundleError: string | null;
  equity: Read<EquityData>;
  folds: Read<FoldRow[]>;
  importance: Read<Importance>;
  /** How many features the importance chart shows (the rest are summarised). */
  topFeatures: number;
}

function missing(what: string, reason: string): SafeHtml {
  return html`<div class="missing" data-missing="${what}">No ${what} in this bundle: ${reason}</div>`;
}

function gateTable(m: ModelDetail): SafeHtml {
  if (m.gates.length === 0) return html`<p class="muted">The manifest records no gate results.</p>`;
  const source = m.medianSource === 'registry' ? "medians over this symbol's last published models in the registry" : "medians over this model's own walk-forward folds (fewer than 3 published models in the registry)";
  return html`<table class="gates"><thead><tr><th>Gate</th><th class="num">Value</th><th>Rule</th><th>Verdict</th><th>Note</th></tr></thead><tbody>
${m.gates.map(
  (g) => html`<tr data-gate="${g.name}"><td>${g.name}</td><td class="num">${fmtMetric(g.name, g.value)}</td><td class="mono">${g.op} ${fmtMetric(g.name, g.bound)}</td><td>${badge(g.passed ? 'pass' : 'fail', g.passed ? 'pass' : 'fail')}</td><td class="small">${g.note ?? ''}</td></tr>`,
)}</tbody></table><p class="small muted">Bounds that depend on history use ${source}.</p>`;
}

const TIME_COLUMN = /(^|_)(start|end|ts|time|at|from|to)$/;

/** The value at a dotted path (`metrics.win_rate`) of a fold row. */
function at(row: FoldRow, path: string): unknown {
  let v: unknown = row;
  for (const k of path.split('.')) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/**
 * The fold table's columns, in order, each with the paths that may hold it (the trainer's
 * FoldReport first). Only columns some row has are shown; a file in another shape falls
 * back to its own scalar fields.
 */
const FOLD_COLUMNS: readonly { label: string; paths: readonly string[]; kind: 'time' | 'num' | 'text' | 'window' }[] = [
  { label: 'Fold', paths: ['fold', 'index'], kind: 'num' },
  { label: 'Test window', paths: ['test_start'], kind: 'window' },
  { label: 'Train rows', paths: ['train_rows'], kind: 'num' },
  { label: 'Purged', paths: ['purged'], kind: 'num' },
  { label: 'Embargoed', paths: ['embargoed'], kind: 'num' },
  { label: 'Test coverage', paths: ['coverage.test'], kind: 'num' },
  { label: 'Threshold bps', paths: ['threshold.threshold_bps', 'threshold_bps'], kind: 'num' },
  { label: 'Rank IC', paths: ['rank_ic'], kind: 'num' },
  { label: 'Trades', paths: ['metrics.total_trades', 'trades', 'total_trades'], kind: 'num' },
  { label: 'Win rate', paths: ['metrics.win_rate', 'win_rate'], kind: 'num' },
  { label: 'Profit GBP', paths: ['metrics.total_profit_gbp', 'total_profit_gbp', 'profit_gbp'], kind: 'num' },
  { label: 'Sharpe', paths: ['metrics.sharpe_ratio', 'sharpe_ratio', 'sharpe'], kind: 'num' },
  { label: 'Profit factor', paths: ['metrics.profit_factor', 'profit_factor'], kind: 'num' },
  { label: 'Max DD GBP', paths: ['metrics.max_drawdown', 'max_drawdown', 'max_drawdown_gbp'], kind: 'num' },
];

type ColumnKind = 'time' | 'num' | 'text' | 'window';

const day = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? fmtTime(v).slice(0, 10) : '–');

function cell(row: FoldRow, path: string, kind: ColumnKind, v: unknown): SafeHtml | string {
  if (kind === 'window') return `${day(row.test_start)} → ${day(row.test_end)}`;
  if (v === null || v === undefined) return '–';
  if (kind === 'time' && (typeof v === 'string' || typeof v === 'number')) return fmtTime(v).replace(' 00:00 UTC', '');
  if (typeof v === 'number') return fmtMetric(path, v);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'string') return v;
  const s = JSON.stringify(v);
  return html`<span class="mono small" title="${s}">${s.length > 60 ? `${s.slice(0, 59)}…` : s}</span>`;
}

interface FoldColumn {
  label: string;
  kind: ColumnKind;
  path: (r: FoldRow) => string | undefined;
}

/**
 * The per-fold table: the trainer's FoldReport columns that the file has (a skipped fold
 * shows its reason across the metric columns); a file in another shape shows its own
 * scalar fields.
 */
function foldTable(rows: FoldRow[]): SafeHtml {
  let cols: FoldColumn[] = FOLD_COLUMNS.map((c) => ({ label: c.label, kind: c.kind, path: (r: FoldRow) => c.paths.find((p) => at(r, p) !== undefined) })).filter((c) =>
    rows.some((r) => c.path(r) !== undefined),
  );
  if (cols.length < 3) {
    const keys: string[] = [];
    for (const r of rows) for (const [k, v] of Object.entries(r)) if ((v === null || typeof v !== 'object') && !keys.includes(k)) keys.push(k);
    cols = keys.map((k): FoldColumn => ({ label: k.replace(/_/g, ' '), kind: TIME_COLUMN.test(k) ? 'time' : typeof rows[0]![k] === 'string' ? 'text' : 'num', path: () => k }));
  }
  // Columns up to the test window identify the fold; a skipped fold's reason spans the rest.
  const lead = cols.findIndex((c) => c.kind === 'window') + 1 || 1;
  const td = (r: FoldRow, c: FoldColumn) => {
    const p = c.path(r);
    return html`<td class="${c.kind === 'num' ? 'num' : 'nowrap'}">${p === undefined ? '–' : cell(r, p, c.kind, at(r, p))}</td>`;
  };
  return html`<div style="overflow-x:auto"><table class="folds"><thead><tr>${cols.map((c) => html`<th class="${c.kind === 'num' ? 'num' : ''}">${c.label}</th>`)}</tr></thead><tbody>
${rows.map((r) => {
  const skipped = r.skipped === true || (typeof r.skip_reason === 'string' && r.skip_reason !== '');
  if (skipped && cols.length > lead) {
    return html`<tr class="muted skipped">${cols.slice(0, lead).map((c) => td(r, c))}<td colspan="${cols.length - lead}">skipped: ${typeof r.skip_reason === 'string' ? r.skip_reason : 'no reason recorded'}</td></tr>`;
  }
  return html`<tr>${cols.map((c) => td(r, c))}</tr>`;
})}
</tbody></table></div>`;
}

function plots(p: ModelPlots): SafeHtml {
  if (p.bundleError !== null) {
    return html`${missing('equity data', p.bundleError)}${missing('feature importance', p.bundleError)}`;
  }
  const parts: SafeHtml[] = [];
  if (p.equity.ok) {
    const e = p.equity.value;
    const unit = e.unit ?? 'P&L';
    const markers = e.folds.map((f) => ({ x: f.start, label: `F${f.index}` }));
    // The axis spans every test window, from the first fold's start to the last one's end.
    const xInclude = e.folds.flatMap((f) => (f.end === null ? [f.start] : [f.start, f.end]));
    parts.push(html`<div class="plot-box" id="equity-plot">${raw(lineChart({ id: 'equity', title: `Out-of-sample equity (${unit}), fold test windows marked`, series: [{ name: 'equity', x: e.t, y: e.equity, step: true }], markers, xInclude, yLabel: unit }))}</div>`);
    parts.push(html`<div class="plot-box" id="drawdown-plot">${raw(lineChart({ id: 'drawdown', title: `Drawdown (${unit})`, series: [{ name: 'drawdown', x: e.t, y: drawdown(e.equity), area: true, step: true, color: '#dc2626' }], markers, xInclude, yLabel: unit }))}</div>`);
  } else {
    parts.push(missing('equity data', p.equity.reason));
  }
  if (p.importance.ok) {
    const all = p.importance.value.items;
    const top = all.slice(0, p.topFeatures);
    const kind = p.importance.value.kind;
    parts.push(html`<div class="plot-box" id="importance-plot">${raw(barChart({ id: 'importance', title: `Feature importance${kind ? ` (${kind})` : ''}: top ${top.length} of ${all.length}`, items: top.map((i) => ({ label: i.name, value: i.value })) }))}</div>`);
  } else {
    parts.push(missing('feature importance', p.importance.reason));
  }
  return html`${parts}`;
}

/** A model: verdict, metrics, gate table, plots, fold table, manifest and artifacts. */
export function modelPage(ctx: PageContext, m: ModelDetail, p: ModelPlots): string {
  const manifestJson = JSON.stringify(m.manifest, null, 2);
  const artifacts = Object.entries(m.manifest.artifacts ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const body = html`<p class="small"><a href="/">Fleet</a> › <a href="${symbolHref(m.symbol)}">${m.symbol}</a> › ${m.runDate}</p>
<h1>${m.symbol} · ${m.runDate} ${badge(m.verdict)} ${m.live ? badge('live') : html``} ${m.rolledBackAt !== null ? badge('rolled-back', `rolled back ${fmtTime(m.rolledBackAt)}`) : html``}</h1>
<p class="small muted">Model <span class="mono">${m.id}</span> · trained ${fmtTime(m.createdAt)} · recipe ${m.recipeVersion} <span class="mono">${m.recipeHash.slice(0, 12)}</span> · sync ${badge(m.syncState)}${m.lastSyncError ? html` <span class="reason">${m.lastSyncError}</span>` : html``}</p>
<div class="cards">${HEADLINE_METRICS.map((k) => html`<div class="card"><div class="k">${k.label}</div><div class="v">${fmtMetric(k.key, m.metrics[k.key])}</div></div>`)}</div>
${m.verdict === 'rejected' ? html`<h2>Why it was rejected</h2><ul>${m.reasons.map((r) => html`<li class="reason">${r}</li>`)}</ul>` : html``}
<h2>Gates</h2>${gateTable(m)}
<h2>Out-of-sample performance</h2>${plots(p)}
<h2>Walk-forward folds</h2>${p.bundleError !== null ? missing('fold table', p.bundleError) : p.folds.ok ? foldTable(p.folds.value) : missing('fold table', p.folds.reason)}
<h2>Manifest and artifacts</h2>
<details id="manifest"><summary>manifest.json (${manifestJson.length.toLocaleString('en-US')} characters)</summary><pre class="json mono">${manifestJson}</pre></details>
<details><summary>Artifacts (${artifacts.length})</summary><table><thead><tr><th>File</th><th>SHA-256</th><th>Published at</th></tr></thead><tbody>
${artifacts.map(([name, sha]) => html`<tr><td class="mono">${name}</td><td class="mono small">${sha}</td><td class="mono small">${m.publishedFiles?.[name]?.path ?? '–'}</td></tr>`)}
</tbody></table></details>`;
  return layout(`${m.symbol} ${m.runDate}`, ctx, body);
}
