import { type CandleSeries, DataError, MINUTE_MS, PermanentError } from '@engine/shared';
import { type BatchInput, computeBatch } from './engine';
import { FEATURE_NAMES, FEATURE_WARMUP, type FeatureName, RECIPE } from './recipe';
import { checkSeries, sameSymbol } from './validate';

/** Order-book volumes on the candles' grid (NaN where unknown). */
export interface OrderBookSeries {
  bidVolume: Float64Array;
  askVolume: Float64Array;
}

/** What the recipe needs beside the symbol's own candles. */
export interface FeatureContext {
  /**
   * The cross-asset reference on the same minute grid: BTC/USDT for every coin, ETH/USDT
   * for BTC itself (see `referenceSymbolFor`). Without it the cross-asset features are NaN.
   */
  reference?: CandleSeries;
  /** Order-book volumes; without them `orderbook_imbalance` is NaN. */
  orderBook?: OrderBookSeries;
}

export interface BuildFeaturesOptions {
  /** Compute only these features (frame columns in recipe order). Default: the whole recipe. */
  features?: readonly FeatureName[];
  /** Checked between feature groups; an aborted build throws the signal's reason. */
  signal?: AbortSignal;
  /** Called after each group of features with (steps done, steps total); the last call has done = total. */
  onProgress?: (done: number, total: number) => void;
}

/** Columnar features: `columns[k]` holds feature `names[k]` for every row. */
export interface FeatureFrame {
  readonly symbol: string;
  /** Reference symbol used for the cross-asset features, null when none was given. */
  readonly referenceSymbol: string | null;
  readonly names: readonly FeatureName[];
  readonly columns: Float64Array[];
  readonly rows: number;
  /** Candle open times (epoch ms), a view of the input's ts. */
  readonly ts: Float64Array;
  /** Leading rows in which at least one feature is still undefined (NaN). */
  readonly warmup: number;
  readonly recipe: { readonly version: string; readonly hash: string };
}

/**
 * Compute the recipe over a candle series: each group of features runs down the whole
 * series through the same formulas and kernels the streaming {@link FeatureState} uses, so
 * both agree exactly. Row t depends on rows 0..t only. Pure: no I/O, no logging.
 *
 * @throws DataError when a series breaks the grid or value rules, the reference is not on
 *   the same grid, or the reference is the symbol itself.
 */
export function buildFeatures(candles: CandleSeries, context: FeatureContext = {}, opts: BuildFeaturesOptions = {}): FeatureFrame {
  opts.signal?.throwIfAborted();
  const names = selectNames(opts.features);
  checkSeries(candles, 'candles');
  const n = candles.ts.length;
  const ref = context.reference;
  if (ref) {
    if (sameSymbol(ref.symbol, candles.symbol)) {
      throw new DataError('FEATURES_REFERENCE_INVALID', `reference for ${candles.symbol} is ${ref.symbol} itself: cross-asset features must compare the coin with another asset (BTC/USDT, or ETH/USDT for BTC)`, {
        symbol: candles.symbol,
        reference: ref.symbol,
      });
    }
    checkSeries(ref, 'reference');
    checkSameGrid(candles, ref);
  }
  const book = context.orderBook;
  if (book && (book.bidVolume.length !== n || book.askVolume.length !== n)) {
    throw new DataError('FEATURES_INPUT_INVALID', `order book for ${candles.symbol} has ${book.bidVolume.length}/${book.askVolume.length} bid/ask rows, expected ${n} (the candle rows)`, {
      symbol: candles.symbol,
    });
  }

  const columns = names.map(() => new Float64Array(n));
  const warmup = names.reduce((w, name) => Math.max(w, FEATURE_WARMUP[name]), 0);
  const frame: FeatureFrame = {
    symbol: candles.symbol,
    referenceSymbol: ref ? ref.symbol : null,
    names,
    columns,
    rows: n,
    ts: candles.ts,
    warmup,
    recipe: { version: RECIPE.version, hash: RECIPE.hash },
  };
  if (n === 0) return frame;

  const gap = candles.gap;
  const input: BatchInput = {
    startMinute: candles.ts[0] / MINUTE_MS,
    high: withGapsAsNaN(candles.high, gap),
    low: withGapsAsNaN(candles.low, gap),
    close: withGapsAsNaN(candles.close, gap),
    volume: withGapsAsNaN(candles.volume, gap),
    gap,
    refClose: ref ? withGapsAsNaN(ref.close, ref.gap) : null,
    bid: book ? book.bidVolume : null,
    ask: book ? book.askVolume : null,
  };
  computeBatch(input, names, columns, (done, total) => {
    opts.signal?.throwIfAborted();
    opts.onProgress?.(done, total);
  });
  return frame;
}

/** Validate a requested subset and return it in recipe order (all names by default). */
export function selectNames(features?: readonly string[]): FeatureName[] {
  if (!features) return [...FEATURE_NAMES];
  const known = new Set<string>(FEATURE_NAMES);
  for (const f of features) {
    if (!known.has(f)) {
      throw new PermanentError('FEATURE_UNKNOWN', `feature '${f}' is not in recipe ${RECIPE.version}: expected one of ${FEATURE_NAMES.join(', ')}`, { feature: f });
    }
  }
  const wanted = new Set(features);
  return FEATURE_NAMES.filter((f) => wanted.has(f));
}

function checkSameGrid(c: CandleSeries, ref: CandleSeries): void {
  const n = c.ts.length;
  if (ref.ts.length !== n || (n > 0 && ref.ts[0] !== c.ts[0])) {
    throw new DataError(
      'FEATURES_REFERENCE_INVALID',
      `reference ${ref.symbol} is not on the grid of ${c.symbol}: expected ${n} rows from ts ${n > 0 ? c.ts[0] : '-'}, found ${ref.ts.length} rows from ts ${ref.ts.length > 0 ? ref.ts[0] : '-'}`,
      { symbol: c.symbol, reference: ref.symbol },
    );
  }
  // Both grids were checked to be consecutive minutes, so equal start and length suffice;
  // the loop is a cheap guard against a grid check being skipped in the future.
  for (let i = 0; i < n; i++) {
    if (ref.ts[i] !== c.ts[i]) {
      throw new DataError('FEATURES_REFERENCE_INVALID', `reference ${ref.symbol} row ${i} has ts ${ref.ts[i]}, expected ${c.ts[i]} (the ${c.symbol} grid)`, {
        symbol: c.symbol,
        reference: ref.symbol,
        row: i,
      });
    }
  }
}

/** The column itself when the series has no gap rows, else a copy with NaN on gap rows. */
function withGapsAsNaN(x: Float64Array, gap: Uint8Array): Float64Array {
  let any = false;
  for (let i = 0; i < gap.length; i++) {
    if (gap[i] === 1) {
      any = true;
      break;
    }
  }
  if (!any) return x;
  const out = Float64Array.from(x);
  for (let i = 0; i < gap.length; i++) if (gap[i] === 1) out[i] = NaN;
  return out;
}
