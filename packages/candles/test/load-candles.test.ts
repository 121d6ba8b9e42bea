import { mkdir, mkdtemp, readdir, readFile, rm, writeFile, utimes } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { DAY_MS, DataError, MINUTE_MS, PermanentError, parsePair, parseUtcDay } from '@engine/shared';
import { CandleCache, CsvSource, loadCandles, parseSource, rawFromTuples, resolveWindow, sliceRawByTime } from '@engine/candles';

const OHLCV_DIR = process.env.ENGINE_OHLCV_DIR ?? path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'data', 'ohlcv');
const D0 = parseUtcDay('2026-03-01');

/** `days` of synthetic candles from D0 without the minutes in `skip`; close = minute index. */
function csvText(days: number, skip: (i: number) => boolean = () => false): string {
  const lines = ['ts,open,high,low,close,volume'];
  for (let i = 0; i < days * 1440; i++) if (!skip(i)) lines.push(`${D0 + i * MINUTE_MS},${100 + i},${102 + i},${99 + i},${101 + i},${i % 7}`);
  return `${lines.join('\n')}\n`;
}

describe('loadCandles from a CSV folder, with the Arrow cache', () => {
  let dir: string;
  let dataDir: string;
  let cacheDir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'candles-load-'));
    dataDir = path.join(dir, 'data');
    cacheDir = path.join(dir, 'cache');
    await mkdir(dataDir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const source = (): string => `csv:${dataDir}`;

  test('a window of a billion days (a typo) is refused before the cache is read or rewritten', async () => {
    await writeFile(path.join(dataDir, 'ABCUSDT-1m.csv'), csvText(3));
    const ok = await loadCandles({ symbol: 'ABC/USDT', start: D0, end: D0 + 2 * DAY_MS, source: source(), cacheDir });
    const before = await readFile(ok.summary.cacheFile);
    const end = D0 + 2 * DAY_MS;
    await expect(loadCandles({ symbol: 'ABC/USDT', start: end - 1e9 * DAY_MS, end, source: source(), cacheDir })).rejects.toThrow(/must start on or after 2009-01-03 and span at most 3650 days/);
    await expect(resolveWindow({ days: 1e9, end: '2026-03-02', source: source() })).rejects.toThrow(/from 1 to 3650/);
    expect((await readFile(ok.summary.cacheFile)).equals(before)).toBe(true);
  });

  test('miss, then hit, then a window one day later reads only the new day', async () => {
    await writeFile(path.join(dataDir, 'ABCUSDT-1m.csv'), csvText(6));
    const w = { start: D0, end: D0 + 4 * DAY_MS };
    const a = await loadCandles({ symbol: 'ABC/USDT', ...w, source: source(), cacheDir });
    expect(a.summary).toMatchObject({ symbol: 'ABC/USDT', rows: 4 * 1440, gaps: 0, cache: 'miss', fetchedRows: 4 * 1440, requests: 0 });
    expect(a.candles.close[0]).toBe(101);
    expect(a.candles.ts[5759]).toBe(D0 + 5759 * MINUTE_MS);

    const b = await loadCandles({ symbol: 'ABC/USDT', ...w, source: source(), cacheDir });
    expect(b.summary).toMatchObject({ cache: 'hit', fetchedRows: 0 });
    expect(Array.from(b.candles.close)).toEqual(Array.from(a.candles.close));

    const c = await loadCandles({ symbol: 'ABC/USDT', start: w.start + DAY_MS, end: w.end + DAY_MS, source: source(), cacheDir });
    expect(c.summary).toMatchObject({ cache: 'partial', fetchedRows: 1440, rows: 4 * 1440 });
    expect(c.candles.close[0]).toBe(101 + 1440);
    expect(c.candles.close[4 * 1440 - 1]).toBe(101 + 5 * 1440 - 1);
    // Only the cache file is left: writes go through a temporary file and a rename.
    expect(await readdir(path.dirname(c.summary.cacheFile))).toEqual(['ABCUSDT-1m.arrow']);
  });

  test('gaps at the source are kept as gaps (mask + NaN), from the source and from the cache alike', async () => {
    const missing = (i: number): boolean => i === 10 || (i >= 100 && i < 160);
    await writeFile(path.join(dataDir, 'ABCUSDT-1m.csv.gz'), gzipSync(csvText(1, missing)));
    const w = { start: D0, end: D0 + DAY_MS };
    const a = await loadCandles({ symbol: 'ABC/USDT', ...w, source: source(), cacheDir });
    const b = await loadCandles({ symbol: 'ABC/USDT', ...w, source: source(), cacheDir });
    for (const r of [a, b]) {
      expect(r.summary).toMatchObject({ rows: 1440, gaps: 61, longestGap: 60 });
      expect(r.candles.gap[10]).toBe(1);
      expect(r.candles.gap[11]).toBe(0);
      expect(Number.isNaN(r.candles.open[10]!)).toBe(true);
      expect(r.candles.open[11]).toBe(111); // the next minute's own value, not a fill
      expect(r.candles.ts[10]).toBe(D0 + 10 * MINUTE_MS);
    }
    expect(b.summary.cache).toBe('hit');
    await expect(loadCandles({ symbol: 'ABC/USDT', ...w, source: source(), cacheDir, maxGapMinutes: 30 })).rejects.toThrow(/ABC\/USDT candle 2026-03-01T01:40:00.000Z .* 'longest-gap': gap of 60 minutes/);
  });

  test('a changed file invalidates what was cached from it', async () => {
    const file = path.join(dataDir, 'ABCUSDT-1m.csv');
    await writeFile(file, csvText(1));
    const w = { start: D0, end: D0 + DAY_MS };
    await loadCandles({ symbol: 'ABC/USDT', ...w, source: source(), cacheDir });
    await writeFile(file, csvText(1).replace(`${D0},100,102,99,101,0`, `${D0},100,102,99,100.5,0`));
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    const r = await loadCandles({ symbol: 'ABC/USDT', ...w, source: source(), cacheDir });
    expect(r.summary.cache).toBe('miss');
    expect(r.candles.close[0]).toBe(100.5);
  });

  test('an unreadable cache file is rebuilt; a damaged one fails loudly', async () => {
    await writeFile(path.join(dataDir, 'ABCUSDT-1m.csv'), csvText(1));
    const w = { start: D0, end: D0 + DAY_MS };
    const first = await loadCandles({ symbol: 'ABC/USDT', ...w, source: source(), cacheDir });
    await writeFile(first.summary.cacheFile, 'garbage');
    const again = await loadCandles({ symbol: 'ABC/USDT', ...w, source: source(), cacheDir });
    expect(again.summary.cache).toBe('miss');
    expect(again.candles.close[5]).toBe(106);

    // A cache whose rows are out of order (written behind validation's back) is not trusted.
    const src = new CsvSource(dataDir);
    const pair = parsePair('XYZ/USDT');
    await writeFile(path.join(dataDir, 'XYZUSDT-1m.csv'), csvText(1));
    const cache = await CandleCache.open(cacheDir, src.cacheKey, pair, { source: src.id, fingerprint: await src.fingerprint(pair) });
    cache.add(rawFromTuples([[D0 + MINUTE_MS, 1, 1, 1, 1, 1], [D0, 1, 1, 1, 1, 1]]), [D0, D0 + DAY_MS]);
    await cache.save();
    await expect(loadCandles({ symbol: 'XYZ/USDT', ...w, source: src, cacheDir, minRows: 1 })).rejects.toThrow(/XYZ\/USDT candle 2026-03-01T00:00:00.000Z from .* cache .* breaks rule 'sorted'/);
  });

  test('the still-forming candle is never returned: the window is cut at the current minute', async () => {
    await writeFile(path.join(dataDir, 'ABCUSDT-1m.csv'), csvText(2));
    const now = D0 + 90 * MINUTE_MS + 25_000; // 01:30:25, the 01:30 candle is forming
    const r = await loadCandles({ symbol: 'ABC/USDT', start: D0, end: D0 + DAY_MS, source: source(), cacheDir, now: () => now, minRows: 1 });
    expect(r.summary.end).toBe(D0 + 90 * MINUTE_MS);
    expect(r.summary.rows).toBe(90);
    expect(r.candles.ts[89]).toBe(D0 + 89 * MINUTE_MS);
    await expect(loadCandles({ symbol: 'ABC/USDT', start: D0 + DAY_MS, end: D0 + 2 * DAY_MS, source: source(), cacheDir, now: () => now })).rejects.toThrow(/has no complete candle yet/);
  });

  test('bad windows and sources are permanent errors', async () => {
    await expect(loadCandles({ symbol: 'ABC/USDT', start: D0 + 1, end: D0 + DAY_MS, source: source(), cacheDir })).rejects.toThrow(PermanentError);
    await expect(loadCandles({ symbol: 'ABC/USDT', start: D0, end: D0, source: source(), cacheDir })).rejects.toThrow(/start < end/);
    await expect(loadCandles({ symbol: 'NOPE/USDT', start: D0, end: D0 + DAY_MS, source: source(), cacheDir })).rejects.toMatchObject({ code: 'SYMBOL_UNKNOWN' });
    await writeFile(path.join(dataDir, 'ABCUSDT-1m.csv'), csvText(1));
    await expect(loadCandles({ symbol: 'ABC/USDT', start: D0, end: D0 + 3 * DAY_MS, source: source(), cacheDir })).rejects.toThrow(DataError);
    await expect(loadCandles({ symbol: 'ABC/USDT', start: D0, end: D0 + 3 * DAY_MS, source: source(), cacheDir })).rejects.toThrow(/ABC\/USDT .* 'minimum-history': too little history in \[2026-03-01T00:00:00.000Z, 2026-03-04T00:00:00.000Z\): expected at least 2160 candles, found 1440/);
  });

  test('150 days of real BTC/USDT: 216,000 rows, no gaps, identical from file and cache', async () => {
    const w = await resolveWindow({ days: 150, source: `csv:${OHLCV_DIR}`, symbol: 'BTC/USDT' });
    expect(w).toMatchObject({ lastDay: '2026-07-16', runDate: '2026-07-17', start: parseUtcDay('2026-02-17') });
    const a = await loadCandles({ symbol: 'BTC/USDT', start: w.start, end: w.end, source: `csv:${OHLCV_DIR}`, cacheDir });
    const b = await loadCandles({ symbol: 'BTC/USDT', start: w.start, end: w.end, source: `csv:${OHLCV_DIR}`, cacheDir });
    expect(a.summary).toMatchObject({ rows: 216_000, gaps: 0, cache: 'miss' });
    expect(b.summary).toMatchObject({ rows: 216_000, gaps: 0, cache: 'hit' });
    const all = await new CsvSource(OHLCV_DIR).readAll(parsePair('BTC/USDT'));
    const ref = sliceRawByTime(all, w.start, w.end);
    // Compared in a plain loop: jest's deep equality takes seconds on 216,000-element arrays.
    let differ = 0;
    for (const k of ['ts', 'open', 'high', 'low', 'close', 'volume'] as const) {
      const x = b.candles[k];
      const y = ref[k];
      if (x.length !== y.length) differ++;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) differ++;
    }
    expect(differ).toBe(0);
  });
});

