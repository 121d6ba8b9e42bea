import { DataError } from '@engine/shared';

/** A numeric array the trainer and predictor read (NaN = missing). */
export type NumericArray = Float32Array | Float64Array;

/**
 * A dense feature matrix, read-only to the trainer: either row-major (the benchmark
 * interchange format, `data[row * nFeatures + feature]`) or columnar (one array per
 * feature, as the feature recipe produces). NaN marks a missing value.
 */
export type FeatureMatrix =
  | { readonly layout: 'rows'; readonly data: NumericArray; readonly nRows: number; readonly nFeatures: number }
  | { readonly layout: 'columns'; readonly columns: readonly NumericArray[]; readonly nRows: number; readonly nFeatures: number };

/** Wraps a row-major array (`data[row * nFeatures + feature]`). */
export function rowMajorMatrix(data: NumericArray, nRows: number, nFeatures: number): FeatureMatrix {
  if (!Number.isInteger(nRows) || !Number.isInteger(nFeatures) || nRows < 0 || nFeatures < 1) {
    throw new DataError('MATRIX_SHAPE', `row-major matrix needs integer nRows >= 0 and nFeatures >= 1; got ${nRows} x ${nFeatures}`);
  }
  if (data.length !== nRows * nFeatures) {
    throw new DataError('MATRIX_SHAPE', `row-major matrix of ${nRows} x ${nFeatures} needs ${nRows * nFeatures} values; got ${data.length}`);
  }
  return { layout: 'rows', data, nRows, nFeatures };
}

/** Wraps one array per feature, all of the same length. */
export function columnMatrix(columns: readonly NumericArray[]): FeatureMatrix {
  if (columns.length < 1) throw new DataError('MATRIX_SHAPE', 'column matrix needs at least one feature column; got none');
  const nRows = columns[0].length;
  for (let f = 1; f < columns.length; f++) {
    if (columns[f].length !== nRows) {
      throw new DataError('MATRIX_SHAPE', `column ${f} has ${columns[f].length} rows; column 0 has ${nRows}`);
    }
  }
  return { layout: 'columns', columns, nRows, nFeatures: columns.length };
}

/**
 * Where feature `f` of row `r` lives: `array[offset + r * stride]`. Lets one hot loop read
 * either layout without copying.
 */
export interface ColumnView {
  readonly array: NumericArray;
  readonly offset: number;
  readonly stride: number;
}

export function columnView(m: FeatureMatrix, f: number): ColumnView {
  if (m.layout === 'rows') return { array: m.data, offset: f, stride: m.nFeatures };
  return { array: m.columns[f], offset: 0, stride: 1 };
}
