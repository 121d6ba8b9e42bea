/**
 * How every command writes machine-readable output: `--json` is snake_case everywhere (as
 * the manifest), one JSON document per line. Keys that are camelCase identifiers become
 * snake_case; anything else (a symbol `BTC/USDT`, a file name, a metric path) is kept, and
 * the subtrees named `manifest` and `training` are printed verbatim: they are data with their own schema.
 */
const VERBATIM = new Set(['manifest', 'training']);
const CAMEL = /^[a-z][a-zA-Z0-9]*$/;

export function snakeKey(k: string): string {
  return CAMEL.test(k) ? k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : k;
}

export function snakeCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCase);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[snakeKey(k)] = VERBATIM.has(k) ? v : snakeCase(v);
  return out;
}

/** One JSON line, snake_case. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(snakeCase(value))}\n`;
}
