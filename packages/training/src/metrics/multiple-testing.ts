/**
 * Adjusted p-values for many simultaneous tests (what statsmodels' `multipletests`
 * returns), so that "reject when adjusted p ≤ q" controls the family:
 * - `bh`: Benjamini–Hochberg, false-discovery rate under independence or positive dependence;
 * - `by`: Benjamini–Yekutieli, false-discovery rate under any dependence (BH × Σ 1/i);
 * - `holm`: Holm's step-down, the family-wise error rate.
 */
export type MultipleTestingMethod = 'bh' | 'by' | 'holm';

export function adjustPValues(p: readonly number[], method: MultipleTestingMethod): number[] {
  const m = p.length;
  if (m === 0) return [];
  for (const x of p) if (!(x >= 0 && x <= 1)) throw new RangeError(`p-values must be in [0, 1], got ${x}`);
  const order = p.map((_, i) => i).sort((a, b) => p[a]! - p[b]! || a - b);
  const out = new Array<number>(m);
  if (method === 'holm') {
    let running = 0;
    order.forEach((idx, k) => {
      running = Math.max(running, Math.min(1, (m - k) * p[idx]!));
      out[idx] = running;
    });
    return out;
  }
  let c = 1;
  if (method === 'by') {
    c = 0;
    for (let i = 1; i <= m; i++) c += 1 / i;
  }
  let running = 1;
  for (let k = m - 1; k >= 0; k--) {
    const idx = order[k]!;
    running = Math.min(running, Math.min(1, (c * m * p[idx]!) / (k + 1)));
    out[idx] = running;
  }
  return out;
}
