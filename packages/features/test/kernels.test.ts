import { Mulberry32 } from '@engine/shared';
import { Ema, RollingBeta, RollingExtreme, RollingKurt, RollingSum, RollingVar } from '../src/kernels/rolling';
import { percentileRank, SortedWindow } from '../src/kernels/sorted-window';

/** Random values with many exact ties and some NaN (gaps). */
function noisy(n: number, seed: number, { ties = true, nanRate = 0.02, scale = 1, offset = 0 } = {}): Float64Array {
  const r = new Mulberry32(seed);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = r.next() < nanRate ? NaN : offset + scale * (ties ? Math.floor(r.next() * 20) : r.next());
  }
  return x;
}

/** The last n entries ending at i (fewer at the start). */
function windowOf(x: Float64Array, i: number, n: number): number[] {
  return Array.from(x.subarray(Math.max(0, i - n + 1), i + 1));
}

describe('SortedWindow (rolling percentile-rank counts)', () => {
  it.each([
    [7, 32],
    [100, 32],
    [1000, 32],
    [1000, 256],
  ])('counts values below / at most the newest input exactly (n = %i, block %i), with ties and gaps', (n, cap) => {
    const x = noisy(4000, n + cap);
    const w = new SortedWindow(n, Math.ceil(n / 2), cap);
    let firstValid = -1;
    for (let i = 0; i < x.length; i++) {
      w.push(x[i]);
      if (firstValid < 0 && !Number.isNaN(x[i])) firstValid = i;
      const v = x[i];
      let valid = 0;
      let less = 0;
      let lessEq = 0;
      let lessHalf = 0;
      for (let j = Math.max(0, i - n + 1); j <= i; j++) {
        const u = x[j];
        if (Number.isNaN(u)) continue;
        valid++;
        if (u < v) less++;
        if (u <= v) lessEq++;
        if (u < v + 0.5) lessHalf++;
      }
      const ready = firstValid >= 0 && i - firstValid + 1 >= n && valid >= Math.ceil(n / 2);
      if (w.size !== valid || w.ready !== ready) throw new Error(`row ${i}: size ${w.size} ready ${w.ready}, expected ${valid} ${ready}`);
      if (Number.isNaN(v)) continue;
      if (w.less !== less || w.lessEq !== lessEq) throw new Error(`row ${i}: counts ${w.less}/${w.lessEq}, expected ${less}/${lessEq}`);
      // count() answers for any value, also one not in the window.
      w.count(v + 0.5);
      if (w.less !== lessHalf) throw new Error(`row ${i}: count(${v + 0.5}) gave ${w.less}, expected ${lessHalf}`);
    }
  });

  it('ranks with the average rank for ties, 0..1 (inverted: 1 = smallest)', () => {
    // window [1, 2, 2, 3]: x = 2 has less = 1, lessEq = 3 → rank 2.5
    expect(percentileRank(1, 3, 4, false)).toBeCloseTo(0.5, 15);
    expect(percentileRank(0, 1, 4, false)).toBe(0);
    expect(percentileRank(3, 4, 4, false)).toBe(1);
    expect(percentileRank(0, 1, 4, true)).toBe(1);
    expect(percentileRank(3, 4, 4, true)).toBe(0);
  });
});

describe('RollingExtreme (monotonic deque)', () => {
  it.each(['max', 'min'] as const)('equals the brute-force %s and is NaN while a gap is in the window', (kind) => {
    const x = noisy(3000, kind === 'max' ? 1 : 2);
    const n = 20;
    const e = new RollingExtreme(n, kind);
    for (let i = 0; i < x.length; i++) {
      e.push(x[i]);
      const win = windowOf(x, i, n);
      const expected = i < n - 1 || win.some(Number.isNaN) ? NaN : kind === 'max' ? Math.max(...win) : Math.min(...win);
      expect(e.value()).toBe(expected);
    }
  });
});

