import {
  AbdiRanaldoSpread,
  Bollinger,
  Breakout,
  Compression,
  Beta,
  div,
  divergence,
  EmaGroup,
  Htf,
  Kurtosis,
  Leader,
  Liquidity,
  Nr7Density,
  PercentileRank,
  Pullback,
  rangeKey,
  relativeStrength,
  RollingStd,
  Rsi,
  Temporal,
  TrendStrength,
  Uptick,
  VolRegime,
  VolumeFlow,
  VolumeScore,
  Wilder,
  ZScore,
} from './groups';
import { LagRing } from './kernels/rolling';
import { FEATURE_NAMES, type FeatureName, RECIPE_PARAMS as P, TEMPORAL_FEATURES } from './recipe';

/**
 * The two drivers of the recipe's formulas (groups.ts):
 * - `computeBatch` runs one group at a time down whole columns (tight loops, sequential
 *   memory), for training frames;
 * - `StreamEngine` runs every group once per candle, for live use.
 * Both feed each group the same derived inputs (r_t = c_t / c_{t−1} − 1, ranges, n-bar
 * returns, the reference's returns) computed by the same expressions, and both apply the
 * same final rule: a gap row is NaN except for the temporal features, and any non-finite
 * value becomes NaN. So a streaming row equals the batch row bit for bit; the tests
 * check it on real data.
 */

export const FEATURE_INDEX = Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, i])) as Record<FeatureName, number>;
export const FEATURE_WIDTH = FEATURE_NAMES.length;
const TEMPORAL_SET: ReadonlySet<FeatureName> = new Set(TEMPORAL_FEATURES);
const NON_TEMPORAL_INDEX = Int32Array.from(
  FEATURE_NAMES.map((n, i) => (TEMPORAL_SET.has(n) ? -1 : i)).filter((i) => i >= 0),
);
const ZW = P.zscoreWindow;

/** Inputs of one batch run: the candle columns with gap rows already NaN. */
export interface BatchInput {
  /** Minute index (ts / 60 000) of row 0; rows are consecutive minutes. */
  startMinute: number;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  gap: Uint8Array;
  /** Reference close (NaN on its gap rows), or null: cross-asset features NaN. */
  refClose: Float64Array | null;
  bid: Float64Array | null;
  ask: Float64Array | null;
}

/** `close[i] / close[i − lag] − 1`, NaN for the first `lag` rows. */
function lagReturn(c: Float64Array, lag: number): Float64Array {
  const n = c.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = i >= lag ? c[i] / c[i - lag] - 1 : c[i] / NaN - 1;
  return out;
}

/** Row i's previous-row value (NaN for row 0). */
function previous(x: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  if (x.length === 0) return out;
  out[0] = NaN;
  out.set(x.subarray(0, x.length - 1), 1);
  return out;
}

/*
 * One module-level loop per group. They are plain functions (not closures made per call)
 * so V8 optimises each once and reuses the code on later calls; each calls its group's
 * `step` monomorphically, which V8 inlines.
 */
