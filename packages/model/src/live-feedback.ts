import { z } from 'zod';
import { symbolSlug } from './bundle-io';

/**
 * What a live trader reports back (issue 19, item 3): one record per decision and one per
 * closed trade, as JSON lines. Append-only; a trade is identified by (model id, entry time)
 * and a decision by (model id, decision time), so re-sending a record never counts it twice.
 */
export const liveDecisionSchema = z
  .object({
    kind: z.literal('decision'),
    symbol: z.string(),
    model_id: z.string().min(1),
    /** Decision time: the candle's close, ISO 8601 UTC. */
    ts: z.iso.datetime(),
    predicted_edge_bps: z.number().nullable(),
    confidence: z.number().nullable(),
    entered: z.boolean(),
    /** Why (not): the decider's reason (`enter`, `below_threshold`, `cooldown`, `model_expired`, …). */
    reason: z.string(),
    /** The model's inputs at this candle, in `feature_names` order (null: missing), for feature-drift monitoring. */
    features: z.array(z.number().nullable()).optional(),
  })
  .strict();
export type LiveDecision = z.infer<typeof liveDecisionSchema>;

export const liveTradeSchema = z
  .object({
    kind: z.literal('trade'),
    symbol: z.string(),
    model_id: z.string().min(1),
    side: z.enum(['long', 'short']),
    entry_ts: z.iso.datetime(),
    exit_ts: z.iso.datetime(),
    exit_reason: z.string(),
    predicted_bps: z.number(),
    /** Realised, after costs (fee, spread, slippage and funding), bps of notional. */
    net_bps: z.number(),
    gross_bps: z.number(),
    cost_bps: z.number(),
  })
  .strict();
export type LiveTrade = z.infer<typeof liveTradeSchema>;

export const liveRecordSchema = z.discriminatedUnion('kind', [liveDecisionSchema, liveTradeSchema]);
export type LiveRecord = z.infer<typeof liveRecordSchema>;

/** Where a live trader's JSON lines go under the publish root: `feedback/BASE-QUOTE/YYYY-MM-DD.jsonl` (UTC day of the record). */
export function feedbackPath(root: string, symbol: string, day: string): string {
  return `${root}/feedback/${symbolSlug(symbol)}/${day}.jsonl`;
}

/** Why a live model was demoted: the rule, what was measured, the bound it broke. */
export const demotionSchema = z
  .object({
    at: z.iso.datetime(),
    rule: z.string(),
    value: z.number(),
    bound: z.number(),
    detail: z.string(),
  })
  .strict();
export type Demotion = z.infer<typeof demotionSchema>;
