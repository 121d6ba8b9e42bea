import { Ema, RollingBeta, RollingExtreme, RollingKurt, RollingSum, RollingVar } from './kernels/rolling';
import { percentileRank, SortedWindow } from './kernels/sorted-window';
import { RECIPE_PARAMS as P, seedWarmup } from './recipe';

/**
 * The recipe's formulas, one class per group of features that share state. Each `step`
 * consumes one row's inputs (already-derived scalars such as r_t) and sets its output
 * fields. The batch driver calls a group's `step` in a loop over a column, the streaming
 * driver calls every group's `step` once per candle: the arithmetic is this file only,
 * so the two agree bit for bit.
 *
 * Shared conventions: a zero denominator gives NaN (`div`), clipping passes NaN through,
 * windows are strict (a gap inside makes the output NaN), EMA / Wilder states skip NaN
 * inputs. Any non-finite output is turned into NaN by the drivers.
 */

export function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export function div(a: number, b: number): number {
  return b === 0 ? NaN : a / b;
}

const emaOf = (span: number): Ema => new Ema(2 / (span + 1), seedWarmup(2 / (span + 1)));

/** (x − SMA_n(x)) / STD_n(x). */
export class ZScore {
  private readonly w: RollingVar;
  z = NaN;
  constructor(n: number, m0: number) {
    this.w = new RollingVar(n, m0);
  }
  step(x: number): void {
    this.w.push(x);
    this.z = div(x - this.w.mean(), this.w.std());
  }
}

/** STD_n(x). */
export class RollingStd {
  private readonly w: RollingVar;
  sd = NaN;
  constructor(n: number, m0: number) {
    this.w = new RollingVar(n, m0);
  }
  step(x: number): void {
    this.w.push(x);
    this.sd = this.w.std();
  }
}

/** ema_n = EMA_n / close − 1 and the fast-minus-slow differences. */
export class EmaGroup {
  private readonly e5 = emaOf(5);
  private readonly e8 = emaOf(8);
  private readonly e21 = emaOf(21);
  private readonly e34 = emaOf(34);
  ema5 = NaN;
  ema8 = NaN;
  ema21 = NaN;
  ema34 = NaN;
  diff521 = NaN;
  diff834 = NaN;
  step(c: number): void {
    this.e5.push(c);
    this.e8.push(c);
    this.e21.push(c);
    this.e34.push(c);
    const a = this.e5.value();
    const b = this.e8.value();
    const d = this.e21.value();
    const e = this.e34.value();
    this.ema5 = a / c - 1;
    this.ema8 = b / c - 1;
    this.ema21 = d / c - 1;
    this.ema34 = e / c - 1;
    this.diff521 = (a - d) / c;
    this.diff834 = (b - e) / c;
  }
}

/** tanh(100 · (EMA20_t − EMA20_{t−1}) / close_t). */
export class TrendStrength {
  private readonly e = emaOf(P.trendEmaSpan);
  private prev = NaN;
  value = NaN;
  step(c: number): void {
    this.e.push(c);
    const now = this.e.value();
    this.value = Math.tanh((P.trendScale * (now - this.prev)) / c);
    this.prev = now;
  }
}

/** Relative tolerance for directional-movement ties (one tick is ≥ 1e-8 of the price). */
const DM_TIE = P.priceTieTolerance;

/**
 * Wilder true range, ATR(14) and ADX(14), all smoothed with α = 1/14 seeded by the first
 * value. TR needs the previous close, so it (and DX) starts on the second row and is
 * skipped right after a gap.
 */
