import { allocCandles, type CandleSeries, Mulberry32 } from '@engine/shared';
import type { RowTimeline } from '../src/walk-forward/folds';
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

/** Rows on a minute grid from T0; a share `missing` unusable; each usable row's label ends 1..horizon+1 minutes after it starts (seeded). */
export function randomTimeline(n: number, horizon: number, missing: number, seed: number): RowTimeline {
  const r = new Mulberry32(seed);
  const ts = new Float64Array(n);
  const le = new Float64Array(n).fill(NaN);
  const usable = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    ts[i] = T0 + i * 60_000;
    if (r.next() < missing) continue;
    usable[i] = 1;
    le[i] = ts[i]! + (1 + Math.floor(r.next() * (horizon + 1))) * 60_000;
  }
  return { ts, label_end: le, usable };
}
