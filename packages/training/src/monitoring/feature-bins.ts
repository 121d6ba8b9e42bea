/**
 * Feature drift (issue 19, item 4): each feature's distribution in the training window as
 * deciles — 9 inner edges and the share of rows in each of the 10 bins plus the share
 * missing — recorded in the manifest (`feature_bins`), and the population stability index
 * of live rows against it:
 *
 *   PSI = Σ_b (p_live,b − p_train,b) · ln(p_live,b / p_train,b)
 *
 * over the 11 bins (shares floored at 1e-4 so an empty bin stays finite). The usual reading:
 * < 0.1 stable, 0.1–0.25 some shift, > 0.25 a different population (the alert level).
 */
export interface FeatureBins {
  name: string;
  /** 9 ascending inner edges: bin k holds values in (edges[k−1], edges[k]] (the first from −∞, the last to +∞). */
  edges: number[];
  /** 11 shares: the 10 bins, then missing (NaN); they sum to 1. */
  shares: number[];
}

export const PSI_ALERT = 0.25;
const FLOOR = 1e-4;

/** Deciles of each column over `rows` (every `stride`-th, for speed; deterministic). */
export function featureBins(names: readonly string[], columns: readonly Float64Array[], rows: Int32Array, stride = 10): FeatureBins[] {
  const picked: number[] = [];
  for (let k = 0; k < rows.length; k += stride) picked.push(rows[k]!);
  return names.map((name, j) => {
    const col = columns[j]!;
    const values: number[] = [];
    let missing = 0;
    for (const i of picked) {
      const v = col[i]!;
      if (Number.isFinite(v)) values.push(v);
      else missing++;
    }
    values.sort((a, b) => a - b);
    const edges: number[] = [];
    for (let q = 1; q <= 9; q++) edges.push(values.length === 0 ? 0 : values[Math.min(values.length - 1, Math.floor((q * values.length) / 10))]!);
    const counts = binCounts(edges, values, missing);
    const total = values.length + missing;
    return { name, edges, shares: counts.map((c) => (total > 0 ? c / total : 0)) };
  });
}

function binOf(edges: readonly number[], v: number): number {
  let b = 0;
  while (b < edges.length && v > edges[b]!) b++;
  return b;
}

function binCounts(edges: readonly number[], values: readonly number[], missing: number): number[] {
  const counts = new Array<number>(11).fill(0);
  for (const v of values) counts[binOf(edges, v)]!++;
  counts[10] = missing;
  return counts;
}

/** PSI of live values (NaN / null: missing) against a feature's training bins. */
export function populationStabilityIndex(bins: FeatureBins, live: readonly (number | null)[]): number {
  const values: number[] = [];
  let missing = 0;
  for (const v of live) {
    if (v !== null && Number.isFinite(v)) values.push(v);
    else missing++;
  }
  const counts = binCounts(bins.edges, values, missing);
  const n = live.length;
  let psi = 0;
  for (let b = 0; b < 11; b++) {
    const p = Math.max(FLOOR, n > 0 ? counts[b]! / n : 0);
    const q = Math.max(FLOOR, bins.shares[b]!);
    psi += (p - q) * Math.log(p / q);
  }
  return psi;
}
