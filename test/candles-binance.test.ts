/**
 * The candle store against a local fake of Binance's REST API, through the real ccxt
 * client: paging, the incremental daily fetch, rate limits (429 + Retry-After), resuming
 * an interrupted download, and the still-forming candle.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { DAY_MS, MINUTE_MS, TransientError, parsePair, parseUtcDay, type CandleSeries } from '@engine/shared';
import { CandleCache, CcxtSource, CsvSource, loadCandles, resolveWindow, sliceRawByTime, type LoadCandlesOptions, type RawCandles } from '@engine/candles';
import { tableFromIPC } from 'apache-arrow';
import { startFakeBinance, type FakeBinance } from './fakes/fake-binance';
import { OHLCV_DIR } from './support/paths';

const csv = new CsvSource(OHLCV_DIR);
const reference = (symbol: string): Promise<RawCandles> => csv.readAll(parsePair(symbol));

/** Number of values where the series differs from the file's candles of its window (0 = identical). */
async function differences(c: CandleSeries, start: number, end: number): Promise<number> {
  const ref = sliceRawByTime(await reference(c.symbol), start, end);
  let d = Math.abs(ref.length - c.ts.length);
  for (const k of ['ts', 'open', 'high', 'low', 'close', 'volume'] as const) {
    const x = c[k];
    const y = ref[k];
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) d++;
  }
  for (let i = 0; i < c.gap.length; i++) d += c.gap[i]!;
  return d;
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'candles-binance-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

let fakes: FakeBinance[] = [];
async function fake(opts: Omit<Parameters<typeof startFakeBinance>[0], 'dataDir'>): Promise<FakeBinance> {
  const f = await startFakeBinance({ dataDir: OHLCV_DIR, ...opts });
  fakes.push(f);
  return f;
}
afterEach(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  fakes = [];
});

let n = 0;
const freshCache = (): string => path.join(tmp, `cache-${++n}`);

/** Options shared by the tests: the fake's URL and clock, a fast client-side rate limit. */
function against(f: FakeBinance, extra: Partial<LoadCandlesOptions> & Pick<LoadCandlesOptions, 'start' | 'end' | 'cacheDir'>): LoadCandlesOptions {
  return { symbol: 'BTC/USDT', source: 'binance', exchangeUrl: f.url, rateLimitMs: 1, now: () => f.nowMs, ...extra };
}

test('a 150-day download pages 1000 candles a request (216 klines calls); one day later only the new day is fetched (≤ 3 requests)', async () => {
  // The daily run of 2026-07-16 at 02:00 UTC, then the one a day later.
  const f = await fake({ symbols: ['BTCUSDT'], nowMs: Date.parse('2026-07-16T02:00:00Z') });
  const cacheDir = freshCache();
  const w = await resolveWindow({ days: 150, source: 'binance', now: () => f.nowMs });
  expect(w).toMatchObject({ lastDay: '2026-07-15', start: parseUtcDay('2026-02-16') });

  const progress: number[] = [];
  const first = await loadCandles(against(f, { start: w.start, end: w.end, cacheDir, onProgress: (p) => progress.push(p.doneMinutes) }));
  expect(first.summary).toMatchObject({ symbol: 'BTC/USDT', source: 'binance', rows: 216_000, gaps: 0, cache: 'miss', fetchedRows: 216_000, requests: 217 });
  const klines = f.klines();
  expect(klines).toHaveLength(216);
  klines.forEach((k, i) => {
    expect(k.query).toMatchObject({ symbol: 'BTCUSDT', interval: '1m', limit: '1000', startTime: String(w.start + i * 1000 * MINUTE_MS), endTime: String(w.end - 1) });
  });
  expect(f.requests.filter((r) => r.path !== '/api/v3/klines').map((r) => r.path)).toEqual(['/api/v3/exchangeInfo']);
  expect(progress).toHaveLength(216);
  expect(progress[215]).toBe(216_000);
  expect(await differences(first.candles, w.start, w.end)).toBe(0);

  f.setNow(Date.parse('2026-07-17T02:00:00Z'));
  const before = f.requests.length;
  const w2 = await resolveWindow({ days: 150, source: 'binance', now: () => f.nowMs });
  // A new source instance, as in a new process: markets are loaded again.
  const next = await loadCandles(against(f, { start: w2.start, end: w2.end, cacheDir }));
  expect(next.summary).toMatchObject({ rows: 216_000, gaps: 0, cache: 'partial', fetchedRows: 1440 });
  expect(next.summary.requests).toBeLessThanOrEqual(3);
  expect(f.requests.length - before).toBe(next.summary.requests);
  expect(f.klines().slice(216).map((k) => k.query.startTime)).toEqual([String(w.end), String(w.end + 1000 * MINUTE_MS)]);
  expect(await differences(next.candles, w2.start, w2.end)).toBe(0);

  // Same day again: nothing to fetch, not even the markets.
  const again = await loadCandles(against(f, { start: w2.start, end: w2.end, cacheDir }));
  expect(again.summary).toMatchObject({ cache: 'hit', requests: 0 });
}, 120_000);

