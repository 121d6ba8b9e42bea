import { DataError, DAY_MS } from '@engine/shared';
import { barChart, formatTick, histogram, histogramBins, lineChart, niceAxis, niceStep, timeTicks, formatTime } from '../src/plot';

/** Every `x,y` pair of a path's d attribute. */
function points(d: string): [number, number][] {
  return [...d.matchAll(/(-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

function pathD(svg: string, cls: string): string {
  const m = new RegExp(`<path class="${cls}"[^>]* d="([^"]*)"`).exec(svg);
  if (!m) throw new Error(`no ${cls} path in ${svg.slice(0, 200)}`);
  return m[1]!;
}

describe('ticks', () => {
  test('nice steps are 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(1, 5)).toBeCloseTo(0.2);
    expect(niceStep(1234, 5)).toBe(250);
    expect(niceStep(0.037, 4)).toBeCloseTo(0.01);
  });

  test('the axis is widened to whole steps and covers the data', () => {
    const a = niceAxis(-37.2, 181.9, 5);
    expect(a.min).toBeLessThanOrEqual(-37.2);
    expect(a.max).toBeGreaterThanOrEqual(181.9);
    expect(a.ticks[0]).toBe(a.min);
    expect(a.ticks[a.ticks.length - 1]).toBe(a.max);
    expect(a.ticks).toEqual([-50, 0, 50, 100, 150, 200]);
  });

  test('ticks carry no binary noise', () => {
    expect(niceAxis(0.1, 0.7, 6).ticks).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
  });

  test('a single value still gives a usable axis', () => {
    const a = niceAxis(5, 5);
    expect(a.min).toBeLessThan(5);
    expect(a.max).toBeGreaterThan(5);
    const z = niceAxis(0, 0);
    expect(z.min).toBeLessThan(0);
    expect(z.max).toBeGreaterThan(0);
  });

  test('tick labels have as many decimals as the step needs', () => {
    expect(formatTick(1250, 250)).toBe('1,250');
    expect(formatTick(0.25, 0.25)).toBe('0.25');
    expect(formatTick(-2.5, 2.5)).toBe('-2.5');
    expect(formatTick(-0, 1)).toBe('0');
  });

  test('time ticks sit on UTC midnights at a calendar step', () => {
    const start = Date.UTC(2026, 0, 3, 13, 0);
    const end = start + 40 * DAY_MS;
    const t = timeTicks(start, end, 6);
    expect(t.step).toBe(7 * DAY_MS);
    for (const x of t.ticks) {
      expect(x % DAY_MS).toBe(0);
      expect(x).toBeGreaterThanOrEqual(start);
      expect(x).toBeLessThanOrEqual(end);
    }
    expect(formatTime(Date.UTC(2026, 6, 16), DAY_MS)).toBe('2026-07-16');
    expect(formatTime(Date.UTC(2026, 6, 16, 6), 6 * 3_600_000)).toBe('07-16 06:00');
  });
});

describe('lineChart', () => {
  const t0 = Date.UTC(2026, 1, 1);
  const x = Array.from({ length: 50 }, (_, i) => t0 + i * 3_600_000);
  const y = x.map((_, i) => 100 + 10 * Math.sin(i / 5) - i);

  test('draws the series inside the plot area, with axes, title and markers', () => {
    const svg = lineChart({ title: 'Equity <GBP>', series: [{ name: 'equity', x, y }], markers: [{ x: x[20]!, label: 'F2' }, { x: t0 - DAY_MS, label: 'outside' }] });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('<title id="equity-gbp-title">Equity &lt;GBP&gt;</title>');
    const pts = points(pathD(svg, 'line'));
    expect(pts).toHaveLength(50);
    for (const [px, py] of pts) {
      expect(px).toBeGreaterThanOrEqual(64);
      expect(px).toBeLessThanOrEqual(760 - 16);
      expect(py).toBeGreaterThanOrEqual(30);
      expect(py).toBeLessThanOrEqual(260 - 40);
    }
    // x increases left to right; the highest y value is the smallest pixel y.
    expect(pts[0]![0]).toBe(64);
    expect(pts[49]![0]).toBe(744);
    const iMax = y.indexOf(Math.max(...y));
    expect(Math.min(...pts.map((p) => p[1]))).toBe(pts[iMax]![1]);
    // One marker drawn (the other is outside the range), labelled.
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(1);
    expect(svg).toContain('>F2</text>');
    expect(svg).not.toContain('outside');
    // Two days of hourly points: ticks every 12 h, labelled with date and time.
    expect(svg).toContain('>02-02 00:00</text>');
  });

  test('xInclude widens the axis so markers before the first point are drawn', () => {
    const before = { x: t0 - 6 * 3_600_000, label: 'F0' };
    expect(lineChart({ title: 't', series: [{ name: 's', x, y }], markers: [before] })).not.toContain('>F0</text>');
    const svg = lineChart({ title: 't', series: [{ name: 's', x, y }], markers: [before], xInclude: [before.x] });
    expect(svg).toContain('>F0</text>');
    expect(points(pathD(svg, 'line'))[0]![0]).toBeGreaterThan(64);
  });

  test('a step line holds each value until the next point', () => {
    const pts = points(pathD(lineChart({ title: 't', xKind: 'number', series: [{ name: 'eq', x: [0, 1, 10], y: [0, 5, 6], step: true }] }), 'line'));
    expect(pts).toHaveLength(5);
    // Horizontal to the next x at the old y, then vertical to the new y.
    expect(pts[1]![1]).toBe(pts[0]![1]);
    expect(pts[1]![0]).toBe(pts[2]![0]);
    expect(pts[3]![1]).toBe(pts[2]![1]);
    expect(pts[3]![0]).toBe(pts[4]![0]);
  });

  test('a non-finite point breaks the line into two segments', () => {
    const yy = y.slice();
    yy[10] = NaN;
    const d = pathD(lineChart({ title: 't', series: [{ name: 's', x, y: yy }] }), 'line');
    expect(d.match(/M/g)).toHaveLength(2);
    expect(points(d)).toHaveLength(49);
  });

  test('an area series is closed down to the baseline', () => {
    const dd = y.map((v, i) => v - Math.max(...y.slice(0, i + 1)));
    const svg = lineChart({ title: 'Drawdown', series: [{ name: 'dd', x, y: dd, area: true }] });
    const area = pathD(svg, 'area');
    expect(area.endsWith('Z')).toBe(true);
    const pts = points(area);
    const baselineY = Number(/class="baseline"[^>]*y1="([\d.]+)"/.exec(svg)![1]);
    expect(pts[0]![1]).toBe(baselineY);
    expect(pts[pts.length - 1]![1]).toBe(baselineY);
    // Drawdown is ≤ 0: every point is on or below the zero line (pixel y ≥ baseline's).
    for (const [, py] of pts) expect(py).toBeGreaterThanOrEqual(baselineY);
  });

  test('a long series is reduced per pixel column but keeps its extremes', () => {
    const n = 100_000;
    const xs = new Float64Array(n);
    const ys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      xs[i] = i;
      ys[i] = Math.sin(i / 1000);
    }
    ys[54_321] = -5; // a one-point crash must survive the reduction
    const svg = lineChart({ title: 'long', xKind: 'number', series: [{ name: 's', x: xs, y: ys }] });
    const pts = points(pathD(svg, 'line'));
    expect(pts.length).toBeLessThan(4 * 700);
    expect(svg.length).toBeLessThan(60_000);
    const lowest = Math.max(...pts.map((p) => p[1]));
    expect(lowest).toBeCloseTo(260 - 40, 0);
  });

  test('mismatched lengths are a DataError naming the series', () => {
    expect(() => lineChart({ title: 't', series: [{ name: 'equity', x: [1, 2], y: [1] }] })).toThrow(DataError);
    expect(() => lineChart({ title: 't', series: [{ name: 'equity', x: [1, 2], y: [1] }] })).toThrow(/series 'equity' has 2 x values but 1 y values/);
  });

  test('nothing finite to draw says so', () => {
    const svg = lineChart({ title: 'empty', series: [{ name: 's', x: [1, 2], y: [NaN, NaN] }] });
    expect(svg).toContain('class="no-data"');
    expect(svg).not.toContain('class="line"');
  });

  test('two series get a legend and different colours', () => {
    const svg = lineChart({ title: 'two', series: [{ name: 'a', x, y }, { name: 'b', x, y: y.map((v) => v * 2) }] });
    expect(svg).toContain('class="legend"');
    const strokes = [...svg.matchAll(/class="line"[^>]*stroke="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(strokes).size).toBe(2);
  });
});

describe('barChart', () => {
  test('one bar per item, lengths proportional to values, labels escaped', () => {
    const svg = barChart({ title: 'Feature importance', items: [{ label: 'ret_<1m>', value: 40 }, { label: 'vol_60', value: 20 }, { label: 'rsi_14', value: 10 }] });
    const rects = [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((m) => ({ x: Number(m[1]), w: Number(m[2]) }));
    expect(rects).toHaveLength(3);
    expect(rects[0]!.w / rects[1]!.w).toBeCloseTo(2, 1);
    expect(rects[1]!.w / rects[2]!.w).toBeCloseTo(2, 1);
    expect(new Set(rects.map((r) => r.x)).size).toBe(1);
    expect(svg).toContain('ret_&lt;1m&gt;');
    expect(svg).not.toContain('ret_<1m>');
    // The height grows with the number of rows.
    const h3 = Number(/height="(\d+)"/.exec(svg)![1]);
    const h6 = Number(/height="(\d+)"/.exec(barChart({ title: 'x', items: Array.from({ length: 6 }, (_, i) => ({ label: `f${i}`, value: i + 1 })) }))![1]);
    expect(h6 - h3).toBe(3 * 18);
  });

  test('negative values extend left of the zero line', () => {
    const svg = barChart({ title: 'signed', items: [{ label: 'up', value: 3 }, { label: 'down', value: -2 }] });
    const rects = [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((m) => ({ x: Number(m[1]), w: Number(m[2]) }));
    expect(rects[1]!.x + rects[1]!.w).toBeCloseTo(rects[0]!.x, 0);
  });

  test('long labels are shortened but kept whole in the tooltip', () => {
    const long = 'a_very_long_feature_name_that_goes_on_and_on_forever';
    const svg = barChart({ title: 't', items: [{ label: long, value: 1 }] });
    expect(svg).toContain(`<title>${long}: 1</title>`);
    expect(svg).toContain('a_very_long_feature_name_that_goe…');
  });

  test('a NaN value is a DataError; no items says no data', () => {
    expect(() => barChart({ title: 't', items: [{ label: 'f', value: NaN }] })).toThrow(/item 'f' has value NaN/);
    expect(barChart({ title: 't', items: [] })).toContain('no data');
  });
});

describe('histogram', () => {
  /** Each drawn bar's count and pixel box. */
  const bars = (svg: string) =>
    [...svg.matchAll(/<rect class="bar" data-count="(\d+)" data-lo="([-\d.e]+)" data-hi="([-\d.e]+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((m) => ({
      count: Number(m[1]),
      lo: Number(m[2]),
      hi: Number(m[3]),
      x: Number(m[4]),
      h: Number(m[7]),
    }));

  test('bins have a nice width, edges on its multiples, and count every value once', () => {
    const { width, bins } = histogramBins([0.01, 0.02, 0.12, 0.13, 0.14, 0.31], 4);
    expect(width).toBeCloseTo(0.1);
    expect(bins.map((b) => [b.lo, b.hi, b.count])).toEqual([
      [0, 0.1, 2],
      [0.1, 0.2, 3],
      [0.2, 0.3, 0],
      [0.3, 0.4, 1],
    ]);
    // The maximum on an edge falls into the last bin, which is closed.
    expect(histogramBins([0, 0.5, 1], 2).bins.map((b) => b.count)).toEqual([1, 2]);
    // All values equal: one bar with room around it.
    const same = histogramBins([0.05, 0.05], 5);
    expect(same.bins.reduce((s, b) => s + b.count, 0)).toBe(2);
    expect(same.bins.length).toBeGreaterThan(1);
  });

  test('marker positions widen the range beyond the data', () => {
    const { bins } = histogramBins([0.1, 0.2], 5, [-0.3]);
    expect(bins[0]!.lo).toBeLessThanOrEqual(-0.3);
  });

  test('one bar per non-empty bin, heights proportional to counts, markers labelled and escaped', () => {
    const svg = histogram({ title: 'Daily Sharpe <trials>', values: [0.01, 0.02, 0.12, 0.13, 0.14, 0.31], bins: 4, markers: [{ x: 0.13, label: 'candidate <a>', className: 'candidate' }, { x: 0.25, label: 'SR0', dashed: true }] });
    const b = bars(svg);
    expect(b.map((r) => r.count)).toEqual([2, 3, 1]);
    expect(b[1]!.h / b[2]!.h).toBeCloseTo(3, 1);
    expect(b[0]!.x).toBeLessThan(b[1]!.x);
    expect(svg).toContain('<g class="candidate" data-x="0.13">');
    expect(svg).toContain('candidate &lt;a&gt;');
    expect(svg).not.toContain('<a>');
    expect(svg).toContain('<title>[0.1, 0.2): 3 values</title>');
    // The dashed marker: its line and its swatch in the legend.
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(2);
    expect(svg).toContain('<g class="legend">');
    // Zero is in range: the zero line is drawn.
    expect(svg).toContain('class="zero"');
  });

  test('an empty sample says no data; a NaN is a DataError', () => {
    expect(histogram({ title: 't', values: [] })).toContain('class="no-data"');
    expect(() => histogram({ title: 't', values: [1, NaN] })).toThrow(DataError);
  });
});
