/**
 * Engine's named errors. The split that matters to the fleet is permanent vs transient:
 * a permanent failure (bad payload, unknown symbol, broken or too-short history, bad
 * config) will fail the same way on every retry, so the job fails at once; a transient
 * one (network, rate limit, Dropbox 429/5xx, Postgres down) is retried with backoff.
 */
export type ErrorDetails = Record<string, unknown>;

export class EngineError extends Error {
  /** Stable machine-readable code, e.g. `CANDLES_INVALID`. */
  readonly code: string;
  readonly details: ErrorDetails;
  /** True when retrying cannot help. */
  readonly permanent: boolean;

  constructor(code: string, message: string, opts: { permanent: boolean; details?: ErrorDetails; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.permanent = opts.permanent;
    this.details = opts.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, permanent: this.permanent, details: this.details };
  }
}

/** Retrying cannot help: fail the job now, with this message as the reason. */
export class PermanentError extends EngineError {
  constructor(code: string, message: string, details?: ErrorDetails, cause?: unknown) {
    super(code, message, { permanent: true, details, cause });
  }
}

/** Worth retrying with backoff. `retryAfterMs` is a server's hint (e.g. Retry-After). */
export class TransientError extends EngineError {
  readonly retryAfterMs: number | undefined;
  constructor(code: string, message: string, details?: ErrorDetails & { retryAfterMs?: number }, cause?: unknown) {
    super(code, message, { permanent: false, details, cause });
    this.retryAfterMs = details?.retryAfterMs;
  }
}

/** Configuration is missing or malformed; names the variable. */
export class ConfigError extends PermanentError {
  constructor(message: string, details?: ErrorDetails) {
    super('CONFIG_INVALID', message, details);
  }
}

/** Input data (candles, a frame, a payload) breaks a rule; says which rule, where. */
export class DataError extends PermanentError {}

export function isPermanent(err: unknown): boolean {
  return err instanceof EngineError && err.permanent;
}

/**
 * Wrap an unknown throwable so it carries a code and context, keeping the original as
 * `cause`. Engine errors pass through untouched. Unknown errors count as transient:
 * the safe default for a fleet is one more try, never silent loss.
 */
export function wrapError(err: unknown, context: string, details?: ErrorDetails): EngineError {
  if (err instanceof EngineError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new TransientError('UNEXPECTED', `${context}: ${msg}`, details, err);
}
