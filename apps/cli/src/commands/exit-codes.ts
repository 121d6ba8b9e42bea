import { EngineError } from '@engine/shared';

/**
 * The `engine` command's exit codes (in `--help` and the README): what a script or an
 * operator can act on without reading the message.
 */
export const EXIT = {
  /** Done; a rejected model is a normal outcome. */
  ok: 0,
  /** Usage error (unknown option, missing argument) or an unexpected internal error (a bug: a stack trace follows). */
  usage: 1,
  /** Bad input, data or configuration: fix it and run again; retrying as is fails the same way. */
  input: 2,
  /** Transient: a service (exchange, Redis, PostgreSQL, Dropbox) is unavailable or failed; retrying later may succeed. */
  transient: 3,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  done (a rejected model is a normal outcome)
  1  usage error, or an unexpected internal error (with a stack trace)
  2  bad input, data or configuration: fix it; retrying as is fails the same way
  3  transient: a service was unavailable or failed; retrying later may succeed`;

/** The exit code for an error: EngineErrors by permanence; anything else is unexpected. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof EngineError) return err.permanent ? EXIT.input : EXIT.transient;
  return EXIT.usage;
}
