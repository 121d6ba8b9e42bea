import { DataError, TransientError, type ErrorDetails } from '@engine/shared';

/**
 * Why the consumer refused a model. Every refusal is permanent for that model (retrying
 * the same bytes fails the same way), so they are DataErrors; a model that could not be
 * *fetched* (network, Dropbox 5xx) is a TransientError instead (`ModelFetchError`).
 *
 * `code` is stable and machine-readable; `details` always names the symbol and, where it
 * applies, the model id, the file, and what was expected vs found.
 */
export class ModelRefusedError extends DataError {
  constructor(code: string, message: string, details?: ErrorDetails, cause?: unknown) {
    super(code, message, details, cause);
  }
}

/** No `latest.json` for the symbol, or a file the pointer names is missing. */
export class ModelNotFoundError extends ModelRefusedError {
  constructor(message: string, details?: ErrorDetails) {
    super('MODEL_NOT_FOUND', message, details);
  }
}

/** `latest.json` or `manifest.json` is not the JSON shape the consumer relies on. */
export class ManifestInvalidError extends ModelRefusedError {
  constructor(message: string, details?: ErrorDetails, cause?: unknown) {
    super('MANIFEST_INVALID', message, details, cause);
  }
}

/** A file's SHA-256 differs from the manifest's (or the pointer's) — truncated, altered or swapped. */
export class ArtifactHashMismatchError extends ModelRefusedError {
  readonly file: string;
  readonly expected: string;
  readonly found: string;
  constructor(message: string, details: ErrorDetails & { file: string; expected: string; found: string }) {
    super('ARTIFACT_HASH_MISMATCH', message, details);
    this.file = details.file;
    this.expected = details.expected;
    this.found = details.found;
  }
}

/** The model was trained on another feature recipe than the one this library computes. */
export class RecipeMismatchError extends ModelRefusedError {
  constructor(message: string, details?: ErrorDetails) {
    super('RECIPE_MISMATCH', message, details);
  }
}

/** The bundle's golden vectors do not reproduce: the model does not compute what training saw. */
export class GoldenVectorMismatchError extends ModelRefusedError {
  constructor(message: string, details?: ErrorDetails) {
    super('GOLDEN_MISMATCH', message, details);
  }
}

/** onnxruntime could not load or run the ONNX file. */
export class OnnxLoadError extends ModelRefusedError {
  constructor(message: string, details?: ErrorDetails, cause?: unknown) {
    super('ONNX_LOAD_FAILED', message, details, cause);
  }
}

/** Reading the source failed for a reason worth retrying (network, Dropbox 429/5xx, I/O). */
export class ModelFetchError extends TransientError {
  constructor(message: string, details?: ErrorDetails, cause?: unknown) {
    super('MODEL_FETCH_FAILED', message, details, cause);
  }
}

/** A candle handed to a trader breaks the live-feed contract (out of order, wrong symbol, gap in BTC's feed). */
export class LiveFeedError extends DataError {
  constructor(message: string, details?: ErrorDetails) {
    super('LIVE_FEED_INVALID', message, details);
  }
}
