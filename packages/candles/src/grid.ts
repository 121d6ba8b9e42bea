import { MINUTE_MS, type CandleSeries } from '@engine/shared';
import type { RawCandles } from './raw-candles';

/**
 * Put validated rows (ascending, unique, on the minute) on the complete minute grid of
 * `[start, end)`. A minute without a row gets `gap = 1` and NaN prices and volume:
 * never forward-filled. Rows outside the window are ignored.
 *
 * When the rows already are the complete grid (no gaps, the usual case) the series
 * shares their memory instead of copying: pass rows nobody else mutates.
 */
export function toMinuteGrid(symbol: string, rows: RawCandles, start: number, end: number): CandleSeries {
  const n = Math.max(0, Math.round((end - start) / MINUTE_MS));
  return isExactGrid(rows, start, n) ? exactGridSeries(symbol, rows, n) : fillMinuteGrid(symbol, rows, start, n);
}

/** The series of rows already known to be exactly the `n`-minute grid (see `isExactGrid`): views, no copy. */
export function exactGridSeries(symbol: string, rows: RawCandles, n: number): CandleSeries {
  return {
    symbol,
    ts: rows.ts.subarray(0, n),
    open: rows.open.subarray(0, n),
    high: rows.high.subarray(0, n),
    low: rows.low.subarray(0, n),
    close: rows.close.subarray(0, n),
    volume: rows.volume.subarray(0, n),
    gap: new Uint8Array(n),
  };
}

/** Copy rows onto a fresh `n`-minute grid from `start`, marking the minutes they lack as gaps. */
export function fillMinuteGrid(symbol: string, rows: RawCandles, start: number, n: number): CandleSeries {
  const ts = new Float64Array(n);
  const open = new Float64Array(n).fill(NaN);
  const high = new Float64Array(n).fill(NaN);
  const low = new Float64Array(n).fill(NaN);
  const close = new Float64Array(n).fill(NaN);
  const volume = new Float64Array(n).fill(NaN);
  const gap = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) ts[i] = start + i * MINUTE_MS;
  const rts = rows.ts;
  for (let j = 0; j < rows.length; j++) {
    const i = (rts[j]! - start) / MINUTE_MS;
    if (i < 0 || i >= n) continue;
    open[i] = rows.open[j]!;
    high[i] = rows.high[j]!;
    low[i] = rows.low[j]!;
    close[i] = rows.close[j]!;
    volume[i] = rows.volume[j]!;
    gap[i] = 0;
  }
  return { symbol, ts, open, high, low, close, volume, gap };
}

/** True when `rows` are exactly the minutes `start, start + 1 min, …` (n of them). */
export function isExactGrid(rows: RawCandles, start: number, n: number): boolean {
  if (rows.length !== n) return false;
  const ts = rows.ts;
  for (let i = 0; i < n; i++) if (ts[i] !== start + i * MINUTE_MS) return false;
  return true;
}
