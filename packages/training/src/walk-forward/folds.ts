import { DAY_MS, MINUTE_MS, PermanentError } from '@engine/shared';

/** Sliding walk-forward settings (SPEC §1.4). */
export interface WalkForwardConfig {
  /** Training window length, days. Default 20. */
  train_days: number;
  /** Test window length, days. Default 5. */
  test_days: number;
  /** Distance between consecutive folds, days; must be ≥ test_days so test windows never overlap. Default 5. */
  step_days: number;
  /**
   * Embargo after each test window, minutes: training rows that start within it are
   * dropped. `null` → the label horizon + 1 minute (the spec asks for ≥ the horizon).
   */
  embargo_minutes: number | null;
  /** A fold is skipped when less than this share of its training minutes carry a usable row. Default 0.6. */
  min_train_coverage: number;
  /** Likewise for the test window. Default 0.6. */
  min_test_coverage: number;
  /**
   * Where the fold grid lies. `calendar` (default): test windows start on the UTC grid of
   * `step_days` from the Unix epoch, so the next day's window has the same folds but at its
   * edges and a fold's fit can be reused (the fit cache); the first fold's training window
   * is clipped at the window's start when the window does not start on the grid. `window`:
   * folds start at the window's first minute, as before issue 18. Absent (an older
   * configuration): `window`.
   */
  anchor?: 'calendar' | 'window';
}

export const DEFAULT_WALK_FORWARD: WalkForwardConfig = {
  train_days: 20,
  test_days: 5,
  step_days: 5,
  embargo_minutes: null,
  min_train_coverage: 0.6,
  min_test_coverage: 0.6,
  anchor: 'calendar',
};

/**
 * The first fold's test start. `window`: the window's start + the training length.
 * `calendar`: the first point of the UTC grid of `step` (from the epoch) at or after
 * start + 80% of the training length: the training length when the window starts on the
 * grid; otherwise a little earlier (its training window clipped at the window's start, to no
 * less than 80% of its length) or later (the window's first days then train no fold).
 */
export function firstTestStart(start: number, trainMs: number, stepMs: number, anchor: WalkForwardConfig['anchor']): number {
  if (anchor !== 'calendar') return start + trainMs;
  // the first grid point that leaves the first fold at least MIN_FIRST_TRAIN of its training length
  const earliest = start + Math.ceil((trainMs * MIN_FIRST_TRAIN) / MINUTE_MS) * MINUTE_MS;
  return Math.ceil(earliest / stepMs) * stepMs;
}

/** On the calendar grid the first fold's training window keeps at least this share of its length (else the fold starts a step later). */
export const MIN_FIRST_TRAIN = 0.8;

/** One fold: half-open time windows [start, end) in epoch ms, and the rows they use. */
export interface Fold {
  index: number;
  train_start: number;
  train_end: number;
  test_start: number;
  test_end: number;
  /** Usable training rows left after purging and embargo, ascending. */
  train_rows: Int32Array;
  /** Usable test rows, ascending. */
  test_rows: Int32Array;
  /** Training rows removed because their label interval overlaps the test window (or a test label). */
  purged: number;
  /** Training rows removed because they start inside the embargo after the test window. */
  embargoed: number;
  coverage: { train: number; test: number };
  skipped: boolean;
  skip_reason: string | null;
}

/** Inputs that describe the rows: signal time, label end and whether the row is usable. */
export interface RowTimeline {
  /** Signal bar open time per row (epoch ms), ascending. */
  ts: Float64Array;
  /**
   * End of each row's label interval, exclusive (epoch ms): the close of its exit bar.
   * The label interval of row i is [ts[i], label_end[i]). NaN for unusable rows.
   */
  label_end: Float64Array;
  /** 1 when the row has a label (and whatever else the caller requires). */
  usable: Uint8Array;
}

function daysToMs(days: number, name: string): number {
  if (!Number.isFinite(days) || days <= 0) {
    throw new PermanentError('WALK_FORWARD_CONFIG', `walk-forward ${name} must be a positive number of days, got ${days}`);
  }
  const minutes = Math.round((days * DAY_MS) / MINUTE_MS);
  if (minutes < 1) throw new PermanentError('WALK_FORWARD_CONFIG', `walk-forward ${name} must be at least one minute, got ${days} days`);
  return minutes * MINUTE_MS;
}

/** First index i with a[i] ≥ x (a ascending). */
export function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Remove from `rows` every row whose label interval [ts, label_end) intersects
 * [blockStart, blockEnd) (purge), and every row that starts in [embargoStart, embargoEnd)
 * (embargo). Returns the kept rows and the counts.
 */
