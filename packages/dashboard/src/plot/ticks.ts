import { DAY_MS } from '@engine/shared';

/**
 * Axis ticks. Numbers get "nice" steps (1, 2, 2.5, 5 × 10^k); times get calendar-friendly
 * steps (hours, days, weeks) aligned to UTC midnight, so fold boundaries and ticks line
 * up with the days a reader thinks in.
 */

const HOUR_MS = 3_600_000;

/** The nice step (1, 2, 2.5, 5 × 10^k) that cuts `span` into about `target` intervals. */
export function niceStep(span: number, target: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  const m = r < 1.5 ? 1 : r < 2.25 ? 2 : r < 3.5 ? 2.5 : r < 7.5 ? 5 : 10;
  return m * mag;
}

/** A domain widened to whole steps, and its ticks. */
export interface NiceAxis {
  min: number;
  max: number;
  step: number;
  ticks: number[];
}

/**
 * Round `[min, max]` out to whole nice steps and list the ticks. A degenerate domain
 * (one value, or nothing finite) is widened around the value so the chart still draws.
 */
export function niceAxis(min: number, max: number, target = 5): NiceAxis {
  let lo = min;
  let hi = max;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo, target);
  const nMin = Math.floor(lo / step + 1e-9) * step;
  const nMax = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  const count = Math.round((nMax - nMin) / step);
  for (let i = 0; i <= count; i++) ticks.push(roundTo(nMin + i * step, step));
  return { min: nMin, max: nMax, step, ticks };
}

/** Remove binary noise such as 0.30000000000000004 from a tick. */
function roundTo(v: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  return Number(v.toFixed(Math.min(decimals, 12)));
}

/** Format a tick with just enough decimals for its step, thousands grouped: `1,250`, `0.25`, `-3.5`. */
export function formatTick(v: number, step: number): string {
  // The fewest decimals that write the step exactly (2.5 → 1, 0.25 → 2, 50 → 0).
  let decimals = 0;
  while (decimals < 10 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6) decimals++;
  const s = v.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

const TIME_STEPS = [HOUR_MS, 3 * HOUR_MS, 6 * HOUR_MS, 12 * HOUR_MS, DAY_MS, 2 * DAY_MS, 5 * DAY_MS, 7 * DAY_MS, 14 * DAY_MS, 30 * DAY_MS, 61 * DAY_MS, 91 * DAY_MS, 182 * DAY_MS, 365 * DAY_MS];

/** Ticks for an epoch-ms axis: about `target` of them, at a calendar step, aligned to UTC midnight. */
export function timeTicks(minMs: number, maxMs: number, target = 6): { step: number; ticks: number[] } {
  const span = Math.max(1, maxMs - minMs);
  const step = TIME_STEPS.find((s) => span / s <= target) ?? TIME_STEPS[TIME_STEPS.length - 1]!;
  // Align to the step from the epoch's midnight (all steps ≥ a day are whole days, so
  // ticks land on UTC midnights; sub-day steps land on whole hours).
  const first = Math.ceil(minMs / step) * step;
  const ticks: number[] = [];
  for (let t = first; t <= maxMs; t += step) ticks.push(t);
  return { step, ticks };
}

/** Label of a time tick: `07-16` for day steps, `07-16 06:00` below a day, `2026-07` for months. */
export function formatTime(ms: number, step: number): string {
  const iso = new Date(ms).toISOString();
  if (step >= 30 * DAY_MS) return iso.slice(0, 7);
  // Whole days carry their year; intraday ticks keep month-day and time (the axis label names the year).
  if (step >= DAY_MS) return iso.slice(0, 10);
  return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}
