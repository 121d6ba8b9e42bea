import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pairStem, type Pair } from '@engine/shared';
import { cacheFolderError, writeFileAtomic } from './cache-io';
import { addRange, parseRanges, type TimeRange } from './coverage';
import type { FundingPage } from './source';

/** Bumped when the file layout changes; older files are then ignored and rebuilt. */
export const FUNDING_CACHE_FORMAT = 'engine-funding/1';

/** Why a cache file was not used (undefined when it was, or there was none). */
export type FundingCacheDiscard = 'unreadable' | 'other-format' | 'other-symbol' | 'other-source';

interface FundingFile {
  format: string;
  symbol: string;
  source: string;
  units: string;
  covered: TimeRange[];
  ts: number[];
  rate: number[];
}

/**
 * The local funding history of one (source, symbol): a JSON file
 * `<cacheDir>/<source>/<BASEQUOTE>-funding.json` holding the validated events as two
 * columns, `ts` (funding time, epoch ms UTC) and `rate` (fraction per event), and the
 * time ranges already asked for (`covered`, `[[start, end), …]`): an instant inside a
 * covered range without an event had none. Three events a day make a few thousand rows
 * for years, so plain JSON is small enough and readable anywhere.
 *
 * Writes are atomic (a temporary file renamed over the old one), as for candles.
 */
export class FundingCache {
  private ts: number[];
  private rate: number[];
  private sorted: boolean;
  private ranges: TimeRange[];
  private dirty = false;

  private constructor(
    readonly file: string,
    private readonly meta: { symbol: string; source: string },
    rows: { ts: number[]; rate: number[] },
    ranges: TimeRange[],
    /** Set when an existing file was ignored. */
    readonly discarded: FundingCacheDiscard | undefined,
  ) {
    this.ts = rows.ts;
    this.rate = rows.rate;
    // A file is written sorted; one edited by hand may not be, and sorting a few thousand rows is free.
    this.sorted = rows.ts.length === 0;
    this.ranges = ranges;
  }

  /** Path of the funding file for a (source, pair). */
  static fileFor(cacheDir: string, sourceKey: string, pair: Pair): string {
    return path.join(cacheDir, sourceKey, `${pairStem(pair)}-funding.json`);
  }

  /**
   * Open (read) the funding cache of a (source, pair). A missing file is an empty cache;
   * an unreadable one, or one of another symbol or source, is ignored and replaced on the
   * next save: it can always be fetched again.
   */
  static async open(cacheDir: string, sourceKey: string, pair: Pair, source: string): Promise<FundingCache> {
    const file = FundingCache.fileFor(cacheDir, sourceKey, pair);
    const meta = { symbol: pair.symbol, source };
    const empty = (why: FundingCacheDiscard | undefined): FundingCache => new FundingCache(file, meta, { ts: [], rate: [] }, [], why);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return empty(undefined);
      throw cacheFolderError(err, cacheDir, file, 'read');
    }
    const read = decode(text);
    if (typeof read === 'string') return empty(read);
    if (read.symbol !== pair.symbol) return empty('other-symbol');
    if (read.source !== source) return empty('other-source');
    return new FundingCache(file, meta, read, read.covered, undefined);
  }

  /** The time ranges already fetched from the source. */
  get covered(): readonly TimeRange[] {
    return this.ranges;
  }

  /** Record validated events fetched for `covered` (the events lie inside it). */
  add(rows: FundingPage, covered: TimeRange): void {
    for (let i = 0; i < rows.length; i++) {
      const t = rows.ts[i]!;
      if (this.ts.length > 0 && t <= this.ts[this.ts.length - 1]!) this.sorted = false;
      this.ts.push(t);
      this.rate.push(rows.rate[i]!);
    }
    this.ranges = addRange(this.ranges, covered[0], covered[1]);
    this.dirty = true;
  }

  /** Events with `start ≤ ts < end`, copied. */
  slice(start: number, end: number): { ts: Float64Array; rate: Float64Array } {
    this.sort();
    let lo = 0;
    while (lo < this.ts.length && this.ts[lo]! < start) lo++;
    let hi = lo;
    while (hi < this.ts.length && this.ts[hi]! < end) hi++;
    return { ts: Float64Array.from(this.ts.slice(lo, hi)), rate: Float64Array.from(this.rate.slice(lo, hi)) };
  }

  /** Write the file atomically if anything changed since the last save. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    this.sort();
    const body: FundingFile = {
      format: FUNDING_CACHE_FORMAT,
      symbol: this.meta.symbol,
      source: this.meta.source,
      units: 'ts: funding time, epoch ms UTC; rate: fraction of notional per funding event, positive: longs pay shorts',
      covered: this.ranges,
      ts: this.ts,
      rate: this.rate,
    };
    await writeFileAtomic(this.file, `${JSON.stringify(body)}\n`, path.dirname(path.dirname(this.file)));
    this.dirty = false;
  }

  /** Missing ranges are fetched in any order; keep the columns in time order. */
  private sort(): void {
    if (this.sorted) return;
    const order = this.ts.map((_, i) => i).sort((a, b) => this.ts[a]! - this.ts[b]!);
    this.ts = order.map((i) => this.ts[i]!);
    this.rate = order.map((i) => this.rate[i]!);
    this.sorted = true;
  }
}

function decode(text: string): FundingFile | FundingCacheDiscard {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'unreadable';
  }
  if (v === null || typeof v !== 'object') return 'unreadable';
  const f = v as Partial<Record<keyof FundingFile, unknown>>;
  if (f.format !== FUNDING_CACHE_FORMAT) return 'other-format';
  const covered = parseRanges(JSON.stringify(f.covered ?? null));
  const numbers = (a: unknown): a is number[] => Array.isArray(a) && a.every((x) => typeof x === 'number');
  if (covered === undefined || typeof f.symbol !== 'string' || typeof f.source !== 'string' || !numbers(f.ts) || !numbers(f.rate) || f.ts.length !== f.rate.length) {
    return 'unreadable';
  }
  return { format: f.format, symbol: f.symbol, source: f.source, units: String(f.units), covered, ts: f.ts, rate: f.rate };
}
