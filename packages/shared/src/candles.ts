/**
 * 1-minute candles of one symbol on a complete minute grid, columnar.
 * `ts[i] = start + i·60 000` (candle open time, epoch ms UTC) for every i: the grid has
 * no holes. A minute the source did not have is kept as a row with `gap[i] = 1` and
 * NaN open/high/low/close and volume: prices are never forward-filled.
 */
export interface CandleSeries {
  symbol: string;
  ts: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  /** 1 where the minute is missing from the source. */
  gap: Uint8Array;
}

/** A series of n rows, all zero (no gaps), for a reader or generator to fill. */
export function allocCandles(symbol: string, n: number): CandleSeries {
  return {
    symbol,
    ts: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
    gap: new Uint8Array(n),
  };
}

export function candleCount(c: CandleSeries): number {
  return c.ts.length;
}

/** Rows [from, to) of a series as views (no copy). */
export function sliceCandles(c: CandleSeries, from: number, to: number): CandleSeries {
  return {
    symbol: c.symbol,
    ts: c.ts.subarray(from, to),
    open: c.open.subarray(from, to),
    high: c.high.subarray(from, to),
    low: c.low.subarray(from, to),
    close: c.close.subarray(from, to),
    volume: c.volume.subarray(from, to),
    gap: c.gap.subarray(from, to),
  };
}
