import { html } from '../html';
import type { FleetStatus, SymbolStatus } from '../fleet-status';
import { nonDefaultBadge, badge, fmtMetric, fmtNum, fmtTime, modelHref, shortId, symbolHref } from './format';
import { layout, type PageContext } from './layout';
import { eventsTable, failedJobsTable, retryButton } from './parts';

function why(ctx: PageContext, s: SymbolStatus) {
  if (s.lastRun === null) return html`<span class="muted">never trained</span>`;
  if (s.lastRun.outcome === 'failed' && s.failure !== null) {
    return html`<div class="reason">${s.failure.reason}</div><div class="small muted">job ${s.failure.id}, ${s.failure.attemptsMade} attempt(s) ${retryButton(ctx, s.failure, '/')}</div>`;
  }
  if (s.latest !== null && s.latest.verdict === 'rejected') {
    return html`${s.latest.reasons.map((r) => html`<div class="reason">${r}</div>`)}`;
  }
  if (s.latest !== null) {
    const m = s.latest.metrics;
    return html`<span class="small">Sharpe ${fmtMetric('sharpe_ratio', m.sharpe_ratio)}, PF ${fmtMetric('profit_factor', m.profit_factor)}, win rate ${fmtMetric('win_rate', m.win_rate)}, ${fmtNum(m.total_trades)} trades</span>`;
  }
  return html``;
}

/** The fleet today: one row per symbol, then queues, failed jobs and the latest publish-log entries. */
export function fleetPage(ctx: PageContext, f: FleetStatus, notice?: { text: string; error?: boolean }): string {
  const tally = { published: 0, rejected: 0, failed: 0, none: 0 };
  for (const s of f.symbols) tally[s.lastRun?.outcome ?? 'none']++;
  const now = ctx.now ?? Date.now();
  const newest = f.symbols.reduce<string | null>((acc, s) => (s.lastRun !== null && (acc === null || s.lastRun.runDate > acc) ? s.lastRun.runDate : acc), null);
  // A run date is the UTC day it ran: older than two days means at least one daily run is missing.
  const ageDays = newest === null ? null : Math.floor((now - Date.parse(`${newest}T00:00:00Z`)) / 86_400_000);
  const stale = ageDays !== null && ageDays >= 2;
  const body = html`<h1>Fleet</h1>
<p class="small muted" id="as-of">As of ${fmtTime(new Date(now).toISOString())} · newest run ${newest === null ? 'none yet' : html`${newest} (${ageDays === 0 ? 'today' : ageDays === 1 ? 'yesterday' : `${ageDays} days ago`})`}${ctx.queues ? html` · next scheduled run <span id="next-run">${f.nextRun === null ? 'none (no schedule in Redis: is the scheduler running?)' : fmtTime(new Date(f.nextRun).toISOString())}</span>` : html``}</p>
${stale ? html`<div class="banner warn" id="stale"><b>No run for ${ageDays} days.</b> The newest models are from ${newest}; live models expire after ENGINE_MODEL_TTL_HOURS (default 48 h) and consumers then stop trading them. Check the scheduler and the training workers.</div>` : html``}
<div class="cards">
  <div class="card"><div class="k">Symbols</div><div class="v">${f.symbols.length}</div></div>
  <div class="card"><div class="k">Live models</div><div class="v">${f.symbols.filter((s) => s.live !== null).length}</div></div>
  <div class="card"><div class="k">Last run published</div><div class="v">${tally.published}</div></div>
  <div class="card"><div class="k">Last run rejected</div><div class="v">${tally.rejected}</div></div>
  <div class="card"><div class="k">Last run failed</div><div class="v">${tally.failed}</div></div>
${ctx.queues ? f.workers.map((w) => html`<div class="card" data-workers="${w.queue}" title="${w.names.join(', ')}"><div class="k">${w.queue === 'run' ? 'scheduler' : `${w.queue} workers`}</div><div class="v${w.count === 0 ? ' reason' : ''}">${w.count}</div></div>`) : html``}
</div>
${ctx.queues && f.workers.some((w) => w.queue === 'train' && w.count === 0) ? html`<div class="banner warn" id="no-workers"><b>No training worker is connected.</b> Jobs wait in the queue until one starts.</div>` : html``}
<table class="fleet"><thead><tr><th>Symbol</th><th>Live model</th><th>Last run</th><th>Outcome and why</th></tr></thead><tbody>
${f.symbols.map(
  (s) => html`<tr data-symbol="${s.symbol}"><td><a href="${symbolHref(s.symbol)}"><strong>${s.symbol}</strong></a></td>
<td>${s.live === null ? badge('none', 'none') : html`<a href="${modelHref(s.live.modelId)}" title="${s.live.modelId}">${s.live.runDate}</a> <span class="mono muted">${shortId(s.live.modelId)}</span>${s.live.demoted ? html` ${badge('rejected', 'demoted')}<div class="reason small">${s.live.demoted.rule}: ${s.live.demoted.detail}</div>` : html``}<div class="small muted">since ${fmtTime(s.live.since)}</div>`}</td>
<td>${s.lastRun === null ? '–' : html`${s.latest !== null && s.lastRun.outcome !== 'failed' ? html`<a href="${modelHref(s.latest.id)}">${s.lastRun.runDate}</a>` : s.lastRun.runDate} ${badge(s.lastRun.outcome)}${s.latest !== null && s.lastRun.outcome !== 'failed' ? nonDefaultBadge(s.latest.nonDefaultSettings) : html``}`}</td>
<td>${why(ctx, s)}</td></tr>`,
)}</tbody></table>
${ctx.queues
  ? html`<h2>Queues</h2><table class="queues"><thead><tr><th>Queue</th><th class="num">Waiting</th><th class="num">Active</th><th class="num">Delayed</th><th class="num">Waiting children</th><th class="num">Failed</th><th class="num">Completed</th></tr></thead><tbody>
${f.counts.map((q) => html`<tr><td><a href="/queues/queue/${encodeURIComponent(q.queue)}">${q.queue}</a></td><td class="num">${fmtNum(q.counts.waiting)}</td><td class="num">${fmtNum(q.counts.active)}</td><td class="num">${fmtNum(q.counts.delayed)}</td><td class="num">${fmtNum(q.counts['waiting-children'])}</td><td class="num">${fmtNum(q.counts.failed)}</td><td class="num">${fmtNum(q.counts.completed)}</td></tr>`)}
</tbody></table><p class="small"><a href="/queues">Open Bull Board</a> for job lists, progress, logs and cleaning.</p>
<h2>Failed jobs</h2>${failedJobsTable(ctx, f.failed, '/')}`
  : html`<h2>Queues</h2><p class="muted">No Redis configured (single-machine mode): there are no queues to show.</p>`}
<h2>Publish log</h2>${eventsTable(f.events, { showSymbol: true })}`;
  return layout('Fleet', ctx, body, { notice, active: 'fleet' });
}
