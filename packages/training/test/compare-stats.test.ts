import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DataError, DAY_MS, deriveSeed, Mulberry32 } from '@engine/shared';
import {
  bootstrapMeanCI,
  brierScore,
  calibrationSlope,
  dailyNetBps,
  defaultBlockLength,
  neweyWestMean,
  pairedDifference,
  seedSd,
  spearman,
} from '../src/metrics/compare-stats';

/**
 * Golden numbers: packages/training/scripts/make-compare-golden.py (statsmodels 0.13,
 * scipy 1.10, scikit-learn 1.2, numpy 1.24 from Debian's python). Re-run it after changing
 * a case; the JSON is committed so this test needs no python.
 */
interface Golden {
  hac: { name: string; x: number[]; default_lags: number; results: { lags: number; mean: number; se: number; t: number; p: number }[] }[];
  spearman: { name: string; a: (number | null)[]; b: (number | null)[]; pairs: number; rho: number }[];
  brier: { name: string; p: number[]; y: number[]; brier: number }[];
  calibration: { name: string; p: number[]; y: number[]; intercept: number; slope: number }[];
  seed_sd: { name: string; values: number[]; sd: number }[];
}
const golden = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'compare-golden.json'), 'utf8')) as Golden;

/** |got − want| ≤ rel·|want|. */
const relNear = (got: number, want: number, rel: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.abs(want));

// Bound once: jest's VM contexts make every global `Math` lookup slow (~250 ns).
const { sqrt, log, cos, PI } = Math;

/** Standard normal draws (Box–Muller) from the project's seeded generator. */
function gaussian(r: Mulberry32): () => number {
  return () => sqrt(-2 * log(r.next() + 1e-300)) * cos(2 * PI * r.next());
}

function iidNormal(n: number, mu: number, sd: number, seed: number): Float64Array {
  const g = gaussian(new Mulberry32(seed));
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = mu + sd * g();
  return x;
}

function ar1(n: number, phi: number, sd: number, seed: number): Float64Array {
  const g = gaussian(new Mulberry32(seed));
  const x = new Float64Array(n);
  let prev = 0;
  for (let i = 0; i < n; i++) x[i] = prev = phi * prev + sd * g();
  return x;
}

describe('Newey–West mean: statsmodels OLS(x, 1) HAC, Bartlett, use_correction=False', () => {
  test.each(golden.hac.map((c) => [c.name, c] as const))('%s: mean, se, t and p within 1e-9 relative at every lag', (_name, c) => {
    expect(c.results.length).toBeGreaterThan(2);
    for (const want of c.results) {
      const got = neweyWestMean(c.x, want.lags);
      expect(got.lags).toBe(want.lags);
      expect(got.n).toBe(c.x.length);
      relNear(got.mean, want.mean, 1e-12);
      relNear(got.se, want.se, 1e-9);
      relNear(got.t, want.t, 1e-9);
      relNear(got.p, want.p, 1e-9);
    }
  });

  test('the default lag is ⌊4·(n/100)^(2/9)⌋, as statsmodels', () => {
    for (const c of golden.hac) expect(neweyWestMean(c.x).lags).toBe(c.default_lags);
    expect(neweyWestMean(new Float64Array(365).map((_, i) => i % 7)).lags).toBe(5);
  });

  test('positive autocorrelation widens the error beyond the i.i.d. one', () => {
    const x = ar1(1000, 0.6, 10, 7);
    const hc = neweyWestMean(x, 0);
    const nw = neweyWestMean(x, 20);
    // The long-run variance of an AR(1) is σ²/(1−φ)² against γ₀ = σ²/(1−φ²): ×4 at φ = 0.6.
    expect(nw.se / hc.se).toBeGreaterThan(1.6);
    expect(Math.abs(nw.t)).toBeLessThan(Math.abs(hc.t));
  });

  test('a constant series has se 0 and an undefined t; bad input is a DataError', () => {
    const flat = neweyWestMean([2, 2, 2, 2]);
    expect(flat.se).toBe(0);
    expect(flat.t).toBeNaN();
    expect(() => neweyWestMean([1])).toThrow(DataError);
    expect(() => neweyWestMean([1, 2, 3], -1)).toThrow(DataError);
    expect(() => neweyWestMean([1, 2, 3], 1.5)).toThrow(DataError);
    expect(() => neweyWestMean([1, NaN, 3])).toThrow(/finite numbers, found NaN at index 1/);
  });
});

