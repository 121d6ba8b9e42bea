/**
 * Candles as a source delivers them: columnar, ascending by open time, no grid (a minute
 * the source does not have is simply absent). This is what the cache stores; the minute
 * grid with its gap mask is built from it per request (see `toMinuteGrid`).
 */
export interface RawCandles {
  /** Number of rows; the arrays may be longer (spare capacity) but only `[0, length)` counts. */
  length: number;
  /** Candle open time, epoch ms UTC. */
  ts: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

/** Column names in file order (the CSV header and the Arrow cache schema). */
export const CANDLE_COLUMNS = ['ts', 'open', 'high', 'low', 'close', 'volume'] as const;
export type CandleColumn = (typeof CANDLE_COLUMNS)[number];

/** Empty rows with room for `capacity` candles. */
export function allocRaw(capacity: number): RawCandles {
  const n = Math.max(0, Math.floor(capacity));
  return {
    length: 0,
    ts: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
  };
}

export function emptyRaw(): RawCandles {
  return allocRaw(0);
}

/** A copy of `r` with room for at least `capacity` rows (amortised doubling is the caller's choice). */
export function growRaw(r: RawCandles, capacity: number): RawCandles {
  const out = allocRaw(capacity);
  const n = r.length;
  out.length = n;
  for (const k of CANDLE_COLUMNS) out[k].set(r[k].subarray(0, n));
  return out;
}

/** Views of exactly `[from, to)` (no copy). */
export function subRaw(r: RawCandles, from: number, to: number): RawCandles {
  return {
    length: Math.max(0, to - from),
    ts: r.ts.subarray(from, to),
    open: r.open.subarray(from, to),
    high: r.high.subarray(from, to),
    low: r.low.subarray(from, to),
    close: r.close.subarray(from, to),
    volume: r.volume.subarray(from, to),
  };
}

/** Index of the first row with `ts >= t` (rows sorted ascending). */
export function lowerBound(ts: Float64Array, length: number, t: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Rows with `start <= ts < end`, as views (rows sorted ascending). */
export function sliceRawByTime(r: RawCandles, start: number, end: number): RawCandles {
  const from = lowerBound(r.ts, r.length, start);
  const to = lowerBound(r.ts, r.length, end);
  return subRaw(r, from, Math.max(from, to));
}

/** Concatenate parts that are each sorted and together ascending (page after page). */
export function concatRaw(parts: readonly RawCandles[]): RawCandles {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = allocRaw(n);
  let at = 0;
  for (const p of parts) {
    for (const k of CANDLE_COLUMNS) out[k].set(p[k].subarray(0, p.length), at);
    at += p.length;
  }
  out.length = n;
  return out;
}

/**
 * Merge two sorted, duplicate-free row sets into one. On an equal timestamp the row of
 * `kept` wins: the cache never lets a later download silently rewrite a stored candle.
 */
export function mergeRaw(kept: RawCandles, added: RawCandles): RawCandles {
  if (added.length === 0) return kept;
  if (kept.length === 0) return added;
  const out = allocRaw(kept.length + added.length);
  const a = kept.ts;
  const b = added.ts;
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < kept.length || j < added.length) {
    let fromKept: boolean;
    if (j >= added.length) fromKept = true;
    else if (i >= kept.length) fromKept = false;
    else if (a[i]! === b[j]!) {
      j++; // duplicate of a stored candle: keep the stored one
      continue;
    } else fromKept = a[i]! < b[j]!;
    const src = fromKept ? kept : added;
    const s = fromKept ? i++ : j++;
    out.ts[o] = src.ts[s]!;
    out.open[o] = src.open[s]!;
    out.high[o] = src.high[s]!;
    out.low[o] = src.low[s]!;
    out.close[o] = src.close[s]!;
    out.volume[o] = src.volume[s]!;
    o++;
  }
  out.length = o;
  return o === out.ts.length ? out : subRaw(out, 0, o);
}

/** Build rows from ccxt-style arrays `[ts, open, high, low, close, volume]`. */
export function rawFromTuples(rows: ReadonlyArray<ReadonlyArray<number | undefined>>): RawCandles {
  const out = allocRaw(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out.ts[i] = num(r[0]);
    out.open[i] = num(r[1]);
    out.high[i] = num(r[2]);
    out.low[i] = num(r[3]);
    out.close[i] = num(r[4]);
    out.volume[i] = num(r[5]);
  }
  out.length = rows.length;
  return out;
}

function num(v: number | undefined): number {
  // ccxt yields undefined for a field the exchange left out: NaN makes validation name it.
  return typeof v === 'number' ? v : NaN;
}
