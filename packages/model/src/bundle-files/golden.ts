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

/**
 * `golden.json` of a trading agent (model family `ppo`): feature rows with a position
 * state, the observation the agent builds from them, and what its policy computed —
 * the action probabilities (hold, buy, sell) and the greedy action. Readers check both
 * the native agent (`model.json`) and `model.onnx` (fed the observation) against it,
 * with the same {@link GOLDEN_TOLERANCE} on the probabilities and exact greedy actions
 * (rows whose top two probabilities are closer than the tolerance are not written).
 */
export const policyGoldenRowSchema = z
  .object({
    row: z.number().int().min(0).nullable(),
    ts: z.iso.datetime().nullable(),
    /** In `feature_names` order; null is a missing value (NaN). */
    inputs: z.array(z.number().nullable()),
    /** [long (0/1), bars held, unrealised bps]: the position state at the decision. */
    position: z.tuple([z.union([z.literal(0), z.literal(1)]), z.number().int().min(0), z.number()]),
    /** The agent's observation (model.onnx's input), features then position inputs. */
    observation: z.array(z.number()),
    action_probabilities: z.array(z.number().min(0).max(1)).min(2),
    action: z.number().int().min(0),
  })
  .strict();
export type PolicyGoldenRow = z.infer<typeof policyGoldenRowSchema>;

export const policyGoldenFileSchema = z
  .object({
    kind: z.literal('policy'),
    description: z.string(),
    feature_names: z.array(z.string()).min(1),
    position_inputs: z.array(z.string()).min(1),
    actions: z.array(z.string()).min(2),
    rows: z.array(policyGoldenRowSchema).min(1),
    tolerance: z.object({ relative: z.number().min(0), absolute: z.number().min(0), note: z.string() }).strict(),
  })
  .strict()
  .superRefine((g, ctx) => {
    g.rows.forEach((r, k) => {
      if (r.inputs.length !== g.feature_names.length) ctx.addIssue({ code: 'custom', path: ['rows', k, 'inputs'], message: `expected ${g.feature_names.length} inputs (one per feature_names entry), found ${r.inputs.length}` });
      if (r.observation.length !== g.feature_names.length + g.position_inputs.length) {
        ctx.addIssue({ code: 'custom', path: ['rows', k, 'observation'], message: `expected ${g.feature_names.length + g.position_inputs.length} values (features then position inputs), found ${r.observation.length}` });
      }
      if (r.action_probabilities.length !== g.actions.length) ctx.addIssue({ code: 'custom', path: ['rows', k, 'action_probabilities'], message: `expected ${g.actions.length} probabilities (one per action), found ${r.action_probabilities.length}` });
      if (r.action >= g.actions.length) ctx.addIssue({ code: 'custom', path: ['rows', k, 'action'], message: `expected an action index below ${g.actions.length}, found ${r.action}` });
    });
  });
export type PolicyGoldenFile = z.infer<typeof policyGoldenFileSchema>;

export type PolicyGoldenCheck = { ok: true; golden: PolicyGoldenFile } | { ok: false; problems: string[] };

/** Check a parsed policy `golden.json`; problems as `path: message`. */
export function validatePolicyGolden(value: unknown, limit = 20): PolicyGoldenCheck {
  const r = policyGoldenFileSchema.safeParse(value);
  return r.success ? { ok: true, golden: r.data } : { ok: false, problems: schemaProblems(r.error, '(golden.json)', limit) };
}

/** The model format a trading agent's manifest records (`engine.model_format`). */
export const PPO_AGENT_MODEL_FORMAT = 'engine-ppo-agent/1';
