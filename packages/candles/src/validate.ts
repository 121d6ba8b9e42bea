import { DataError, MINUTE_MS, type CandleSeries } from '@engine/shared';
import type { RawCandles } from './raw-candles';

/**
 * The candle rules of SPEC §1.1. Each violation is a permanent `DataError` (code
 * `CANDLES_INVALID`) whose message names the symbol, the offending timestamp (ISO) and
 * the rule, and whose `details` carry the same fields for machines.
 */
export type CandleRule =
  | 'finite-numbers'
  | 'on-the-minute'
  | 'sorted'
  | 'unique-ts'
  | 'positive-prices'
  | 'high-above-open-close'
  | 'low-below-open-close'
  | 'non-negative-volume'
  | 'minimum-history'
  | 'gap-fraction'
  | 'longest-gap';

export const CANDLES_INVALID = 'CANDLES_INVALID';

/** Limits on missing data for one window. Defaults in `DEFAULT_GAP_LIMITS`. */
export interface GapLimits {
  /** Largest allowed share of missing minutes in the window, 0..1. Default 0.05. */
  maxGapFraction: number;
  /** Longest allowed run of consecutive missing minutes. Default 720 (12 hours). */
  maxGapMinutes: number;
  /**
   * Fewest candles the window must hold (minimum history). Default: half the window's
   * minutes, so a pair listed 30 days ago fails a 150-day window with a message that
   * says so, rather than a gap statistic.
   */
  minRows?: number;
}

export const DEFAULT_GAP_LIMITS: Readonly<Required<Omit<GapLimits, 'minRows'>>> = { maxGapFraction: 0.05, maxGapMinutes: 720 };

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

function fail(symbol: string, source: string, rule: CandleRule, ts: number, row: number, what: string): never {
  throw ruleViolation(CANDLES_INVALID, 'candle', symbol, source, rule, ts, row, what);
}

/**
 * The error for a fetched row breaking a validation rule (candles, funding): names the
 * symbol, the row's time (or index), the source, the rule and what was found.
 */
export function ruleViolation(code: string, what: 'candle' | 'funding', symbol: string, source: string, rule: string, ts: number, row: number, found: string): DataError {
  const at = Number.isFinite(ts) ? `${what} ${iso(ts)}` : `${what === 'candle' ? 'row' : 'funding row'} ${row} (ts ${ts})`;
  return new DataError(code, `${symbol} ${at} from ${source} breaks rule '${rule}': ${found}`, {
    symbol,
    source,
    rule,
    ts: Number.isFinite(ts) ? ts : null,
    at: Number.isFinite(ts) ? iso(ts) : null,
    row,
  });
}

/**
 * Check rows as a source delivered them, before they are cached: every number finite,
 * open times on the minute, strictly ascending (sorted and unique), prices positive,
 * high ≥ max(open, close), low ≤ min(open, close), volume ≥ 0. The first offending row
 * in time order is reported.
 *
 * @param prevTs the open time of the row before `rows[0]` (for page-by-page checks), or -Infinity.
 */
export function validateRawCandles(symbol: string, rows: RawCandles, source: string, prevTs = -Infinity): void {
  const { ts, open, high, low, close, volume } = rows;
  let prev = prevTs;
  for (let i = 0; i < rows.length; i++) {
    const t = ts[i]!;
    const o = open[i]!;
    const h = high[i]!;
    const l = low[i]!;
    const c = close[i]!;
    const v = volume[i]!;
    // One combined test keeps the common path to a single branch.
    if (!(Number.isFinite(t) && Number.isFinite(o) && Number.isFinite(h) && Number.isFinite(l) && Number.isFinite(c) && Number.isFinite(v))) {
      const bad = (['ts', t, 'open', o, 'high', h, 'low', l, 'close', c, 'volume', v] as const);
      const names: string[] = [];
      for (let k = 0; k < bad.length; k += 2) if (!Number.isFinite(bad[k + 1] as number)) names.push(`${bad[k]}=${bad[k + 1]}`);
      fail(symbol, source, 'finite-numbers', t, i, `expected finite numbers, found ${names.join(', ')}`);
    }
    if (t % MINUTE_MS !== 0) fail(symbol, source, 'on-the-minute', t, i, `expected an open time on a whole UTC minute, found ${t} (${t % MINUTE_MS} ms past the minute)`);
    if (t === prev) fail(symbol, source, 'unique-ts', t, i, `expected one candle per minute, found a second candle with the same open time`);
    if (t < prev) fail(symbol, source, 'sorted', t, i, `expected open times in ascending order, found it after ${iso(prev)}`);
    if (!(o > 0 && h > 0 && l > 0 && c > 0)) fail(symbol, source, 'positive-prices', t, i, `expected open, high, low, close > 0, found ${o}, ${h}, ${l}, ${c}`);
    if (h < o || h < c) fail(symbol, source, 'high-above-open-close', t, i, `expected high ≥ max(open, close), found high ${h} < ${Math.max(o, c)}`);
    if (l > o || l > c) fail(symbol, source, 'low-below-open-close', t, i, `expected low ≤ min(open, close), found low ${l} > ${Math.min(o, c)}`);
    if (v < 0) fail(symbol, source, 'non-negative-volume', t, i, `expected volume ≥ 0, found ${v}`);
    prev = t;
  }
}

