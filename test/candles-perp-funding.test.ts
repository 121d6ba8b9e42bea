/**
 * USDⓈ-M perpetuals through the real ccxt `binanceusdm` client against the local fake of
 * Binance: perpetual candles land in their own cache beside spot's, and funding rates are
 * fetched page by page, validated, cached and then fetched only where the cache has not
 * been.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { DAY_MS, MINUTE_MS, parsePair, parseUtcDay } from '@engine/shared';
import { CandleCache, CcxtSource, CsvSource, FundingCache, loadCandles, loadFundingRates, parseSource, sliceRawByTime, type LoadFundingOptions } from '@engine/candles';
import { startFakeBinance, type FakeBinance, type FakeBinanceOptions, type FundingRow } from './fakes/fake-binance';
import { OHLCV_DIR } from './support/paths';

const NOW = Date.parse('2026-07-16T02:00:00Z');
const D = parseUtcDay('2026-07-13');

let tmp: string;
let perpDir: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'candles-perp-'));
  // Two days of perpetual candles unlike the spot ones, so a mix-up cannot pass unseen.
  perpDir = path.join(tmp, 'perp');
  await mkdir(perpDir);
  const lines = ['ts,open,high,low,close,volume'];
  for (let i = 0; i < 2 * 1440; i++) lines.push(`${D + i * MINUTE_MS},${1000 + i},${1002 + i},${999 + i},${1001 + i},7`);
  await writeFile(path.join(perpDir, 'BTCUSDT-1m.csv.gz'), gzipSync(`${lines.join('\n')}\n`));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

let fakes: FakeBinance[] = [];
async function fake(opts: Partial<FakeBinanceOptions> = {}): Promise<FakeBinance> {
  const f = await startFakeBinance({ dataDir: OHLCV_DIR, symbols: ['BTCUSDT'], nowMs: NOW, futures: { dataDir: perpDir, symbols: ['BTCUSDT'] }, ...opts });
  fakes.push(f);
  return f;
}
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  fakes = [];
});

let n = 0;
const freshCache = (): string => path.join(tmp, `cache-${++n}`);

function funding(f: FakeBinance, extra: Partial<LoadFundingOptions> & Pick<LoadFundingOptions, 'from' | 'to' | 'cacheDir'>): LoadFundingOptions {
  return { symbol: 'BTC/USDT', source: 'binanceusdm', exchangeUrl: f.url, rateLimitMs: 1, now: () => f.nowMs, ...extra };
}

/** What the fake holds for `[from, to)`, as numbers. */
function served(f: FakeBinance, from: number, to: number): { ts: number[]; rate: number[] } {
  const rows = f.fundingHistory('BTCUSDT').filter((r) => r.fundingTime >= from && r.fundingTime < to);
  return { ts: rows.map((r) => r.fundingTime), rate: rows.map((r) => Number(r.fundingRate)) };
}

