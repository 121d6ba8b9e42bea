import { gzipSync } from 'node:zlib';
import type { CandleSeries } from '@engine/shared';

/** Candles as the gzipped CSV a `csv:DIR` source reads (`<BASEQUOTE>-1m.csv.gz`). */
export function candleCsvGz(c: CandleSeries): Buffer {
  const lines = ['ts,open,high,low,close,volume'];
  for (let i = 0; i < c.ts.length; i++) lines.push(`${c.ts[i]},${c.open[i]},${c.high[i]},${c.low[i]},${c.close[i]},${c.volume[i]}`);
  return gzipSync(`${lines.join('\n')}\n`);
}
