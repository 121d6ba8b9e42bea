import { ConfigError } from '@engine/shared';
import { type CostModel, DEFAULT_COST_MODEL, costModelProblems, DEFAULT_LABEL_CONFIG, type LabelConfig, DEFAULT_TRADING_RULES, type TradingRules } from '@engine/model';
import { DEFAULT_GATES, type GateConfig } from '../gates/gates';
import { DEFAULT_GBDT_PARAMS, type GbdtParams } from '@engine/gbdt';
import { DEFAULT_SCENARIOS, type ScenarioConfig } from '../scenarios/scenarios';
import { DEFAULT_THRESHOLD, type ThresholdConfig } from '../threshold/select-threshold';
import { DEFAULT_WALK_FORWARD, type WalkForwardConfig } from '../walk-forward/folds';

/** Everything that decides what `trainSymbol` produces. Recorded in the manifest. */
export interface TrainConfig {
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
  /** Rows in golden.json (plus one all-missing row). Default 48. */
  golden_rows: number;
  /**
   * Negative controls, never for production: `permute_target_seed` trains every model on
   * the net edge randomly permuted across rows (the simulation still trades the true label
   * paths), which must give no edge.
   */
  controls: { permute_target_seed: number | null };
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  labels: DEFAULT_LABEL_CONFIG,
  costs: DEFAULT_COST_MODEL,
  walk_forward: DEFAULT_WALK_FORWARD,
  threshold: DEFAULT_THRESHOLD,
  trading: DEFAULT_TRADING_RULES,
  gates: DEFAULT_GATES,
  scenarios: DEFAULT_SCENARIOS,
  model: { ...DEFAULT_GBDT_PARAMS, objective: 'squared_error', nEstimators: 300, learningRate: 0.05, maxDepth: 6 },
  confidence_model: { ...DEFAULT_GBDT_PARAMS, objective: 'logistic', nEstimators: 100, learningRate: 0.05, maxDepth: 4 },
  golden_rows: 48,
  controls: { permute_target_seed: null },
};

/** Deep-partial overrides of {@link TrainConfig}. */
export type TrainConfigOverrides = { [K in keyof TrainConfig]?: TrainConfig[K] extends object ? DeepPartial<TrainConfig[K]> : TrainConfig[K] };
type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

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
  const cfg = merge(DEFAULT_TRAIN_CONFIG, overrides, '') as TrainConfig;
  const problems = costModelProblems(cfg.costs);
  if (problems.length > 0) throw new ConfigError(`invalid cost model: ${problems.join('; ')}`);
  if (cfg.model.objective === 'logistic') throw new ConfigError('the edge model must be a regressor (squared_error or huber), got objective logistic');
  if (cfg.confidence_model.objective !== 'logistic') throw new ConfigError(`the confidence model must use objective logistic, got ${cfg.confidence_model.objective}`);
  if (!Number.isInteger(cfg.golden_rows) || cfg.golden_rows < 1) throw new ConfigError(`golden_rows must be an integer ≥ 1, got ${cfg.golden_rows}`);
  return cfg;
}
