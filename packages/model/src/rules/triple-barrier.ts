import { DataError, MINUTE_MS, PermanentError, type CandleSeries } from '@engine/shared';
import { z } from 'zod';
import { type CostModel, fundingCostBps, fundingOf, isMakerEntry, minimumRoundTripBps, roundTripCost } from './cost-model';
import { rollingReturnStd } from './rolling-volatility';

/** Barriers as multiples of σ_h (σ of 1-minute returns × √horizon), or fixed bps. */
export const barrierConfigSchema = z.discriminatedUnion('mode', [
  z
    .object({
      mode: z.literal('volatility'),
      /** Take-profit = max(tp_sigma · σ_h, tp_min_cost_multiple · round-trip cost), at most `max_barrier_bps`. */
      tp_sigma: z.number(),
      tp_min_cost_multiple: z.number(),
      /** Stop-loss = sl_sigma · σ_h, at most `max_barrier_bps`. */
      sl_sigma: z.number(),
    })
    .strict(),
  z.object({ mode: z.literal('bps'), tp_bps: z.number(), sl_bps: z.number() }).strict(),
]);
export type BarrierConfig = z.infer<typeof barrierConfigSchema>;

/** Triple-barrier labelling settings (SPEC §1.3). */
export const labelConfigSchema = z
  .object({
    /** Vertical barrier: the trade is closed at the close of bar t + horizon. Default 4. */
    horizon_minutes: z.number().int().min(1),
    /**
     * Long (default) or short trades; `both`: two edge models, one per side, in one bundle
     * (each side labelled, fitted and thresholded on its own; at each candle the side whose
     * prediction clears its own threshold by more is entered, one position at a time). The
     * labeller itself labels one side: callers pass `long` or `short`.
     */
    side: z.enum(['long', 'short', 'both']),
    /** Returns in the rolling σ; default 60. */
    vol_window: z.number().int().min(2),
    barriers: barrierConfigSchema,
    /**
     * Neither volatility-scaled barrier is wider than this, bps of the entry price; null:
     * no cap. Default 2,000. On the 200 days of real candles in ../shared/data/ohlcv
     * (2025-12-29 … 2026-07-16: BTC, ETH, SUI, TAO) the widest 2σ_h take-profit even at a
     * 60-minute horizon is 1,610 bps (SUI; the 99.9th percentile is 480–1,160 bps across the
     * four), and at the default 4-minute horizon it is a few hundred: so 2,000 bps never binds
     * on ordinary market data. It binds when the σ window holds a crash or a bad print
     * (SUI after 2025-10-10: TP 17,705 / SL 8,853 bps), where an uncapped barrier turns the
     * label into a lottery ticket that one trade can win for a whole symbol. Fixed barriers
     * (mode `bps`) are taken as given.
     */
    max_barrier_bps: z.number().positive().nullable(),
    /**
     * Allow barriers under which no label can be positive (take-profit at or below the
     * round-trip cost). Off by default: such a run is refused. When on, the result's
     * `warnings` says so loudly and the manifest records it.
     */
    allow_unwinnable: z.boolean(),
  })
  .strict();
export type LabelConfig = z.infer<typeof labelConfigSchema>;

export const DEFAULT_LABEL_CONFIG: LabelConfig = {
  horizon_minutes: 4,
  side: 'long',
  vol_window: 60,
  barriers: { mode: 'volatility', tp_sigma: 2, tp_min_cost_multiple: 2, sl_sigma: 1 },
  max_barrier_bps: 2000,
  allow_unwinnable: false,
};

/**
 * Relative slack when comparing a bar's high or low with a barrier price. Barrier prices
 * are products of doubles (entry × (1 + tp)) and can land one ulp beyond the decimal price
 * the exchange printed; 1e-9 is far above that rounding (~1e-16) and far below any tick
 * (a 0.01 tick on a 100,000 price is 1e-7), so it never turns a real miss into a touch.
 */
export const TOUCH_TOLERANCE = 1e-9;

/** Exit reasons in `exit_reason`. */
export const EXIT_NONE = 0;
export const EXIT_TP = 1;
export const EXIT_SL = 2;
export const EXIT_TIME = 3;
/** A maker entry whose limit order was never traded through within its fill window: no trade, no cost, net 0. */
export const EXIT_UNFILLED = 4;
/** A trading agent (the `ppo` family) closed the position itself: it sold at the next bar's open. Never a label's exit. */
export const EXIT_AGENT = 5;
export const EXIT_REASON_NAMES = ['none', 'tp', 'sl', 'time', 'unfilled', 'agent'] as const;

