import { z } from 'zod';
import { ConfigError } from '@engine/shared';
import {
  checkLabelConfig,
  type CostModel,
  costModelProblems,
  costModelSchema,
  DEFAULT_COST_MODEL,
  DEFAULT_LABEL_CONFIG,
  DEFAULT_SPIKE_RULE,
  DEFAULT_TRADING_RULES,
  labelConfigSchema,
  type LabelConfig,
  spikeRuleSchema,
  type SpikeRule,
  type TradingRules,
} from '@engine/model';
import { DEFAULT_GATES, type GateConfig } from '../gates/gates';
import { costProfile, costProfiles } from '../costs/profiles';
import { DEFAULT_GBDT_PARAMS, gbdtParamsSchema, type GbdtParams } from '@engine/gbdt';
import type { CombinerKind } from '@engine/ensemble';
import { checkAgentCosts } from '../ppo/trading-env';
import { DEFAULT_PPO_PARAMS, type PpoParams, ppoParamsSchema } from '@engine/ppo';
import { DEFAULT_SCENARIOS, type ScenarioConfig } from '../scenarios/scenarios';
import { DEFAULT_THRESHOLD, type ThresholdConfig } from '../threshold/select-threshold';
import { DEFAULT_WALK_FORWARD, type WalkForwardConfig } from '../walk-forward/folds';

/** Everything that decides what `trainSymbol` produces. Recorded in the manifest. */
export interface TrainConfig {
  /** The spike rule applied to the candles (and the reference) before features and labels (default: mask). */
  spikes: SpikeRule;
  labels: LabelConfig;
  costs: CostModel;
  walk_forward: WalkForwardConfig;
  threshold: ThresholdConfig;
  trading: Omit<TradingRules, 'threshold_bps'>;
  gates: GateConfig;
  scenarios: ScenarioConfig;
  /** The edge regressor (defaults: 300 trees, learning rate 0.05, depth 6). */
  model: GbdtParams;
  /** The confidence model: P(net edge > 0), logistic GBDT. */
  confidence_model: GbdtParams;
  /** Which model family trains the edge and confidence models, and the other families' settings. */
  family: FamilyConfig;
  /** Rows in golden.json (plus one all-missing row). Default 48. */
  golden_rows: number;
  /**
   * Negative controls, never for production: `permute_target_seed` trains every model on
   * the net edge randomly permuted across rows (the simulation still trades the true label
   * paths), which must give no edge.
   */
  controls: { permute_target_seed: number | null };
}

/**
 * The model families (issue 17): `gbdt` (the default: the edge GBDT + the logistic GBDT
 * confidence), `rf` (a random forest from the same trainer + the logistic GBDT
 * confidence), `linear` (ridge edge + L2-logistic confidence) and `ensemble` (members
 * combined on nested purged out-of-fold predictions, Platt confidence, one folded model);
 * and `ppo` (issue 20: a PPO trading agent that acts — buy, sell, hold — in the simulation itself).
 */
export type ModelFamily = 'gbdt' | 'rf' | 'linear' | 'ensemble' | 'ppo';
/** What an ensemble can combine. */
export type EnsembleMember = 'gbdt' | 'rf' | 'linear';
export const MODEL_FAMILIES: readonly ModelFamily[] = ['gbdt', 'rf', 'linear', 'ensemble', 'ppo'];

export interface FamilyConfig {
  /** The family trained. Default `gbdt`. */
  name: ModelFamily;
  /**
   * The random forest (also the ensemble's `rf` member): the GBDT trainer with
   * `boosting: 'rf'` (T trees fitted to the same residuals and averaged), per-node feature
   * sampling and row subsampling.
   */
  rf: GbdtParams;
  /**
   * Share of the training rows each forest tree draws. `null` (default): the labels' average
   * uniqueness, the mean over rows of the average of 1/(label windows overlapping each
   * minute of the row's own window) (López de Prado, AFML §4.4): with overlapping 60-minute
   * labels a tree then sees about as many rows as there are independent outcomes.
   */
  rf_row_fraction: number | null;
  /** Ridge (edge) and L2-logistic (confidence): penalties tried on `inner_folds` purged inner folds. */
  linear: { ridge_alphas: number[]; logistic_cs: number[]; inner_folds: number };
  /**
   * The ensemble: its members and how their scores combine (`equal`: standardised scores,
   * equal weights; `stacking`: non-negative weights summing to 1, fitted on out-of-fold scores).
   */
  ensemble: { members: EnsembleMember[]; combiner: CombinerKind };
  /**
   * The PPO agent (family `ppo`): one per fold and a final one, each `total_steps`
   * environment steps of the trading simulation; reward = realised net bps × `reward_scale`.
   * The first fold's agent trains `total_steps` from scratch; every later fold's and the
   * final agent start from it (its window precedes every test window) and train
   * `fine_tune_steps` more on their own window.
   * `seed` seeds every agent (each fold's derived from it): one seed is one trial.
   * `params`: the PPO hyperparameters (@engine/ppo's names).
   */
  ppo: { seed: number; total_steps: number; fine_tune_steps: number; reward_scale: number; params: PpoParams };
}

