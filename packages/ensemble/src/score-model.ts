import { z } from 'zod';
import { DataError } from '@engine/shared';
import { GbdtModel, type FeatureMatrix } from '@engine/gbdt';
import type { AffineHead } from './combine';

/** Identifies the portable score model's native JSON. */
export const SCORE_MODEL_FORMAT = 'engine-score-model';
export const SCORE_MODEL_VERSION = 1;

/**
 * A linear term on the raw features, with its standardisation inside:
 * `intercept + Σ_j coef_j · (x̃_j − mean_j) · inv_scale_j + Σ_j missing_coef_j · [x_j is NaN]`,
 * where x̃_j is x_j, or mean_j when x_j is missing. Every number is a float32 value (what
 * the ONNX graph carries); arithmetic is float64.
 */
export interface LinearTerm {
  means: number[];
  inv_scales: number[];
  coef: number[];
  missing_coef: number[];
  intercept: number;
}

/** How the score becomes the output: `link(offset + scale · score)`. */
export interface ScoreHead extends AffineHead {
  link: 'identity' | 'logistic';
  /** Which bundle output this is. */
  output: 'predicted_edge_bps' | 'confidence';
}

/** The native JSON of a {@link ScoreModel}. */
export interface ScoreModelJson {
  format: typeof SCORE_MODEL_FORMAT;
  version: number;
  feature_names: string[];
  /** Tree members folded into one forest (weights, standardisation and averaging in the leaves and base score); null when none. */
  trees: string | null;
  linear: LinearTerm | null;
  head: ScoreHead;
  /** What was folded in (family, members, weights): description only, never used to predict. */
  provenance: Record<string, unknown>;
}

const f32 = (v: number): number => Math.fround(v);

const linearTermSchema = z.strictObject({
  means: z.array(z.number()),
  inv_scales: z.array(z.number()),
  coef: z.array(z.number()),
  missing_coef: z.array(z.number()),
  intercept: z.number(),
});

const scoreModelSchema = z.strictObject({
  format: z.literal(SCORE_MODEL_FORMAT),
  version: z.literal(SCORE_MODEL_VERSION),
  feature_names: z.array(z.string()),
  trees: z.string().nullable(),
  linear: linearTermSchema.nullable(),
  head: z.strictObject({ link: z.enum(['identity', 'logistic']), output: z.enum(['predicted_edge_bps', 'confidence']), scale: z.number(), offset: z.number() }),
  provenance: z.record(z.string(), z.unknown()),
});

/**
 * The portable form of every model family but the plain GBDT: an optional forest plus an
 * optional linear term give a score, and one affine head (with a sigmoid for the confidence)
 * turns it into the output. An ensemble's members, weights and standardisations are folded
 * into it (see fold.ts), so the in-process prediction and the ONNX graph compute the same
 * few operations on the same float32 numbers.
 */
export class ScoreModel {
  readonly featureNames: readonly string[];
  readonly nFeatures: number;
  readonly trees: GbdtModel | null;
  readonly linear: LinearTerm | null;
  readonly head: ScoreHead;
  readonly provenance: Record<string, unknown>;

  constructor(init: { featureNames: readonly string[]; trees: GbdtModel | null; linear: LinearTerm | null; head: ScoreHead; provenance?: Record<string, unknown> }) {
    const F = init.featureNames.length;
    if (init.trees === null && init.linear === null) throw new DataError('MODEL_INVALID', 'a score model needs a forest, a linear term or both');
    if (init.trees !== null) {
      if (init.trees.objective !== 'squared_error') throw new DataError('MODEL_INVALID', `a score model's forest must be a raw sum (squared_error); got ${init.trees.objective}`);
      if (init.trees.nFeatures !== F || init.trees.featureNames.some((n, i) => n !== init.featureNames[i])) {
        throw new DataError('MODEL_INVALID', 'the forest of a score model must use the same features, in the same order, as the model');
      }
    }
    if (init.linear !== null) {
      const l = init.linear;
      for (const [k, a] of [['means', l.means], ['inv_scales', l.inv_scales], ['coef', l.coef], ['missing_coef', l.missing_coef]] as const) {
        if (a.length !== F) throw new DataError('MODEL_INVALID', `linear term ${k} has ${a.length} values for ${F} features`);
        if (a.some((v) => !Number.isFinite(v))) throw new DataError('MODEL_INVALID', `linear term ${k} holds a non-finite value`);
      }
    }
    if (!Number.isFinite(init.head.scale) || !Number.isFinite(init.head.offset)) throw new DataError('MODEL_INVALID', `score head must be finite; got scale ${init.head.scale}, offset ${init.head.offset}`);
    this.featureNames = init.featureNames;
    this.nFeatures = F;
    this.trees = init.trees;
    this.linear = init.linear === null ? null : { means: init.linear.means.map(f32), inv_scales: init.linear.inv_scales.map(f32), coef: init.linear.coef.map(f32), missing_coef: init.linear.missing_coef.map(f32), intercept: f32(init.linear.intercept) };
    this.head = { ...init.head, scale: f32(init.head.scale), offset: f32(init.head.offset) };
    this.provenance = init.provenance ?? {};
  }

