import { BUNDLE_FILES, type Verdict } from './bundle';
import { symbolSlug } from './bundle-io';

/** Default publish root, as the original engine. */
export const DEFAULT_PUBLISH_ROOT = '/Runpodhuracan';

/**
 * The one publish layout (SPEC §1.9 — the old engine had five): under the root
 * (`DROPBOX_ROOT`, default `/Runpodhuracan`)
 *
 *   YYYY-MM-DD/models/BASE-QUOTE_model.onnx       the ONNX model           (published only)
 *   YYYY-MM-DD/models/BASE-QUOTE_metadata.json    manifest.json, verbatim
 *   YYYY-MM-DD/models/BASE-QUOTE/<file>           every other bundle file  (model.json, golden.json, …)
 *   YYYY-MM-DD/rejected/BASE-QUOTE/<file>         a rejected model's whole bundle, under its bundle names
 *   latest/BASE-QUOTE.json                        the symbol's live model (LatestPointer), written last
 *
 * `models/` only ever holds published models, so a reader listing a day's folder sees
 * only what passed the gates. Rejected bundles are kept (SPEC: "kept and logged") in
 * `rejected/`, which nothing live reads; `latest/` never names them.
 */
export function bundlePath(root: string, symbol: string, runDate: string, fileName: string, verdict: Verdict): string {
  const slug = symbolSlug(symbol);
  if (verdict === 'rejected') return `${root}/${runDate}/rejected/${slug}/${fileName}`;
  if (fileName === BUNDLE_FILES.onnx) return `${root}/${runDate}/models/${slug}_model.onnx`;
  if (fileName === BUNDLE_FILES.manifest) return `${root}/${runDate}/models/${slug}_metadata.json`;
  return `${root}/${runDate}/models/${slug}/${fileName}`;
}

/** The per-symbol pointer `latest/BASE-QUOTE.json`. */
export function pointerPath(root: string, symbol: string): string {
  return `${root}/latest/${symbolSlug(symbol)}.json`;
}