describe('perpetual candles', () => {
  test('binanceusdm reads BTC/USDT as the perpetual BTC/USDT:USDT, 1000 candles a request, into a cache of its own', async () => {
    expect(parseSource('binanceusdm')).toEqual({ kind: 'exchange', exchangeId: 'binanceusdm' });
    const f = await fake();
    const cacheDir = freshCache();
    const window = { symbol: 'BTC/USDT', start: D, end: D + DAY_MS, cacheDir, exchangeUrl: f.url, rateLimitMs: 1, now: () => f.nowMs };

    const spot = await loadCandles({ ...window, source: 'binance' });
    const perp = await loadCandles({ ...window, source: 'binanceusdm' });
    expect(perp.summary).toMatchObject({ source: 'binanceusdm', rows: 1440, gaps: 0, cache: 'miss', fetchedRows: 1440, requests: 3 });
    expect(Array.from(perp.candles.close.subarray(0, 3))).toEqual([1001, 1002, 1003]);
    expect(perp.candles.close[1439]).toBe(1001 + 1439);

    // Spot came from /api/v3, the perpetual from /fapi/v1 only.
    expect(f.countByPath()).toEqual({ '/api/v3/exchangeInfo': 1, '/api/v3/klines': 2, '/fapi/v1/exchangeInfo': 1, '/fapi/v1/klines': 2 });
    expect(f.futuresKlines().map((k) => k.query)).toEqual([
      { symbol: 'BTCUSDT', interval: '1m', limit: '1000', startTime: String(D), endTime: String(D + DAY_MS - 1) },
      { symbol: 'BTCUSDT', interval: '1m', limit: '1000', startTime: String(D + 1000 * MINUTE_MS), endTime: String(D + DAY_MS - 1) },
    ]);

    // Two cache files; each holds its own market's candles.
    const pair = parsePair('BTC/USDT');
    expect(perp.summary.cacheFile).toBe(CandleCache.fileFor(cacheDir, 'binanceusdm', pair));
    expect(spot.summary.cacheFile).toBe(CandleCache.fileFor(cacheDir, 'binance', pair));
    const ref = sliceRawByTime(await new CsvSource(OHLCV_DIR).readAll(pair), D, D + DAY_MS);
    expect(Array.from(spot.candles.close)).toEqual(Array.from(ref.close));
    const again = await loadCandles({ ...window, source: 'binanceusdm' });
    expect(again.summary).toMatchObject({ cache: 'hit', requests: 0 });
    expect(Array.from(again.candles.close)).toEqual(Array.from(perp.candles.close));
    expect(Array.from((await loadCandles({ ...window, source: 'binance' })).candles.close)).toEqual(Array.from(ref.close));
  });

  test('a pair without a perpetual fails at once, permanently, naming the market it looked for', async () => {
    const f = await fake({ symbols: ['BTCUSDT', 'ETHUSDT'] });
    await expect(
      loadCandles({ symbol: 'ETH/USDT', start: D, end: D + DAY_MS, source: 'binanceusdm', cacheDir: freshCache(), exchangeUrl: f.url, now: () => f.nowMs }),
    ).rejects.toMatchObject({ code: 'SYMBOL_UNKNOWN', permanent: true, message: 'binanceusdm has no linear perpetual ETH/USDT:USDT (for ETH/USDT)' });
    expect(f.futuresKlines()).toHaveLength(0);
  });
});

