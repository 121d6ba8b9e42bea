import { html, raw, type SafeHtml } from '../html';

/** What every page's frame needs to know about the request. */
export interface PageContext {
  /** Logged-in user, or null on the login page. */
  user: string | null;
  /** This session's CSRF token for the forms on the page (logout, actions). */
  csrf: string | null;
  /** Actions disabled (DASHBOARD_READ_ONLY). */
  readOnly: boolean;
  /** Whether Bull Board is mounted (a queue connection is configured). */
  queues: boolean;
  /** The page's clock (epoch ms) for as-of times and staleness; default the wall clock. */
  now?: number;
}

/** Inline stylesheet: no external font, script or CDN, so the pages work offline. */
const CSS = `
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#f9fafb; --accent:#2563eb; --ok:#047857; --okbg:#d1fae5; --bad:#b91c1c; --badbg:#fee2e2; --warn:#92400e; --warnbg:#fef3c7; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header.top { display:flex; align-items:center; gap:20px; padding:10px 24px; background:#111827; color:#f9fafb; }
header.top a { color:#e5e7eb; text-decoration:none; }
header.top a:hover, header.top a.active { color:#fff; text-decoration:underline; }
header.top .brand { font-weight:700; letter-spacing:.02em; color:#fff; }
header.top .spacer { flex:1; }
header.top form { margin:0; }
header.top button { background:none; border:1px solid #4b5563; color:#e5e7eb; border-radius:4px; padding:3px 10px; cursor:pointer; }
main { max-width:1180px; margin:0 auto; padding:20px 24px 48px; }
h1 { font-size:22px; margin:4px 0 14px; }
h2 { font-size:16px; margin:26px 0 10px; }
a { color:var(--accent); }
table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#f3f4f6; font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.03em; color:#374151; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
td.num, td.nowrap { white-space:nowrap; }
table.folds { font-size:12.5px; }
table.folds th, table.folds td { padding:5px 8px; }
tr.muted td { color:var(--muted); }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; white-space:nowrap; }
.badge.published, .badge.pass, .badge.live, .badge.synced { background:var(--okbg); color:var(--ok); }
.badge.rejected, .badge.fail, .badge.failed { background:var(--badbg); color:var(--bad); }
.badge.pending, .badge.held, .badge.rolled-back, .badge.none { background:var(--warnbg); color:var(--warn); }
.reason { color:var(--bad); font-size:13px; }
.banner.warn { background:#fff7ed; border:1px solid #fb923c; border-radius:6px; padding:8px 14px; margin:10px 0; }
.banner.warn ul { margin:4px 0 0; padding-left:20px; }
.muted { color:var(--muted); }
.small { font-size:12px; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12px; }
.notice { padding:10px 14px; border-radius:6px; margin:0 0 16px; background:var(--okbg); color:var(--ok); border:1px solid #a7f3d0; }
.notice.error { background:var(--badbg); color:var(--bad); border-color:#fecaca; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:10px 0 4px; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:10px 14px; min-width:130px; }
.card .k { font-size:12px; color:var(--muted); }
.card .v { font-size:18px; font-weight:600; font-variant-numeric: tabular-nums; }
.plot-box { background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px; margin:12px 0; }
.plot-box svg.plot { width:100%; height:auto; display:block; }
.missing { padding:12px; background:var(--warnbg); color:var(--warn); border-radius:6px; margin:12px 0; }
details { background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px 12px; margin:12px 0; }
details summary { cursor:pointer; font-weight:600; }
pre.json { overflow:auto; max-height:640px; margin:8px 0 0; font-size:12px; }
form.inline { display:inline; margin:0; }
button.action, a.button { background:var(--accent); color:#fff; border:0; border-radius:4px; padding:4px 12px; font-size:13px; cursor:pointer; text-decoration:none; display:inline-block; }
button.danger { background:var(--bad); }
button.secondary, a.button.secondary { background:#e5e7eb; color:var(--ink); }
.login { max-width:340px; margin:80px auto; background:#fff; border:1px solid var(--line); border-radius:8px; padding:24px; }
label { display:block; margin:10px 0 4px; font-weight:600; font-size:13px; }
input[type=text], input[type=password], textarea { width:100%; padding:7px 9px; border:1px solid #d1d5db; border-radius:4px; font:inherit; }
textarea { min-height:80px; }
form.filters { display:flex; flex-wrap:wrap; align-items:center; gap:8px 18px; margin:0 0 12px; }
form.filters label { display:inline-flex; align-items:center; gap:6px; margin:0; font-weight:500; }
form.filters input[type=number] { width:76px; padding:4px 6px; border:1px solid #d1d5db; border-radius:4px; font:inherit; }
form.filters input[type=text] { width:auto; padding:4px 6px; }
.trials-top { display:flex; flex-wrap:wrap; gap:16px; align-items:flex-start; margin:12px 0; }
.trials-top .plot-box { flex:2 1 560px; margin:0; min-width:0; }
.trials-top .candidate-box { flex:1 1 340px; }
table.deflation caption { text-align:left; padding:0 0 6px; font-weight:600; }
table.deflation th { text-transform:none; letter-spacing:0; font-size:13px; background:#f9fafb; }
table.deflation th .small { font-weight:400; }
table.deflation td { white-space:nowrap; }
table.trials { font-size:13px; }
tr.candidate td { background:#fef2f2; }
.badge.control { background:#ede9fe; color:#5b21b6; }
.badge.candidate { background:#fee2e2; color:#b91c1c; }
.confirm { background:#fff; border:1px solid var(--line); border-radius:8px; padding:18px 20px; max-width:720px; }
/* Phones (issue 19: the pages overflowed a 420 px screen and plot labels shrank to ~5 px):
   the page fits the width, wide tables scroll sideways inside their box, and plots keep a
   readable minimum width and scroll instead of shrinking. */
@media (max-width: 640px) {
  header.top { flex-wrap:wrap; gap:8px 14px; padding:8px 12px; }
  main { padding:12px 10px 32px; }
  h1 { font-size:18px; }
  table { display:block; overflow-x:auto; max-width:100%; }
  .cards .card { min-width:0; flex:1 1 40%; }
  .plot-box { overflow-x:auto; }
  .plot-box svg.plot { min-width:600px; }
  pre { white-space:pre-wrap; word-break:break-all; }
}
`;

/** The frame of every page: header with navigation, user and logout; a notice; the body. */
export function layout(title: string, ctx: PageContext, body: SafeHtml, opts: { notice?: { text: string; error?: boolean }; active?: 'fleet' | 'queues' | 'replays' } = {}): string {
  const nav = ctx.user === null
    ? html``
    : html`<a href="/" class="${opts.active === 'fleet' ? 'active' : ''}">Fleet</a>
      <a href="/replays" class="${opts.active === 'replays' ? 'active' : ''}">Replays</a>
      ${ctx.queues ? html`<a href="/queues" class="${opts.active === 'queues' ? 'active' : ''}">Queues (Bull Board)</a>` : html``}
      <span class="spacer"></span>
      ${ctx.readOnly ? html`<span class="badge pending">read-only</span>` : html``}
      <span>Signed in as <strong>${ctx.user}</strong></span>
      <form method="post" action="/logout"><input type="hidden" name="_csrf" value="${ctx.csrf ?? ''}"><button type="submit">Log out</button></form>`;
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Engine</title><style>${raw(CSS)}</style></head>
<body><header class="top"><span class="brand">Engine</span>${nav}</header>
<main>${opts.notice ? html`<div class="notice${opts.notice.error ? ' error' : ''}" role="status">${opts.notice.text}</div>` : html``}${body}</main></body></html>`.value}`;
}
