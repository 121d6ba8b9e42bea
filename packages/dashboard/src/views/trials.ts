import type { StoredTrial } from '@engine/registry';
import { MIN_DSR } from '@engine/fleet';
import { html, raw, type SafeHtml } from '../html';
import { histogram } from '../plot';
import { MAX_TRIAL_DAYS, MAX_TRIAL_ROWS, trialsQueryString } from '../trials-query';
import type { CandidateDeflation, TrialsReport } from '../trials-report';
import { badge, fmtNum, modelHref, shortId, symbolHref, trialsHref } from './format';
import { layout, type PageContext } from './layout';

/** Crypto trades every day of the year: a daily Sharpe annualises by √365. */
const ANNUALISE = Math.sqrt(365);

/** The first 12 hex digits of a config hash (the full hash is in the title). */
const shortHash = (h: string): string => h.slice(0, 12);

const annualised = (daily: number | null): string => fmtNum(daily === null ? null : daily * ANNUALISE);

const CHOSEN: Record<CandidateDeflation['chosen'], string> = {
  live: "the live model's trial",
  query: 'chosen with ?candidate=',
  newest: 'the newest counted trial of the window',
};

/** The filter form: a plain GET form, so the page needs no script. */
function filters(r: TrialsReport): SafeHtml {
  const q = r.query;
  return html`<form class="filters" method="get" action="${trialsHref(r.symbol)}">
<label>Last <input type="number" name="days" min="1" max="${MAX_TRIAL_DAYS}" value="${q.days}"> days</label>
<label><input type="checkbox" name="controls" value="1"${q.includeControls ? raw(' checked') : ''}> list controls</label>
<label>Candidate <input type="text" name="candidate" class="mono" size="24" placeholder="hash, or ≥ 8-digit prefix" value="${q.candidate ?? ''}"></label>
<button class="action" type="submit">Show</button></form>`;
}

function modelCell(t: StoredTrial, known: ReadonlySet<string>): SafeHtml {
  if (t.modelId === null) return html`–`;
  if (known.has(t.modelId)) return html`<a class="mono" href="${modelHref(t.modelId)}" title="${t.modelId}">${shortId(t.modelId)}</a>`;
  return html`<span class="mono muted" title="${t.modelId}: not in the registry (a sweep's evaluation records a trial but no model)">${shortId(t.modelId)}</span>`;
}

function ledgerTable(r: TrialsReport): SafeHtml {
  const cand = r.candidate?.trial;
  const isCand = (t: StoredTrial) => cand !== undefined && t.configHash === cand.configHash && t.runDate === cand.runDate;
  const note = r.leftOut > 0
    ? html`<p class="missing small" data-left-out="${r.leftOut}">Showing the newest ${MAX_TRIAL_ROWS} rows: ${r.leftOut.toLocaleString('en-US')} older rows of the window are left out. Narrow the window with fewer days to see them.</p>`
    : html``;
  if (r.rows.length === 0) {
    return html`<p class="muted">No ${r.query.includeControls ? 'trial or control' : 'counted trial'} of ${r.symbol} with a run date in ${r.from} → ${r.to}${r.controls > 0 && !r.query.includeControls ? html` (${r.controls} control(s): <a href="${trialsHref(r.symbol)}${trialsQueryString(r.query, { includeControls: true })}">list them</a>)` : ''}.</p>`;
  }
  return html`${note}<div style="overflow-x:auto"><table class="trials"><thead><tr><th>Run date</th><th>Config</th><th>Family</th><th>Source</th><th>Control</th><th class="num" title="out-of-sample days">T</th><th class="num">Sharpe (daily)</th><th class="num">Sharpe (ann.)</th><th class="num">PSR(0)</th><th>Model</th></tr></thead><tbody>
${r.rows.map(
  (t) => html`<tr data-config="${t.configHash}" data-run-date="${t.runDate}" data-control="${t.isControl ? '1' : '0'}" class="${[t.isControl ? 'control' : '', isCand(t) ? 'candidate' : ''].join(' ').trim()}">
<td class="nowrap">${t.runDate}${isCand(t) ? html` ${badge('candidate')}` : ''}</td>
<td><a class="mono" href="${trialsHref(r.symbol)}${trialsQueryString(r.query, { candidate: t.configHash })}" title="${t.configHash} (make it the candidate)">${shortHash(t.configHash)}</a></td>
<td>${t.modelFamily}</td><td>${t.source}</td><td>${t.isControl ? badge('control') : ''}</td>
<td class="num">${fmtNum(t.oosDays)}</td><td class="num">${fmtNum(t.sharpe)}</td><td class="num">${annualised(t.sharpe)}</td><td class="num">${fmtNum(t.psr0)}</td>
<td>${modelCell(t, r.knownModels)}</td></tr>`,
)}</tbody></table></div>`;
}

