import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_PUBLISH_ROOT, feedbackPath, liveRecordSchema, type LiveDecision, type LiveRecord, type LiveTrade } from '@engine/model';
import { LiveFeedError } from './errors';

/**
 * Where a `Trader` reports what it did (issue 19, item 3): each decision and each closed
 * trade. Pluggable: JSON lines in the publish target's folder (`JsonlFeedbackSink`, which
 * the sync worker ingests), PostgreSQL directly (`@engine/registry`'s `PgFeedbackSink`, for a
 * trader that may reach the database), or anything with these two methods. A sink must not
 * block the candle loop for long; a failing sink is reported, never allowed to stop trading.
 */
export interface FeedbackSink {
  record(r: LiveRecord): void | Promise<void>;
}

/**
 * JSON lines under a local folder in the publish layout: `<dir><root>/feedback/BASE-QUOTE/
 * YYYY-MM-DD.jsonl` (the UTC day of the record; `root` default `/Runpodhuracan`), appended
 * synchronously, one record per line. Point `dir` at the local Dropbox folder (or the folder
 * target) so the sync worker finds the files where it publishes.
 */
export class JsonlFeedbackSink implements FeedbackSink {
  private readonly made = new Set<string>();
  constructor(
    private readonly dir: string,
    private readonly root = DEFAULT_PUBLISH_ROOT,
  ) {}

  record(r: LiveRecord): void {
    const checked = liveRecordSchema.safeParse(r);
    if (!checked.success) throw new LiveFeedError(`feedback record is not a live decision or trade: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const day = (r.kind === 'trade' ? r.exit_ts : r.ts).slice(0, 10);
    const file = path.join(this.dir, feedbackPath(this.root, r.symbol, day));
    const folder = path.dirname(file);
    if (!this.made.has(folder)) {
      mkdirSync(folder, { recursive: true });
      this.made.add(folder);
    }
    appendFileSync(file, `${JSON.stringify(checked.data)}\n`);
  }
}

/** A decision record from what the trader decided (times as ISO). */
export function decisionRecord(d: { symbol: string; model_id: string; decision_ts: number; edge_bps: number; confidence: number; enter: boolean; reason: string }): LiveDecision {
  return {
    kind: 'decision',
    symbol: d.symbol,
    model_id: d.model_id,
    ts: new Date(d.decision_ts).toISOString(),
    predicted_edge_bps: Number.isFinite(d.edge_bps) ? d.edge_bps : null,
    confidence: Number.isFinite(d.confidence) ? d.confidence : null,
    entered: d.enter,
    reason: d.reason,
  };
}

/** A trade record from a closed position with P&L figures (null for an unfilled order or one without figures). */
export function tradeRecord(symbol: string, e: { model_id: string; side: 'long' | 'short'; entry_ts: number; exit_ts: number; exit_reason: string; predicted_bps: number; net_bps: number; gross_bps: number; fee_bps: number; spread_bps: number; slippage_bps: number; funding_bps: number }): LiveTrade | null {
  if (e.exit_reason === 'unfilled' || !Number.isFinite(e.net_bps)) return null;
  return {
    kind: 'trade',
    symbol,
    model_id: e.model_id,
    side: e.side,
    entry_ts: new Date(e.entry_ts).toISOString(),
    exit_ts: new Date(e.exit_ts).toISOString(),
    exit_reason: e.exit_reason,
    predicted_bps: e.predicted_bps,
    net_bps: e.net_bps,
    gross_bps: e.gross_bps,
    cost_bps: e.fee_bps + e.spread_bps + e.slippage_bps + (Number.isFinite(e.funding_bps) ? e.funding_bps : 0),
  };
}
