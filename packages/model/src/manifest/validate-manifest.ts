import { schemaProblems } from '../problems';
import { manifestSchema, type ModelManifest } from './manifest';

export type ManifestCheck = { ok: true; manifest: ModelManifest } | { ok: false; problems: string[] };

/**
 * Check a parsed `manifest.json` against the one manifest schema. Problems come as
 * `path: message` (e.g. `trading_params.cooldown_seconds: Too small: expected number to be >=0`),
 * at most `limit` of them, so a reader can say exactly what is wrong and where.
 */
export function validateManifest(value: unknown, limit = 20): ManifestCheck {
  const r = manifestSchema.safeParse(value);
  return r.success ? { ok: true, manifest: r.data } : { ok: false, problems: schemaProblems(r.error, '(manifest)', limit) };
}