test('a 429 is retried after its Retry-After, not after the (much longer) backoff', async () => {
  const f = await fake({ symbols: ['BTCUSDT'], nowMs: Date.parse('2026-07-16T02:00:00Z'), failFirst: 1, retryAfterSeconds: 1 });
  const start = parseUtcDay('2026-07-14');
  const t0 = Date.now();
  const r = await loadCandles(against(f, { start, end: start + DAY_MS, cacheDir: freshCache(), retry: { baseDelayMs: 60_000 }, minRows: 1 }));
  const took = Date.now() - t0;
  expect(f.klines().map((k) => k.status)).toEqual([429, 200, 200]);
  expect(r.summary).toMatchObject({ rows: 1440, gaps: 0, requests: 4 });
  expect(took).toBeGreaterThanOrEqual(1000);
  expect(took).toBeLessThan(20_000);
  expect(await differences(r.candles, start, start + DAY_MS)).toBe(0);
});

test('hammering the rate limit: 429s are waited out and the download completes', async () => {
  const f = await fake({ symbols: ['ETHUSDT'], nowMs: Date.parse('2026-07-16T02:00:00Z'), rateLimit: { maxRequestsPerWindow: 3, windowMs: 2000 } });
  const start = parseUtcDay('2026-07-12');
  const r = await loadCandles(against(f, { symbol: 'ETH/USDT', start, end: start + 3 * DAY_MS, cacheDir: freshCache(), retry: { baseDelayMs: 60_000 } }));
  expect(f.requests.some((q) => q.status === 429)).toBe(true);
  expect(r.summary).toMatchObject({ rows: 3 * 1440, gaps: 0, fetchedRows: 3 * 1440 });
  expect(f.klines().filter((k) => k.status === 200)).toHaveLength(5);
  expect(await differences(r.candles, start, start + 3 * DAY_MS)).toBe(0);
});

test('a rate limit that never lifts ends in a TransientError carrying Retry-After', async () => {
  const f = await fake({ symbols: ['BTCUSDT'], nowMs: Date.parse('2026-07-16T02:00:00Z'), failFirst: 100, retryAfterSeconds: 0 });
  const start = parseUtcDay('2026-07-14');
  const err = await loadCandles(against(f, { start, end: start + DAY_MS, cacheDir: freshCache(), retry: { attempts: 3 } })).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TransientError);
  expect(err).toMatchObject({ code: 'EXCHANGE_RATE_LIMITED', permanent: false, retryAfterMs: 0 });
  expect((err as Error).message).toMatch(/binance fetchOHLCV BTC\/USDT from 2026-07-14T00:00Z failed 3 times \(rate limited\)/);
  expect(f.klines()).toHaveLength(3);
});

