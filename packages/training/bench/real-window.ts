import { candleFilePath, readCandleFile } from '@engine/candles';
import { type CandleSeries, DAY_MS, MINUTE_MS, formatUtcDay, sliceCandles } from '@engine/shared';

/** The last `days` whole UTC days of a symbol's real candle file (the benchmarks' window). */
export function lastWholeDays(dir: string, symbol: string, days: number): CandleSeries {
  const file = candleFilePath(dir, symbol);
  const all = readCandleFile(file, symbol);
  const n = all.ts.length;
  const end = Math.floor((all.ts[n - 1]! + MINUTE_MS) / DAY_MS) * DAY_MS;
  const start = end - days * DAY_MS;
  // On the minute grid, the row of minute t is (t − first) / 1 min.
  const from = (start - all.ts[0]!) / MINUTE_MS;
  const to = (end - all.ts[0]!) / MINUTE_MS;
  if (from < 0) throw new Error(`${file}: expected ${days} whole days in [${formatUtcDay(start)}, ${formatUtcDay(end)}), but the file starts at ${new Date(all.ts[0]!).toISOString()}`);
  return sliceCandles(all, from, to);
}
