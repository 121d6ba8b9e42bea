import { MINUTE_MS, PermanentError, formatUtcMinute, parsePair, type CandleSeries } from '@engine/shared';
import { CandleCache } from './arrow-cache';
import { missingRanges, type TimeRange } from './coverage';
import { exactGridSeries, fillMinuteGrid, isExactGrid } from './grid';
import { openSource } from './sources';
import type { CcxtSourceOptions, RetryOptions } from './ccxt-source';
import type { CandleSource, SourceSpec } from './source';
import { checkHistory, validateRawCandles, type GapLimits } from './validate';

/** Progress of the download part of a load (nothing is reported on a cache hit). */
export interface LoadProgress {
  symbol: string;
  /** Minutes of the missing ranges fetched so far, and in all. */
  doneMinutes: number;
  totalMinutes: number;
  /** Candles received so far. */
  fetchedRows: number;
  /** HTTP requests so far (0 for files). */
  requests: number;
}

export interface LoadCandlesOptions extends Partial<GapLimits> {
  /** `BTC/USDT` (also `BTCUSDT`, `btc-usdt`). */
  symbol: string;
  /** Window `[start, end)`, epoch ms UTC, on whole minutes. */
  start: number;
  end: number;
  /** `binance` (any ccxt exchange id), `csv:DIR`, a parsed spec, or a source instance (reused across calls). */
  source: string | SourceSpec | CandleSource;
  /** Folder of the Arrow cache (the CLI uses `<ENGINE_DATA_DIR>/candles`). */
  cacheDir: string;
  /** Override the exchange's REST base URL (ENGINE_EXCHANGE_URL; tests point ccxt at a fake). */
  exchangeUrl?: string;
  /** ccxt rate limit override in ms; default the exchange's own. */
  rateLimitMs?: number;
  retry?: RetryOptions;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /** Clock (epoch ms). Default `Date.now`. Tests pin it. */
  now?: () => number;
  /** Save the cache after this many fetched pages, so an interrupted download resumes. Default 20. */
  checkpointPages?: number;
}

/** What a load did, for logs and the CLI. */
export interface LoadSummary {
  symbol: string;
  /** The source's id (`binance`, `csv:/abs/dir`). */
  source: string;
  /** Minutes on the grid, gaps included. */
  rows: number;
  /** Window actually returned, `[start, end)` epoch ms; `end` is earlier than asked if the window reached the forming candle. */
  start: number;
  end: number;
  /** Minutes the source does not have (gap mask = 1). */
  gaps: number;
  longestGap: number;
  /** `hit`: nothing fetched; `miss`: all fetched; `partial`: only the missing head/tail. */
  cache: 'hit' | 'miss' | 'partial';
  /** HTTP requests made by this load (0 for files). */
  requests: number;
  /** Candles received from the source by this load. */
  fetchedRows: number;
  /** The cache file. */
  cacheFile: string;
}

export interface LoadedCandles {
  candles: CandleSeries;
  summary: LoadSummary;
}

/**
 * Load 1-minute candles of one symbol for `[start, end)`: read the cache, fetch only the
 * ranges it has not seen (saving progress page batch by page batch), validate every new
 * row (SPEC §1.1), and return the window on the complete minute grid with its gap mask.
 *
 * A window reaching the current minute is cut before the still-forming candle.
 * Errors: `DataError` (broken or too-short history: permanent), `PermanentError`
 * (unknown symbol, bad window or source), `TransientError` (network, rate limit after
 * retries), or the signal's abort reason.
 */
