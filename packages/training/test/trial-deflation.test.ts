import { Mulberry32 } from '@engine/shared';
import { deflateByTrials, trialClusters, type TrialHistoryEntry } from '../src/gates/trial-deflation';
import { probabilisticSharpeRatio, sharpeMoments } from '../src/metrics/deflated-sharpe';

const gauss = (r: Mulberry32) => Math.sqrt(-2 * Math.log(1 - r.next())) * Math.cos(2 * Math.PI * r.next());
const noise = (r: Mulberry32, n: number, mean = 0) => Array.from({ length: n }, () => mean + gauss(r));
const entry = (configHash: string, daily: number[], runDate = '2026-07-01', firstDay = '2026-02-01'): TrialHistoryEntry => ({ configHash, runDate, firstDay, dailyPnl: daily, sharpe: sharpeMoments(daily).sharpe });

describe('trial clusters (effective N)', () => {
  const r = new Mulberry32(3);
  const a = noise(r, 120);
  const b = noise(r, 120);
  test('the same series counts once, independent series each count', () => {
    expect(trialClusters([entry('1', a), entry('2', a), entry('3', a.map((x) => 2 * x + 1))], 0.5, 20)).toBe(1);
    expect(trialClusters([entry('1', a), entry('2', b), entry('3', noise(r, 120))], 0.5, 20)).toBe(3);
    expect(trialClusters([entry('1', a), entry('2', a), entry('3', b)], 0.5, 20)).toBe(2);
  });
  test('series that share fewer days than the minimum are taken as unrelated', () => {
    expect(trialClusters([entry('1', a, '2026-07-01', '2026-01-01'), entry('2', a, '2026-07-01', '2026-04-20')], 0.5, 20)).toBe(2);
  });
});

describe('deflating a candidate by the symbol’s trials', () => {
  test('alone, N is 1, SR₀ is 0 and the DSR is its PSR(0); its own earlier record is not another trial', () => {
    const r = new Mulberry32(5);
    const daily = noise(r, 130, 0.2);
    const m = sharpeMoments(daily);
    const own = entry('cand', daily, '2026-07-17');
    const d = deflateByTrials({ configHash: 'cand', sharpe: m.sharpe, skew: m.skew, kurtosis: m.kurtosis, firstDay: '2026-02-01', dailyPnl: daily }, [own], '2026-07-17');
    expect(d.n).toBe(1);
    expect(d.sr0).toBe(0);
    expect(d.dsr_iid).toBeCloseTo(probabilisticSharpeRatio(m.sharpe, 0, 130, m.skew, m.kurtosis), 12);
    expect(d.dsr).toBeLessThanOrEqual(d.dsr_iid);
  });

  test('the best of 100 noise trials looks significant alone and is deflated below 0.95 at its true N', () => {
    const r = new Mulberry32(11);
    const trials = Array.from({ length: 100 }, (_, k) => entry(`cfg-${k}`, noise(r, 130), '2026-07-17'));
    const best = trials.reduce((a, b) => ((b.sharpe ?? 0) > (a.sharpe ?? 0) ? b : a));
    const m = sharpeMoments(best.dailyPnl);
    expect(probabilisticSharpeRatio(m.sharpe, 0, 130, m.skew, m.kurtosis)).toBeGreaterThan(0.95);
    const d = deflateByTrials({ configHash: best.configHash, sharpe: m.sharpe, skew: m.skew, kurtosis: m.kurtosis, firstDay: best.firstDay, dailyPnl: best.dailyPnl }, trials, '2026-07-17');
    expect(d.n).toBe(100);
    expect(d.n_effective).toBeGreaterThan(90);
    expect(d.sr0).toBeGreaterThan(0.15);
    expect(d.dsr).toBeLessThan(0.95);
  });

  test('a real edge survives its search: a strong candidate among noise trials keeps a DSR ≥ 0.95', () => {
    const r = new Mulberry32(12);
    const trials = Array.from({ length: 30 }, (_, k) => entry(`cfg-${k}`, noise(r, 130), '2026-07-17'));
    const daily = noise(r, 130, 0.6);
    const m = sharpeMoments(daily);
    const d = deflateByTrials({ configHash: 'edge', sharpe: m.sharpe, skew: m.skew, kurtosis: m.kurtosis, firstDay: '2026-02-01', dailyPnl: daily }, trials, '2026-07-17');
    expect(d.n).toBe(31);
    expect(d.dsr).toBeGreaterThanOrEqual(0.95);
    expect(d.min_track_record_days).toBeLessThan(130);
  });
});
