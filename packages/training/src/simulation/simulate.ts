import { MINUTE_MS } from '@engine/shared';
import { EXIT_UNFILLED, type TripleBarrierLabels, TradeDecider, type TradingRules } from '@engine/model';

/** One simulated trade. Times are epoch ms; bps are of notional. */
export interface SimTrade {
  /** Signal row (the bar whose close produced the decision). */
  row: number;
  fold: number;
  /** Open time of the signal bar; the trade belongs to this bar's UTC day and fold. */
  signal_ts: number;
  /** The signal bar's close, when the decision is taken; the entry fills at the next bar's open, the same instant. */
  decision_ts: number;
  entry_ts: number;
  exit_ts: number;
  exit_index: number;
  exit_reason: number;
  predicted_bps: number;
  threshold_bps: number;
  gross_bps: number;
  net_bps: number;
  fee_bps: number;
  spread_bps: number;
  slippage_bps: number;
  /** Funding paid over the trade, bps (negative: received); 0 (or absent, in hand-made trades) off perpetuals. */
  funding_bps?: number;
  /** The side traded, for a `both` model (absent: the model's only side). */
  side?: 'long' | 'short';
}

/** A maker entry the decider took whose limit order never filled: no trade, but counted. */
export interface UnfilledSignal {
  row: number;
  fold: number;
  decision_ts: number;
  /** When the order was cancelled (the fill window's last close); the decider's cooldown runs from here. */
  cancel_ts: number;
}

/** Predictions for a run of rows traded under one threshold (e.g. one fold's test window). */
export interface SimSegment {
  fold: number;
  threshold_bps: number;
  /** Candidate rows, ascending in time; rows without a label are never entered. */
  rows: Int32Array;
  /** Predicted net edge per entry of `rows`. */
  predicted_bps: Float64Array;
  /** False: the segment is not traded at all (its threshold choice found no calibration profit). Default true. */
  trade?: boolean;
}

/**
 * Book an entry the decider took at row `i`: close the position at the label's exit, then
 * either record the trade or, for a maker entry that never filled, the unfilled signal.
 */
function book(
  decider: TradeDecider,
  labels: TripleBarrierLabels,
  ts: Float64Array,
  i: number,
  seg: SimSegment,
  r: number,
  decisionTs: number,
  trades: SimTrade[],
  unfilled: UnfilledSignal[] | undefined,
  side?: 'long' | 'short',
): void {
  const e = labels.exit_index[i]!;
  const exitTs = ts[e]! + MINUTE_MS;
  decider.closePosition(exitTs);
  if (labels.exit_reason[i] === EXIT_UNFILLED) {
    // The limit order rested until exitTs and was cancelled: it used the day's entry and
    // its cooldown (as a live order would have), but nothing traded.
    unfilled?.push({ row: i, fold: seg.fold, decision_ts: decisionTs, cancel_ts: exitTs });
    return;
  }
  trades.push({
    row: i,
    fold: seg.fold,
    signal_ts: ts[i]!,
    decision_ts: decisionTs,
    entry_ts: labels.entry_index[i]! > i + 1 ? ts[labels.entry_index[i]!]! : decisionTs,
    exit_ts: exitTs,
    exit_index: e,
    exit_reason: labels.exit_reason[i]!,
    predicted_bps: seg.predicted_bps[r]!,
    threshold_bps: seg.threshold_bps,
    gross_bps: labels.gross_bps[i]!,
    net_bps: labels.net_edge_bps[i]!,
    fee_bps: labels.fee_bps[i]!,
    spread_bps: labels.spread_bps[i]!,
    slippage_bps: labels.slippage_bps[i]!,
    funding_bps: labels.funding_bps[i]!,
    ...(side ? { side } : {}),
  });
}

/**
 * Trade the segments in time order with one {@link TradeDecider}, Hamilton's way: enter
 * at the next bar's open when the predicted edge beats the segment's threshold, hold until
 * the label's exit (TP, SL or the vertical barrier), then cool down. State (open position,
 * cooldown, daily count) carries across segment boundaries, as it would live.
 */