describe('circular block bootstrap interval of the mean', () => {
  test('the same series and seed give the same interval; another seed another', () => {
    const x = ar1(300, 0.3, 15, 11);
    const a = bootstrapMeanCI(x, { seed: 42, reps: 2000 });
    const b = bootstrapMeanCI(x, { seed: 42, reps: 2000 });
    const c = bootstrapMeanCI(x, { seed: 43, reps: 2000 });
    expect(b).toEqual(a);
    expect(c.lo).not.toBe(a.lo);
    expect(a).toMatchObject({ level: 0.95, reps: 2000, block: defaultBlockLength(300) });
    expect(defaultBlockLength(300)).toBe(7);
    expect(defaultBlockLength(1000)).toBe(10);
    expect(bootstrapMeanCI(x, { seed: 1 }).reps).toBe(10_000);
  });

  test('it is the percentile interval of direct circular-block resamples drawn with Mulberry32(seed).nextInt', () => {
    const x = ar1(23, 0.3, 5, 3);
    const n = x.length;
    const block = 4;
    const reps = 200;
    const rng = new Mulberry32(12345);
    const means: number[] = [];
    for (let r = 0; r < reps; r++) {
      const resample: number[] = [];
      while (resample.length < n) {
        const start = rng.nextInt(n);
        for (let j = 0; j < block && resample.length < n; j++) resample.push(x[(start + j) % n]);
      }
      means.push(resample.reduce((a, b) => a + b, 0) / n);
    }
    means.sort((a, b) => a - b);
    // numpy.percentile's linear rule at 2.5% and 97.5% of 200: h = 199·q.
    const at = (q: number) => means[Math.floor(199 * q)] + (199 * q - Math.floor(199 * q)) * (means[Math.floor(199 * q) + 1] - means[Math.floor(199 * q)]);
    const ci = bootstrapMeanCI(x, { seed: 12345, reps, block });
    expect(Math.abs(ci.lo - at(0.025))).toBeLessThan(1e-12);
    expect(Math.abs(ci.hi - at(0.975))).toBeLessThan(1e-12);
  });

  test('the interval contains the sample mean and narrows with the level', () => {
    for (let s = 0; s < 20; s++) {
      const x = ar1(120, 0.4, 8, 100 + s);
      const ci = bootstrapMeanCI(x, { seed: s, reps: 1000 });
      expect(ci.lo).toBeLessThan(ci.mean);
      expect(ci.hi).toBeGreaterThan(ci.mean);
      const narrow = bootstrapMeanCI(x, { seed: s, reps: 1000, level: 0.5 });
      expect(narrow.hi - narrow.lo).toBeLessThan(ci.hi - ci.lo);
    }
  });

  test('95% intervals cover the true mean of i.i.d. normal series 92–97.5% of the time', () => {
    const series = 2000;
    const n = 200;
    const mu = 3;
    let covered = 0;
    for (let s = 0; s < series; s++) {
      const x = iidNormal(n, mu, 10, deriveSeed(2024, s));
      const ci = bootstrapMeanCI(x, { seed: deriveSeed(7, s), reps: 400 });
      if (ci.lo <= mu && mu <= ci.hi) covered++;
    }
    const rate = covered / series;
    expect(rate).toBeGreaterThanOrEqual(0.92);
    expect(rate).toBeLessThanOrEqual(0.975);
  });

  test('block 1 on i.i.d. data gives the textbook width 2·1.96·sd/√n', () => {
    const n = 1000;
    const x = iidNormal(n, 0, 10, 5);
    const ci = bootstrapMeanCI(x, { seed: 9, reps: 10_000, block: 1 });
    const textbook = (2 * 1.959964 * seedSd(x)) / Math.sqrt(n);
    relNear(ci.hi - ci.lo, textbook, 0.04);
  });

  test('on positively autocorrelated P&L, blocks widen the interval the i.i.d. bootstrap understates', () => {
    const x = ar1(500, 0.5, 10, 21);
    const iid = bootstrapMeanCI(x, { seed: 3, reps: 4000, block: 1 });
    const blocked = bootstrapMeanCI(x, { seed: 3, reps: 4000 });
    expect(blocked.block).toBe(8);
    expect(blocked.hi - blocked.lo).toBeGreaterThan(1.3 * (iid.hi - iid.lo));
    // …and approaches the Newey–West width.
    const nw = neweyWestMean(x);
    relNear(blocked.hi - blocked.lo, 2 * 1.959964 * nw.se, 0.25);
  });

  test('bad options are DataErrors', () => {
    const x = [1, 2, 3, 4];
    expect(() => bootstrapMeanCI(x, { seed: 1, block: 5 })).toThrow(DataError);
    expect(() => bootstrapMeanCI(x, { seed: 1, block: 0 })).toThrow(DataError);
    expect(() => bootstrapMeanCI(x, { seed: 1, level: 1 })).toThrow(DataError);
    expect(() => bootstrapMeanCI(x, { seed: 1, reps: 1 })).toThrow(DataError);
    expect(() => bootstrapMeanCI([1], { seed: 1 })).toThrow(DataError);
    expect(() => bootstrapMeanCI([1, Infinity], { seed: 1 })).toThrow(DataError);
  });
});

