import { createHash } from 'node:crypto';
import { DataError, pairSlug, parsePair } from '@engine/shared';
import { BUNDLE_FILES, type BundleFile, type ModelBundle } from './bundle';
import type { ManifestCore } from './manifest/manifest';

/** SHA-256 hex of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The bytes of a bundle's JSON files (manifest.json, golden.json, folds.json, …): 2-space
 * JSON with a final newline, NaN and ±Infinity written as null.
 */
export function toJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
}

/** `manifest.json`'s bytes. */
export function serializeManifest(manifest: ManifestCore): Uint8Array {
  return toJsonBytes(manifest);
}

/**
 * Every file of the bundle as stored and published, `manifest.json` included. When the
 * trainer already put a `manifest.json` among the files its bytes are kept as they are;
 * otherwise the manifest is serialised with `serializeManifest`.
 */
export function bundleFiles(bundle: ModelBundle): BundleFile[] {
  const files = bundle.files.filter((f) => f.name !== BUNDLE_FILES.manifest);
  const given = bundle.files.find((f) => f.name === BUNDLE_FILES.manifest);
  files.push({ name: BUNDLE_FILES.manifest, bytes: given?.bytes ?? serializeManifest(bundle.manifest) });
  return files;
}

const FILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function where(manifest: ManifestCore, context: string): string {
  return `model ${manifest.model_id} (${manifest.symbol} ${manifest.run_date}) ${context}`;
}

/**
 * Check a bundle before it is stored or published: a valid pair and run date, the ONNX
 * model present, file names plain, and every file's SHA-256 equal to the manifest's
 * `artifacts` entry, with no file missing from either side. Throws DataError
 * `BUNDLE_CORRUPT` naming the model, the file and both hashes.
 */
export function verifyBundle(bundle: ModelBundle, context: string): void {
  const m = bundle.manifest;
  const at = where(m, context);
  if (typeof m.model_id !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(m.model_id)) {
    throw new DataError('BUNDLE_INVALID', `${at}: model_id must be a uuid, found ${JSON.stringify(m.model_id)}`, { modelId: m.model_id });
  }
  if (parsePair(m.symbol).symbol !== m.symbol) {
    throw new DataError('BUNDLE_INVALID', `${at}: symbol must be an upper-case BASE/QUOTE pair, found '${m.symbol}'`, { symbol: m.symbol });
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(m.run_date)) {
    throw new DataError('BUNDLE_INVALID', `${at}: run_date must be YYYY-MM-DD, found '${m.run_date}'`, { runDate: m.run_date });
  }
  const seen = new Set<string>();
  for (const f of bundle.files) {
    if (!FILE_NAME_RE.test(f.name)) {
      throw new DataError('BUNDLE_INVALID', `${at}: file name '${f.name}' is not a plain name ([A-Za-z0-9._-], no folders)`, { file: f.name });
    }
    if (seen.has(f.name)) throw new DataError('BUNDLE_INVALID', `${at}: file '${f.name}' appears twice`, { file: f.name });
    seen.add(f.name);
    if (f.name === BUNDLE_FILES.manifest) continue;
    const expected = m.artifacts[f.name];
    if (expected === undefined) {
      throw new DataError('BUNDLE_CORRUPT', `${at}: file '${f.name}' has no SHA-256 in manifest.artifacts (listed: ${Object.keys(m.artifacts).join(', ') || 'none'})`, { file: f.name });
    }
    const actual = sha256Hex(f.bytes);
    if (actual !== expected) {
      throw new DataError('BUNDLE_CORRUPT', `${at}: file '${f.name}' SHA-256 is ${actual}, manifest says ${expected}`, { file: f.name, expected, actual });
    }
  }
  for (const name of Object.keys(m.artifacts)) {
    if (!seen.has(name)) throw new DataError('BUNDLE_CORRUPT', `${at}: manifest.artifacts lists '${name}' but the bundle has no such file`, { file: name });
  }
  if (!seen.has(BUNDLE_FILES.onnx)) {
    throw new DataError('BUNDLE_INVALID', `${at}: the bundle has no ${BUNDLE_FILES.onnx}`, { files: [...seen] });
  }
}

/** `BTC-USDT` for a manifest's symbol. */
export function symbolSlug(symbol: string): string {
  return pairSlug(parsePair(symbol));
}
