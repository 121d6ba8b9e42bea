import { roundTripCost, type CostModel, type TripleBarrierLabels } from '@engine/model';
import type { SimTrade } from '../simulation/simulate';
import { tradeMetrics } from './trade-metrics';

/** One point of a model's cost curve: its out-of-sample trades re-priced at one round-trip cost. */
export interface CostCurvePoint {
  /** Round-trip cost charged to every trade, bps. */
  cost_bps: number;
  /** Annualised daily Sharpe (as the sharpe_ratio gate computes it). */
  sharpe: number;
  /** Profit factor; null when no trade loses. */
  profit_factor: number | null;
}

/**
 * The break-even cost of a model (issue 16, item 5): the largest round-trip cost, in bps,
 * at which its out-of-sample trades would still pass the Sharpe and profit-factor gates.
 *
 * The trades are re-priced, not re-simulated: entries, exits and barriers are held fixed,
 * and every trade pays the same round-trip cost C instead of its own fee, spread and
 * slippage (net = gross − C). A cheaper venue would also change the labels, the model and
 * the threshold; this answers "how much cost could these trades bear?".
 */
export interface BreakEven {
  /** Largest C (to 0.01 bps) with both gates passing at every cost from 0 to C; null when they fail even at C = 0 (the trades lose before costs, or there are none). */
  round_trip_bps: number | null;
  /** Mean round-trip cost the trades actually paid (fee + spread + slippage), bps; null without trades. */
  paid_round_trip_bps: number | null;
  /** round_trip_bps − paid_round_trip_bps: the room left (negative: costs would have to fall this much). */
  margin_bps: number | null;
  trades: number;
  /** The bounds it was solved for. */
  min_sharpe: number;
  min_profit_factor: number;
  /** The curve at whole bps from 0 to `curve_max_bps`, for the plot. */
  curve: CostCurvePoint[];
}

/** The gates' verdict at cost C. */
function at(trades: readonly SimTrade[], days: readonly number[], costs: CostModel, c: number): CostCurvePoint {
  const repriced = trades.map((t) => ({ ...t, fee_bps: c, spread_bps: 0, slippage_bps: 0, net_bps: t.gross_bps - c - (t.funding_bps ?? 0) }));
  const m = tradeMetrics(repriced, days, costs);
  return { cost_bps: c, sharpe: m.sharpe_ratio, profit_factor: m.profit_factor };
}

const passes = (p: CostCurvePoint, minSharpe: number, minPf: number): boolean =>
  p.sharpe >= minSharpe && (p.profit_factor === null ? p.sharpe > 0 : p.profit_factor >= minPf);

/** Solve for the break-even cost; `maxBps` bounds the search (a model that passes beyond it reports `maxBps`). */
export function breakEvenCost(
  trades: readonly SimTrade[],
  days: readonly number[],
  costs: CostModel,
  bounds: { min_sharpe: number; min_profit_factor: number },
  opts: { maxBps?: number; stepBps?: number } = {},
): BreakEven {
  const maxBps = opts.maxBps ?? 200;
  const step = opts.stepBps ?? 0.5;
  const n = trades.length;
  const paid = n === 0 ? null : trades.reduce((s, t) => s + t.fee_bps + t.spread_bps + t.slippage_bps, 0) / n;
  // The scan visits the whole-bps costs the curve plots: price each cost once.
  const priced = new Map<number, CostCurvePoint>();
  const point = (c: number): CostCurvePoint => {
    let p = priced.get(c);
    if (p === undefined) priced.set(c, (p = at(trades, days, costs, c)));
    return p;
  };
  const ok = (c: number) => n > 0 && passes(point(c), bounds.min_sharpe, bounds.min_profit_factor);

  let roundTrip: number | null = null;
  if (ok(0)) {
    // Walk up in steps to the first failing cost, then bisect the last step to 0.01 bps.
    let lo = 0;
    let hi: number | null = null;
    for (let c = step; c <= maxBps + 1e-9; c += step) {
      if (ok(c)) lo = c;
      else {
        hi = c;
        break;
      }
    }
    if (hi === null) roundTrip = maxBps;
    else {
      let top: number = hi;
      while (top - lo > 0.01) {
        const mid: number = (lo + top) / 2;
        if (ok(mid)) lo = mid;
        else top = mid;
      }
      roundTrip = Math.round(lo * 100) / 100;
    }
  }

  // The curve spans the paid cost and the break-even with room either side.
  const top = Math.min(maxBps, Math.max(40, Math.ceil(2 * (paid ?? 0)), Math.ceil((roundTrip ?? 0) + 10)));
  const curve: CostCurvePoint[] = [];
  if (n > 0) for (let c = 0; c <= top; c += 1) curve.push(point(c));
  return {
    round_trip_bps: roundTrip,
    paid_round_trip_bps: paid,
    margin_bps: roundTrip !== null && paid !== null ? roundTrip - paid : null,
    trades: n,
    min_sharpe: bounds.min_sharpe,
    min_profit_factor: bounds.min_profit_factor,
    curve,
  };
}

/** A venue marked on the cost curve: what the trades would have paid a round trip there. */
export interface VenueCost {
  profile: string;
  round_trip_bps: number;
}

/**
 * The mean round-trip cost the trades would have paid under each cost model, each trade at
 * its own signal-bar σ (fee + spread + slippage; a maker profile as if every entry had
 * filled, funding left out). Empty without trades.
 */
export function venueRoundTrips(trades: readonly SimTrade[], labels: Pick<TripleBarrierLabels, 'sigma1_bps'>, venues: readonly { profile: string; costs: CostModel }[]): VenueCost[] {
  if (trades.length === 0) return [];
  return venues.map((v) => ({ profile: v.profile, round_trip_bps: trades.reduce((s, t) => s + roundTripCost(v.costs, labels.sigma1_bps[t.row]!).total_bps, 0) / trades.length }));
}
