import { PermanentError } from './errors';

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parse a `YYYY-MM-DD` UTC date into epoch ms at midnight; a clear error otherwise. */
export function parseUtcDay(day: string, what = 'date'): number {
  const m = DAY_RE.exec(day);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || formatUtcDay(ms) !== day) {
    throw new PermanentError('DATE_INVALID', `${what} '${day}' is not a valid UTC day: expected YYYY-MM-DD`, { [what]: day });
  }
  return ms;
}

/** Epoch ms → `YYYY-MM-DD` (UTC). */
export function formatUtcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Epoch ms → ISO-8601 minute precision, for messages: `2026-01-31T18:44Z`. */
export function formatUtcMinute(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16) + 'Z';
}

/** Start of the UTC day containing `ms`. */
export function utcDayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}