describe('resolveWindow and parseSource', () => {
  test('--end D is the last day included: [D + 1 − N days, D + 1)', async () => {
    const w = await resolveWindow({ days: 150, end: '2026-07-15', source: 'binance' });
    expect(w).toEqual({ start: parseUtcDay('2026-02-16'), end: parseUtcDay('2026-07-16'), runDate: '2026-07-16', lastDay: '2026-07-15', days: 150 });
  });

  test('an exchange without --end ends with yesterday (the last complete UTC day)', async () => {
    const w = await resolveWindow({ days: 2, source: 'binance', now: () => Date.parse('2026-11-24T01:36:00Z') });
    expect(w).toMatchObject({ lastDay: '2026-11-23', start: parseUtcDay('2026-11-22'), end: parseUtcDay('2026-11-24') });
  });

  test('bad input is a permanent error', async () => {
    await expect(resolveWindow({ days: 0, source: 'binance' })).rejects.toThrow(/whole number of days from 1 to 3650/);
    await expect(resolveWindow({ days: 3, end: '2026-02-30', source: 'binance' })).rejects.toThrow(/not a valid UTC day/);
    expect(() => parseSource('csv:')).toThrow(/names no folder/);
    expect(() => parseSource('Bin Ance')).toThrow(/neither csv:DIR nor a ccxt exchange id/);
    expect(parseSource('csv:/data')).toEqual({ kind: 'csv', dir: '/data' });
    expect(parseSource('kraken')).toEqual({ kind: 'exchange', exchangeId: 'kraken' });
  });
});
