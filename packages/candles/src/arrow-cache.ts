import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Field, Float64, RecordBatch, Schema, Struct, Table, makeData, tableFromIPC, tableToIPC } from 'apache-arrow';
import { pairStem, type Pair } from '@engine/shared';
import { cacheFolderError, writeFileAtomic } from './cache-io';
import { CANDLE_COLUMNS, concatRaw, emptyRaw, mergeRaw, sliceRawByTime, type RawCandles } from './raw-candles';
import { addRange, parseRanges, type TimeRange } from './coverage';

/** Bumped when the file layout changes; older files are then ignored and rebuilt. */
export const CACHE_FORMAT = 'engine-candles/1';

/** Why a cache file was not used (undefined when it was, or there was none). */
export type CacheDiscard = 'unreadable' | 'other-format' | 'other-symbol' | 'source-changed';

/**
 * The local candle cache of one (source, symbol): an Apache Arrow IPC file
 * `<cacheDir>/<source>/<BASEQUOTE>-1m.arrow` with float64 columns
 * `ts, open, high, low, close, volume` (the validated rows as the source gave them, no
 * grid, no fill) and schema metadata recording which time ranges have been fetched
 * (`engine.covered`, JSON `[[start, end), …]` in epoch ms), the source and its
 * fingerprint. Python reads it with `pyarrow.ipc.open_file`.
 *
 * Writes go to a temporary file that is renamed over the old one, so a reader (or a
 * crash) only ever sees a whole file. Concurrent writers do not corrupt it; the last
 * rename wins and the other's new rows are fetched again next time.
 */
export class CandleCache {
  private rows: RawCandles;
  private pending: RawCandles[] = [];
  private pendingLastTs = -Infinity;
  private ranges: TimeRange[];
  private dirty = false;

  private constructor(
    readonly file: string,
    private readonly meta: { symbol: string; source: string; fingerprint: string },
    rows: RawCandles,
    ranges: TimeRange[],
    /** Set when an existing file was ignored. */
    readonly discarded: CacheDiscard | undefined,
  ) {
    this.rows = rows;
    this.ranges = ranges;
  }

  /** Path of the cache file for a (source, pair). */
  static fileFor(cacheDir: string, sourceKey: string, pair: Pair): string {
    return path.join(cacheDir, sourceKey, `${pairStem(pair)}-1m.arrow`);
  }

  /**
   * Open (read) the cache of a (source, pair). A missing file is an empty cache; an
   * unreadable one, or one from other data (fingerprint changed), is ignored and will be
   * replaced on the next save: a cache can always be rebuilt from its source.
   */
  static async open(cacheDir: string, sourceKey: string, pair: Pair, meta: { source: string; fingerprint: string }): Promise<CandleCache> {
    const file = CandleCache.fileFor(cacheDir, sourceKey, pair);
    const m = { symbol: pair.symbol, ...meta };
    let bytes: Buffer;
    try {
      // One synchronous read: a few ms for a 150-day file (~10 MB), where
      // fs.promises.readFile takes 512 KiB steps, a thread-pool round trip each.
      bytes = readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new CandleCache(file, m, emptyRaw(), [], undefined);
      throw cacheFolderError(err, cacheDir, file, 'read');
    }
    const read = decode(bytes);
    if (typeof read === 'string') return new CandleCache(file, m, emptyRaw(), [], read);
    if (read.meta.get('engine.symbol') !== pair.symbol) return new CandleCache(file, m, emptyRaw(), [], 'other-symbol');
    if (read.meta.get('engine.fingerprint') !== meta.fingerprint) return new CandleCache(file, m, emptyRaw(), [], 'source-changed');
    return new CandleCache(file, m, read.rows, read.ranges, undefined);
  }

  /** The time ranges already fetched from the source. */
  get covered(): readonly TimeRange[] {
    return this.ranges;
  }

  /** Stored rows (pending ones included). */
  get length(): number {
    this.consolidate();
    return this.rows.length;
  }

  /**
   * Record validated rows fetched for `covered` (the rows lie inside it). Batches come
   * page after page; they are merged in bulk, not one page at a time.
   */
  add(rows: RawCandles, covered: TimeRange): void {
    if (rows.length > 0) {
      if (rows.ts[0]! <= this.pendingLastTs) this.consolidate();
      this.pending.push(rows);
      this.pendingLastTs = rows.ts[rows.length - 1]!;
    }
    this.ranges = addRange(this.ranges, covered[0], covered[1]);
    this.dirty = true;
  }

  /** Rows with `start ≤ ts < end`, as views into the cache. */
  slice(start: number, end: number): RawCandles {
    this.consolidate();
    return sliceRawByTime(this.rows, start, end);
  }

  /** Write the file atomically if anything changed since the last save. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    this.consolidate();
    const bytes = encode(this.rows, {
      'engine.format': CACHE_FORMAT,
      'engine.symbol': this.meta.symbol,
      'engine.source': this.meta.source,
      'engine.fingerprint': this.meta.fingerprint,
      'engine.covered': JSON.stringify(this.ranges),
      'engine.ts': 'candle open time, epoch milliseconds UTC',
    });
    await writeFileAtomic(this.file, bytes, path.dirname(path.dirname(this.file)));
    this.dirty = false;
  }

  private consolidate(): void {
    if (this.pending.length === 0) return;
    const added = this.pending.length === 1 ? this.pending[0]! : concatRaw(this.pending);
    this.pending = [];
    this.pendingLastTs = -Infinity;
    this.rows = mergeRaw(this.rows, added);
  }
}

function encode(rows: RawCandles, metadata: Record<string, string>): Uint8Array {
  const n = rows.length;
  const fields = CANDLE_COLUMNS.map((k) => new Field(k, new Float64(), false));
  const schema = new Schema(fields, new Map(Object.entries(metadata)));
  const children = CANDLE_COLUMNS.map((k) => makeData({ type: new Float64(), length: n, nullCount: 0, data: rows[k].subarray(0, n) }));
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children }));
  return tableToIPC(new Table([batch]), 'file');
}

function decode(bytes: Uint8Array): { rows: RawCandles; ranges: TimeRange[]; meta: Map<string, string> } | CacheDiscard {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch {
    return 'unreadable';
  }
  const meta = table.schema.metadata;
  if (meta.get('engine.format') !== CACHE_FORMAT) return 'other-format';
  const ranges = parseRanges(meta.get('engine.covered'));
  if (ranges === undefined) return 'unreadable';
  const cols: Partial<Record<(typeof CANDLE_COLUMNS)[number], Float64Array>> = {};
  for (const k of CANDLE_COLUMNS) {
    // One record batch: toArray() is a view of the file's bytes, no copy.
    const v = table.getChild(k)?.toArray() as unknown;
    if (!(v instanceof Float64Array) || v.length !== table.numRows) return 'unreadable';
    cols[k] = v;
  }
  return { rows: { length: table.numRows, ...(cols as Record<(typeof CANDLE_COLUMNS)[number], Float64Array>) }, ranges, meta };
}
