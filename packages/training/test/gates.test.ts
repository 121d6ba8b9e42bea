import { DEFAULT_GATES, evaluateGates, type FinalThresholdEvidence, type GateHistoryEntry } from '../src/gates/gates';
import type { TradeMetrics } from '../src/metrics/trade-metrics';
import type { TrialDeflation } from '../src/gates/trial-deflation';

function m(over: Partial<TradeMetrics>): TradeMetrics {
  return {
    total_trades: 400,
    wins: 220,
    losses: 180,
    win_rate: 0.55,
    total_profit_gbp: 100,
    total_net_bps: 1250,
    mean_net_bps: 3,
    mean_gross_bps: 26,
    sharpe_ratio: 1.5,
    sharpe_per_trade: 0.1,
    probabilistic_sharpe: 0.9,
    profit_factor: 1.4,
    max_drawdown: 20,
    max_drawdown_bps: 250,
    days: 130,
    best_trade_share: 0.02,
    best_day_share: 0.05,
    costs: { fees_gbp: 0, spread_gbp: 0, slippage_gbp: 0, total_gbp: 0, mean_fee_bps: 20, mean_spread_bps: 2, mean_slippage_bps: 1, mean_round_trip_bps: 23 },
    exit_reasons: { tp: 0, sl: 0, time: 400 },
    ...over,
  };
}
const gate = (o: ReturnType<typeof evaluateGates>, name: string) => o.results.find((r) => r.name === name)!;
/** The final threshold made money on the pooled out-of-sample predictions. */
const FINAL: FinalThresholdEvidence = { trade: true, rule: 'best_total_net', trades: 380, total_net_bps: 1100, min_calibration_net_bps: 0 };

