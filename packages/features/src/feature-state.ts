import { DataError, formatUtcMinute, MINUTE_MS } from '@engine/shared';
import { FEATURE_WIDTH, StreamEngine } from './engine';
import { FEATURE_NAMES, type FeatureName, RECIPE } from './recipe';
import { checkCandle, sameSymbol } from './validate';

/** One 1-minute candle. A missing minute is fed as `gap: true` (prices are then ignored). */
export interface CandleInput {
  /** Open time, epoch ms UTC, on a minute boundary. */
  ts: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  gap?: boolean | number;
}

/** Order-book volumes at the candle's close. */
export interface OrderBookInput {
  bidVolume: number;
  askVolume: number;
}

/**
 * Streaming features for one symbol: `update` takes each new candle (and the reference
 * candle of the same minute) and returns that minute's row, equal to the batch frame's
 * row for the same history. O(1) amortised per candle: ring buffers, running sums,
 * monotonic deques; the 7-day volume rank is O(√10 080) (see SortedWindow).
 *
 * Candles must arrive for consecutive minutes; a minute the exchange did not deliver is
 * fed as a gap candle, never skipped.
 */
export class FeatureState {
  readonly symbol: string;
  readonly names: readonly FeatureName[] = FEATURE_NAMES;
  /** Rows after which every feature is defined (on gap-free input). */
  readonly warmup: number = RECIPE.warmup;
  private engine: StreamEngine | null = null;
  private lastTs = NaN;
  private readonly row = new Float64Array(FEATURE_WIDTH).fill(NaN);

  /**
   * @param symbol the coin, for error messages
   * @param referenceSymbol the reference asset, checked not to be the coin itself
   */
  constructor(symbol = 'unknown', referenceSymbol?: string) {
    this.symbol = symbol;
    if (referenceSymbol !== undefined && sameSymbol(symbol, referenceSymbol)) {
      throw new DataError('FEATURES_REFERENCE_INVALID', `reference for ${symbol} is ${referenceSymbol} itself: cross-asset features must compare the coin with another asset (BTC/USDT, or ETH/USDT for BTC)`, {
        symbol,
        reference: referenceSymbol,
      });
    }
  }

  /** Candles consumed so far. */
  get rows(): number {
    return this.engine ? this.engine.rows : 0;
  }

  /** Forget all history (the next update starts a new series). */
  reset(): void {
    this.engine = null;
    this.lastTs = NaN;
    this.row.fill(NaN);
  }

  /**
   * Consume the candle for the next minute and return its feature row (in `names` order).
   * The returned array is reused by the next call: copy it to keep it.
   *
   * @param reference the reference asset's candle for the same minute (BTC/USDT, or
   *   ETH/USDT for BTC); omitted or a gap: the cross-asset features see a gap.
   * @throws DataError on a non-consecutive or misaligned ts, a reference candle for another
   *   minute, or an invalid candle.
   */
  update(candle: CandleInput, reference?: CandleInput | null, book?: OrderBookInput | null): Float64Array {
    const ts = candle.ts;
    if (this.engine === null) {
      if (!Number.isInteger(ts / MINUTE_MS)) {
        throw new DataError('FEATURES_INPUT_INVALID', `${this.symbol}: candle ts ${ts} is not on a minute boundary`, { symbol: this.symbol, ts });
      }
    } else if (ts !== this.lastTs + MINUTE_MS) {
      throw new DataError(
        'FEATURES_INPUT_INVALID',
        `${this.symbol}: candle at ${fmt(ts)} does not follow ${fmt(this.lastTs)}: expected ${fmt(this.lastTs + MINUTE_MS)} (feed missing minutes as gap candles)`,
        { symbol: this.symbol, ts, expected: this.lastTs + MINUTE_MS },
      );
    }
    const gap = candle.gap === true || candle.gap === 1;
    if (!gap) checkCandle(this.symbol, ts, candle.open, candle.high, candle.low, candle.close, candle.volume);
    let rc = NaN;
    if (reference) {
      if (reference.ts !== ts) {
        throw new DataError('FEATURES_REFERENCE_INVALID', `${this.symbol}: reference candle is for ${fmt(reference.ts)}, expected ${fmt(ts)} (the same minute)`, {
          symbol: this.symbol,
          ts,
          referenceTs: reference.ts,
        });
      }
      const rGap = reference.gap === true || reference.gap === 1;
      if (!rGap) {
        checkCandle(`${this.symbol} reference`, ts, reference.open, reference.high, reference.low, reference.close, reference.volume);
        rc = reference.close;
      }
    }
    if (this.engine === null) this.engine = new StreamEngine(ts / MINUTE_MS);
    this.engine.step(
      ts / MINUTE_MS,
      gap ? NaN : candle.high,
      gap ? NaN : candle.low,
      gap ? NaN : candle.close,
      gap ? NaN : candle.volume,
      rc,
      book ? book.bidVolume : NaN,
      book ? book.askVolume : NaN,
      this.row,
    );
    this.lastTs = ts;
    return this.row;
  }
}

function fmt(ts: number): string {
  return Number.isFinite(ts) ? formatUtcMinute(ts) : String(ts);
}