test('an aborted download keeps its pages and resumes without duplicates or holes', async () => {
  const f = await fake({ symbols: ['ETHUSDT'], nowMs: Date.parse('2026-07-16T02:00:00Z') });
  const cacheDir = freshCache();
  const start = parseUtcDay('2026-05-01');
  const end = start + 60 * DAY_MS; // 86,400 candles: 87 pages
  const ac = new AbortController();
  const aborted = await loadCandles(
    against(f, { symbol: 'ETH/USDT', start, end, cacheDir, signal: ac.signal, onProgress: (p) => p.fetchedRows >= 30_000 && ac.abort() }),
  ).catch((e: unknown) => e);
  expect((aborted as Error).name).toBe('AbortError');
  expect(f.klines()).toHaveLength(30);

  const resumed = await loadCandles(against(f, { symbol: 'ETH/USDT', start, end, cacheDir }));
  expect(resumed.summary).toMatchObject({ rows: 86_400, gaps: 0, cache: 'partial', fetchedRows: 86_400 - 30_000 });
  const again = f.klines().slice(30);
  expect(again).toHaveLength(57);
  expect(again[0]!.query.startTime).toBe(String(start + 30_000 * MINUTE_MS));
  expect(await differences(resumed.candles, start, end)).toBe(0);
});

test('a server that dies mid-download: progress saved page batch by page batch, resumed against a new server', async () => {
  const dying = await fake({ symbols: ['ETHUSDT'], nowMs: Date.parse('2026-07-16T02:00:00Z'), dieAfterKlines: 45 });
  const cacheDir = freshCache();
  const start = parseUtcDay('2026-05-01');
  const end = start + 60 * DAY_MS;
  let savedAtPage25: number | undefined;
  const pair = parsePair('ETH/USDT');
  const err = await loadCandles(
    against(dying, {
      symbol: 'ETH/USDT',
      start,
      end,
      cacheDir,
      retry: { attempts: 2, baseDelayMs: 10 },
      checkpointPages: 20,
      onProgress: (p) => {
        // What a crash here would leave behind: the checkpoint of page 20, on disk.
        if (p.fetchedRows === 25_000) savedAtPage25 = tableFromIPC(readFileSync(CandleCache.fileFor(cacheDir, 'binance', pair))).numRows;
      },
    }),
  ).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TransientError);
  expect(err).toMatchObject({ code: 'EXCHANGE_UNAVAILABLE' });
  expect(savedAtPage25).toBe(20_000);

  const revived = await fake({ symbols: ['ETHUSDT'], nowMs: Date.parse('2026-07-16T02:00:00Z') });
  const r = await loadCandles(against(revived, { symbol: 'ETH/USDT', start, end, cacheDir }));
  expect(r.summary).toMatchObject({ rows: 86_400, gaps: 0, cache: 'partial', fetchedRows: 86_400 - 45_000 });
  expect(revived.klines()).toHaveLength(42);
  expect(await differences(r.candles, start, end)).toBe(0);
});

test('the still-forming candle is never returned nor cached; it is fetched once complete', async () => {
  const f = await fake({ symbols: ['BTCUSDT'], nowMs: Date.parse('2026-07-10T12:34:30Z') });
  const cacheDir = freshCache();
  const start = parseUtcDay('2026-07-10');
  const opts = against(f, { start, end: start + DAY_MS, cacheDir, minRows: 1, maxGapFraction: 1, maxGapMinutes: 1440 });
  const r = await loadCandles(opts);
  expect(r.summary).toMatchObject({ rows: 754, gaps: 0, end: Date.parse('2026-07-10T12:34:00Z') });
  expect(r.candles.ts[753]).toBe(Date.parse('2026-07-10T12:33:00Z'));
  const cached = await CandleCache.open(cacheDir, 'binance', parsePair('BTC/USDT'), { source: 'binance', fingerprint: 'binance' });
  expect(cached.covered).toEqual([[start, Date.parse('2026-07-10T12:34:00Z')]]);

  f.setNow(Date.parse('2026-07-10T12:40:00Z'));
  const later = await loadCandles(opts);
  expect(later.summary).toMatchObject({ rows: 760, cache: 'partial', fetchedRows: 6 });
  expect(f.klines().at(-1)!.query.startTime).toBe(String(Date.parse('2026-07-10T12:34:00Z')));
  expect(await differences(later.candles, start, Date.parse('2026-07-10T12:40:00Z'))).toBe(0);
});

