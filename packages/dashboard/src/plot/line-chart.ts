import { DataError } from '@engine/shared';
import { esc, INK, num, PALETTE, slugId } from './svg';
import { formatTick, formatTime, niceAxis, timeTicks } from './ticks';

/** One line of a line chart. Points whose x or y is not finite break the line (a gap). */
export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Stroke colour (default: the palette, in order). */
  color?: string;
  /** Fill between the line and `LineChartOptions.baseline` (default 0): drawdown, for example. */
  area?: boolean;
  /**
   * Hold each value until the next point (a step line): right for cumulative P&L, which
   * changes only when a trade closes — a gap without trades stays flat instead of
   * showing a slope that never happened.
   */
  step?: boolean;
}

/** A vertical marker across the plot: a fold boundary, an event. */
export interface Marker {
  x: number;
  /** Short text drawn at the top of the line (`F2`). */
  label?: string;
}

export interface LineChartOptions {
  title: string;
  series: LineSeries[];
  /** Element id of the chart (default: from the title); must be unique on the page. */
  id?: string;
  /** Pixel size of the drawing (it scales with the page; default 760 × 260). */
  width?: number;
  height?: number;
  /** `time`: x is epoch ms, ticks are UTC calendar steps (default); `number`: plain numbers. */
  xKind?: 'time' | 'number';
  xLabel?: string;
  yLabel?: string;
  /** Vertical markers (fold boundaries). Markers outside the x range are not drawn. */
  markers?: Marker[];
  /** A horizontal reference line, also the floor of area fills (default 0, drawn when in range). */
  baseline?: number;
  /** x values the axis must include besides the data (the whole out-of-sample span, not just its first and last trade). */
  xInclude?: readonly number[];
}

const MARGIN = { left: 64, right: 16, top: 30, bottom: 40 };

/**
 * A line chart as a standalone SVG string: axes with nice ticks, a light grid, optional
 * area fill, vertical markers and a legend when there is more than one series. Long
 * series are reduced per pixel column to their first, lowest, highest and last points,
 * so a 100,000-point curve keeps its extremes (its drawdowns) at a few KB.
 *
 * Throws DataError when a series' x and y lengths differ. A chart with no finite point
 * says "no data" inside the frame instead of drawing empty axes.
 */