function loopZScore(g: ZScore, x: Float64Array, o: Float64Array): void {
  for (let i = 0; i < x.length; i++) {
    g.step(x[i]);
    o[i] = g.z;
  }
}
function loopStd(g: RollingStd, x: Float64Array, o: Float64Array): void {
  for (let i = 0; i < x.length; i++) {
    g.step(x[i]);
    o[i] = g.sd;
  }
}
function loopEma(g: EmaGroup, c: Float64Array, o: Float64Array[]): void {
  const [a, b, d, e, f, h] = o;
  for (let i = 0; i < c.length; i++) {
    g.step(c[i]);
    a[i] = g.ema5;
    b[i] = g.ema8;
    d[i] = g.ema21;
    e[i] = g.ema34;
    f[i] = g.diff521;
    h[i] = g.diff834;
  }
}
function loopTrend(g: TrendStrength, c: Float64Array, o: Float64Array): void {
  for (let i = 0; i < c.length; i++) {
    g.step(c[i]);
    o[i] = g.value;
  }
}
function loopWilder(g: Wilder, H: Float64Array, L: Float64Array, C: Float64Array, PH: Float64Array, PL: Float64Array, PC: Float64Array, atrAbs: Float64Array, atr: Float64Array, adx: Float64Array): void {
  for (let i = 0; i < C.length; i++) {
    g.step(H[i], L[i], C[i], PH[i], PL[i], PC[i]);
    atrAbs[i] = g.atrAbs;
    atr[i] = g.atr;
    adx[i] = g.adx;
  }
}
function loopHtf(g: Htf, c: Float64Array, o: Float64Array): void {
  for (let i = 0; i < c.length; i++) {
    g.step(c[i]);
    o[i] = g.value;
  }
}
function loopVolRegime(g: VolRegime, r: Float64Array, o: Float64Array): void {
  for (let i = 0; i < r.length; i++) {
    g.step(r[i]);
    o[i] = g.value;
  }
}
function loopKurt(g: Kurtosis, r: Float64Array, o: Float64Array): void {
  for (let i = 0; i < r.length; i++) {
    g.step(r[i]);
    o[i] = g.value;
  }
}
function loopCompression(g: Compression, x: Float64Array, o: Float64Array): void {
  for (let i = 0; i < x.length; i++) {
    g.step(x[i]);
    o[i] = g.value;
  }
}
function loopNr7(g: Nr7Density, x: Float64Array, o: Float64Array): void {
  for (let i = 0; i < x.length; i++) {
    g.step(x[i]);
    o[i] = g.value;
  }
}
function loopRank(g: PercentileRank, x: Float64Array, o: Float64Array): void {
  for (let i = 0; i < x.length; i++) {
    g.step(x[i]);
    o[i] = g.value;
  }
}
function loopBollinger(g: Bollinger, c: Float64Array, o: Float64Array[]): void {
  const [a, b, d, e] = o;
  for (let i = 0; i < c.length; i++) {
    g.step(c[i]);
    a[i] = g.meanRev;
    b[i] = g.upper;
    d[i] = g.lower;
    e[i] = g.width;
  }
}
function loopPullback(g: Pullback, c: Float64Array, o: Float64Array): void {
  for (let i = 0; i < c.length; i++) {
    g.step(c[i]);
    o[i] = g.value;
  }
}
function loopBreakout(g: Breakout, H: Float64Array, C: Float64Array, V: Float64Array, R: Float64Array, atr: Float64Array, o: Float64Array[]): void {
  const [a, b, d, e] = o;
  for (let i = 0; i < C.length; i++) {
    g.step(H[i], C[i], V[i], R[i], atr[i]);
    a[i] = g.ignition;
    b[i] = g.thrust;
    d[i] = g.qual;
    e[i] = g.volJump;
  }
}
function loopRsi(g: Rsi, C: Float64Array, PC: Float64Array, o: Float64Array): void {
  for (let i = 0; i < C.length; i++) {
    g.step(C[i], PC[i]);
    o[i] = g.value;
  }
}
function loopFlow(g: VolumeFlow, R: Float64Array, V: Float64Array, o: Float64Array[]): void {
  const [a, b, d] = o;
  for (let i = 0; i < R.length; i++) {
    g.step(R[i], V[i]);
    a[i] = g.micro;
    b[i] = g.maRatio;
    d[i] = g.trend;
  }
}
function loopUptick(g: Uptick, C: Float64Array, PC: Float64Array, o: Float64Array): void {
  for (let i = 0; i < C.length; i++) {
    g.step(C[i], PC[i]);
    o[i] = g.value;
  }
}
function loopSpread(g: AbdiRanaldoSpread, H: Float64Array, L: Float64Array, C: Float64Array, PC: Float64Array, o: Float64Array): void {
  for (let i = 0; i < C.length; i++) {
    g.step(H[i], L[i], C[i], PC[i]);
    o[i] = g.value;
  }
}
/** Row i's n-bar return of x: x[i] / x[i − n] − 1 (x[i] / NaN − 1 before row n, as in a stream). */
function lagAt(x: Float64Array, i: number, n: number): number {
  return x[i] / (i >= n ? x[i - n] : NaN) - 1;
}
function loopLeader(g: Leader, R: Float64Array, RC: Float64Array, o: Float64Array): void {
  for (let i = 0; i < R.length; i++) {
    g.step(R[i], lagAt(RC, i, 1));
    o[i] = g.value;
  }
}
function loopBeta(g: Beta, R: Float64Array, RC: Float64Array, o: Float64Array): void {
  for (let i = 0; i < R.length; i++) {
    g.step(R[i], lagAt(RC, i, 1));
    o[i] = g.value;
  }
}
function loopRelativeStrength(C: Float64Array, RC: Float64Array, rs: Float64Array, div: Float64Array): void {
  for (let i = 0; i < C.length; i++) {
    const ret20 = lagAt(C, i, 20);
    const rret20 = lagAt(RC, i, 20);
    rs[i] = relativeStrength(lagAt(C, i, 10), ret20, lagAt(RC, i, 10), rret20);
    div[i] = divergence(lagAt(C, i, 5), ret20, lagAt(RC, i, 5), rret20);
  }
}
function loopLagReturn(x: Float64Array, n: number, o: Float64Array): void {
  for (let i = 0; i < x.length; i++) o[i] = lagAt(x, i, n);
}
function loopTemporal(g: Temporal, m0: number, o: Float64Array[]): void {
  const [a, b, d, e, f, h] = o;
  for (let i = 0; i < a.length; i++) {
    g.step(m0 + i);
    a[i] = g.todFraction;
    b[i] = g.todSin;
    d[i] = g.todCos;
    e[i] = g.dow;
    f[i] = g.dowSin;
    h[i] = g.dowCos;
  }
}
function loopLiquidity(g: Liquidity, C: Float64Array, V: Float64Array, o: Float64Array): void {
  for (let i = 0; i < C.length; i++) {
    g.step(C[i], V[i]);
    o[i] = g.value;
  }
}
function loopVolumeScore(g: VolumeScore, V: Float64Array, o: Float64Array): void {
  for (let i = 0; i < V.length; i++) {
    g.step(V[i]);
    o[i] = g.value;
  }
}
function loopSlope(ret5: Float64Array, lag: number, o: Float64Array): void {
  for (let i = 0; i < ret5.length; i++) o[i] = ret5[i] - (i >= lag ? ret5[i - lag] : NaN);
}
function loopBook(bid: Float64Array | null, ask: Float64Array | null, o: Float64Array): void {
  if (!bid || !ask) o.fill(NaN);
  else for (let i = 0; i < o.length; i++) o[i] = div(bid[i] - ask[i], bid[i] + ask[i]);
}
function loopScale(x: Float64Array, k: number, o: Float64Array): void {
  for (let i = 0; i < x.length; i++) o[i] = k * x[i];
}
/** range = (h − l) / c and its comparison key. */
function ranges(H: Float64Array, L: Float64Array, C: Float64Array, range: Float64Array, key: Float64Array): void {
  for (let i = 0; i < C.length; i++) {
    range[i] = (H[i] - L[i]) / C[i];
    key[i] = rangeKey(range[i]);
  }
}
/** The final rule (also in StreamEngine): gap rows NaN except temporal; non-finite → NaN. */
function finalise(o: Float64Array, gap: Uint8Array, temporal: boolean): void {
  if (temporal) {
    for (let i = 0; i < o.length; i++) if (!(o[i] - o[i] === 0)) o[i] = NaN;
  } else {
    for (let i = 0; i < o.length; i++) if (gap[i] === 1 || !(o[i] - o[i] === 0)) o[i] = NaN;
  }
}

