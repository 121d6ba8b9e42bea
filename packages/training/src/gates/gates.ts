import type { GateResult } from '@engine/model';
import type { TradeMetrics } from '../metrics/trade-metrics';
import { mean, median } from '../metrics/stats';
import type { ThresholdChoice } from '../threshold/select-threshold';
import type { TrialDeflation } from './trial-deflation';

/** Publish gates (SPEC §1.7) and the leakage guard. */
export interface GateConfig {
  /** Annualised daily Sharpe ≥ this. Default 0.7. */
  min_sharpe: number;
  /** Profit factor ≥ this. Default 1.1. */
  min_profit_factor: number;
  /** Max drawdown ≤ this × the median drawdown. Default 1.2. */
  max_drawdown_multiple: number;
  /** Win rate ≥ median win rate − this (a fraction: 0.01 = 1 percentage point). */
  win_rate_tolerance: number;
  /** Out-of-sample trades ≥ this. Default 300. */
  min_trades: number;
  /**
   * P&L concentration: the best single trade's share of the total net P&L ≤ this. Default
   * 0.5 — one trade must not make half the profit. (For scale: an honest edge at the Sharpe
   * bound, 300 trades over ~100 days, has a best trade near 0.5 of its total — so this also
   * rejects records whose total is one lucky draw; the planted edge's is ~0.01.)
   */
  max_best_trade_share: number;
  /** The same for the best UTC day. Default 0.5 — one day must not make half the profit. */
  max_best_day_share: number;
  /**
   * The deflated Sharpe ratio at the symbol's true trial count ≥ this (Bailey & López de
   * Prado 2014): the probability that the Sharpe beats the best of N skill-less trials.
   * Default 0.95.
   */
  min_deflated_sharpe: number;
  /** Medians come from at most this many of the symbol's latest published models. Default 10. */
  history_size: number;
  /** With fewer published models than this, medians come from this model's folds. Default 3. */
  min_history: number;
  /** Results too good to be true are rejected as suspected leakage. */
  implausible: {
    /** Win rate at or above this is implausible. Default 0.99. */
    max_win_rate: number;
    /** Profit factor at or above this (or no losing trade at all) is implausible. Default 20. */
    max_profit_factor: number;
    /** The guard judges only records with at least this many trades. Default 30. */
    min_trades: number;
  };
}

export const DEFAULT_GATES: GateConfig = {
  min_sharpe: 0.7,
  min_profit_factor: 1.1,
  max_drawdown_multiple: 1.2,
  win_rate_tolerance: 0.01,
  min_trades: 300,
  max_best_trade_share: 0.5,
  max_best_day_share: 0.5,
  min_deflated_sharpe: 0.95,
  history_size: 10,
  min_history: 3,
  implausible: { max_win_rate: 0.99, max_profit_factor: 20, min_trades: 30 },
};

/** The final threshold choice, and the calibration floor it was held to (`threshold.min_calibration_net_bps`). */
export type FinalThresholdEvidence = Pick<ThresholdChoice, 'trade' | 'rule' | 'trades' | 'total_net_bps'> & { min_calibration_net_bps: number | null };

/** One earlier model of the same symbol, as the registry remembers it. */
export interface GateHistoryEntry {
  model_id?: string;
  run_date: string;
  /** Only published models count towards the medians (SPEC §5: rejected ones never do). */
  published: boolean;
  max_drawdown: number;
  win_rate: number;
}

export interface GateOutcome {
  passed: boolean;
  median_source: 'registry' | 'folds';
  /** The medians used, and how many values each came from. */
  medians: { max_drawdown: number; win_rate: number; drawdown_count: number; win_rate_count: number };
  results: GateResult[];
  /** True when the implausibility guard fired: the record looks like leakage, not skill. */
  suspected_leakage: boolean;
  /** Names of the failed gates. */
  failed: string[];
}

const fin = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : x);