export function purgeRows(
  rows: ArrayLike<number>,
  tl: RowTimeline,
  blockStart: number,
  blockEnd: number,
  embargoStart: number,
  embargoEnd: number,
): { kept: Int32Array; purged: number; embargoed: number } {
  const kept = new Int32Array(rows.length);
  let k = 0;
  let purged = 0;
  let embargoed = 0;
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    const t = tl.ts[i]!;
    if (t >= embargoStart && t < embargoEnd) {
      embargoed++;
      continue;
    }
    if (t < blockEnd && tl.label_end[i]! > blockStart) {
      purged++;
      continue;
    }
    kept[k++] = i;
  }
  return { kept: kept.slice(0, k), purged, embargoed };
}

/** Usable rows whose signal time lies in [from, to). */
export function usableRowsIn(tl: RowTimeline, from: number, to: number): Int32Array {
  const a = lowerBound(tl.ts, from);
  const b = lowerBound(tl.ts, to);
  const out = new Int32Array(Math.max(0, b - a));
  let k = 0;
  for (let i = a; i < b; i++) if (tl.usable[i] === 1) out[k++] = i;
  return out.slice(0, k);
}

/**
 * Sliding walk-forward folds over [start, end): fold k tests on [t + k·step, t + k·step +
 * test) and trains on the `train` span before it, in time order, never shuffled; t is
 * start + train, or with `anchor: calendar` a point of the UTC grid of `step` (see
 * {@link firstTestStart}; the first fold's training window is then clipped at the window's
 * start, by less than a step). Training rows are purged when their label interval overlaps the
 * test window or any test row's label interval, and embargoed when they start within
 * `embargo` after the test window. Folds whose windows have too few usable rows are
 * returned with `skipped: true` and the reason.
 *
 * With forward-only windows no training row starts after its test window, so the embargo
 * removes nothing here; it is applied anyway so the guarantee does not depend on the
 * window layout (and is reported per fold).
 */
export function walkForwardFolds(
  tl: RowTimeline,
  cfg: WalkForwardConfig,
  span: { start: number; end: number; horizon_minutes: number },
): Fold[] {
  const train = daysToMs(cfg.train_days, 'train_days');
  const test = daysToMs(cfg.test_days, 'test_days');
  const step = daysToMs(cfg.step_days, 'step_days');
  if (step < test) {
    throw new PermanentError('WALK_FORWARD_CONFIG', `walk-forward step_days (${cfg.step_days}) must be ≥ test_days (${cfg.test_days}), or test windows would overlap`);
  }
  const embargoMinutes = cfg.embargo_minutes ?? span.horizon_minutes + 1;
  if (!Number.isFinite(embargoMinutes) || embargoMinutes < span.horizon_minutes) {
    throw new PermanentError('WALK_FORWARD_CONFIG', `walk-forward embargo_minutes (${embargoMinutes}) must be ≥ the label horizon (${span.horizon_minutes} minutes)`);
  }
  const embargo = embargoMinutes * MINUTE_MS;
  const folds: Fold[] = [];
  const test0 = firstTestStart(span.start, train, step, cfg.anchor);
  for (let k = 0; ; k++) {
    const testStart = test0 + k * step;
    const trainEnd = testStart;
    // on the calendar grid the first fold's training window may start before the window: clipped
    const trainStart = Math.max(span.start, testStart - train);
    const testEnd = testStart + test;
    if (testEnd > span.end) break;
    const testRows = usableRowsIn(tl, testStart, testEnd);
    // The test block reaches to the end of the last test label, which may run past testEnd.
    let blockEnd = testEnd;
    for (let r = 0; r < testRows.length; r++) {
      const e = tl.label_end[testRows[r]!]!;
      if (e > blockEnd) blockEnd = e;
    }
    const rawTrain = usableRowsIn(tl, trainStart, trainEnd);
    const { kept, purged, embargoed } = purgeRows(rawTrain, tl, testStart, blockEnd, testEnd, testEnd + embargo);
    // a clipped first fold (calendar grid) is judged on the span it has: clipping is not missing data
    const coverage = { train: rawTrain.length / ((trainEnd - trainStart) / MINUTE_MS), test: testRows.length / (test / MINUTE_MS) };
    let reason: string | null = null;
    if (coverage.train < cfg.min_train_coverage) {
      reason = `training window has usable rows for ${(coverage.train * 100).toFixed(1)}% of its minutes (< ${(cfg.min_train_coverage * 100).toFixed(0)}%)`;
    } else if (coverage.test < cfg.min_test_coverage) {
      reason = `test window has usable rows for ${(coverage.test * 100).toFixed(1)}% of its minutes (< ${(cfg.min_test_coverage * 100).toFixed(0)}%)`;
    }
    folds.push({
      index: k,
      train_start: trainStart,
      train_end: trainEnd,
      test_start: testStart,
      test_end: testEnd,
      train_rows: kept,
      test_rows: testRows,
      purged,
      embargoed,
      coverage,
      skipped: reason !== null,
      skip_reason: reason,
    });
  }
  return folds;
}
