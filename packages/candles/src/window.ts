import { DAY_MS, PermanentError, formatUtcDay, parsePair, parseUtcDay, utcDayStart } from '@engine/shared';
import { openSource } from './sources';
import type { CandleSource, SourceSpec } from './source';

export interface WindowRequest {
  /** Window length in whole UTC days (≥ 1). */
  days: number;
  /** Last UTC day included, `YYYY-MM-DD`. Default: see `resolveWindow`. */
  end?: string;
  source: string | SourceSpec | CandleSource;
  /** Needed when `end` is omitted for a file source (the last day differs per file). */
  symbol?: string;
  /** Clock for exchange sources (epoch ms). Default `Date.now`. */
  now?: () => number;
}

export interface CandleWindow {
  /** `[start, end)` epoch ms UTC, on midnights. */
  start: number;
  end: number;
  /** The run date the window belongs to (SPEC: `[run_date − days, run_date)`), i.e. the day after the last one. */
  runDate: string;
  /** Last UTC day included. */
  lastDay: string;
  days: number;
}

/**
 * The window of `days` whole UTC days ending with `end` (included): `[end + 1 day − days,
 * end + 1 day)`, which is SPEC's `[run_date − window, run_date)` with run_date = end + 1.
 * Without `end`: for an exchange the last complete UTC day (yesterday); for files the
 * last complete day the symbol's file holds.
 */
export async function resolveWindow(req: WindowRequest): Promise<CandleWindow> {
  const { days } = req;
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new PermanentError('WINDOW_INVALID', `window length must be a whole number of days from 1 to 3650, got ${days}`, { days });
  }
  let endMs: number;
  if (req.end !== undefined) endMs = parseUtcDay(req.end, 'end') + DAY_MS;
  else {
    const source = typeof req.source === 'object' && 'fetch' in req.source ? req.source : openSource(req.source);
    if (source.kind === 'exchange' || source.lastCompleteDay === undefined) endMs = utcDayStart((req.now ?? Date.now)());
    else {
      if (req.symbol === undefined) throw new PermanentError('WINDOW_INVALID', `a symbol is needed to find the last day of ${source.id}`);
      endMs = (await source.lastCompleteDay(parsePair(req.symbol))) + DAY_MS;
    }
  }
  return { start: endMs - days * DAY_MS, end: endMs, runDate: formatUtcDay(endMs), lastDay: formatUtcDay(endMs - DAY_MS), days };
}
