import { DataError } from '@engine/shared';
import { esc, INK, num, PALETTE, slugId } from './svg';
import { formatTick, niceAxis, niceStep } from './ticks';

/** A vertical reference line across a histogram: the candidate's value, a benchmark. */
export interface HistogramMarker {
  x: number;
  label: string;
  /** Stroke and label colour (default: the marker ink). */
  color?: string;
  /** Dashed line (default false: solid). */
  dashed?: boolean;
  /** Class of the marker's group, for tests and styling (default `marker`). */
  className?: string;
}

export interface HistogramOptions {
  title: string;
  /** The sample; every value must be finite. */
  values: readonly number[];
  id?: string;
  /** Pixel size of the drawing (it scales with the page; default 760 × 300). */
  width?: number;
  height?: number;
  /** About how many bins (default: √n, between 5 and 30); the width is a nice step. */
  bins?: number;
  /** Markers are always inside the x range, even when they lie beyond the data. */
  markers?: HistogramMarker[];
  xLabel?: string;
  color?: string;
  /** What one counted value is called in a bin's tooltip (default `values`). */
  unit?: string;
}

/** One bin: [lo, hi), the last one closed. */
export interface HistogramBin {
  lo: number;
  hi: number;
  count: number;
}

const MARGIN = { left: 48, right: 16, top: 44, bottom: 40 };
/** Baseline of the marker legend, between the title and the plot. */
const LEGEND_Y = 35;

/**
 * The bins of a sample: a nice width (1, 2, 2.5, 5 × 10^k) cutting the range of the
 * values and of `include` (marker positions) into about `target` bins, aligned to whole
 * multiples of the width so a bin edge falls on zero. Empty bins are kept: the x axis is
 * continuous. Non-finite values are not counted.
 */
export function histogramBins(values: readonly number[], target: number, include: readonly number[] = []): { width: number; bins: HistogramBin[] } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of [...values, ...include]) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return { width: 1, bins: [] };
  if (hi === lo) {
    // All values equal: a small range around them, so the bar has neighbours and an axis.
    const pad = Math.max(Math.abs(lo) * 0.1, 1e-3) / 2;
    lo -= pad;
    hi += pad;
  }
  const width = niceStep(hi - lo, Math.max(1, target));
  const first = Math.floor(lo / width + 1e-9);
  const last = Math.max(first + 1, Math.ceil(hi / width - 1e-9));
  const bins: HistogramBin[] = [];
  for (let k = first; k < last; k++) bins.push({ lo: tidy(k * width, width), hi: tidy((k + 1) * width, width), count: 0 });
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    // The last bin is closed: the maximum falls into it, not beyond.
    const i = Math.min(bins.length - 1, Math.max(0, Math.floor(v / width + 1e-9) - first));
    bins[i]!.count++;
  }
  return { width, bins };
}

/** Remove binary noise from a bin edge (0.30000000000000004 → 0.3). */
function tidy(v: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  return Number(v.toFixed(Math.min(decimals, 12)));
}

/**
 * A histogram as a standalone SVG string: one bar per non-empty bin (its count and range
 * in a tooltip and in `data-count`, `data-lo`, `data-hi`), integer count ticks, a zero
 * line when zero is in range, and vertical markers over the bars, named in a legend under
 * the title. An empty sample says "no data" inside the frame.
 *
 * Throws DataError for a non-finite value: the caller decides what to leave out and says so.
 */