describe('funding rates', () => {
  test('loaded page by page as the exchange served them, cached, then fetched only where the cache has not been', async () => {
    const f = await fake();
    const cacheDir = freshCache();
    const from = Date.UTC(2025, 0, 1);
    const to = Date.UTC(2026, 6, 15);
    const first = await loadFundingRates(funding(f, { from, to, cacheDir }));
    expect(first.symbol).toBe('BTC/USDT');
    expect(first.source).toBe('binanceusdm');
    const expected = served(f, from, to);
    expect(expected.ts).toHaveLength(560 * 3);
    expect(Array.from(first.ts)).toEqual(expected.ts);
    expect(Array.from(first.rate)).toEqual(expected.rate);
    // 1680 events: a full page of 1000, then the rest.
    expect(f.countByPath()).toEqual({ '/fapi/v1/exchangeInfo': 1, '/fapi/v1/fundingRate': 2 });
    expect(f.fundingRequests().map((r) => r.query)).toEqual([
      { symbol: 'BTCUSDT', startTime: String(from), endTime: String(to - 1), limit: '1000' },
      { symbol: 'BTCUSDT', startTime: String(expected.ts[999]! + 1), endTime: String(to - 1), limit: '1000' },
    ]);
    expect(existsSync(FundingCache.fileFor(cacheDir, 'binanceusdm', parsePair('BTC/USDT')))).toBe(true);

    // The same window again, and a month inside it: not one request, not even the markets.
    const before = f.requests.length;
    const again = await loadFundingRates(funding(f, { from, to, cacheDir }));
    expect(Array.from(again.rate)).toEqual(expected.rate);
    const march = await loadFundingRates(funding(f, { from: Date.UTC(2026, 2, 1), to: Date.UTC(2026, 3, 1), cacheDir }));
    expect(Array.from(march.ts)).toEqual(served(f, Date.UTC(2026, 2, 1), Date.UTC(2026, 3, 1)).ts);
    expect(f.requests.length).toBe(before);

    // One day more: one funding request, for that day only.
    const longer = await loadFundingRates(funding(f, { from, to: to + DAY_MS, cacheDir }));
    expect(Array.from(longer.ts)).toEqual(served(f, from, to + DAY_MS).ts);
    expect(f.fundingRequests()).toHaveLength(3);
    expect(f.fundingRequests()[2]!.query).toMatchObject({ startTime: String(to), endTime: String(to + DAY_MS - 1) });
  });

  test('a window reaching the present stops just before now; an event is recorded once it has settled', async () => {
    const f = await fake({ nowMs: Date.parse('2026-07-16T08:03:00Z') });
    const source = new CcxtSource('binanceusdm', { exchangeUrl: f.url, rateLimitMs: 1 });
    const cacheDir = freshCache();
    const opts = { symbol: 'BTC/USDT', from: parseUtcDay('2026-07-16'), to: parseUtcDay('2026-07-17'), source, cacheDir, now: () => f.nowMs };
    // 08:00 happened 3 minutes ago: not yet settled, so not returned nor recorded as absent.
    expect(Array.from((await loadFundingRates(opts)).ts)).toEqual([parseUtcDay('2026-07-16')]);
    f.setNow(Date.parse('2026-07-16T08:10:00Z'));
    const later = await loadFundingRates(opts);
    expect(Array.from(later.ts)).toEqual([parseUtcDay('2026-07-16'), Date.parse('2026-07-16T08:00:00Z')]);
    expect(f.fundingRequests().map((r) => r.query.startTime)).toEqual([String(opts.from), String(Date.parse('2026-07-16T07:58:00Z'))]);
    // One source instance: the markets were loaded once.
    expect(f.countByPath()['/fapi/v1/exchangeInfo']).toBe(1);
  });

  test('a 429 on funding is waited out like one on candles', async () => {
    const f = await fake({ failFirst: 1, retryAfterSeconds: 0 });
    const from = parseUtcDay('2026-07-01');
    const r = await loadFundingRates(funding(f, { from, to: from + 10 * DAY_MS, cacheDir: freshCache(), retry: { baseDelayMs: 60_000 } }));
    expect(r.ts).toHaveLength(30);
    expect(f.fundingRequests().map((q) => q.status)).toEqual([429, 200]);
  });

  describe('broken events from the exchange are a permanent DataError naming symbol, time and rule, and never cached', () => {
    const at = Date.parse('2026-03-01T08:00:00Z');
    const breaking = (edit: (row: FundingRow, i: number, rows: FundingRow[]) => FundingRow[]) => (_: string, rows: FundingRow[]) =>
      rows.flatMap((row, i) => (row.fundingTime === at ? edit(row, i, rows) : [row]));
    test.each([
      ['an implausible rate', breaking((row) => [{ ...row, fundingRate: '0.31000000' }]), `'rate-bound': expected |rate| < 0.05, found 0.31`],
      ['a duplicated event', breaking((row) => [row, row]), `'sorted': expected times strictly increasing, found 2026-03-01T08:00:00.000Z after 2026-03-01T08:00:00.000Z`],
      ['an unreadable rate', breaking((row) => [{ ...row, fundingRate: 'n/a' }]), `'finite-numbers': expected a finite time and rate, found ts ${at}, rate NaN`],
    ])('%s', async (_what, editFunding, rule) => {
      const f = await fake({ futures: { dataDir: perpDir, symbols: ['BTCUSDT'], editFunding } });
      const cacheDir = freshCache();
      const opts = funding(f, { from: Date.UTC(2026, 1, 1), to: Date.UTC(2026, 3, 1), cacheDir });
      const message = `BTC/USDT funding 2026-03-01T08:00:00.000Z from binanceusdm breaks rule ${rule}`;
      await expect(loadFundingRates(opts)).rejects.toMatchObject({ name: 'DataError', code: 'FUNDING_INVALID', permanent: true, message });
      const cache = await FundingCache.open(cacheDir, 'binanceusdm', parsePair('BTC/USDT'), 'binanceusdm');
      expect(cache.covered).toEqual([]);
      await expect(loadFundingRates(opts)).rejects.toMatchObject({ message });
      expect(f.fundingRequests()).toHaveLength(2);
    });
  });

  test('funding needs a perpetuals source: a CSV folder and a spot exchange refuse at once, saying what to use', async () => {
    const f = await fake();
    const window = { symbol: 'BTC/USDT', from: D, to: D + DAY_MS, cacheDir: freshCache() };
    await expect(loadFundingRates({ ...window, source: `csv:${OHLCV_DIR}` })).rejects.toMatchObject({
      code: 'FUNDING_UNAVAILABLE',
      permanent: true,
      message: `BTC/USDT: source csv:${OHLCV_DIR} holds candles only, no funding rates: funding needs an exchange source with perpetual futures, such as binanceusdm`,
    });
    await expect(loadFundingRates({ ...window, source: 'binance', exchangeUrl: f.url })).rejects.toMatchObject({
      code: 'FUNDING_UNAVAILABLE',
      permanent: true,
      message: 'BTC/USDT: binance serves spot markets, which have no funding: funding rates need a perpetual-futures source such as binanceusdm',
    });
    expect(f.requests).toHaveLength(0);
  });
});
