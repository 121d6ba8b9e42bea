import { BUNDLE_FILES, withFalseDiscovery, type ManifestCore, type Verdict } from '@engine/model';
import type { Config, Logger } from '@engine/shared';
import type { ArtifactStore, ModelRecord, Registry, TrialLedger } from '@engine/registry';
import { adjustPValues } from '@engine/training';

/** One held model's outcome of its run's decision. */
export interface RunDecision {
  modelId: string;
  symbol: string;
  runDate: string;
  /** Did it pass its own gates (and so take part in the adjustment)? */
  candidate: boolean;
  /** 1 − PSR(0) of its daily out-of-sample net P&L; null for a non-candidate. */
  p: number | null;
  pAdjusted: number | null;
  /** The verdict after the decision. */
  verdict: Verdict;
  /** False when another process released it first (the decision is the same). */
  released: boolean;
  manifest: ManifestCore;
}

/**
 * A run's false-discovery control (issue: every trial counted). Every model a run recorded
 * is held until all its symbols are evaluated; then the candidates — held models that
 * passed their own gates — are adjusted together (p = 1 − PSR(0) of each one's trial;
 * Benjamini–Yekutieli at q = 0.05 by default) and only those with adjusted p ≤ q publish.
 * Each candidate's staged manifest gains the `false_discovery` block and gate, then every
 * held model of the day is released to the registry (`releaseHeld`) and handed to
 * `publish`. A symbol whose training failed has no held model and never blocks the others.
 *
 * Deterministic and idempotent: a retry after a crash recomputes the same decision from
 * the same held models and trials, rewrites the same manifests and releases what is left.
 */
export async function decideRun(
  runDate: string,
  ctx: { registry: Registry; store: ArtifactStore; trials: TrialLedger },
  opts: { settings: Config['falseDiscovery']; actor: string; decidedBy: string; log: Logger; publish?: (ref: { modelId: string; symbol: string; runDate: string }) => Promise<void> },
): Promise<RunDecision[]> {
  const held = await ctx.registry.heldModels(runDate);
  if (held.length === 0) return [];
  const candidates = held.filter((m) => m.verdict === 'published');
  const p = await Promise.all(candidates.map((m) => pValueOf(m, ctx.trials, opts.log)));
  const adjusted = adjustPValues(p, opts.settings.method);
  const byId = new Map(candidates.map((m, i) => [m.id, { p: p[i]!, pAdjusted: adjusted[i]! }]));
  const decisions: RunDecision[] = [];
  for (const m of held) {
    const bundle = await ctx.store.get(m.location);
    let manifest: ManifestCore = bundle.manifest;
    const c = byId.get(m.id);
    if (c !== undefined) {
      manifest = withFalseDiscovery(bundle.manifest, {
        method: opts.settings.method,
        q: opts.settings.q,
        candidates: candidates.length,
        p: c.p,
        p_adjusted: c.pAdjusted,
        survived: c.pAdjusted <= opts.settings.q,
        decided_by: opts.decidedBy,
      });
      await ctx.store.put(m.location, { manifest, files: bundle.files.filter((f) => f.name !== BUNDLE_FILES.manifest) });
    }
    const { released, model } = await ctx.registry.releaseHeld(m.id, manifest, { actor: opts.actor });
    decisions.push({ modelId: m.id, symbol: m.symbol, runDate, candidate: c !== undefined, p: c?.p ?? null, pAdjusted: c?.pAdjusted ?? null, verdict: model.verdict, released, manifest });
    opts.log.info({ modelId: m.id, symbol: m.symbol, candidate: c !== undefined, p: c?.p, pAdjusted: c?.pAdjusted, verdict: model.verdict, released }, 'run decision');
  }
  if (opts.publish !== undefined) for (const d of decisions) await opts.publish({ modelId: d.modelId, symbol: d.symbol, runDate });
  return decisions;
}

/** p = 1 − PSR(0) of the model's trial; a model without its trial (it cannot happen: the trial is written first) counts as p = 1. */
async function pValueOf(m: ModelRecord, trials: TrialLedger, log: Logger): Promise<number> {
  const own = (await trials.list(m.symbol, { from: m.runDate, to: m.runDate, includeControls: true })).find((t) => t.modelId === m.id);
  if (own === undefined) {
    log.warn({ modelId: m.id, symbol: m.symbol }, 'no trial recorded for this model: taken as p = 1 (it cannot publish)');
    return 1;
  }
  return Math.min(1, Math.max(0, 1 - own.psr0));
}
