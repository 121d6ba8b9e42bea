import type { z } from 'zod';

/** A bundle file's typed content, or why it cannot be had (missing, not JSON, wrong shape). */
export type BundleFileRead<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Parse one JSON file of a bundle with its schema. Never throws: a reader (the dashboard,
 * a tool) shows the reason instead, e.g. "equity.json: points.3.exit: Invalid ISO datetime".
 */
export function readBundleJson<S extends z.ZodType>(files: ReadonlyMap<string, Uint8Array>, name: string, schema: S): BundleFileRead<z.infer<S>> {
  const bytes = files.get(name);
  if (bytes === undefined) return { ok: false, reason: `the bundle has no ${name} (files: ${[...files.keys()].sort().join(', ') || 'none'})` };
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    return { ok: false, reason: `${name} is not valid JSON: ${(err as Error).message}` };
  }
  const r = schema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more problems)` : '';
    return { ok: false, reason: `${name}: ${i.path.length > 0 ? i.path.join('.') : '(file)'}: ${i.message}${more}` };
  }
  return { ok: true, value: r.data as z.infer<S> };
}