/** The candidate's numbers beside the histogram: what the deflated-Sharpe gate computes for it. */
function candidateTable(r: TrialsReport, c: CandidateDeflation): SafeHtml {
  const d = c.deflation;
  const t = c.trial;
  const pass = d.dsr >= MIN_DSR;
  const row = (k: string, key: string, v: SafeHtml | string, hint = '') => html`<tr data-k="${key}"><th>${k}${hint ? html`<div class="small muted">${hint}</div>` : ''}</th><td class="num">${v}</td></tr>`;
  return html`<table class="deflation">
<caption>Candidate <a class="mono" href="${trialsHref(r.symbol)}${trialsQueryString(r.query, { candidate: t.configHash })}" title="${t.configHash}">${shortHash(t.configHash)}</a>, run ${t.runDate}
<div class="small muted">${CHOSEN[c.chosen]}${t.isControl ? html` · ${badge('control')} judged against the counted trials, never counted itself` : ''}</div></caption>
<tbody>
${row('N', 'n', fmtNum(d.n), 'trials counted, the candidate included')}
${row('Effective N', 'n_effective', fmtNum(d.n_effective), 'clusters of correlated daily P&L')}
${row('V', 'variance', fmtNum(d.variance), "variance of the trials' daily Sharpes")}
${row('SR₀ (daily)', 'sr0', html`${fmtNum(d.sr0)} <span class="muted small">(${annualised(d.sr0)} ann.)</span>`, 'expected best Sharpe of N skill-less trials')}
${row('Sharpe (daily)', 'sharpe', html`${fmtNum(t.sharpe)} <span class="muted small">(${annualised(t.sharpe)} ann.)</span>`, `over T = ${fmtNum(t.oosDays)} days`)}
${row('DSR', 'dsr', html`${fmtNum(d.dsr)} ${badge(pass ? 'pass' : 'fail', pass ? `≥ ${MIN_DSR}` : `< ${MIN_DSR}`)}`, `the gate's value: min of i.i.d. ${fmtNum(d.dsr_iid)} and robust ${fmtNum(d.dsr_robust)}`)}
${row('DSR at effective N', 'dsr_effective', fmtNum(d.dsr_effective))}
${row('MinTRL (days)', 'min_track_record_days', fmtNum(Number.isFinite(d.min_track_record_days) ? Math.ceil(d.min_track_record_days) : d.min_track_record_days), 'days for PSR(SR₀) to reach 0.95')}
</tbody></table>`;
}

function deflationSection(r: TrialsReport): SafeHtml {
  const c = r.candidate;
  if (c === null) {
    return html`<p class="muted">No counted trial to deflate: the live model has no trial in the ledger and the window holds no counted trial. Choose one with ?candidate= or widen the window.</p>`;
  }
  const d = c.deflation;
  const markers = [
    ...(c.trial.sharpe !== null ? [{ x: c.trial.sharpe, label: `candidate ${fmtNum(c.trial.sharpe)}`, color: '#dc2626', className: 'candidate' }] : []),
    { x: d.sr0, label: `SR₀ ${fmtNum(d.sr0)}`, dashed: true, className: 'sr0' },
  ];
  const svg = histogram({
    id: 'trial-sharpes',
    // Taller than the default: it stands beside the candidate's table.
    height: 340,
    title: `Daily Sharpe of ${c.sharpes.length} counted trial(s), run dates ${c.from} → ${c.to}`,
    values: c.sharpes,
    markers,
    xLabel: 'daily Sharpe (not annualised)',
    unit: 'trial(s)',
  });
  return html`<div class="trials-top">
<div class="plot-box" id="trials-histogram">${raw(svg)}</div>
<div class="candidate-box">${candidateTable(r, c)}</div></div>
<p class="small muted">N, V and the histogram count the trials of ${r.symbol} with a run date in ${c.from} → ${c.to}: the 90 days before the candidate's run date and that day, as the fleet's sweep ranking counts them. Controls are not counted.${c.withoutSharpe > 0 ? ` ${c.withoutSharpe} counted trial(s) without a Sharpe (no variance) enter N and V as 0 and are not drawn.` : ''}${c.trial.sharpe === null ? ' The candidate has no Sharpe (no variance): it is not marked.' : ''}</p>`;
}

/** A symbol's trials: the ledger rows of a window, a histogram of the counted Sharpes and the candidate's deflated Sharpe. */
export function trialsPage(ctx: PageContext, r: TrialsReport): string {
  const crumbs = html`<p class="small"><a href="/">Fleet</a> › <a href="${symbolHref(r.symbol)}">${r.symbol}</a> › trials</p>`;
  const intro = html`<p class="small muted">Every evaluated configuration is a trial: the fleet's daily runs, <span class="mono">engine train</span> and sweeps all record one in the ledger. Controls (a permuted target, extra feature columns) are recorded but <strong>not counted</strong>: they are left out of N, V, the histogram and the deflated Sharpe.</p>`;
  const liveNote = r.liveWithoutTrial !== null
    ? html`<p class="small muted">The live model <a class="mono" href="${modelHref(r.liveWithoutTrial)}">${shortId(r.liveWithoutTrial)}</a> has no trial in the ledger (recorded before the ledger existed?): the candidate is ${r.candidate === null ? 'none' : CHOSEN[r.candidate.chosen]}.</p>`
    : html``;
  if (r.rows.length === 0 && r.counted === 0 && r.controls === 0 && r.candidate === null) {
    const wider = r.query.days < MAX_TRIAL_DAYS ? html` <a href="${trialsHref(r.symbol)}${trialsQueryString(r.query, { days: MAX_TRIAL_DAYS })}">Look back ${MAX_TRIAL_DAYS} days</a>.` : html``;
    const body = html`${crumbs}<h1>Trials of ${r.symbol}</h1>${filters(r)}
<div class="missing" id="no-trials">No trials recorded for ${r.symbol} in the last ${r.query.days} days (run dates ${r.from} → ${r.to}).${wider}</div>${intro}${liveNote}`;
    return layout(`Trials of ${r.symbol}`, ctx, body);
  }
  const body = html`${crumbs}<h1>Trials of ${r.symbol}</h1>${filters(r)}
<div class="cards">
  <div class="card"><div class="k">Counted trials</div><div class="v" id="counted">${fmtNum(r.counted)}</div></div>
  <div class="card"><div class="k">Configurations</div><div class="v">${fmtNum(r.configurations)}</div></div>
  <div class="card"><div class="k">Controls (not counted)</div><div class="v" id="controls">${fmtNum(r.controls)}</div></div>
  <div class="card"><div class="k">Run dates</div><div class="v small">${r.from} → ${r.to}</div></div>
</div>
${intro}${liveNote}
<h2>Deflated Sharpe of the candidate</h2>${deflationSection(r)}
<h2>Ledger, newest first${r.query.includeControls ? ', controls listed' : ''}</h2>${ledgerTable(r)}`;
  return layout(`Trials of ${r.symbol}`, ctx, body);
}
