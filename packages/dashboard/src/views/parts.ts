import type { PublishEvent } from '@engine/registry';
import { html, type SafeHtml } from '../html';
import { retryCannotFix, type FailedJob } from '../queues';
import { badge, fmtTime, modelHref, shortId, symbolLink } from './format';
import type { PageContext } from './layout';

/** A retry button for a failed job (a CSRF-protected POST), or nothing in read-only mode. */
export function retryButton(ctx: PageContext, job: FailedJob, back: string): SafeHtml {
  if (ctx.readOnly) return html``;
  const fixed = retryCannotFix(job.reason);
  if (fixed !== null) return html`<span class="small muted" data-no-retry="${fixed}">no retry: the job itself is wrong (${fixed}); fix it and run again</span>`;
  return html`<form class="inline" method="post" action="/jobs/${encodeURIComponent(job.queue)}/${encodeURIComponent(job.id)}/retry">
<input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}"><input type="hidden" name="back" value="${back}">
<button class="action" type="submit" data-job="${job.id}">Retry</button></form>`;
}

/** Failed jobs with their reasons and retry buttons. */
export function failedJobsTable(ctx: PageContext, jobs: readonly FailedJob[], back: string): SafeHtml {
  if (jobs.length === 0) return html`<p class="muted">No failed jobs.</p>`;
  return html`<table class="failed-jobs"><thead><tr><th>Queue</th><th>Job</th><th>Symbol</th><th>Run date</th><th>Failed</th><th class="num">Attempts</th><th>Reason</th><th></th></tr></thead><tbody>
${jobs.map(
  (j) => html`<tr data-job="${j.id}"><td>${j.queue}</td><td class="mono">${j.id}</td><td>${j.symbol === null ? '–' : symbolLink(j.symbol)}</td>
<td>${j.runDate ?? '–'}</td><td class="small">${fmtTime(j.failedAt)}</td><td class="num">${j.attemptsMade}</td><td class="reason">${j.reason}</td><td>${retryButton(ctx, j, back)}</td></tr>`,
)}</tbody></table>`;
}

const EVENT_KIND: Record<string, string> = {
  held: 'pending',
  published: 'published',
  rejected: 'rejected',
  rolled_back: 'rolled-back',
  synced: 'synced',
  sync_failed: 'failed',
  duplicate_ignored: 'pending',
  pointer_updated: 'synced',
};

/** The publish log: when, what, which model, who and why. */
export function eventsTable(events: readonly PublishEvent[], opts: { showSymbol: boolean }): SafeHtml {
  if (events.length === 0) return html`<p class="muted">The publish log is empty.</p>`;
  return html`<table class="events"><thead><tr><th>When</th><th>Event</th>${opts.showSymbol ? html`<th>Symbol</th>` : html``}<th>Model</th><th>Who</th><th>Why</th></tr></thead><tbody>
${events.map(
  (e) => html`<tr data-event="${e.event}"><td class="small">${fmtTime(e.at)}</td><td>${badge(EVENT_KIND[e.event] ?? 'none', e.event.replace('_', ' '))}</td>
${opts.showSymbol ? html`<td>${symbolLink(e.symbol)}</td>` : html``}
<td class="mono">${e.modelId === null ? '–' : html`<a href="${modelHref(e.modelId)}" title="${e.modelId}">${shortId(e.modelId)}</a>`}</td>
<td>${e.actor}</td><td class="small">${e.reason ?? ''}</td></tr>`,
)}</tbody></table>`;
}