export const DEFAULT_FAMILY: FamilyConfig = {
  name: 'gbdt',
  rf: { ...DEFAULT_GBDT_PARAMS, boosting: 'rf', nEstimators: 100, learningRate: 1, lambdaL2: 0, maxDepth: 6, numLeaves: 64, minDataInLeaf: 20, featureFraction: 1, featureFractionByNode: 0.33, baggingFraction: 0.5 },
  rf_row_fraction: null,
  linear: { ridge_alphas: [1, 10, 100, 1000, 10000], logistic_cs: [0.0001, 0.001, 0.01, 0.1, 1], inner_folds: 3 },
  ensemble: { members: ['gbdt', 'rf', 'linear'], combiner: 'equal' },
  // The first agent 300,000 steps (about 10 passes over a 20-day window's bars), each later
  // one fine-tuned 100,000, with γ 0.9 (a trade lasts a few bars), Adam 1e-3, 2 epochs per
  // rollout of 8 × 256 steps: on the planted market every fold's agent learns the edge and
  // the model passes the gates, within issue 20's budget (≤ 10× the GBDT pipeline's time).
  // Measured on the 90-day planted market: 150k/75k failed max_drawdown (weaker folds).
  ppo: { seed: 1, total_steps: 300_000, fine_tune_steps: 100_000, reward_scale: 0.01, params: { ...DEFAULT_PPO_PARAMS, nEnvs: 8, nSteps: 256, batchSize: 256, nEpochs: 2, learningRate: 1e-3, gamma: 0.9, entCoef: 0.01, policyHiddenSizes: [64, 64], valueHiddenSizes: [64, 64] } },
};

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  spikes: DEFAULT_SPIKE_RULE,
  labels: DEFAULT_LABEL_CONFIG,
  costs: DEFAULT_COST_MODEL,
  walk_forward: DEFAULT_WALK_FORWARD,
  threshold: DEFAULT_THRESHOLD,
  trading: DEFAULT_TRADING_RULES,
  gates: DEFAULT_GATES,
  scenarios: DEFAULT_SCENARIOS,
  model: { ...DEFAULT_GBDT_PARAMS, objective: 'squared_error', nEstimators: 300, learningRate: 0.05, maxDepth: 6 },
  confidence_model: { ...DEFAULT_GBDT_PARAMS, objective: 'logistic', nEstimators: 100, learningRate: 0.05, maxDepth: 4 },
  family: DEFAULT_FAMILY,
  golden_rows: 48,
  controls: { permute_target_seed: null },
};

/**
 * Deep-partial overrides of {@link TrainConfig}, plus `cost_profile`: the name of a venue
 * cost profile (`cost-profiles.json`) that replaces the default cost model before any
 * `costs` overrides apply on top of it.
 */
export type TrainConfigOverrides = { [K in keyof TrainConfig]?: TrainConfig[K] extends object ? DeepPartial<TrainConfig[K]> : TrainConfig[K] } & { cost_profile?: string };
type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Type-level equality, to keep the schema below and the interfaces it validates in step. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const frac = z.number().min(0).max(1);
const positive = z.number().positive();
const count = z.number().int().min(0);

/**
 * The whole training configuration as one schema, built from the sections' own schemas
 * (labels and costs from @engine/model, the GBDT's from @engine/gbdt). Every rule of a
 * setting lives here or in those; `trainConfigOverridesSchema` derives the overrides.
 */
