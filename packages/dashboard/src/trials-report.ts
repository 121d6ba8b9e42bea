import { DAY_MS, formatUtcDay, parseUtcDay } from '@engine/shared';
import type { Registry, StoredTrial, TrialLedger } from '@engine/registry';
import { deflateByTrials, TRIAL_LOOKBACK_DAYS, type TrialDeflation } from '@engine/fleet';
import { MAX_TRIAL_ROWS, type TrialsQuery } from './trials-query';

/** The candidate of a trials page and its deflation by the symbol's trials. */
export interface CandidateDeflation {
  trial: StoredTrial;
  /** How it was chosen: the live model's trial, `?candidate=`, or the newest counted trial of the window. */
  chosen: 'live' | 'query' | 'newest';
  /** The run dates the deflation counts, [from, to]: the lookback before the candidate's run date, and that day. */
  from: string;
  to: string;
  deflation: TrialDeflation;
  /** Daily Sharpes of the counted trials of the lookback (the candidate among them unless it is a control), for the histogram. */
  sharpes: number[];
  /** Counted trials without a Sharpe (no variance): N and V take them as 0; the histogram leaves them out. */
  withoutSharpe: number;
}

/** Everything the trials page of one symbol shows. */
export interface TrialsReport {
  symbol: string;
  query: TrialsQuery;
  /** The table's window of run dates, [from, to]; `to` is today. */
  from: string;
  to: string;
  /** Ledger rows of the window, newest first (controls only when asked for), at most MAX_TRIAL_ROWS. */
  rows: StoredTrial[];
  /** Rows of the window the cap left out (the oldest). */
  leftOut: number;
  /** The window's trials by kind, whatever the table lists. */
  counted: number;
  controls: number;
  /** Distinct configurations among the window's counted trials. */
  configurations: number;
  candidate: CandidateDeflation | null;
  /** The live model, when the ledger has no trial of it (models recorded before the ledger, or its trial missing). */
  liveWithoutTrial: string | null;
  /** Model ids of the rows that have a page in the registry (a sweep's evaluation records a trial but no model). */
  knownModels: ReadonlySet<string>;
}

export type TrialsOutcome = { ok: true; report: TrialsReport } | { ok: false; status: 400 | 404; reason: string };

/** Where the trials page reads: the registry (live model, model pages), the ledger and the fleet's universe. */
export interface TrialsSources {
  registry: Registry;
  trials: TrialLedger;
  universe: readonly string[];
}

/** `YYYY-MM-DD` `days` days before `day`. */
function daysBefore(day: string, days: number): string {
  return formatUtcDay(parseUtcDay(day) - days * DAY_MS);
}

/** Newest first: run date, then the order the ledger recorded them in. */
function newestFirst(a: StoredTrial, b: StoredTrial): number {
  return b.runDate.localeCompare(a.runDate) || b.seq - a.seq;
}

/**
 * Deflate `c` by the symbol's counted trials of its lookback, exactly as the fleet's sweep
 * ranking does: run dates from TRIAL_LOOKBACK_DAYS before the candidate's run date to that
 * day, controls left out, the candidate counted once.
 */
async function deflate(ledger: TrialLedger, c: StoredTrial, chosen: CandidateDeflation['chosen']): Promise<CandidateDeflation> {
  const from = daysBefore(c.runDate, TRIAL_LOOKBACK_DAYS);
  const history = await ledger.list(c.symbol, { from, to: c.runDate, includeControls: false });
  const deflation = deflateByTrials(c, history, c.runDate);
  const others = history.filter((h) => !(h.configHash === c.configHash && h.runDate === c.runDate));
  const counted = c.isControl ? others : [...others, c];
  const sharpes: number[] = [];
  for (const t of counted) if (t.sharpe !== null && Number.isFinite(t.sharpe)) sharpes.push(t.sharpe);
  return { trial: c, chosen, from, to: c.runDate, deflation, sharpes, withoutSharpe: counted.length - sharpes.length };
}

/**
 * Gather a symbol's trials page for `today` (`YYYY-MM-DD`): the ledger rows of the window,
 * the candidate (`?candidate=`, else the live model's trial, else the newest counted trial
 * of the window) and its deflation. Answers 404 for a symbol the fleet does not know
 * (outside the universe, never trained, no trial) or a candidate not in the window, and
 * 400 for a prefix that matches several configurations.
 */
export async function trialsReport(src: TrialsSources, symbol: string, query: TrialsQuery, today: string): Promise<TrialsOutcome> {
  const from = daysBefore(today, query.days);
  const [window, live] = await Promise.all([src.trials.list(symbol, { from, to: today, includeControls: true }), src.registry.liveModel(symbol)]);
  if (window.length === 0 && live === null && !src.universe.includes(symbol)) {
    const [anyTrial, anyModel] = await Promise.all([src.trials.list(symbol, { includeControls: true, limit: 1 }), src.registry.listModels({ symbol, limit: 1 })]);
    if (anyTrial.length === 0 && anyModel.length === 0) {
      return { ok: false, status: 404, reason: `${symbol} is not a symbol of this fleet: it is not in the universe (${src.universe.join(', ') || 'empty'}), and the registry has no model and the ledger no trial of it` };
    }
  }
  window.sort(newestFirst);

  let candidate: CandidateDeflation | null = null;
  let liveWithoutTrial: string | null = null;
  if (query.candidate !== null) {
    const prefix = query.candidate;
    const matches = window.filter((t) => t.configHash.startsWith(prefix));
    const hashes = [...new Set(matches.map((t) => t.configHash))];
    if (hashes.length === 0) {
      return { ok: false, status: 404, reason: `no trial of ${symbol} with a config hash starting '${prefix}' in run dates ${from} → ${today} (widen the window with ?days=)` };
    }
    if (hashes.length > 1) {
      return { ok: false, status: 400, reason: `candidate '${prefix}' matches ${hashes.length} configurations of ${symbol} (${hashes.map((h) => `${h.slice(0, 16)}…`).join(', ')}); give more digits` };
    }
    // The same configuration may have run on several days: its newest run is the candidate.
    candidate = await deflate(src.trials, matches[0]!, 'query');
  } else {
    if (live !== null) {
      const sameDay = await src.trials.list(symbol, { from: live.runDate, to: live.runDate, includeControls: true });
      const own = sameDay.find((t) => t.modelId === live.modelId);
      if (own !== undefined) candidate = await deflate(src.trials, own, 'live');
      else liveWithoutTrial = live.modelId;
    }
    if (candidate === null) {
      const newest = window.find((t) => !t.isControl);
      if (newest !== undefined) candidate = await deflate(src.trials, newest, 'newest');
    }
  }

  const listed = query.includeControls ? window : window.filter((t) => !t.isControl);
  const rows = listed.slice(0, MAX_TRIAL_ROWS);
  const ids = new Set(rows.flatMap((t) => (t.modelId === null ? [] : [t.modelId])));
  // One model per (symbol, run date), newest first: the window's are among its days + 1 newest, with a
  // month's margin for run dates after today (a dashboard clock behind the fleet's).
  const models = ids.size === 0 ? [] : await src.registry.listModels({ symbol, limit: query.days + 31 });
  const counted = window.filter((t) => !t.isControl);
  return {
    ok: true,
    report: {
      symbol,
      query,
      from,
      to: today,
      rows,
      leftOut: listed.length - rows.length,
      counted: counted.length,
      controls: window.length - counted.length,
      configurations: new Set(counted.map((t) => t.configHash)).size,
      candidate,
      liveWithoutTrial,
      knownModels: new Set(models.map((m) => m.id).filter((id) => ids.has(id))),
    },
  };
}
