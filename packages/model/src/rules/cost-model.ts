import { z } from 'zod';

/**
 * The versioned trading-cost model every label, simulation and manifest uses.
 *
 * A round trip (enter + exit) pays, in basis points of notional:
 * - the exchange fee on each side (`fee_bps_per_side`, default 10 bps taker);
 * - half the quoted spread on each side (crossing from mid), i.e. `spread_bps` in total;
 * - slippage on each side: a floor, plus a volatility term proportional to the rolling
 *   1-minute return volatility at the signal bar, plus a square-root size term
 *   (`impact_bps_at_reference × √(notional / reference_notional)`).
 *
 * With the defaults and a typical 1-minute σ of 5–10 bps this is ≈ 23 bps per round trip
 * (SPEC §6). The object is recorded verbatim in every manifest; bump `version` whenever
 * the formula changes (not when only the numbers change: they are recorded too).
 */
export const costModelSchema = z
  .object({
    /** Formula version; `cost-v1` is the formula documented above. */
    version: z.literal('cost-v1'),
    /** Exchange fee per side in bps (taker). */
    fee_bps_per_side: z.number(),
    /** Full quoted bid-ask spread in bps; half is paid on each side. */
    spread_bps: z.number(),
    slippage: z
      .object({
        /** Minimum slippage per side, bps. */
        floor_bps: z.number(),
        /** Per side: this × rolling σ of 1-minute returns (in bps) at the signal bar. */
        vol_coef: z.number(),
        /** Per side, bps, at `reference_notional_quote`; scales with √(notional / reference). */
        impact_bps_at_reference: z.number(),
        reference_notional_quote: z.number(),
      })
      .strict(),
    /** Notional per trade, in quote currency (e.g. USDT). */
    notional_quote: z.number(),
    /** Quote currency → GBP rate used for profit in GBP; recorded, never fetched. */
    quote_to_gbp: z.number(),
  })
  .strict();
export type CostModel = z.infer<typeof costModelSchema>;

/** The defaults: ≈ 23 bps per round trip on a typical minute. */
export const DEFAULT_COST_MODEL: CostModel = {
  version: 'cost-v1',
  fee_bps_per_side: 10,
  spread_bps: 2,
  slippage: { floor_bps: 0.4, vol_coef: 0.05, impact_bps_at_reference: 1, reference_notional_quote: 1_000_000 },
  notional_quote: 1_000,
  quote_to_gbp: 0.79,
};

/** Round-trip cost components in bps. */
export interface RoundTripCost {
  fee_bps: number;
  spread_bps: number;
  slippage_bps: number;
  total_bps: number;
}

/** Slippage per side (bps) for a given 1-minute σ expressed in bps. */
export function slippagePerSideBps(model: CostModel, sigma1Bps: number): number {
  const s = model.slippage;
  const size = s.impact_bps_at_reference * Math.sqrt(model.notional_quote / s.reference_notional_quote);
  return s.floor_bps + s.vol_coef * sigma1Bps + size;
}

/** Round-trip cost of one trade entered when the 1-minute σ is `sigma1Bps`. */
export function roundTripCost(model: CostModel, sigma1Bps: number): RoundTripCost {
  const fee = 2 * model.fee_bps_per_side;
  const spread = model.spread_bps;
  const slippage = 2 * slippagePerSideBps(model, sigma1Bps);
  return { fee_bps: fee, spread_bps: spread, slippage_bps: slippage, total_bps: fee + spread + slippage };
}

/** The smallest possible round-trip cost (σ = 0): no label can beat a take-profit below it. */
export function minimumRoundTripBps(model: CostModel): number {
  return roundTripCost(model, 0).total_bps;
}

/** A copy with fee, spread and slippage scaled (scenario tests: costs ×2). */
export function scaleCosts(model: CostModel, factor: number): CostModel {
  return {
    ...model,
    fee_bps_per_side: model.fee_bps_per_side * factor,
    spread_bps: model.spread_bps * factor,
    slippage: {
      ...model.slippage,
      floor_bps: model.slippage.floor_bps * factor,
      vol_coef: model.slippage.vol_coef * factor,
      impact_bps_at_reference: model.slippage.impact_bps_at_reference * factor,
    },
  };
}

/** Check a cost model's numbers; returns the problems found (empty when valid). */
export function costModelProblems(model: CostModel): string[] {
  const p: string[] = [];
  const nonNeg = (name: string, v: number) => {
    if (!Number.isFinite(v) || v < 0) p.push(`${name} must be a finite number ≥ 0, got ${v}`);
  };
  if (model.version !== 'cost-v1') p.push(`version must be 'cost-v1', got '${String(model.version)}'`);
  nonNeg('fee_bps_per_side', model.fee_bps_per_side);
  nonNeg('spread_bps', model.spread_bps);
  nonNeg('slippage.floor_bps', model.slippage.floor_bps);
  nonNeg('slippage.vol_coef', model.slippage.vol_coef);
  nonNeg('slippage.impact_bps_at_reference', model.slippage.impact_bps_at_reference);
  if (!(model.slippage.reference_notional_quote > 0)) p.push(`slippage.reference_notional_quote must be > 0, got ${model.slippage.reference_notional_quote}`);
  if (!(model.notional_quote > 0)) p.push(`notional_quote must be > 0, got ${model.notional_quote}`);
  if (!(model.quote_to_gbp > 0)) p.push(`quote_to_gbp must be > 0, got ${model.quote_to_gbp}`);
  return p;
}