/** A perpetual's funding rates: one per funding time, bps of notional (positive: longs pay shorts). */
export interface FundingSeries {
  /** Funding times, epoch ms, ascending. */
  ts: Float64Array;
  rate_bps: Float64Array;
}

/** Per-row labels; rows without a label hold NaN / `EXIT_NONE` / −1. */
export interface TripleBarrierLabels {
  rows: number;
  /** Net edge in bps: gross minus the round-trip cost. The regression target. */
  net_edge_bps: Float64Array;
  gross_bps: Float64Array;
  exit_reason: Uint8Array;
  /** Bar index where the trade exits (the label is known at that bar's close). −1 when unlabelled. */
  exit_index: Int32Array;
  tp_bps: Float64Array;
  sl_bps: Float64Array;
  /** Rolling σ of 1-minute returns at the signal bar, in bps. */
  sigma1_bps: Float64Array;
  fee_bps: Float64Array;
  spread_bps: Float64Array;
  slippage_bps: Float64Array;
  /** Funding paid over the trade, bps (negative: received); 0 off perpetuals. */
  funding_bps: Float64Array;
  /** Bar whose open (taker) or whose trading through the limit (maker) fills the entry; −1 unlabelled or unfilled. */
  entry_index: Int32Array;
  /** Entry price: the next bar's open (taker) or the limit, the signal bar's close (maker); NaN unlabelled or unfilled. */
  entry_price: Float64Array;
  /** Labelled rows. */
  labelled: number;
  /** Why rows have no label. */
  dropped: { warmup: number; gap: number; end_of_data: number };
  /** Labelled rows whose maker entry never filled (exit reason `unfilled`, net 0); 0 with taker entries. */
  unfilled: number;
  /** Share of labelled rows whose take-profit exceeds their round-trip cost. */
  winnable_fraction: number;
  warnings: string[];
}

/**
 * Check label settings against the cost model, before any candle is touched: a refusal
 * (PermanentError `LABELS_CONFIG` / `LABELS_UNWINNABLE`) depends on the configuration
 * alone. Returns the warnings to record when unwinnable barriers are explicitly allowed.
 */
export function checkLabelConfig(cfg: LabelConfig, costs: CostModel, symbol: string): string[] {
  const where = `labels for ${symbol}`;
  if (!Number.isInteger(cfg.horizon_minutes) || cfg.horizon_minutes < 1) {
    throw new PermanentError('LABELS_CONFIG', `${where}: horizon_minutes must be an integer ≥ 1, got ${cfg.horizon_minutes}`);
  }
  if (!Number.isInteger(cfg.vol_window) || cfg.vol_window < 2) {
    throw new PermanentError('LABELS_CONFIG', `${where}: vol_window must be an integer ≥ 2, got ${cfg.vol_window}`);
  }
  const b = cfg.barriers;
  const nums = b.mode === 'bps' ? [b.tp_bps, b.sl_bps] : [b.tp_sigma, b.sl_sigma, b.tp_min_cost_multiple];
  if (nums.some((x) => !Number.isFinite(x) || x < 0)) {
    throw new PermanentError('LABELS_CONFIG', `${where}: barrier settings must be finite and ≥ 0, got ${JSON.stringify(b)}`);
  }
  const warnings: string[] = [];
  const cap = cfg.max_barrier_bps;
  if (cap !== null && !(Number.isFinite(cap) && cap > 0)) {
    throw new PermanentError('LABELS_CONFIG', `${where}: max_barrier_bps must be a finite number > 0 or null, got ${cap}`);
  }
  // The cheapest possible trade on this venue: its fees, spread and slippage at σ = 0, plus
  // any constant funding a hold of the whole horizon must pay (with both sides: the cheaper side).
  const minCost =
    cfg.side === 'both'
      ? Math.min(minimumRoundTripBps(costs, 'long', cfg.horizon_minutes), minimumRoundTripBps(costs, 'short', cfg.horizon_minutes))
      : minimumRoundTripBps(costs, cfg.side, cfg.horizon_minutes);
  if (cap !== null && b.mode === 'volatility') {
    if (cap <= minCost) {
      const msg = `${where}: max_barrier_bps ${cap} is at or below the minimum round-trip cost ${minCost.toFixed(2)} bps (${describeCosts(costs)}): no row whose take-profit is capped can be positive`;
      if (!cfg.allow_unwinnable) {
        throw new PermanentError('LABELS_UNWINNABLE', `${msg}. Raise the cap, set it to null, or set allow_unwinnable to label anyway`, { symbol, max_barrier_bps: cap, min_round_trip_bps: minCost });
      }
      warnings.push(`UNWINNABLE BARRIERS: ${msg}`);
    }
  }
  if (b.mode === 'bps') {
    if (b.tp_bps <= minCost) {
      const msg = `${where}: take-profit ${b.tp_bps} bps is at or below the minimum round-trip cost ${minCost.toFixed(2)} bps (${describeCosts(costs)}): no label can be positive, every trade loses`;
      if (!cfg.allow_unwinnable) {
        throw new PermanentError('LABELS_UNWINNABLE', `${msg}. Raise the take-profit (or use volatility barriers) or set allow_unwinnable to label anyway`, { symbol, tp_bps: b.tp_bps, min_round_trip_bps: minCost });
      }
      warnings.push(`UNWINNABLE BARRIERS: ${msg}`);
    }
  }
  return warnings;
}

