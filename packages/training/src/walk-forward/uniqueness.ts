import { MINUTE_MS } from '@engine/shared';
import type { RowTimeline } from './folds';

/**
 * The labels' average uniqueness over `rows` (López de Prado, *Advances in Financial Machine
 * Learning* §4.4): for every minute t, c_t = the number of the rows' label windows
 * [ts, label_end) that contain it; a row's uniqueness is the mean of 1/c_t over its own
 * window; the result is the mean over rows. 1 when no windows overlap; about 1/h when every
 * minute starts an h-minute label. A random forest's trees draw this share of the rows, so
 * a tree sees about as many rows as there are independent outcomes.
 */
export function averageUniqueness(tl: RowTimeline, rows: Int32Array): number {
  if (rows.length === 0) return 1;
  let t0 = Infinity;
  let t1 = -Infinity;
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    if (tl.ts[i]! < t0) t0 = tl.ts[i]!;
    if (tl.label_end[i]! > t1) t1 = tl.label_end[i]!;
  }
  const T = Math.max(1, Math.ceil((t1 - t0) / MINUTE_MS));
  const diff = new Int32Array(T + 1);
  const span = (i: number): [number, number] => {
    const a = Math.floor((tl.ts[i]! - t0) / MINUTE_MS);
    return [a, Math.max(a + 1, Math.min(T, Math.ceil((tl.label_end[i]! - t0) / MINUTE_MS)))];
  };
  for (let r = 0; r < rows.length; r++) {
    const [a, b] = span(rows[r]!);
    diff[a]!++;
    diff[b]!--;
  }
  // prefix sums of 1/c_t
  const inv = new Float64Array(T + 1);
  let c = 0;
  for (let t = 0; t < T; t++) {
    c += diff[t]!;
    inv[t + 1] = inv[t]! + (c > 0 ? 1 / c : 0);
  }
  let sum = 0;
  for (let r = 0; r < rows.length; r++) {
    const [a, b] = span(rows[r]!);
    sum += (inv[b]! - inv[a]!) / (b - a);
  }
  return sum / rows.length;
}