/**
 * Compute the requested features into `columns` (one preallocated array per name).
 * Calls `onGroup` after each group of features, for progress and cancellation.
 */
export function computeBatch(input: BatchInput, names: readonly FeatureName[], columns: readonly Float64Array[], onGroup: (done: number, total: number) => void): void {
  const n = input.close.length;
  const m0 = input.startMinute;
  const wanted = new Map<FeatureName, Float64Array>();
  names.forEach((name, k) => wanted.set(name, columns[k]));
  const has = (...ns: FeatureName[]): boolean => ns.some((x) => wanted.has(x));
  /** The column for a feature, or a scratch array when that output is not requested. */
  const col = (name: FeatureName): Float64Array => wanted.get(name) ?? new Float64Array(n);
  const cols = (...ns: FeatureName[]): Float64Array[] => ns.map(col);

  const { high: H, low: L, close: C, volume: V } = input;
  // Derived input columns, made on first use: a subset only pays for what it needs.
  const memo = <T>(make: () => T): (() => T) => {
    let v: T | undefined;
    return () => (v ??= make());
  };
  const PC = memo(() => previous(C));
  const PH = memo(() => previous(H));
  const PL = memo(() => previous(L));
  const R = memo(() => lagReturn(C, 1));
  const RET3 = memo(() => lagReturn(C, 3));
  const RET5 = memo(() => lagReturn(C, 5));
  const RANGES = memo(() => {
    const range = new Float64Array(n);
    const key = new Float64Array(n);
    ranges(H, L, C, range, key);
    return { range, key };
  });
  const RC = input.refClose ?? new Float64Array(n).fill(NaN);
  // ATR in price units feeds ignition_score.
  let atrAbs: Float64Array = new Float64Array(n).fill(NaN);

  const jobs: Array<() => void> = [];
  const add = (when: boolean, job: () => void): void => {
    if (when) jobs.push(job);
  };
  add(has('ret_1', 'ret_3', 'ret_5'), () => {
    if (wanted.has('ret_1')) col('ret_1').set(R());
    if (wanted.has('ret_3')) col('ret_3').set(RET3());
    if (wanted.has('ret_5')) col('ret_5').set(RET5());
  });
  add(has('zscore_ret_1'), () => loopZScore(new ZScore(ZW, m0), R(), col('zscore_ret_1')));
  add(has('zscore_ret_3'), () => loopZScore(new ZScore(ZW, m0), RET3(), col('zscore_ret_3')));
  add(has('zscore_ret_5'), () => loopZScore(new ZScore(ZW, m0), RET5(), col('zscore_ret_5')));
  add(has('momentum_slope'), () => loopSlope(RET5(), P.momentumSlopeLag, col('momentum_slope')));
  add(has('ema_5', 'ema_8', 'ema_21', 'ema_34', 'ema_diff_5_21', 'ema_diff_8_34'), () =>
    loopEma(new EmaGroup(), C, cols('ema_5', 'ema_8', 'ema_21', 'ema_34', 'ema_diff_5_21', 'ema_diff_8_34')),
  );
  add(has('trend_strength'), () => loopTrend(new TrendStrength(), C, col('trend_strength')));
  add(has('atr', 'adx', 'ignition_score'), () => {
    atrAbs = new Float64Array(n);
    loopWilder(new Wilder(has('adx')), H, L, C, PH(), PL(), PC(), atrAbs, col('atr'), col('adx'));
  });
  add(has('htf'), () => loopHtf(new Htf(m0), C, col('htf')));
  add(has('realized_sigma_30'), () => loopStd(new RollingStd(P.sigmaWindows[0], m0), R(), col('realized_sigma_30')));
  add(has('realized_sigma_60'), () => loopStd(new RollingStd(P.sigmaWindows[1], m0), R(), col('realized_sigma_60')));
  add(has('vol_regime'), () => loopVolRegime(new VolRegime(m0), R(), col('vol_regime')));
  add(has('kurt'), () => loopKurt(new Kurtosis(m0), R(), col('kurt')));
  add(has('compression'), () => loopCompression(new Compression(m0), RANGES().range, col('compression')));
  add(has('nr7_dens'), () => loopNr7(new Nr7Density(m0), RANGES().key, col('nr7_dens')));
  add(has('compress_rank'), () => loopRank(new PercentileRank(P.compressRankWindow, P.compressRankWindow, true), RANGES().key, col('compress_rank')));
  add(has('mean_rev', 'bb_upper', 'bb_lower', 'bb_width'), () => loopBollinger(new Bollinger(m0), C, cols('mean_rev', 'bb_upper', 'bb_lower', 'bb_width')));
  add(has('pullback'), () => loopPullback(new Pullback(), C, col('pullback')));
  add(has('ignition_score', 'breakout_thrust', 'breakout_qual', 'vol_jump'), () =>
    loopBreakout(new Breakout(m0), H, C, V, R(), atrAbs, cols('ignition_score', 'breakout_thrust', 'breakout_qual', 'vol_jump')),
  );
  add(has('rsi_7'), () => loopRsi(new Rsi(P.rsiPeriods[0]), C, PC(), col('rsi_7')));
  add(has('rsi_14'), () => loopRsi(new Rsi(P.rsiPeriods[1]), C, PC(), col('rsi_14')));
  add(has('micro', 'volume_ma_ratio', 'volume_trend'), () => loopFlow(new VolumeFlow(m0), R(), V, cols('micro', 'volume_ma_ratio', 'volume_trend')));
  add(has('uptick'), () => loopUptick(new Uptick(m0), C, PC(), col('uptick')));
  add(has('spread'), () => loopSpread(new AbdiRanaldoSpread(m0), H, L, C, PC(), col('spread')));
  add(has('orderbook_imbalance'), () => loopBook(input.bid, input.ask, col('orderbook_imbalance')));
  add(has('leader'), () => loopLeader(new Leader(m0), R(), RC, col('leader')));
  add(has('rs', 'btc_divergence'), () => loopRelativeStrength(C, RC, col('rs'), col('btc_divergence')));
  add(has('btc_beta'), () => loopBeta(new Beta(m0), R(), RC, col('btc_beta')));
  add(has('cross_momentum'), () => loopLagReturn(RC, P.crossMomentumLag, col('cross_momentum')));
  add(has(...TEMPORAL_FEATURES), () => loopTemporal(new Temporal(), m0, cols('tod_fraction', 'tod_sin', 'tod_cos', 'dow', 'dow_sin', 'dow_cos')));
  add(has('liquidity_score'), () => loopLiquidity(new Liquidity(m0), C, V, col('liquidity_score')));
  add(has('spread_bps'), () => loopScale(RANGES().range, 1e4, col('spread_bps')));
  add(has('volume_score'), () => loopVolumeScore(new VolumeScore(m0), V, col('volume_score')));

  for (let j = 0; j < jobs.length; j++) {
    jobs[j]();
    onGroup(j + 1, jobs.length + 1);
  }
  names.forEach((name, k) => finalise(columns[k], input.gap, TEMPORAL_SET.has(name)));
  onGroup(jobs.length + 1, jobs.length + 1);
}

