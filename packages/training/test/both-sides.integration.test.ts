import { EXIT_TIME, type TripleBarrierLabels } from '@engine/model';
import { plantedMarket, simulateBothSides, trainSymbol, type SimSegment, type TrainConfigOverrides, type TrainedModelBundle } from '../src';
import { bundleProblems } from './bundle-checks';
import { handLabels } from './label-fixtures';

/**
 * `side: both` (issue 16, item 4): two edge models in one bundle, one per side, each
 * labelled, fitted and thresholded on its own; one decider trades whichever side clears its
 * threshold by more. The control is a two-sided planted market: each shock drifts up or down
 * and shows its direction on the shock bar.
 */
const START = Date.UTC(2026, 0, 1);
const FAST: TrainConfigOverrides = {
  walk_forward: { train_days: 10, test_days: 5, step_days: 5 },
  model: { nEstimators: 40, maxDepth: 4 },
  confidence_model: { nEstimators: 10 },
};

describe('simulateBothSides', () => {
  /** Two sides over the same rows: long nets and short nets, predictions per side. */
  function sides(longNet: number[], shortNet: number[]): { long: TripleBarrierLabels; short: TripleBarrierLabels; ts: Float64Array } {
    const l = handLabels(longNet, 2);
    const s = handLabels(shortNet, 2);
    for (let i = 0; i < s.labels.rows; i++) if (s.labels.exit_reason[i] === EXIT_TIME) s.labels.exit_index[i] = l.labels.exit_index[i]!;
    return { long: l.labels, short: s.labels, ts: l.ts };
  }
  const seg = (fold: number, thr: number, pred: number[], trade = true): SimSegment => ({ fold, threshold_bps: thr, rows: Int32Array.from(pred.map((_, i) => i)), predicted_bps: Float64Array.from(pred), trade });
  const rules = { cooldown_seconds: 0, max_trades_per_day: 40 };

  it('takes the side whose prediction clears its own threshold by more, long on a tie, one position at a time', () => {
    const { long, short, ts } = sides([5, 5, 5, 5, 5, 5, 5, 5], [-5, -5, -5, -5, -5, -5, -5, -5]);
    // Row 0: long margin 3, short 1 → long. Row 3: long −1, short 2 → short. Row 6: both 1 → long.
    const L = seg(0, 2, [5, 0, 0, 1, 0, 0, 3, 0]);
    const S = seg(0, 4, [5, 0, 0, 6, 0, 0, 5, 0]);
    const t = simulateBothSides([L], [S], long, short, ts, rules);
    expect(t.map((x) => [x.row, x.side, x.net_bps])).toEqual([
      [0, 'long', 5],
      [3, 'short', -5],
      [6, 'long', 5],
    ]);
    // Rows 1–2 are inside row 0's position (exit 2 bars later): one decider for both sides.
    expect(t.every((x, k) => k === 0 || x.entry_ts >= t[k - 1]!.exit_ts)).toBe(true);
  });

  it('ignores a side whose fold does not trade', () => {
    const { long, short, ts } = sides([5, 5, 5, 5], [1, 1, 1, 1]);
    const t = simulateBothSides([seg(0, 0, [9, 9, 9, 9], false)], [seg(0, 0, [1, 0, 0, 0])], long, short, ts, rules);
    expect(t.map((x) => [x.row, x.side])).toEqual([[0, 'short']]);
  });
});

describe('a both-sides model on a two-sided planted edge', () => {
  const m = plantedMarket({ days: 90, seed: 1, start: START, symbol: 'SYN/USDT', drift_bps_per_bar: 10, two_sided: true });
  const input = { symbol: 'SYN/USDT', runDate: '2026-04-01', candles: m.candles, reference: m.reference, now: new Date('2026-04-01T02:00:00Z') };
  let both: TrainedModelBundle;
  let longOnly: TrainedModelBundle;
  let permuted: TrainedModelBundle;
  beforeAll(async () => {
    both = await trainSymbol(input, { ...FAST, labels: { side: 'both' } }, { threads: 2 });
    longOnly = await trainSymbol(input, FAST, { threads: 2 });
    permuted = await trainSymbol(input, { ...FAST, labels: { side: 'both' }, controls: { permute_target_seed: 7 } }, { threads: 2 });
  }, 300_000);

  it('trades both sides, passes the gates, and earns more than the long model alone', () => {
    const x = both.manifest;
    expect(x.gates.passed).toBe(true);
    expect(x.trading_params.side).toBe('both');
    expect(x.trading_params.short_edge_threshold_bps).toEqual(expect.any(Number));
    expect(x.thresholds.short?.per_fold.length).toBe(x.thresholds.per_fold.length);
    expect(x.action_space.actions).toEqual(['hold', 'enter_long', 'enter_short']);
    const files = both.files.map((f) => f.name);
    for (const f of ['model.onnx', 'model-short.onnx', 'model-short.json', 'confidence-short.json', 'golden-short.json']) expect(files).toContain(f);
    expect(bundleProblems(both)).toEqual([]);
    // The long model alone sees half the shocks.
    expect(x.metrics.total_trades).toBeGreaterThan(1.5 * longOnly.manifest.metrics.total_trades);
    expect(x.metrics.total_net_bps).toBeGreaterThan(1.5 * longOnly.manifest.metrics.total_net_bps);
  });

  it('is rejected with the target permuted (both sides)', () => {
    expect(permuted.manifest.gates.passed).toBe(false);
  });
});
