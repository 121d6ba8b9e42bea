import {
  AbdiRanaldoSpread,
  Bollinger,
  Breakout,
  Compression,
  CrossAsset,
  div,
  EmaGroup,
  Htf,
  Kurtosis,
  Liquidity,
  Nr7Density,
  PercentileRank,
  Pullback,
  rangeKey,
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
  out[0] = NaN;
  out.set(x.subarray(0, x.length - 1), 1);
  return out;
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
  let scratchCount = 0;
  const scratch: Float64Array[] = [];
  /** The column for a feature, or a scratch array when that output is not requested. */
  const col = (name: FeatureName): Float64Array => {
    const c = wanted.get(name);
    if (c) return c;
    if (scratch.length <= scratchCount) scratch.push(new Float64Array(n));
    return scratch[scratchCount++];
  };

  const { high: H, low: L, close: C, volume: V } = input;
  const PC = previous(C);
  const PH = previous(H);
  const PL = previous(L);
  const R = lagReturn(C, 1);
  const RANGE = new Float64Array(n);
  const RANGE_KEY = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    RANGE[i] = (H[i] - L[i]) / C[i];
    RANGE_KEY[i] = rangeKey(RANGE[i]);
  }
  const RET3 = lagReturn(C, 3);
  const RET5 = lagReturn(C, 5);
  const RC = input.refClose ?? new Float64Array(n).fill(NaN);

  type Job = () => void;
  const jobs: Job[] = [];
  const add = (when: boolean, job: Job): void => {
    if (when) jobs.push(job);
  };

  add(has('ret_1', 'ret_3', 'ret_5'), () => {
    col('ret_1').set(R);
    col('ret_3').set(RET3);
    col('ret_5').set(RET5);
  });
  for (const [name, x] of [
    ['zscore_ret_1', R],
    ['zscore_ret_3', RET3],
    ['zscore_ret_5', RET5],
  ] as const) {
    add(has(name), () => {
      const g = new ZScore(ZW, m0);
      const o = col(name);
      for (let i = 0; i < n; i++) {
        g.step(x[i]);
        o[i] = g.z;
      }
    });
  }
  add(has('momentum_slope'), () => {
    const o = col('momentum_slope');
    const lag = P.momentumSlopeLag;
    for (let i = 0; i < n; i++) o[i] = RET5[i] - (i >= lag ? RET5[i - lag] : NaN);
  });
  add(has('ema_5', 'ema_8', 'ema_21', 'ema_34', 'ema_diff_5_21', 'ema_diff_8_34'), () => {
    const g = new EmaGroup();
    const [a, b, c, d, e, f] = [col('ema_5'), col('ema_8'), col('ema_21'), col('ema_34'), col('ema_diff_5_21'), col('ema_diff_8_34')];
    for (let i = 0; i < n; i++) {
      g.step(C[i]);
      a[i] = g.ema5;
      b[i] = g.ema8;
      c[i] = g.ema21;
      d[i] = g.ema34;
      e[i] = g.diff521;
      f[i] = g.diff834;
    }
  });
  add(has('trend_strength'), () => {
    const g = new TrendStrength();
    const o = col('trend_strength');
    for (let i = 0; i < n; i++) {
      g.step(C[i]);
      o[i] = g.value;
    }
  });
  // ATR in price units feeds ignition_score.
  let ATR_ABS: Float64Array | null = null;
  const needAdx = has('adx');
  add(has('atr', 'adx', 'ignition_score'), () => {
    const g = new Wilder(needAdx);
    const atrAbs = new Float64Array(n);
    const atr = col('atr');
    const adx = col('adx');
    for (let i = 0; i < n; i++) {
      g.step(H[i], L[i], C[i], PH[i], PL[i], PC[i]);
      atrAbs[i] = g.atrAbs;
      atr[i] = g.atr;
      adx[i] = g.adx;
    }
    ATR_ABS = atrAbs;
  });
  add(has('htf'), () => {
    const g = new Htf(m0);
    const o = col('htf');
    for (let i = 0; i < n; i++) {
      g.step(C[i]);
      o[i] = g.value;
    }
  });
  for (const [name, w] of [
    ['realized_sigma_30', P.sigmaWindows[0]],
    ['realized_sigma_60', P.sigmaWindows[1]],
  ] as const) {
    add(has(name), () => {
      const g = new RollingStd(w, m0);
      const o = col(name);
      for (let i = 0; i < n; i++) {
        g.step(R[i]);
        o[i] = g.sd;
      }
    });
  }
  add(has('vol_regime'), () => {
    const g = new VolRegime(m0);
    const o = col('vol_regime');
    for (let i = 0; i < n; i++) {
      g.step(R[i]);
      o[i] = g.value;
    }
  });
  add(has('kurt'), () => {
    const g = new Kurtosis(m0);
    const o = col('kurt');
    for (let i = 0; i < n; i++) {
      g.step(R[i]);
      o[i] = g.value;
    }
  });
  add(has('compression'), () => {
    const g = new Compression(m0);
    const o = col('compression');
    for (let i = 0; i < n; i++) {
      g.step(RANGE[i]);
      o[i] = g.value;
    }
  });
  add(has('nr7_dens'), () => {
    const g = new Nr7Density(m0);
    const o = col('nr7_dens');
    for (let i = 0; i < n; i++) {
      g.step(RANGE_KEY[i]);
      o[i] = g.value;
    }
  });
  add(has('compress_rank'), () => {
    const g = new PercentileRank(P.compressRankWindow, P.compressRankWindow, true);
    const o = col('compress_rank');
    for (let i = 0; i < n; i++) {
      g.step(RANGE_KEY[i]);
      o[i] = g.value;
    }
  });
  add(has('mean_rev', 'bb_upper', 'bb_lower', 'bb_width'), () => {
    const g = new Bollinger(m0);
    const [a, b, c, d] = [col('mean_rev'), col('bb_upper'), col('bb_lower'), col('bb_width')];
    for (let i = 0; i < n; i++) {
      g.step(C[i]);
      a[i] = g.meanRev;
      b[i] = g.upper;
      c[i] = g.lower;
      d[i] = g.width;
    }
  });
  add(has('pullback'), () => {
    const g = new Pullback();
    const o = col('pullback');
    for (let i = 0; i < n; i++) {
      g.step(C[i]);
      o[i] = g.value;
    }
  });
  add(has('ignition_score', 'breakout_thrust', 'breakout_qual', 'vol_jump'), () => {
    const g = new Breakout(m0);
    const atr = ATR_ABS ?? new Float64Array(n).fill(NaN);
    const [a, b, c, d] = [col('ignition_score'), col('breakout_thrust'), col('breakout_qual'), col('vol_jump')];
    for (let i = 0; i < n; i++) {
      g.step(H[i], C[i], V[i], R[i], atr[i]);
      a[i] = g.ignition;
      b[i] = g.thrust;
      c[i] = g.qual;
      d[i] = g.volJump;
    }
  });
  for (const [name, period] of [
    ['rsi_7', P.rsiPeriods[0]],
    ['rsi_14', P.rsiPeriods[1]],
  ] as const) {
    add(has(name), () => {
      const g = new Rsi(period);
      const o = col(name);
      for (let i = 0; i < n; i++) {
        g.step(C[i], PC[i]);
        o[i] = g.value;
      }
    });
  }
  add(has('micro', 'volume_ma_ratio', 'volume_trend'), () => {
    const g = new VolumeFlow(m0);
    const [a, b, c] = [col('micro'), col('volume_ma_ratio'), col('volume_trend')];
    for (let i = 0; i < n; i++) {
      g.step(R[i], V[i]);
      a[i] = g.micro;
      b[i] = g.maRatio;
      c[i] = g.trend;
    }
  });
  add(has('uptick'), () => {
    const g = new Uptick(m0);
    const o = col('uptick');
    for (let i = 0; i < n; i++) {
      g.step(C[i], PC[i]);
      o[i] = g.value;
    }
  });
  add(has('spread'), () => {
    const g = new AbdiRanaldoSpread(m0);
    const o = col('spread');
    for (let i = 0; i < n; i++) {
      g.step(H[i], L[i], C[i], PC[i]);
      o[i] = g.value;
    }
  });
  add(has('orderbook_imbalance'), () => {
    const o = col('orderbook_imbalance');
    const { bid, ask } = input;
    for (let i = 0; i < n; i++) o[i] = bid && ask ? div(bid[i] - ask[i], bid[i] + ask[i]) : NaN;
  });
  add(has('leader', 'rs', 'btc_beta', 'btc_divergence', 'cross_momentum'), () => {
    const g = new CrossAsset(m0);
    const RET10 = lagReturn(C, 10);
    const RET20 = lagReturn(C, 20);
    const RR = lagReturn(RC, 1);
    const RRET5 = lagReturn(RC, 5);
    const RRET10 = lagReturn(RC, 10);
    const RRET20 = lagReturn(RC, 20);
    const [a, b, c, d, e] = [col('leader'), col('rs'), col('btc_beta'), col('btc_divergence'), col('cross_momentum')];
    for (let i = 0; i < n; i++) {
      g.step(R[i], RET5[i], RET10[i], RET20[i], RR[i], RRET5[i], RRET10[i], RRET20[i]);
      a[i] = g.leader;
      b[i] = g.rs;
      c[i] = g.btcBeta;
      d[i] = g.divergence;
      e[i] = g.momentum;
    }
  });
  add(has(...TEMPORAL_FEATURES), () => {
    const g = new Temporal();
    const [a, b, c, d, e, f] = [col('tod_fraction'), col('tod_sin'), col('tod_cos'), col('dow'), col('dow_sin'), col('dow_cos')];
    for (let i = 0; i < n; i++) {
      g.step(m0 + i);
      a[i] = g.todFraction;
      b[i] = g.todSin;
      c[i] = g.todCos;
      d[i] = g.dow;
      e[i] = g.dowSin;
      f[i] = g.dowCos;
    }
  });
  add(has('liquidity_score'), () => {
    const g = new Liquidity(m0);
    const o = col('liquidity_score');
    for (let i = 0; i < n; i++) {
      g.step(C[i], V[i]);
      o[i] = g.value;
    }
  });
  add(has('spread_bps'), () => {
    const o = col('spread_bps');
    for (let i = 0; i < n; i++) o[i] = 1e4 * RANGE[i];
  });
  add(has('volume_score'), () => {
    const g = new VolumeScore(m0);
    const o = col('volume_score');
    for (let i = 0; i < n; i++) {
      g.step(V[i]);
      o[i] = g.value;
    }
  });

  for (let j = 0; j < jobs.length; j++) {
    jobs[j]();
    scratchCount = 0;
    onGroup(j + 1, jobs.length + 1);
  }

  // The final rule (also in StreamEngine): gap rows NaN except temporal; non-finite → NaN.
  const gap = input.gap;
  names.forEach((name, k) => {
    const o = columns[k];
    if (TEMPORAL_SET.has(name)) {
      for (let i = 0; i < n; i++) if (!(o[i] - o[i] === 0)) o[i] = NaN;
    } else {
      for (let i = 0; i < n; i++) if (gap[i] === 1 || !(o[i] - o[i] === 0)) o[i] = NaN;
    }
  });
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
  private readonly cross: CrossAsset;
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
    this.cross = new CrossAsset(m0);
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
    const x = this.cross;
    x.step(r, ret5, c / closes.ago(10) - 1, c / closes.ago(20) - 1, rr, rc / refs.ago(5) - 1, rc / refs.ago(10) - 1, rc / refs.ago(20) - 1);
    out[41] = x.leader;
    out[42] = x.rs;
    out[43] = x.btcBeta;
    out[44] = x.divergence;
    out[45] = x.momentum;
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
