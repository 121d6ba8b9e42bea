import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '@engine/shared';
import { costModelProblems, costModelV2Schema, type CostModelV2 } from '@engine/model';

/**
 * Venue cost profiles (issue 16): named, versioned cost-v2 models kept in configuration
 * (`packages/training/cost-profiles.json`, the same folder depth from `src/` and `dist/`),
 * never in code. A training run names one with the `cost_profile` override; the manifest
 * records the resolved model with `profile: name@version`.
 */
export const COST_PROFILES_FILE = path.resolve(__dirname, '..', '..', 'cost-profiles.json');

const profileFileSchema = z.strictObject({
  $comment: z.string().optional(),
  profiles: z.record(
    z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    z.strictObject({ version: z.number().int().min(1), description: z.string(), costs: costModelV2Schema.omit({ version: true, profile: true }) }),
  ),
});

export interface CostProfile {
  name: string;
  version: number;
  description: string;
  costs: CostModelV2;
}

let cache: Map<string, CostProfile> | undefined;

/** Parse a profiles file (the shipped one by default); every profile's numbers are checked. */
export function readCostProfiles(file = COST_PROFILES_FILE): Map<string, CostProfile> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read the cost profiles ${file}: ${(e as Error).message}`, { file });
  }
  const r = profileFileSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(`invalid cost profiles ${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { file });
  const out = new Map<string, CostProfile>();
  for (const [name, p] of Object.entries(r.data.profiles)) {
    const costs: CostModelV2 = { version: 'cost-v2', profile: `${name}@${p.version}`, ...p.costs };
    const problems = costModelProblems(costs);
    if (problems.length > 0) throw new ConfigError(`cost profile '${name}' in ${file}: ${problems.join('; ')}`, { file, profile: name });
    out.set(name, { name, version: p.version, description: p.description, costs });
  }
  return out;
}

/** Every shipped profile, by name. */
export function costProfiles(): Map<string, CostProfile> {
  cache ??= readCostProfiles();
  return cache;
}

/** One shipped profile; an unknown name is refused, listing the known ones. */
export function costProfile(name: string): CostProfile {
  const p = costProfiles().get(name);
  if (!p) throw new ConfigError(`unknown cost profile '${name}' (known: ${[...costProfiles().keys()].join(', ')})`, { cost_profile: name });
  return p;
}
