import type { BookName, ReplayReport, ReplayRequest, ReplayStep } from '@engine/fleet';
import { html, raw, type SafeHtml } from '../html';
import { lineChart, type LineSeries } from '../plot';
import { badge, fmtNum, shortId } from './format';
import { layout, type PageContext } from './layout';

const BOOK_LABEL: Record<BookName, string> = { factory: 'factory (live models)', gates_off: 'gates off (every model)', buy_and_hold: 'buy and hold', no_trading: 'no trading' };
const BOOK_COLOR: Record<BookName, string> = { factory: '#2563eb', gates_off: '#f59e0b', buy_and_hold: '#6b7280', no_trading: '#111827' };
const f1 = (x: number | null | undefined, d = 1): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));

/** Every replay in the registry's database and how far it got. */
export function replaysPage(ctx: PageContext, replays: { id: string; request: ReplayRequest; steps: number; decided: number; reported: boolean }[]): string {
  const body = html`<h1>Replays</h1>
<p class="small muted">The factory replayed through history (<span class="mono">engine replay</span>): each retrain date trained, gated and published into its own registry namespace, then traded minute by minute by the consumer's Trader. Production's models and pointers are never touched.</p>
${replays.length === 0
  ? html`<p class="muted" id="no-replays">No replay yet. Start one with <span class="mono">engine replay --symbols … --from … --to … --retrain-every 7d</span>.</p>`
  : html`<table class="replays"><thead><tr><th>Replay</th><th>Symbols</th><th>Span</th><th>Retrain</th><th class="num">Decided</th><th>Report</th></tr></thead><tbody>
${replays.map((r) => html`<tr data-replay="${r.id}"><td><a href="/replays/${r.id}" class="mono">${r.id}</a></td><td>${r.request.symbols.join(', ')}</td><td>${r.request.from} → ${r.request.to}</td><td>every ${r.request.retrainEveryDays} d, window ${r.request.windowDays} d</td>
<td class="num"><span data-progress="${r.decided}/${r.steps}">${r.decided} / ${r.steps}</span></td><td>${r.reported ? badge('published', 'ready') : badge('pending', r.decided < r.steps ? 'running' : 'simulating')}</td></tr>`)}
</tbody></table>`}`;
  return layout('Replays', ctx, body, { active: 'replays' });
}

function cumulative(daily: readonly number[]): number[] {
  let s = 0;
  return daily.map((v) => (s += v));
}

function drawdown(daily: readonly number[]): number[] {
  let s = 0;
  let peak = 0;
  return daily.map((v) => {
    s += v;
    peak = Math.max(peak, s);
    return s - peak;
  });
}

function equityCharts(id: string, title: string, days: readonly string[], books: ReplayReport['fleet']): SafeHtml {
  const x = days.map((d) => Date.parse(`${d}T00:00:00Z`) + 86_400_000);
  const series: LineSeries[] = (['factory', 'gates_off', 'buy_and_hold', 'no_trading'] as const).map((b) => ({ name: BOOK_LABEL[b], x, y: cumulative(books[b].daily), color: BOOK_COLOR[b], step: true }));
  const dd: LineSeries[] = [{ name: 'factory drawdown', x, y: drawdown(books.factory.daily), color: '#dc2626', area: true, step: true }];
  return html`<div class="plot-box">${raw(lineChart({ id: `${id}-equity`, title: `${title}: cumulative net bps by exit day`, yLabel: 'bps', series }))}</div>
<div class="plot-box">${raw(lineChart({ id: `${id}-drawdown`, title: `${title}: the factory's drawdown`, yLabel: 'bps', series: dd, height: 160 }))}</div>`;
}

function booksTable(books: ReplayReport['fleet']): SafeHtml {
  return html`<table class="books"><thead><tr><th>Book</th><th class="num">Trades</th><th class="num">Net bps</th><th class="num">bps/trade</th><th class="num">Win rate</th><th class="num">Max drawdown</th><th class="num">Sharpe</th></tr></thead><tbody>
${(['factory', 'gates_off', 'no_trading', 'buy_and_hold'] as const).map((b) => {
  const s = books[b];
  const trades = b === 'factory' || b === 'gates_off';
  return html`<tr data-book="${b}"><td>${BOOK_LABEL[b]}</td><td class="num">${trades ? fmtNum(s.trades) : '–'}</td><td class="num">${f1(s.totalNetBps, 0)}</td><td class="num">${f1(s.meanNetBps)}</td><td class="num">${s.winRate === null ? '–' : s.winRate.toFixed(2)}</td><td class="num">${f1(s.maxDrawdownBps, 0)}</td><td class="num">${f1(s.sharpe, 2)}</td></tr>`;
})}</tbody></table>`;
}

