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
const slippageSchema = z
  .object({
    /** Minimum slippage per side, bps. */
    floor_bps: z.number(),
    /** Per side: this × rolling σ of 1-minute returns (in bps) at the signal bar. */
    vol_coef: z.number(),
    /** Per side, bps, at `reference_notional_quote`; scales with √(notional / reference). */
    impact_bps_at_reference: z.number(),
    reference_notional_quote: z.number(),
  })
  .strict();

/** `cost-v1`: one taker fee on each side of a spot trade (today's default). */
export const costModelV1Schema = z
  .object({
    /** Formula version; `cost-v1` is the formula documented above. */
    version: z.literal('cost-v1'),
    /** Exchange fee per side in bps (taker). */
    fee_bps_per_side: z.number(),
    /** Full quoted bid-ask spread in bps; half is paid on each side. */
    spread_bps: z.number(),
    slippage: slippageSchema,
    /** Notional per trade, in quote currency (e.g. USDT). */
    notional_quote: z.number(),
    /** Quote currency → GBP rate used for profit in GBP; recorded, never fetched. */
    quote_to_gbp: z.number(),
  })
  .strict();
export type CostModelV1 = z.infer<typeof costModelV1Schema>;

/**
 * `cost-v2` (issue 16): a venue as it charges. Differs from v1 in three ways:
 * - **entry order**: `taker` pays the taker fee, half the spread and slippage on both
 *   sides (as v1); `maker` rests a limit order at the signal bar's close, pays the maker
 *   fee at entry and no spread or slippage there (it is filled at its own price), and only
 *   fills when the market trades *through* the limit (see `maker_fill`); the exit is a
 *   taker order either way (taker fee + half spread + slippage);
 * - **fee discount**: both fees × `fee_discount` (1 = none; e.g. 0.75 paying fees in BNB
 *   on spot, 0.9 on USDⓈ-M);
 * - **funding** (perpetual futures): at every funding time a position is held over, a long
 *   pays `rate` × notional and a short receives it (negative rates reverse the flow).
 */
export const costModelV2Schema = z
  .object({
    version: z.literal('cost-v2'),
    /** The profile it came from, `name@version` (e.g. `binance-usdm-taker@1`); null when written by hand. */
    profile: z.string().nullable(),
    /** What is traded: spot, or a USDⓈ-M linear perpetual (funding applies). */
    market: z.enum(['spot', 'usdm-perp']),
    /** How a position is entered; exits are always taker orders. */
    entry: z.enum(['taker', 'maker']),
    /** Exchange fees, bps of notional, before the discount. */
    fee_bps: z.object({ maker: z.number(), taker: z.number() }).strict(),
    /** Multiplier on both fees (1 = none). */
    fee_discount: z.number(),
    /** Full quoted bid-ask spread in bps; a taker side pays half of it. */
    spread_bps: z.number(),
    /** Slippage of a taker side (a maker entry has none). */
    slippage: slippageSchema,
    /**
     * The pessimistic fill of a maker entry: a limit at the signal bar's close fills only
     * when one of the next `window_minutes` bars trades through it by at least
     * `through_bps` (≥ one tick: the low below a long's limit, the high above a short's);
     * a touch is not a fill. Unfilled orders are cancelled at the window's end and counted.
     */
    maker_fill: z.object({ window_minutes: z.number().int().min(1), through_bps: z.number() }).strict(),
    /**
     * Funding of a perpetual: `none` (spot); `series`: the venue's funding rates, supplied
     * with the candles; `constant`: `constant_rate_bps` at every funding time (e.g. 0 when
     * pricing perp costs on spot candles, where no series exists). Funding times are every
     * `interval_hours` from 00:00 UTC.
     */
    funding: z
      .object({ mode: z.enum(['none', 'series', 'constant']), constant_rate_bps: z.number(), interval_hours: z.number().int().min(1).max(24) })
      .strict(),
    notional_quote: z.number(),
    quote_to_gbp: z.number(),
  })
  .strict();
export type CostModelV2 = z.infer<typeof costModelV2Schema>;

/** Any version of the cost model a manifest may record. */
export const costModelSchema = z.discriminatedUnion('version', [costModelV1Schema, costModelV2Schema]);
export type CostModel = z.infer<typeof costModelSchema>;

