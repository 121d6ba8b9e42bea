import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError, MINUTE_MS, pairStem, parsePair, type CandleSeries, type Config } from '@engine/shared';
import { parseCandleCsv } from './csv-parser';
import { exactGridSeries, isExactGrid } from './grid';
import { subRaw } from './raw-candles';
import { validateRawCandles } from './validate';

/**
 * The folder of the real 1-minute candle files: `ENGINE_OHLCV_DIR` (`config.ohlcvDir`), else
 * `../shared/data/ohlcv` beside the checkout (where the shared data lives; never copied in).
 */
export function realCandleDir(config: Pick<Config, 'ohlcvDir'>): string {
  // src/ and dist/ are both packages/candles/<folder>: four levels up is the checkout's parent.
  return config.ohlcvDir ?? path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'data', 'ohlcv');
}

/** `BTC/USDT` → `<dir>/BTCUSDT-1m.csv.gz`: the name of a symbol's file in the shared real data (and for `CsvSource`). */
export function candleFilePath(dir: string, symbol: string): string {
  return path.join(dir, `${pairStem(parsePair(symbol))}-1m.csv.gz`);
}

/** Rows [fromRow, fromRow + rows) of a file, counted after the header. */
export interface CandleFileRows {
  fromRow: number;
  rows: number;
}

/**
 * One gap-free `ts,open,high,low,close,volume` CSV(.gz) file read synchronously into a
 * CandleSeries on the minute grid: for benchmarks and tests that read the shared real data
 * by path (production loading, with gaps, sources and the cache, is `loadCandles`). The
 * file is parsed by `CandleCsvParser` and checked by `validateRawCandles`; the rows read
 * (all, or `window`) must be consecutive minutes, else a `DataError` names the first
 * missing one. The series' columns are views of the parsed rows (no copy).
 */
export function readCandleFile(file: string, symbol: string, window?: CandleFileRows): CandleSeries {
  const bytes = readFileSync(file);
  const all = parseCandleCsv(file.endsWith('.gz') ? gunzipSync(bytes) : bytes, `${symbol} ${file}`);
  validateRawCandles(symbol, all, file);
  const from = window?.fromRow ?? 0;
  const n = window?.rows ?? all.length - from;
  if (!(Number.isInteger(from) && Number.isInteger(n) && from >= 0 && n >= 0 && from + n <= all.length)) {
    throw new DataError('CANDLES_CSV_INVALID', `${file}: expected rows [${from}, ${from + n}) of ${symbol}, found ${all.length} rows in the file`, { file, symbol, fromRow: from, rows: n, fileRows: all.length });
  }
  const rows = subRaw(all, from, from + n);
  const start = n > 0 ? rows.ts[0]! : 0;
  if (!isExactGrid(rows, start, n)) {
    let i = 1;
    while (rows.ts[i] === start + i * MINUTE_MS) i++;
    const expected = new Date(start + i * MINUTE_MS).toISOString();
    throw new DataError('CANDLES_CSV_INVALID', `${file}: expected gap-free minutes for ${symbol}, but row ${from + i} is ${new Date(rows.ts[i]!).toISOString()} where ${expected} was due (readCandleFile reads gap-free files; loadCandles handles gaps)`, { file, symbol, row: from + i });
  }
  return exactGridSeries(symbol, rows, n);
}
