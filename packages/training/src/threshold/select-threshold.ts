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
  /**
   * A fold trades only when its best candidate made MORE than this many net bps in total on
   * the calibration slice (default 0: it made money). Otherwise the fold does not trade at
   * all (rule `no_profitable_candidate`), and neither does a fold without any candidate of
   * `min_trades` trades: no evidence of an edge, no trading. `null` lifts the requirement
   * (research only: e.g. to measure the noise floor of a model that must trade): the best
   * candidate trades whatever it made, and without one the fold trades only predictions
   * above every calibration prediction (the rule before issue 14).
   */
  min_calibration_net_bps: number | null;
}

export const DEFAULT_THRESHOLD: ThresholdConfig = {
  quantiles: [0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999],
  min_threshold_bps: 0,
  min_trades: 10,
  calibration_days: 5,
  min_calibration_net_bps: 0,
};

export interface ThresholdCandidate {
  threshold_bps: number;
  trades: number;
  total_net_bps: number;
}

/** The chosen threshold and the evidence for it. */
export interface ThresholdChoice {
  threshold_bps: number;
  /** Where the calibration predictions came from; `policy`: a trading agent's own greedy trades (family ppo, no threshold). */
  source: 'previous_fold_oos' | 'inner_model' | 'pooled_oos' | 'policy';
  calibration_start: number;
  calibration_end: number;
  calibration_rows: number;
  /**
   * Whether to trade at all. False when no candidate made money on the calibration slice
   * (or none made `min_trades` trades): the fold does not trade, and a final choice that
   * does not trade fails the `final_threshold` gate.
   */
  trade: boolean;
  /** Calibration trades and net bps of the best candidate (0 and 0 when there is none). */
  trades: number;
  total_net_bps: number;
  /** Why this candidate (or no trading) was chosen. */
  rule: 'best_total_net' | 'no_profitable_candidate' | 'no_candidate_with_min_trades' | 'policy_profitable' | 'policy_unprofitable' | 'policy_too_few_trades';
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
 * total net bps among those with at least `min_trades` trades is the best (ties: the
 * higher threshold). It is chosen (`trade: true`) only when its total is above
 * `min_calibration_net_bps` (default 0: it made money). Otherwise — no candidate made
 * money, or none made `min_trades` trades — the answer is *do not trade* (`trade: false`,
 * rule `no_profitable_candidate` or `no_candidate_with_min_trades`); its `threshold_bps`
 * then sits above every calibration prediction (and at least the floor), the most
 * cautious finite threshold, for whoever reads it without looking at `trade`.
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
  const floor = cfg.min_calibration_net_bps;
  if (best && (floor === null || best.total_net_bps > floor)) {
    return { ...base, threshold_bps: best.threshold_bps, trade: true, trades: best.trades, total_net_bps: best.total_net_bps, rule: 'best_total_net' };
  }
  const top = sorted.length > 0 ? sorted[sorted.length - 1]! : cfg.min_threshold_bps;
  const cautious = Math.max(cfg.min_threshold_bps, top);
  if (best) return { ...base, threshold_bps: cautious, trade: false, trades: best.trades, total_net_bps: best.total_net_bps, rule: 'no_profitable_candidate' };
  // Without the requirement (null), a fold without evidence still trades, only above every calibration prediction.
  return { ...base, threshold_bps: cautious, trade: floor === null, trades: 0, total_net_bps: 0, rule: 'no_candidate_with_min_trades' };
}