/** The whole recipe, one candle at a time (see FeatureState for the public API). */
export class StreamEngine {
  private readonly startMinute: number;
  private minute: number;
  private pc = NaN;
  private ph = NaN;
  private pl = NaN;
  private prc = NaN;
  private readonly closes = new LagRing(20);
  private readonly refCloses = new LagRing(20);
  private readonly ret5s = new LagRing(P.momentumSlopeLag);
  private readonly z1: ZScore;
  private readonly z3: ZScore;
  private readonly z5: ZScore;
  private readonly ema = new EmaGroup();
  private readonly trend = new TrendStrength();
  private readonly wilder = new Wilder(true);
  private readonly htf: Htf;
  private readonly sig30: RollingStd;
  private readonly sig60: RollingStd;
  private readonly volRegime: VolRegime;
  private readonly kurt: Kurtosis;
  private readonly compression: Compression;
  private readonly nr7: Nr7Density;
  private readonly compressRank = new PercentileRank(P.compressRankWindow, P.compressRankWindow, true);
  private readonly bollinger: Bollinger;
  private readonly pullback = new Pullback();
  private readonly breakout: Breakout;
  private readonly rsi7 = new Rsi(P.rsiPeriods[0]);
  private readonly rsi14 = new Rsi(P.rsiPeriods[1]);
  private readonly flow: VolumeFlow;
  private readonly uptick: Uptick;
  private readonly spread: AbdiRanaldoSpread;
  private readonly leader: Leader;
  private readonly beta: Beta;
  private readonly temporal = new Temporal();
  private readonly liquidity: Liquidity;
  private readonly volumeScore: VolumeScore;

