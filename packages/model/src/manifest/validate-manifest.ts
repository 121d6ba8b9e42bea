import { manifestSchema, type ModelManifest } from './manifest';

export type ManifestCheck = { ok: true; manifest: ModelManifest } | { ok: false; problems: string[] };

/**
 * Check a parsed `manifest.json` against the one manifest schema. Problems come as
 * `path: message` (e.g. `trading_params.cooldown_seconds: Too small: expected number to be >=0`),
 * at most `limit` of them, so a reader can say exactly what is wrong and where.
 */
export function validateManifest(value: unknown, limit = 20): ManifestCheck {
  const r = manifestSchema.safeParse(value);
  if (r.success) return { ok: true, manifest: r.data };
  const problems = r.error.issues.slice(0, limit).map((i) => `${i.path.length > 0 ? i.path.join('.') : '(manifest)'}: ${i.message}`);
  if (r.error.issues.length > limit) problems.push(`… and ${r.error.issues.length - limit} more`);
  return { ok: false, problems };
}
