import type { LiveModelRecord, ModelSummary, PublishEvent } from '@engine/registry';
import { pairSlug, parsePair } from '@engine/shared';
import { html } from '../html';
import type { FailedJob } from '../queues';
import { nonDefaultBadge, badge, fmtMetric, fmtTime, HEADLINE_METRICS, modelHref, shortId, trialsHref } from './format';
import { layout, type PageContext } from './layout';
import { eventsTable, failedJobsTable } from './parts';
import { livePanel, type LivePanel } from './model';

export interface SymbolHistory {
  symbol: string;
  live: LiveModelRecord | null;
  models: ModelSummary[];
  events: PublishEvent[];
  failed: FailedJob[];
  /** The live model's live panel (feedback, monitoring, demotion); absent without a live model. */
  livePanel?: LivePanel;
}

/** A symbol's history: live model, every model with verdict and metrics, failed jobs, its publish log. */
export function symbolPage(ctx: PageContext, h: SymbolHistory, notice?: { text: string; error?: boolean }): string {
  const slug = pairSlug(parsePair(h.symbol));
  const canRollBack = !ctx.readOnly && h.live !== null;
  const body = html`<p class="small"><a href="/">Fleet</a> › ${h.symbol}</p>
<h1>${h.symbol}</h1>
<div class="cards">
  <div class="card"><div class="k">Live model</div><div class="v">${h.live === null ? 'none' : html`<a href="${modelHref(h.live.modelId)}">${h.live.runDate}</a>`}</div>
  ${h.live === null ? html`` : html`<div class="small muted">since ${fmtTime(h.live.since)}</div>`}</div>
  <div class="card"><div class="k">Models recorded</div><div class="v">${h.models.length}</div></div>
  <div class="card"><div class="k">Published</div><div class="v">${h.models.filter((m) => m.verdict === 'published').length}</div></div>
  <div class="card"><div class="k">Rejected</div><div class="v">${h.models.filter((m) => m.verdict === 'rejected').length}</div></div>
</div>
<p><a class="button secondary" id="trials-link" href="${trialsHref(h.symbol)}">Trials and deflated Sharpe</a>
${canRollBack ? html` <a class="button secondary" id="rollback-link" href="/symbols/${slug}/rollback">Roll back the live model…</a>` : html``}</p>
${h.live !== null ? html`<h2>Live model in use</h2>${livePanel(h.livePanel)}` : html``}
<h2>Models</h2>
${h.models.length === 0
  ? html`<p class="muted">No model recorded for ${h.symbol} yet.</p>`
  : html`<table class="models"><thead><tr><th>Run date</th><th>Model</th><th>Verdict</th>${HEADLINE_METRICS.map((m) => html`<th class="num">${m.label}</th>`)}<th>Sync</th><th>Why</th></tr></thead><tbody>
${h.models.map(
  (m) => html`<tr data-model="${m.id}" class="${m.rolledBackAt !== null ? 'muted' : ''}"><td><a href="${modelHref(m.id)}">${m.runDate}</a></td><td class="mono" title="${m.id}">${shortId(m.id)}</td>
<td>${badge(m.verdict)} ${m.live ? badge('live') : html``} ${m.rolledBackAt !== null ? badge('rolled-back', 'rolled back') : html``}${nonDefaultBadge(m.nonDefaultSettings)}</td>
${HEADLINE_METRICS.map((k) => html`<td class="num">${fmtMetric(k.key, m.metrics[k.key])}</td>`)}
<td>${badge(m.syncState)}</td><td>${m.reasons.map((r) => html`<div class="reason small">${r}</div>`)}</td></tr>`,
)}</tbody></table>`}
${ctx.queues ? html`<h2>Failed jobs</h2>${failedJobsTable(ctx, h.failed, `/symbols/${slug}`)}` : html``}
<h2>Publish log</h2>${eventsTable(h.events, { showSymbol: false })}`;
  return layout(h.symbol, ctx, body, { notice });
}