  /** @param startMinute minute index (ts / 60 000) of the first candle */
  constructor(startMinute: number) {
    const m0 = startMinute;
    this.startMinute = m0;
    this.minute = m0 - 1;
    this.z1 = new ZScore(ZW, m0);
    this.z3 = new ZScore(ZW, m0);
    this.z5 = new ZScore(ZW, m0);
    this.htf = new Htf(m0);
    this.sig30 = new RollingStd(P.sigmaWindows[0], m0);
    this.sig60 = new RollingStd(P.sigmaWindows[1], m0);
    this.volRegime = new VolRegime(m0);
    this.kurt = new Kurtosis(m0);
    this.compression = new Compression(m0);
    this.nr7 = new Nr7Density(m0);
    this.bollinger = new Bollinger(m0);
    this.breakout = new Breakout(m0);
    this.flow = new VolumeFlow(m0);
    this.uptick = new Uptick(m0);
    this.spread = new AbdiRanaldoSpread(m0);
    this.leader = new Leader(m0);
    this.beta = new Beta(m0);
    this.liquidity = new Liquidity(m0);
    this.volumeScore = new VolumeScore(m0);
  }

  /** Candles stepped so far. */
  get rows(): number {
    return this.minute + 1 - this.startMinute;
  }

  /**
   * Advance to `minute` (the previous one + 1) and write the full row into `out`.
   * Gap rows pass NaN high/low/close/volume; `rc` is the reference close (NaN when absent);
   * `bid`/`ask` are order-book volumes (NaN when absent).
   */
  step(minute: number, h: number, l: number, c: number, v: number, rc: number, bid: number, ask: number, out: Float64Array): void {
    this.minute = minute;
    const pc = this.pc;
    const prc = this.prc;
    this.closes.push(c);
    this.refCloses.push(rc);
    const closes = this.closes;
    const refs = this.refCloses;
    // Derived inputs, by the same expressions as computeBatch.
    const r = c / pc - 1;
    const range = (h - l) / c;
    const ret3 = c / closes.ago(3) - 1;
    const ret5 = c / closes.ago(5) - 1;
    const rr = rc / prc - 1;

    out[0] = r;
    out[1] = ret3;
    out[2] = ret5;
    this.z1.step(r);
    out[3] = this.z1.z;
    this.z3.step(ret3);
    out[4] = this.z3.z;
    this.z5.step(ret5);
    out[5] = this.z5.z;
    this.ret5s.push(ret5);
    out[6] = ret5 - this.ret5s.ago(P.momentumSlopeLag);
    this.trend.step(c);
    out[7] = this.trend.value;
    const e = this.ema;
    e.step(c);
    out[8] = e.ema5;
    out[9] = e.ema8;
    out[10] = e.ema21;
    out[11] = e.ema34;
    out[12] = e.diff521;
    out[13] = e.diff834;
    const w = this.wilder;
    w.step(h, l, c, this.ph, this.pl, pc);
    out[14] = w.adx;
    this.htf.step(c);
    out[15] = this.htf.value;
    this.sig30.step(r);
    out[16] = this.sig30.sd;
    this.sig60.step(r);
    out[17] = this.sig60.sd;
    out[18] = w.atr;
    this.volRegime.step(r);
    out[19] = this.volRegime.value;
    this.kurt.step(r);
    out[20] = this.kurt.value;
    this.compression.step(range);
    out[21] = this.compression.value;
    const rk = rangeKey(range);
    this.nr7.step(rk);
    out[22] = this.nr7.value;
    this.compressRank.step(rk);
    out[23] = this.compressRank.value;
    const bb = this.bollinger;
    bb.step(c);
    out[24] = bb.meanRev;
    this.pullback.step(c);
    out[25] = this.pullback.value;
    const bo = this.breakout;
    bo.step(h, c, v, r, w.atrAbs);
    out[26] = bo.ignition;
    out[27] = bo.thrust;
    out[28] = bo.qual;
    this.rsi7.step(c, pc);
    out[29] = this.rsi7.value;
    this.rsi14.step(c, pc);
    out[30] = this.rsi14.value;
    out[31] = bb.upper;
    out[32] = bb.lower;
    out[33] = bb.width;
    const fl = this.flow;
    fl.step(r, v);
    out[34] = fl.micro;
    this.uptick.step(c, pc);
    out[35] = this.uptick.value;
    this.spread.step(h, l, c, pc);
    out[36] = this.spread.value;
    out[37] = div(bid - ask, bid + ask);
    out[38] = bo.volJump;
    out[39] = fl.maRatio;
    out[40] = fl.trend;
    this.leader.step(r, rr);
    out[41] = this.leader.value;
    const ret20 = c / closes.ago(20) - 1;
    const rret20 = rc / refs.ago(20) - 1;
    const rret10 = rc / refs.ago(10) - 1;
    out[42] = relativeStrength(c / closes.ago(10) - 1, ret20, rret10, rret20);
    this.beta.step(r, rr);
    out[43] = this.beta.value;
    out[44] = divergence(ret5, ret20, rc / refs.ago(5) - 1, rret20);
    out[45] = rret10;
    const t = this.temporal;
    t.step(minute);
    out[46] = t.todFraction;
    out[47] = t.todSin;
    out[48] = t.todCos;
    out[49] = t.dow;
    out[50] = t.dowSin;
    out[51] = t.dowCos;
    this.liquidity.step(c, v);
    out[52] = this.liquidity.value;
    out[53] = 1e4 * range;
    this.volumeScore.step(v);
    out[54] = this.volumeScore.value;

    this.pc = c;
    this.ph = h;
    this.pl = l;
    this.prc = rc;

    // The final rule (also in computeBatch).
    if (!(c - c === 0)) {
      for (let k = 0; k < NON_TEMPORAL_INDEX.length; k++) out[NON_TEMPORAL_INDEX[k]] = NaN;
    }
    for (let k = 0; k < FEATURE_WIDTH; k++) {
      const y = out[k];
      if (!(y - y === 0)) out[k] = NaN;
    }
  }
}