/** One replay: progress per retrain date, then (once simulated) the books, the plots and the statistics. */
export function replayPage(ctx: PageContext, r: { id: string; request: ReplayRequest; steps: ReplayStep[]; report: ReplayReport | null; dates: string[] }): string {
  const q = r.request;
  const decided = new Map(r.steps.map((s) => [`${s.symbol} ${s.runDate}`, s]));
  const rep = r.report;
  const body = html`<h1>Replay <span class="mono">${r.id}</span></h1>
<p class="small muted">${q.symbols.join(', ')} · ${q.from} → ${q.to} · retrain every ${q.retrainEveryDays} d · window ${q.windowDays} d · a day's model is live from +${q.liveDelayMinutes} min · fresh ${q.ttlHours} h${Object.keys(q.training).length > 0 ? html` · training <span class="mono">${JSON.stringify(q.training)}</span>` : html``}</p>
<div class="cards"><div class="card"><div class="k">Retrain dates</div><div class="v">${r.dates.length}</div></div><div class="card"><div class="k">Decided</div><div class="v" id="decided">${r.steps.length} / ${r.dates.length * q.symbols.length}</div></div>
${rep ? html`<div class="card"><div class="k">Published</div><div class="v">${rep.publications.published} / ${rep.publications.evaluated}</div></div><div class="card"><div class="k">Expected by chance</div><div class="v">${f1(rep.publications.expectedByChance)} (≤ ${rep.publications.upper95ByChance})</div></div>` : html``}</div>
${rep
  ? html`<h2>Fleet</h2>${equityCharts('fleet', 'Fleet', rep.days, rep.fleet)}${booksTable(rep.fleet)}
${rep.symbols.map((s) => html`<h2>${s.symbol}</h2>${equityCharts(`sym-${s.symbol.replace('/', '-')}`, s.symbol, rep.days, s.books)}${booksTable(s.books)}`)}
<h2>Gates</h2>
<table class="stats"><tbody>
<tr><th>Gate precision</th><td>published: ${rep.gatePrecision.published.models} models, ${fmtNum(rep.gatePrecision.published.trades)} shadow trades, ${f1(rep.gatePrecision.published.totalNetBps, 0)} bps (${f1(rep.gatePrecision.published.meanNetBps)}/trade), ${rep.gatePrecision.published.profitableModels} profitable · rejected: ${rep.gatePrecision.rejected.models} models, ${fmtNum(rep.gatePrecision.rejected.trades)} shadow trades, ${f1(rep.gatePrecision.rejected.totalNetBps, 0)} bps (${f1(rep.gatePrecision.rejected.meanNetBps)}/trade), ${rep.gatePrecision.rejected.profitableModels} profitable</td></tr>
<tr><th>Shrinkage</th><td>${rep.shrinkage.models} published model(s) traded live: gate-time ${f1(rep.shrinkage.meanGateBps)} bps/trade → live ${f1(rep.shrinkage.meanLiveBps)} bps/trade (model means); trade-weighted live/gate ${f1(rep.shrinkage.ratio, 2)}; slope over models ${f1(rep.shrinkage.slope, 2)}</td></tr>
<tr><th>Edge check</th><td>gate-time ${f1(rep.edgeCheck.gateMeanBps)} ± ${f1(rep.edgeCheck.gateSe)} vs live ${f1(rep.edgeCheck.liveMeanBps)} ± ${f1(rep.edgeCheck.liveSe)} bps/trade over ${fmtNum(rep.edgeCheck.liveTrades)} trades: z ${f1(rep.edgeCheck.z, 2)}${rep.edgeCheck.consistent === null ? '' : rep.edgeCheck.consistent ? ' (consistent)' : ' (NOT consistent)'}</td></tr>
<tr><th>Calibration</th><td>${rep.calibration.length === 0 ? '–' : rep.calibration.map((c) => `${f1(c.meanPredictedBps)} → ${f1(c.meanRealisedBps)} (${c.trades})`).join(' · ')}</td></tr>
</tbody></table>
<h2>Models</h2>
<table class="models"><thead><tr><th>Symbol</th><th>Run date</th><th>Model</th><th>Verdict</th><th class="num">Gate trades</th><th class="num">Gate bps/trade</th><th class="num">Gate Sharpe</th><th class="num">Live trades</th><th class="num">Live bps/trade</th><th class="num">Shadow trades</th><th class="num">Shadow bps</th></tr></thead><tbody>
${rep.symbols.flatMap((s) => s.models).map((m) => html`<tr><td>${m.symbol}</td><td>${m.runDate}</td><td class="mono">${shortId(m.modelId)}</td><td>${badge(m.verdict)}${m.failedGates.length > 0 ? html`<div class="small reason">${m.failedGates.join(', ')}</div>` : html``}</td><td class="num">${fmtNum(m.gate.trades)}</td><td class="num">${f1(m.gate.meanNetBps)}</td><td class="num">${f1(m.gate.sharpe, 2)}</td><td class="num">${fmtNum(m.live.trades)}</td><td class="num">${f1(m.live.meanNetBps)}</td><td class="num">${fmtNum(m.shadow.trades)}</td><td class="num">${f1(m.shadow.totalNetBps, 0)}</td></tr>`)}
</tbody></table>`
  : html`<p class="muted" id="no-report">No report yet: the replay is still training and deciding (or its process stopped: run the same <span class="mono">engine replay</span> command to resume).</p>`}
<h2>Retrain dates</h2>
<table class="steps"><thead><tr><th>Date</th>${q.symbols.map((s) => html`<th>${s}</th>`)}</tr></thead><tbody>
${r.dates.map((d) => html`<tr><td>${d}</td>${q.symbols.map((s) => {
  const st = decided.get(`${s} ${d}`);
  if (st === undefined) return html`<td>${badge('pending', 'waiting')}</td>`;
  if (st.error !== null) return html`<td>${badge('failed')}<div class="small reason">${st.error}</div></td>`;
  return html`<td>${badge(st.verdict ?? 'pending')}${st.liveModelId ? html` <span class="small muted">live ${shortId(st.liveModelId)}</span>` : html` <span class="small muted">no live model</span>`}</td>`;
})}</tr>`)}
</tbody></table>`;
  return layout(`Replay ${r.id}`, ctx, body, { active: 'replays' });
}
