import type { ModelDetail } from '@engine/registry';
import { html, raw, type SafeHtml } from '../html';
import { barChart, lineChart } from '../plot';
import { breakEvenSchema, deflatedSharpeSchema, falseDiscoverySchema, type FoldReport } from '@engine/model';
import { drawdown, type EquityData, type Importance, type Read } from '../bundle-data';
import { badge, fmtMetric, fmtTime, HEADLINE_METRICS, symbolHref, trialsHref } from './format';
import { layout, type PageContext } from './layout';

/** What the model page shows besides the registry row: data read from the bundle's files. */
export interface ModelPlots {
  /** Why the bundle could not be read at all (missing from the store, corrupt), or null. */
  bundleError: string | null;
  equity: Read<EquityData>;
  folds: Read<FoldReport[]>;
  importance: Read<Importance>;
  /** How many features the importance chart shows (the rest are summarised). */
  topFeatures: number;
  /** What live traders reported and what monitoring made of it (absent: not looked up). */
  live?: LivePanel;
}

/** The model's live record: its trades as reported, the newest monitoring pass, a demotion. */
export interface LivePanel {
  trades: { exit_ts: string; net_bps: number; predicted_bps: number }[];
  monitoring: { at: string; trades: number; breach: string | null; report: unknown } | null;
  demoted: { at: string; rule: string; value: number; bound: number; detail: string } | null;
}

interface ReportShape {
  checks?: { rule: string; value: number; bound: number; breached: boolean; detail: string }[];
  buckets?: { from_bps: number; to_bps: number; trades: number; predicted_bps: number; realised_bps: number }[];
  drift?: { name: string; psi: number }[];
}

