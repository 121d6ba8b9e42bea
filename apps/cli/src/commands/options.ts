import { readFileSync } from 'node:fs';
import { ConfigError } from '@engine/shared';
import { parseTrainConfigOverrides, resolveTrainConfig, type TrainConfigOverrides } from '@engine/training';

/** A commander parser for a whole number ≥ 1; a ConfigError naming the option otherwise. */
export function positiveInt(what: string): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${what} must be a whole number ≥ 1, got '${v}'`);
    return n;
  };
}

/** The help text of `--training`, the same on every command that trains. */
export const TRAINING_OPTION_HELP =
  'overrides of the training defaults, JSON or @file.json, e.g. \'{"model":{"nEstimators":50},"labels":{"horizon_minutes":60}}\'; checked before anything is loaded or queued, recorded in every manifest';

/**
 * `--training <json|@file>`: training overrides, checked against the training
 * configuration's schema and resolved once, so a typo or a bad value fails now (exit 2,
 * naming the key) instead of as a job later.
 */
export function parseTrainingOption(v: string | undefined, extra: TrainConfigOverrides = {}): TrainConfigOverrides {
  let parsed: unknown = {};
  if (v !== undefined) {
    let text = v;
    if (v.startsWith('@')) {
      try {
        text = readFileSync(v.slice(1), 'utf8');
      } catch (err) {
        throw new ConfigError(`--training ${v}: cannot read the file: ${(err as Error).message}`);
      }
    }
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`--training must be a JSON object (or @file.json) of training overrides, e.g. '{"model":{"nEstimators":50}}': ${(err as Error).message}`);
    }
  }
  const overrides = parseTrainConfigOverrides(parsed, '--training');
  const merged: TrainConfigOverrides = { ...overrides, ...(extra.model ? { model: { ...overrides.model, ...extra.model } } : {}) };
  resolveTrainConfig(merged);
  return merged;
}
