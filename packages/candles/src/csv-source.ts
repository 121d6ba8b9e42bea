import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import { DAY_MS, DataError, EngineError, MINUTE_MS, PermanentError, pairStem, type Pair } from '@engine/shared';
import { CandleCsvParser } from './csv-parser';
import { sliceRawByTime, type RawCandles } from './raw-candles';
import { validateRawCandles } from './validate';
import type { CandleSource, FetchContext } from './source';
import type { TimeRange } from './coverage';

/** Bytes per CSV row of real 1-minute data, roughly: sizes the first allocation. */
const BYTES_PER_ROW = 60;

/**
 * A folder of `<BASEQUOTE>-1m.csv[.gz]` files (header `ts,open,high,low,close,volume`,
 * open time in epoch ms), the format of `../shared/data/ohlcv`. A file is parsed once per
 * source instance, streamed through gunzip, and validated whole (so slicing by time is sound).
 */
export class CsvSource implements CandleSource {
  readonly kind = 'files' as const;
  readonly id: string;
  readonly cacheKey: string;
  readonly requests = 0;
  readonly dir: string;
  private readonly parsed = new Map<string, Promise<RawCandles>>();

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.id = `csv:${this.dir}`;
    this.cacheKey = `csv-${createHash('sha256').update(this.dir).digest('hex').slice(0, 12)}`;
  }

  /** The file holding `pair`'s candles: `.csv.gz` preferred, then `.csv`. */
  async file(pair: Pair): Promise<{ path: string; size: number; mtimeMs: number }> {
    const stem = `${pairStem(pair)}-1m`;
    for (const name of [`${stem}.csv.gz`, `${stem}.csv`]) {
      const p = path.join(this.dir, name);
      try {
        const s = await stat(p);
        if (s.isFile()) return { path: p, size: s.size, mtimeMs: s.mtimeMs };
      } catch {
        // try the next name
      }
    }
    throw new PermanentError('SYMBOL_UNKNOWN', `no candle file for ${pair.symbol} in ${this.dir}: expected ${stem}.csv.gz or ${stem}.csv`, { symbol: pair.symbol, dir: this.dir });
  }

  /**
   * The file's name, size and SHA-256 of its bytes: an edit that keeps the size and the
   * modification time (a copy with `cp -p`, a restored backup) still invalidates the cache.
   * Hashing a 150-day file takes a few milliseconds; parsing it, a second.
   */
  async fingerprint(pair: Pair): Promise<string> {
    const f = await this.file(pair);
    const hash = createHash('sha256');
    try {
      for await (const chunk of createReadStream(f.path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
    } catch (err) {
      throw new DataError('CANDLES_CSV_INVALID', `${pair.symbol} ${f.path}: cannot read the file: ${(err as Error).message}`, { symbol: pair.symbol, file: f.path }, err);
    }
    return `${path.basename(f.path)}:${f.size}:sha256:${hash.digest('hex')}`;
  }

  /** Every candle of the pair's file, validated. Parsed once per instance. */
  readAll(pair: Pair, signal?: AbortSignal): Promise<RawCandles> {
    let p = this.parsed.get(pair.symbol);
    if (!p) {
      p = this.parse(pair, signal);
      this.parsed.set(pair.symbol, p);
      p.catch(() => this.parsed.delete(pair.symbol));
    }
    return p;
  }

  private async parse(pair: Pair, signal?: AbortSignal): Promise<RawCandles> {
    const f = await this.file(pair);
    const gz = f.path.endsWith('.gz');
    const parser = new CandleCsvParser(`${pair.symbol} ${f.path}`, Math.ceil((gz ? f.size * 4 : f.size) / BYTES_PER_ROW));
    const raw = createReadStream(f.path, { highWaterMark: 1 << 20, signal });
    const stream = gz ? raw.pipe(createGunzip({ chunkSize: 1 << 18 })) : raw;
    raw.on('error', (e) => stream.destroy(e));
    try {
      for await (const chunk of stream) parser.push(chunk as Buffer);
    } catch (err) {
      if (err instanceof EngineError || signal?.aborted) throw err;
      throw new DataError('CANDLES_CSV_INVALID', `${pair.symbol} ${f.path}: cannot read the file: ${(err as Error).message}`, { symbol: pair.symbol, file: f.path }, err);
    }
    const rows = parser.finish();
    validateRawCandles(pair.symbol, rows, `${this.id} (${path.basename(f.path)})`);
    return rows;
  }

  async fetch(pair: Pair, range: TimeRange, ctx: FetchContext): Promise<void> {
    const all = await this.readAll(pair, ctx.signal);
    // A file has no forming candle, but honour `now` like every source does.
    const end = Math.min(range[1], Math.floor(ctx.now / MINUTE_MS) * MINUTE_MS);
    if (end <= range[0]) return;
    await ctx.onBatch(sliceRawByTime(all, range[0], end), [range[0], end]);
  }

  /** Start of the last UTC day whose final minute (23:59) is in the file. */
  async lastCompleteDay(pair: Pair): Promise<number> {
    const all = await this.readAll(pair);
    if (all.length === 0) throw new PermanentError('CANDLES_EMPTY', `${pair.symbol}: ${this.id} has no candles`, { symbol: pair.symbol });
    const last = all.ts[all.length - 1]!;
    const dayStart = Math.floor(last / DAY_MS) * DAY_MS;
    const complete = last === dayStart + DAY_MS - MINUTE_MS ? dayStart : dayStart - DAY_MS;
    return complete;
  }
}