/** Live feedback, monitoring and demotion (issue 19): what happened after the model was published. */
export function livePanel(l: LivePanel | undefined): SafeHtml {
  if (l === undefined) return html``;
  const n2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
  const head = l.demoted
    ? html`<div class="banner warn" id="demoted"><b>Demoted ${fmtTime(l.demoted.at)}</b> by live monitoring — ${l.demoted.rule}: ${l.demoted.detail}. Consumers no longer enter with it.</div>`
    : html``;
  if (l.trades.length === 0 && l.monitoring === null) return html`${head}<p class="muted" id="live">No live feedback for this model yet.</p>`;
  const rep = (l.monitoring?.report ?? {}) as ReportShape;
  const checks = rep.checks ?? [];
  const buckets = rep.buckets ?? [];
  let eq = 0;
  const curve = l.trades.map((t) => (eq += t.net_bps));
  const plot =
    l.trades.length > 0
      ? raw(lineChart({ id: 'live-equity', title: 'Live: cumulative realised net bps', yLabel: 'bps', series: [{ name: 'live', x: l.trades.map((t) => Date.parse(t.exit_ts)), y: curve, step: true }] }))
      : raw('');
  return html`${head}<div id="live"><p class="small">${l.trades.length} live trade(s) reported${l.monitoring ? html`; last monitored ${fmtTime(l.monitoring.at)}${l.monitoring.breach ? html` — <span class="reason">breach: ${l.monitoring.breach}</span>` : html` — no breach`}` : html``}.</p>
${checks.length > 0 ? html`<table class="live-checks"><thead><tr><th>Rule</th><th class="num">Value</th><th class="num">Bound</th><th>Verdict</th><th>Why</th></tr></thead><tbody>${checks.map((c) => html`<tr data-rule="${c.rule}"><td>${c.rule}</td><td class="num mono">${n2(c.value)}</td><td class="num mono">${n2(c.bound)}</td><td>${badge(c.breached ? 'fail' : 'pass')}</td><td class="small">${c.detail}</td></tr>`)}</tbody></table>` : html`<p class="muted small">Too few live trades for the rules to judge yet.</p>`}
${buckets.length > 0 ? html`<table class="live-buckets" style="margin-top:12px"><thead><tr><th>Predicted bps (quartile)</th><th class="num">Trades</th><th class="num">Mean predicted</th><th class="num">Mean realised</th></tr></thead><tbody>${buckets.map((b) => html`<tr><td class="mono">${n2(b.from_bps)} … ${n2(b.to_bps)}</td><td class="num">${b.trades}</td><td class="num mono">${n2(b.predicted_bps)}</td><td class="num mono">${n2(b.realised_bps)}</td></tr>`)}</tbody></table>` : html``}
${(rep.drift ?? []).length > 0 ? html`<table class="live-drift" style="margin-top:12px"><thead><tr><th>Input (largest PSI first)</th><th class="num">PSI</th><th>Reading</th></tr></thead><tbody>${rep.drift!.slice(0, 10).map((d) => html`<tr><td class="mono">${d.name}</td><td class="num mono">${n2(d.psi)}</td><td>${d.psi > 0.25 ? badge('fail', 'drifted') : d.psi > 0.1 ? badge('pending', 'some shift') : badge('pass', 'stable')}</td></tr>`)}</tbody></table>` : html``}
${l.trades.length > 0 ? html`<div class="plot-box">${plot}</div>` : html``}</div>`;
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

/** Every trial counted: the manifest's deflated Sharpe (N, V, SR₀, DSR, MinTRL) and the run's false-discovery decision. */
function countedTrials(m: ModelDetail): SafeHtml {
  const d = deflatedSharpeSchema.safeParse(m.manifest.deflated_sharpe);
  const f = falseDiscoverySchema.safeParse(m.manifest.false_discovery);
  if (!d.success && !f.success) return html`<p class="muted" id="counted-trials">This manifest predates the trial ledger: no deflated Sharpe or false-discovery decision recorded.</p>`;
  const n4 = (x: number | null): string => (x === null ? '–' : String(Number(x.toPrecision(4))));
  const rows: [string, string, string][] = [];
  if (d.success) {
    const v = d.data;
    rows.push(
      ['trials N', String(v.n), v.lookback_from === null ? 'no ledger consulted: this evaluation alone' : `the ledger's trials of ${v.lookback_from} → ${v.lookback_to}, this one included`],
      ['effective N', String(v.n_effective), 'clusters of correlated daily P&L'],
      ['V', n4(v.variance), "variance of the trials' daily Sharpes"],
      ['SR₀', n4(v.sr0), 'expected best daily Sharpe of N skill-less trials'],
      ['daily Sharpe', n4(v.sharpe_daily), `${v.oos_days} out-of-sample days, skew ${n4(v.skew)}, kurtosis ${n4(v.kurtosis)}`],
      ['PSR(0)', n4(v.psr0), 'probability the Sharpe is above 0'],
      ['DSR', n4(v.dsr), `the smaller of i.i.d. ${n4(v.dsr_iid)} and Newey–West robust ${n4(v.dsr_robust)}: what the deflated_sharpe gate uses`],
      ['DSR at effective N', n4(v.dsr_effective), 'reported beside; the gate uses N (the stricter)'],
      ['MinTRL (days)', v.min_track_record_days === null ? '∞' : n4(v.min_track_record_days), 'days of record needed for PSR(SR₀) ≥ 0.95'],
    );
  }
  if (f.success) {
    const v = f.data;
    rows.push(
      ['FDR p', n4(v.p), '1 − PSR(0)'],
      [`${v.method.toUpperCase()}-adjusted p`, n4(v.p_adjusted), `over the run's ${v.candidates} candidate(s) at q = ${v.q}: ${v.survived ? 'survived' : 'rejected'} (${v.decided_by})`],
    );
  }
  return html`<table class="counted" id="counted-trials"><tbody>${rows.map(([k, v, note]) => html`<tr data-count="${k}"><td>${k}</td><td class="num mono">${v}</td><td class="small">${note}</td></tr>`)}</tbody></table>`;
}

/** The break-even cost and the cost curve: Sharpe and profit factor of the same trades re-priced at every round-trip cost. */
function breakEven(m: ModelDetail): SafeHtml {
  const r = breakEvenSchema.safeParse(m.manifest.break_even);
  if (!r.success) return html`<p class="muted" id="break-even">This manifest predates the break-even cost.</p>`;
  const b = r.data;
  const n2 = (x: number | null): string => (x === null ? '–' : x.toFixed(2));
  const summary =
    b.trades === 0
      ? html`<p id="break-even">No out-of-sample trades: no cost curve.</p>`
      : b.round_trip_bps === null
        ? html`<p id="break-even">No break-even: the trades fail Sharpe ≥ ${b.min_sharpe} or PF ≥ ${b.min_profit_factor} even at 0 bps (they paid ${n2(b.paid_round_trip_bps)} bps a round trip).</p>`
        : html`<p id="break-even">Break-even round-trip cost <b class="mono">${n2(b.round_trip_bps)} bps</b>: the same ${b.trades} trades, re-priced with entries and exits held fixed, pass Sharpe ≥ ${b.min_sharpe} and PF ≥ ${b.min_profit_factor} up to it. They paid ${n2(b.paid_round_trip_bps)} bps (margin ${n2(b.margin_bps)} bps).</p>`;
  if (b.curve.length === 0) return summary;
  const x = b.curve.map((p) => p.cost_bps);
  const markers = [
    ...(b.paid_round_trip_bps !== null ? [{ x: b.paid_round_trip_bps, label: 'paid' }] : []),
    ...(b.round_trip_bps !== null ? [{ x: b.round_trip_bps, label: 'break-even' }] : []),
    // The shipped venue profiles, at what these trades would have paid there.
    ...(b.venues ?? []).map((v) => ({ x: v.round_trip_bps, label: v.profile.replace(/^binance-/, '').replace(/@\d+$/, '') })),
  ];
  const sharpe = lineChart({ id: 'cost-sharpe', title: `Sharpe against round-trip cost (bound ${b.min_sharpe})`, xKind: 'number', xLabel: 'round-trip cost, bps', yLabel: 'Sharpe', baseline: b.min_sharpe, markers, series: [{ name: 'Sharpe', x, y: b.curve.map((p) => p.sharpe) }] });
  const pf = lineChart({ id: 'cost-pf', title: `Profit factor against round-trip cost (bound ${b.min_profit_factor})`, xKind: 'number', xLabel: 'round-trip cost, bps', yLabel: 'PF', baseline: b.min_profit_factor, markers, series: [{ name: 'profit factor', x, y: b.curve.map((p) => p.profit_factor ?? NaN), color: '#7c3aed' }] });
  return html`${summary}<div class="plot-box" id="cost-curve">${raw(sharpe)}${raw(pf)}</div>`;
}

const day = (iso: string): string => fmtTime(iso).slice(0, 10);

/** The fold table's columns: a label and how to read the cell from a fold row. */
const FOLD_COLUMNS: readonly { label: string; num: boolean; cell: (f: FoldReport) => string }[] = [
  { label: 'Fold', num: true, cell: (f) => String(f.fold) },
  { label: 'Test window', num: false, cell: (f) => `${day(f.test_start)} → ${day(f.test_end)}` },
  { label: 'Train rows', num: true, cell: (f) => fmtMetric('train_rows', f.train_rows) },
  { label: 'Purged', num: true, cell: (f) => fmtMetric('purged', f.purged) },
  { label: 'Embargoed', num: true, cell: (f) => fmtMetric('embargoed', f.embargoed) },
  { label: 'Test coverage', num: true, cell: (f) => fmtMetric('coverage.test', f.coverage.test) },
  { label: 'Threshold bps', num: true, cell: (f) => fmtMetric('threshold.threshold_bps', f.threshold?.threshold_bps) },
  { label: 'Rank IC', num: true, cell: (f) => fmtMetric('rank_ic', f.rank_ic) },
  { label: 'Trades', num: true, cell: (f) => fmtMetric('metrics.total_trades', f.metrics?.total_trades) },
  // A fold without trades has no win rate (or profit factor): "–", as the CLI prints it.
  { label: 'Win rate', num: true, cell: (f) => (f.metrics && f.metrics.total_trades === 0 ? '–' : fmtMetric('metrics.win_rate', f.metrics?.win_rate)) },
  { label: 'Profit GBP', num: true, cell: (f) => fmtMetric('metrics.total_profit_gbp', f.metrics?.total_profit_gbp) },
  { label: 'Sharpe', num: true, cell: (f) => fmtMetric('metrics.sharpe_ratio', f.metrics?.sharpe_ratio) },
  { label: 'Profit factor', num: true, cell: (f) => (f.metrics && f.metrics.total_trades === 0 ? '–' : fmtMetric('metrics.profit_factor', f.metrics?.profit_factor)) },
  { label: 'Max DD GBP', num: true, cell: (f) => fmtMetric('metrics.max_drawdown', f.metrics?.max_drawdown) },
];

/** Columns up to the test window identify a fold; a skipped fold's reason spans the rest. */
const FOLD_LEAD = 2;

/** The per-fold table of folds.json. */
function foldTable(rows: readonly FoldReport[]): SafeHtml {
  const td = (f: FoldReport, c: (typeof FOLD_COLUMNS)[number]) => html`<td class="${c.num ? 'num' : 'nowrap'}">${c.cell(f)}</td>`;
  return html`<div style="overflow-x:auto"><table class="folds"><thead><tr>${FOLD_COLUMNS.map((c) => html`<th class="${c.num ? 'num' : ''}">${c.label}</th>`)}</tr></thead><tbody>
${rows.map((f) =>
  f.skipped
    ? html`<tr class="muted skipped">${FOLD_COLUMNS.slice(0, FOLD_LEAD).map((c) => td(f, c))}<td colspan="${FOLD_COLUMNS.length - FOLD_LEAD}">skipped: ${f.skip_reason ?? 'no reason recorded'}</td></tr>`
    : html`<tr>${FOLD_COLUMNS.map((c) => td(f, c))}</tr>`,
)}
</tbody></table></div>`;
}

function plots(p: ModelPlots): SafeHtml {
  if (p.bundleError !== null) {
    return html`${missing('equity data', p.bundleError)}${missing('feature importance', p.bundleError)}`;
  }
  const parts: SafeHtml[] = [];
  if (p.equity.ok) {
    const e = p.equity.value;
    const unit = e.unit;
    const markers = e.folds.map((f) => ({ x: f.start, label: `F${f.index}` }));
    // The axis spans every test window, from the first fold's start to the last one's end.
    const xInclude = e.folds.flatMap((f) => [f.start, f.end]);
    parts.push(html`<div class="plot-box" id="equity-plot">${raw(lineChart({ id: 'equity', title: `Out-of-sample equity (${unit}), fold test windows marked`, series: [{ name: 'equity', x: e.t, y: e.equity, step: true }], markers, xInclude, yLabel: unit }))}</div>`);
    const dd = drawdown(e.equity);
    const deepest = dd.reduce((lo, v) => (Number.isFinite(v) && v < lo ? v : lo), 0);
    // The plot's deepest point, as a number the browser test compares with the card (and the CLI).
    parts.push(html`<div class="plot-box" id="drawdown-plot" data-max-drawdown="${(-deepest).toFixed(2)}">${raw(lineChart({ id: 'drawdown', title: `Drawdown (${unit})`, series: [{ name: 'drawdown', x: e.t, y: dd, area: true, step: true, color: '#dc2626' }], markers, xInclude, yLabel: unit }))}</div>`);
  } else {
    parts.push(missing('equity data', p.equity.reason));
  }
  if (p.importance.ok) {
    const all = p.importance.value.items;
    const top = all.slice(0, p.topFeatures);
    const kind = p.importance.value.kind;
    parts.push(html`<div class="plot-box" id="importance-plot">${raw(barChart({ id: 'importance', title: `Feature importance (${kind}): top ${top.length} of ${all.length}`, items: top.map((i) => ({ label: i.name, value: i.value })) }))}</div>`);
  } else {
    parts.push(missing('feature importance', p.importance.reason));
  }
  return html`${parts}`;
}

/** When the model goes stale (`expires_at`): the consumer refuses it after. */
function expiry(m: ModelDetail): SafeHtml {
  const at = (m.manifest as { expires_at?: unknown }).expires_at;
  if (typeof at !== 'string') return html``;
  const past = Date.parse(at) < Date.now();
  return html` · <span id="expires" class="${past ? 'reason' : ''}">${past ? 'expired' : 'expires'} ${fmtTime(at)}</span>`;
}

/** The settings that differ from the defaults (zero costs, loosened gates…), said before any number is read. */
function nonDefault(m: ModelDetail): SafeHtml {
  const list = (m.manifest as { non_default_settings?: unknown }).non_default_settings;
  if (!Array.isArray(list) || list.length === 0) return html``;
  return html`<div class="banner warn" id="non-default"><b>Trained with non-default settings</b> — its numbers are not comparable with a default model's:<ul>${list.map((x) => html`<li class="mono small">${String(x)}</li>`)}</ul></div>`;
}

/** A model: verdict, metrics, gate table, plots, fold table, manifest and artifacts. */
export function modelPage(ctx: PageContext, m: ModelDetail, p: ModelPlots): string {
  const manifestJson = JSON.stringify(m.manifest, null, 2);
  const artifacts = Object.entries(m.manifest.artifacts ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const body = html`<p class="small"><a href="/">Fleet</a> › <a href="${symbolHref(m.symbol)}">${m.symbol}</a> › ${m.runDate}</p>
<h1>${m.symbol} · ${m.runDate} ${badge(m.verdict)} ${m.live ? badge('live') : html``} ${m.rolledBackAt !== null ? badge('rolled-back', `rolled back ${fmtTime(m.rolledBackAt)}`) : html``}</h1>
<p class="small muted">Model <span class="mono">${m.id}</span> · trained ${fmtTime(m.createdAt)}${expiry(m)} · recipe ${m.recipeVersion} <span class="mono">${m.recipeHash.slice(0, 12)}</span> · sync ${badge(m.syncState)}${m.lastSyncError ? html` <span class="reason">${m.lastSyncError}</span>` : html``}</p>
${nonDefault(m)}
<div class="cards">${HEADLINE_METRICS.map((k) => html`<div class="card"><div class="k">${k.label}</div><div class="v">${fmtMetric(k.key, m.metrics[k.key])}</div></div>`)}</div>
${m.verdict === 'rejected' ? html`<h2>Why it was rejected</h2><ul>${m.reasons.map((r) => html`<li class="reason">${r}</li>`)}</ul>` : html``}
<h2>Live</h2>${livePanel(p.live)}
<h2>Gates</h2>${gateTable(m)}
<h2>Every trial counted</h2>${countedTrials(m)}
<p class="small"><a id="trials-link" href="${trialsHref(m.symbol)}">Trials of ${m.symbol}</a>: every configuration evaluated for it, and the deflated Sharpe at the true trial count.</p>
<h2>Break-even cost</h2>${breakEven(m)}
<h2>Out-of-sample performance</h2>${plots(p)}
<h2>Walk-forward folds</h2>${p.bundleError !== null ? missing('fold table', p.bundleError) : p.folds.ok ? foldTable(p.folds.value) : missing('fold table', p.folds.reason)}
<h2>Manifest and artifacts</h2>
<details id="manifest"><summary>manifest.json (${manifestJson.length.toLocaleString('en-US')} characters)</summary><pre class="json mono">${manifestJson}</pre></details>
<details><summary>Artifacts (${artifacts.length})</summary><table><thead><tr><th>File</th><th>SHA-256</th><th>Published at</th></tr></thead><tbody>
${artifacts.map(([name, sha]) => html`<tr><td class="mono">${name}</td><td class="mono small">${sha}</td><td class="mono small">${m.publishedFiles?.[name]?.path ?? '–'}</td></tr>`)}
</tbody></table></details>`;
  return layout(`${m.symbol} ${m.runDate}`, ctx, body);
}
