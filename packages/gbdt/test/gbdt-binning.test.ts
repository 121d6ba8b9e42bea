import { binRows, fitBinMapper, rowMajorMatrix, columnMatrix } from '../src';
import { Mulberry32 } from '@engine/shared';

/** The binning rule everything relies on: first bin whose float32 upper edge is >= fround(x). */
function referenceBin(edges: Float64Array, v: number): number {
  if (Number.isNaN(v)) return edges.length;
  const x = Math.fround(v);
  let b = 0;
  while (!(x <= edges[b])) b++;
  return b;
}

describe('quantile binning', () => {
  const rng = new Mulberry32(7);
  const n = 20_000;
  const F = 5;
  const X = new Float64Array(n * F);
  const specials = [0, -0, 1e-40, -1e-40, Infinity, -Infinity, 3.4e38, -3.4e38, NaN];
  for (let i = 0; i < n; i++) {
    X[i * F] = rng.next() < 0.05 ? NaN : (rng.next() - 0.5) * 1e-3; // continuous, 5% missing
    X[i * F + 1] = Math.floor(rng.next() * 5) - 2; // 5 integer levels
    X[i * F + 2] = Math.exp(rng.next() * 40 - 20) * (rng.next() < 0.5 ? -1 : 1); // 17 decades
    X[i * F + 3] = specials[i % specials.length];
    X[i * F + 4] = rng.next() < 0.6 ? 0 : rng.next(); // 60% ties at one value
  }
  const m = rowMajorMatrix(X, n, F);
  const mapper = fitBinMapper(m, null, { maxBins: 255, sampleRows: 200_000, seed: 1 });

  it('places finite float32 edges in increasing order, the last one +Infinity', () => {
    for (const e of mapper.edges) {
      expect(e[e.length - 1]).toBe(Infinity);
      for (let b = 0; b < e.length - 1; b++) {
        expect(Number.isFinite(e[b])).toBe(true);
        expect(Math.fround(e[b])).toBe(e[b]);
        if (b > 0) expect(e[b]).toBeGreaterThan(e[b - 1]);
      }
      expect(e.length).toBeLessThanOrEqual(255);
    }
  });

  it('bins every value exactly as fround(x) <= edge decides, NaN in the missing bin', () => {
    const bins = binRows(mapper, m, null);
    const mismatches: string[] = [];
    for (let f = 0; f < F; f++) {
      for (let i = 0; i < n; i++) {
        const want = referenceBin(mapper.edges[f], X[i * F + f]);
        if (bins[f * n + i] !== want) mismatches.push(`feature ${f} value ${X[i * F + f]}: bin ${bins[f * n + i]}, want ${want}`);
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it('gives each distinct value its own bin when there are few, and a heavy tie a bin of its own', () => {
    expect(mapper.edges[1].length).toBe(5);
    const e4 = mapper.edges[4];
    const bins = binRows(mapper, m, null);
    let zeros = 0;
    const zeroBin = referenceBin(e4, 0);
    for (let i = 0; i < n; i++) if (bins[4 * n + i] === zeroBin) zeros++;
    // the 60% tie at 0 is alone in its bin, the rest is spread over many bins
    expect(zeros).toBe(Array.from({ length: n }, (_, i) => X[i * F + 4]).filter((v) => v === 0).length);
    expect(e4.length).toBeGreaterThan(100);
  });

  it('fits on the selected training rows only and reads both matrix layouts alike', () => {
    const rows = Int32Array.from({ length: 1000 }, (_, i) => i);
    const cols = Array.from({ length: F }, (_, f) => Float64Array.from({ length: n }, (_, i) => X[i * F + f]));
    const a = fitBinMapper(m, rows, { maxBins: 16, sampleRows: 200_000, seed: 1 });
    const b = fitBinMapper(columnMatrix(cols), rows, { maxBins: 16, sampleRows: 200_000, seed: 1 });
    expect(b.edges.map((e) => Array.from(e))).toEqual(a.edges.map((e) => Array.from(e)));
    // feature 0 of rows 1000.. is shifted far away: the training-only edges never see it
    const shifted = Float64Array.from(X);
    for (let i = 1000; i < n; i++) shifted[i * F] = 1e6;
    const c = fitBinMapper(rowMajorMatrix(shifted, n, F), rows, { maxBins: 16, sampleRows: 200_000, seed: 1 });
    expect(Array.from(c.edges[0])).toEqual(Array.from(a.edges[0]));
    const binned = binRows(c, rowMajorMatrix(shifted, n, F), null);
    expect(binned[0 * n + 5000]).toBe(c.edges[0].length - 1); // unseen large value: last value bin
  });

  it('samples rows deterministically when the training set is larger than the sample', () => {
    const a = fitBinMapper(m, null, { maxBins: 64, sampleRows: 1000, seed: 3 });
    const b = fitBinMapper(m, null, { maxBins: 64, sampleRows: 1000, seed: 3 });
    const c = fitBinMapper(m, null, { maxBins: 64, sampleRows: 1000, seed: 4 });
    expect(Array.from(a.edges[0])).toEqual(Array.from(b.edges[0]));
    expect(Array.from(a.edges[0])).not.toEqual(Array.from(c.edges[0]));
  });
});
