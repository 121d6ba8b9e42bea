import { createHash } from 'node:crypto';

/**
 * The FeatureRecipe's identity: ordered names, every parameter, and the implementation
 * version. A model records `RECIPE.hash`; a consumer refuses a model whose hash differs
 * from the recipe it computes, so any change to a definition must bump `version`.
 */

/** Feature names in frame order (the order of /work/shared/design/FEATURES.md's table). */
export const FEATURE_NAMES = [
  // momentum
  'ret_1',
  'ret_3',
  'ret_5',
  'zscore_ret_1',
  'zscore_ret_3',
  'zscore_ret_5',
  'momentum_slope',
  // trend
  'trend_strength',
  'ema_5',
  'ema_8',
  'ema_21',
  'ema_34',
  'ema_diff_5_21',
  'ema_diff_8_34',
  'adx',
  'htf',
  // volatility
  'realized_sigma_30',
  'realized_sigma_60',
  'atr',
  'vol_regime',
  'kurt',
  // range
  'compression',
  'nr7_dens',
  'compress_rank',
  'mean_rev',
  'pullback',
  // breakout
  'ignition_score',
  'breakout_thrust',
  'breakout_qual',
  // oscillators
  'rsi_7',
  'rsi_14',
  'bb_upper',
  'bb_lower',
  'bb_width',
  // micro
  'micro',
  'uptick',
  'spread',
  'orderbook_imbalance',
  // volume
  'vol_jump',
  'volume_ma_ratio',
  'volume_trend',
  // cross-asset
  'leader',
  'rs',
  'btc_beta',
  'btc_divergence',
  'cross_momentum',
  // temporal
  'tod_fraction',
  'tod_sin',
  'tod_cos',
  'dow',
  'dow_sin',
  'dow_cos',
  // liquidity
  'liquidity_score',
  'spread_bps',
  'volume_score',
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];

/** Every window length and constant the recipe uses; the engine reads them from here. */
export const RECIPE_PARAMS = {
  /** ret_n lags. */
  returnLags: [1, 3, 5],
  zscoreWindow: 60,
  momentumSlopeLag: 5,
  emaSpans: [5, 8, 21, 34],
  trendEmaSpan: 20,
  trendScale: 100,
  wilderPeriod: 14,
  rsiPeriods: [7, 14],
  htfWindow: 240,
  htfClip: [0.8, 1.2],
  sigmaWindows: [30, 60],
  volRegimeWindows: [10, 50],
  kurtWindow: 60,
  rangeWindow: 20,
  nr7Window: 7,
  nr7DensityWindow: 20,
  compressRankWindow: 100,
  bollingerWindow: 20,
  bollingerK: 2,
  meanRevClip: 3,
  pullbackWindow: 20,
  breakoutWindow: 20,
  breakoutVolumeWindow: 20,
  breakoutSumWindow: 5,
  thrustCap: 0.01,
  microWindow: 10,
  uptickWindow: 20,
  spreadEstimator: 'abdi-ranaldo-chl',
  spreadWindow: 20,
  volJumpWindow: 20,
  volumeMaWindow: 60,
  volumeTrendFastWindow: 10,
  leaderWindow: 20,
  leaderClip: 0.1,
  rsWindows: [10, 20],
  rsWeights: [0.6, 0.4],
  rsScale: 10,
  betaWindow: 60,
  divergenceWindows: [5, 20],
  divergenceClip: 0.2,
  crossMomentumLag: 10,
  /** Temporal features use the candle's close time (open ts + 1 minute); Monday = 0. */
  temporalClock: 'close-time-utc',
  liquidityWindow: 1440,
  volumeScoreSumWindow: 60,
  volumeScoreWindow: 10080,
  /** Directional-movement ties: |up − down| ≤ this × price counts as equal. */
  priceTieTolerance: 1e-10,
  /** Ranges are compared (nr7_dens, compress_rank) after rounding to this resolution. */
  rangeKeyResolution: 1e-12,
  /** Long windows (liquidity, volume_score) skip gap rows and need this fraction valid. */
  longWindowMinValidFraction: 0.5,
  /** EMA / Wilder features stay NaN until the seed's weight (1 − α)^k is below this. */
  seedWeightTolerance: 1e-10,
  /** Cross-asset reference: BTC/USDT for every coin, ETH/USDT for BTC itself. */
  reference: { default: 'BTC/USDT', forBtc: 'ETH/USDT' },
} as const;

/** Bumped whenever a definition, parameter or numerical method changes. */
export const RECIPE_VERSION = '1.0.0';
/** The implementation that computes the recipe (hashed with it). */
export const IMPLEMENTATION_VERSION = 'engine-features-ts/1';

/** Rows k after an EMA's seed at which the seed weight (1 − α)^k drops below the tolerance. */
export function seedWarmup(alpha: number): number {
  return Math.ceil(Math.log(RECIPE_PARAMS.seedWeightTolerance) / Math.log(1 - alpha));
}

const P = RECIPE_PARAMS;
const emaAlpha = (span: number): number => 2 / (span + 1);
const W_WILDER = seedWarmup(1 / P.wilderPeriod);

/**
 * Per-feature warm-up: the number of leading rows that are NaN on a gap-free series (the
 * first defined row's index). EMA / Wilder features add the seed warm-up.
 */