export class Wilder {
  private readonly atrW: Ema;
  private readonly pdmW: Ema;
  private readonly mdmW: Ema;
  private readonly adxW: Ema;
  private readonly withAdx: boolean;
  /** Wilder ATR in price units (for ignition_score). */
  atrAbs = NaN;
  /** ATR / close. */
  atr = NaN;
  adx = NaN;
  constructor(withAdx: boolean) {
    const a = 1 / P.wilderPeriod;
    const w = seedWarmup(a);
    this.atrW = new Ema(a, w);
    this.pdmW = new Ema(a, w);
    this.mdmW = new Ema(a, w);
    this.adxW = new Ema(a, 2 * w);
    this.withAdx = withAdx;
  }
  step(h: number, l: number, c: number, ph: number, pl: number, pc: number): void {
    let tr = NaN;
    if (pc - pc === 0 && c - c === 0) {
      const a = h - l;
      const b = Math.abs(h - pc);
      const d = Math.abs(l - pc);
      tr = a > b ? (a > d ? a : d) : b > d ? b : d;
    }
    this.atrW.push(tr);
    this.atrAbs = this.atrW.value();
    this.atr = this.atrAbs / c;
    if (!this.withAdx) return;
    let dx = NaN;
    if (tr - tr === 0) {
      const up = h - ph;
      const down = pl - l;
      // Decimal prices make an exact tie up = down come out of the float subtraction as a
      // random ±1e-16·price: compare with a tolerance far below one tick (see DM_TIE).
      const tol = DM_TIE * pc;
      const d = up - down;
      this.pdmW.push(d > tol && up > tol ? up : 0);
      this.mdmW.push(-d > tol && down > tol ? down : 0);
      // Raw (unmasked) states: ADX's own warm-up covers both smoothing stages.
      const atr = this.atrW.raw();
      const pdi = (100 * this.pdmW.raw()) / atr;
      const mdi = (100 * this.mdmW.raw()) / atr;
      const sum = pdi + mdi;
      // No directional movement yet (or a zero range so far): DX = 0.
      dx = sum > 0 ? (100 * Math.abs(pdi - mdi)) / sum : 0;
    }
    this.adxW.push(dx);
    this.adx = this.adxW.value();
  }
}

/** (clip(close / SMA240(close), 0.8, 1.2) − 0.8) / 0.4. */
export class Htf {
  private readonly w: RollingSum;
  value = NaN;
  constructor(m0: number) {
    this.w = new RollingSum(P.htfWindow, m0);
  }
  step(c: number): void {
    this.w.push(c);
    const [lo, hi] = P.htfClip;
    this.value = (clip(div(c, this.w.mean()), lo, hi) - lo) / (hi - lo);
  }
}

/** STD10(r) / STD50(r). */
export class VolRegime {
  private readonly fast: RollingVar;
  private readonly slow: RollingVar;
  value = NaN;
  constructor(m0: number) {
    this.fast = new RollingVar(P.volRegimeWindows[0], m0);
    this.slow = new RollingVar(P.volRegimeWindows[1], m0);
  }
  step(r: number): void {
    this.fast.push(r);
    this.slow.push(r);
    this.value = div(this.fast.std(), this.slow.std());
  }
}

/** Rolling excess kurtosis of r. */
export class Kurtosis {
  private readonly w: RollingKurt;
  value = NaN;
  constructor(m0: number) {
    this.w = new RollingKurt(P.kurtWindow, m0);
  }
  step(r: number): void {
    this.w.push(r);
    this.value = this.w.kurt();
  }
}

/** 1 − clip(range / SMA20(range), 0, 2) / 2. */
export class Compression {
  private readonly w: RollingSum;
  value = NaN;
  constructor(m0: number) {
    this.w = new RollingSum(P.rangeWindow, m0);
  }
  step(range: number): void {
    this.w.push(range);
    this.value = 1 - clip(div(range, this.w.mean()), 0, 2) / 2;
  }
}

/**
 * A bar's range as a comparison key: (h − l) / c rounded to 1e-12. Distinct ranges differ by
 * at least a tick over the price (≥ 1e-8), while two decimal-equal ranges come out of float
 * arithmetic up to ~1e-16 apart, so without the rounding "is this the smallest range" and
 * rank ties would be decided by representation noise (and change when prices are rescaled).
 */
export function rangeKey(range: number): number {
  return Math.round(range * RANGE_KEY_SCALE) / RANGE_KEY_SCALE;
}
const RANGE_KEY_SCALE = 1 / P.rangeKeyResolution;

