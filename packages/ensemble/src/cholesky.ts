/**
 * Dense Cholesky factorisation and solve for the small symmetric positive-definite systems
 * of the linear models (one row and column per design column, about a hundred). Matrices
 * are n×n, row-major, in a Float64Array; only the lower triangle (`a[i * n + j]`, j ≤ i) is
 * read or written, so callers accumulate just that half.
 */

/**
 * Factorises A = L·Lᵀ in place: the lower triangle of `a` becomes L (the strict upper
 * triangle is left untouched). Returns false, leaving `a` partly overwritten, when a pivot
 * is not positive, i.e. the matrix is not numerically positive definite.
 */
export function choleskyInPlace(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = a[rj + j];
    for (let k = 0; k < j; k++) d -= a[rj + k] * a[rj + k];
    // `!(d > 0)` also catches NaN
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    a[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = a[ri + j];
      for (let k = 0; k < j; k++) s -= a[ri + k] * a[rj + k];
      a[ri + j] = s / ljj;
    }
  }
  return true;
}

/**
 * Solves L·Lᵀ·x = b in place (`b` becomes x), `l` being a factor from
 * {@link choleskyInPlace}.
 */
export function choleskySolveInPlace(l: Float64Array, n: number, b: Float64Array): void {
  // forward substitution: L·z = b
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[ri + k] * b[k];
    b[i] = s / l[ri + i];
  }
  // back substitution: Lᵀ·x = z (column i of L is row i of Lᵀ)
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
}
