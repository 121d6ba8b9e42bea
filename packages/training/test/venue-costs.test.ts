import { EngineError } from '@engine/shared';
import {
  type CostModelV2,
  DEFAULT_COST_MODEL,
  EXIT_SL,
  EXIT_TIME,
  EXIT_TP,
  EXIT_UNFILLED,
  fundingCostBps,
  fundingTimesSpanned,
  type LabelConfig,
  minimumRoundTripBps,
  roundTripCost,
  tripleBarrierLabels,
} from '@engine/model';
import { costProfile, costProfiles, resolveTrainConfig, simulateSegments, type UnfilledSignal } from '../src';
import { candlesFrom, flat, T0 } from './candle-fixtures';

type Bar = [number, number, number, number];
const BPS: LabelConfig = { horizon_minutes: 3, side: 'long', vol_window: 2, barriers: { mode: 'bps', tp_bps: 50, sl_bps: 20 }, max_barrier_bps: null, allow_unwinnable: false };
/** Slippage of 0.5 bps per taker side whatever σ, as the v1 fixture FLAT_23. */
const FLAT_SLIP = { floor_bps: 0.5, vol_coef: 0, impact_bps_at_reference: 0, reference_notional_quote: 1_000_000 };
const maker = (over: Partial<CostModelV2> = {}): CostModelV2 => ({ ...costProfile('binance-usdm-maker-entry').costs, slippage: FLAT_SLIP, funding: { mode: 'constant', constant_rate_bps: 0, interval_hours: 8 }, ...over });
const taker = (over: Partial<CostModelV2> = {}): CostModelV2 => ({ ...costProfile('binance-usdm-taker').costs, slippage: FLAT_SLIP, funding: { mode: 'constant', constant_rate_bps: 0, interval_hours: 8 }, ...over });

/** Rows 0..2 flat at 100 (σ defined at row 2: the signal row), then the given bars, then flat padding. */
function series(bars: Bar[], pad = 8, start = T0) {
  return candlesFrom([flat(100), flat(100), flat(100), ...bars, ...Array.from({ length: pad }, () => flat(100))], start);
}