/** SMA20 of 1[range_t is the minimum of the last 7 ranges] (ranges compared as `rangeKey`). */
export class Nr7Density {
  private readonly min7 = new RollingExtreme(P.nr7Window, 'min');
  private readonly w: RollingSum;
  value = NaN;
  constructor(m0: number) {
    this.w = new RollingSum(P.nr7DensityWindow, m0);
  }
  step(range: number): void {
    this.min7.push(range);
    const m = this.min7.value();
    this.w.push(m - m === 0 ? (range <= m ? 1 : 0) : NaN);
    this.value = this.w.mean();
  }
}

/**
 * Percentile rank (average rank for ties) of x among the valid values of a window that
 * includes x: `(rank − 1) / (n − 1)` in 0..1, or inverted `(n − rank) / (n − 1)`.
 */
export class PercentileRank {
  private readonly w: SortedWindow;
  private readonly inverted: boolean;
  value = NaN;
  constructor(n: number, minValid: number, inverted: boolean) {
    this.w = new SortedWindow(n, minValid);
    this.inverted = inverted;
  }
  step(x: number): void {
    const w = this.w;
    w.push(x);
    if (w.ready && x - x === 0) {
      this.value = percentileRank(w.less, w.lessEq, w.size, this.inverted);
    } else {
      this.value = NaN;
    }
  }
}

/** Bollinger(20, 2) bands relative to close, width, and the clipped z-score (mean_rev). */
export class Bollinger {
  private readonly w: RollingVar;
  meanRev = NaN;
  upper = NaN;
  lower = NaN;
  width = NaN;
  constructor(m0: number) {
    this.w = new RollingVar(P.bollingerWindow, m0);
  }
  step(c: number): void {
    const w = this.w;
    w.push(c);
    const m = w.mean();
    const s = w.std();
    const k = P.bollingerK;
    const z = P.meanRevClip;
    this.meanRev = clip(div(c - m, s), -z, z) / z;
    this.upper = (m + k * s) / c - 1;
    this.lower = (m - k * s) / c - 1;
    this.width = div(2 * k * s, m);
  }
}

/** (max20(close) − close) / (max20(close) − min20(close)). */
export class Pullback {
  private readonly mx = new RollingExtreme(P.pullbackWindow, 'max');
  private readonly mn = new RollingExtreme(P.pullbackWindow, 'min');
  value = NaN;
  step(c: number): void {
    this.mx.push(c);
    this.mn.push(c);
    const hi = this.mx.value();
    this.value = div(hi - c, hi - this.mn.value());
  }
}

/**
 * Breakout features and vol_jump: they share SMA20 / STD20 of volume and the previous 20
 * bars' high.
 */
export class Breakout {
  private readonly vol: RollingVar;
  private readonly priorHigh = new RollingExtreme(P.breakoutWindow, 'max');
  private readonly rSum: RollingSum;
  private readonly rVar: RollingVar;
  private static readonly SQRT_SUM = Math.sqrt(P.breakoutSumWindow);
  ignition = NaN;
  thrust = NaN;
  qual = NaN;
  volJump = NaN;
  constructor(m0: number) {
    this.vol = new RollingVar(P.breakoutVolumeWindow, m0);
    this.rSum = new RollingSum(P.breakoutSumWindow, m0);
    this.rVar = new RollingVar(P.breakoutWindow, m0);
  }
  /** @param atrAbs Wilder ATR(14) in price units (from {@link Wilder}). */
  step(h: number, c: number, v: number, r: number, atrAbs: number): void {
    this.vol.push(v);
    const vm = this.vol.mean();
    const volRatio = clip(div(v, vm), 0, 3) / 3;
    this.volJump = div(v - vm, this.vol.std());
    // The previous 20 bars' high: read before this bar enters the window.
    const pm = this.priorHigh.value();
    this.priorHigh.push(h);
    this.ignition = 60 * clip(div(c - pm, atrAbs), 0, 1) + 40 * volRatio;
    this.thrust = clip(div(c - pm, pm), 0, P.thrustCap) * 100;
    this.rSum.push(r);
    this.rVar.push(r);
    this.qual = clip(div(Math.abs(this.rSum.sum()) * volRatio, this.rVar.std() * Breakout.SQRT_SUM), 0, 1);
  }
}

