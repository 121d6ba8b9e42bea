import { DataError } from '@engine/shared';
import { columnMatrix, GBDT_MODEL_FORMAT, GbdtModel, trainGbdt, type FeatureMatrix, type GbdtParams } from '@engine/gbdt';
import { chooseLogisticC, chooseRidgeAlpha, fitLogistic, fitRidge, LinearModel, nativeFormat } from '@engine/ensemble';

/**
 * What one fit trains: a tree model (the GBDT, or a random forest: the same trainer with
 * `boosting: 'rf'`), a linear model with its L2 penalty chosen on inner purged folds, or
 * several such members on the same rows (an ensemble's).
 */
export type FitSpec =
  | { kind: 'trees'; params: GbdtParams }
  | { kind: 'ridge'; alphas: number[]; innerFolds: number }
  | { kind: 'logistic'; cs: number[]; innerFolds: number }
  | { kind: 'members'; members: { name: string; spec: FitSpec }[] };

/** A fitted member: a tree model or a linear model. */
export type MemberModel = GbdtModel | LinearModel;

/** Shared data of every fit: feature columns, the target and each row's label timeline. */
export interface FitData {
  x: FeatureMatrix;
  columns: readonly Float64Array[];
  target: Float64Array;
  names: readonly string[];
  /** Signal time and label end (exclusive) of every row, epoch ms: the inner folds purge with them. */
  ts: Float64Array;
  labelEnd: Float64Array;
}

/** Relative cost of a spec on n rows (the pool starts the longest fits first). */
export function fitCost(spec: FitSpec, n: number): number {
  switch (spec.kind) {
    case 'trees':
      return n * spec.params.nEstimators * (spec.params.boosting === 'rf' ? spec.params.baggingFraction : 1);
    case 'ridge':
    case 'logistic':
      return n * 10;
    case 'members':
      return spec.members.reduce((s, m) => s + fitCost(m.spec, n), 0);
  }
}

/**
 * Inner walk-forward folds of a training set for choosing a linear model's penalty: the
 * rows (time-ordered) are cut into k contiguous blocks; block j (j ≥ 1) is tested on a fit
 * to the rows before it whose label interval ends before the block starts (purged, as the
 * outer folds are). Nothing after a test block trains, so no embargo is needed.
 */
export function innerFolds(rows: Int32Array, ts: Float64Array, labelEnd: Float64Array, k: number): { train: Int32Array; test: Int32Array }[] {
  if (k < 2) throw new DataError('INNER_FOLDS_INVALID', `inner folds must be at least 2, got ${k}`);
  const out: { train: Int32Array; test: Int32Array }[] = [];
  const n = rows.length;
  for (let j = 1; j < k; j++) {
    const a = Math.floor((j * n) / k);
    const b = Math.floor(((j + 1) * n) / k);
    if (b <= a) continue;
    const start = ts[rows[a]!]!;
    const train: number[] = [];
    for (let r = 0; r < a; r++) if (labelEnd[rows[r]!]! <= start) train.push(rows[r]!);
    if (train.length === 0) continue;
    out.push({ train: Int32Array.from(train), test: rows.slice(a, b) });
  }
  if (out.length === 0) throw new DataError('INNER_FOLDS_INVALID', `${n} rows leave no inner fold with training rows before it`);
  return out;
}

/** Fit one member spec on `rows` (single-threaded: the pool runs fits side by side). */
export async function fitMember(spec: Exclude<FitSpec, { kind: 'members' }>, rows: Int32Array, d: FitData, signal?: AbortSignal): Promise<MemberModel> {
  switch (spec.kind) {
    case 'trees':
      return trainGbdt({ x: d.x, y: d.target, rows, featureNames: d.names }, spec.params, { threads: 1, ...(signal ? { signal } : {}) });
    case 'ridge': {
      const folds = innerFolds(rows, d.ts, d.labelEnd, spec.innerFolds);
      const alpha = spec.alphas.length === 1 ? spec.alphas[0]! : chooseRidgeAlpha(d.columns, d.target, folds, spec.alphas).value;
      return fitRidge({ columns: d.columns, y: d.target, rows, featureNames: d.names }, { alpha });
    }
    case 'logistic': {
      const folds = innerFolds(rows, d.ts, d.labelEnd, spec.innerFolds);
      const C = spec.cs.length === 1 ? spec.cs[0]! : chooseLogisticC(d.columns, d.target, folds, spec.cs).value;
      return fitLogistic({ columns: d.columns, y: d.target, rows, featureNames: d.names }, { C });
    }
  }
}

/** A member's predictions (edge in bps; a logistic model's P(y > 0)) on rows of the shared columns. */
export function predictMember(m: MemberModel, d: FitData, rows: Int32Array): Float64Array {
  if (rows.length === 0) return new Float64Array(0);
  if (m instanceof LinearModel) return m.predict(d.columns, rows);
  return m.predict(gatherRows(d.columns, rows));
}

/** Rows of every column gathered into a new column matrix. */
export function gatherRows(columns: readonly Float64Array[], rows: Int32Array): FeatureMatrix {
  return columnMatrix(
    columns.map((c) => {
      const out = new Float64Array(rows.length);
      for (let r = 0; r < rows.length; r++) out[r] = c[rows[r]!]!;
      return out;
    }),
  );
}

/** Parses a member's native JSON (the pool ships models between threads as text). */
export function parseMember(json: string): MemberModel {
  return nativeFormat(json) === GBDT_MODEL_FORMAT ? GbdtModel.parse(json) : LinearModel.parse(json);
}