export const trainConfigSchema = z.strictObject({
  spikes: spikeRuleSchema,
  labels: labelConfigSchema,
  costs: costModelSchema,
  walk_forward: z.strictObject({
    train_days: positive,
    test_days: positive,
    step_days: positive,
    embargo_minutes: count.nullable(),
    min_train_coverage: frac,
    min_test_coverage: frac,
    anchor: z.enum(['calendar', 'window']).optional(),
  }),
  threshold: z.strictObject({ quantiles: z.array(frac).min(1), min_threshold_bps: z.number(), min_trades: count, calibration_days: positive, min_calibration_net_bps: z.number().nullable() }),
  trading: z.strictObject({ cooldown_seconds: z.number().min(0), max_trades_per_day: count }),
  gates: z.strictObject({
    min_sharpe: z.number(),
    min_profit_factor: z.number().min(0),
    max_drawdown_multiple: z.number().min(0),
    win_rate_tolerance: frac,
    min_trades: count,
    max_best_trade_share: z.number().min(0),
    max_best_day_share: z.number().min(0),
    min_deflated_sharpe: frac,
    history_size: z.number().int().min(1),
    min_history: count,
    implausible: z.strictObject({ max_win_rate: frac, max_profit_factor: z.number().min(0), min_trades: count }),
  }),
  scenarios: z.strictObject({ cost_multiplier: z.number().min(0), spread_multiplier: z.number().min(0), volatile_fraction: frac }),
  model: gbdtParamsSchema,
  confidence_model: gbdtParamsSchema,
  family: z.strictObject({
    name: z.enum(['gbdt', 'rf', 'linear', 'ensemble', 'ppo']),
    rf: gbdtParamsSchema,
    rf_row_fraction: z.number().gt(0).max(1).nullable(),
    linear: z.strictObject({ ridge_alphas: z.array(z.number().positive()).min(1), logistic_cs: z.array(z.number().positive()).min(1), inner_folds: z.number().int().min(2).max(20) }),
    ensemble: z.strictObject({ members: z.array(z.enum(['gbdt', 'rf', 'linear'])).min(1).max(8), combiner: z.enum(['equal', 'stacking']) }),
    ppo: z.strictObject({ seed: z.number().int().min(0).max(0xffffffff), total_steps: z.number().int().min(1), fine_tune_steps: z.number().int().min(1), reward_scale: z.number().gt(0), params: ppoParamsSchema }),
  }),
  golden_rows: z.number().int().min(1),
  controls: z.strictObject({ permute_target_seed: z.number().int().min(0).max(0xffffffff).nullable() }),
});
const configInStep: Equal<z.infer<typeof trainConfigSchema>, TrainConfig> = true;
void configInStep;

/** Every object of a schema made optional, all the way down; unions (barrier settings) and arrays are replaced whole. */
function deepPartial(schema: z.ZodType): z.ZodType {
  const inner = schema instanceof z.ZodPipe ? schema.in : schema;
  if (inner === costModelSchema) {
    // The cost model's versions: one object holding every version's keys (each optional);
    // the merged configuration is then checked against the version it claims.
    const shape: Record<string, z.ZodType> = {};
    const versions: string[] = [];
    for (const o of costModelSchema.options as readonly z.ZodObject[]) {
      for (const [k, v] of Object.entries(o.shape as Record<string, z.ZodType>)) {
        if (k === 'version') versions.push(String((v as z.ZodLiteral<string>).value));
        else shape[k] ??= deepPartial(v).optional();
      }
    }
    shape.version = z.enum(versions as [string, ...string[]]).optional();
    return z.strictObject(shape);
  }
  if (!(inner instanceof z.ZodObject)) return schema;
  const shape: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(inner.shape as Record<string, z.ZodType>)) shape[k] = deepPartial(v).optional();
  return z.strictObject(shape);
}

/**
 * Overrides of the training defaults, as a job payload or `--training` carries them: the
 * configuration's keys, any subset at any depth, each value checked by the setting's rule;
 * an unknown key is refused by name.
 */
export const trainConfigOverridesSchema = (deepPartial(trainConfigSchema) as z.ZodObject).extend({
  cost_profile: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a cost profile name such as binance-usdm-taker').optional(),
}) as unknown as z.ZodType<TrainConfigOverrides>;

/**
 * Check overrides against the schema; a ConfigError names every bad key and rule
 * (`model.nEstimators: Too small: expected number to be >=1`). Nothing is loaded or
 * queued before this passes.
 */
export function parseTrainConfigOverrides(value: unknown, what = 'training overrides'): TrainConfigOverrides {
  const r = trainConfigOverridesSchema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => {
    const at = i.path.join('.');
    if (i.code === 'unrecognized_keys') return `unknown training setting ${i.keys.map((k) => `'${at ? `${at}.` : ''}${k}'`).join(', ')}`;
    return `${at || '(overrides)'}: ${i.message}`;
  });
  throw new ConfigError(`invalid ${what}: ${problems.join('; ')}`, { problems });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function merge(base: unknown, over: unknown, path: string): unknown {
  if (over === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (!(k in base)) {
      throw new ConfigError(`unknown training setting '${path ? `${path}.` : ''}${k}' (known: ${Object.keys(base).join(', ')})`, { setting: `${path}.${k}` });
    }
    // Barrier settings switch shape with `mode`: they are replaced whole.
    out[k] = path === 'labels' && k === 'barriers' ? v : merge(base[k], v, path ? `${path}.${k}` : k);
  }
  return out;
}

/**
 * The defaults with `overrides` applied (deeply; arrays and barrier settings replace
 * whole). Unknown keys are refused, so a typo cannot silently fall back to a default.
 */
