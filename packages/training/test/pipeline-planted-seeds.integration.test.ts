import { firstTestStart, plantedMarket, trainSymbol, type TrainConfigOverrides, type TrainedModelBundle } from '../src';
import { bundleProblems } from './bundle-checks';

/**
 * The gates with the production bounds across several planted markets (issue 14 item 9):
 * three seeds × two window lengths (6 and 10 walk-forward folds). A real, planted edge must
 * publish every time — the history-based gates (drawdown, win rate: medians over this
 * model's folds with trades) included — and the same markets with the target permuted must
 * be rejected every time. Small trees keep it to about a minute on two cores.
 */
/**
 * On the 5-day calendar grid (2 Jan 2026 is a grid day), so the folds are those of a window
 * layout. Started a day earlier (off the grid: five folds instead of six, the first test window
 * a day later) seed 2's controls fail the win-rate gate by 0.004 (0.775 against the folds'
 * median 0.779): that gate is that sensitive to where five fold boundaries fall.
 */
const START = Date.UTC(2026, 0, 2);
const SMALL: TrainConfigOverrides = {
  walk_forward: { train_days: 10, test_days: 5, step_days: 5 },
  model: { nEstimators: 25, maxDepth: 3 },
  confidence_model: { nEstimators: 5 },
};
const CASES = [1, 2, 3].flatMap((seed) => [40, 60].map((days) => ({ seed, days })));
const gate = (b: TrainedModelBundle, name: string) => b.manifest.gates.results.find((r) => r.name === name)!;

describe('positive and negative controls over seeds and fold counts', () => {
  const real = new Map<string, TrainedModelBundle>();
  const permuted = new Map<string, TrainedModelBundle>();
  beforeAll(async () => {
    for (const { seed, days } of CASES) {
      const market = plantedMarket({ days, seed: 100 + seed, start: START, symbol: 'SYN/USDT' });
      const runDate = new Date(START + days * 86_400_000).toISOString().slice(0, 10);
      const input = { symbol: 'SYN/USDT', runDate, candles: market.candles, reference: market.reference, now: new Date(`${runDate}T02:00:00Z`) };
      real.set(`${seed}/${days}`, await trainSymbol(input, SMALL, { threads: 2 }));
      permuted.set(`${seed}/${days}`, await trainSymbol(input, { ...SMALL, controls: { permute_target_seed: 7 + seed } }, { threads: 2 }));
    }
  }, 600_000);

  it.each(CASES)('publishes the planted edge (seed $seed, $days days) with every production gate, drawdown included', ({ seed, days }) => {
    const b = real.get(`${seed}/${days}`)!;
    const m = b.manifest;
    // the calendar grid: test windows start on the UTC 5-day grid from the first that leaves 8 training days
    const first = firstTestStart(START, 10 * 86_400_000, 5 * 86_400_000, 'calendar');
    expect(m.walk_forward.folds_evaluated).toBe(Math.floor((START + days * 86_400_000 - first) / (5 * 86_400_000)));
    expect({ failed: m.gates.failed, passed: m.gates.passed }).toEqual({ failed: [], passed: true });
    expect(m.gates.median_source).toBe('folds');
    expect(gate(b, 'max_drawdown').note).toMatch(/folds with trades/);
    expect(gate(b, 'best_trade_share').bound).toBe(0.5);
    expect(gate(b, 'best_day_share').bound).toBe(0.5);
    expect(m.thresholds.folds_not_traded).toBe(0);
    expect(bundleProblems(b)).toEqual([]);
  });

  it.each(CASES)('rejects the same market with the target permuted (seed $seed, $days days)', ({ seed, days }) => {
    const b = permuted.get(`${seed}/${days}`)!;
    const m = b.manifest;
    expect(m.gates.passed).toBe(false);
    expect(m.gates.failed).toEqual(expect.arrayContaining(['total_trades']));
    expect(m.metrics.sharpe_ratio).toBeLessThan(0.7);
    expect(bundleProblems(b)).toEqual([]);
  });
});
