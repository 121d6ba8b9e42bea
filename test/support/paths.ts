import path from 'node:path';

/** Repository root (this file is test/support/paths.ts). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * The real Binance 1-minute candles shipped beside the checkout (never copied into the
 * repo). Override with ENGINE_OHLCV_DIR. Tests read it by path.
 */
export const OHLCV_DIR = process.env.ENGINE_OHLCV_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'data', 'ohlcv');

/** The GBDT reference harness (XGBoost / scikit-learn) beside the checkout. */
export const ANCHORS_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'anchors');

/** Debian's python with pandas, numpy, onnx, xgboost, sklearn (not pyenv's). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
