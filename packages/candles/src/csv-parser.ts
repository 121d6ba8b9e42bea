import { DataError } from '@engine/shared';
import { allocRaw, growRaw, subRaw, CANDLE_COLUMNS, type RawCandles } from './raw-candles';

const NL = 10;
const CR = 13;
const COMMA = 44;
const DOT = 46;
const MINUS = 45;
const PLUS = 43;
const ZERO = 48;
const NINE = 57;

/** 10^k for k ≤ 22 are exact doubles, so `mantissa / POW10[k]` is correctly rounded. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
/** Below 2^53 every integer is exact: 15 digits always fit. */
const MAX_FAST_DIGITS = 15;

const EXPECTED_HEADER = CANDLE_COLUMNS.join(',');

/**
 * Streaming parser for candle CSV (`ts,open,high,low,close,volume`, epoch-ms open times)
 * straight from bytes into Float64Arrays: no strings per field, no csv library. Feed
 * chunks in order with `push`, then `finish`. Numbers with at most 15 significant digits
 * and no exponent are parsed exactly as `parseFloat` would (integer mantissa divided by
 * an exact power of ten); anything else falls back to `parseFloat`.
 *
 * Extra columns after `volume` are ignored; blank lines are skipped. A malformed field
 * is a `DataError` naming the file, line and column.
 */
export class CandleCsvParser {
  private rows: RawCandles;
  private line = 0;
  private headerSeen = false;
  private carry: Uint8Array | null = null;
  /** Cursor of `parseField` (kept on the instance so the hot loop allocates nothing). */
  private pos = 0;

  /** @param where names the input in error messages (file path and symbol). */
  constructor(private readonly where: string, expectedRows = 1 << 16) {
    this.rows = allocRaw(expectedRows);
  }

  push(chunk: Uint8Array): void {
    let from = 0;
    if (this.carry !== null) {
      // Finish the line split across the previous chunk and this one.
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        this.carry = concatBytes(this.carry, chunk);
        return;
      }
      const joined = concatBytes(this.carry, chunk.subarray(0, nl));
      this.carry = null;
      this.parseLine(joined, 0, joined.length);
      from = nl + 1;
    }
    const len = chunk.length;
    while (from < len) {
      const nl = chunk.indexOf(NL, from);
      if (nl < 0) {
        this.carry = chunk.slice(from);
        return;
      }
      this.parseLine(chunk, from, nl);
      from = nl + 1;
    }
  }

  finish(): RawCandles {
    if (this.carry !== null) {
      const last = this.carry;
      this.carry = null;
      this.parseLine(last, 0, last.length);
    }
    if (!this.headerSeen) throw new DataError('CANDLES_CSV_INVALID', `${this.where}: empty file, expected the header '${EXPECTED_HEADER}'`, { where: this.where });
    return subRaw(this.rows, 0, this.rows.length);
  }

  private parseLine(b: Uint8Array, start: number, end: number): void {
    this.line++;
    if (end > start && b[end - 1] === CR) end--;
    if (end <= start) return;
    if (!this.headerSeen) {
      const header = Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1').replace(/^\uFEFF|^ï»¿/, '');
      if (!(header === EXPECTED_HEADER || header.startsWith(`${EXPECTED_HEADER},`))) {
        // Echo the line only when it looks like a CSV header: the file may be a link to something
        // that is not ours (a password file, a key), whose first line must not reach the logs.
        const found = /^[A-Za-z0-9_ ,;."'-]{0,80}$/.test(header) ? `'${header}'` : `a first line of ${header.length} characters that is not a CSV header (not shown)`;
        throw new DataError('CANDLES_CSV_INVALID', `${this.where} line 1: expected the header '${EXPECTED_HEADER}', found ${found}`, { where: this.where, line: 1 });
      }
      this.headerSeen = true;
      return;
    }
    let r = this.rows;
    if (r.length === r.ts.length) r = this.rows = growRaw(r, r.ts.length * 2);
    const i = r.length;
    this.pos = start;
    r.ts[i] = this.parseField(b, end, 0);
    r.open[i] = this.parseField(b, end, 1);
    r.high[i] = this.parseField(b, end, 2);
    r.low[i] = this.parseField(b, end, 3);
    r.close[i] = this.parseField(b, end, 4);
    r.volume[i] = this.parseField(b, end, 5);
    r.length = i + 1;
  }

  /** Parse the number at `this.pos` up to the next comma or `end`; leave pos after the comma. */
  private parseField(b: Uint8Array, end: number, col: number): number {
    const begin = this.pos;
    let p = begin;
    let neg = false;
    if (p < end && (b[p] === MINUS || b[p] === PLUS)) {
      neg = b[p] === MINUS;
      p++;
    }
    let mantissa = 0;
    let digits = 0;
    let seen = 0;
    let frac = 0;
    let dot = false;
    let slow = false;
    for (; p < end; p++) {
      const c = b[p]!;
      if (c >= ZERO && c <= NINE) {
        seen++;
        // Leading zeros do not count against the exact-integer budget.
        if (mantissa !== 0 || c !== ZERO) digits++;
        mantissa = mantissa * 10 + (c - ZERO);
        if (dot) frac++;
      } else if (c === DOT && !dot) dot = true;
      else if (c === COMMA) break;
      else slow = true; // exponent, whitespace, garbage: let parseFloat (and the check below) decide
    }
    const fieldEnd = p;
    this.pos = p < end ? p + 1 : end;
    if (col === CANDLE_COLUMNS.length - 1) this.pos = end; // ignore extra columns
    else if (p >= end && col < CANDLE_COLUMNS.length - 1) this.missingField(col);
    if (slow || seen === 0 || digits > MAX_FAST_DIGITS || frac > 22) {
      const text = Buffer.from(b.buffer, b.byteOffset + begin, fieldEnd - begin).toString('latin1').trim();
      const v = text === '' ? NaN : Number(text);
      if (Number.isNaN(v)) this.badField(col, text);
      return v;
    }
    const v = frac === 0 ? mantissa : mantissa / POW10[frac]!;
    return neg ? -v : v;
  }

  private missingField(col: number): never {
    throw new DataError('CANDLES_CSV_INVALID', `${this.where} line ${this.line}: expected ${CANDLE_COLUMNS.length} columns (${EXPECTED_HEADER}), found only ${col + 1}`, { where: this.where, line: this.line });
  }

  private badField(col: number, text: string): never {
    throw new DataError('CANDLES_CSV_INVALID', `${this.where} line ${this.line}: column '${CANDLE_COLUMNS[col]}' expected a number, found '${text.slice(0, 40)}'`, { where: this.where, line: this.line, column: CANDLE_COLUMNS[col] });
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Parse a whole CSV held in memory (tests, small files). */
export function parseCandleCsv(bytes: Uint8Array, where: string): RawCandles {
  const p = new CandleCsvParser(where, Math.max(16, bytes.length >>> 6));
  p.push(bytes);
  return p.finish();
}
