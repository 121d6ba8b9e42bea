import fc from 'fast-check';
import { lowerBound, type RowTimeline, walkForwardFolds, DEFAULT_WALK_FORWARD } from '../src/walk-forward/folds';
import { T0, randomTimeline as timeline } from './candle-fixtures';

const MIN = 60_000;

/** Every broken walk-forward guarantee, as text (empty when all hold). Plain checks: this runs millions of times. */
function foldViolations(tl: RowTimeline, folds: ReturnType<typeof walkForwardFolds>, horizon: number, extraEmbargo: number | null, n: number): string[] {
  const bad: string[] = [];
  let prevTestEnd = -Infinity;
  for (const f of folds) {
    if (f.test_start < prevTestEnd) bad.push(`fold ${f.index}: test window overlaps the previous one`);
    if (!(f.test_end > f.test_start) || f.test_end > T0 + n * MIN) bad.push(`fold ${f.index}: test window out of range`);
    prevTestEnd = f.test_end;
    // Max label end over test rows that start before x: a prefix maximum (test rows are ascending).
    const prefMax = new Float64Array(f.test_rows.length);
    const testTs = new Float64Array(f.test_rows.length);
    let m = -Infinity;
    f.test_rows.forEach((j, k) => {
      if (tl.ts[j]! < f.test_start || tl.ts[j]! >= f.test_end) bad.push(`fold ${f.index}: test row ${j} outside the test window`);
      m = Math.max(m, tl.label_end[j]!);
      prefMax[k] = m;
      testTs[k] = tl.ts[j]!;
    });
    const embargoEnd = f.test_end + (extraEmbargo === null ? horizon + 1 : horizon + extraEmbargo) * MIN;
    for (const i of f.train_rows) {
      const s = tl.ts[i]!;
      const e = tl.label_end[i]!;
      if (tl.usable[i] !== 1) bad.push(`fold ${f.index}: unusable training row ${i}`);
      if (s < f.train_start || s >= f.train_end) bad.push(`fold ${f.index}: training row ${i} outside the training window`);
      // [s, e) ∩ [test_start, test_end) = ∅
      if (!(e <= f.test_start || s >= f.test_end)) bad.push(`fold ${f.index}: training label ${i} [${s}, ${e}) overlaps the test window`);
      // [s, e) ∩ [ts_j, le_j) = ∅ for every test row j: test rows with ts_j < e must all end by s.
      const k = lowerBound(testTs, e) - 1;
      if (k >= 0 && prefMax[k]! > s) bad.push(`fold ${f.index}: training label ${i} overlaps a test label`);
      if (s >= f.test_end && s < embargoEnd) bad.push(`fold ${f.index}: training row ${i} inside the embargo`);
    }
    // Purging removes no more than it must: every usable, non-overlapping row of the window is kept.
    const kept = new Set(f.train_rows);
    const lastTestEnd = f.test_rows.length > 0 ? prefMax[prefMax.length - 1]! : f.test_end;
    for (let i = lowerBound(tl.ts, f.train_start); i < lowerBound(tl.ts, f.train_end); i++) {
      if (tl.usable[i] !== 1) continue;
      const clear = tl.label_end[i]! <= f.test_start || tl.ts[i]! >= Math.max(f.test_end, lastTestEnd, embargoEnd);
      if (clear && !kept.has(i)) bad.push(`fold ${f.index}: row ${i} purged without overlapping anything`);
    }
    if (bad.length > 20) break;
  }
  return bad;
}

describe('purged walk-forward', () => {
  it('never lets a training label interval touch a test window or test label, and never overlaps test windows (random configurations)', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 300, max: 6000 }),
          trainMin: fc.integer({ min: 30, max: 2000 }),
          testMin: fc.integer({ min: 10, max: 800 }),
          extraStep: fc.integer({ min: 0, max: 400 }),
          horizon: fc.integer({ min: 1, max: 90 }),
          extraEmbargo: fc.option(fc.integer({ min: 0, max: 200 }), { nil: null }),
          missing: fc.double({ min: 0, max: 0.5, noNaN: true }),
          seed: fc.integer(),
        }),
        ({ n, trainMin, testMin, extraStep, horizon, extraEmbargo, missing, seed }) => {
          const tl = timeline(n, horizon, missing, seed);
          const folds = walkForwardFolds(
            tl,
            {
              train_days: trainMin / 1440,
              test_days: testMin / 1440,
              step_days: (testMin + extraStep) / 1440,
              embargo_minutes: extraEmbargo === null ? null : horizon + extraEmbargo,
              min_train_coverage: 0.5,
              min_test_coverage: 0.5,
            },
            { start: T0, end: T0 + n * MIN, horizon_minutes: horizon },
          );
          expect(foldViolations(tl, folds, horizon, extraEmbargo, n)).toEqual([]);
        },
      ),
      { numRuns: 200, seed: 20260705 },
    );
  });

  it('lays out 26 folds over 150 days with the defaults and purges the label tails before each test window', () => {
    const n = 150 * 1440;
    const tl = timeline(n, 4, 0, 1);
    // Every label runs to the vertical barrier: the close of bar t+4 = ts + 5 minutes.
    for (let i = 0; i < n; i++) tl.label_end[i] = tl.ts[i]! + 5 * MIN;
    // anchored at the window (the calendar grid is tested beside the fit cache)
    const folds = walkForwardFolds(tl, { ...DEFAULT_WALK_FORWARD, anchor: 'window' }, { start: T0, end: T0 + n * MIN, horizon_minutes: 4 });
    expect(folds).toHaveLength(26);
    expect(folds[0]!.test_start - folds[0]!.train_start).toBe(20 * 86_400_000);
    expect(folds[25]!.test_end).toBe(T0 + n * MIN);
    for (const f of folds) {
      expect(f.skipped).toBe(false);
      // Exactly the last 4 training rows have labels reaching into the test window.
      expect(f.purged).toBe(4);
      expect(f.train_rows.length).toBe(20 * 1440 - 4);
      expect(f.embargoed).toBe(0);
      expect(f.test_rows.length).toBe(5 * 1440);
    }
  });

  it('skips and explains folds with too much missing data', () => {
    const n = 30 * 1440;
    const tl = timeline(n, 4, 0, 2);
    // Knock out most of days 21..24 (the second fold's test window is days 25..30; the first's 20..25).
    for (let i = 21 * 1440; i < 24 * 1440; i++) tl.usable[i] = 0;
    const folds = walkForwardFolds(tl, { ...DEFAULT_WALK_FORWARD, anchor: 'window' }, { start: T0, end: T0 + n * MIN, horizon_minutes: 4 });
    expect(folds).toHaveLength(2);
    expect(folds[0]!.skipped).toBe(true);
    expect(folds[0]!.skip_reason).toMatch(/test window has usable rows for 40\.0% of its minutes \(< 60%\)/);
    expect(folds[1]!.skipped).toBe(false);
  });

  it('refuses overlapping test windows and an embargo shorter than the horizon', () => {
    const tl = timeline(100, 4, 0, 3);
    const span = { start: T0, end: T0 + 100 * MIN, horizon_minutes: 4 };
    expect(() => walkForwardFolds(tl, { ...DEFAULT_WALK_FORWARD, step_days: 4 }, span)).toThrow(/step_days \(4\) must be ≥ test_days \(5\)/);
    expect(() => walkForwardFolds(tl, { ...DEFAULT_WALK_FORWARD, embargo_minutes: 2 }, span)).toThrow(/embargo_minutes \(2\) must be ≥ the label horizon/);
  });
});
