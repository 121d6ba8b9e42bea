import { plantedMarket, trainSymbol, type TrainConfigOverrides, type TrainedModelBundle } from '../src';

/**
 * Honesty across venues (issue 16, item 6). A planted edge of 6 bps a bar for 4 bars after
 * each shock leaves ≈ 20 bps a trade before costs: more than a USDⓈ-M round trip (≈ 9–14
 * bps), less than a spot one (≈ 22–24 bps). The production gates must pass it exactly where
 * its edge exceeds the venue's costs and reject it where it does not; the permuted target
 * must fail on every venue; and the break-even cost must sit between the two.
 * The candles are spot-like (no funding series), so perpetuals are priced with a constant
 * zero funding, as the manifest then says.
 */
const START = Date.UTC(2026, 0, 1);
const FAST: TrainConfigOverrides = {
  walk_forward: { train_days: 10, test_days: 5, step_days: 5 },
  model: { nEstimators: 40, maxDepth: 4 },
  confidence_model: { nEstimators: 10 },
};
const PROFILES = ['binance-spot-taker', 'binance-spot-maker-entry', 'binance-usdm-taker', 'binance-usdm-maker-entry'] as const;
const perp = (p: string): TrainConfigOverrides => (p.includes('usdm') ? { costs: { funding: { mode: 'constant', constant_rate_bps: 0 } } } : {});

function inputFor(drift: number) {
  const m = plantedMarket({ days: 90, seed: 1, start: START, symbol: 'SYN/USDT', drift_bps_per_bar: drift });
  return { symbol: 'SYN/USDT', runDate: '2026-04-01', candles: m.candles, reference: m.reference, now: new Date('2026-04-01T02:00:00Z') };
}

describe('the planted edge across venue profiles', () => {
  const up = inputFor(6);
  const down = inputFor(-6);
  const run = (input: ReturnType<typeof inputFor>, o: TrainConfigOverrides) => trainSymbol(input, { ...FAST, ...o }, { threads: 2 });
  const byProfile = new Map<string, TrainedModelBundle>();
  const permuted = new Map<string, TrainedModelBundle>();
  beforeAll(async () => {
    for (const p of PROFILES) {
      byProfile.set(p, await run(up, { cost_profile: p, ...perp(p) }));
      permuted.set(p, await run(up, { cost_profile: p, ...perp(p), controls: { permute_target_seed: 12345 } }));
    }
  }, 600_000);

  it('passes where the edge exceeds the venue costs and fails where it does not', () => {
    const rows = PROFILES.map((p) => {
      const m = byProfile.get(p)!.manifest;
      return { p, passed: m.gates.passed, rt: m.metrics.costs.mean_round_trip_bps, be: m.break_even!.round_trip_bps, gross: m.metrics.mean_gross_bps };
    });
    expect(rows.map((r) => [r.p, r.passed])).toEqual([
      ['binance-spot-taker', false],
      ['binance-spot-maker-entry', false],
      ['binance-usdm-taker', true],
      ['binance-usdm-maker-entry', true],
    ]);
    for (const r of rows) {
      // The verdict agrees with the break-even cost: it passes only where its trades could pay more than they did.
      if (r.passed) expect(r.be!).toBeGreaterThan(r.rt);
      else if (r.be !== null && r.gross > 0) expect(r.be).toBeLessThan(r.rt + 3);
    }
    const m = byProfile.get('binance-usdm-maker-entry')!.manifest;
    expect(m.cost_model.version === 'cost-v2' && m.cost_model.profile).toBe('binance-usdm-maker-entry@1 (modified)');
    expect(m.metrics.unfilled_signals).toBeGreaterThan(0);
    expect(m.labelling.unfilled).toBeGreaterThan(0);
    expect(m.data.market).toMatchObject({ candles: 'spot', priced_as: 'usdm-perp', funding: 'constant' });
    expect(m.data.warnings.join('\n')).toMatch(/perpetual costs priced on SPOT candles with a CONSTANT funding of 0 bps/);
  });

  it('rejects the permuted target on every venue', () => {
    for (const p of PROFILES) {
      const m = permuted.get(p)!.manifest;
      expect([p, m.gates.passed]).toEqual([p, false]);
    }
  });

  it('sweeps the cost on one venue: passes below the edge, fails above it for want of profit', async () => {
    const runs: { rt: number; passed: boolean; failed: string[] }[] = [];
    for (const taker of [4, 8]) {
      const b = await run(up, { cost_profile: 'binance-usdm-taker', costs: { fee_bps: { taker }, funding: { mode: 'constant' } } });
      runs.push({ rt: b.manifest.metrics.costs.mean_round_trip_bps, passed: b.manifest.gates.passed, failed: b.manifest.gates.failed });
    }
    // ≈ 12 bps a round trip passes; ≈ 20 bps does not, and fails on Sharpe and profit factor.
    expect(runs.map((r) => r.passed)).toEqual([true, false]);
    expect(runs[0]!.rt).toBeLessThan(13);
    expect(runs[1]!.rt).toBeGreaterThan(19);
    expect(runs[1]!.failed).toEqual(expect.arrayContaining(['sharpe_ratio', 'profit_factor']));
  }, 120_000);

  it('finds a short edge only on the short side', async () => {
    const short = await run(down, { cost_profile: 'binance-usdm-taker', ...perp('usdm'), labels: { side: 'short' } });
    const longOnShortMarket = await run(down, { cost_profile: 'binance-usdm-taker', ...perp('usdm') });
    const shortOnLongMarket = await run(up, { cost_profile: 'binance-usdm-taker', ...perp('usdm'), labels: { side: 'short' } });
    expect(short.manifest.gates.passed).toBe(true);
    expect(short.manifest.trading_params.side).toBe('short');
    expect(short.manifest.action_space.actions).toEqual(['hold', 'enter_short']);
    expect(longOnShortMarket.manifest.gates.passed).toBe(false);
    expect(shortOnLongMarket.manifest.gates.passed).toBe(false);
  }, 120_000);
});
