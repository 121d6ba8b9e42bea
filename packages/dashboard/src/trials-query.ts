import { TRIAL_LOOKBACK_DAYS } from '@engine/fleet';

/** The trials page's window by default: the deflation's lookback, so the table shows what N counts today. */
export const DEFAULT_TRIAL_DAYS = TRIAL_LOOKBACK_DAYS;
/** The widest window `?days=` may ask for (two years of run dates). */
export const MAX_TRIAL_DAYS = 730;
/** The most ledger rows the page lists; older rows of the window are left out, and the page says how many. */
export const MAX_TRIAL_ROWS = 500;
/** The shortest config-hash prefix `?candidate=` accepts. */
export const MIN_CANDIDATE_PREFIX = 8;

/** What the trials page was asked for (`?days=N&controls=1&candidate=<hash or prefix>`). */
export interface TrialsQuery {
  /** Run dates of the last `days` days, today included. Default DEFAULT_TRIAL_DAYS. */
  days: number;
  /** List controls in the table too (they are never counted). Default false. */
  includeControls: boolean;
  /** A config hash or a prefix of one (lower-case hex), or null: the live model's trial, else the newest trial. */
  candidate: string | null;
}

export type ParsedQuery = { ok: true; value: TrialsQuery } | { ok: false; reason: string };

/** The parameters the trials page reads, as single strings; the first one repeated or nested (`?days=1&days=2`), if any. */
function singles(query: Record<string, unknown>): { days?: string; controls?: string; candidate?: string; repeated: string | null } {
  const out: { days?: string; controls?: string; candidate?: string; repeated: string | null } = { repeated: null };
  for (const key of ['days', 'controls', 'candidate'] as const) {
    const v = query[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') return { repeated: key };
    out[key] = v;
  }
  return out;
}

/**
 * Validate the trials page's query. Unknown parameters are ignored (a notice, a tracking
 * tag); a known one that is repeated, malformed or out of bounds is refused with a reason
 * that says what was expected and what was found. An empty value (a blank form field)
 * means the default.
 */
export function parseTrialsQuery(query: Record<string, unknown>): ParsedQuery {
  const { days, controls, candidate, repeated } = singles(query);
  if (repeated !== null) return { ok: false, reason: `'${repeated}' must be given once, as a plain value` };
  let n = DEFAULT_TRIAL_DAYS;
  if (days !== undefined && days !== '') {
    if (!/^\d{1,4}$/.test(days) || Number(days) < 1 || Number(days) > MAX_TRIAL_DAYS) {
      return { ok: false, reason: `days must be a whole number of days from 1 to ${MAX_TRIAL_DAYS}, got '${days}'` };
    }
    n = Number(days);
  }
  if (controls !== undefined && controls !== '' && controls !== '0' && controls !== '1') {
    return { ok: false, reason: `controls must be 1 (list them) or 0 (leave them out), got '${controls}'` };
  }
  let c: string | null = null;
  if (candidate !== undefined && candidate !== '') {
    if (!/^[0-9a-fA-F]+$/.test(candidate) || candidate.length < MIN_CANDIDATE_PREFIX || candidate.length > 64) {
      return { ok: false, reason: `candidate must be a config hash (64 hex digits) or a prefix of one of at least ${MIN_CANDIDATE_PREFIX}, got '${candidate}'` };
    }
    c = candidate.toLowerCase();
  }
  return { ok: true, value: { days: n, includeControls: controls === '1', candidate: c } };
}

/** The query string of a trials page (defaults left out), for links that keep the reader's choices. */
export function trialsQueryString(q: TrialsQuery, over: Partial<TrialsQuery> = {}): string {
  const v = { ...q, ...over };
  const p = new URLSearchParams();
  if (v.days !== DEFAULT_TRIAL_DAYS) p.set('days', String(v.days));
  if (v.includeControls) p.set('controls', '1');
  if (v.candidate !== null) p.set('candidate', v.candidate);
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}