export const FEATURE_WARMUP: Readonly<Record<FeatureName, number>> = {
  ret_1: 1,
  ret_3: 3,
  ret_5: 5,
  zscore_ret_1: 1 + P.zscoreWindow - 1,
  zscore_ret_3: 3 + P.zscoreWindow - 1,
  zscore_ret_5: 5 + P.zscoreWindow - 1,
  momentum_slope: 5 + P.momentumSlopeLag,
  trend_strength: seedWarmup(emaAlpha(P.trendEmaSpan)) + 1,
  ema_5: seedWarmup(emaAlpha(5)),
  ema_8: seedWarmup(emaAlpha(8)),
  ema_21: seedWarmup(emaAlpha(21)),
  ema_34: seedWarmup(emaAlpha(34)),
  ema_diff_5_21: seedWarmup(emaAlpha(21)),
  ema_diff_8_34: seedWarmup(emaAlpha(34)),
  // DX starts at row 1 (it needs the previous bar); ADX smooths twice.
  adx: 1 + 2 * W_WILDER,
  htf: P.htfWindow - 1,
  realized_sigma_30: 30,
  realized_sigma_60: 60,
  atr: 1 + W_WILDER,
  vol_regime: 50,
  kurt: P.kurtWindow,
  compression: P.rangeWindow - 1,
  nr7_dens: P.nr7Window - 1 + P.nr7DensityWindow - 1,
  compress_rank: P.compressRankWindow - 1,
  mean_rev: P.bollingerWindow - 1,
  pullback: P.pullbackWindow - 1,
  ignition_score: Math.max(P.breakoutWindow, 1 + W_WILDER),
  breakout_thrust: P.breakoutWindow,
  breakout_qual: P.breakoutWindow,
  rsi_7: 1 + seedWarmup(1 / 7),
  rsi_14: 1 + seedWarmup(1 / 14),
  bb_upper: P.bollingerWindow - 1,
  bb_lower: P.bollingerWindow - 1,
  bb_width: P.bollingerWindow - 1,
  micro: P.microWindow,
  uptick: P.uptickWindow,
  spread: P.spreadWindow,
  orderbook_imbalance: 0,
  vol_jump: P.volJumpWindow - 1,
  volume_ma_ratio: P.volumeMaWindow - 1,
  volume_trend: P.volumeMaWindow - 1,
  leader: P.leaderWindow,
  rs: 20,
  btc_beta: P.betaWindow,
  btc_divergence: 20,
  cross_momentum: P.crossMomentumLag,
  tod_fraction: 0,
  tod_sin: 0,
  tod_cos: 0,
  dow: 0,
  dow_sin: 0,
  dow_cos: 0,
  liquidity_score: P.liquidityWindow - 1,
  spread_bps: 0,
  volume_score: P.volumeScoreSumWindow - 1 + P.volumeScoreWindow - 1,
};

/** Features that use the cross-asset reference series (NaN without one). */
export const CROSS_ASSET_FEATURES: readonly FeatureName[] = ['leader', 'rs', 'btc_beta', 'btc_divergence', 'cross_momentum'];

/** Features defined on every row, gap rows included (they depend on the timestamp only). */
export const TEMPORAL_FEATURES: readonly FeatureName[] = ['tod_fraction', 'tod_sin', 'tod_cos', 'dow', 'dow_sin', 'dow_cos'];

/**
 * Features whose value is not invariant to the price scale (documented as absolute):
 * liquidity_score is log10 of a quote-currency amount, so prices × s shift it by log10(s).
 */
export const ABSOLUTE_FEATURES: readonly FeatureName[] = ['liquidity_score'];

/** Features that need order-book input; NaN without it. */
export const ORDER_BOOK_FEATURES: readonly FeatureName[] = ['orderbook_imbalance'];

/** Rows before every feature is defined (the largest per-feature warm-up). */
export const RECIPE_WARMUP: number = Math.max(...FEATURE_NAMES.map((n) => FEATURE_WARMUP[n]));

/** SHA-256 (hex) over the names in order, the parameters and the implementation version. */
export function computeRecipeHash(names: readonly string[], params: unknown, version: string, implementation: string): string {
  const canonical = JSON.stringify({ version, implementation, names, params: sortKeys(params) });
  return createHash('sha256').update(canonical).digest('hex');
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** What a manifest records about the recipe (`feature_recipe`). */
export interface FeatureRecipe {
  readonly version: string;
  readonly implementation: string;
  /** SHA-256 hex over names, order, params and implementation. */
  readonly hash: string;
  readonly names: readonly FeatureName[];
  readonly warmup: number;
  readonly featureWarmup: Readonly<Record<FeatureName, number>>;
  readonly params: typeof RECIPE_PARAMS;
}

/** The recipe this package computes. */
export const RECIPE: FeatureRecipe = Object.freeze({
  version: RECIPE_VERSION,
  implementation: IMPLEMENTATION_VERSION,
  hash: computeRecipeHash(FEATURE_NAMES, RECIPE_PARAMS, RECIPE_VERSION, IMPLEMENTATION_VERSION),
  names: FEATURE_NAMES,
  warmup: RECIPE_WARMUP,
  featureWarmup: FEATURE_WARMUP,
  params: RECIPE_PARAMS,
});

/** `RECIPE.hash`, for manifests and the consumer's compatibility check. */
export const recipeHash: string = RECIPE.hash;

/** The reference series a symbol's cross-asset features use: BTC/USDT, or ETH/USDT for BTC. */
export function referenceSymbolFor(symbol: string): string {
  const s = symbol.toUpperCase().replace(/[-_]/g, '/');
  const base = s.includes('/') ? s.split('/')[0] : s.replace(/USDT$|USDC$|USD$/, '');
  return base === 'BTC' ? RECIPE_PARAMS.reference.forBtc : RECIPE_PARAMS.reference.default;
}