/** The literal row positions StreamEngine writes, checked against FEATURE_NAMES at load. */
const STREAM_ORDER: readonly FeatureName[] = [
  'ret_1', 'ret_3', 'ret_5', 'zscore_ret_1', 'zscore_ret_3', 'zscore_ret_5', 'momentum_slope',
  'trend_strength', 'ema_5', 'ema_8', 'ema_21', 'ema_34', 'ema_diff_5_21', 'ema_diff_8_34', 'adx', 'htf',
  'realized_sigma_30', 'realized_sigma_60', 'atr', 'vol_regime', 'kurt',
  'compression', 'nr7_dens', 'compress_rank', 'mean_rev', 'pullback',
  'ignition_score', 'breakout_thrust', 'breakout_qual',
  'rsi_7', 'rsi_14', 'bb_upper', 'bb_lower', 'bb_width',
  'micro', 'uptick', 'spread', 'orderbook_imbalance',
  'vol_jump', 'volume_ma_ratio', 'volume_trend',
  'leader', 'rs', 'btc_beta', 'btc_divergence', 'cross_momentum',
  'tod_fraction', 'tod_sin', 'tod_cos', 'dow', 'dow_sin', 'dow_cos',
  'liquidity_score', 'spread_bps', 'volume_score',
];
if (STREAM_ORDER.length !== FEATURE_WIDTH || STREAM_ORDER.some((name, i) => FEATURE_NAMES[i] !== name)) {
  throw new Error('engine.ts: StreamEngine row positions do not match FEATURE_NAMES (fix STREAM_ORDER and the out[k] writes together)');
}
