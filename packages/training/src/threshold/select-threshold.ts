import type { TripleBarrierLabels, TradingRules } from '@engine/model';
import { simulateSegments } from '../simulation/simulate';

/** How the entry threshold is chosen (always on training data, never on a test window). */
export interface ThresholdConfig {
  /** Quantile levels of the calibration predictions tried as thresholds. */
  quantiles: number[];
  /** Never trade a predicted net edge at or below this, bps (predictions are already net of costs). Default 0. */
  min_threshold_bps: number;
  /** A candidate must make at least this many calibration trades to be chosen. Default 10. */
  min_trades: number;
  /**
   * Length of the calibration slice at the end of each training window, days (default 5).
   * Its predictions come from a model fitted on earlier data only: the previous fold's
   * out-of-sample predictions when that fold's test window is exactly this slice, else an
   * inner model fitted on the rest of the training window (purged).
   */
  calibration_days: number;
}

export const DEFAULT_THRESHOLD: ThresholdConfig = {
  quantiles: [0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999],
  min_threshold_bps: 0,
  min_trades: 10,
  calibration_days: 5,
};

export interface ThresholdCandidate {
  threshold_bps: number;
  trades: number;
  total_net_bps: number;
}

/** The chosen threshold and the evidence for it. */
export interface ThresholdChoice {
  threshold_bps: number;
  /** Where the calibration predictions came from. */
  source: 'previous_fold_oos' | 'inner_model' | 'pooled_oos';
  calibration_start: number;
  calibration_end: number;
  calibration_rows: number;
  /** Calibration trades and net bps at the chosen threshold. */
  trades: number;
  total_net_bps: number;
  /** Why this candidate (or the fallback) was chosen. */
  rule: 'best_total_net' | 'no_candidate_with_min_trades';
  candidates: ThresholdCandidate[];
}

/** Linear-interpolated quantile of sorted values. */
function quantileSorted(v: Float64Array, q: number): number {
  if (v.length === 0) return NaN;
  const pos = q * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(v.length - 1, lo + 1);
  return v[lo]! + (v[hi]! - v[lo]!) * (pos - lo);
}

/**
 * Choose the entry threshold on calibration rows (training data): every candidate
 * (quantiles of the calibration predictions, floored at `min_threshold_bps`) is traded
 * with the same {@link simulateSegments} rules Hamilton uses, and the one with the largest
 * total net bps among those with at least `min_trades` trades wins (ties: the higher
 * threshold). With no such candidate the threshold is set above every calibration
 * prediction (and at least the floor): without evidence, trade only stronger signals than
 * any seen.
 */
export function selectThreshold(
  rows: Int32Array,
  predicted: Float64Array,
  labels: TripleBarrierLabels,
  ts: Float64Array,
  rules: Omit<TradingRules, 'threshold_bps'>,
  cfg: ThresholdConfig,
  meta: { source: ThresholdChoice['source']; start: number; end: number },
): ThresholdChoice {
  const finite: number[] = [];
  for (let r = 0; r < rows.length; r++) {
    const p = predicted[r]!;
    if (Number.isFinite(p) && !Number.isNaN(labels.net_edge_bps[rows[r]!]!)) finite.push(p);
  }
  const sorted = Float64Array.from(finite).sort();
  const set = new Set<number>();
  for (const q of cfg.quantiles) {
    const v = quantileSorted(sorted, q);
    if (Number.isFinite(v)) set.add(Math.max(cfg.min_threshold_bps, v));
  }
  const candidates: ThresholdCandidate[] = [];
  for (const thr of [...set].sort((a, b) => a - b)) {
    const trades = simulateSegments([{ fold: -1, threshold_bps: thr, rows, predicted_bps: predicted }], labels, ts, rules);
    let total = 0;
    for (const t of trades) total += t.net_bps;
    candidates.push({ threshold_bps: thr, trades: trades.length, total_net_bps: total });
  }
  let best: ThresholdCandidate | undefined;
  for (const c of candidates) {
    if (c.trades < cfg.min_trades) continue;
    if (!best || c.total_net_bps > best.total_net_bps || (c.total_net_bps === best.total_net_bps && c.threshold_bps > best.threshold_bps)) best = c;
  }
  const base = { source: meta.source, calibration_start: meta.start, calibration_end: meta.end, calibration_rows: finite.length, candidates };
  if (best) return { ...base, threshold_bps: best.threshold_bps, trades: best.trades, total_net_bps: best.total_net_bps, rule: 'best_total_net' };
  const top = sorted.length > 0 ? sorted[sorted.length - 1]! : cfg.min_threshold_bps;
  return { ...base, threshold_bps: Math.max(cfg.min_threshold_bps, top), trades: 0, total_net_bps: 0, rule: 'no_candidate_with_min_trades' };
}
