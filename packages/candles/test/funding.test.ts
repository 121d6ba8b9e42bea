import { readdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parsePair } from '@engine/shared';
import { FundingCache, MAX_ABS_FUNDING_RATE, loadFundingRates, validateFunding, type FundingPage } from '../src';

/**
 * The funding side of the store without an exchange: the event rules, the JSON cache file
 * (round trip, atomic writes, a damaged or foreign file is rebuilt), and a CSV folder
 * refusing funding. Fetching through ccxt is in test/candles-perp-funding.test.ts.
 */
const H8 = 8 * 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const pair = parsePair('BTC/USDT');

function page(ts: number[], rate: number[]): FundingPage {
  return { length: ts.length, ts: Float64Array.from(ts), rate: Float64Array.from(rate) };
}

describe('validateFunding', () => {
  test('accepts increasing times and rates of either sign inside the bound', () => {
    expect(() => validateFunding('BTC/USDT', page([T0, T0 + H8, T0 + 2 * H8 + 3], [0.0001, -0.0075, MAX_ABS_FUNDING_RATE * 0.99]), 'x')).not.toThrow();
  });

  test('checks order against the previous page too', () => {
    expect(() => validateFunding('BTC/USDT', page([T0], [0.0001]), 'binanceusdm', T0)).toThrow(
      "BTC/USDT funding 2026-01-01T00:00:00.000Z from binanceusdm breaks rule 'sorted': expected times strictly increasing, found 2026-01-01T00:00:00.000Z after 2026-01-01T00:00:00.000Z",
    );
  });

  test('the bound is exclusive and holds for negative rates', () => {
    expect(() => validateFunding('BTC/USDT', page([T0], [-MAX_ABS_FUNDING_RATE]), 'x')).toThrow(/'rate-bound': expected \|rate\| < 0.05, found -0.05/);
  });

  test('an unreadable time names the row', () => {
    expect(() => validateFunding('BTC/USDT', page([T0, NaN], [0, 0]), 'x')).toThrow("BTC/USDT funding row 1 (ts NaN) from x breaks rule 'finite-numbers'");
  });
});

describe('FundingCache', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'engine-funding-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('keeps events and covered ranges across processes, in time order, whatever order ranges were fetched in', async () => {
    const cache = await FundingCache.open(dir, 'binanceusdm', pair, 'binanceusdm');
    cache.add(page([T0 + 3 * H8, T0 + 4 * H8], [0.0003, 0.0004]), [T0 + 3 * H8, T0 + 5 * H8]);
    cache.add(page([T0, T0 + H8], [0.0001, -0.0002]), [T0, T0 + 2 * H8]);
    await cache.save();
    expect((await readdir(path.join(dir, 'binanceusdm'))).sort()).toEqual(['BTCUSDT-funding.json']);

    const again = await FundingCache.open(dir, 'binanceusdm', pair, 'binanceusdm');
    expect(again.discarded).toBeUndefined();
    expect(again.covered).toEqual([
      [T0, T0 + 2 * H8],
      [T0 + 3 * H8, T0 + 5 * H8],
    ]);
    const all = again.slice(T0, T0 + 5 * H8);
    expect(Array.from(all.ts)).toEqual([T0, T0 + H8, T0 + 3 * H8, T0 + 4 * H8]);
    expect(Array.from(all.rate)).toEqual([0.0001, -0.0002, 0.0003, 0.0004]);
    expect(Array.from(again.slice(T0 + H8, T0 + 4 * H8).ts)).toEqual([T0 + H8, T0 + 3 * H8]);
  });

  test('a damaged file, or one of another symbol or source, is ignored and rebuilt', async () => {
    const cache = await FundingCache.open(dir, 'binanceusdm', pair, 'binanceusdm');
    cache.add(page([T0], [0.0001]), [T0, T0 + H8]);
    await cache.save();
    const file = FundingCache.fileFor(dir, 'binanceusdm', pair);
    const good = await readFile(file, 'utf8');

    expect((await FundingCache.open(dir, 'binanceusdm', pair, 'another')).discarded).toBe('other-source');
    await writeFile(file, good.replace('"BTC/USDT"', '"ETH/USDT"'));
    expect((await FundingCache.open(dir, 'binanceusdm', pair, 'binanceusdm')).discarded).toBe('other-symbol');
    await writeFile(file, good.slice(0, 40));
    const damaged = await FundingCache.open(dir, 'binanceusdm', pair, 'binanceusdm');
    expect(damaged.discarded).toBe('unreadable');
    expect(damaged.covered).toEqual([]);
  });
});

test('a CSV folder has no funding: a permanent error that says which source to use', async () => {
  await expect(loadFundingRates({ symbol: 'BTC/USDT', from: T0, to: T0 + 86_400_000, source: 'csv:/nowhere', cacheDir: tmpdir() })).rejects.toMatchObject({
    code: 'FUNDING_UNAVAILABLE',
    permanent: true,
    message: expect.stringContaining('funding needs an exchange source with perpetual futures, such as binanceusdm'),
  });
});
