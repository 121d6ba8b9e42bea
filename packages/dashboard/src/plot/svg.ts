/**
 * The few SVG/XML helpers the charts share. Everything a chart emits goes through `esc`
 * (text and attribute values) or `num` (coordinates), so a feature name such as `a<b`
 * or a NaN can never break the markup.
 */

/** Escape text for XML content and double-quoted attribute values. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A coordinate with at most one decimal (keeps the markup small; sub-pixel precision is invisible). */
export function num(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

/** A safe element id from free text: `Equity (GBP)` → `equity-gbp`. */
export function slugId(text: string): string {
  const s = text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return s.length > 0 ? s : 'plot';
}

/** The default series colours: distinguishable, and readable for the common colour-vision deficiencies. */
export const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2'] as const;

/** Axis, grid and label colours. */
export const INK = { text: '#1f2937', muted: '#6b7280', grid: '#e5e7eb', axis: '#9ca3af', marker: '#a855f7' } as const;
