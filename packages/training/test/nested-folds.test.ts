import fc from 'fast-check';
import { walkForwardFolds } from '../src/walk-forward/folds';
import { averageUniqueness } from '../src/walk-forward/uniqueness';
import { planFits } from '../src/pipeline/fit-plan';
import { innerFolds } from '../src/pipeline/members';
import { resolveTrainConfig } from '../src/pipeline/config';
import { T0, randomTimeline as timeline } from './candle-fixtures';

const MIN = 60_000;

const overlaps = (s1: number, e1: number, s2: number, e2: number): boolean => s1 < e2 && s2 < e1;

/**
 * The leakage property of issue 17's nested folds, on random timelines: an ensemble's
 * combiner for an outer fold is fitted on the fold's calibration rows (inside its training
 * window), scored by member fits whose training labels touch neither those rows' labels nor
 * the outer test window; the outer test rows are never among them; a linear member's inner
 * folds train only on labels that end before their test block starts.
 */
describe('nested purged folds (ensemble combiners, linear inner folds)', () => {
  it('no combiner or inner fit ever trains on a label that overlaps what it is judged on, or on the outer test window', () => {
    fc.assert(
      fc.property(
        fc.record({
          days: fc.integer({ min: 3, max: 8 }),
          horizon: fc.integer({ min: 1, max: 60 }),
          missing: fc.double({ min: 0, max: 0.3, noNaN: true }),
          calDays: fc.double({ min: 0.2, max: 1, noNaN: true }),
          seed: fc.integer(),
        }),
        ({ days, horizon, missing, calDays, seed }) => {
          const n = days * 1440;
          const tl = timeline(n, horizon, missing, seed);
          const cfg = resolveTrainConfig({
            walk_forward: { train_days: 1.5, test_days: 0.5, step_days: 0.5 },
            threshold: { calibration_days: calDays },
            labels: { horizon_minutes: horizon },
            family: { name: 'ensemble' },
          });
          const folds = walkForwardFolds(tl, cfg.walk_forward, { start: T0, end: T0 + n * MIN, horizon_minutes: horizon });
          const all = Int32Array.from({ length: n }, (_, i) => i).filter((i) => tl.usable[i] === 1);
          const plan = planFits(folds, all, tl, horizon + 1, cfg);
          const bad: string[] = [];
          const jobOf = new Map(plan.jobs.map((j) => [j.id, j]));
          const evaluated = folds.filter((f) => !f.skipped);
          evaluated.forEach((f, k) => {
            const cal = plan.calibration.get(f.index)!;
            // the job whose predictions score the calibration rows
            const scorer = cal.job !== null ? jobOf.get(cal.job)! : jobOf.get(plan.foldJob.get(evaluated[k - 1]!.index)!)!;
            const calSet = new Set(cal.rows);
            for (const i of cal.rows) {
              if (tl.ts[i]! < f.train_start || tl.ts[i]! >= f.train_end) bad.push(`fold ${f.index}: calibration row ${i} outside the training window`);
              if (overlaps(tl.ts[i]!, tl.label_end[i]!, f.test_start, f.test_end)) bad.push(`fold ${f.index}: calibration label ${i} reaches the test window`);
            }
            for (const j of f.test_rows) if (calSet.has(j)) bad.push(`fold ${f.index}: test row ${j} among the calibration rows`);
            if (!Array.from(cal.rows).every((i) => Array.from(scorer.predict).includes(i))) bad.push(`fold ${f.index}: the scoring fit does not predict every calibration row`);
            let calStart = Infinity;
            let calEnd = -Infinity;
            for (const i of cal.rows) {
              calStart = Math.min(calStart, tl.ts[i]!);
              calEnd = Math.max(calEnd, tl.label_end[i]!);
            }
            for (const i of scorer.rows) {
              if (overlaps(tl.ts[i]!, tl.label_end[i]!, calStart, calEnd)) bad.push(`fold ${f.index}: scoring fit trains on row ${i}, whose label overlaps the calibration slice`);
              if (overlaps(tl.ts[i]!, tl.label_end[i]!, f.test_start, f.test_end)) bad.push(`fold ${f.index}: scoring fit trains on row ${i}, whose label reaches the outer test window`);
            }
            // a linear member's inner folds inside this fold's training rows
            if (f.train_rows.length >= 3) {
              for (const inner of innerFolds(f.train_rows, tl.ts, tl.label_end, 3)) {
                const start = tl.ts[inner.test[0]!]!;
                for (const i of inner.train) if (tl.label_end[i]! > start) bad.push(`fold ${f.index}: inner training row ${i} labels past its test block`);
              }
            }
          });
          expect(bad.slice(0, 5)).toEqual([]);
        },
      ),
      { numRuns: 60, seed: 20261206 },
    );
  });

  it('the average uniqueness is 1 without overlap and about 1/h when every minute starts an h-minute label', () => {
    const n = 5000;
    const ts = Float64Array.from({ length: n }, (_, i) => T0 + i * MIN);
    const rows = Int32Array.from({ length: n }, (_, i) => i);
    const single = { ts, label_end: Float64Array.from(ts, (t) => t + MIN), usable: new Uint8Array(n).fill(1) };
    expect(averageUniqueness(single, rows)).toBeCloseTo(1, 12);
    const h = 30;
    const long = { ts, label_end: Float64Array.from(ts, (t) => t + h * MIN), usable: new Uint8Array(n).fill(1) };
    expect(averageUniqueness(long, rows)).toBeCloseTo(1 / h, 2);
  });
});
