/**
 * @engine/features: the FeatureRecipe (see README.md and FEATURES.md), computed in batch
 * (`buildFeatures`) and streaming (`FeatureState`) by the same kernels. Pure: no I/O.
 */
export {
  ABSOLUTE_FEATURES,
  computeRecipeHash,
  CROSS_ASSET_FEATURES,
  FEATURE_NAMES,
  FEATURE_WARMUP,
  IMPLEMENTATION_VERSION,
  ORDER_BOOK_FEATURES,
  RECIPE,
  RECIPE_PARAMS,
  RECIPE_VERSION,
  RECIPE_WARMUP,
  recipeHash,
  referenceSymbolFor,
  seedWarmup,
  TEMPORAL_FEATURES,
} from './recipe';
export type { FeatureName, FeatureRecipe } from './recipe';
export { buildFeatures, selectNames } from './build-features';
export type { BuildFeaturesOptions, FeatureContext, FeatureFrame, OrderBookSeries } from './build-features';
export { FeatureState } from './feature-state';
export type { CandleInput, OrderBookInput } from './feature-state';
export { FEATURES_INPUT_INVALID } from './validate';
export { decodeFeatureFrame, encodeFeatureFrame } from './arrow';
export type { DecodedFeatureFrame } from './arrow';
