import { DataError } from '@engine/shared';
import { esc, INK, num, PALETTE, slugId } from './svg';
import { formatTick, niceAxis } from './ticks';

export interface BarItem {
  label: string;
  value: number;
}

export interface BarChartOptions {
  title: string;
  /** Drawn top to bottom in the given order (sort before calling). */
  items: BarItem[];
  id?: string;
  /** Pixel width (default 760); the height follows from the number of bars. */
  width?: number;
  /** Height of one bar row in pixels (default 18). */
  rowHeight?: number;
  color?: string;
  /** Value label at the end of each bar (default: 3 significant digits). */
  format?: (v: number) => string;
  /** Axis caption under the ticks. */
  valueLabel?: string;
}

const MAX_LABEL_CHARS = 34;

/**
 * A horizontal bar chart as a standalone SVG string (feature importance): one labelled
 * row per item, bars from zero (negative values extend left of the zero line), a value
 * at the end of each bar and a nice value axis. Labels longer than 34 characters are
 * shortened with an ellipsis; the full label stays in the bar's tooltip.
 *
 * Throws DataError for a non-finite value (importance is never NaN in a sound model).
 */
export function barChart(opts: BarChartOptions): string {
  const width = opts.width ?? 760;
  const rowH = opts.rowHeight ?? 18;
  const id = opts.id ?? slugId(opts.title);
  const color = opts.color ?? PALETTE[0];
  const format = opts.format ?? ((v: number) => Number(v.toPrecision(3)).toLocaleString('en-US'));
  for (const it of opts.items) {
    if (!Number.isFinite(it.value)) {
      throw new DataError('PLOT_INPUT', `bar chart '${opts.title}': item '${it.label}' has value ${it.value}; expected a finite number`);
    }
  }
  const labels = opts.items.map((it) => (it.label.length > MAX_LABEL_CHARS ? `${it.label.slice(0, MAX_LABEL_CHARS - 1)}…` : it.label));
  // About 6.2 px per character at 11 px system-ui; clamp so long names cannot squeeze the bars away.
  const labelW = Math.min(230, Math.max(60, Math.max(0, ...labels.map((l) => l.length)) * 6.2 + 10));
  const margin = { left: labelW, right: 56, top: 30, bottom: 34 };
  const plotW = width - margin.left - margin.right;
  const plotH = Math.max(rowH, opts.items.length * rowH);
  const height = margin.top + plotH + margin.bottom;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="plot" id="${esc(id)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${esc(id)}-title" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="11">`,
    `<title id="${esc(id)}-title">${esc(opts.title)}</title>`,
    `<text x="8" y="18" font-size="13" font-weight="600" fill="${INK.text}">${esc(opts.title)}</text>`,
  ];
  if (opts.items.length === 0) {
    out.push(`<text class="no-data" x="${num(width / 2)}" y="${num(margin.top + plotH / 2)}" text-anchor="middle" fill="${INK.muted}">no data</text>`, '</svg>');
    return out.join('');
  }

  let lo = 0;
  let hi = 0;
  for (const it of opts.items) {
    lo = Math.min(lo, it.value);
    hi = Math.max(hi, it.value);
  }
  const axis = niceAxis(lo, hi, 5);
  const sx = (v: number) => margin.left + ((v - axis.min) / (axis.max - axis.min)) * plotW;
  const x0 = sx(0);

  const grid: string[] = [];
  for (const t of axis.ticks) {
    const x = num(sx(t));
    grid.push(`<line x1="${x}" x2="${x}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="${INK.grid}"/>`);
    grid.push(`<text x="${x}" y="${margin.top + plotH + 14}" text-anchor="middle" fill="${INK.muted}">${esc(formatTick(t, axis.step))}</text>`);
  }
  out.push(`<g class="x-axis">${grid.join('')}</g>`);
  if (opts.valueLabel) {
    out.push(`<text x="${num(margin.left + plotW / 2)}" y="${height - 6}" text-anchor="middle" fill="${INK.muted}">${esc(opts.valueLabel)}</text>`);
  }

  const bars: string[] = [];
  opts.items.forEach((it, i) => {
    const yTop = margin.top + i * rowH;
    const barH = Math.max(2, rowH * 0.7);
    const y = yTop + (rowH - barH) / 2;
    const xv = sx(it.value);
    const x = Math.min(x0, xv);
    const w = Math.abs(xv - x0);
    const cy = num(yTop + rowH / 2);
    bars.push(
      `<g class="bar"><title>${esc(`${it.label}: ${format(it.value)}`)}</title>` +
        `<text x="${num(margin.left - 6)}" y="${cy}" dy="0.32em" text-anchor="end" fill="${INK.text}">${esc(labels[i]!)}</text>` +
        `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(barH)}" fill="${color}" rx="1.5"/>` +
        `<text x="${num(it.value < 0 ? x - 4 : x + w + 4)}" y="${cy}" dy="0.32em" text-anchor="${it.value < 0 ? 'end' : 'start'}" fill="${INK.muted}">${esc(format(it.value))}</text></g>`,
    );
  });
  out.push(`<g class="bars">${bars.join('')}</g>`);
  out.push(`<line x1="${num(x0)}" x2="${num(x0)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="${INK.axis}"/>`);
  out.push('</svg>');
  return out.join('');
}
