import { UnrecoverableError } from 'bullmq';
import { DataError, DEFAULT_RETRY, TransientError } from '@engine/shared';
import { toJobError } from '../src/job-errors';
import { MAX_BACKOFF_MS, retryAfterBackoff } from '../src/sync-queue';
import { JOB_OPTIONS } from '../src/jobs';
import { overallProgress, trainingWindow } from '../src/train-job';

describe('what BullMQ sees of our errors', () => {
  it('a permanent error becomes an UnrecoverableError carrying its code and reason', () => {
    const e = toJobError(new DataError('CANDLES_INVALID', 'SUI/USDT: high < low at 2026-06-01T00:03Z (rule high>=max(open,close))'), 'training SUI/USDT 2026-07-17');
    expect(e).toBeInstanceOf(UnrecoverableError);
    expect(e.name).toBe('UnrecoverableError');
    expect(e.message).toBe('[CANDLES_INVALID] SUI/USDT: high < low at 2026-06-01T00:03Z (rule high>=max(open,close))');
  });

  it('a transient error stays itself (Retry-After included); an unknown throwable is wrapped as transient with context', () => {
    const t = new TransientError('DROPBOX_RATE_LIMITED', 'Dropbox 429', { retryAfterMs: 7000 });
    expect(toJobError(t, 'sync')).toBe(t);
    const w = toJobError(new Error('socket hang up'), 'sync of m1');
    expect(w).toBeInstanceOf(TransientError);
    expect(w.message).toBe('sync of m1: socket hang up');
  });
});

describe('sync backoff', () => {
  const backoff = retryAfterBackoff(5_000);
  it('doubles from the base delay and is capped', () => {
    expect([1, 2, 3, 4].map((a) => backoff(a, 'retry-after'))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(backoff(30, 'retry-after')).toBe(MAX_BACKOFF_MS);
  });
  it('waits at least what the server asked for', () => {
    expect(backoff(1, 'retry-after', new TransientError('X', 'x', { retryAfterMs: 60_000 }))).toBe(60_000);
    expect(backoff(3, 'retry-after', new TransientError('X', 'x', { retryAfterMs: 1_000 }))).toBe(20_000);
  });
  it('sync jobs get a deterministic id and the Retry-After-aware backoff', () => {
    expect(JOB_OPTIONS.sync('6f1c1c1e-8f4e-4d55-9d55-2f1d0c8f9a11', DEFAULT_RETRY.sync)).toMatchObject({ jobId: 'sync-6f1c1c1e-8f4e-4d55-9d55-2f1d0c8f9a11', attempts: 8, backoff: { type: 'retry-after', delay: 5_000 } });
  });
});

describe('training job bookkeeping', () => {
  it('the window is [runDate − days, runDate): the run day itself is never trained on', () => {
    const w = trainingWindow('2026-07-17', 30);
    expect(new Date(w.start).toISOString()).toBe('2026-06-17T00:00:00.000Z');
    expect(new Date(w.end).toISOString()).toBe('2026-07-17T00:00:00.000Z');
    expect(() => trainingWindow('2026-13-01', 30)).toThrow(/not a valid UTC day/);
  });

  it('stage progress maps onto one monotone 0‥100 bar, folds by index', () => {
    const seq = [
      overallProgress({ stage: 'candles', fraction: 0 }),
      overallProgress({ stage: 'candles', fraction: 1 }),
      overallProgress({ stage: 'features' }),
      overallProgress({ stage: 'labels' }),
      overallProgress({ stage: 'fold', fold: 1, folds: 4 }),
      overallProgress({ stage: 'fold', fold: 4, folds: 4, fraction: 1 }),
      overallProgress({ stage: 'final' }),
      overallProgress({ stage: 'export' }),
      overallProgress({ stage: 'registry' }),
      overallProgress({ stage: 'done' }),
    ].map((p) => p.pct);
    expect(seq).toEqual([0, 10, 10, 20, 25, 85, 85, 95, 98, 100]);
    expect(overallProgress({ stage: 'fold', fold: 2, folds: 3, message: 'x' })).toEqual({ stage: 'fold', fold: 2, folds: 3, message: 'x', pct: 45 });
  });
});
