import { BUNDLE_FILES, MANIFEST_SCHEMA_VERSION, latestPointerSchema, schemaProblems, serializeManifest, sha256Hex, validateManifest } from '@engine/model';
import type { LatestPointer, ModelBundle, ModelManifest } from '@engine/model';
import { MAX_FILE_BYTES } from '@engine/publish';
import { ArtifactHashMismatchError, ManifestInvalidError, ModelNotFoundError, UnsafeModelFileError } from './errors';
import { readSourceFile, type ModelSource } from './model-source';

/** A bundle's bytes as fetched, hash-verified, before its model is loaded. */
export interface FetchedBundle {
  symbol: string;
  /** `manifest.json`, validated against the one manifest schema (@engine/model). */
  manifest: ModelManifest;
  /** Every bundle file by bundle name, `manifest.json` included. */
  files: Map<string, Uint8Array>;
  /** The pointer it was resolved from; absent for a bundle opened in memory. */
  pointer?: LatestPointer;
  /** Where it came from, for messages: `folder:/x/Runpodhuracan/latest/BTC-USDT.json`. */
  origin: string;
}

function parseJson(bytes: Uint8Array, what: string, details: Record<string, unknown>): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch (err) {
    throw new ManifestInvalidError(`${what} is not valid JSON (${bytes.length} bytes): ${(err as Error).message}`, details, err);
  }
}

const field = (v: unknown, key: string): unknown => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined);

/**
 * Parse `latest.json` with the pointer schema (@engine/model), for `symbol`: it must name
 * this symbol and list at least `manifest.json` and `model.onnx`. Throws
 * `ManifestInvalidError` listing every problem as `path: message`.
 */
export function parsePointer(bytes: Uint8Array, symbol: string, where: string): LatestPointer {
  const details = { symbol, pointer: where };
  const value = parseJson(bytes, `latest pointer ${where}`, details);
  const r = latestPointerSchema.safeParse(value);
  const problems = r.success ? [] : schemaProblems(r.error, '(latest.json)');
  const found = field(value, 'symbol');
  if (found !== symbol) problems.push(`symbol: expected '${symbol}', found ${JSON.stringify(found)}`);
  if (r.success) {
    const listed = Object.keys(r.data.files);
    for (const required of [BUNDLE_FILES.manifest, BUNDLE_FILES.onnx]) {
      if (!listed.includes(required)) problems.push(`files: expected an entry for '${required}', found ${listed.join(', ') || 'none'}`);
    }
  }
  if (!r.success || problems.length > 0) {
    throw new ManifestInvalidError(`latest pointer ${where} for ${symbol} is malformed: ${problems.join('; ')}`, { ...details, problems });
  }
  return r.data;
}

/**
 * Parse `manifest.json` and validate it against the one manifest schema (@engine/model's
 * `validateManifest`, the definition `manifest.schema.json` is generated from), for
 * `symbol`. Nothing reads a manifest field before this passes. Throws
 * `ManifestInvalidError` listing every problem as `path: message`.
 */
export function parseManifest(bytes: Uint8Array, symbol: string, where: string): ModelManifest {
  const details = { symbol, file: BUNDLE_FILES.manifest, origin: where };
  const value = parseJson(bytes, `${BUNDLE_FILES.manifest} of ${where}`, details);
  const r = validateManifest(value);
  const problems = r.ok ? [] : r.problems;
  const found = field(value, 'symbol');
  if (found !== symbol) problems.push(`symbol: expected '${symbol}', found ${JSON.stringify(found)}`);
  if (!r.ok || problems.length > 0) {
    const modelId = field(value, 'model_id');
    throw new ManifestInvalidError(`${BUNDLE_FILES.manifest} of ${where} is not a valid ModelManifest (${MANIFEST_SCHEMA_VERSION}): ${problems.join('; ')}`, {
      ...details,
      ...(typeof modelId === 'string' ? { modelId } : {}),
      problems,
    });
  }
  return r.manifest;
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
 * `ManifestInvalidError`, `ArtifactHashMismatchError`, `UnsafeModelFileError` (a symlink,
 * FIFO or device, a path out of the root, a size other than declared), or
 * `ModelFetchError` (transient).
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

/**
 * Refuse a pointer entry the consumer must not follow, before anything is read: a path
 * that is not under the source's publish root (`..`, `.` or empty segments, NUL, relative,
 * another root) or a declared size above `MAX_FILE_BYTES` (@engine/publish, 1 GiB).
 */
function checkPointedFile(root: string, symbol: string, pointer: LatestPointer, origin: string, name: string, f: LatestPointer['files'][string]): void {
  const at = `model ${pointer.model_id} (${symbol}): ${origin} names ${JSON.stringify(f.path)} for '${name}'`;
  const details = { symbol, modelId: pointer.model_id, file: name, path: f.path };
  const below = f.path.startsWith(`${root}/`) ? f.path.slice(root.length + 1).split('/') : null;
  if (below === null || f.path.includes('\0') || below.some((seg) => seg === '' || seg === '.' || seg === '..')) {
    throw new UnsafeModelFileError(`${at}: expected a path under ${root}/ without empty, '.' or '..' segments or NUL bytes`, { ...details, reason: 'outside_root' });
  }
  if (f.bytes > MAX_FILE_BYTES) {
    throw new UnsafeModelFileError(`${at}: expected at most ${MAX_FILE_BYTES} bytes (MAX_FILE_BYTES), latest.json declares ${f.bytes}`, { ...details, reason: 'too_large', limit: MAX_FILE_BYTES, found: f.bytes });
  }
}

/**
 * Download and verify the files a parsed pointer names (see `fetchLatestBundle`). Every
 * path is checked before the first read (`UnsafeModelFileError`, `outside_root`); each
 * file is read up to the size the pointer declares and no further (`too_large`), and must
 * have the pointer's SHA-256 (`ArtifactHashMismatchError`: a truncated or swapped file)
 * and exactly the declared size (`size_mismatch`).
 */
export async function fetchPointedBundle(source: ModelSource, symbol: string, pointer: LatestPointer, origin: string): Promise<FetchedBundle> {
  const entries = Object.entries(pointer.files);
  for (const [name, f] of entries) checkPointedFile(source.root, symbol, pointer, origin, name, f);
  const files = new Map<string, Uint8Array>();
  for (const [name, f] of entries) {
    const what = `model ${pointer.model_id} (${symbol}): '${name}' at ${f.path}`;
    const bytes = await readSourceFile(source, f.path, { maxBytes: f.bytes, declaredBy: 'latest.json', what });
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
    // Never more than declared (reading stopped there); fewer bytes with the right hash
    // means latest.json itself is inconsistent.
    if (bytes.length !== f.bytes) {
      throw new UnsafeModelFileError(`${what} from ${source.files.describe()}: expected ${f.bytes} bytes (latest.json), found ${bytes.length}`, {
        symbol,
        modelId: pointer.model_id,
        file: name,
        path: f.path,
        reason: 'size_mismatch',
        expected: f.bytes,
        found: bytes.length,
      });
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