/** What `checkHistory` measured. */
export interface GapStats {
  rows: number;
  present: number;
  gaps: number;
  longestGap: number;
  /** Open time of the first minute of the longest gap (NaN without gaps). */
  longestGapStart: number;
  firstGap: number;
}

/** Count gaps and the longest run of them on a minute grid. */
export function gapStats(series: CandleSeries): GapStats {
  const g = series.gap;
  const n = g.length;
  let gaps = 0;
  let run = 0;
  let longest = 0;
  let longestStart = -1;
  let firstGap = -1;
  for (let i = 0; i < n; i++) {
    if (g[i] === 1) {
      gaps++;
      run++;
      if (firstGap < 0) firstGap = i;
      if (run > longest) {
        longest = run;
        longestStart = i - run + 1;
      }
    } else run = 0;
  }
  return {
    rows: n,
    present: n - gaps,
    gaps,
    longestGap: longest,
    longestGapStart: longestStart >= 0 ? series.ts[longestStart]! : NaN,
    firstGap: firstGap >= 0 ? series.ts[firstGap]! : NaN,
  };
}

/**
 * The window-level rules: minimum history, share of missing minutes, longest gap.
 * `series` must be the complete grid of the window `[series.ts[0], last + 1 min)`.
 */
export function checkHistory(series: CandleSeries, source: string, limits: Partial<GapLimits> = {}): GapStats {
  const maxGapFraction = limits.maxGapFraction ?? DEFAULT_GAP_LIMITS.maxGapFraction;
  const maxGapMinutes = limits.maxGapMinutes ?? DEFAULT_GAP_LIMITS.maxGapMinutes;
  const stats = gapStats(series);
  const n = stats.rows;
  const minRows = limits.minRows ?? Math.ceil(n / 2);
  const start = n > 0 ? series.ts[0]! : NaN;
  const range = `[${iso(start)}, ${iso(start + n * MINUTE_MS)})`;
  const symbol = series.symbol;
  let firstPresent = -1;
  for (let i = 0; i < n && firstPresent < 0; i++) if (series.gap[i] === 0) firstPresent = i;
  if (stats.present < minRows) {
    const first = firstPresent;
    const found = first < 0 ? 'no candles at all' : `${stats.present} candles, the first at ${iso(series.ts[first]!)}`;
    fail(symbol, source, 'minimum-history', first < 0 ? start : series.ts[first]!, first, `too little history in ${range}: expected at least ${minRows} candles, found ${found}`);
  }
  // A window reaching back before the source's history shows as one long leading gap: say so.
  const history = firstPresent > 0 ? `; the source's candles start at ${iso(series.ts[firstPresent]!)}` : '';
  const fraction = n > 0 ? stats.gaps / n : 0;
  if (fraction > maxGapFraction) {
    fail(symbol, source, 'gap-fraction', stats.firstGap, -1, `${stats.gaps} of ${n} minutes in ${range} are missing (${pct(fraction)}), expected at most ${pct(maxGapFraction)}; the first gap starts here${history}`);
  }
  if (stats.longestGap > maxGapMinutes) {
    const endGap = stats.longestGapStart + stats.longestGap * MINUTE_MS;
    fail(symbol, source, 'longest-gap', stats.longestGapStart, -1, `gap of ${stats.longestGap} minutes (until ${iso(endGap)}) in ${range}, expected at most ${maxGapMinutes}${history}`);
  }
  return stats;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}
