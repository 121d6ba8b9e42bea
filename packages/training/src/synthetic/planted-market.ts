import { allocCandles, Mulberry32, type CandleSeries } from '@engine/shared';

/**
 * A seeded synthetic market with a planted, learnable edge: the positive control every
 * test of the publish path needs (SPEC §6). Prices follow a random walk; at random
 * "shock" minutes the volume jumps and the NEXT `drift_bars` bars drift in one direction.
 * The shock is observable at the close of its bar (volume features see it), the drift
 * happens after, so a causal model can learn to enter on shocks and the label path (entry
 * at the next open) captures the drift. With `drift_bps_per_bar = 0` the market has no
 * edge at all (a negative control with identical volume patterns).
 *
 * The defaults are strong enough to survive ≈ 23 bps of round-trip costs yet plausible:
 * with default labels and trading rules a model that finds the shocks wins ~77% of trades
 * with a profit factor ~4 (below the leakage guard's 99% / 20).
 */
export interface PlantedMarketOptions {
  days: number;
  seed: number;
  /** First candle open time, epoch ms (a UTC midnight keeps folds on day boundaries). */
  start: number;
  symbol: string;
  /** Per-minute return noise, bps. Default 15. */
  sigma_bps: number;
  /** Chance that a minute is a shock. Default 0.05. */
  shock_probability: number;
  /** Shock volume as a multiple of normal volume. Default 8. */
  shock_volume_multiple: number;
  /** Drift per bar after a shock, bps (positive: up). Default 12. */
  drift_bps_per_bar: number;
  /** Bars of drift after a shock. Default 4. */
  drift_bars: number;
  /** Starting price. Default 100. */
  price: number;
  /**
   * Two-sided edge (the `side: both` control): each shock draws a direction, drifts that way,
   * and shows it on the shock bar itself (its close moves `direction_mark_bps` that way), so
   * a model can tell up-shocks from down-shocks. Default false (every drift is
   * `drift_bps_per_bar`, and the random stream is the one-sided market's).
   */
  two_sided?: boolean;
  /** Two-sided only: the shock bar's own move in the drift's direction, bps. Default 30. */
  direction_mark_bps?: number;
}

export const DEFAULT_PLANTED_MARKET: Omit<PlantedMarketOptions, 'days' | 'seed' | 'start' | 'symbol'> = {
  sigma_bps: 15,
  shock_probability: 0.05,
  shock_volume_multiple: 8,
  drift_bps_per_bar: 12,
  drift_bars: 4,
  price: 100,
};

/**
 * Generate the market (and an independent random-walk reference series on the same grid,
 * for the cross-asset features). Deterministic in `seed`.
 */
export function plantedMarket(
  opts: Pick<PlantedMarketOptions, 'days' | 'seed' | 'start' | 'symbol'> & Partial<PlantedMarketOptions>,
): { candles: CandleSeries; reference: CandleSeries; shocks: Uint8Array } {
  const o: PlantedMarketOptions = { ...DEFAULT_PLANTED_MARKET, ...opts };
  const n = Math.round(o.days * 1440);
  const random = new Mulberry32(o.seed);
  const rnd = (): number => random.next();
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const c = allocCandles(o.symbol, n);
  const ref = allocCandles('BTC/USDT', n);
  const shocks = new Uint8Array(n);
  const sig = o.sigma_bps / 1e4;
  let p = o.price;
  let q = 50_000;
  let driftLeft = 0;
  let direction = 1;
  for (let i = 0; i < n; i++) {
    const ts = o.start + i * 60_000;
    c.ts[i] = ts;
    ref.ts[i] = ts;
    // This bar's move: drift if a shock happened within the last drift_bars bars.
    const drift = driftLeft > 0 ? (direction * o.drift_bps_per_bar) / 1e4 : 0;
    if (driftLeft > 0) driftLeft--;
    const open = p;
    const close = open * Math.exp(drift + sig * gauss());
    const wick = sig * 0.6;
    c.open[i] = open;
    c.close[i] = close;
    c.high[i] = Math.max(open, close) * Math.exp(Math.abs(wick * gauss()));
    c.low[i] = Math.min(open, close) * Math.exp(-Math.abs(wick * gauss()));
    let vol = 10 * Math.exp(0.3 * gauss());
    if (rnd() < o.shock_probability) {
      shocks[i] = 1;
      vol *= o.shock_volume_multiple;
      driftLeft = o.drift_bars;
      if (o.two_sided === true) {
        direction = rnd() < 0.5 ? -1 : 1;
        // The shock bar shows the direction: its close moves that way, its range follows.
        const marked = c.close[i]! * Math.exp((direction * (o.direction_mark_bps ?? 30)) / 1e4);
        c.close[i] = marked;
        c.high[i] = Math.max(c.high[i]!, marked);
        c.low[i] = Math.min(c.low[i]!, marked);
      }
    }
    c.volume[i] = vol;
    p = c.close[i]!;
    // Reference: an unrelated random walk.
    const rOpen = q;
    const rClose = rOpen * Math.exp(sig * 0.7 * gauss());
    ref.open[i] = rOpen;
    ref.close[i] = rClose;
    ref.high[i] = Math.max(rOpen, rClose) * Math.exp(Math.abs(wick * 0.7 * gauss()));
    ref.low[i] = Math.min(rOpen, rClose) * Math.exp(-Math.abs(wick * 0.7 * gauss()));
    ref.volume[i] = 100 * Math.exp(0.3 * gauss());
    q = rClose;
  }
  return { candles: c, reference: ref, shocks };
}