/**
 * Bars after the signal bar a label may need: the horizon, or a maker entry's fill window
 * and then the horizon (the fill bar counts as the first bar held). The live tracker keeps
 * this many bars of a position, so it decides exits exactly as the labeller does.
 */
export function labelSpan(cfg: Pick<LabelConfig, 'horizon_minutes'>, costs: CostModel): number {
  return isMakerEntry(costs) ? costs.maker_fill.window_minutes + cfg.horizon_minutes - 1 : cfg.horizon_minutes;
}

/** How a cost model names itself in messages: its profile, or its version. */
export function describeCosts(costs: CostModel): string {
  if (costs.version === 'cost-v1') return 'cost model cost-v1';
  return `cost model ${costs.profile ?? 'cost-v2'} (${costs.market}, ${costs.entry} entry)`;
}

/**
 * The funding events a labelled trade can span, checked to cover the candles: no two
 * consecutive events (nor the window's edges and the nearest events) may lie more than
 * one funding interval (+1 minute) apart, or a trade could span a funding time the series
 * lacks. Events are taken at their own times (venues stamp them a few ms after the hour,
 * and some symbols fund more often than every 8 h).
 */
function checkedFunding(series: FundingSeries | undefined, candles: CandleSeries, intervalHours: number): FundingSeries {
  const symbol = candles.symbol;
  const n = candles.ts.length;
  if (!series || series.ts.length === 0) {
    throw new DataError('FUNDING_MISSING', `labels for ${symbol}: the cost model prices funding from the venue's series, but no funding rates were supplied; load them with the candles (an exchange source such as binanceusdm), or set costs.funding.mode to 'constant'`, { symbol });
  }
  if (n === 0) return series;
  const maxGap = intervalHours * 3_600_000 + 60_000;
  const start = candles.ts[0]!;
  const end = candles.ts[n - 1]! + 60_000;
  const iso = (t: number) => new Date(t).toISOString();
  const hole = (from: number, to: number) =>
    new DataError('FUNDING_MISSING', `labels for ${symbol}: no funding rate between ${iso(from)} and ${iso(to)} (funding every ${intervalHours} h): the series of ${series.ts.length} rates does not cover the candles ${iso(start)} … ${iso(end)}`, { symbol, from, to });
  let prev = start;
  for (let i = 0; i < series.ts.length; i++) {
    const t = series.ts[i]!;
    if (!Number.isFinite(series.rate_bps[i]!)) throw new DataError('FUNDING_MISSING', `labels for ${symbol}: the funding rate at ${iso(t)} is not a number`, { symbol });
    if (i > 0 && !(t > series.ts[i - 1]!)) throw new DataError('FUNDING_MISSING', `labels for ${symbol}: funding times must increase, got ${iso(t)} after ${iso(series.ts[i - 1]!)}`, { symbol });
    // prev: the latest event at or before the window's start (or the start itself), then each event in turn.
    if (t <= start) {
      prev = t;
      continue;
    }
    if (t - prev > maxGap) throw hole(prev, Math.min(t, end));
    prev = t;
    if (t >= end) break;
  }
  if (end - prev > maxGap) throw hole(prev, end);
  return series;
}

