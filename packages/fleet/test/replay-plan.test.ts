import { DAY_MS } from '@engine/shared';
import { binomialUpper95, buyAndHoldDaily, dailyByExit, olsFit, replayDays } from '../src/replay/report';
import { liveFrom, parseRetrainEvery, replayId, replaySchema, resolveReplayRequest, retrainDates } from '../src/replay/plan';
import { timeline } from '../src/replay/simulate';
import type { ReplayStep } from '../src/replay/context';

const BASE = { symbols: ['ETH/USDT', 'BTC/USDT'], from: '2026-06-01', to: '2026-06-15', retrainEveryDays: 7, windowDays: 150, source: 'csv:/data' };

test('a replay request: defaults, checks, and an id that names exactly what changes a result', () => {
  const r = resolveReplayRequest(BASE);
  expect(r.symbols).toEqual(['BTC/USDT', 'ETH/USDT']);
  expect(r.liveDelayMinutes).toBe(120);
  expect(r.ttlHours).toBe(7 * 24 + 24);
  expect(retrainDates(r)).toEqual(['2026-06-01', '2026-06-08']);
  expect(retrainDates({ ...r, retrainEveryDays: 1 })).toHaveLength(14);
  expect(replayDays(r)).toHaveLength(14);
  expect(liveFrom(r, '2026-06-08')).toBe(Date.UTC(2026, 5, 8, 2));
  // the same request (symbols in any order) is the same replay; any setting that changes a result is another
  expect(replayId(resolveReplayRequest({ ...BASE, symbols: ['ETH/USDT', 'BTC/USDT'] }))).toBe(replayId(r));
  expect(replayId(resolveReplayRequest({ ...BASE, training: { labels: { horizon_minutes: 60 } } }))).not.toBe(replayId(r));
  expect(replayId(resolveReplayRequest({ ...BASE, retrainEveryDays: 1 }))).not.toBe(replayId(r));
  expect(replaySchema(replayId(r))).toMatch(/^engine_replay_[0-9a-f]{12}$/);
  expect(() => replaySchema('x; DROP')).toThrow(/12 hex digits/);
  expect(parseRetrainEvery('1d')).toBe(1);
  expect(parseRetrainEvery('7d')).toBe(7);
  expect(() => parseRetrainEvery('weekly')).toThrow(/--retrain-every must be a number of days/);
  expect(() => resolveReplayRequest({ ...BASE, to: '2026-05-01' })).toThrow(/--to \(2026-05-01\) must be after --from/);
  expect(() => resolveReplayRequest({ ...BASE, symbols: [] })).toThrow(/at least one symbol/);
  expect(() => resolveReplayRequest({ ...BASE, training: { labels: { horizon: 5 } } as never })).toThrow(/horizon/);
  expect(() => resolveReplayRequest({ ...BASE, liveDelayMinutes: 1440 })).toThrow(/live delay/);
});

test('timelines: the factory keeps the live model across a rejected day; gates-off trades each new model; nothing before the first', () => {
  const r = resolveReplayRequest({ ...BASE, retrainEveryDays: 2, from: '2026-06-01', to: '2026-06-07' });
  const steps: ReplayStep[] = [
    { symbol: 'ETH/USDT', runDate: '2026-06-01', modelId: 'a', verdict: 'published', liveModelId: 'a', error: null },
    { symbol: 'ETH/USDT', runDate: '2026-06-03', modelId: 'b', verdict: 'rejected', liveModelId: 'a', error: null },
    { symbol: 'ETH/USDT', runDate: '2026-06-05', modelId: null, verdict: null, liveModelId: 'a', error: 'TRAINING_FAILED: boom' },
  ];
  const t0 = Date.UTC(2026, 5, 1);
  const h2 = 2 * 3_600_000;
  expect(timeline(r, steps, 'factory')).toEqual([
    { from: t0, to: t0 + h2, modelId: null },
    { from: t0 + h2, to: t0 + 2 * DAY_MS + h2, modelId: 'a' },
    { from: t0 + 2 * DAY_MS + h2, to: t0 + 4 * DAY_MS + h2, modelId: 'a' },
    { from: t0 + 4 * DAY_MS + h2, to: t0 + 6 * DAY_MS, modelId: 'a' },
  ]);
  expect(timeline(r, steps, 'gates_off').map((s) => s.modelId)).toEqual([null, 'a', 'b', null]);
});

test('books: trades by exit day (an exit at midnight closes the day before), buy and hold from the first open', () => {
  const days = ['2026-06-01', '2026-06-02'];
  const t0 = Date.UTC(2026, 5, 1);
  expect(dailyByExit([{ exitTs: t0 + 60_000, netBps: 5 }, { exitTs: t0 + DAY_MS, netBps: -2 }, { exitTs: t0 + DAY_MS + 60_000, netBps: 7 }, { exitTs: t0 + 3 * DAY_MS, netBps: 100 }], days)).toEqual([3, 7]);
  expect(buyAndHoldDaily([101, 99], 100)).toEqual([100, -200]);
  // a missing close carries the last one
  expect(buyAndHoldDaily([Number.NaN, 102], 100)).toEqual([0, 200]);
});

test('statistics against reference values (numpy.polyfit, scipy.stats.binom.ppf)', () => {
  const fit = olsFit([10, 15, 20, 25], [3, 8, 4, 12])!;
  expect(fit.slope).toBeCloseTo(0.46, 12);
  expect(fit.intercept).toBeCloseTo(-1.3, 12);
  expect(olsFit([1], [2])).toBeNull();
  expect(olsFit([2, 2], [1, 3])).toBeNull();
  for (const [n, p, k] of [[16, 0.05, 2], [3, 0.05, 1], [100, 0.05, 9], [3600, 0.05, 202], [40, 0.1, 7]] as const) expect(binomialUpper95(n, p)).toBe(k);
});
