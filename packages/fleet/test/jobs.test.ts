import { PermanentError } from '@engine/shared';
import { JOB_OPTIONS, jobIds, parseJob } from '../src/jobs';

describe('the job catalog', () => {
  it('makes deterministic BullMQ-safe job ids', () => {
    expect(jobIds.train('2026-11-24', 'BTC/USDT')).toBe('train-2026-11-24-BTC-USDT');
    expect(jobIds.train('2026-11-24', 'BTC/USDT')).not.toContain(':');
    expect(JOB_OPTIONS.train('2026-11-24', 'BTC/USDT', { attempts: 3, backoffMs: 15_000 })).toMatchObject({ jobId: 'train-2026-11-24-BTC-USDT', attempts: 3, ignoreDependencyOnFailure: true });
  });

  it('rejects malformed payloads permanently, naming the field', () => {
    expect(() => parseJob('train', { runDate: '2026-11-24', symbol: 'btc', windowDays: 150, source: 'binance' })).toThrow(/symbol/);
    expect(() => parseJob('train', { runDate: 'x' })).toThrow(PermanentError);
    expect(() => parseJob('train', { runDate: 'x' })).toThrow(/runDate: expected a UTC day/);
    expect(parseJob('train', { runDate: '2026-11-24', symbol: 'BTC/USDT', windowDays: 150, source: 'binance' }).symbol).toBe('BTC/USDT');
  });

  it('types training overrides in the payload: a typo or a bad value is refused when the job is made or read', () => {
    const job = { runDate: '2026-11-24', symbol: 'BTC/USDT', windowDays: 150, source: 'binance' };
    expect(parseJob('train', { ...job, training: { model: { nEstimators: 50 } } }).training).toEqual({ model: { nEstimators: 50 } });
    expect(() => parseJob('train', { ...job, training: { model: { nEstimator: 50 } } })).toThrow(/training\.model: Unrecognized key: "nEstimator"/);
    expect(() => parseJob('train', { ...job, training: { model: { nEstimators: 0 } } })).toThrow(/training\.model\.nEstimators: Too small/);
    expect(() => parseJob('train', { ...job, training: { labels: { horizon_minutes: '60' } } })).toThrow(/training\.labels\.horizon_minutes: .*expected number/);
    expect(() => parseJob('train', { ...job, training: { gates: { min_sharpe: 0.7, bogus: 1 } } })).toThrow(PermanentError);
  });
});
