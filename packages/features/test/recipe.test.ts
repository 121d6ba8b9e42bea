import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  computeRecipeHash,
  FEATURE_NAMES,
  FEATURE_WARMUP,
  IMPLEMENTATION_VERSION,
  RECIPE,
  RECIPE_PARAMS,
  RECIPE_VERSION,
  recipeHash,
  referenceSymbolFor,
} from '../src';
import { REPO_ROOT } from '../../../test/support/paths';

/** Every name in FEATURES.md's table, in table order (zscore_ret_5 is the optional one). */
const SPEC_NAMES = [
  'ret_1', 'ret_3', 'ret_5', 'zscore_ret_1', 'zscore_ret_3', 'momentum_slope',
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

describe('RECIPE identity', () => {
  it('holds every name of the spec table, exactly spelled, in table order, plus zscore_ret_5', () => {
    expect(FEATURE_NAMES.filter((n) => n !== 'zscore_ret_5')).toEqual(SPEC_NAMES);
    expect(FEATURE_NAMES).toHaveLength(55);
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_NAMES.length);
    expect(RECIPE.names).toEqual(FEATURE_NAMES);
  });

  it('matches the names in the shared FEATURES.md table when the design folder is present', () => {
    const doc = path.resolve(REPO_ROOT, '..', 'shared', 'design', 'FEATURES.md');
    if (!existsSync(doc)) return;
    const names = new Set<string>();
    for (const line of readFileSync(doc, 'utf8').split('\n')) {
      const cells = line.split('|').map((c) => c.trim());
      if (cells.length < 4 || cells[1] === 'group' || cells[1].startsWith('---')) continue;
      for (const n of cells[2].replace(/\(.*?\)/g, '').split(',')) if (n.trim()) names.add(n.trim());
    }
    expect([...names].sort()).toEqual([...SPEC_NAMES].sort());
  });

  it('has a SHA-256 hash over names, order, params and implementation that changes when any of them changes', () => {
    expect(recipeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(RECIPE.hash).toBe(recipeHash);
    expect(computeRecipeHash(FEATURE_NAMES, RECIPE_PARAMS, RECIPE_VERSION, IMPLEMENTATION_VERSION)).toBe(recipeHash);
    const swapped = [...FEATURE_NAMES];
    [swapped[0], swapped[1]] = [swapped[1], swapped[0]];
    expect(computeRecipeHash(swapped, RECIPE_PARAMS, RECIPE_VERSION, IMPLEMENTATION_VERSION)).not.toBe(recipeHash);
    expect(computeRecipeHash(FEATURE_NAMES, { ...RECIPE_PARAMS, zscoreWindow: 61 }, RECIPE_VERSION, IMPLEMENTATION_VERSION)).not.toBe(recipeHash);
    expect(computeRecipeHash(FEATURE_NAMES, RECIPE_PARAMS, '9.9.9', IMPLEMENTATION_VERSION)).not.toBe(recipeHash);
    expect(computeRecipeHash(FEATURE_NAMES, RECIPE_PARAMS, RECIPE_VERSION, 'other-impl')).not.toBe(recipeHash);
    // Key order of the params object does not matter (canonical JSON).
    const reordered = Object.fromEntries(Object.entries(RECIPE_PARAMS).reverse());
    expect(computeRecipeHash(FEATURE_NAMES, reordered, RECIPE_VERSION, IMPLEMENTATION_VERSION)).toBe(recipeHash);
  });

  it('reports the warm-up as the longest per-feature warm-up (volume_score: 59 + 10 079 rows)', () => {
    expect(RECIPE.warmup).toBe(Math.max(...Object.values(FEATURE_WARMUP)));
    expect(RECIPE.warmup).toBe(10_138);
    expect(Object.keys(FEATURE_WARMUP).sort()).toEqual([...FEATURE_NAMES].sort());
  });

  it('uses BTC/USDT as the reference for every coin and ETH/USDT for BTC itself', () => {
    expect(referenceSymbolFor('ETH/USDT')).toBe('BTC/USDT');
    expect(referenceSymbolFor('SUIUSDT')).toBe('BTC/USDT');
    expect(referenceSymbolFor('BTC/USDT')).toBe('ETH/USDT');
    expect(referenceSymbolFor('btc-usdt')).toBe('ETH/USDT');
  });
});
