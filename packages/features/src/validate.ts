import { type CandleSeries, DataError, formatUtcMinute, MINUTE_MS } from '@engine/shared';

/** Error code for candles that break the recipe's input rules. */
export const FEATURES_INPUT_INVALID = 'FEATURES_INPUT_INVALID';

/**
 * Check one present (non-gap) candle: prices finite and > 0, high ≥ low, volume finite ≥ 0.
 * Gap rows are not checked: their values are ignored.
 */
export function checkCandle(symbol: string, ts: number, open: number, high: number, low: number, close: number, volume: number): void {
  if (!(open > 0 && high > 0 && low > 0 && close > 0) || !Number.isFinite(open + high + low + close)) {
    throw invalid(symbol, ts, 'prices must be finite and > 0 on a non-gap row', { open, high, low, close });
  }
  if (!(high >= low)) throw invalid(symbol, ts, 'high must be ≥ low', { high, low });
  if (!(volume >= 0) || !Number.isFinite(volume)) throw invalid(symbol, ts, 'volume must be finite and ≥ 0 on a non-gap row', { volume });
}

/** Check a series' shape and grid: equal column lengths, minute-aligned, consecutive minutes. */
export function checkSeries(c: CandleSeries, role: string): void {
  const n = c.ts.length;
  for (const [name, col] of [
    ['open', c.open],
    ['high', c.high],
    ['low', c.low],
    ['close', c.close],
    ['volume', c.volume],
    ['gap', c.gap],
  ] as const) {
    if (col.length !== n) {
      throw new DataError(FEATURES_INPUT_INVALID, `${role} ${c.symbol}: column '${name}' has ${col.length} rows, expected ${n} (the ts length)`, {
        symbol: c.symbol,
        role,
        column: name,
      });
    }
  }
  if (n === 0) return;
  const t0 = c.ts[0];
  if (!Number.isInteger(t0 / MINUTE_MS)) {
    throw new DataError(FEATURES_INPUT_INVALID, `${role} ${c.symbol}: first ts ${t0} is not on a minute boundary`, { symbol: c.symbol, role, ts: t0 });
  }
  for (let i = 1; i < n; i++) {
    if (c.ts[i] !== t0 + i * MINUTE_MS) {
      throw new DataError(
        FEATURES_INPUT_INVALID,
        `${role} ${c.symbol}: row ${i} has ts ${formatTs(c.ts[i])}, expected ${formatUtcMinute(t0 + i * MINUTE_MS)}: the grid must be complete (gap rows, not holes)`,
        { symbol: c.symbol, role, row: i, ts: c.ts[i] },
      );
    }
  }
  for (let i = 0; i < n; i++) {
    if (c.gap[i] === 0) checkCandle(c.symbol, c.ts[i], c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i]);
  }
}

/** `BTC/USDT`, `btc-usdt` and `BTCUSDT` compare equal. */
export function sameSymbol(a: string, b: string): boolean {
  const norm = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9]/g, '');
  return norm(a) === norm(b);
}

function formatTs(ts: number): string {
  return Number.isFinite(ts) ? formatUtcMinute(ts) : String(ts);
}

function invalid(symbol: string, ts: number, rule: string, values: Record<string, number>): DataError {
  const shown = Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return new DataError(FEATURES_INPUT_INVALID, `${symbol} candle at ${formatTs(ts)}: ${rule}; found ${shown}`, { symbol, ts, rule, ...values });
}
