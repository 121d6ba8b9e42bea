import { readFileSync } from 'node:fs';
import { ConfigError } from '@engine/shared';
import { parseTrainConfigOverrides, resolveTrainConfig, type TrainConfigOverrides } from '@engine/training';

/** The largest value each whole-number option takes (a window of 1e9 days is a typo, not a request). */
const MAXIMA: Record<string, number> = { '--days': 3650, '--trees': 100_000, '--threads': 256, '--concurrency': 64, '--attempts': 20 };

/**
 * A commander parser for a whole number in [1, max]: decimal digits only (no `0x10`, `1e9`,
 * ` 5` or `5.0`); a ConfigError naming the option and the range otherwise.
 */
export function positiveInt(what: string, max = MAXIMA[what] ?? 1_000_000): (v: string) => number {
  return (v: string): number => {
    const n = /^[1-9][0-9]{0,8}$/.test(v) ? Number(v) : NaN;
    if (!(n >= 1 && n <= max)) throw new ConfigError(`${what} must be a whole number from 1 to ${max} (decimal digits), got '${v}'`);
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
