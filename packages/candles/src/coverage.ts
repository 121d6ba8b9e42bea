/**
 * Which time ranges a cache has already asked its source for. A minute inside a covered
 * range that has no row is a gap at the source, not something still to download.
 * Ranges are half-open `[start, end)` in epoch ms, kept sorted, disjoint and merged.
 */
export type TimeRange = readonly [start: number, end: number];

/** Add `[start, end)` to a sorted, merged list; returns a new list. */
export function addRange(ranges: readonly TimeRange[], start: number, end: number): TimeRange[] {
  if (!(end > start)) return ranges.slice();
  const out: TimeRange[] = [];
  let s = start;
  let e = end;
  let placed = false;
  for (const r of ranges) {
    if (r[1] < s) out.push(r);
    else if (r[0] > e) {
      if (!placed) {
        out.push([s, e]);
        placed = true;
      }
      out.push(r);
    } else {
      // Overlapping or touching: absorb.
      s = Math.min(s, r[0]);
      e = Math.max(e, r[1]);
    }
  }
  if (!placed) out.push([s, e]);
  return out;
}

/** The parts of `[start, end)` not in `ranges`, ascending. */
export function missingRanges(ranges: readonly TimeRange[], start: number, end: number): TimeRange[] {
  const out: TimeRange[] = [];
  let at = start;
  for (const r of ranges) {
    if (r[1] <= at) continue;
    if (r[0] >= end) break;
    if (r[0] > at) out.push([at, r[0]]);
    at = Math.max(at, r[1]);
    if (at >= end) break;
  }
  if (at < end) out.push([at, end]);
  return out;
}

/** Parse ranges stored as JSON; undefined when malformed (the cache then starts over). */
export function parseRanges(json: string | undefined): TimeRange[] | undefined {
  if (json === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(json);
    if (!Array.isArray(v)) return undefined;
    let out: TimeRange[] = [];
    for (const r of v) {
      if (!Array.isArray(r) || r.length !== 2 || !Number.isFinite(r[0]) || !Number.isFinite(r[1])) return undefined;
      out = addRange(out, r[0] as number, r[1] as number);
    }
    return out;
  } catch {
    return undefined;
  }
}
