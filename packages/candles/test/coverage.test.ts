import fc from 'fast-check';
import { addRange, missingRanges, mergeRaw, rawFromTuples, type TimeRange } from '@engine/candles';

/** Brute force over small integer time: which points of [0, 60) a list of ranges covers. */
function points(ranges: readonly TimeRange[]): boolean[] {
  const out = new Array<boolean>(60).fill(false);
  for (const [s, e] of ranges) for (let t = s; t < e; t++) out[t] = true;
  return out;
}

const range = fc.tuple(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 60 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);

describe('coverage ranges', () => {
  test('addRange keeps a sorted, disjoint, merged list covering exactly the union', () => {
    fc.assert(
      fc.property(fc.array(range, { maxLength: 12 }), (adds) => {
        let list: TimeRange[] = [];
        for (const [s, e] of adds) list = addRange(list, s, e);
        expect(points(list)).toEqual(points(adds));
        for (let i = 1; i < list.length; i++) expect(list[i]![0]).toBeGreaterThan(list[i - 1]![1]);
        for (const [s, e] of list) expect(e).toBeGreaterThan(s);
      }),
    );
  });

  test('missingRanges is exactly the window minus the covered ranges, ascending', () => {
    fc.assert(
      fc.property(fc.array(range, { maxLength: 8 }), range, (adds, [ws, we]) => {
        let list: TimeRange[] = [];
        for (const [s, e] of adds) list = addRange(list, s, e);
        const miss = missingRanges(list, ws, we);
        const covered = points(list);
        const missing = points(miss);
        for (let t = 0; t < 60; t++) expect(missing[t]).toBe(t >= ws && t < we && !covered[t]);
        for (let i = 1; i < miss.length; i++) expect(miss[i]![0]).toBeGreaterThan(miss[i - 1]![1]);
      }),
    );
  });

  test('mergeRaw interleaves sorted rows and keeps the stored candle on a clash', () => {
    const kept = rawFromTuples([[0, 1, 1, 1, 1, 1], [120, 1, 1, 1, 1, 2], [240, 1, 1, 1, 1, 3]]);
    const added = rawFromTuples([[60, 2, 2, 2, 2, 9], [120, 2, 2, 2, 2, 9], [300, 2, 2, 2, 2, 9]]);
    const m = mergeRaw(kept, added);
    expect(Array.from(m.ts.subarray(0, m.length))).toEqual([0, 60, 120, 240, 300]);
    expect(Array.from(m.volume.subarray(0, m.length))).toEqual([1, 9, 2, 3, 9]);
  });
});
