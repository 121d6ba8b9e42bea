import { DEFAULT_COST_MODEL, DEFAULT_LABEL_CONFIG, tripleBarrierLabels } from '@engine/model';
import { plantedMarket, trainSymbol } from '../src';
import { bundleProblems } from './bundle-checks';

describe('leakage guard', () => {
  it('rejects a model fed the future label as a feature, though every other gate would pass', async () => {
    // A market with no edge at all; the planted feature IS the label of each row.
    const m = plantedMarket({ days: 30, seed: 3, start: Date.UTC(2026, 0, 1), symbol: 'SYN/USDT', drift_bps_per_bar: 0 });
    const leak = tripleBarrierLabels(m.candles, DEFAULT_LABEL_CONFIG, DEFAULT_COST_MODEL).net_edge_bps;
    const b = await trainSymbol(
      { symbol: 'SYN/USDT', runDate: '2026-01-31', candles: m.candles, reference: m.reference, extraFeatures: { names: ['leak_future_net_edge'], columns: [leak] } },
      { walk_forward: { train_days: 10, test_days: 5, step_days: 5 }, model: { nEstimators: 30, maxDepth: 4 }, confidence_model: { nEstimators: 10 } },
      { threads: 2 },
    );
    const g = b.manifest.gates;
    expect(g.passed).toBe(false);
    expect(g.suspected_leakage).toBe(true);
    expect(g.failed.sort()).toEqual(['plausible_profit_factor', 'plausible_win_rate']);
    expect(b.manifest.metrics.win_rate).toBeGreaterThanOrEqual(0.99);
    expect(b.manifest.metrics.total_trades).toBeGreaterThanOrEqual(300);
    expect(b.manifest.extra_features).toEqual(['leak_future_net_edge']);
    expect(b.manifest.feature_names[b.manifest.feature_names.length - 1]).toBe('leak_future_net_edge');
    expect(bundleProblems(b)).toEqual([]);
  }, 180_000);
});