test('an unknown symbol fails at once, permanently, without downloading', async () => {
  const f = await fake({ symbols: ['BTCUSDT'], nowMs: Date.parse('2026-07-16T02:00:00Z') });
  const start = parseUtcDay('2026-07-14');
  await expect(loadCandles(against(f, { symbol: 'SUI/USDT', start, end: start + DAY_MS, cacheDir: freshCache() }))).rejects.toMatchObject({
    code: 'SYMBOL_UNKNOWN',
    permanent: true,
    message: 'binance has no spot market SUI/USDT',
  });
  expect(f.klines()).toHaveLength(0);
});

test('a source instance can be reused across symbols; requests are counted per load', async () => {
  const f = await fake({ symbols: ['BTCUSDT', 'ETHUSDT'], nowMs: Date.parse('2026-07-16T02:00:00Z') });
  const source = new CcxtSource('binance', { exchangeUrl: f.url, rateLimitMs: 1 });
  const start = parseUtcDay('2026-07-15');
  const cacheDir = freshCache();
  const a = await loadCandles({ symbol: 'BTC/USDT', start, end: start + DAY_MS, source, cacheDir, now: () => f.nowMs });
  const b = await loadCandles({ symbol: 'ETH/USDT', start, end: start + DAY_MS, source, cacheDir, now: () => f.nowMs });
  expect(a.summary.requests).toBe(3);
  expect(b.summary.requests).toBe(2); // markets already loaded
  expect(source.requests).toBe(5);
});

