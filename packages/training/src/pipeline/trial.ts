import { createHash } from 'node:crypto';
import { formatUtcDay } from '@engine/shared';
import { probabilisticSharpeRatio, sharpeMoments } from '../metrics/deflated-sharpe';
import type { ModelFamily, TrainConfig } from './config';

export type { ModelFamily } from './config';

/**
 * What the trial ledger records of one evaluated configuration (registry TrialRecord's
 * shape, less what the caller adds: model id and source).
 */
export interface TrialSummary {
  symbol: string;
  runDate: string;
  configHash: string;
  modelFamily: ModelFamily;
  seed: number | null;
  /** A negative control (permuted target) or a research run with extra feature columns: recorded, never counted. */
  isControl: boolean;
  oosDays: number;
  sharpe: number | null;
  skew: number;
  kurtosis: number;
  psr0: number;
  firstDay: string | null;
  dailyPnl: number[];
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A configuration's identity in the ledger: SHA-256 of the resolved training configuration
 * (every setting that shapes the out-of-sample P&L, so two spellings of the same overrides
 * are one trial), the feature recipe's hash, the cost model's version and the model family.
 * The gates, the stress scenarios and the golden-row count judge or describe a strategy
 * without changing its P&L: they are left out, so tightening a gate is not a new trial.
 */
export function trialConfigHash(cfg: TrainConfig, recipeHash: string, family: ModelFamily): string {
  const { gates: _gates, scenarios: _scenarios, golden_rows: _golden, ...strategy } = cfg;
  return createHash('sha256').update(canonicalJson({ config: strategy, recipe_hash: recipeHash, cost_model_version: cfg.costs.version, model_family: family })).digest('hex');
}

/** The seed of a trial's random choices: the GBDT's (gbdt, ensemble), the forest's (rf), the agents' (ppo); none for the linear family (deterministic). */
export function trialSeed(cfg: TrainConfig): number | null {
  switch (cfg.family.name) {
    case 'gbdt':
    case 'ensemble':
      return cfg.model.seed;
    case 'rf':
      return cfg.family.rf.seed;
    case 'linear':
      return null;
    case 'ppo':
      return cfg.family.ppo.seed;
  }
}

/** The trial of a finished evaluation: the daily net P&L of its out-of-sample days and its moments. */
export function trialSummary(a: { symbol: string; runDate: string; cfg: TrainConfig; recipeHash: string; extraFeatures: number; oosDays: readonly number[]; daily: ArrayLike<number> }): TrialSummary {
  const family: ModelFamily = a.cfg.family.name;
  const m = sharpeMoments(a.daily);
  const sharpe = Number.isFinite(m.sharpe) ? m.sharpe : null;
  return {
    symbol: a.symbol,
    runDate: a.runDate,
    configHash: trialConfigHash(a.cfg, a.recipeHash, family),
    modelFamily: family,
    seed: trialSeed(a.cfg),
    isControl: a.cfg.controls.permute_target_seed !== null || a.extraFeatures > 0,
    oosDays: a.oosDays.length,
    sharpe,
    skew: m.skew,
    kurtosis: m.kurtosis,
    psr0: sharpe === null ? 0 : probabilisticSharpeRatio(sharpe, 0, m.n, m.skew, m.kurtosis),
    firstDay: a.oosDays.length > 0 ? formatUtcDay(a.oosDays[0]!) : null,
    dailyPnl: Array.from(a.daily),
  };
}
