import { DAY_MS, formatUtcDay, parseUtcDay } from '@engine/shared';
import { deflatedBenchmark, minTrackRecordLength, probabilisticSharpeRatio, robustSharpeZ, trialVariance } from '../metrics/deflated-sharpe';
import { normalCdf } from '../metrics/normal';

/** One earlier trial of the symbol, as the ledger holds it (controls already left out). */
export interface TrialHistoryEntry {
  configHash: string;
  runDate: string;
  /** Daily Sharpe; null when it had no variance (it still counts as a trial, with Sharpe 0). */
  sharpe: number | null;
  /** UTC day of dailyPnl[0]. */
  firstDay: string | null;
  dailyPnl: readonly number[];
}

/** The candidate being judged: its trial's daily series and moments. */
export interface TrialCandidate {
  configHash: string;
  sharpe: number | null;
  skew: number;
  kurtosis: number;
  firstDay: string | null;
  dailyPnl: readonly number[];
}

export interface DeflationConfig {
  /** Trials correlated at least this much (Pearson, on the days both traded) fall into one cluster. Default 0.5. */
  cluster_correlation: number;
  /** Fewer shared days than this and two trials are taken as unrelated. Default 20. */
  min_overlap_days: number;
}

export const DEFAULT_DEFLATION: DeflationConfig = { cluster_correlation: 0.5, min_overlap_days: 20 };

/** The ledger's lookback for N and V: the trials of the last 90 days (SPEC §1.7, issue: every trial counted). */
export const TRIAL_LOOKBACK_DAYS = 90;

/** The run dates whose trials count for a candidate of `runDate`: [runDate − 90 days, runDate], both `YYYY-MM-DD`. */
export function trialLookback(runDate: string, days = TRIAL_LOOKBACK_DAYS): { from: string; to: string } {
  return { from: formatUtcDay(parseUtcDay(runDate, 'runDate') - days * DAY_MS), to: runDate };
}

/** The deflated Sharpe ratio of a candidate at the true trial count, and what went into it. */
export interface TrialDeflation {
  /** Trials counted: the ledger's (other configurations and earlier runs, no controls) plus this one. */
  n: number;
  /** Population variance of their daily Sharpes. */
  variance: number;
  /** SR₀ at N. */
  sr0: number;
  /** DSR from the i.i.d. PSR. */
  dsr_iid: number;
  /** DSR from the autocorrelation-robust z (Newey–West). */
  dsr_robust: number;
  /** The smaller of the two: the gate's value. */
  dsr: number;
  /** Clusters of the trials' daily P&L (correlation ≥ cluster_correlation): the effective N. */
  n_effective: number;
  /** The same DSR (smaller of the two) at the effective N, reported beside; the gate uses N (the larger count, the stricter test). */
  dsr_effective: number;
  /** Days the candidate needs for PSR(SR₀) to reach 0.95, given its moments (Infinity when SR̂ ≤ SR₀). */
  min_track_record_days: number;
}

/** Each series as day → value, for pairwise alignment. */
function byDay(firstDay: string | null, daily: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  if (firstDay === null) return m;
  const d0 = parseUtcDay(firstDay, 'firstDay');
  daily.forEach((v, k) => m.set(d0 + k * DAY_MS, v));
  return m;
}

/** Pearson correlation on shared days; NaN with fewer than `minOverlap` days or no variance. */
function correlation(a: Map<number, number>, b: Map<number, number>, minOverlap: number): number {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const [d, v] of a) {
    const w = b.get(d);
    if (w !== undefined) {
      xs.push(v);
      ys.push(w);
    }
  }
  const n = xs.length;
  if (n < minOverlap) return NaN;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/**
 * The number of clusters of trials: trials are linked when their daily P&L correlates at
 * least `threshold` on at least `minOverlap` shared days, and a cluster is a connected
 * component of those links (single linkage). Highly correlated trials (the same
 * configuration retrained daily, neighbouring grid points) count once.
 */
export function trialClusters(series: readonly { firstDay: string | null; dailyPnl: readonly number[] }[], threshold: number, minOverlap: number): number {
  const maps = series.map((s) => byDay(s.firstDay, s.dailyPnl));
  const parent = maps.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  for (let i = 0; i < maps.length; i++) {
    for (let j = i + 1; j < maps.length; j++) {
      if (find(i) === find(j)) continue;
      if (correlation(maps[i]!, maps[j]!, minOverlap) >= threshold) parent[find(i)] = find(j);
    }
  }
  return new Set(maps.map((_, i) => find(i))).size;
}

/**
 * Deflate a candidate's Sharpe by the symbol's trials (SPEC §1.7): N counts every distinct
 * configuration-and-run in the ledger's lookback plus the candidate (its own earlier record
 * of the same configuration and run date is the candidate, not another trial), V is the
 * population variance of their daily Sharpes, SR₀ = √V·E[max of N], and the DSR is the
 * smaller of PSR(SR₀) and the Newey–West-robust Φ(z(SR₀)).
 */
export function deflateByTrials(candidate: TrialCandidate, history: readonly TrialHistoryEntry[], runDate: string, cfg: DeflationConfig = DEFAULT_DEFLATION): TrialDeflation {
  const others = history.filter((h) => !(h.configHash === candidate.configHash && h.runDate === runDate));
  const sharpes = [...others.map((h) => h.sharpe ?? 0), candidate.sharpe ?? 0];
  const n = sharpes.length;
  const variance = trialVariance(sharpes);
  const t = candidate.dailyPnl.length;
  const sr = candidate.sharpe ?? 0;
  const at = (count: number): { iid: number; robust: number; sr0: number } => {
    const sr0 = deflatedBenchmark(count, variance);
    const iid = probabilisticSharpeRatio(sr, sr0, t, candidate.skew, candidate.kurtosis);
    const z = robustSharpeZ(candidate.dailyPnl, sr0);
    return { iid, robust: Number.isFinite(z) ? normalCdf(z) : 0, sr0 };
  };
  const full = at(n);
  const nEff = trialClusters([...others, candidate], cfg.cluster_correlation, cfg.min_overlap_days);
  const eff = at(nEff);
  return {
    n,
    variance,
    sr0: full.sr0,
    dsr_iid: full.iid,
    dsr_robust: full.robust,
    dsr: Math.min(full.iid, full.robust),
    n_effective: nEff,
    dsr_effective: Math.min(eff.iid, eff.robust),
    min_track_record_days: minTrackRecordLength(sr, full.sr0, 0.05, candidate.skew, candidate.kurtosis),
  };
}