describe('publish gates', () => {
  const folds = [m({ max_drawdown: 8, win_rate: 0.54 }), m({ max_drawdown: 10, win_rate: 0.56 }), m({ max_drawdown: 12, win_rate: 0.55 })];

  it('passes a good record and records every value, bound and verdict', () => {
    const o = evaluateGates(m({}), folds, [], DEFAULT_GATES, FINAL);
    expect(o.median_source).toBe('folds');
    expect(o.passed).toBe(true);
    expect(o.results.map((r) => r.name)).toEqual([
      'sharpe_ratio',
      'profit_factor',
      'max_drawdown',
      'win_rate',
      'total_trades',
      'best_trade_share',
      'best_day_share',
      'final_threshold',
      'plausible_win_rate',
      'plausible_profit_factor',
    ]);
    expect(gate(o, 'sharpe_ratio')).toMatchObject({ value: 1.5, bound: 0.7, op: '>=', passed: true });
    expect(gate(o, 'profit_factor')).toMatchObject({ value: 1.4, bound: 1.1, passed: true });
    // Fold mode: mean fold drawdown 10 vs 1.2 × median 10.
    expect(gate(o, 'max_drawdown')).toMatchObject({ value: 10, op: '<=', passed: true });
    expect(gate(o, 'max_drawdown').bound).toBeCloseTo(12, 12);
    expect(gate(o, 'win_rate').bound).toBeCloseTo(0.54, 12);
    expect(gate(o, 'total_trades')).toMatchObject({ value: 400, bound: 300, passed: true });
  });

  it('rejects each failing gate by name', () => {
    const o = evaluateGates(m({ sharpe_ratio: 0.69, profit_factor: 1.09, total_trades: 299, win_rate: 0.52 }), folds, [], DEFAULT_GATES, FINAL);
    expect(o.passed).toBe(false);
    expect(o.failed).toEqual(['sharpe_ratio', 'profit_factor', 'win_rate', 'total_trades']);
    const skewed = [m({ max_drawdown: 5 }), m({ max_drawdown: 5 }), m({ max_drawdown: 30 })];
    expect(gate(evaluateGates(m({}), skewed, [], DEFAULT_GATES, FINAL), 'max_drawdown').passed).toBe(false);
  });

  it('takes medians from the last 10 PUBLISHED models once there are 3, ignoring rejected ones', () => {
    const hist: GateHistoryEntry[] = [
      { run_date: '2026-01-01', published: true, max_drawdown: 1000, win_rate: 0.9 }, // oldest of 11: dropped
      ...Array.from({ length: 10 }, (_, k) => ({ run_date: `2026-01-${String(k + 2).padStart(2, '0')}`, published: true, max_drawdown: 15 + k, win_rate: 0.5 })),
      { run_date: '2026-01-20', published: false, max_drawdown: 1, win_rate: 0.99 },
    ];
    const o = evaluateGates(m({ max_drawdown: 20 }), folds, hist, DEFAULT_GATES, FINAL);
    expect(o.median_source).toBe('registry');
    expect(o.medians.drawdown_count).toBe(10);
    expect(o.medians.max_drawdown).toBe(19.5);
    expect(gate(o, 'max_drawdown')).toMatchObject({ value: 20, passed: true });
    expect(gate(o, 'max_drawdown').bound).toBeCloseTo(23.4, 12);
    expect(gate(o, 'win_rate').bound).toBeCloseTo(0.49, 12);
    // Two published and one rejected model: not enough, fall back to the folds.
    const few = evaluateGates(m({}), folds, [hist[1]!, hist[2]!, hist[11]!], DEFAULT_GATES, FINAL);
    expect(few.median_source).toBe('folds');
  });

  it('rejects implausibly good records as suspected leakage, but only on enough trades', () => {
    const leak = evaluateGates(m({ win_rate: 0.995, wins: 398, losses: 2, profit_factor: 80 }), folds, [], DEFAULT_GATES, FINAL);
    expect(leak.suspected_leakage).toBe(true);
    expect(leak.passed).toBe(false);
    expect(leak.failed).toEqual(expect.arrayContaining(['plausible_win_rate', 'plausible_profit_factor']));
    const noLoss = evaluateGates(m({ win_rate: 0.9, profit_factor: null }), folds, [], DEFAULT_GATES, FINAL);
    expect(gate(noLoss, 'plausible_profit_factor').passed).toBe(false);
    expect(gate(noLoss, 'profit_factor').passed).toBe(true);
    const tiny = evaluateGates(m({ total_trades: 5, win_rate: 1, profit_factor: null }), folds, [], DEFAULT_GATES, FINAL);
    expect(tiny.suspected_leakage).toBe(false);
    expect(tiny.failed).toContain('total_trades');
  });

  it('judges drawdown and win rate over the folds WITH trades: idle folds do not make the bound 0 (issue 14 item 9)', () => {
    // BTC with defaults: 14 of 26 folds made no trade (drawdown 0, win rate 0). Counted in,
    // they made the median drawdown 0, so the bound was 1.2 × 0 and any loss failed.
    const idle = m({ total_trades: 0, wins: 0, losses: 0, win_rate: 0, max_drawdown: 0, max_drawdown_bps: 0, profit_factor: 0, best_trade_share: null, best_day_share: null });
    const traded = Array.from({ length: 12 }, (_, k) => m({ max_drawdown: 8 + (k % 5), win_rate: 0.53 + 0.005 * (k % 4) }));
    const folds26 = [...Array.from({ length: 14 }, () => idle), ...traded];
    const o = evaluateGates(m({}), folds26, [], DEFAULT_GATES, FINAL);
    const dd = gate(o, 'max_drawdown');
    const med = [...traded.map((f) => f.max_drawdown)].sort((a, b) => a - b);
    const medDd = (med[5]! + med[6]!) / 2;
    expect(o.medians.drawdown_count).toBe(12);
    expect(o.medians.max_drawdown).toBeCloseTo(medDd, 12);
    expect(dd.bound).toBeCloseTo(1.2 * medDd, 12);
    expect(dd.value).toBeCloseTo(traded.reduce((a, f) => a + f.max_drawdown, 0) / 12, 12);
    expect(dd.passed).toBe(true);
    // The rule is stated where the verdict is read.
    expect(dd.note).toMatch(/12 folds with trades/);
    expect(dd.note).toMatch(/14 of 26 folds made no trade and are left out/);
    expect(o.medians.win_rate_count).toBe(12);
    expect(gate(o, 'win_rate').note).toMatch(/12 folds with trades/);
    expect(o.passed).toBe(true);
    // Drawdowns concentrated in a few folds still fail, idle folds or not.
    const skewed = [...Array.from({ length: 14 }, () => idle), m({ max_drawdown: 5 }), m({ max_drawdown: 5 }), m({ max_drawdown: 30 })];
    expect(gate(evaluateGates(m({}), skewed, [], DEFAULT_GATES, FINAL), 'max_drawdown').passed).toBe(false);
  });

  it('rejects a record whose profit comes from one trade or one day (issue 14 item 11)', () => {
    const oneTrade = evaluateGates(m({ best_trade_share: 1.4, best_day_share: 1.1 }), folds, [], DEFAULT_GATES, FINAL);
    expect(oneTrade.passed).toBe(false);
    expect(oneTrade.failed).toEqual(['best_trade_share', 'best_day_share']);
    expect(gate(oneTrade, 'best_trade_share')).toMatchObject({ value: 1.4, bound: 0.5, op: '<=', passed: false });
    const oneDay = evaluateGates(m({ best_trade_share: 0.1, best_day_share: 0.62 }), folds, [], DEFAULT_GATES, FINAL);
    expect(oneDay.failed).toEqual(['best_day_share']);
    // At the bound it passes; with no profit there is nothing to concentrate (the Sharpe gate judges that).
    expect(evaluateGates(m({ best_trade_share: 0.5, best_day_share: 0.5 }), folds, [], DEFAULT_GATES, FINAL).passed).toBe(true);
    const losing = evaluateGates(m({ best_trade_share: null, best_day_share: null, sharpe_ratio: -2 }), folds, [], DEFAULT_GATES, FINAL);
    expect(gate(losing, 'best_trade_share')).toMatchObject({ value: null, passed: true });
    expect(gate(losing, 'best_day_share').note).toMatch(/no profit to concentrate/);
    expect(losing.failed).toEqual(['sharpe_ratio']);
  });

  it('rejects a model whose own threshold choice says "do not trade" (issue 14 item 10)', () => {
    const none = evaluateGates(m({}), folds, [], DEFAULT_GATES, { trade: false, rule: 'no_profitable_candidate', trades: 120, total_net_bps: -850, min_calibration_net_bps: 0 });
    expect(none.passed).toBe(false);
    expect(none.failed).toEqual(['final_threshold']);
    expect(gate(none, 'final_threshold')).toMatchObject({ value: -850, bound: 0, passed: false });
    expect(gate(none, 'final_threshold').note).toMatch(/^do not trade: no candidate threshold made money/);
    expect(gate(evaluateGates(m({}), folds, [], DEFAULT_GATES, FINAL), 'final_threshold')).toMatchObject({ value: 1100, bound: 0, passed: true });
  });

  it('gates the deflated Sharpe at the true trial count when the ledger is given, and names N, V and SR0 (issue 15)', () => {
    const deflation = (dsr: number, n: number): TrialDeflation => ({
      n, variance: 0.004, sr0: 0.05, dsr_iid: dsr + 0.01, dsr_robust: dsr, dsr, n_effective: Math.max(1, n - 2), dsr_effective: dsr + 0.02, min_track_record_days: 90,
    });
    // Without a deflation (a bare pipeline call) the gate is absent, as before.
    expect(evaluateGates(m({}), folds, [], DEFAULT_GATES, FINAL).results.some((r) => r.name === 'deflated_sharpe')).toBe(false);
    const pass = evaluateGates(m({}), folds, [], DEFAULT_GATES, FINAL, deflation(0.97, 12));
    expect(pass.passed).toBe(true);
    expect(gate(pass, 'deflated_sharpe')).toMatchObject({ value: 0.97, bound: 0.95, op: '>=', passed: true });
    expect(gate(pass, 'deflated_sharpe').note).toMatch(/N = 12 trial\(s\), V = 0\.004, SR₀ = 0\.05.*robust 0\.97: the Newey–West robust value gates; at the effective N = 10/);
    // Everything else passes; the count of trials alone rejects it.
    const fail = evaluateGates(m({}), folds, [], DEFAULT_GATES, FINAL, deflation(0.6, 300));
    expect(fail.passed).toBe(false);
    expect(fail.results.filter((r) => !r.passed).map((r) => r.name)).toEqual(['deflated_sharpe']);
    // The bound is configuration.
    expect(evaluateGates(m({}), folds, [], { ...DEFAULT_GATES, min_deflated_sharpe: 0.5 }, FINAL, deflation(0.6, 300)).passed).toBe(true);
  });

  it('fails the comparative gates when there is nothing to compare with', () => {
    const o = evaluateGates(m({}), [], [], DEFAULT_GATES, FINAL);
    expect(gate(o, 'max_drawdown')).toMatchObject({ value: null, bound: null, passed: false });
    expect(gate(o, 'win_rate')).toMatchObject({ bound: null, passed: false });
  });
});