  /** The score (forest + linear term) of one row of features in model order. */
  scoreRow(row: ArrayLike<number>): number {
    let s = this.trees === null ? 0 : this.trees.predictRow(row);
    const l = this.linear;
    if (l !== null) {
      s += l.intercept;
      for (let j = 0; j < this.nFeatures; j++) {
        const v = row[j]!;
        if (Number.isNaN(v)) s += l.missing_coef[j]!;
        else s += l.coef[j]! * ((f32(v) - l.means[j]!) * l.inv_scales[j]!);
      }
    }
    return s;
  }

  /** The output (edge in bps, or confidence) of one row. */
  predictRow(row: ArrayLike<number>): number {
    const m = this.head.offset + this.head.scale * this.scoreRow(row);
    return this.head.link === 'logistic' ? 1 / (1 + Math.exp(-m)) : m;
  }

  /** Scores of every row of a matrix. */
  score(x: FeatureMatrix, out?: Float64Array): Float64Array {
    const n = x.nRows;
    const s = out ?? new Float64Array(n);
    if (this.trees !== null) this.trees.predict(x, s);
    else s.fill(0, 0, n);
    const l = this.linear;
    if (l !== null) {
      const F = this.nFeatures;
      for (let j = 0; j < F; j++) {
        const c = l.coef[j]!;
        const mc = l.missing_coef[j]!;
        const m = l.means[j]!;
        const inv = l.inv_scales[j]!;
        if (x.layout === 'columns') {
          const col = x.columns[j]!;
          for (let i = 0; i < n; i++) {
            const v = col[i]!;
            s[i]! += Number.isNaN(v) ? mc : c * ((f32(v) - m) * inv);
          }
        } else {
          const d = x.data;
          for (let i = 0; i < n; i++) {
            const v = d[i * F + j]!;
            s[i]! += Number.isNaN(v) ? mc : c * ((f32(v) - m) * inv);
          }
        }
      }
      for (let i = 0; i < n; i++) s[i]! += l.intercept;
    }
    return s;
  }

  /** Outputs of every row. */
  predict(x: FeatureMatrix, out?: Float64Array): Float64Array {
    const s = this.score(x, out);
    const { scale, offset, link } = this.head;
    for (let i = 0; i < x.nRows; i++) {
      const m = offset + scale * s[i]!;
      s[i] = link === 'logistic' ? 1 / (1 + Math.exp(-m)) : m;
    }
    return s;
  }

  /** The same score with another head (the edge and the confidence of one ensemble share everything else). */
  withHead(head: ScoreHead): ScoreModel {
    return new ScoreModel({ featureNames: this.featureNames, trees: this.trees, linear: this.linear, head, provenance: this.provenance });
  }

  /** Whether two models compute the same score (then one ONNX subgraph serves both): the same forest object ({@link withHead} shares it) and equal linear terms. */
  sameScore(other: ScoreModel): boolean {
    return this.trees === other.trees && JSON.stringify(this.linear) === JSON.stringify(other.linear);
  }

  toJson(): ScoreModelJson {
    return {
      format: SCORE_MODEL_FORMAT,
      version: SCORE_MODEL_VERSION,
      feature_names: [...this.featureNames],
      trees: this.trees === null ? null : this.trees.serialize(),
      linear: this.linear,
      head: this.head,
      provenance: this.provenance,
    };
  }

  serialize(): string {
    return JSON.stringify(this.toJson());
  }

  /** Parses and validates a score model's JSON; errors name the field. */
  static parse(json: string): ScoreModel {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch (e) {
      throw new DataError('MODEL_INVALID', `score model is not JSON: ${(e as Error).message}`);
    }
    const r = scoreModelSchema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new DataError('MODEL_INVALID', `score model field ${i.path.join('.') || '(root)'}: ${i.message}`);
    }
    const j = r.data;
    return new ScoreModel({ featureNames: j.feature_names, trees: j.trees === null ? null : GbdtModel.parse(j.trees), linear: j.linear, head: j.head, provenance: j.provenance });
  }
}
