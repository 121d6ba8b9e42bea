import { existsSync } from 'node:fs';
import { candleFilePath, readCandleFile } from '@engine/candles';
import { sliceCandles, type CandleSeries } from '@engine/shared';
import { referenceSymbolFor } from '../../src/recipe';
import { OHLCV_DIR } from '../../../../test/support/paths';

/** The four symbols shipped as real data. */
export const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SUI/USDT', 'TAO/USDT'] as const;

const cache = new Map<string, CandleSeries>();
const files = new Map<string, CandleSeries>();

/**
 * Rows [from, from + rows) of a symbol's real 1-minute candles, in arrays of their own
 * (cached per test file: the same rows give the same object).
 */
export function realCandles(symbol: string, from: number, rows: number): CandleSeries {
  const key = `${symbol}:${from}:${rows}`;
  let s = cache.get(key);
  if (!s) {
    const file = candleFilePath(OHLCV_DIR, symbol);
    if (!existsSync(file)) throw new Error(`real data missing: ${file} (set ENGINE_OHLCV_DIR)`);
    let all = files.get(file);
    if (all === undefined) {
      all = readCandleFile(file, symbol);
      files.set(file, all);
    }
    if (from + rows > all.ts.length) throw new Error(`${file}: wanted ${rows} rows from ${from}, found ${Math.max(0, all.ts.length - from)}`);
    s = copySeries(sliceCandles(all, from, from + rows));
    cache.set(key, s);
  }
  return s;
}

/** The symbol's candles and its cross-asset reference (BTC, or ETH for BTC), same rows. */
export function realPair(symbol: string, from: number, rows: number): { candles: CandleSeries; reference: CandleSeries } {
  return { candles: realCandles(symbol, from, rows), reference: realCandles(referenceSymbolFor(symbol), from, rows) };
}

/** A deep copy (tests mutate it). */
export function copySeries(s: CandleSeries, symbol = s.symbol): CandleSeries {
  return {
    symbol,
    ts: Float64Array.from(s.ts),
    open: Float64Array.from(s.open),
    high: Float64Array.from(s.high),
    low: Float64Array.from(s.low),
    close: Float64Array.from(s.close),
    volume: Float64Array.from(s.volume),
    gap: Uint8Array.from(s.gap),
  };
}

/** Make row i a gap row, as @engine/candles does: gap = 1, NaN prices and volume. */
export function makeGap(s: CandleSeries, i: number): void {
  s.gap[i] = 1;
  s.open[i] = NaN;
  s.high[i] = NaN;
  s.low[i] = NaN;
  s.close[i] = NaN;
  s.volume[i] = NaN;
}

/** Equal within |a − b| ≤ rel·max(|a|, |b|) + abs, or both NaN. */
export function close(a: number, b: number, rel: number, abs = 0): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + abs;
}

/** First mismatch between two columns over rows [from, to), or null. */
export function firstMismatch(a: Float64Array, b: Float64Array, from: number, to: number, eq: (x: number, y: number) => boolean): string | null {
  for (let i = from; i < to; i++) if (!eq(a[i], b[i])) return `row ${i}: ${a[i]} vs ${b[i]}`;
  return null;
}