describe('venue cost profiles', () => {
  it('ships the four profiles of issue 16, versioned, with their fees', () => {
    const names = [...costProfiles().keys()];
    expect(names).toEqual(expect.arrayContaining(['binance-spot-taker', 'binance-spot-maker-entry', 'binance-usdm-taker', 'binance-usdm-maker-entry']));
    for (const p of costProfiles().values()) expect(p.costs.profile).toBe(`${p.name}@${p.version}`);
    const usdm = costProfile('binance-usdm-taker').costs;
    expect(usdm.fee_bps).toEqual({ maker: 2, taker: 5 });
    expect(costProfile('binance-usdm-maker-entry').costs.entry).toBe('maker');
  });

  it('prices binance-spot-taker exactly as the cost-v1 default', () => {
    const v2 = costProfile('binance-spot-taker').costs;
    for (const s of [0, 3, 8, 40]) expect(roundTripCost(v2, s)).toEqual(roundTripCost(DEFAULT_COST_MODEL, s));
    expect(minimumRoundTripBps(v2)).toBe(minimumRoundTripBps(DEFAULT_COST_MODEL));
  });

  it('charges a maker entry its maker fee and no spread or slippage; the taker exit pays both', () => {
    // usdm: taker 5 + 5 fee, 2 spread, 2 × 0.5 slippage = 13; maker entry: 2 + 5 fee, 1 spread, 0.5 slippage = 8.5.
    expect(roundTripCost(taker(), 10).total_bps).toBeCloseTo(13, 12);
    const m = roundTripCost(maker(), 10);
    expect(m).toEqual({ fee_bps: 7, spread_bps: 1, slippage_bps: 0.5, total_bps: 8.5 });
    // A fee discount (e.g. BNB) scales fees only.
    expect(roundTripCost(maker({ fee_discount: 0.9 }), 10).fee_bps).toBeCloseTo(6.3, 12);
  });

  it('selects a profile by name in the overrides, records it, and marks a changed one as modified', () => {
    const cfg = resolveTrainConfig({ cost_profile: 'binance-usdm-taker' });
    expect(cfg.costs.version).toBe('cost-v2');
    expect(cfg.costs.version === 'cost-v2' && cfg.costs.profile).toBe('binance-usdm-taker@1');
    const mod = resolveTrainConfig({ cost_profile: 'binance-usdm-taker', costs: { funding: { mode: 'constant' } } });
    expect(mod.costs.version === 'cost-v2' && mod.costs.profile).toBe('binance-usdm-taker@1 (modified)');
    expect(mod.costs.version === 'cost-v2' && mod.costs.funding).toEqual({ mode: 'constant', constant_rate_bps: 0, interval_hours: 8 });
    // Defaults stay cost-v1; an unknown profile and v2 settings without a profile are refused by name.
    expect(resolveTrainConfig({}).costs.version).toBe('cost-v1');
    expect(() => resolveTrainConfig({ cost_profile: 'binance-moon' })).toThrow(/unknown cost profile 'binance-moon' \(known: .*binance-usdm-taker/);
    expect(() => resolveTrainConfig({ costs: { entry: 'maker' } } as never)).toThrow(/'costs.entry' belong to cost-v2: name a cost_profile/);
    expect(() => resolveTrainConfig({ cost_profile: 'binance-spot-taker', costs: { funding: { mode: 'constant' } } })).toThrow(/funding.mode must be 'none' on the spot market/);
  });
});

describe('maker entries: a pessimistic fill', () => {
  const cfg: LabelConfig = { ...BPS };
  it('never fills when the market only touches the limit', () => {
    // Limit = the signal bar's close, 100. Bars touch 100 (and come within half the 1 bp
    // through-distance) but never trade through by a full bp.
    const touch = series([[100.1, 100.3, 100, 100.2], [100.2, 100.2, 99.996, 100.1], [100.1, 100.4, 100, 100.3], [100.3, 100.5, 100.01, 100.4], [100.4, 100.6, 100, 100.5]]);
    const l = tripleBarrierLabels(touch, cfg, maker());
    expect(l.exit_reason[2]).toBe(EXIT_UNFILLED);
    expect(l.net_edge_bps[2]).toBe(0);
    expect(l.gross_bps[2]).toBe(0);
    expect(l.fee_bps[2]! + l.spread_bps[2]! + l.slippage_bps[2]!).toBe(0);
    // Cancelled at the close of the window's last bar (5 minutes).
    expect(l.exit_index[2]).toBe(2 + 5);
    expect(l.entry_index[2]).toBe(-1);
    expect(l.unfilled).toBeGreaterThan(0);
    // The taker would have been in that trade.
    expect(tripleBarrierLabels(touch, cfg, taker()).exit_reason[2]).not.toBe(EXIT_UNFILLED);
  });

  it('fills at the limit when a later bar trades through it, and holds the horizon from the fill bar', () => {
    // Bar 3 stays above; bar 4 trades through 100 (low 99.9): filled at 100. Then up to TP (+50 bps).
    const l = tripleBarrierLabels(series([[100.1, 100.2, 100.05, 100.1], [100.1, 100.1, 99.9, 100], [100, 100.3, 99.95, 100.2], [100.2, 100.6, 100.1, 100.5]]), cfg, maker());
    expect(l.entry_index[2]).toBe(4);
    expect(l.entry_price[2]).toBe(100);
    expect(l.exit_reason[2]).toBe(EXIT_TP);
    expect(l.exit_index[2]).toBe(6);
    expect(l.gross_bps[2]).toBeCloseTo(50, 9);
    expect(l.net_edge_bps[2]).toBeCloseTo(50 - 8.5, 9);
  });

  it('credits no take-profit on the fill bar but does check the stop there', () => {
    // The fill bar ranges 99.9 … 100.6: a take-profit touch that may have come before the fill is not credited.
    const noTp = tripleBarrierLabels(series([[100, 100.6, 99.9, 100.1], [100.1, 100.2, 100, 100.1], [100.1, 100.2, 100, 100.1]]), cfg, maker());
    expect(noTp.entry_index[2]).toBe(3);
    expect(noTp.exit_reason[2]).toBe(EXIT_TIME);
    expect(noTp.exit_index[2]).toBe(3 + 3 - 1);
    // The fill bar also reaches the stop (99.8): stopped on that bar.
    const stopped = tripleBarrierLabels(series([[100, 100.1, 99.7, 99.9]]), cfg, maker());
    expect(stopped.exit_reason[2]).toBe(EXIT_SL);
    expect(stopped.exit_index[2]).toBe(3);
    expect(stopped.gross_bps[2]).toBeCloseTo(-20, 9);
  });

  it('mirrors for a short: the high must trade through the limit', () => {
    const s: LabelConfig = { ...cfg, side: 'short' };
    const touch = tripleBarrierLabels(series([[99.9, 100, 99.8, 99.9], [99.9, 100.004, 99.7, 99.8], [99.8, 100, 99.6, 99.7], [99.7, 100, 99.6, 99.7], [99.7, 100, 99.6, 99.7]]), s, maker());
    expect(touch.exit_reason[2]).toBe(EXIT_UNFILLED);
    const filled = tripleBarrierLabels(series([[100, 100.1, 99.95, 100], [100, 100.05, 99.4, 99.5]]), s, maker());
    expect(filled.entry_index[2]).toBe(3);
    expect(filled.exit_reason[2]).toBe(EXIT_TP);
    expect(filled.gross_bps[2]).toBeCloseTo(50, 9);
  });

  it('the simulation counts unfilled signals, never trades them, and still cools down after the cancel', () => {
    const c = series([[100.1, 100.3, 100, 100.2], [100.2, 100.3, 100.1, 100.2], [100.2, 100.3, 100.1, 100.2], [100.2, 100.3, 100.1, 100.2], [100.2, 100.3, 100.1, 100.2]], 30);
    const l = tripleBarrierLabels(c, cfg, maker());
    const rows = Int32Array.from([2, 3, 4]);
    const unfilled: UnfilledSignal[] = [];
    const trades = simulateSegments([{ fold: 0, threshold_bps: 0, rows, predicted_bps: Float64Array.from([5, 5, 5]) }], l, c.ts, { cooldown_seconds: 60, max_trades_per_day: 40 }, unfilled);
    expect(l.exit_reason[2]).toBe(EXIT_UNFILLED);
    expect(trades.filter((t) => t.row === 2)).toEqual([]);
    expect(unfilled.map((u) => u.row)).toContain(2);
    // Row 2's order rests until the close of bar 7: rows 3 and 4 are decided while it is open.
    expect(unfilled.map((u) => u.row)).not.toContain(3);
    expect(trades.map((t) => t.row)).not.toContain(3);
  });
});

describe('funding on perpetuals', () => {
  it('lists the funding times a holding spans, every 8 h from 00:00 UTC', () => {
    const h8 = 8 * 3_600_000;
    expect(fundingTimesSpanned(T0 - 60_000, T0 + 60_000, 8)).toEqual([T0]);
    expect(fundingTimesSpanned(T0, T0 + 60_000, 8)).toEqual([T0]);
    expect(fundingTimesSpanned(T0 - 60_000, T0, 8)).toEqual([]);
    expect(fundingTimesSpanned(T0 + 1, T0 + h8 + 1, 8)).toEqual([T0 + h8]);
    // Longs pay a positive rate, shorts receive it.
    const c = taker({ funding: { mode: 'constant', constant_rate_bps: 1, interval_hours: 8 } });
    expect(fundingCostBps(c, 'long', T0 - 60_000, T0 + 60_000)).toBe(1);
    expect(fundingCostBps(c, 'short', T0 - 60_000, T0 + 60_000)).toBe(-1);
    expect(fundingCostBps(costProfile('binance-spot-taker').costs, 'long', T0 - 60_000, T0 + 60_000)).toBe(0);
  });

  it('charges a long and pays a short the funding of a funding time the trade spans, from the series', () => {
    // Signal bar at 23:57, entry 23:58 … exit at the close of 00:00 + : spans 00:00.
    const start = T0 - 3 * 60_000 - 2 * 60_000;
    const c = series([[100, 100.1, 99.95, 100], [100, 100.1, 99.95, 100], [100, 100.1, 99.95, 100]], 8, start);
    const series8 = { ts: Float64Array.from([T0 - 8 * 3_600_000, T0]), rate_bps: Float64Array.from([0.5, 1.5]) };
    const perp = taker({ funding: { mode: 'series', constant_rate_bps: 0, interval_hours: 8 } });
    const long = tripleBarrierLabels(c, BPS, perp, series8);
    const short = tripleBarrierLabels(c, { ...BPS, side: 'short' }, perp, series8);
    expect(long.funding_bps[2]).toBe(1.5);
    expect(short.funding_bps[2]).toBe(-1.5);
    expect(long.net_edge_bps[2]).toBeCloseTo(long.gross_bps[2]! - 13 - 1.5, 9);
    expect(short.net_edge_bps[2]).toBeCloseTo(short.gross_bps[2]! - 13 + 1.5, 9);
    // Events are taken at their own times (a venue stamps them a few ms after the hour).
    const late = { ts: Float64Array.from([T0 - 8 * 3_600_000 + 7, T0 + 7]), rate_bps: Float64Array.from([0.5, 1.5]) };
    expect(tripleBarrierLabels(c, BPS, perp, late).funding_bps[2]).toBe(1.5);
    // A series with a hole where a funding time should be is an error naming the hole.
    const missing = { ts: Float64Array.from([T0 - 8 * 3_600_000]), rate_bps: Float64Array.from([0.5]) };
    let err: unknown;
    try {
      tripleBarrierLabels(c, BPS, perp, missing);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('FUNDING_MISSING');
    expect((err as Error).message).toMatch(/no funding rate between 2026-01-04T16:00:00.000Z and 2026-01-05T00:0/);
    expect(() => tripleBarrierLabels(c, BPS, perp)).toThrow(/no funding rates were supplied/);
  });

  it('refuses barriers that cannot beat the venue costs, funding included', () => {
    // usdm taker: 12 bps + 2 × 0.4 floor + size = ~12.9 bps minimum; a 12 bps take-profit cannot win.
    const tight: LabelConfig = { ...BPS, barriers: { mode: 'bps', tp_bps: 12, sl_bps: 12 } };
    expect(() => tripleBarrierLabels(series([]), tight, taker())).toThrow(/take-profit 12 bps is at or below the minimum round-trip cost 13.00 bps \(cost model binance-usdm-taker@1/);
    // The same take-profit wins on the maker profile (8.5 bps) …
    expect(() => tripleBarrierLabels(series([]), tight, maker())).not.toThrow();
    // … but not once a 16-hour hold must pay two constant fundings of 2 bps.
    const longHold: LabelConfig = { ...tight, horizon_minutes: 960 };
    const funded = maker({ funding: { mode: 'constant', constant_rate_bps: 2, interval_hours: 8 } });
    expect(minimumRoundTripBps(funded, 'long', 960)).toBeCloseTo(8.5 + 4, 12);
    expect(minimumRoundTripBps(funded, 'short', 960)).toBeCloseTo(8.5, 12);
    expect(() => tripleBarrierLabels(series([]), longHold, funded)).toThrow(/LABELS_UNWINNABLE|at or below the minimum round-trip cost 12.50/);
  });
});
