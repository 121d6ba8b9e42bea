import type { Pair } from '@engine/shared';
import type { RawCandles } from './raw-candles';
import type { TimeRange } from './coverage';

/** What a source is asked to do for one missing range. */
export interface FetchContext {
  /** Wall clock for this load (epoch ms); candles still forming at `now` must not be returned. */
  now: number;
  signal?: AbortSignal;
  /**
   * Called once per page, in ascending time order: `rows` are the candles the source has
   * in `covered` (possibly none: a gap at the source). The store validates and caches
   * them; a rejection stops the fetch.
   */
  onBatch(rows: RawCandles, covered: TimeRange): Promise<void>;
}

/** Funding events as a source delivers them, ascending by time; `length` rows. */
export interface FundingPage {
  length: number;
  /** Funding time, epoch ms UTC. */
  ts: Float64Array;
  /** Fraction of the position's notional per funding event; positive: longs pay shorts. */
  rate: Float64Array;
}

/** What a source is asked to do for one range of funding history not yet cached. */
export interface FundingFetchContext {
  /** Wall clock for this load (epoch ms). */
  now: number;
  signal?: AbortSignal;
  /** Called once per page, in ascending time order, as `FetchContext.onBatch` is for candles. */
  onBatch(rows: FundingPage, covered: TimeRange): Promise<void>;
}

/**
 * A place candles come from: an exchange through ccxt, a folder of CSV files, or
 * anything added later. Sources only fetch; validation, the minute grid and the cache
 * belong to the store (`loadCandles`), so every source gets them for free.
 */
export interface CandleSource {
  /** As the user names it: `binance`, `csv:/abs/dir`. */
  readonly id: string;
  /** `exchange`: the window ends at the last complete UTC day; `files`: at the last day in the files. */
  readonly kind: 'exchange' | 'files';
  /** File-system-safe name of this source's cache folder. */
  readonly cacheKey: string;
  /** HTTP requests made so far (0 for files). */
  readonly requests: number;
  /**
   * Identity of the data behind `pair` (e.g. a file's size and mtime): when it changes,
   * what was cached from the old data is discarded. Constant for exchanges.
   */
  fingerprint(pair: Pair): Promise<string>;
  /** Fetch `[range.start, range.end)` page by page through `ctx.onBatch`. */
  fetch(pair: Pair, range: TimeRange, ctx: FetchContext): Promise<void>;
  /** Start (epoch ms, UTC midnight) of the last complete day the source holds; files only. */
  lastCompleteDay?(pair: Pair): Promise<number>;
  /**
   * Fetch the funding events of `pair`'s perpetual in `[range.start, range.end)` through
   * `ctx.onBatch`. Absent where the source has no funding (a folder of candle files).
   */
  fetchFunding?(pair: Pair, range: TimeRange, ctx: FundingFetchContext): Promise<void>;
  /** Release connections; optional. */
  close?(): Promise<void>;
}

/** A parsed `--source` value. */
export type SourceSpec = { kind: 'exchange'; exchangeId: string } | { kind: 'csv'; dir: string };