export function lineChart(opts: LineChartOptions): string {
  const width = opts.width ?? 760;
  const height = opts.height ?? 260;
  const id = opts.id ?? slugId(opts.title);
  const baseline = opts.baseline ?? 0;
  const xKind = opts.xKind ?? 'time';
  for (const s of opts.series) {
    if (s.x.length !== s.y.length) {
      throw new DataError('PLOT_INPUT', `line chart '${opts.title}': series '${s.name}' has ${s.x.length} x values but ${s.y.length} y values`);
    }
  }

  let xMin = Infinity;
  let xMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  let anyArea = false;
  for (const s of opts.series) {
    anyArea ||= s.area === true;
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!;
      const y = s.y[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (x < xMin) xMin = x;
      if (x > xMax) xMax = x;
      if (y < yMin) yMin = y;
      if (y > yMax) yMax = y;
    }
  }

  if (Number.isFinite(xMin)) {
    for (const x of opts.xInclude ?? []) {
      if (!Number.isFinite(x)) continue;
      if (x < xMin) xMin = x;
      if (x > xMax) xMax = x;
    }
  }

  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="plot" id="${esc(id)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${esc(id)}-title" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="11">`,
    `<title id="${esc(id)}-title">${esc(opts.title)}</title>`,
    `<text x="${MARGIN.left}" y="18" font-size="13" font-weight="600" fill="${INK.text}">${esc(opts.title)}</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="#ffffff" stroke="${INK.grid}"/>`,
  );
  if (!Number.isFinite(xMin)) {
    out.push(`<text class="no-data" x="${num(MARGIN.left + plotW / 2)}" y="${num(MARGIN.top + plotH / 2)}" text-anchor="middle" fill="${INK.muted}">no data</text>`, '</svg>');
    return out.join('');
  }

  // The baseline belongs in the y range when something is filled down to it, or when it is near the data.
  if (anyArea || (baseline >= yMin - (yMax - yMin) && baseline <= yMax + (yMax - yMin))) {
    yMin = Math.min(yMin, baseline);
    yMax = Math.max(yMax, baseline);
  }
  const yAxis = niceAxis(yMin, yMax, 5);
  if (xMax === xMin) {
    xMin -= xKind === 'time' ? 3_600_000 : 1;
    xMax += xKind === 'time' ? 3_600_000 : 1;
  }
  const sx = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number) => MARGIN.top + plotH - ((y - yAxis.min) / (yAxis.max - yAxis.min)) * plotH;

  // Grid and y ticks.
  const grid: string[] = [];
  for (const t of yAxis.ticks) {
    const y = num(sy(t));
    grid.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="${INK.grid}"/>`);
    grid.push(`<text x="${MARGIN.left - 6}" y="${y}" dy="0.32em" text-anchor="end" fill="${INK.muted}">${esc(formatTick(t, yAxis.step))}</text>`);
  }
  out.push(`<g class="y-axis">${grid.join('')}</g>`);

  // x ticks.
  const xt: string[] = [];
  const xTicks = xKind === 'time' ? timeTicks(xMin, xMax, 7) : (() => {
    const a = niceAxis(xMin, xMax, 7);
    return { step: a.step, ticks: a.ticks.filter((t) => t >= xMin && t <= xMax) };
  })();
  for (const t of xTicks.ticks) {
    const x = num(sx(t));
    xt.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" stroke="${INK.axis}"/>`);
    const label = xKind === 'time' ? formatTime(t, xTicks.step) : formatTick(t, xTicks.step);
    xt.push(`<text x="${x}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" fill="${INK.muted}">${esc(label)}</text>`);
  }
  out.push(`<g class="x-axis">${xt.join('')}</g>`);
  // A time axis always says its zone and year(s), even when the caller gives no label.
  const years = xKind === 'time' ? [...new Set([new Date(xMin).getUTCFullYear(), new Date(xMax).getUTCFullYear()])].join('–') : '';
  const xLabel = xKind === 'time' ? `${opts.xLabel ?? 'time'} (UTC, ${years})` : opts.xLabel;
  if (xLabel) {
    out.push(`<text x="${num(MARGIN.left + plotW / 2)}" y="${height - 6}" text-anchor="middle" fill="${INK.muted}">${esc(xLabel)}</text>`);
  }
  if (opts.yLabel) {
    out.push(`<text transform="translate(12 ${num(MARGIN.top + plotH / 2)}) rotate(-90)" text-anchor="middle" fill="${INK.muted}">${esc(opts.yLabel)}</text>`);
  }

  // Markers (fold boundaries), under the lines.
  const marks: string[] = [];
  const markLabels: string[] = [];
  // Labels of nearby markers are stacked in rows (left to right, each in the first row where
  // it clears the previous label: about 6 px a character at font size 10), never on top of each other.
  const rowEnds: number[] = [];
  const inRange = (opts.markers ?? []).filter((m) => Number.isFinite(m.x) && m.x >= xMin && m.x <= xMax).sort((a, b) => a.x - b.x);
  for (const m of inRange) {
    const x = num(sx(m.x));
    marks.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="${INK.marker}" stroke-dasharray="4 3"/>`);
    if (!m.label) continue;
    const px = sx(m.x);
    let row = rowEnds.findIndex((end) => px > end + 4);
    if (row < 0) row = rowEnds.length;
    rowEnds[row] = px + 3 + m.label.length * 6;
    // A white halo keeps the label readable where it crosses the curve.
    markLabels.push(`<text x="${x}" y="${MARGIN.top + 10 + row * 11}" dx="3" fill="${INK.marker}" font-size="10" stroke="#ffffff" stroke-width="3" paint-order="stroke">${esc(m.label)}</text>`);
  }
  if (marks.length > 0) out.push(`<g class="markers">${marks.join('')}</g>`);

  if (baseline >= yAxis.min && baseline <= yAxis.max) {
    const y = num(sy(baseline));
    out.push(`<line class="baseline" x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="${INK.axis}"/>`);
  }

  // Series.
  const legend: string[] = [];
  opts.series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    const segments = pixelSegments(s, sx, sy, plotW).map((seg) => (s.step ? stepped(seg) : seg));
    if (s.area) {
      const by = num(sy(baseline));
      const d = segments.map((seg) => `M${num(seg[0]!)},${by}L${pairs(seg)}L${num(seg[seg.length - 2]!)},${by}Z`).join('');
      if (d) out.push(`<path class="area" d="${d}" fill="${color}" fill-opacity="0.18" stroke="none"/>`);
    }
    const d = segments.map((seg) => `M${pairs(seg)}`).join('');
    if (d) out.push(`<path class="line" data-series="${esc(s.name)}" d="${d}" fill="none" stroke="${color}" stroke-width="1.5" stroke-linejoin="round"/>`);
    legend.push(`<g transform="translate(${num(width - MARGIN.right - 150)} ${num(10 + k * 14)})"><rect width="10" height="3" y="-4" fill="${color}"/><text x="14" fill="${INK.text}">${esc(s.name)}</text></g>`);
  });
  // Marker labels go over the lines, haloed, so a curve never hides them.
  if (markLabels.length > 0) out.push(`<g class="marker-labels">${markLabels.join('')}</g>`);
  if (opts.series.length > 1) out.push(`<g class="legend">${legend.join('')}</g>`);
  out.push('</svg>');
  return out.join('');
}

/** A step line through a flat [x, y, …] segment: before each point, a corner at (its x, the previous y). */
function stepped(seg: number[]): number[] {
  const out: number[] = [seg[0]!, seg[1]!];
  for (let i = 2; i < seg.length; i += 2) out.push(seg[i]!, seg[i - 1]!, seg[i]!, seg[i + 1]!);
  return out;
}

/** `x1,y1 x2,y2 …` of a flat [x, y, x, y, …] segment, joined for a path's L command. */
function pairs(seg: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < seg.length; i += 2) parts.push(`${num(seg[i]!)},${num(seg[i + 1]!)}`);
  return parts.join('L');
}

/**
 * The series in pixel space, split at non-finite points into continuous segments. When a
 * segment has more than two points per pixel column, each column keeps its first, lowest,
 * highest and last point (in order), which preserves every visible extreme.
 */
function pixelSegments(s: LineSeries, sx: (x: number) => number, sy: (y: number) => number, plotW: number): number[][] {
  const raw: number[][] = [];
  let cur: number[] = [];
  for (let i = 0; i < s.x.length; i++) {
    const x = s.x[i]!;
    const y = s.y[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      if (cur.length > 0) raw.push(cur);
      cur = [];
      continue;
    }
    cur.push(sx(x), sy(y));
  }
  if (cur.length > 0) raw.push(cur);
  return raw.map((seg) => (seg.length / 2 > 2 * plotW ? decimate(seg) : seg));
}

function decimate(seg: number[]): number[] {
  const out: number[] = [];
  let col = Math.floor(seg[0]!);
  let first = 0;
  let lo = 0;
  let hi = 0;
  let last = 0;
  const flush = () => {
    // Emit in index order, without repeating a point.
    const idx = [...new Set([first, lo, hi, last])].sort((a, b) => a - b);
    for (const j of idx) out.push(seg[j]!, seg[j + 1]!);
  };
  for (let i = 0; i < seg.length; i += 2) {
    const c = Math.floor(seg[i]!);
    if (c !== col) {
      flush();
      col = c;
      first = lo = hi = i;
    }
    // Pixel y grows downwards: the lowest value has the largest y.
    if (seg[i + 1]! > seg[lo + 1]!) lo = i;
    if (seg[i + 1]! < seg[hi + 1]!) hi = i;
    last = i;
  }
  flush();
  return out;
}
