import { allocCandles, type CandleSeries } from '@engine/shared';
import { DEFAULT_COST_MODEL, type CostModel } from '@engine/model';

/** 2026-01-05 00:00 UTC, a Monday. */
export const T0 = Date.UTC(2026, 0, 5);

/** Candles from [open, high, low, close] rows on a minute grid starting at `start`; `null` rows are gaps. */
export function candlesFrom(rows: ReadonlyArray<readonly [number, number, number, number] | null>, start = T0, symbol = 'TEST/USDT'): CandleSeries {
  const n = rows.length;
  const c = allocCandles(symbol, n);
  for (let i = 0; i < n; i++) {
    c.ts[i] = start + i * 60_000;
    const r = rows[i];
    if (!r) {
      c.gap[i] = 1;
      c.open[i] = c.high[i] = c.low[i] = c.close[i] = c.volume[i] = NaN;
      continue;
    }
    [c.open[i], c.high[i], c.low[i], c.close[i]] = r;
    c.volume[i] = 1;
  }
  return c;
}

/** A flat bar at price p. */
export const flat = (p: number): [number, number, number, number] => [p, p, p, p];

/** Costs with round numbers: 2×10 fee + 2 spread + 2×0.5 slippage = 23 bps, whatever the volatility. */
export const FLAT_23: CostModel = {
  ...DEFAULT_COST_MODEL,
  fee_bps_per_side: 10,
  spread_bps: 2,
  slippage: { floor_bps: 0.5, vol_coef: 0, impact_bps_at_reference: 0, reference_notional_quote: 1_000_000 },
  notional_quote: 1_000,
  quote_to_gbp: 0.8,
};