export function histogram(opts: HistogramOptions): string {
  const width = opts.width ?? 760;
  const height = opts.height ?? 300;
  const id = opts.id ?? slugId(opts.title);
  const color = opts.color ?? PALETTE[0];
  const unit = opts.unit ?? 'values';
  for (const v of opts.values) {
    if (!Number.isFinite(v)) throw new DataError('PLOT_INPUT', `histogram '${opts.title}': value ${v}; expected finite numbers only`);
  }
  const markers = (opts.markers ?? []).filter((m) => Number.isFinite(m.x));
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="plot histogram" id="${esc(id)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${esc(id)}-title" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="11">`,
    `<title id="${esc(id)}-title">${esc(opts.title)}</title>`,
    `<text x="${MARGIN.left}" y="18" font-size="13" font-weight="600" fill="${INK.text}">${esc(opts.title)}</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="#ffffff" stroke="${INK.grid}"/>`,
  ];
  const target = opts.bins ?? Math.min(30, Math.max(5, Math.round(Math.sqrt(opts.values.length))));
  const { width: step, bins } = opts.values.length === 0 ? { width: 1, bins: [] } : histogramBins(opts.values, target, markers.map((m) => m.x));
  if (bins.length === 0) {
    out.push(`<text class="no-data" x="${num(MARGIN.left + plotW / 2)}" y="${num(MARGIN.top + plotH / 2)}" text-anchor="middle" fill="${INK.muted}">no data</text>`, '</svg>');
    return out.join('');
  }

  const xMin = bins[0]!.lo;
  const xMax = bins[bins.length - 1]!.hi;
  const sx = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  let maxCount = 0;
  for (const b of bins) maxCount = Math.max(maxCount, b.count);
  // Counts are whole: an integer step, at least 1.
  const yStep = Math.max(1, Math.ceil(niceStep(maxCount, 4)));
  const yTop = Math.max(yStep, Math.ceil(maxCount / yStep) * yStep);
  const sy = (c: number) => MARGIN.top + plotH - (c / yTop) * plotH;

  const grid: string[] = [];
  for (let c = 0; c <= yTop; c += yStep) {
    const y = num(sy(c));
    grid.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="${INK.grid}"/>`);
    grid.push(`<text x="${MARGIN.left - 6}" y="${y}" dy="0.32em" text-anchor="end" fill="${INK.muted}">${c}</text>`);
  }
  out.push(`<g class="y-axis">${grid.join('')}</g>`);

  const xAxis = niceAxis(xMin, xMax, 7);
  const xt: string[] = [];
  for (const t of xAxis.ticks) {
    if (t < xMin - 1e-12 || t > xMax + 1e-12) continue;
    const x = num(sx(t));
    xt.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" stroke="${INK.axis}"/>`);
    xt.push(`<text x="${x}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" fill="${INK.muted}">${esc(formatTick(t, xAxis.step))}</text>`);
  }
  out.push(`<g class="x-axis">${xt.join('')}</g>`);
  if (opts.xLabel) out.push(`<text x="${num(MARGIN.left + plotW / 2)}" y="${height - 6}" text-anchor="middle" fill="${INK.muted}">${esc(opts.xLabel)}</text>`);

  const bars: string[] = [];
  bins.forEach((b, i) => {
    if (b.count === 0) return;
    const x = sx(b.lo);
    const w = Math.max(1, sx(b.hi) - x - 1);
    const y = sy(b.count);
    const range = `[${formatTick(b.lo, step)}, ${formatTick(b.hi, step)}${i === bins.length - 1 ? ']' : ')'}`;
    bars.push(
      `<g class="bin"><title>${esc(`${range}: ${b.count} ${unit}`)}</title>` +
        `<rect class="bar" data-count="${b.count}" data-lo="${b.lo}" data-hi="${b.hi}" x="${num(x + 0.5)}" y="${num(y)}" width="${num(w)}" height="${num(MARGIN.top + plotH - y)}" fill="${color}" fill-opacity="0.75"/></g>`,
    );
  });
  out.push(`<g class="bars">${bars.join('')}</g>`);
  if (xMin <= 0 && xMax >= 0) {
    const x = num(sx(0));
    out.push(`<line class="zero" x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="${INK.axis}"/>`);
  }

  // Markers over the bars, on a white halo so they show on a bar, and named in a legend
  // under the title rather than beside their lines: two close markers (the candidate near
  // SR₀) would otherwise print over each other.
  const marks: string[] = [];
  const legend: string[] = [];
  let lx = MARGIN.left;
  for (const m of markers) {
    const c = m.color ?? INK.marker;
    const x = num(sx(m.x));
    const dash = m.dashed ? ' stroke-dasharray="5 3"' : '';
    marks.push(`<g class="${esc(m.className ?? 'marker')}" data-x="${m.x}"><title>${esc(m.label)}</title><line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#ffffff" stroke-width="5"/><line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="${c}" stroke-width="2"${dash}/></g>`);
    legend.push(`<g transform="translate(${num(lx)} ${LEGEND_Y})"><line x1="0" x2="18" y1="-4" y2="-4" stroke="${c}" stroke-width="2"${dash}/><text x="24" fill="${c}" font-weight="600">${esc(m.label)}</text></g>`);
    // About 6.5 px per character at 11 px bold system-ui, plus the swatch and a gap.
    lx += 24 + m.label.length * 6.5 + 22;
  }
  if (marks.length > 0) out.push(`<g class="markers">${marks.join('')}</g>`, `<g class="legend">${legend.join('')}</g>`);
  out.push('</svg>');
  return out.join('');
}
