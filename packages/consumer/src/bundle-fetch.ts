import { serializeManifest, sha256Hex, type LatestPointer, BUNDLE_FILES, type ManifestCore, type ModelBundle } from '@engine/model';
import { ArtifactHashMismatchError, ManifestInvalidError, ModelNotFoundError } from './errors';
import { readSourceFile, type ModelSource } from './model-source';

/** A bundle's bytes as fetched, hash-verified, before its model is loaded. */
export interface FetchedBundle {
  symbol: string;
  manifest: ManifestCore;
  /** Every bundle file by bundle name, `manifest.json` included. */
  files: Map<string, Uint8Array>;
  /** The pointer it was resolved from; absent for a bundle opened in memory. */
  pointer?: LatestPointer;
  /** Where it came from, for messages: `folder:/x/Runpodhuracan/latest/BTC-USDT.json`. */
  origin: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

function parseJson(bytes: Uint8Array, what: string, details: Record<string, unknown>): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch (err) {
    throw new ManifestInvalidError(`${what} is not valid JSON (${bytes.length} bytes): ${(err as Error).message}`, details, err);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse and check `latest.json`: the fields the consumer relies on, for `symbol`. */
export function parsePointer(bytes: Uint8Array, symbol: string, where: string): LatestPointer {
  const details = { symbol, pointer: where };
  const p = parseJson(bytes, `latest pointer ${where}`, details);
  const problems: string[] = [];
  if (!isObject(p)) throw new ManifestInvalidError(`latest pointer ${where} for ${symbol} is not a JSON object`, details);
  if (p.schema !== 1) problems.push(`schema must be 1, found ${JSON.stringify(p.schema)}`);
  if (p.symbol !== symbol) problems.push(`symbol must be '${symbol}', found ${JSON.stringify(p.symbol)}`);
  if (typeof p.model_id !== 'string' || p.model_id === '') problems.push('model_id missing');
  if (!isObject(p.files)) problems.push('files must be an object of bundle file name → {path, sha256}');
  else {
    for (const [name, f] of Object.entries(p.files)) {
      if (!isObject(f) || typeof f.path !== 'string' || typeof f.sha256 !== 'string' || !HEX64.test(f.sha256)) {
        problems.push(`files['${name}'] must have a path and a 64-hex sha256`);
      }
    }
    for (const required of [BUNDLE_FILES.manifest, BUNDLE_FILES.onnx]) {
      if (!(required in p.files)) problems.push(`files has no '${required}'`);
    }
  }
  if (problems.length > 0) {
    throw new ManifestInvalidError(`latest pointer ${where} for ${symbol} is malformed: ${problems.join('; ')}`, { ...details, problems });
  }
  return p as unknown as LatestPointer;
}

/** Check the manifest fields the consumer relies on before anything else reads them. */
export function parseManifest(bytes: Uint8Array, symbol: string, where: string): ManifestCore {
  const details = { symbol, file: BUNDLE_FILES.manifest, origin: where };
  const m = parseJson(bytes, `${BUNDLE_FILES.manifest} of ${where}`, details);
  if (!isObject(m)) throw new ManifestInvalidError(`${BUNDLE_FILES.manifest} of ${where} is not a JSON object`, details);
  const problems: string[] = [];
  if (typeof m.model_id !== 'string') problems.push('model_id missing');
  if (m.symbol !== symbol) problems.push(`symbol must be '${symbol}', found ${JSON.stringify(m.symbol)}`);
  const r = m.feature_recipe;
  if (!isObject(r) || typeof r.hash !== 'string' || typeof r.version !== 'string' || !Array.isArray(r.names)) {
    problems.push('feature_recipe {version, hash, names} missing');
  }
  if (!isObject(m.artifacts)) problems.push('artifacts (file → SHA-256) missing');
  else {
    for (const [name, h] of Object.entries(m.artifacts)) {
      if (typeof h !== 'string' || !HEX64.test(h)) problems.push(`artifacts['${name}'] is not a 64-hex SHA-256`);
    }
    if (!(BUNDLE_FILES.onnx in m.artifacts)) problems.push(`artifacts has no '${BUNDLE_FILES.onnx}'`);
  }
  if (!isObject(m.trading_params)) problems.push('trading_params missing');
  if (problems.length > 0) {
    throw new ManifestInvalidError(`${BUNDLE_FILES.manifest} of ${where} is malformed: ${problems.join('; ')}`, { ...details, problems });
  }
  return m as unknown as ManifestCore;
}

/**
 * Every file's SHA-256 against the manifest's `artifacts`, both ways: a file listed but
 * absent, a file present but unlisted, or different bytes are refused, naming the file
 * and both hashes. `manifest.json` itself is anchored by the pointer (or the caller).
 */
export function verifyArtifacts(bundle: Pick<FetchedBundle, 'manifest' | 'files' | 'origin' | 'symbol'>): void {
  const { manifest, files, origin, symbol } = bundle;
  const at = `model ${manifest.model_id} (${symbol} ${String(manifest.run_date)}) from ${origin}`;
  for (const [name, expected] of Object.entries(manifest.artifacts)) {
    const bytes = files.get(name);
    if (bytes === undefined) {
      throw new ModelNotFoundError(`${at}: manifest.artifacts lists '${name}' but the bundle has no such file`, { symbol, modelId: manifest.model_id, file: name });
    }
    const found = sha256Hex(bytes);
    if (found !== expected) {
      throw new ArtifactHashMismatchError(
        `${at}: file '${name}' (${bytes.length} bytes) has SHA-256 ${found}, manifest expects ${expected}`,
        { symbol, modelId: manifest.model_id, file: name, expected, found, bytes: bytes.length },
      );
    }
  }
  for (const name of files.keys()) {
    if (name !== BUNDLE_FILES.manifest && !(name in manifest.artifacts)) {
      throw new ManifestInvalidError(`${at}: file '${name}' is in the bundle but has no SHA-256 in manifest.artifacts`, { symbol, modelId: manifest.model_id, file: name });
    }
  }
}

/**
 * Resolve the symbol's `latest.json` and download every file it names, each checked
 * against the pointer's SHA-256 (the only anchor `manifest.json` has), then against the
 * manifest's `artifacts`. Throws `ModelNotFoundError` (no pointer, a file missing),
 * `ManifestInvalidError`, `ArtifactHashMismatchError`, or `ModelFetchError` (transient).
 */
export async function fetchLatestBundle(source: ModelSource, symbol: string): Promise<FetchedBundle> {
  const where = source.pointerPath(symbol);
  const pointerBytes = await readSourceFile(source, where);
  if (pointerBytes === null) {
    throw new ModelNotFoundError(`no published model for ${symbol}: ${source.files.describe()} has no ${where}`, { symbol, pointer: where });
  }
  const pointer = parsePointer(pointerBytes, symbol, where);
  return fetchPointedBundle(source, symbol, pointer, `${source.files.describe()} ${where}`);
}

/** Download and verify the files a parsed pointer names (see `fetchLatestBundle`). */
export async function fetchPointedBundle(source: ModelSource, symbol: string, pointer: LatestPointer, origin: string): Promise<FetchedBundle> {
  const files = new Map<string, Uint8Array>();
  for (const [name, f] of Object.entries(pointer.files)) {
    const bytes = await readSourceFile(source, f.path);
    if (bytes === null) {
      throw new ModelNotFoundError(`model ${pointer.model_id} (${symbol}): ${origin} names ${f.path} for '${name}' but it does not exist`, { symbol, modelId: pointer.model_id, file: name, path: f.path });
    }
    const found = sha256Hex(bytes);
    if (found !== f.sha256) {
      throw new ArtifactHashMismatchError(
        `model ${pointer.model_id} (${symbol}): '${name}' at ${f.path} (${bytes.length} bytes) has SHA-256 ${found}, latest.json expects ${f.sha256}`,
        { symbol, modelId: pointer.model_id, file: name, path: f.path, expected: f.sha256, found, bytes: bytes.length },
      );
    }
    files.set(name, bytes);
  }
  const manifest = parseManifest(files.get(BUNDLE_FILES.manifest)!, symbol, origin);
  if (manifest.model_id !== pointer.model_id) {
    throw new ManifestInvalidError(`${origin} names model ${pointer.model_id} but its manifest.json is model ${manifest.model_id}`, { symbol, pointerModelId: pointer.model_id, manifestModelId: manifest.model_id });
  }
  const bundle: FetchedBundle = { symbol, manifest, files, pointer, origin };
  verifyArtifacts(bundle);
  return bundle;
}

/**
 * A bundle already in memory (e.g. straight from `trainSymbol`, or a bundle folder read
 * by the caller): the manifest is taken from `manifest.json` when present (so what is
 * verified is what would be published), and every artifact is hash-checked.
 */
export function bundleFromMemory(bundle: ModelBundle, origin = 'memory'): FetchedBundle {
  const files = new Map<string, Uint8Array>();
  for (const f of bundle.files) files.set(f.name, f.bytes);
  const symbol = bundle.manifest.symbol;
  const given = files.get(BUNDLE_FILES.manifest);
  const manifestBytes = given ?? serializeManifest(bundle.manifest);
  files.set(BUNDLE_FILES.manifest, manifestBytes);
  const manifest = parseManifest(manifestBytes, symbol, origin);
  const fetched: FetchedBundle = { symbol, manifest, files, origin };
  verifyArtifacts(fetched);
  return fetched;
}