describe('rank IC: scipy.stats.spearmanr on the non-NaN pairs', () => {
  test.each(golden.spearman.map((c) => [c.name, c] as const))('%s within 1e-12', (_name, c) => {
    const a = c.a.map((v) => (v === null ? NaN : v));
    const b = c.b.map((v) => (v === null ? NaN : v));
    expect(Math.abs(spearman(a, b) - c.rho)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(spearman(Float64Array.from(b), Float64Array.from(a)) - c.rho)).toBeLessThanOrEqual(1e-12);
  });

  test('monotone maps give ±1; too few pairs or a constant side give NaN', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 25, 100])).toBe(1);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
    expect(spearman([1, NaN, 3], [NaN, 2, 3])).toBeNaN();
    expect(spearman([1, 2, 3], [5, 5, 5])).toBeNaN();
    expect(() => spearman([1, 2], [1])).toThrow(DataError);
  });
});

describe('Brier score: sklearn.metrics.brier_score_loss', () => {
  test.each(golden.brier.map((c) => [c.name, c] as const))('%s within 1e-14 relative', (_name, c) => {
    relNear(brierScore(c.p, c.y), c.brier, 1e-14);
  });

  test('a constant ½ scores 0.25; bad input is a DataError', () => {
    expect(brierScore([0.5, 0.5], [0, 1])).toBe(0.25);
    expect(() => brierScore([1.2], [1])).toThrow(/probabilities in \[0, 1\], found 1.2 at index 0/);
    expect(() => brierScore([0.2], [2])).toThrow(DataError);
    expect(() => brierScore([], [])).toThrow(DataError);
  });
});

