import { type LatestPointer, type ModelBundle } from '@engine/model';
import { parsePair } from '@engine/shared';
import { bundleFromMemory, fetchLatestBundle, fetchPointedBundle } from './bundle-fetch';
import { LiveModel, type ModelGuardOptions } from './live-model';
import { resolveSource, type ModelSource, type ModelSourceSpec } from './model-source';
import type { OnnxSessionOptions } from './onnx-runtime';

/** Options for loading a model: ONNX execution provider and threads, and the freshness rules. */
export type OpenModelOptions = OnnxSessionOptions & ModelGuardOptions;

export interface OpenModelRequest extends OpenModelOptions {
  /** `BTC/USDT` (also `BTC-USDT`, `BTCUSDT`). */
  symbol: string;
  source: ModelSourceSpec;
}

/**
 * Open the live model of a symbol: resolve its `latest.json`, download every file it
 * names, verify each SHA-256 against the pointer and the manifest, check that the model's
 * feature-recipe hash is this library's (`RECIPE.hash`), load the ONNX models with
 * onnxruntime-node (CUDA when available, CPU otherwise) and the native trees, and run the
 * bundle's golden vectors through both, refusing the model unless every output agrees
 * within `GOLDEN_TOLERANCE` (@engine/model: 1e-5 · max(1, |expected|)). `latest.json`,
 * `manifest.json` and `golden.json` are parsed with the contract's schemas first.
 *
 * Files are read safely: regular files only, never through a symlink, only under the
 * publish root, each no larger than the pointer declares (the pointer itself no larger
 * than `MAX_UNSIZED_FILE_BYTES`), a hung folder read given up after `readTimeoutMs`.
 *
 * Refusals are named errors (all `ModelRefusedError`, permanent for that model):
 * `ModelNotFoundError`, `ManifestInvalidError`, `ArtifactHashMismatchError`,
 * `UnsafeModelFileError`, `RecipeMismatchError`, `GoldenVectorMismatchError`,
 * `OnnxLoadError`, `ModelRejectedError` (its gates failed; `allowRejected` to load it for
 * research), `ModelExpiredError` (past its `expires_at`; `allowExpired`). A source that cannot be read right now throws `ModelFetchError`
 * (transient).
 */
export async function openModel(req: OpenModelRequest): Promise<LiveModel> {
  const symbol = parsePair(req.symbol).symbol;
  const source = resolveSource(req.source);
  const bundle = await fetchLatestBundle(source, symbol);
  return LiveModel.load(bundle, req);
}

/** Open the model a parsed pointer names (the watcher's path). */
export async function openFromPointer(source: ModelSource, symbol: string, pointer: LatestPointer, origin: string, opts: OpenModelOptions = {}): Promise<LiveModel> {
  const bundle = await fetchPointedBundle(source, symbol, pointer, origin);
  return LiveModel.load(bundle, opts);
}

/**
 * Open a bundle already in memory (e.g. straight from `trainSymbol`, or files the caller
 * read): the same checks as `openModel` except the pointer.
 */
export async function openBundle(bundle: ModelBundle, opts: OpenModelOptions & { origin?: string } = {}): Promise<LiveModel> {
  return LiveModel.load(bundleFromMemory(bundle, opts.origin ?? 'memory'), opts);
}