describe('what the exchange lacks or gets wrong', () => {
  const D = parseUtcDay('2026-07-13');
  let dataDir: string;
  /** `minutes` synthetic candles from D without `skip`; `edit` may break one. */
  async function symbolFile(stem: string, minutes: number, skip: (i: number) => boolean = () => false, edit?: (i: number, f: number[]) => void): Promise<void> {
    const lines = ['ts,open,high,low,close,volume'];
    for (let i = 0; i < minutes; i++) {
      if (skip(i)) continue;
      const f = [100, 102, 99, 101, 5];
      edit?.(i, f);
      lines.push(`${D + i * MINUTE_MS},${f.join(',')}`);
    }
    await writeFile(path.join(dataDir, `${stem}-1m.csv.gz`), gzipSync(`${lines.join('\n')}\n`));
  }
  beforeAll(async () => {
    dataDir = path.join(tmp, 'crafted');
    await mkdir(dataDir, { recursive: true });
    await symbolFile('GAPUSDT', 2 * 1440, (i) => i >= 600 && i < 630);
    await symbolFile('LAGUSDT', 1440 + 500);
    await symbolFile('BADUSDT', 1440, undefined, (i, f) => i === 1200 && (f[1] = 100.5));
  });
  const crafted = (opts: Omit<Parameters<typeof startFakeBinance>[0], 'dataDir'>): Promise<FakeBinance> =>
    startFakeBinance({ dataDir, ...opts }).then((f) => (fakes.push(f), f));

  test('a gap at the exchange is masked, cached as a known gap and not asked for again', async () => {
    const f = await crafted({ symbols: ['GAPUSDT'], nowMs: Date.parse('2026-07-20T00:00:00Z') });
    const cacheDir = freshCache();
    const opts = against(f, { symbol: 'GAP/USDT', start: D, end: D + DAY_MS, cacheDir });
    const r = await loadCandles(opts);
    expect(r.summary).toMatchObject({ rows: 1440, gaps: 30, longestGap: 30, fetchedRows: 1410 });
    expect(Array.from(r.candles.gap.subarray(598, 632))).toEqual([0, 0, ...new Array(30).fill(1), 0, 0]);
    expect(Number.isNaN(r.candles.close[600]!)).toBe(true);
    expect(f.klines()).toHaveLength(2);
    expect((await loadCandles(opts)).summary).toMatchObject({ cache: 'hit', requests: 0, gaps: 30 });

    // Past the end of the exchange's history: one empty page, then a known gap.
    const tail = against(f, { symbol: 'GAP/USDT', start: D + DAY_MS, end: D + 3 * DAY_MS, cacheDir, minRows: 1, maxGapFraction: 1, maxGapMinutes: 3 * 1440 });
    expect((await loadCandles(tail)).summary).toMatchObject({ rows: 2880, gaps: 1440, cache: 'miss' });
    expect(f.klines().slice(2).map((k) => k.status)).toEqual([200, 200, 200]);
    expect((await loadCandles(tail)).summary).toMatchObject({ cache: 'hit', requests: 0 });
  });

  test('a candle missing right after its close is not cached as a gap: it is asked for again', async () => {
    const f = await crafted({ symbols: ['LAGUSDT'], nowMs: D + DAY_MS + 501 * MINUTE_MS + 30_000 });
    const cacheDir = freshCache();
    const opts = against(f, { symbol: 'LAG/USDT', start: D + DAY_MS, end: D + 2 * DAY_MS, cacheDir, minRows: 1 });
    const r = await loadCandles(opts);
    expect(r.summary).toMatchObject({ rows: 501, gaps: 1, end: D + DAY_MS + 501 * MINUTE_MS });
    const cache = await CandleCache.open(cacheDir, 'binance', parsePair('LAG/USDT'), { source: 'binance', fingerprint: 'binance' });
    expect(cache.covered).toEqual([[D + DAY_MS, D + DAY_MS + 500 * MINUTE_MS]]);
    const again = await loadCandles(opts);
    expect(again.summary).toMatchObject({ cache: 'partial', requests: 2 });
    expect(f.klines().at(-1)!.query.startTime).toBe(String(D + DAY_MS + 500 * MINUTE_MS));
  });

  test('a broken candle from the exchange is a permanent DataError and never enters the cache', async () => {
    const f = await crafted({ symbols: ['BADUSDT'], nowMs: Date.parse('2026-07-20T00:00:00Z') });
    const cacheDir = freshCache();
    const opts = against(f, { symbol: 'BAD/USDT', start: D, end: D + DAY_MS, cacheDir });
    const message = "BAD/USDT candle 2026-07-13T20:00:00.000Z from binance breaks rule 'high-above-open-close': expected high ≥ max(open, close), found high 100.5 < 101";
    await expect(loadCandles(opts)).rejects.toMatchObject({ code: 'CANDLES_INVALID', permanent: true, message });
    const cache = await CandleCache.open(cacheDir, 'binance', parsePair('BAD/USDT'), { source: 'binance', fingerprint: 'binance' });
    expect(cache.covered).toEqual([[D, D + 1000 * MINUTE_MS]]);
    await expect(loadCandles(opts)).rejects.toMatchObject({ message });
    expect(f.klines().map((k) => k.query.startTime)).toEqual([String(D), String(D + 1000 * MINUTE_MS), String(D + 1000 * MINUTE_MS)]);
  });

  test('an exchange id ccxt does not know is a permanent error', async () => {
    await expect(loadCandles({ symbol: 'BTC/USDT', start: D, end: D + DAY_MS, source: 'nosuchexchange', cacheDir: freshCache() })).rejects.toMatchObject({
      code: 'SOURCE_INVALID',
      permanent: true,
      message: expect.stringContaining("unknown exchange 'nosuchexchange'"),
    });
  });
});