/**
 * Judge a model's out-of-sample record.
 *
 * Medians come from the symbol's latest `history_size` PUBLISHED models when there are at
 * least `min_history` of them (`median_source: 'registry'`); then the model's overall max
 * drawdown and win rate are compared with theirs, like with like (each is a whole
 * walk-forward record of the same length).
 *
 * Otherwise (`'folds'`) medians are over this model's evaluated folds WITH TRADES, and the
 * model's value is put in the same units as a fold's. A fold that never traded has no
 * drawdown and no win rate to compare (its 0 is the absence of a record, not a good one):
 * counting it made the drawdown bound 0 whenever half the folds sat out, so any loss failed.
 * - win rate: the pooled out-of-sample win rate (a rate does not depend on the span);
 * - drawdown: the MEAN of the folds' max drawdowns. A drawdown grows with the span it is
 *   measured over, so the whole record's max drawdown is always ≥ every fold's and would
 *   fail "≤ 1.2 × median fold drawdown" for nearly every genuine edge (simulated: > 80% of
 *   the time); the mean fold drawdown measures the same thing as the median's values and
 *   fails when drawdowns concentrate in a few bad folds.
 *   Neither is the model's own value compared with itself (the original engine's bug).
 *
 * Also judged: P&L concentration (best trade's and best day's share of the total), and
 * `final_threshold` — the threshold Hamilton would get must have made money on the pooled
 * out-of-sample predictions; a model whose own threshold choice says "do not trade" is not
 * published.
 */