export async function loadCandles(opts: LoadCandlesOptions): Promise<LoadedCandles> {
  const pair = parsePair(opts.symbol);
  const { start } = opts;
  checkWindow(pair.symbol, start, opts.end);
  const now = (opts.now ?? Date.now)();
  const end = Math.min(opts.end, Math.floor(now / MINUTE_MS) * MINUTE_MS);
  if (end <= start) {
    throw new PermanentError('WINDOW_INVALID', `${pair.symbol}: window [${formatUtcMinute(start)}, ${formatUtcMinute(opts.end)}) has no complete candle yet (now ${formatUtcMinute(now)})`, { symbol: pair.symbol, start, end: opts.end });
  }
  const source = isSource(opts.source) ? opts.source : openSource(opts.source, ccxtOptions(opts));
  const requestsBefore = source.requests;
  const cache = await CandleCache.open(opts.cacheDir, source.cacheKey, pair, { source: source.id, fingerprint: await source.fingerprint(pair) });

  const missing = missingRanges(cache.covered, start, end);
  const totalMinutes = sumMinutes(missing);
  const windowMinutes = (end - start) / MINUTE_MS;
  const state: LoadSummary['cache'] = totalMinutes === 0 ? 'hit' : totalMinutes === windowMinutes ? 'miss' : 'partial';

  let fetchedRows = 0;
  if (missing.length > 0) {
    const every = Math.max(1, opts.checkpointPages ?? 20);
    let doneMinutes = 0;
    let pages = 0;
    let prevTs = -Infinity;
    const onBatch = async (rows: Parameters<typeof validateRawCandles>[1], covered: TimeRange): Promise<void> => {
      // Check order against the previous page too: a page overlapping the last one is a duplicate.
      validateRawCandles(pair.symbol, rows, source.id, prevTs);
      if (rows.length > 0) prevTs = rows.ts[rows.length - 1]!;
      cache.add(rows, covered);
      fetchedRows += rows.length;
      doneMinutes += (covered[1] - covered[0]) / MINUTE_MS;
      if (++pages % every === 0) await cache.save();
      opts.onProgress?.({ symbol: pair.symbol, doneMinutes, totalMinutes, fetchedRows, requests: source.requests - requestsBefore });
    };
    try {
      for (const range of missing) {
        prevTs = -Infinity;
        await source.fetch(pair, range, { now, signal: opts.signal, onBatch });
      }
    } catch (err) {
      // Keep what arrived before the failure or abort: the next call resumes from it.
      await cache.save().catch(() => undefined);
      throw err;
    }
    await cache.save();
  }

  const rows = cache.slice(start, end);
  // Rows are validated when they enter the cache. A complete grid proves the cached
  // timestamps are sound; otherwise re-check them before placing rows by timestamp, so
  // a damaged or hand-edited cache file fails loudly instead of yielding wrong gaps.
  let candles: CandleSeries;
  if (isExactGrid(rows, start, windowMinutes)) candles = exactGridSeries(pair.symbol, rows, windowMinutes);
  else {
    if (state !== 'miss') validateRawCandles(pair.symbol, rows, `${source.id} cache ${cache.file}`);
    candles = fillMinuteGrid(pair.symbol, rows, start, windowMinutes);
  }
  const stats = checkHistory(candles, source.id, { maxGapFraction: opts.maxGapFraction, maxGapMinutes: opts.maxGapMinutes, minRows: opts.minRows });
  return {
    candles,
    summary: {
      symbol: pair.symbol,
      source: source.id,
      rows: stats.rows,
      start,
      end,
      gaps: stats.gaps,
      longestGap: stats.longestGap,
      cache: state,
      requests: source.requests - requestsBefore,
      fetchedRows,
      cacheFile: cache.file,
    },
  };
}

function isSource(s: LoadCandlesOptions['source']): s is CandleSource {
  return typeof s === 'object' && 'fetch' in s;
}

function ccxtOptions(opts: LoadCandlesOptions): CcxtSourceOptions {
  return { exchangeUrl: opts.exchangeUrl, rateLimitMs: opts.rateLimitMs, retry: opts.retry };
}

function sumMinutes(ranges: readonly TimeRange[]): number {
  let m = 0;
  for (const r of ranges) m += (r[1] - r[0]) / MINUTE_MS;
  return m;
}

/** Earliest candle anyone trades (2009-01-03, the first Bitcoin block): a window before it is a typo. */
const EARLIEST_MS = Date.UTC(2009, 0, 3);
/** Longest window one load serves (ten years): a longer one is a typo that would also rewrite the cache's range. */
const MAX_WINDOW_MS = 3650 * 86_400_000;

function checkWindow(symbol: string, start: number, end: number): void {
  const ok = Number.isInteger(start) && Number.isInteger(end) && start % MINUTE_MS === 0 && end % MINUTE_MS === 0 && end > start;
  if (!ok) {
    throw new PermanentError('WINDOW_INVALID', `${symbol}: window [${start}, ${end}) must be whole UTC minutes in epoch ms with start < end`, { symbol, start, end });
  }
  if (start < EARLIEST_MS || end - start > MAX_WINDOW_MS) {
    throw new PermanentError('WINDOW_INVALID', `${symbol}: window [${new Date(Math.max(start, -8.64e15)).toISOString()}, ${new Date(end).toISOString()}) must start on or after 2009-01-03 and span at most 3650 days`, { symbol, start, end });
  }
}