/** Sum of the rates of the series' funding events in [from, to), bps. */
function fundingBetween(series: FundingSeries, from: number, to: number): number {
  const ts = series.ts;
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  let sum = 0;
  for (let i = lo; i < ts.length && ts[i]! < to; i++) sum += series.rate_bps[i]!;
  return sum;
}

/**
 * Triple-barrier labels (SPEC §1.3). The signal is known at the close of bar t; the trade
 * enters at the open of bar t+1 and exits at the first of
 * - stop-loss: low ≤ entry·(1 − sl) (long), filled at the stop or at a worse open;
 * - take-profit: high ≥ entry·(1 + tp), filled at the take-profit price;
 * (a touch exactly at a barrier counts: the comparison allows {@link TOUCH_TOLERANCE} for
 * binary rounding of the barrier price);
 * - the vertical barrier: the close of bar t + horizon.
 * When one bar touches both barriers the stop is assumed first (conservative). Short trades
 * mirror this. The round-trip cost (fee, spread, slippage at the signal bar's σ) is
 * subtracted from the gross return to give `net_edge_bps`.
 *
 * With a maker entry (cost-v2 `entry: maker`) the signal places a limit order at bar t's
 * close instead. It fills at its limit on the first bar f of the next `window_minutes`
 * whose low trades through it by `through_bps` (a short's: whose high); a bar that only
 * touches the limit does not fill it. Unfilled, the row's label is `unfilled`: no trade,
 * net 0. Filled, the trade holds `horizon` bars from f: on the fill bar only the stop is
 * checked (the bar's path after the fill is unknown, so a take-profit there is not
 * credited), then both barriers as above, and the vertical barrier is the close of bar
 * f + horizon − 1. Exits are taker orders.
 *
 * On a perpetual, the funding of every funding time in [entry, exit) is charged to a long
 * and paid to a short (`funding_bps`, subtracted from the net edge too): the series'
 * own events, or (`constant`) one every `interval_hours` from 00:00 UTC.
 *
 * A row gets no label (NaN) when its σ window is not full or crosses a gap, when any bar
 * of its trade window (for a maker entry: the fill window plus the horizon) is a gap, or
 * when that window runs past the end of the data: labels are dropped, never truncated.
 *
 * @throws PermanentError `LABELS_UNWINNABLE` when no label could be positive (take-profit at
 *   or below the round-trip cost) and `allow_unwinnable` is off; DataError `FUNDING_MISSING`
 *   when funding is priced from a series that is absent or has a hole longer than one funding interval.
 */
