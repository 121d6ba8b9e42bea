import type { UnsafeFileReason } from '@engine/publish';
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

/** The model failed its gates (its manifest says `gates.passed: false`): not for trading, unless `allowRejected`. */
export class ModelRejectedError extends ModelRefusedError {
  constructor(message: string, details?: ErrorDetails) {
    super('MODEL_REJECTED', message, details);
  }
}

/** Live monitoring demoted the model (`latest.json` says `demoted`): not for trading, unless `allowDemoted`. */
export class ModelDemotedError extends ModelRefusedError {
  constructor(message: string, details?: ErrorDetails) {
    super('MODEL_DEMOTED', message, details);
  }
}

/** The model is past its `expires_at`: stale, unless `allowExpired`. */
export class ModelExpiredError extends ModelRefusedError {
  constructor(message: string, details?: ErrorDetails) {
    super('MODEL_EXPIRED', message, details);
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

/**
 * Why a file was not read: `symlink` (the file, the pointer or a folder on the way is a
 * symbolic link), `not_regular_file` (a FIFO, device, socket or folder), `not_a_folder`,
 * `outside_root` (latest.json names a path that leaves the publish root: `..`, `.`, an
 * empty segment, NUL, not absolute, another root), `too_large` (larger than latest.json
 * declares, or than the ceiling for files it does not size), `size_mismatch` (fewer bytes
 * than latest.json declares).
 */
export type UnsafeModelFileReason = UnsafeFileReason | 'size_mismatch';

/**
 * A file of the model is not one the consumer will read: not a regular file inside the
 * source's folder, or not the size `latest.json` declares. Nothing past the limit is read.
 */
export class UnsafeModelFileError extends ModelRefusedError {
  readonly reason: UnsafeModelFileReason;
  /** The remote path refused (the file, or the folder on the way to it). */
  readonly path: string;
  constructor(message: string, details: ErrorDetails & { reason: UnsafeModelFileReason; path: string }, cause?: unknown) {
    super('UNSAFE_MODEL_FILE', message, details, cause);
    this.reason = details.reason;
    this.path = details.path;
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
