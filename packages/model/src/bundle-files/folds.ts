import { z } from 'zod';
import { manifestMetricsSchema, recordedThresholdSchema } from '../manifest/manifest';

const iso = z.iso.datetime();

/** One threshold candidate tried on a fold's calibration slice. */
export const thresholdCandidateSchema = z.object({ threshold_bps: z.number(), trades: z.number().int().min(0), total_net_bps: z.number() }).strict();

/**
 * One row of `folds.json` (and of the CLI's fold table): a walk-forward fold, its data,
 * the threshold chosen on its training data, and its out-of-sample metrics. Times are
 * ISO strings; a skipped fold has no threshold and no metrics.
 */
export const foldReportSchema = z
  .object({
    fold: z.number().int().min(0),
    train_start: iso,
    train_end: iso,
    test_start: iso,
    test_end: iso,
    skipped: z.boolean(),
    skip_reason: z.string().nullable(),
    train_rows: z.number().int().min(0),
    test_rows: z.number().int().min(0),
    purged: z.number().int().min(0),
    embargoed: z.number().int().min(0),
    coverage: z.object({ train: z.number(), test: z.number() }).strict(),
    threshold: recordedThresholdSchema.extend({ candidates: z.array(thresholdCandidateSchema) }).strict().nullable(),
    /** Spearman rank correlation of predictions with the true net edge on the test rows. */
    rank_ic: z.number().nullable(),
    mean_prediction_bps: z.number().nullable(),
    mean_label_bps: z.number().nullable(),
    metrics: manifestMetricsSchema.nullable(),
  })
  .strict();
export type FoldReport = z.infer<typeof foldReportSchema>;

/** `folds.json`: every fold of the walk-forward, in order. */
export const foldsFileSchema = z.array(foldReportSchema);
export type FoldsFile = z.infer<typeof foldsFileSchema>;