export function tripleBarrierLabels(candles: CandleSeries, cfg: LabelConfig, costs: CostModel, funding?: FundingSeries): TripleBarrierLabels {
  const warnings = checkLabelConfig(cfg, costs, candles.symbol);
  if (cfg.side === 'both') {
    throw new PermanentError('LABELS_CONFIG', `labels for ${candles.symbol}: the labeller labels one side at a time; label side 'long' and side 'short' for a 'both' model`, { symbol: candles.symbol });
  }
  const n = candles.ts.length;
  const { ts, open, high, low, close, gap } = candles;
  const h = cfg.horizon_minutes;
  const sqrtH = Math.sqrt(h);
  const sigma = rollingReturnStd(close, cfg.vol_window);
  const long = cfg.side === 'long';
  const b = cfg.barriers;
  const volMode = b.mode === 'volatility';
  const tpSigma = volMode ? b.tp_sigma : 0;
  const slSigma = volMode ? b.sl_sigma : 0;
  const tpCostMult = volMode ? b.tp_min_cost_multiple : 0;
  const tpFixed = volMode ? 0 : b.tp_bps;
  const slFixed = volMode ? 0 : b.sl_bps;
  const cap = volMode && cfg.max_barrier_bps !== null ? cfg.max_barrier_bps : Infinity;
  const maker = isMakerEntry(costs);
  const fillWindow = maker ? costs.maker_fill.window_minutes : 0;
  const through = maker ? costs.maker_fill.through_bps / 1e4 : 0;
  const span = labelSpan(cfg, costs);
  const fund = fundingOf(costs);
  const fundSeries = fund !== null && fund.mode === 'series' ? checkedFunding(funding, candles, fund.interval_hours) : null;
  const fundSign = long ? 1 : -1;
  // A touch exactly at a barrier counts: entry·(1 ± b) is rounded in binary (3.2 × 1.0015 =
  // 3.2048000000000005 while the high is the decimal 3.2048), so each barrier is compared
  // with a relative slack of TOUCH_TOLERANCE, far below any exchange's tick.
  const touchUp = 1 - TOUCH_TOLERANCE;
  const touchDown = 1 + TOUCH_TOLERANCE;

  const net = new Float64Array(n).fill(NaN);
  const gross = new Float64Array(n).fill(NaN);
  const reason = new Uint8Array(n);
  const exitIdx = new Int32Array(n).fill(-1);
  const entryIdx = new Int32Array(n).fill(-1);
  const entryPx = new Float64Array(n).fill(NaN);
  const tpOut = new Float64Array(n).fill(NaN);
  const slOut = new Float64Array(n).fill(NaN);
  const sigOut = new Float64Array(n).fill(NaN);
  const feeOut = new Float64Array(n).fill(NaN);
  const spreadOut = new Float64Array(n).fill(NaN);
  const slipOut = new Float64Array(n).fill(NaN);
  const fundOut = new Float64Array(n).fill(NaN);

  // Consecutive non-gap bars ending at i: the trade window t+1..t+span is clean iff
  // cleanRun[t+span] ≥ span.
  const cleanRun = new Int32Array(n);
  for (let i = 0; i < n; i++) cleanRun[i] = gap[i] === 1 ? 0 : (i > 0 ? cleanRun[i - 1]! : 0) + 1;

  let labelled = 0;
  let winnable = 0;
  let unfilled = 0;
  let dWarm = 0;
  let dGap = 0;
  let dEnd = 0;
  let capped = 0;
  for (let t = 0; t < n; t++) {
    if (t + span >= n) {
      dEnd++;
      continue;
    }
    const s = sigma[t]!;
    if (!(s >= 0)) {
      if (t < cfg.vol_window) dWarm++;
      else dGap++;
      continue;
    }
    if (cleanRun[t + span]! < span) {
      dGap++;
      continue;
    }
    const sBps = s * 1e4;
    const cost = roundTripCost(costs, sBps);
    const sigmaH = sBps * sqrtH;
    const tpRaw = volMode ? Math.max(tpSigma * sigmaH, tpCostMult * cost.total_bps) : tpFixed;
    const slRaw = volMode ? slSigma * sigmaH : slFixed;
    const tp = tpRaw > cap ? cap : tpRaw;
    const sl = slRaw > cap ? cap : slRaw;
    if (tp !== tpRaw || sl !== slRaw) capped++;
    labelled++;
    if (tp > cost.total_bps) winnable++;
    tpOut[t] = tp;
    slOut[t] = sl;
    sigOut[t] = sBps;

    // The entry: the next bar's open (taker), or the limit at this bar's close once traded through (maker).
    let f = t + 1;
    let entry = open[t + 1]!;
    if (maker) {
      const limit = close[t]!;
      f = -1;
      for (let j = t + 1; j <= t + fillWindow; j++) {
        const fills = long ? low[j]! < limit && low[j]! <= limit * (1 - through) : high[j]! > limit && high[j]! >= limit * (1 + through);
        if (fills) {
          f = j;
          break;
        }
      }
      if (f < 0) {
        // Never traded through: the order is cancelled at the window's last close. No trade, no cost.
        gross[t] = 0;
        net[t] = 0;
        reason[t] = EXIT_UNFILLED;
        exitIdx[t] = t + fillWindow;
        feeOut[t] = 0;
        spreadOut[t] = 0;
        slipOut[t] = 0;
        fundOut[t] = 0;
        unfilled++;
        continue;
      }
      entry = limit;
    }
    let exitPrice = NaN;
    let why = EXIT_TIME;
    let j = f;
    const last = f + h - 1;
    if (long) {
      const tpPrice = entry * (1 + tp / 1e4);
      const slPrice = entry * (1 - sl / 1e4);
      const tpTouch = tpPrice * touchUp;
      const slTouch = slPrice * touchDown;
      for (; j <= last; j++) {
        if (low[j]! <= slTouch) {
          exitPrice = Math.min(open[j]!, slPrice);
          why = EXIT_SL;
          break;
        }
        // A maker fill bar: what the price did after the fill is unknown, no take-profit there.
        if (high[j]! >= tpTouch && !(maker && j === f)) {
          exitPrice = tpPrice;
          why = EXIT_TP;
          break;
        }
      }
      if (j > last) {
        j = last;
        exitPrice = close[last]!;
      }
    } else {
      const tpPrice = entry * (1 - tp / 1e4);
      const slPrice = entry * (1 + sl / 1e4);
      const tpTouch = tpPrice * touchDown;
      const slTouch = slPrice * touchUp;
      for (; j <= last; j++) {
        if (high[j]! >= slTouch) {
          exitPrice = Math.max(open[j]!, slPrice);
          why = EXIT_SL;
          break;
        }
        if (low[j]! <= tpTouch && !(maker && j === f)) {
          exitPrice = tpPrice;
          why = EXIT_TP;
          break;
        }
      }
      if (j > last) {
        j = last;
        exitPrice = close[last]!;
      }
    }
    let fundingBps = 0;
    // (+ 0: a short spanning no event pays 0, not −0.)
    if (fundSeries !== null) fundingBps = fundSign * fundingBetween(fundSeries, ts[f]!, ts[j]! + MINUTE_MS) + 0;
    else if (fund !== null) fundingBps = fundingCostBps(costs, long ? 'long' : 'short', ts[f]!, ts[j]! + MINUTE_MS);
    const g = long ? (exitPrice / entry - 1) * 1e4 : (1 - exitPrice / entry) * 1e4;
    gross[t] = g;
    net[t] = g - cost.total_bps - fundingBps;
    reason[t] = why;
    exitIdx[t] = j;
    entryIdx[t] = f;
    entryPx[t] = entry;
    feeOut[t] = cost.fee_bps;
    spreadOut[t] = cost.spread_bps;
    slipOut[t] = cost.slippage_bps;
    fundOut[t] = fundingBps;
  }

  const winnableFraction = labelled > 0 ? winnable / labelled : 0;
  if (labelled > 0 && winnable === 0 && b.mode === 'volatility') {
    const msg = `labels for ${candles.symbol}: with ${JSON.stringify(b)} every take-profit is at or below its round-trip cost (${labelled} labelled rows, ${describeCosts(costs)}): no label can be positive`;
    if (!cfg.allow_unwinnable) {
      throw new PermanentError('LABELS_UNWINNABLE', `${msg}. Raise tp_sigma / tp_min_cost_multiple or set allow_unwinnable`, { symbol: candles.symbol });
    }
    warnings.push(`UNWINNABLE BARRIERS: ${msg}`);
  } else if (labelled > 0 && winnableFraction < 1) {
    warnings.push(`labels for ${candles.symbol}: ${((1 - winnableFraction) * 100).toFixed(1)}% of labelled rows have a take-profit at or below their round-trip cost and can never be positive`);
  }
  if (capped > 0) {
    warnings.push(
      `labels for ${candles.symbol}: the volatility-scaled barriers of ${capped} labelled rows were capped at ${cap} bps (max_barrier_bps): their σ window holds moves far beyond ordinary volatility (a crash or a bad print)`,
    );
  }
  if (maker && labelled > 0) {
    warnings.push(`labels for ${candles.symbol}: ${unfilled} of ${labelled} maker entries (${((unfilled / labelled) * 100).toFixed(1)}%) were never traded through within ${fillWindow} minutes: labelled unfilled, net 0`);
  }
  return {
    rows: n,
    net_edge_bps: net,
    gross_bps: gross,
    exit_reason: reason,
    exit_index: exitIdx,
    tp_bps: tpOut,
    sl_bps: slOut,
    sigma1_bps: sigOut,
    fee_bps: feeOut,
    spread_bps: spreadOut,
    slippage_bps: slipOut,
    funding_bps: fundOut,
    entry_index: entryIdx,
    entry_price: entryPx,
    labelled,
    dropped: { warmup: dWarm, gap: dGap, end_of_data: dEnd },
    unfilled,
    winnable_fraction: winnableFraction,
    warnings,
  };
}
