import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { allocCandles, type CandleSeries } from '@engine/shared';

/**
 * Read a gap-free `ts,open,high,low,close,volume` CSV.gz (the shared real-data files) into
 * a CandleSeries, optionally only rows [from, from + rows). For the benchmark and tests
 * only: the library itself does no I/O, and production loading (gaps, validation, caching)
 * belongs to @engine/candles.
 */
export function readOhlcvCsvGz(file: string, symbol: string, opts: { from?: number; rows?: number } = {}): CandleSeries {
  return parseOhlcvCsv(gunzipSync(readFileSync(file)).toString('latin1'), symbol, opts, file);
}

/** Parse the text of such a CSV (header line first), optionally only rows [from, from + rows). */
export function parseOhlcvCsv(text: string, symbol: string, opts: { from?: number; rows?: number } = {}, file = 'csv'): CandleSeries {
  const from = opts.from ?? 0;
  // Line starts after the header; stop once the requested rows are found.
  const starts: number[] = [];
  let at = text.indexOf('\n') + 1;
  let row = 0;
  const until = opts.rows === undefined ? Infinity : from + opts.rows;
  while (at > 0 && at < text.length && row < until) {
    if (row >= from) starts.push(at);
    row++;
    at = text.indexOf('\n', at) + 1;
  }
  const n = starts.length;
  const s = allocCandles(symbol, n);
  for (let k = 0; k < n; k++) {
    const end = text.indexOf('\n', starts[k]);
    const f = text.slice(starts[k], end < 0 ? text.length : end).split(',');
    if (f.length !== 6) throw new Error(`${file}: row ${from + k + 1} has ${f.length} fields, expected 6 (ts,open,high,low,close,volume)`);
    s.ts[k] = Number(f[0]);
    s.open[k] = Number(f[1]);
    s.high[k] = Number(f[2]);
    s.low[k] = Number(f[3]);
    s.close[k] = Number(f[4]);
    s.volume[k] = Number(f[5]);
  }
  return s;
}

/** `BTC/USDT` → `<dir>/BTCUSDT-1m.csv.gz`. */
export function ohlcvFile(dir: string, symbol: string): string {
  return path.join(dir, `${symbol.replace('/', '')}-1m.csv.gz`);
}
