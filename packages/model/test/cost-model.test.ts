import { DEFAULT_COST_MODEL, costModelProblems, minimumRoundTripBps, roundTripCost, scaleCosts } from '../src';

describe('cost model', () => {
  it('charges about 23 bps per round trip with the defaults on a typical minute', () => {
    for (const sigma1 of [3, 5, 8, 10]) {
      const c = roundTripCost(DEFAULT_COST_MODEL, sigma1);
      expect(c.fee_bps).toBe(20);
      expect(c.spread_bps).toBe(2);
      expect(c.total_bps).toBeGreaterThan(22.5);
      expect(c.total_bps).toBeLessThan(24);
      expect(c.total_bps).toBeCloseTo(c.fee_bps + c.spread_bps + c.slippage_bps, 12);
    }
  });

  it('grows slippage with volatility and with trade size', () => {
    const calm = roundTripCost(DEFAULT_COST_MODEL, 2).slippage_bps;
    const wild = roundTripCost(DEFAULT_COST_MODEL, 40).slippage_bps;
    expect(wild).toBeGreaterThan(calm);
    const big = roundTripCost({ ...DEFAULT_COST_MODEL, notional_quote: 1_000_000 }, 2).slippage_bps;
    // √(1e6/1e6)·1 bps per side vs √(1e3/1e6)·1: 2·(1 − 0.0316) bps more.
    expect(big - calm).toBeCloseTo(2 * (1 - Math.sqrt(1e-3)), 10);
  });

  it('scales every component for the costs ×2 scenario', () => {
    const x2 = scaleCosts(DEFAULT_COST_MODEL, 2);
    expect(roundTripCost(x2, 7).total_bps).toBeCloseTo(2 * roundTripCost(DEFAULT_COST_MODEL, 7).total_bps, 10);
    expect(minimumRoundTripBps(DEFAULT_COST_MODEL)).toBeCloseTo(roundTripCost(DEFAULT_COST_MODEL, 0).total_bps, 12);
  });

  it('reports bad numbers', () => {
    expect(costModelProblems(DEFAULT_COST_MODEL)).toEqual([]);
    const bad = costModelProblems({ ...DEFAULT_COST_MODEL, fee_bps_per_side: -1, notional_quote: 0 });
    expect(bad.join('; ')).toMatch(/fee_bps_per_side.*-1/);
    expect(bad.join('; ')).toMatch(/notional_quote/);
  });
});