/** Wilder RSI(n) = 100 · avgGain / (avgGain + avgLoss). */
export class Rsi {
  private readonly gain: Ema;
  private readonly loss: Ema;
  value = NaN;
  constructor(n: number) {
    const a = 1 / n;
    this.gain = new Ema(a, seedWarmup(a));
    this.loss = new Ema(a, seedWarmup(a));
  }
  step(c: number, pc: number): void {
    const d = c - pc;
    if (d - d === 0) {
      this.gain.push(d > 0 ? d : 0);
      this.loss.push(d < 0 ? -d : 0);
    }
    const g = this.gain.value();
    this.value = div(100 * g, g + this.loss.value());
  }
}

/** micro, volume_ma_ratio and volume_trend: SMA10(r), SMA10(volume), SMA60(volume). */
export class VolumeFlow {
  private readonly r10: RollingSum;
  private readonly v10: RollingSum;
  private readonly v60: RollingSum;
  micro = NaN;
  maRatio = NaN;
  trend = NaN;
  constructor(m0: number) {
    this.r10 = new RollingSum(P.microWindow, m0);
    this.v10 = new RollingSum(P.volumeTrendFastWindow, m0);
    this.v60 = new RollingSum(P.volumeMaWindow, m0);
  }
  step(r: number, v: number): void {
    this.r10.push(r);
    this.v10.push(v);
    this.v60.push(v);
    const v10 = this.v10.mean();
    const v60 = this.v60.mean();
    const vr2 = clip(div(v, v10), 0, 2) / 2;
    this.micro = 50 * (1 + clip(Math.sign(this.r10.mean()) * vr2, -1, 1));
    this.maRatio = div(v, v60);
    this.trend = div(v10, v60) - 1;
  }
}

/** SMA20 of 1[close_t > close_{t−1}]. */
export class Uptick {
  private readonly w: RollingSum;
  value = NaN;
  constructor(m0: number) {
    this.w = new RollingSum(P.uptickWindow, m0);
  }
  step(c: number, pc: number): void {
    this.w.push(c - c === 0 && pc - pc === 0 ? (c > pc ? 1 : 0) : NaN);
    this.value = this.w.mean();
  }
}

/**
 * Abdi & Ranaldo (2017) close-high-low spread estimator, in bps. For the pair (t−1, t),
 * in logs, s² = 4 (c_{t−1} − η_{t−1}) (c_{t−1} − η_t) with η = (log h + log l) / 2; the
 * spread is √max(mean of s² over 20 pairs, 0). Each log is of a ratio near 1, so the
 * estimate is scale-free and does not cancel catastrophically.
 */
export class AbdiRanaldoSpread {
  private readonly w: RollingSum;
  private prevA = NaN;
  value = NaN;
  constructor(m0: number) {
    this.w = new RollingSum(P.spreadWindow, m0);
  }
  step(h: number, l: number, c: number, pc: number): void {
    const hl = h * l;
    const a = 0.5 * Math.log((c * c) / hl);
    const b = 0.5 * Math.log((pc * pc) / hl);
    this.w.push(4 * this.prevA * b);
    this.prevA = a;
    const m = this.w.mean();
    // A negative sample mean means no measurable spread: 0.
    this.value = m > 0 ? 1e4 * Math.sqrt(m) : m - m === 0 ? 0 : NaN;
  }
}

/*
 * Cross-asset features against the reference series (BTC/USDT, or ETH/USDT for BTC).
 * `r` / `retN` are the coin's 1- and n-bar returns, `rr` / `rretN` the reference's.
 */

/** leader = clip(SMA20(r − r_ref), −0.1, 0.1) · 10. */
export class Leader {
  private readonly w: RollingSum;
  value = NaN;
  constructor(m0: number) {
    this.w = new RollingSum(P.leaderWindow, m0);
  }
  step(r: number, rr: number): void {
    this.w.push(r - rr);
    const lc = P.leaderClip;
    this.value = clip(this.w.mean(), -lc, lc) / lc;
  }
}

/** btc_beta: rolling OLS slope of r on r_ref over 60 rows. */
export class Beta {
  private readonly w: RollingBeta;
  value = NaN;
  constructor(m0: number) {
    this.w = new RollingBeta(P.betaWindow, m0);
  }
  step(r: number, rr: number): void {
    this.w.push(rr, r);
    this.value = this.w.beta();
  }
}