export function evaluateGates(
  overall: TradeMetrics,
  folds: readonly TradeMetrics[],
  history: readonly GateHistoryEntry[],
  cfg: GateConfig,
  finalThreshold: FinalThresholdEvidence,
  deflation?: TrialDeflation,
): GateOutcome {
  const published = history
    .filter((h) => h.published)
    .sort((a, b) => (a.run_date < b.run_date ? 1 : a.run_date > b.run_date ? -1 : 0))
    .slice(0, cfg.history_size);
  const fromRegistry = published.length >= cfg.min_history;
  let ddValue: number;
  let ddValues: number[];
  let wrValues: number[];
  let ddNote: string;
  if (fromRegistry) {
    ddValues = published.map((h) => h.max_drawdown);
    wrValues = published.map((h) => h.win_rate);
    ddValue = overall.max_drawdown;
    ddNote = `overall out-of-sample max drawdown (GBP) vs the median of the last ${published.length} published models`;
  } else {
    const traded = folds.filter((f) => f.total_trades > 0);
    const idle = folds.length - traded.length;
    ddValues = traded.map((f) => f.max_drawdown);
    wrValues = traded.map((f) => f.win_rate);
    ddValue = ddValues.length > 0 ? mean(ddValues) : NaN;
    ddNote =
      `mean of the max drawdowns (GBP) of the ${traded.length} folds with trades vs their median` +
      `${idle > 0 ? ` (${idle} of ${folds.length} folds made no trade and are left out: no trade, no drawdown to compare)` : ''}; fewer than ${cfg.min_history} published models`;
  }
  const medDd = median(ddValues);
  const medWr = median(wrValues);

  const results: GateResult[] = [];
  const ge = (name: string, value: number | null, bound: number | null, note?: string, passIfNull = false): void => {
    const passed = value === null ? passIfNull : bound !== null && Number.isFinite(bound) && value >= bound;
    results.push({ name, value: fin(value), bound: fin(bound), op: '>=', passed, ...(note ? { note } : {}) });
  };
  const le = (name: string, value: number | null, bound: number | null, note?: string): void => {
    const passed = value !== null && Number.isFinite(value) && bound !== null && Number.isFinite(bound) && value <= bound;
    results.push({ name, value: fin(value), bound: fin(bound), op: '<=', passed, ...(note ? { note } : {}) });
  };

  ge('sharpe_ratio', overall.sharpe_ratio, cfg.min_sharpe, 'annualised from daily P&L (√365), days without trades count as 0');
  const pfUnbounded = overall.profit_factor === null;
  ge('profit_factor', overall.profit_factor, cfg.min_profit_factor, pfUnbounded ? 'no losing trade: unbounded' : undefined, pfUnbounded);
  le(
    'max_drawdown',
    Number.isFinite(ddValue) ? ddValue : null,
    Number.isFinite(medDd) ? cfg.max_drawdown_multiple * medDd : null,
    `${ddNote}; bound = ${cfg.max_drawdown_multiple} × median${Number.isFinite(medDd) ? '' : ' (no median: nothing to compare with)'}`,
  );
  ge(
    'win_rate',
    overall.win_rate,
    Number.isFinite(medWr) ? medWr - cfg.win_rate_tolerance : null,
    `pooled win rate vs median ${fromRegistry ? `of the last ${published.length} published models` : `of the ${wrValues.length} folds with trades (folds without trades left out)`} − ${(cfg.win_rate_tolerance * 100).toFixed(1)} pp`,
  );
  ge('total_trades', overall.total_trades, cfg.min_trades);

  // P&L concentration: judged only when there is a profit to concentrate.
  const share = (name: string, value: number | null, bound: number, what: string): void => {
    if (value === null) {
      results.push({ name, value: null, bound, op: '<=', passed: true, note: `total net P&L ≤ 0: no profit to concentrate (the Sharpe and profit-factor gates judge it)` });
      return;
    }
    le(name, value, bound, `${what}'s share of the total net P&L; above ${bound} one ${what.replace('the best ', '')} makes the record`);
  };
  share('best_trade_share', overall.best_trade_share, cfg.max_best_trade_share, 'the best trade');
  share('best_day_share', overall.best_day_share, cfg.max_best_day_share, 'the best day');

  // Every trial counted: the Sharpe deflated by the symbol's trials in the ledger's lookback.
  if (deflation !== undefined) {
    const d = deflation;
    const p = (x: number): string => String(Number(x.toPrecision(4)));
    const which = d.dsr_iid <= d.dsr_robust ? 'i.i.d.' : 'Newey–West robust';
    ge(
      'deflated_sharpe',
      d.dsr,
      cfg.min_deflated_sharpe,
      `N = ${d.n} trial(s), V = ${p(d.variance)}, SR₀ = ${p(d.sr0)} (daily); DSR i.i.d. ${p(d.dsr_iid)}, robust ${p(d.dsr_robust)}: the ${which} value gates; at the effective N = ${d.n_effective} (clusters of correlated P&L) ${p(d.dsr_effective)}`,
    );
  }

  // "Do not trade" for the model as a whole: its own threshold choice found no profit.
  results.push({
    name: 'final_threshold',
    // Without a candidate of enough trades there is no total to show (and no evidence to trade on).
    value: finalThreshold.rule === 'no_candidate_with_min_trades' || finalThreshold.rule === 'policy_too_few_trades' ? null : finalThreshold.total_net_bps,
    bound: finalThreshold.min_calibration_net_bps,
    op: '>=',
    passed: finalThreshold.trade,
    note: finalThreshold.rule.startsWith('policy')
      ? `the agent's greedy policy made ${finalThreshold.total_net_bps.toFixed(1)} net bps in ${finalThreshold.trades} pooled out-of-sample trades${finalThreshold.min_calibration_net_bps === null ? ' (no profit required: min_calibration_net_bps is null)' : ` (must be above ${finalThreshold.min_calibration_net_bps})`}${finalThreshold.trade ? '' : ': do not trade'}`
      : finalThreshold.trade
      ? `the recommended threshold made ${finalThreshold.total_net_bps.toFixed(1)} net bps in ${finalThreshold.trades} trades on the pooled out-of-sample predictions${finalThreshold.min_calibration_net_bps === null ? ' (no profit required: min_calibration_net_bps is null)' : ` (must be above ${finalThreshold.min_calibration_net_bps})`}`
      : finalThreshold.rule === 'no_profitable_candidate'
        ? `do not trade: no candidate threshold made money on the pooled out-of-sample predictions (best: ${finalThreshold.total_net_bps.toFixed(1)} net bps in ${finalThreshold.trades} trades)`
        : `do not trade: no candidate threshold made enough trades on the pooled out-of-sample predictions`,
  });

  // Leakage guard: judged only on a record long enough to mean something.
  const g = cfg.implausible;
  const judged = overall.total_trades >= g.min_trades;
  const wrOk = !judged || overall.win_rate < g.max_win_rate;
  results.push({
    name: 'plausible_win_rate',
    value: overall.win_rate,
    bound: g.max_win_rate,
    op: '<=',
    passed: wrOk,
    note: judged ? `must stay below ${g.max_win_rate}: a higher win rate after costs suggests leakage` : `not judged: fewer than ${g.min_trades} trades`,
  });
  const pf = overall.profit_factor;
  const pfOk = !judged || (pf !== null && pf < g.max_profit_factor);
  results.push({
    name: 'plausible_profit_factor',
    value: fin(pf),
    bound: g.max_profit_factor,
    op: '<=',
    passed: pfOk,
    note: judged ? `must stay below ${g.max_profit_factor}${pf === null ? '; no losing trade at all' : ''}: suggests leakage` : `not judged: fewer than ${g.min_trades} trades`,
  });
  const failed = results.filter((r) => !r.passed).map((r) => r.name);
  return {
    passed: failed.length === 0,
    median_source: fromRegistry ? 'registry' : 'folds',
    medians: { max_drawdown: medDd, win_rate: medWr, drawdown_count: ddValues.length, win_rate_count: wrValues.length },
    results,
    suspected_leakage: !wrOk || !pfOk,
    failed,
  };
}
