import { type CandleSeries } from '@engine/shared';
import { z } from 'zod';

/**
 * The spike rule: a 1-minute candle whose high or low lies further from the previous close
 * than both `min_move_bps` and `sigma_multiple` × σ (the sample std of the last
 * `sigma_window` ordinary 1-minute close-to-close returns before it) is a *spike* — a crash
 * minute or a bad print, not the market's ordinary volatility.
 *
 * What happens to spikes (`action`):
 * - `mask` (default): the spike minutes are treated as missing minutes (gap rows, prices
 *   NaN) in what the features and labels see. So no label is computed across them (a trade
 *   window or a σ window touching a gap has no label) and no feature window spans them
 *   (features of windows over a gap are NaN); the candle hash still covers the candles as
 *   delivered.
 * - `warn`: they are reported (manifest `data.spikes`, `data.warnings`) and used as they are.
 * - `off`: no check.
 *
 * The rule is causal (a candle is judged from its own prices and earlier closes only), so a
 * live trader can apply it candle by candle. σ leaves out returns that touch a spike or a
 * gap, so the minutes after a crash are judged against the volatility before it, and the
 * rebound of a V-shaped flash crash is caught as well as the fall. A new level reached in
 * one jump is judged only on that jump: the next candle is compared with the spike's close.
 */
export const spikeRuleSchema = z
  .object({
    action: z.enum(['mask', 'warn', 'off']),
    /** Floor on the move, bps of the previous close. Default 500 (5% in one minute). */
    min_move_bps: z.number().positive(),
    /** The move must also exceed this many σ of ordinary 1-minute returns. Default 100. */
    sigma_multiple: z.number().positive(),
    /** Ordinary returns in σ. Default 60. */
    sigma_window: z.number().int().min(2),
  })
  .strict();
export type SpikeRule = z.infer<typeof spikeRuleSchema>;

/**
 * Defaults chosen on the 200 days of real candles in ../shared/data/ohlcv (2025-12-29 …
 * 2026-07-16; BTC, ETH, SUI, TAO: 1.15M minutes): the largest 1-minute excursion from the
 * previous close is 1,206 bps (TAO, 70σ) and the largest in σ is 80σ (SUI, 451 bps) — real
 * market-wide moves (PROVENANCE.md), none of which the defaults flag. The 2025-10-10 flash
 * crash (SUI briefly at ~0.56 from ~3: about 8,000 bps in a minute, hundreds of σ) is far
 * beyond both. A move must pass both bounds: the σ bound adapts to each market, the floor
 * keeps quiet stretches (σ near 0) from flagging ordinary ticks.
 */
export const DEFAULT_SPIKE_RULE: SpikeRule = { action: 'mask', min_move_bps: 500, sigma_multiple: 100, sigma_window: 60 };

/** One spike minute. */
export interface Spike {
  /** Row on the series' grid. */
  row: number;
  /** Open time, epoch ms. */
  ts: number;
  /** Signed excursion from the previous close, bps: the larger of the high's rise and the low's fall (a fall is negative). */
  move_bps: number;
  /** σ of ordinary 1-minute returns before it, bps; NaN while fewer than `sigma_window` were seen. */
  sigma_bps: number;
}

/**
 * The spike minutes of `candles` under `rule` (none when `action` is `off`), in time order.
 * A candle is judged only when it and the previous minute are present (not gaps).
 */
export function findSpikes(candles: CandleSeries, rule: SpikeRule): Spike[] {
  const out: Spike[] = [];
  if (rule.action === 'off') return out;
  const { ts, high, low, close, gap } = candles;
  const n = ts.length;
  const w = rule.sigma_window;
  const minMove = rule.min_move_bps / 1e4;
  // Ring of the last `w` ordinary returns, with running sums; rebuilt every 4096 pushes
  // to stop rounding drift (returns of ordinary minutes are small, so the sums are exact enough).
  const ring = new Float64Array(w);
  let filled = 0;
  let head = 0;
  let sum = 0;
  let sumSq = 0;
  let pushes = 0;
  let prevSpike = false;
  for (let i = 1; i < n; i++) {
    if (gap[i] === 1 || gap[i - 1] === 1) {
      prevSpike = false;
      continue;
    }
    const pc = close[i - 1]!;
    const up = high[i]! / pc - 1;
    const down = 1 - low[i]! / pc;
    const move = up >= down ? up : down;
    let sd = NaN;
    if (filled === w) {
      const m = sum / w;
      const v = (sumSq - w * m * m) / (w - 1);
      sd = Math.sqrt(v > 0 ? v : 0);
    }
    const spike = move > minMove && (!(sd >= 0) || move > rule.sigma_multiple * sd);
    if (spike) {
      out.push({ row: i, ts: ts[i]!, move_bps: (up >= down ? up : -down) * 1e4, sigma_bps: sd * 1e4 });
    } else if (!prevSpike) {
      // An ordinary return (neither end a spike) enters σ.
      const r = close[i]! / pc - 1;
      if (filled === w) {
        const old = ring[head]!;
        sum -= old;
        sumSq -= old * old;
      } else filled++;
      ring[head] = r;
      head = (head + 1) % w;
      sum += r;
      sumSq += r * r;
      if (++pushes % 4096 === 0) {
        sum = 0;
        sumSq = 0;
        for (let k = 0; k < filled; k++) {
          sum += ring[k]!;
          sumSq += ring[k]! * ring[k]!;
        }
      }
    }
    prevSpike = spike;
  }
  return out;
}

/**
 * A copy of `candles` with the given rows marked as gaps (gap = 1, prices and volume NaN),
 * the way a missing minute is represented; the input is not changed.
 */
export function maskRows(candles: CandleSeries, rows: readonly number[]): CandleSeries {
  const c: CandleSeries = {
    symbol: candles.symbol,
    ts: candles.ts,
    open: Float64Array.from(candles.open),
    high: Float64Array.from(candles.high),
    low: Float64Array.from(candles.low),
    close: Float64Array.from(candles.close),
    volume: Float64Array.from(candles.volume),
    gap: Uint8Array.from(candles.gap),
  };
  for (const i of rows) {
    c.gap[i] = 1;
    c.open[i] = NaN;
    c.high[i] = NaN;
    c.low[i] = NaN;
    c.close[i] = NaN;
    c.volume[i] = NaN;
  }
  return c;
}
