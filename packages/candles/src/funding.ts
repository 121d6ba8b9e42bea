import { MINUTE_MS, PermanentError, parsePair } from '@engine/shared';
import type { RetryOptions } from './ccxt-source';
import { missingRanges, type TimeRange } from './coverage';
import { FundingCache } from './funding-cache';
import { openSource } from './sources';
import type { CandleSource, FundingPage, SourceSpec } from './source';
import { ruleViolation } from './validate';

/** The funding history of one perpetual over a window. */
export interface FundingRates {
  /** Our pair, `BTC/USDT` (the source maps it to its perpetual, e.g. `BTC/USDT:USDT`). */
  symbol: string;
  /** The source's id, e.g. `binanceusdm`. */
  source: string;
  /** Funding time, epoch ms UTC, strictly increasing (Binance: every 8 h, at times a few ms after the hour). */
  ts: Float64Array;
  /** Fraction of the position's notional paid per funding event; positive: longs pay shorts. */
  rate: Float64Array;
}

export interface LoadFundingOptions {
  /** `BTC/USDT` (also `BTCUSDT`, `btc-usdt`). */
  symbol: string;
  /** Window `[from, to)`, epoch ms UTC. */
  from: number;
  to: number;
  /** An exchange with perpetual futures (`binanceusdm`), a parsed spec, or a source instance (reused across calls). */
  source: string | SourceSpec | CandleSource;
  /** Folder of the cache, the candles' (`<ENGINE_DATA_DIR>/candles`); funding lives beside the candles of the same source. */
  cacheDir: string;
  /** Override the exchange's REST base URL (tests point ccxt at a fake). */
  exchangeUrl?: string;
  /** ccxt rate limit override in ms; default the exchange's own. */
  rateLimitMs?: number;
  retry?: RetryOptions;
  signal?: AbortSignal;
  /** Clock (epoch ms). Default `Date.now`. Tests pin it. */
  now?: () => number;
}

/** Largest plausible |rate| per event: Binance caps funding at a few percent; a larger value is a broken row. */
export const MAX_ABS_FUNDING_RATE = 0.05;

/**
 * An event younger than this may not be published yet: the window is cut here, so the
 * last few minutes are not recorded as "no event" and are asked for again next time.
 */
export const FUNDING_SETTLE_MS = 5 * MINUTE_MS;

export const FUNDING_INVALID = 'FUNDING_INVALID';

export type FundingRule = 'finite-numbers' | 'sorted' | 'rate-bound';

/**
 * Every funding event of `symbol`'s perpetual in `[from, to)`: read the cache, fetch only
 * the ranges it has not seen (Binance: up to 1000 events a request, so a daily run makes
 * one), validate each new event, save, and return the window. A window reaching the
 * present ends `FUNDING_SETTLE_MS` before `now`.
 *
 * Errors: `PermanentError` `FUNDING_UNAVAILABLE` when the source has no funding (a CSV
 * folder, a spot exchange), `SYMBOL_UNKNOWN` when the exchange lists no perpetual of the
 * pair, `WINDOW_INVALID`; `DataError` `FUNDING_INVALID` for a broken event (never cached);
 * `TransientError` (network, rate limit after retries); or the signal's abort reason.
 */
export async function loadFundingRates(opts: LoadFundingOptions): Promise<FundingRates> {
  const pair = parsePair(opts.symbol);
  const { from, to } = opts;
  if (!(Number.isInteger(from) && Number.isInteger(to) && to > from)) {
    throw new PermanentError('WINDOW_INVALID', `${pair.symbol}: funding window [${from}, ${to}) must be whole epoch ms with from < to`, { symbol: pair.symbol, from, to });
  }
  const source = isSource(opts.source) ? opts.source : openSource(opts.source, { exchangeUrl: opts.exchangeUrl, rateLimitMs: opts.rateLimitMs, retry: opts.retry });
  if (source.fetchFunding === undefined) {
    throw new PermanentError(
      'FUNDING_UNAVAILABLE',
      `${pair.symbol}: source ${source.id} holds candles only, no funding rates: funding needs an exchange source with perpetual futures, such as binanceusdm`,
      { symbol: pair.symbol, source: source.id },
    );
  }
  const now = (opts.now ?? Date.now)();
  const end = Math.min(to, now - FUNDING_SETTLE_MS);
  const cache = await FundingCache.open(opts.cacheDir, source.cacheKey, pair, source.id);
  const missing = end > from ? missingRanges(cache.covered, from, end) : [];
  if (missing.length > 0) {
    let prevTs = -Infinity;
    const onBatch = async (rows: FundingPage, covered: TimeRange): Promise<void> => {
      validateFunding(pair.symbol, rows, source.id, prevTs);
      if (rows.length > 0) prevTs = rows.ts[rows.length - 1]!;
      cache.add(rows, covered);
    };
    try {
      for (const range of missing) {
        prevTs = -Infinity;
        await source.fetchFunding.call(source, pair, range, { now, signal: opts.signal, onBatch });
      }
    } catch (err) {
      // Keep the pages that arrived before the failure: the next call resumes after them.
      await cache.save().catch(() => undefined);
      throw err;
    }
    await cache.save();
  }
  const rows = end > from ? cache.slice(from, end) : { ts: new Float64Array(0), rate: new Float64Array(0) };
  // New events were checked on the way in; this re-check catches a damaged or hand-edited file.
  validateFunding(pair.symbol, { length: rows.ts.length, ...rows }, `${source.id} cache ${cache.file}`);
  return { symbol: pair.symbol, source: source.id, ts: rows.ts, rate: rows.rate };
}

/**
 * Check funding events as a source delivered them: finite time and rate, times strictly
 * increasing (across pages too, via `prevTs`), |rate| < `MAX_ABS_FUNDING_RATE`. The first
 * offending event is reported as a `DataError` naming symbol, time, source and rule.
 */
export function validateFunding(symbol: string, rows: FundingPage, source: string, prevTs = -Infinity): void {
  const { ts, rate } = rows;
  let prev = prevTs;
  for (let i = 0; i < rows.length; i++) {
    const t = ts[i]!;
    const r = rate[i]!;
    if (!(Number.isFinite(t) && Number.isFinite(r))) fail(symbol, source, 'finite-numbers', t, i, `expected a finite time and rate, found ts ${t}, rate ${r}`);
    if (!(t > prev)) fail(symbol, source, 'sorted', t, i, `expected times strictly increasing, found ${iso(t)} after ${iso(prev)}`);
    if (!(Math.abs(r) < MAX_ABS_FUNDING_RATE)) fail(symbol, source, 'rate-bound', t, i, `expected |rate| < ${MAX_ABS_FUNDING_RATE}, found ${r}`);
    prev = t;
  }
}

function fail(symbol: string, source: string, rule: FundingRule, ts: number, row: number, what: string): never {
  throw ruleViolation(FUNDING_INVALID, 'funding', symbol, source, rule, ts, row, what);
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

function isSource(s: LoadFundingOptions['source']): s is CandleSource {
  return typeof s === 'object' && 'fetch' in s;
}
