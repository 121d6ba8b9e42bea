import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { DataError, parsePair } from '@engine/shared';
import { CandleCsvParser, CsvSource, parseCandleCsv } from '@engine/candles';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('CandleCsvParser', () => {
  test('parses the real format, CRLF and a missing final newline', () => {
    const r = parseCandleCsv(enc('ts,open,high,low,close,volume\r\n1766966400000,87952.71,87970.25,87911.41,87911.42,6.13046\r\n1766966460000,87911.41,87911.42,87821.63,87837.53,12.25797'), 'x');
    expect(r.length).toBe(2);
    expect(Array.from(r.ts)).toEqual([1766966400000, 1766966460000]);
    expect(Array.from(r.open)).toEqual([87952.71, 87911.41]);
    expect(Array.from(r.volume)).toEqual([6.13046, 12.25797]);
  });

  test('numbers match parseFloat exactly, whatever the chunking', () => {
    const num = fc.oneof(
      fc.double({ min: 1e-8, max: 1e7, noNaN: true }).map((x) => String(x)),
      fc.tuple(fc.nat(99_999_999), fc.nat(99_999_999), fc.nat(10)).map(([a, b, z]) => `${a}.${String(b).padStart(8, '0')}${'0'.repeat(z)}`),
      fc.nat(10_000).map((x) => `${x}`),
      fc.constantFrom('1e-7', '2.5E3', '0.000000012345678901234', '123456789012345678', '007.50'),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(num, num, num, num, num), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 40 }), (rows, chunk) => {
        const text = `ts,open,high,low,close,volume\n${rows.map((r, i) => `${1_700_000_000_000 + i * 60_000},${r.join(',')}`).join('\n')}\n`;
        const bytes = enc(text);
        const p = new CandleCsvParser('prop', 2);
        for (let at = 0; at < bytes.length; at += chunk) p.push(bytes.subarray(at, at + chunk));
        const out = p.finish();
        expect(out.length).toBe(rows.length);
        rows.forEach((r, i) => {
          expect(out.open[i]).toBe(parseFloat(r[0]));
          expect(out.high[i]).toBe(parseFloat(r[1]));
          expect(out.low[i]).toBe(parseFloat(r[2]));
          expect(out.close[i]).toBe(parseFloat(r[3]));
          expect(out.volume[i]).toBe(parseFloat(r[4]));
        });
      }),
      { numRuns: 300 },
    );
  });

  test('extra columns after volume are ignored; blank lines skipped', () => {
    const r = parseCandleCsv(enc('ts,open,high,low,close,volume,trades\n60000,1,2,0.5,1.5,3,17\n\n120000,1,2,0.5,1.5,4,18\n'), 'x');
    expect(Array.from(r.volume)).toEqual([3, 4]);
  });

  test.each([
    ['time,o,h,l,c,v\n1,2,3,4,5,6\n', /x line 1: expected the header 'ts,open,high,low,close,volume', found 'time,o,h,l,c,v'/],
    ['', /x: empty file/],
    ['ts,open,high,low,close,volume\n60000,1,2,0.5\n', /x line 2: expected 6 columns .* found only 4/],
    ['ts,open,high,low,close,volume\n60000,1,2,abc,1.5,3\n', /x line 2: column 'low' expected a number, found 'abc'/],
    ['ts,open,high,low,close,volume\n60000,1,,0.5,1.5,3\n', /x line 2: column 'high' expected a number, found ''/],
  ])('malformed input %#: a DataError naming file, line and column', (text, message) => {
    expect(() => parseCandleCsv(enc(text), 'x')).toThrow(DataError);
    expect(() => parseCandleCsv(enc(text), 'x')).toThrow(message);
  });
});

describe('CsvSource', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'candles-csv-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads .csv.gz through streaming gunzip and plain .csv alike', async () => {
    const text = 'ts,open,high,low,close,volume\n' + Array.from({ length: 5000 }, (_, i) => `${i * 60_000},1.5,2,1,1.25,${i}`).join('\n') + '\n';
    await writeFile(path.join(dir, 'AAAUSDT-1m.csv.gz'), gzipSync(text));
    await writeFile(path.join(dir, 'BBBUSDT-1m.csv'), text);
    const src = new CsvSource(dir);
    const a = await src.readAll(parsePair('AAA/USDT'));
    const b = await src.readAll(parsePair('BBB/USDT'));
    expect(a.length).toBe(5000);
    expect(Array.from(a.volume)).toEqual(Array.from(b.volume));
    expect(a.ts[4999]).toBe(4999 * 60_000);
  });

  test('a broken file is a DataError naming the symbol and the rule', async () => {
    await writeFile(path.join(dir, 'CCCUSDT-1m.csv'), 'ts,open,high,low,close,volume\n60000,1,2,0.5,1.5,3\n120000,1,0.9,0.5,1.5,3\n');
    await expect(new CsvSource(dir).readAll(parsePair('CCC/USDT'))).rejects.toThrow(/CCC\/USDT candle 1970-01-01T00:02:00.000Z .* breaks rule 'high-above-open-close'/);
  });

  test('a corrupt gzip is a DataError, a missing file a permanent SYMBOL_UNKNOWN', async () => {
    await writeFile(path.join(dir, 'DDDUSDT-1m.csv.gz'), Buffer.from('not gzip at all'));
    await expect(new CsvSource(dir).readAll(parsePair('DDD/USDT'))).rejects.toThrow(/DDD\/USDT .*DDDUSDT-1m.csv.gz: cannot read the file/);
    await expect(new CsvSource(dir).readAll(parsePair('EEE/USDT'))).rejects.toMatchObject({ code: 'SYMBOL_UNKNOWN', permanent: true, message: expect.stringContaining('expected EEEUSDT-1m.csv.gz or EEEUSDT-1m.csv') });
  });

  test('the last complete day: a file ending mid-day does not count that day', async () => {
    const day = 86_400_000;
    const lines = (n: number) => 'ts,open,high,low,close,volume\n' + Array.from({ length: n }, (_, i) => `${day + i * 60_000},1,1,1,1,1`).join('\n');
    await writeFile(path.join(dir, 'FFFUSDT-1m.csv'), lines(1440 * 2));
    await writeFile(path.join(dir, 'GGGUSDT-1m.csv'), lines(1440 * 2 - 1));
    const src = new CsvSource(dir);
    expect(await src.lastCompleteDay(parsePair('FFF/USDT'))).toBe(2 * day);
    expect(await src.lastCompleteDay(parsePair('GGG/USDT'))).toBe(day);
  });
});
