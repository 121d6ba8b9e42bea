import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from '@engine/shared';
import { candleFilePath, readCandleFile, realCandleDir } from '@engine/candles';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const row = (i: number, price = 100 + i): string => `${T0 + i * MIN},${price},${price + 1},${price - 1},${price + 0.5},${10 + i}`;

describe('readCandleFile: the shared real-data files for benchmarks and tests', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-candle-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, lines: string[], gz = true): string => {
    const file = path.join(dir, name);
    const text = `ts,open,high,low,close,volume\n${lines.join('\n')}\n`;
    writeFileSync(file, gz ? gzipSync(text) : text);
    return file;
  };

  it('names files as the shared data does and defaults to ../shared/data/ohlcv beside the checkout', () => {
    expect(candleFilePath('/data', 'BTC/USDT')).toBe(path.join('/data', 'BTCUSDT-1m.csv.gz'));
    expect(candleFilePath('/data', 'sui-usdt')).toBe(path.join('/data', 'SUIUSDT-1m.csv.gz'));
    expect(realCandleDir({ ohlcvDir: '/x' })).toBe('/x');
    expect(realCandleDir({})).toBe(path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'data', 'ohlcv'));
  });

  it('reads every row, or rows [fromRow, fromRow + rows), onto the minute grid (gzip or plain)', () => {
    const lines = Array.from({ length: 10 }, (_, i) => row(i));
    const all = readCandleFile(write('ETHUSDT-1m.csv.gz', lines), 'ETH/USDT');
    expect(all.symbol).toBe('ETH/USDT');
    expect(Array.from(all.ts)).toEqual(lines.map((_, i) => T0 + i * MIN));
    expect(Array.from(all.close)).toEqual(lines.map((_, i) => 100 + i + 0.5));
    expect(Array.from(all.gap)).toEqual(new Array(10).fill(0));
    const some = readCandleFile(write('ETHUSDT-1m.csv', lines, false), 'ETH/USDT', { fromRow: 3, rows: 4 });
    expect(Array.from(some.ts)).toEqual([3, 4, 5, 6].map((i) => T0 + i * MIN));
    expect(Array.from(some.volume)).toEqual([13, 14, 15, 16]);
  });

  it('refuses rows the file does not have, naming the file and both counts', () => {
    const file = write('SUIUSDT-1m.csv.gz', Array.from({ length: 5 }, (_, i) => row(i)));
    expect(() => readCandleFile(file, 'SUI/USDT', { fromRow: 3, rows: 4 })).toThrow(DataError);
    expect(() => readCandleFile(file, 'SUI/USDT', { fromRow: 3, rows: 4 })).toThrow(`${file}: expected rows [3, 7) of SUI/USDT, found 5 rows in the file`);
  });

  it('refuses a file with a missing minute, naming the row and the minute that was due', () => {
    const file = write('TAOUSDT-1m.csv.gz', [row(0), row(1), row(3)]);
    expect(() => readCandleFile(file, 'TAO/USDT')).toThrow(/row 2 is 2026-01-01T00:03:00.000Z where 2026-01-01T00:02:00.000Z was due/);
    // A window before the gap is fine.
    expect(readCandleFile(file, 'TAO/USDT', { fromRow: 0, rows: 2 }).ts.length).toBe(2);
  });

  it('applies the candle rules (validateRawCandles) to what it reads', () => {
    const file = write('BTCUSDT-1m.csv.gz', [row(0), `${T0 + MIN},100,99,98,99.5,1`]);
    expect(() => readCandleFile(file, 'BTC/USDT')).toThrow(/high-above-open-close/);
  });
});
