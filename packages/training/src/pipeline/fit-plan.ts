import { MINUTE_MS } from '@engine/shared';
import { type GbdtModel, trainGbdt } from '@engine/gbdt';
import type { TripleBarrierLabels } from '@engine/model';
import type { SimSegment } from '../simulation/simulate';
import { selectThreshold, type ThresholdChoice } from '../threshold/select-threshold';
import { type Fold, purgeRows, type RowTimeline } from '../walk-forward/folds';
import type { TrainConfig } from './config';
import { type FitJob, type FitResult, FoldTrainerPool } from './fold-pool';

/** Where a fold's calibration predictions come from (rows at the end of its training window). */
interface Calibration {
  rows: Int32Array;
  start: number;
  source: ThresholdChoice['source'];
  /** The inner model's job; null when the previous fold's out-of-sample predictions cover the slice. */
  job: number | null;
}

/** Every model fit of one symbol's run, and which fit serves what. */
export interface FitPlan {
  jobs: FitJob[];
  /** Evaluated fold index → its model's job. */
  foldJob: Map<number, number>;
  calibration: Map<number, Calibration>;
  finalJob: number;
  confidenceJob: number;
}

/**
 * Plan every fit: one model per evaluated fold; where the previous fold's out-of-sample
 * predictions do not cover this fold's calibration slice, an inner model fitted on the
 * training rows before it (purged); the final and the confidence model on all rows.
 */
export function planFits(folds: readonly Fold[], allRows: Int32Array, timeline: RowTimeline, embargoMinutes: number, cfg: TrainConfig): FitPlan {
  const ts = timeline.ts;
  const calibMs = Math.round(cfg.threshold.calibration_days * 1440) * MINUTE_MS;
  const jobs: FitJob[] = [];
  const foldJob = new Map<number, number>();
  const calibration = new Map<number, Calibration>();
  let prevEvaluated: Fold | null = null;
  for (const f of folds) {
    if (f.skipped) continue;
    foldJob.set(f.index, jobs.length);
    jobs.push({ id: jobs.length, rows: f.train_rows, params: cfg.model, predict: f.test_rows, wantModel: false });
    const calStart = f.train_end - calibMs;
    const calRows = f.train_rows.filter((i) => ts[i]! >= calStart);
    if (prevEvaluated && prevEvaluated.test_start === calStart && prevEvaluated.test_end === f.train_end) {
      calibration.set(f.index, { rows: calRows, start: calStart, source: 'previous_fold_oos', job: null });
    } else {
      let blockEnd = f.train_end;
      for (const i of calRows) if (timeline.label_end[i]! > blockEnd) blockEnd = timeline.label_end[i]!;
      const before = f.train_rows.filter((i) => ts[i]! < calStart);
      const inner = purgeRows(before, timeline, calStart, blockEnd, f.train_end, f.train_end + embargoMinutes * MINUTE_MS).kept;
      calibration.set(f.index, { rows: calRows, start: calStart, source: 'inner_model', job: jobs.length });
      jobs.push({ id: jobs.length, rows: inner, params: cfg.model, predict: calRows, wantModel: false });
    }
    prevEvaluated = f;
  }
  const finalJob = jobs.length;
  jobs.push({ id: finalJob, rows: allRows, params: cfg.model, predict: new Int32Array(0), wantModel: true });
  const confidenceJob = jobs.length;
  jobs.push({ id: confidenceJob, rows: allRows, params: cfg.confidence_model, predict: new Int32Array(0), wantModel: true });
  return { jobs, foldJob, calibration, finalJob, confidenceJob };
}

/**
 * Run the plan's fits on `threads` worker threads (one single-threaded fit per thread);
 * `onFoldFitted(fold, rows)` after each fold model.
 */
export async function runFits(
  plan: FitPlan,
  data: { columns: Float64Array[]; target: Float64Array; names: string[] },
  threads: number,
  onFoldFitted: (fold: number, rows: number) => void,
  signal?: AbortSignal,
): Promise<Map<number, FitResult>> {
  const foldOfJob = new Map([...plan.foldJob].map(([fold, job]) => [job, fold]));
  const pool = FoldTrainerPool.create(Math.min(threads, plan.jobs.length), data, trainGbdt);
  try {
    return await pool.run(
      plan.jobs,
      (job) => {
        const fold = foldOfJob.get(job.id);
        if (fold !== undefined) onFoldFitted(fold, job.rows.length);
      },
      signal,
    );
  } finally {
    await pool.close();
  }
}

/** The walk-forward's out-of-sample result before simulation. */
export interface OutOfSample {
  /** Out-of-sample prediction per row (NaN outside the test windows). */
  predictions: Float64Array;
  /** Each evaluated fold's threshold, chosen on its calibration slice (training data). */
  choices: Map<number, ThresholdChoice>;
  /** What the simulation trades: each fold's test rows with its own model and threshold. */
  segments: SimSegment[];
  /** The threshold Hamilton gets: the same rule on the pooled out-of-sample predictions. */
  finalChoice: ThresholdChoice;
  finalModel: GbdtModel;
  confidenceModel: GbdtModel;
}

/** Out-of-sample predictions, then each fold's threshold from its calibration slice, and the final threshold. */
export function outOfSample(plan: FitPlan, fits: Map<number, FitResult>, evaluated: readonly Fold[], labels: TripleBarrierLabels, ts: Float64Array, cfg: TrainConfig): OutOfSample {
  const predictions = new Float64Array(ts.length).fill(NaN);
  for (const f of evaluated) {
    const pred = fits.get(plan.foldJob.get(f.index)!)!.predictions;
    for (let r = 0; r < f.test_rows.length; r++) predictions[f.test_rows[r]!] = pred[r]!;
  }
  const choices = new Map<number, ThresholdChoice>();
  const segments: SimSegment[] = [];
  for (const f of evaluated) {
    const cal = plan.calibration.get(f.index)!;
    const calPred = cal.job === null ? Float64Array.from(cal.rows, (i) => predictions[i]!) : fits.get(cal.job)!.predictions;
    const choice = selectThreshold(cal.rows, calPred, labels, ts, cfg.trading, cfg.threshold, { source: cal.source, start: cal.start, end: f.train_end });
    choices.set(f.index, choice);
    segments.push({ fold: f.index, threshold_bps: choice.threshold_bps, rows: f.test_rows, predicted_bps: fits.get(plan.foldJob.get(f.index)!)!.predictions, trade: choice.trade });
  }
  const oosRows = Int32Array.from(segments.flatMap((s) => Array.from(s.rows)));
  const finalChoice = selectThreshold(oosRows, Float64Array.from(oosRows, (i) => predictions[i]!), labels, ts, cfg.trading, cfg.threshold, {
    source: 'pooled_oos',
    start: evaluated[0]!.test_start,
    end: evaluated[evaluated.length - 1]!.test_end,
  });
  return { predictions, choices, segments, finalChoice, finalModel: fits.get(plan.finalJob)!.model!, confidenceModel: fits.get(plan.confidenceJob)!.model! };
}