/** The defaults: ≈ 23 bps per round trip on a typical minute. */
export const DEFAULT_COST_MODEL: CostModelV1 = {
  version: 'cost-v1',
  fee_bps_per_side: 10,
  spread_bps: 2,
  slippage: { floor_bps: 0.4, vol_coef: 0.05, impact_bps_at_reference: 1, reference_notional_quote: 1_000_000 },
  notional_quote: 1_000,
  quote_to_gbp: 0.79,
};

/** Round-trip cost components in bps (funding, which depends on the holding time, is separate). */
export interface RoundTripCost {
  fee_bps: number;
  spread_bps: number;
  slippage_bps: number;
  total_bps: number;
}

/** Slippage per taker side (bps) for a given 1-minute σ expressed in bps. */
export function slippagePerSideBps(model: CostModel, sigma1Bps: number): number {
  const s = model.slippage;
  const size = s.impact_bps_at_reference * Math.sqrt(model.notional_quote / s.reference_notional_quote);
  return s.floor_bps + s.vol_coef * sigma1Bps + size;
}

/** True when entries are resting limit orders (cost-v2 with `entry: maker`). */
export function isMakerEntry(model: CostModel): model is CostModelV2 & { entry: 'maker' } {
  return model.version === 'cost-v2' && model.entry === 'maker';
}

/**
 * Round-trip cost of one (filled) trade entered when the 1-minute σ is `sigma1Bps`:
 * fees of both sides, half the spread and one slippage per taker side. Funding is not
 * included (see {@link fundingCostBps}).
 */
export function roundTripCost(model: CostModel, sigma1Bps: number): RoundTripCost {
  const slip = slippagePerSideBps(model, sigma1Bps);
  if (model.version === 'cost-v1') {
    const fee = 2 * model.fee_bps_per_side;
    const spread = model.spread_bps;
    const slippage = 2 * slip;
    return { fee_bps: fee, spread_bps: spread, slippage_bps: slippage, total_bps: fee + spread + slippage };
  }
  const takerSides = model.entry === 'maker' ? 1 : 2;
  const entryFee = model.entry === 'maker' ? model.fee_bps.maker : model.fee_bps.taker;
  const fee = (entryFee + model.fee_bps.taker) * model.fee_discount;
  const spread = (model.spread_bps / 2) * takerSides;
  const slippage = slip * takerSides;
  return { fee_bps: fee, spread_bps: spread, slippage_bps: slippage, total_bps: fee + spread + slippage };
}

/** Funding settings in force: none for cost-v1 and spot. */
export function fundingOf(model: CostModel): CostModelV2['funding'] | null {
  return model.version === 'cost-v2' && model.market === 'usdm-perp' && model.funding.mode !== 'none' ? model.funding : null;
}

/**
 * Funding times (epoch ms) a position held over [entryTs, exitTs) spans: every
 * `interval_hours` from 00:00 UTC. A position open at a funding instant pays (long) or
 * receives (short) that funding; one opened exactly at it pays too, one closed exactly
 * at it does not.
 */
export function fundingTimesSpanned(entryTs: number, exitTs: number, intervalHours: number): number[] {
  const step = intervalHours * 3_600_000;
  const out: number[] = [];
  for (let t = Math.ceil(entryTs / step) * step; t < exitTs; t += step) out.push(t);
  return out;
}

/**
 * The funding a position pays over [entryTs, exitTs) at a constant rate, bps of notional
 * (negative: received): `constant_rate_bps` at every funding time it spans; longs pay a
 * positive rate, shorts receive it. 0 off perpetuals. (In `series` mode the labeller sums
 * the venue's own events instead.)
 */
export function fundingCostBps(model: CostModel, side: 'long' | 'short', entryTs: number, exitTs: number): number {
  const f = fundingOf(model);
  if (f === null || f.mode !== 'constant') return 0;
  const sum = f.constant_rate_bps * fundingTimesSpanned(entryTs, exitTs, f.interval_hours).length;
  // (+ 0: a short spanning no event pays 0, not −0.)
  return (side === 'long' ? sum : -sum) + 0;
}

/**
 * The smallest possible round-trip cost (σ = 0) of a trade held `holdMinutes` (default:
 * no funding time need be crossed): no label can beat a take-profit below it. With
 * constant funding that longs pay (or shorts pay, when negative), a hold of at least one
 * funding interval must cross ⌊hold / interval⌋ funding times, which are added.
 */