/** rs = 50 · (1 + tanh(10 · (0.6·RS10 + 0.4·RS20))), RS_n = ret_n − ret_n(ref). */
export function relativeStrength(ret10: number, ret20: number, rret10: number, rret20: number): number {
  const x = P.rsWeights[0] * (ret10 - rret10) + P.rsWeights[1] * (ret20 - rret20);
  return 50 * (1 + Math.tanh(P.rsScale * x));
}

/** btc_divergence = clip(RS5 − RS20, −0.2, 0.2) / 0.2. */
export function divergence(ret5: number, ret20: number, rret5: number, rret20: number): number {
  const dc = P.divergenceClip;
  return clip(ret5 - rret5 - (ret20 - rret20), -dc, dc) / dc;
}

/** log10 of the 24-hour quote volume (mean of close·volume over the valid rows × 1440). */
export class Liquidity {
  private readonly w: RollingSum;
  value = NaN;
  constructor(m0: number) {
    const n = P.liquidityWindow;
    this.w = new RollingSum(n, m0, Math.ceil(n * P.longWindowMinValidFraction));
  }
  step(c: number, v: number): void {
    this.w.push(c * v);
    this.value = Math.log10(this.w.mean() * P.liquidityWindow);
  }
}

/** The last 60 minutes' volume (strict: NaN while a gap is inside). */
export class VolumeSum60 {
  private readonly w: RollingSum;
  value = NaN;
  constructor(m0: number) {
    this.w = new RollingSum(P.volumeScoreSumWindow, m0);
  }
  step(v: number): void {
    this.w.push(v);
    this.value = this.w.sum();
  }
}

export const VOLUME_SCORE_MIN_VALID = Math.ceil(P.volumeScoreWindow * P.longWindowMinValidFraction);

/** volume_score: percentile rank of the last 60 minutes' volume within the last 7 days of such sums. */
export class VolumeScore {
  private readonly sum60: VolumeSum60;
  private readonly rank = new PercentileRank(P.volumeScoreWindow, VOLUME_SCORE_MIN_VALID, false);
  value = NaN;
  constructor(m0: number) {
    this.sum60 = new VolumeSum60(m0);
  }
  step(v: number): void {
    this.sum60.step(v);
    this.rank.step(this.sum60.value);
    this.value = this.rank.value;
  }
}

const MINUTES_PER_DAY = 1440;
const TAU = 2 * Math.PI;
const TOD_SIN = new Float64Array(MINUTES_PER_DAY);
const TOD_COS = new Float64Array(MINUTES_PER_DAY);
for (let m = 0; m < MINUTES_PER_DAY; m++) {
  TOD_SIN[m] = Math.sin((TAU * m) / MINUTES_PER_DAY);
  TOD_COS[m] = Math.cos((TAU * m) / MINUTES_PER_DAY);
}
const DOW_SIN = new Float64Array(7);
const DOW_COS = new Float64Array(7);
for (let d = 0; d < 7; d++) {
  DOW_SIN[d] = Math.sin((TAU * d) / 7);
  DOW_COS[d] = Math.cos((TAU * d) / 7);
}

/**
 * Time of day and day of week of the candle's close (open minute + 1), UTC; Monday = 0
 * (JavaScript's getUTCDay has Sunday = 0; 1970-01-01 was a Thursday = 3 here). The grid
 * is minute-aligned, so sin/cos come from exact tables.
 */
export class Temporal {
  todFraction = NaN;
  todSin = NaN;
  todCos = NaN;
  dow = NaN;
  dowSin = NaN;
  dowCos = NaN;
  step(openMinute: number): void {
    const closeMinute = openMinute + 1;
    const mod = closeMinute % MINUTES_PER_DAY;
    const day = (closeMinute - mod) / MINUTES_PER_DAY;
    const dow = (day + 3) % 7;
    this.todFraction = mod / MINUTES_PER_DAY;
    this.todSin = TOD_SIN[mod];
    this.todCos = TOD_COS[mod];
    this.dow = dow;
    this.dowSin = DOW_SIN[dow];
    this.dowCos = DOW_COS[dow];
  }
}