describe('running-sum kernels', () => {
  it('RollingVar matches a two-pass variance on prices near 90 000 (no cancellation), is NaN across gaps and exactly 0 on a flat window', () => {
    const x = noisy(5000, 3, { ties: false, nanRate: 0.003, scale: 50, offset: 90_000 });
    for (let i = 4000; i < 4030; i++) x[i] = 90_123.45;
    const n = 20;
    const w = new RollingVar(n, 12_345);
    for (let i = 0; i < x.length; i++) {
      w.push(x[i]);
      const win = windowOf(x, i, n);
      if (win.length < n || win.some(Number.isNaN)) {
        expect(w.variance()).toBeNaN();
        continue;
      }
      const m = win.reduce((a, b) => a + b, 0) / n;
      const v = win.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1);
      if (win.every((u) => u === win[0])) expect(w.variance()).toBe(0);
      else expect(Math.abs(w.variance() - v) / v).toBeLessThan(1e-10);
      expect(Math.abs(w.mean() - m) / m).toBeLessThan(1e-14);
    }
  });

  it('RollingKurt matches the bias-corrected excess kurtosis computed from central moments', () => {
    const r = new Mulberry32(4);
    const x = new Float64Array(2000);
    for (let i = 0; i < x.length; i++) x[i] = (r.next() - 0.5) * 1e-3 * (r.next() < 0.05 ? 8 : 1);
    const n = 60;
    const k = new RollingKurt(n, 7);
    for (let i = 0; i < x.length; i++) {
      k.push(x[i]);
      if (i < n - 1) {
        expect(k.kurt()).toBeNaN();
        continue;
      }
      const win = windowOf(x, i, n);
      const m = win.reduce((a, b) => a + b, 0) / n;
      const m2 = win.reduce((a, b) => a + (b - m) ** 2, 0) / n;
      const m4 = win.reduce((a, b) => a + (b - m) ** 4, 0) / n;
      const g2 = ((n * n - 1) * m4) / (m2 * m2) - 3 * (n - 1) ** 2;
      const expected = g2 / ((n - 2) * (n - 3));
      expect(Math.abs(k.kurt() - expected)).toBeLessThan(1e-9 * Math.max(1, Math.abs(expected)));
    }
  });

  it('RollingBeta matches cov / var from two passes', () => {
    const r = new Mulberry32(5);
    const n = 60;
    const b = new RollingBeta(n, 0);
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < 1500; i++) {
      const x = (r.next() - 0.5) * 1e-3;
      const y = 1.3 * x + (r.next() - 0.5) * 4e-4;
      xs.push(x);
      ys.push(y);
      b.push(x, y);
      if (i < n - 1) continue;
      const wx = xs.slice(-n);
      const wy = ys.slice(-n);
      const mx = wx.reduce((a, c) => a + c, 0) / n;
      const my = wy.reduce((a, c) => a + c, 0) / n;
      let cov = 0;
      let vx = 0;
      for (let j = 0; j < n; j++) {
        cov += (wx[j] - mx) * (wy[j] - my);
        vx += (wx[j] - mx) ** 2;
      }
      expect(Math.abs(b.beta() - cov / vx)).toBeLessThan(1e-10);
    }
  });

  it('RollingSum with minValid skips gaps in a long window and needs the window full since the first valid input', () => {
    const n = 100;
    const s = new RollingSum(n, 0, 50);
    const x = noisy(1000, 6, { nanRate: 0.2 });
    for (let i = 0; i < 30; i++) x[i] = NaN; // leading warm-up NaNs
    const firstValid = x.findIndex((v) => !Number.isNaN(v));
    for (let i = 0; i < x.length; i++) {
      s.push(x[i]);
      const win = windowOf(x, i, n).filter((v) => !Number.isNaN(v));
      const full = i - firstValid + 1 >= n;
      if (!full || win.length < 50) {
        expect(s.mean()).toBeNaN();
      } else {
        const m = win.reduce((a, c) => a + c, 0) / win.length;
        expect(Math.abs(s.mean() - m)).toBeLessThan(1e-12);
      }
    }
  });

  it('sums are start-independent: two series starting at different minutes hold bit-identical sums once full', () => {
    const x = noisy(4000, 7, { ties: false, nanRate: 0, scale: 1e3, offset: 5e4 });
    const n = 60;
    const start = 1_000_000; // minute index of x[0]
    const a = new RollingVar(n, start);
    const offset = 777;
    const b = new RollingVar(n, start + offset);
    const va: number[] = [];
    const vb: number[] = [];
    for (let i = 0; i < x.length; i++) {
      a.push(x[i]);
      va.push(a.variance());
      if (i >= offset) {
        b.push(x[i]);
        vb.push(b.variance());
      }
    }
    // After both windows are full and one aligned recompute has passed: bit-identical.
    for (let i = offset + 2 * n; i < x.length; i++) expect(vb[i - offset]).toBe(va[i]);
  });

  it('Ema is seeded by the first valid input, skips NaN, and is NaN until its warm-up has passed', () => {
    const e = new Ema(0.5, 3);
    e.push(NaN);
    expect(e.raw()).toBeNaN();
    e.push(10);
    expect(e.raw()).toBe(10);
    e.push(NaN);
    e.push(20);
    expect(e.raw()).toBe(15);
    expect(e.value()).toBeNaN();
    e.push(15);
    e.push(15);
    expect(e.value()).toBe(15);
  });
});
