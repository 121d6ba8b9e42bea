import { PermanentError, TransientError } from '@engine/shared';

/** SQLSTATE classes worth a retry: connection loss, server shutdown, lock timeouts, serialization. */
const TRANSIENT_SQLSTATE = /^(08|53|57P|40)/;
/** Node socket errors that mean "the database is not reachable right now". */
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/**
 * Turn a driver error into an Engine error: unreachable / dropped connections are
 * transient (the job retries), everything else (constraint, syntax) is permanent.
 * The SQL text is kept in details, never the parameters (they may hold bundle bytes).
 */
export function classifyDbError(err: unknown, sql: string): Error {
  if (err instanceof PermanentError || err instanceof TransientError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const statement = sql.replace(/\s+/g, ' ').trim().slice(0, 160);
  const transient =
    (code !== undefined && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_NODE_CODES.has(code))) ||
    /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(message);
  if (transient) {
    return new TransientError('DB_UNAVAILABLE', `registry database unavailable: ${message} (while running: ${statement})`, { code, statement }, err);
  }
  return new PermanentError('DB_QUERY_FAILED', `registry query failed: ${message} (SQLSTATE ${code ?? 'none'}; statement: ${statement})`, { code, statement }, err);
}
