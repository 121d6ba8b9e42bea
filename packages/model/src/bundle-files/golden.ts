import { z } from 'zod';
import { schemaProblems } from '../problems';

/**
 * `golden.json`: feature rows and the outputs training computed for them, so that every
 * reader can prove, before trading, that the model it loaded computes what training saw.
 * This is exactly what the trainer writes today (packages/training's `trainSymbol`): real
 * rows of the training frame (warm-up rows with missing values, evenly spaced rows, the
 * last row) plus one all-missing row. JSON has no NaN: a missing input is `null`.
 */

/**
 * The golden-vector rule, one for every reader: an output reproduces its golden value when
 *
 *     |got − expected| ≤ GOLDEN_TOLERANCE · max(1, |expected|)
 *
 * (relative above 1, absolute below; NaN matches only NaN). The TypeScript consumer
 * applies it through {@link goldenRelativeError}; the Python loader
 * (packages/consumer/python/load_model.py) applies the same rule with the same number.
 * 1e-5 leaves room for model.onnx summing its trees in float32 (about 1e-7 relative) and
 * is far below any edge a threshold could act on. golden.json's own `tolerance` entry is
 * the writer's note, not read by anyone.
 */
export const GOLDEN_TOLERANCE = 1e-5;

/** |got − expected| / max(1, |expected|); 0 when both are NaN, NaN when only one is. */
export function goldenRelativeError(got: number, expected: number): number {
  if (Number.isNaN(got) && Number.isNaN(expected)) return 0;
  return Math.abs(got - expected) / Math.max(1, Math.abs(expected));
}

/** Whether `got` reproduces `expected` under {@link GOLDEN_TOLERANCE}. */
export function reproducesGolden(got: number, expected: number): boolean {
  return goldenRelativeError(got, expected) <= GOLDEN_TOLERANCE;
}

/** One golden vector: the model inputs of a row and the outputs training computed. */
export const goldenRowSchema = z
  .object({
    /** Index of the row in the training frame; null for the appended all-missing row. */
    row: z.number().int().min(0).nullable(),
    /** Open time of that row's candle; null for the all-missing row. */
    ts: z.iso.datetime().nullable(),
    /** In `feature_names` order; null is a missing value (NaN). */
    inputs: z.array(z.number().nullable()),
    /** model.onnx's / model.json's output, bps of notional. */
    predicted_edge_bps: z.number(),
    /** The confidence model's output, P(net edge > 0). */
    confidence: z.number().min(0).max(1),
  })
  .strict();
export type GoldenRow = z.infer<typeof goldenRowSchema>;

export const goldenFileSchema = z
  .object({
    description: z.string(),
    /** The model inputs, in order (equal to the manifest's `feature_names`). */
    feature_names: z.array(z.string()).min(1),
    rows: z.array(goldenRowSchema).min(1),
    /** The writer's note (training writes relative 1e-5, absolute 1e-4); readers apply GOLDEN_TOLERANCE. */
    tolerance: z.object({ relative: z.number().min(0), absolute: z.number().min(0), note: z.string() }).strict(),
  })
  .strict()
  .superRefine((g, ctx) => {
    g.rows.forEach((r, k) => {
      if (r.inputs.length !== g.feature_names.length) {
        ctx.addIssue({ code: 'custom', path: ['rows', k, 'inputs'], message: `expected ${g.feature_names.length} inputs (one per feature_names entry), found ${r.inputs.length}` });
      }
    });
  });
export type GoldenFile = z.infer<typeof goldenFileSchema>;

export type GoldenCheck = { ok: true; golden: GoldenFile } | { ok: false; problems: string[] };

/** Check a parsed `golden.json`; problems as `path: message` (see `validateManifest`). */
export function validateGolden(value: unknown, limit = 20): GoldenCheck {
  const r = goldenFileSchema.safeParse(value);
  return r.success ? { ok: true, golden: r.data } : { ok: false, problems: schemaProblems(r.error, '(golden.json)', limit) };
}
