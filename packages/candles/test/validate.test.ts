import { DataError, MINUTE_MS, isPermanent } from '@engine/shared';
import { checkHistory, rawFromTuples, toMinuteGrid, validateRawCandles, type CandleRule } from '@engine/candles';

const T0 = Date.UTC(2026, 0, 31, 18, 40);
const iso = (ms: number): string => new Date(ms).toISOString();

/** Five good candles from T0; `edit` breaks one. */
function rows(edit?: (r: number[][]) => void) {
  const r: number[][] = [];
  for (let i = 0; i < 5; i++) r.push([T0 + i * MINUTE_MS, 100 + i, 101 + i, 99 + i, 100.5 + i, 3]);
  edit?.(r);
  return rawFromTuples(r);
}

function violation(fn: () => void): DataError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    return err as DataError;
  }
  throw new Error('expected a DataError, nothing was thrown');
}

describe('validateRawCandles: each SPEC §1.1 rule names the symbol, the timestamp and the rule', () => {
  const bad = T0 + 2 * MINUTE_MS;
  const cases: Array<[CandleRule, (r: number[][]) => void, number, RegExp]> = [
    ['sorted', (r) => ([r[2], r[3]] = [r[3]!, r[2]!]), T0 + 2 * MINUTE_MS, /ascending order, found it after/],
    ['unique-ts', (r) => (r[3]![0] = r[2]![0]!), T0 + 2 * MINUTE_MS, /one candle per minute/],
    ['on-the-minute', (r) => (r[2]![0] = bad + 30_000), bad + 30_000, /whole UTC minute.*30000 ms past/],
    ['high-above-open-close', (r) => (r[2]![2] = 101.9), bad, /high ≥ max\(open, close\), found high 101.9 < 102.5/],
    ['low-below-open-close', (r) => (r[2]![3] = 102.2), bad, /low ≤ min\(open, close\), found low 102.2 > 102/],
    ['positive-prices', (r) => { r[2]![1] = 0; r[2]![3] = -1; }, bad, /open, high, low, close > 0, found 0, 103, -1, 102.5/],
    ['non-negative-volume', (r) => (r[2]![5] = -0.5), bad, /volume ≥ 0, found -0.5/],
    ['finite-numbers', (r) => (r[2]![4] = NaN), bad, /finite numbers, found close=NaN/],
    ['finite-numbers', (r) => (r[2]![5] = Infinity), bad, /finite numbers, found volume=Infinity/],
  ];
  test.each(cases)('%s', (rule, edit, ts, what) => {
    const e = violation(() => validateRawCandles('BTC/USDT', rows(edit), 'binance'));
    expect(e.message).toContain('BTC/USDT');
    expect(e.message).toContain(iso(ts));
    expect(e.message).toContain(`'${rule}'`);
    expect(e.message).toContain('binance');
    expect(e.message).toMatch(what);
    expect(e.details).toMatchObject({ symbol: 'BTC/USDT', rule, ts, at: iso(ts), source: 'binance' });
    expect(e.code).toBe('CANDLES_INVALID');
    expect(isPermanent(e)).toBe(true);
  });

  test('a non-finite open time is reported by row, not as a bogus date', () => {
    const e = violation(() => validateRawCandles('ETH/USDT', rows((r) => (r[1]![0] = NaN)), 'csv:/data'));
    expect(e.message).toMatch(/^ETH\/USDT row 1 \(ts NaN\) from csv:\/data breaks rule 'finite-numbers'/);
  });

  test('order is checked against the previous page too', () => {
    const e = violation(() => validateRawCandles('BTC/USDT', rows(), 'binance', T0 + 10 * MINUTE_MS));
    expect(e.message).toContain(`${iso(T0)} from binance breaks rule 'sorted'`);
  });

  test('the first violation in time order is the one reported', () => {
    const e = violation(() => validateRawCandles('BTC/USDT', rows((r) => { r[1]![5] = -1; r[3]![2] = 0.5; }), 'binance'));
    expect(e.message).toContain(iso(T0 + MINUTE_MS));
    expect(e.message).toContain('non-negative-volume');
  });

  test('clean rows, flat candles and zero volume pass', () => {
    expect(() => validateRawCandles('BTC/USDT', rows((r) => (r[2] = [r[2]![0]!, 7, 7, 7, 7, 0])), 'binance')).not.toThrow();
  });
});

describe('checkHistory: window rules', () => {
  const N = 1000;
  /** N minutes from T0 with the minutes in `missing` absent. */
  function grid(missing: (i: number) => boolean) {
    const r: number[][] = [];
    for (let i = 0; i < N; i++) if (!missing(i)) r.push([T0 + i * MINUTE_MS, 10, 11, 9, 10, 1]);
    return toMinuteGrid('SUI/USDT', rawFromTuples(r), T0, T0 + N * MINUTE_MS);
  }

  test('gaps are recorded in the mask with NaN prices, never filled', () => {
    const s = grid((i) => i === 5);
    expect(s.ts).toHaveLength(N);
    expect(s.gap[5]).toBe(1);
    expect(s.gap[4]).toBe(0);
    expect(Number.isNaN(s.close[5]!)).toBe(true);
    expect(Number.isNaN(s.volume[5]!)).toBe(true);
    expect(s.ts[5]).toBe(T0 + 5 * MINUTE_MS);
    expect(checkHistory(s, 'binance')).toMatchObject({ rows: N, gaps: 1, longestGap: 1 });
  });

  test('minimum history: too little data names symbol, range and what was found', () => {
    const e = violation(() => checkHistory(grid((i) => i < 700), 'binance'));
    expect(e.details.rule).toBe('minimum-history');
    expect(e.message).toContain('SUI/USDT');
    expect(e.message).toContain(`too little history in [${iso(T0)}, ${iso(T0 + N * MINUTE_MS)})`);
    expect(e.message).toContain(`expected at least 500 candles, found 300 candles, the first at ${iso(T0 + 700 * MINUTE_MS)}`);
  });

  test('minimum history with no candles at all', () => {
    const e = violation(() => checkHistory(grid(() => true), 'binance', { minRows: 1 }));
    expect(e.message).toContain('found no candles at all');
  });

  test('gap fraction', () => {
    const e = violation(() => checkHistory(grid((i) => i % 10 === 3), 'binance'));
    expect(e.details.rule).toBe('gap-fraction');
    expect(e.message).toContain(`SUI/USDT candle ${iso(T0 + 3 * MINUTE_MS)}`);
    expect(e.message).toContain('100 of 1000 minutes');
    expect(e.message).toContain('(10.00%), expected at most 5.00%');
    expect(() => checkHistory(grid((i) => i % 10 === 3), 'binance', { maxGapFraction: 0.1 })).not.toThrow();
  });

  test('longest gap', () => {
    const e = violation(() => checkHistory(grid((i) => i >= 100 && i < 130), 'binance', { maxGapMinutes: 20 }));
    expect(e.details.rule).toBe('longest-gap');
    expect(e.message).toContain(`candle ${iso(T0 + 100 * MINUTE_MS)}`);
    expect(e.message).toContain(`gap of 30 minutes (until ${iso(T0 + 130 * MINUTE_MS)})`);
    expect(e.message).toContain('expected at most 20');
  });

  test('a window reaching back before the listing says where the history starts', () => {
    const e = violation(() => checkHistory(grid((i) => i < 200), 'binance'));
    expect(e.details.rule).toBe('gap-fraction');
    expect(e.message).toContain(`the source's candles start at ${iso(T0 + 200 * MINUTE_MS)}`);
  });
});