describe('calibration slope: statsmodels Logit(y, [1, logit p]) by Newton', () => {
  test.each(golden.calibration.map((c) => [c.name, c] as const))('%s: intercept and slope within 1e-9', (_name, c) => {
    const fit = calibrationSlope(c.p, c.y);
    expect(fit.converged).toBe(true);
    expect(fit.iterations).toBeLessThan(20);
    expect(Math.abs(fit.slope - c.slope)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(fit.intercept - c.intercept)).toBeLessThanOrEqual(1e-9);
  });

  test('a calibrated confidence has slope ≈ 1 and intercept ≈ 0; an over-confident one slope < 1', () => {
    const r = new Mulberry32(77);
    const n = 20_000;
    const p = new Float64Array(n);
    const y = new Float64Array(n);
    const yOver = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      p[i] = 0.02 + 0.96 * r.next();
      y[i] = r.next() < p[i] ? 1 : 0;
      // The truth is half as extreme as p claims: logit q = logit(p) / 2.
      const z = Math.log(p[i] / (1 - p[i]));
      yOver[i] = r.next() < 1 / (1 + Math.exp(-z / 2)) ? 1 : 0;
    }
    const fit = calibrationSlope(p, y);
    expect(Math.abs(fit.slope - 1)).toBeLessThan(0.06);
    expect(Math.abs(fit.intercept)).toBeLessThan(0.05);
    const over = calibrationSlope(p, yOver);
    expect(Math.abs(over.slope - 0.5)).toBeLessThan(0.05);
  });

  test('no finite fit (one outcome, a constant confidence, separable outcomes) is NaN, not converged', () => {
    for (const [p, y] of [
      [[0.2, 0.7, 0.9], [1, 1, 1]],
      [[0.6, 0.6, 0.6], [0, 1, 1]],
      [[0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]],
    ]) {
      const fit = calibrationSlope(p, y);
      expect(fit.converged).toBe(false);
      expect(fit.slope).toBeNaN();
    }
  });
});

describe('daily net bps, paired differences and seed spread', () => {
  const D0 = Date.UTC(2025, 0, 1);
  const days = [D0, D0 + DAY_MS, D0 + 2 * DAY_MS, D0 + 3 * DAY_MS];

  test('trades sum on their signal bar’s UTC day; days without trades are 0', () => {
    const trades = [
      { signal_ts: D0 + 3_600_000, net_bps: 12 },
      { signal_ts: D0 + DAY_MS - 60_000, net_bps: -5 }, // the day's last minute: still day 0
      { signal_ts: D0 + 2 * DAY_MS, net_bps: 7.5 },
      { signal_ts: D0 + 2 * DAY_MS + 5 * 3_600_000, net_bps: 1 },
    ];
    expect(Array.from(dailyNetBps(trades, days))).toEqual([7, 0, 8.5, 0]);
    expect(Array.from(dailyNetBps([], days))).toEqual([0, 0, 0, 0]);
    expect(() => dailyNetBps([{ signal_ts: D0 + 4 * DAY_MS, net_bps: 1 }], days)).toThrow(/2025-01-05T00:00:00.000Z lies outside the 4 evaluated days/);
    expect(() => dailyNetBps([], [D0, D0])).toThrow(DataError);
    expect(() => dailyNetBps([], [D0 + 1])).toThrow(DataError);
  });

  test('the paired difference aligns by day, not by position, and counts unmatched days', () => {
    const family = { days: [days[2], days[0], days[1]], values: [30, 10, 20] };
    const gbdt = { days: [days[0], days[1], days[2], days[3]], values: [1, 2, 3, 4] };
    const d = pairedDifference(family, gbdt);
    expect(d.days).toEqual([days[0], days[1], days[2]]);
    expect(Array.from(d.diff)).toEqual([9, 18, 27]);
    expect(d.onlyA).toBe(0);
    expect(d.onlyB).toBe(1);
    expect(() => pairedDifference({ days: [D0], values: [1, 2] }, gbdt)).toThrow(DataError);
    expect(() => pairedDifference({ days: [D0, D0], values: [1, 2] }, gbdt)).toThrow(DataError);
  });

  test.each(golden.seed_sd.map((c) => [c.name, c] as const))('seed sd %s: numpy std(ddof=1) within 1e-14 relative', (_name, c) => {
    relNear(seedSd(c.values), c.sd, 1e-14);
  });

  test('one seed has no spread', () => {
    expect(seedSd([1.3])).toBeNaN();
    expect(() => seedSd([1, NaN])).toThrow(DataError);
  });
});
