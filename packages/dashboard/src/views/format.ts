import { pairSlug, parsePair } from '@engine/shared';
import { html, type SafeHtml } from '../html';

/** A number for a table cell: integers grouped, others to 4 significant digits; `–` for none. */
export function fmtNum(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a >= 1000) return v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return Number(v.toPrecision(4)).toString();
}

/**
 * A metric by name: rates (`win_rate`, coverage) as percentages, an unbounded profit
 * factor (no losing trade, recorded as Number.MAX_VALUE) as ∞, anything else as `fmtNum`.
 */
export function fmtMetric(key: string, v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (/win_rate$/.test(key) || /(^|\.)coverage\./.test(key)) return `${(v * 100).toFixed(1)} %`;
  if (/profit_factor$/.test(key) && v >= 1e300) return '∞';
  return fmtNum(v);
}

/** An ISO time as `2026-07-16 02:04 UTC`; `–` for none. */
export function fmtTime(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `BTC/USDT` → `/symbols/BTC-USDT`. */
export function symbolHref(symbol: string): string {
  return `/symbols/${pairSlug(parsePair(symbol))}`;
}

/** `BTC/USDT` → `/symbols/BTC-USDT/trials`: the symbol's trial ledger and deflated Sharpe. */
export function trialsHref(symbol: string): string {
  return `${symbolHref(symbol)}/trials`;
}

/** The canonical pair (`BTC/USDT`) when `value` is exactly one, else null: job payloads may hold anything. */
export function canonicalPair(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    return parsePair(value).symbol === value ? value : null;
  } catch {
    return null;
  }
}

/** A link to a symbol's page when `value` is a pair; anything else (junk in a job payload) as plain, escaped text. */
export function symbolLink(value: string): SafeHtml {
  const pair = canonicalPair(value);
  return pair === null ? html`<span class="mono" title="not a trading pair">${value}</span>` : html`<a href="${symbolHref(pair)}">${pair}</a>`;
}

export function modelHref(id: string): string {
  return `/models/${id}`;
}

/** A coloured label: published, rejected, failed, live, pass, fail, pending, synced, rolled-back. */
export function badge(kind: string, text = kind): SafeHtml {
  return html`<span class="badge ${kind.replace(/[^a-z-]/g, '')}">${text}</span>`;
}

/** Short model id for tables: the first 8 hex digits (the full id is in the link and title). */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** A model's headline metrics, in display order, with how to show each. */
/** A model trained with non-default guarded settings says so wherever it is listed (the list in its title). */
export function nonDefaultBadge(settings: readonly string[]): SafeHtml {
  return settings.length === 0 ? html`` : html` <span class="badge pending" data-non-default title="${settings.join('; ')}">non-default settings</span>`;
}

export const HEADLINE_METRICS: readonly { key: string; label: string }[] = [
  { key: 'sharpe_ratio', label: 'Sharpe' },
  { key: 'profit_factor', label: 'Profit factor' },
  { key: 'win_rate', label: 'Win rate' },
  { key: 'max_drawdown', label: 'Max drawdown (GBP)' },
  { key: 'total_trades', label: 'Trades' },
  { key: 'total_profit_gbp', label: 'Profit (GBP)' },
];