export function minimumRoundTripBps(model: CostModel, side: 'long' | 'short' = 'long', holdMinutes = 0): number {
  const base = roundTripCost(model, 0).total_bps;
  const f = fundingOf(model);
  if (f === null || f.mode !== 'constant') return base;
  const crossed = Math.floor(holdMinutes / (f.interval_hours * 60));
  const perEvent = side === 'long' ? f.constant_rate_bps : -f.constant_rate_bps;
  return base + (perEvent > 0 ? crossed * perEvent : 0);
}

/** A copy with fee, spread and slippage scaled (scenario tests: costs ×2). */
export function scaleCosts(model: CostModel, factor: number): CostModel {
  const slippage = {
    ...model.slippage,
    floor_bps: model.slippage.floor_bps * factor,
    vol_coef: model.slippage.vol_coef * factor,
    impact_bps_at_reference: model.slippage.impact_bps_at_reference * factor,
  };
  if (model.version === 'cost-v1') return { ...model, fee_bps_per_side: model.fee_bps_per_side * factor, spread_bps: model.spread_bps * factor, slippage };
  return { ...model, fee_bps: { maker: model.fee_bps.maker * factor, taker: model.fee_bps.taker * factor }, spread_bps: model.spread_bps * factor, slippage };
}

/** Mean fee per side after any discount, bps (what v1 calls `fee_bps_per_side`). */
export function meanFeePerSideBps(model: CostModel): number {
  if (model.version === 'cost-v1') return model.fee_bps_per_side;
  return roundTripCost(model, 0).fee_bps / 2;
}

/** Check a cost model's numbers; returns the problems found (empty when valid). */
export function costModelProblems(model: CostModel): string[] {
  const p: string[] = [];
  const nonNeg = (name: string, v: number) => {
    if (!Number.isFinite(v) || v < 0) p.push(`${name} must be a finite number ≥ 0, got ${v}`);
  };
  const version = (model as { version: unknown }).version;
  if (version !== 'cost-v1' && version !== 'cost-v2') {
    p.push(`version must be 'cost-v1' or 'cost-v2', got '${String(version)}'`);
    return p;
  }
  if (model.version === 'cost-v1') nonNeg('fee_bps_per_side', model.fee_bps_per_side);
  else {
    // A maker rebate is a negative maker fee: allowed, but never more than the taker fee it pays on exit.
    if (!Number.isFinite(model.fee_bps.maker) || model.fee_bps.maker < -model.fee_bps.taker) p.push(`fee_bps.maker must be finite and ≥ −fee_bps.taker, got ${model.fee_bps.maker}`);
    nonNeg('fee_bps.taker', model.fee_bps.taker);
    if (!(Number.isFinite(model.fee_discount) && model.fee_discount > 0 && model.fee_discount <= 1)) p.push(`fee_discount must be in (0, 1], got ${model.fee_discount}`);
    nonNeg('maker_fill.through_bps', model.maker_fill.through_bps);
    if (!Number.isFinite(model.funding.constant_rate_bps)) p.push(`funding.constant_rate_bps must be finite, got ${model.funding.constant_rate_bps}`);
    if (model.market === 'spot' && model.funding.mode !== 'none') p.push(`funding.mode must be 'none' on the spot market, got '${model.funding.mode}'`);
    if (model.market === 'usdm-perp' && model.funding.mode === 'none') p.push(`funding.mode must be 'series' or 'constant' on a perpetual (constant 0 to ignore funding, said so in the manifest), got 'none'`);
  }
  nonNeg('spread_bps', model.spread_bps);
  nonNeg('slippage.floor_bps', model.slippage.floor_bps);
  nonNeg('slippage.vol_coef', model.slippage.vol_coef);
  nonNeg('slippage.impact_bps_at_reference', model.slippage.impact_bps_at_reference);
  if (!(model.slippage.reference_notional_quote > 0)) p.push(`slippage.reference_notional_quote must be > 0, got ${model.slippage.reference_notional_quote}`);
  if (!(model.notional_quote > 0)) p.push(`notional_quote must be > 0, got ${model.notional_quote}`);
  if (!(model.quote_to_gbp > 0)) p.push(`quote_to_gbp must be > 0, got ${model.quote_to_gbp}`);
  return p;
}
