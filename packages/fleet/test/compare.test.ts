import { comparePoints, compareReport, WIN_T, type SweepRow } from '../src';
import { Mulberry32 } from '@engine/shared';
import type { OutOfSampleEvaluation } from '@engine/training';

const DAY = 86_400_000;
const days = Array.from({ length: 120 }, (_, i) => Date.UTC(2026, 0, 1) + i * DAY);

function normal(r: Mulberry32): number {
  return Math.sqrt(-2 * Math.log(1 - r.next())) * Math.cos(2 * Math.PI * r.next());
}

/** A sweep row carrying an evaluation whose daily net bps are `daily`. */
function row(symbol: string, point: number, daily: number[]): SweepRow {
  const evaluation: OutOfSampleEvaluation = { family: 'x', seed: 0, days, daily_net_bps: daily, rows: 1000, rank_ic: 0.1, brier: 0.2, calibration_slope: 1, calibration_intercept: 0 };
  return { sweepId: 'abcdefabcdef', point, symbol, runDate: '2026-05-01', configHash: `h${point}`, modelId: 'm', passed: false, failed: [], trades: 10, sharpe: null, psr0: 0, oosDays: days.length, sharpeAnnual: 0, evaluation, training: {}, n: 1, nEffective: 1, sr0: 0, dsr: 0, minTrackRecordDays: 0, verdict: 'x' };
}

describe('engine compare: points and the pre-registered decision rule', () => {
  it('seeds every seeded family, runs the deterministic linear family once, and needs the GBDT as the reference', () => {
    const pts = comparePoints({ families: ['gbdt', 'linear', 'ensemble'], seeds: 3 });
    expect(pts.map((p) => `${p.family}:${p.seed}`)).toEqual(['gbdt:0', 'gbdt:1', 'gbdt:2', 'linear:0', 'ensemble:0', 'ensemble:1', 'ensemble:2']);
    expect(pts[1]!.training.model?.seed).toBe(1);
    expect(pts[5]!.training.family?.rf?.seed).toBe(1);
    expect(() => comparePoints({ families: ['rf', 'linear'], seeds: 2 })).toThrow(/must include gbdt/);
    expect(() => comparePoints({ families: ['gbdt', 'xgb' as never], seeds: 2 })).toThrow(/unknown model family 'xgb'/);
  });

  it('a challenger that earns 2 bps/day more than the GBDT, through noise, wins; one that only matches it does not', () => {
    const r = new Mulberry32(5);
    const pts = comparePoints({ families: ['gbdt', 'rf', 'ensemble'], seeds: 1 });
    const g = days.map(() => 5 * normal(r));
    const better = g.map((v) => v + 2 + 1.5 * normal(r));
    const same = g.map((v) => v + 1.5 * normal(r));
    const rep = compareReport([row('A/USDT', 0, g), row('A/USDT', 1, same), row('A/USDT', 2, better)], pts);
    const ens = rep.rows.find((x) => x.symbol === '*' && x.family === 'ensemble')!;
    expect(ens.vsGbdt!.meanDiff).toBeGreaterThan(1.5);
    expect(ens.vsGbdt!.nwT).toBeGreaterThan(WIN_T);
    expect(ens.vsGbdt!.ciLo).toBeGreaterThan(0);
    expect(rep.verdicts).toEqual([
      { family: 'rf', wins: false, reason: expect.stringMatching(/Newey–West t/) },
      { family: 'ensemble', wins: true, reason: expect.stringMatching(/bootstrap 95%/) },
    ]);
  });

  it('sums the symbols into the fleet book and refuses different out-of-sample days', () => {
    const pts = comparePoints({ families: ['gbdt', 'linear'], seeds: 1 });
    const ones = days.map(() => 1);
    const rep = compareReport([row('A/USDT', 0, ones), row('B/USDT', 0, ones), row('A/USDT', 1, ones), row('B/USDT', 1, ones)], pts);
    expect(rep.rows.find((x) => x.symbol === '*' && x.family === 'gbdt')!.meanDailyNetBps).toBe(2);
    const shifted = row('B/USDT', 1, ones);
    shifted.evaluation = { ...shifted.evaluation!, days: days.map((d) => d + DAY) };
    expect(() => compareReport([row('A/USDT', 0, ones), row('B/USDT', 0, ones), row('A/USDT', 1, ones), shifted], pts)).toThrow(/out-of-sample days (differ|were)|different out-of-sample days/);
  });

  it('reports a trading agent (ppo, seeded, no edge prediction) without a rank IC, Brier or calibration', () => {
    const pts = comparePoints({ families: ['gbdt', 'ppo'], seeds: 2 });
    expect(pts.map((p) => `${p.family}:${p.seed}`)).toEqual(['gbdt:0', 'gbdt:1', 'ppo:0', 'ppo:1']);
    expect(pts[3]!.training.family?.ppo?.seed).toBe(1);
    const ones = days.map(() => 1);
    const agent = (point: number) => {
      const r = row('A/USDT', point, ones);
      r.evaluation = { ...r.evaluation!, rank_ic: Number.NaN, brier: null, calibration_slope: null, calibration_intercept: null };
      return r;
    };
    const rep = compareReport([row('A/USDT', 0, ones), row('A/USDT', 1, ones), agent(2), agent(3)], pts);
    for (const x of rep.rows.filter((x) => x.family === 'ppo')) {
      expect(x.rankIc).toBeNaN();
      expect(x.brier).toBeNull();
      expect(x.seeds).toBe(2);
    }
    expect(rep.rows.find((x) => x.symbol === 'A/USDT' && x.family === 'ppo')!.seedSdRankIc).toBeNaN();
  });

  it('refuses a point without its evaluation (an incomplete comparison is not the registered one)', () => {
    const pts = comparePoints({ families: ['gbdt'], seeds: 1 });
    const r0 = row('A/USDT', 0, days.map(() => 0));
    delete r0.evaluation;
    expect(() => compareReport([r0], pts)).toThrow(/carries no out-of-sample evaluation/);
  });
});