export function resolveTrainConfig(overrides: TrainConfigOverrides = {}): TrainConfig {
  parseTrainConfigOverrides(overrides);
  const { cost_profile: profileName, ...rest } = overrides;
  let base = DEFAULT_TRAIN_CONFIG;
  if (profileName !== undefined) {
    base = { ...DEFAULT_TRAIN_CONFIG, costs: costProfile(profileName).costs };
  } else if (rest.costs !== undefined) {
    const v2Only = Object.keys(rest.costs).filter((k) => !(k in DEFAULT_COST_MODEL));
    if (v2Only.length > 0) {
      throw new ConfigError(`cost settings ${v2Only.map((k) => `'costs.${k}'`).join(', ')} belong to cost-v2: name a cost_profile to start from (known: ${[...costProfiles().keys()].join(', ')})`, { settings: v2Only });
    }
  }
  // The merged object itself is the configuration (not a parsed copy): its key order feeds the model id.
  const cfg = merge(base, rest, '') as TrainConfig;
  // A profile whose numbers were changed is no longer that profile: the manifest says so.
  if (cfg.costs.version === 'cost-v2' && profileName !== undefined && rest.costs !== undefined && Object.keys(rest.costs).length > 0) {
    cfg.costs = { ...cfg.costs, profile: `${cfg.costs.profile ?? profileName} (modified)` };
  }
  const full = trainConfigSchema.safeParse(cfg);
  if (!full.success) throw new ConfigError(`invalid training configuration: ${full.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const problems = costModelProblems(cfg.costs);
  if (problems.length > 0) throw new ConfigError(`invalid cost model: ${problems.join('; ')}`);
  if (cfg.model.objective === 'logistic') throw new ConfigError('the edge model must be a regressor (squared_error or huber), got objective logistic');
  if (cfg.family.rf.boosting !== 'rf') throw new ConfigError(`family.rf must be a random forest (boosting rf), got boosting ${cfg.family.rf.boosting}`);
  if (new Set(cfg.family.ensemble.members).size !== cfg.family.ensemble.members.length) throw new ConfigError(`family.ensemble.members must not repeat a member: ${cfg.family.ensemble.members.join(', ')}`);
  if (cfg.family.name === 'ppo') {
    if (cfg.labels.side !== 'long') throw new ConfigError(`family ppo trades the long side only (buy, sell, hold); got labels.side ${cfg.labels.side}`);
    if (cfg.controls.permute_target_seed !== null) throw new ConfigError('controls.permute_target_seed permutes a regression target, which family ppo does not have: its negative control is a market without the signal');
    checkAgentCosts(cfg.costs);
  }
  if (cfg.confidence_model.objective !== 'logistic') throw new ConfigError(`the confidence model must use objective logistic, got ${cfg.confidence_model.objective}`);
  // Depends on the configuration alone: refused here, before candles or features are computed.
  checkLabelConfig(cfg.labels, cfg.costs, 'this configuration');
  return cfg;
}

/** The sections whose changes can make a model look better than it is: flagged wherever the model is shown. */
const GUARDED_SECTIONS = ['costs', 'gates', 'threshold', 'trading', 'spikes', 'controls'] as const;
const GUARDED_LABELS = ['allow_unwinnable', 'max_barrier_bps'] as const;

/**
 * Every guarded setting (costs, gates, threshold rules, trading rules, the spike rule,
 * controls, and the labels' unwinnable and barrier-cap safeguards) that differs from the
 * defaults, one line each: `gates.min_sharpe: -100 (default 0.7)`. A venue cost profile is
 * one line naming it. Empty when everything guarded is at its default.
 */
export function nonDefaultSettings(cfg: TrainConfig): string[] {
  const out: string[] = [];
  const show = (v: unknown) => JSON.stringify(v);
  const walk = (path: string, value: unknown, base: unknown) => {
    if (isPlainObject(value) && isPlainObject(base)) {
      for (const k of Object.keys(value)) walk(`${path}.${k}`, value[k], base[k]);
      return;
    }
    if (show(value) !== show(base)) out.push(`${path}: ${show(value)} (default ${show(base)})`);
  };
  for (const section of GUARDED_SECTIONS) {
    if (section === 'costs' && cfg.costs.version !== DEFAULT_TRAIN_CONFIG.costs.version) {
      out.push(`costs: ${cfg.costs.version === 'cost-v2' ? (cfg.costs.profile ?? 'cost-v2 (no profile)') : cfg.costs.version} (default ${DEFAULT_TRAIN_CONFIG.costs.version}, Binance spot taker)`);
      continue;
    }
    walk(section, cfg[section], DEFAULT_TRAIN_CONFIG[section]);
  }
  for (const k of GUARDED_LABELS) walk(`labels.${k}`, cfg.labels[k], DEFAULT_TRAIN_CONFIG.labels[k]);
  return out;
}
