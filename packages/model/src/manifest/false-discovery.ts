import { z } from 'zod';
import type { ManifestCore } from './manifest';

/**
 * The daily run's false-discovery control, as the manifest records it (issue: every trial
 * counted). A run publishes only after all its symbols are evaluated: the candidates that
 * passed their own gates are adjusted together (p = 1 − PSR(0) of each candidate's daily
 * out-of-sample net P&L), and only those with adjusted p ≤ q publish.
 */
export const falseDiscoverySchema = z
  .object({
    /** `bh` (Benjamini–Hochberg), `by` (Benjamini–Yekutieli, any dependence; the default) or `holm` (family-wise). */
    method: z.enum(['bh', 'by', 'holm']),
    q: z.number().gt(0).lt(1),
    /** Candidates adjusted together: the run's symbols that passed their own gates. */
    candidates: z.number().int().min(1),
    /** This candidate's p = 1 − PSR(0). */
    p: z.number().min(0).max(1),
    p_adjusted: z.number().min(0).max(1),
    survived: z.boolean(),
    /** Who decided: the run (`run-YYYY-MM-DD`) or `engine train` on one machine. */
    decided_by: z.string(),
  })
  .strict()
  .meta({ id: 'false_discovery' });
export type FalseDiscovery = z.infer<typeof falseDiscoverySchema>;

/** The gate the decision adds to the gate table. */
export const FALSE_DISCOVERY_GATE = 'false_discovery';

/**
 * The manifest with the run's decision: the block itself, a `false_discovery` gate
 * (adjusted p ≤ q) beside the model's own gates, and `gates.passed` / `gates.failed`
 * updated. Idempotent: a manifest that already has the gate gets it replaced.
 */
export function withFalseDiscovery<M extends ManifestCore>(manifest: M, d: FalseDiscovery): M {
  const others = manifest.gates.results.filter((g) => g.name !== FALSE_DISCOVERY_GATE);
  const gate = {
    name: FALSE_DISCOVERY_GATE,
    value: d.p_adjusted,
    bound: d.q,
    op: '<=' as const,
    passed: d.survived,
    note: `${d.method.toUpperCase()} over ${d.candidates} candidate(s) of ${d.decided_by}; p = 1 − PSR(0) = ${Number(d.p.toPrecision(4))}`,
  };
  const results = [...others, gate];
  const failed = results.filter((g) => !g.passed).map((g) => g.name);
  return { ...manifest, false_discovery: d, gates: { ...manifest.gates, results, passed: failed.length === 0, failed } };
}
