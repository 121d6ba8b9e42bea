import type { LiveModelRecord, ModelSummary } from '@engine/registry';
import { pairSlug, parsePair } from '@engine/shared';
import { html } from '../html';
import { fmtTime, modelHref, shortId } from './format';
import { layout, type PageContext } from './layout';

/**
 * The confirmation page of a rollback: what is live, what would become live, and a
 * required reason. The registry decides the target when the form is posted; `next` is
 * what the history says it will be, shown so the operator knows what they are choosing.
 */
export function rollbackPage(ctx: PageContext, opts: { symbol: string; live: LiveModelRecord | null; next: ModelSummary | null; reason?: string; error?: string }): string {
  const slug = pairSlug(parsePair(opts.symbol));
  const live = opts.live;
  const body = html`<p class="small"><a href="/">Fleet</a> › <a href="/symbols/${slug}">${opts.symbol}</a> › roll back</p>
<h1>Roll back ${opts.symbol}</h1>
${opts.error ? html`<div class="notice error" role="alert">${opts.error}</div>` : html``}
${live === null
  ? html`<p>${opts.symbol} has no live model: there is nothing to roll back.</p>`
  : html`<div class="confirm">
<p>Live now: <a href="${modelHref(live.modelId)}">${live.runDate}</a> <span class="mono">${shortId(live.modelId)}</span>, live since ${fmtTime(live.since)}.</p>
<p>${opts.next === null
    ? html`<strong>No earlier published model is available</strong>: the registry will refuse the rollback and the live model stays live.`
    : html`After the rollback the previous published model becomes live: <a href="${modelHref(opts.next.id)}">${opts.next.runDate}</a> <span class="mono">${shortId(opts.next.id)}</span>.
The rolled-back model is marked, never goes live again by itself and stops counting in the gates' medians. Hamilton's <span class="mono">latest.json</span> follows at the next sync.`}</p>
<form method="post" action="/symbols/${slug}/rollback">
<input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}">
<input type="hidden" name="model" value="${live.modelId}">
<label for="reason">Reason (recorded in the publish log with your name, ${ctx.user ?? ''})</label>
<textarea id="reason" name="reason" required minlength="3" placeholder="e.g. live P&amp;L diverges from the backtest since 09:00">${opts.reason ?? ''}</textarea>
<p><button class="action danger" type="submit" id="confirm-rollback">Roll back ${opts.symbol}</button> <a class="button secondary" href="/symbols/${slug}">Cancel</a></p>
</form></div>`}`;
  return layout(`Roll back ${opts.symbol}`, ctx, body);
}