export function simulateSegments(
  segments: readonly SimSegment[],
  labels: TripleBarrierLabels,
  ts: Float64Array,
  rules: Omit<TradingRules, 'threshold_bps'>,
  /** Receives every signal whose maker entry never filled (never silently dropped). */
  unfilled?: UnfilledSignal[],
): SimTrade[] {
  const trades: SimTrade[] = [];
  if (segments.length === 0) return trades;
  const decider = new TradeDecider({ ...rules, threshold_bps: segments[0]!.threshold_bps });
  for (const seg of segments) {
    if (seg.trade === false) continue;
    decider.setThreshold(seg.threshold_bps);
    const { rows, predicted_bps: pred } = seg;
    if (pred.length !== rows.length) throw new RangeError(`segment of fold ${seg.fold}: ${rows.length} rows but ${pred.length} predictions`);
    for (let r = 0; r < rows.length; r++) {
      const i = rows[r]!;
      const net = labels.net_edge_bps[i]!;
      if (Number.isNaN(net)) continue;
      const decisionTs = ts[i]! + MINUTE_MS;
      const d = decider.decide(decisionTs, pred[r]!);
      if (!d.enter) continue;
      book(decider, labels, ts, i, seg, r, decisionTs, trades, unfilled);
    }
  }
  return trades;
}

/**
 * Trade a `both` model: the long and the short model's segments (the same folds and rows,
 * each with its own threshold) with ONE {@link TradeDecider}, Hamilton's way. At each row the
 * margin of each side is its prediction minus its threshold (a side whose fold does not
 * trade, or without a prediction, has none); the decider sees the larger margin against a
 * threshold of 0, and an entry takes that side (long on a tie), with that side's label path
 * and costs. One position at a time, one cooldown and one daily cap across both sides.
 */
export function simulateBothSides(
  longSegments: readonly SimSegment[],
  shortSegments: readonly SimSegment[],
  longLabels: TripleBarrierLabels,
  shortLabels: TripleBarrierLabels,
  ts: Float64Array,
  rules: Omit<TradingRules, 'threshold_bps'>,
  unfilled?: UnfilledSignal[],
): SimTrade[] {
  if (longSegments.length !== shortSegments.length) throw new RangeError(`both sides need the same folds: ${longSegments.length} long segments, ${shortSegments.length} short`);
  const trades: SimTrade[] = [];
  const decider = new TradeDecider({ ...rules, threshold_bps: 0 });
  for (let k = 0; k < longSegments.length; k++) {
    const L = longSegments[k]!;
    const S = shortSegments[k]!;
    if (L.fold !== S.fold || L.rows.length !== S.rows.length) throw new RangeError(`segment ${k}: long fold ${L.fold} (${L.rows.length} rows) and short fold ${S.fold} (${S.rows.length} rows) differ`);
    const longOn = L.trade !== false;
    const shortOn = S.trade !== false;
    if (!longOn && !shortOn) continue;
    for (let r = 0; r < L.rows.length; r++) {
      const i = L.rows[r]!;
      if (S.rows[r] !== i) throw new RangeError(`segment ${k}: row ${r} is ${i} long but ${S.rows[r]} short`);
      const mLong = longOn && !Number.isNaN(longLabels.net_edge_bps[i]!) ? L.predicted_bps[r]! - L.threshold_bps : NaN;
      const mShort = shortOn && !Number.isNaN(shortLabels.net_edge_bps[i]!) ? S.predicted_bps[r]! - S.threshold_bps : NaN;
      if (Number.isNaN(mLong) && Number.isNaN(mShort)) continue;
      const goShort = Number.isNaN(mLong) || mShort > mLong;
      const margin = goShort ? mShort : mLong;
      const decisionTs = ts[i]! + MINUTE_MS;
      const d = decider.decide(decisionTs, margin);
      if (!d.enter) continue;
      book(decider, goShort ? shortLabels : longLabels, ts, i, goShort ? S : L, r, decisionTs, trades, unfilled, goShort ? 'short' : 'long');
    }
  }
  return trades;
}
