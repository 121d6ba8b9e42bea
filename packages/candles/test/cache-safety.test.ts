import { mkdir, mkdtemp, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadCandles } from '../src';

/**
 * Issue 14 item 8 (smaller faults of the candle path): the cache follows the file's bytes,
 * not its size and time; an unusable cache folder is a configuration error that says where;
 * a header error never echoes the first line of a file that is not ours.
 */
const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

function csv(n: number, price: (i: number) => number): string {
  const rows = ['ts,open,high,low,close,volume'];
  for (let i = 0; i < n; i++) {
    const p = price(i);
    rows.push(`${T0 + i * MIN},${p.toFixed(2)},${(p + 1).toFixed(2)},${(p - 1).toFixed(2)},${p.toFixed(2)},10.00`);
  }
  return `${rows.join('\n')}\n`;
}

describe('candle cache and CSV safety (issue 14 item 8)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'engine-cache-safety-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('an edit that keeps the size and the modification time is not served from the cache', async () => {
    const data = path.join(dir, 'data');
    const cacheDir = path.join(dir, 'cache');
    await mkdir(data);
    const file = path.join(data, 'ABCUSDT-1m.csv');
    // Same number of characters per row: 150.00 → 250.00.
    await writeFile(file, csv(60, () => 150));
    const before = await stat(file);
    const load = () => loadCandles({ symbol: 'ABC/USDT', start: T0, end: T0 + 60 * MIN, source: `csv:${data}`, cacheDir });
    const first = await load();
    expect(first.candles.close[0]).toBe(150);
    expect((await load()).summary.cache).toBe('hit');

    await writeFile(file, csv(60, () => 250));
    await utimes(file, before.atimeMs / 1000, before.mtimeMs / 1000);
    const after = await stat(file);
    // What the cache was keyed on before (name, size, whole-millisecond mtime) is unchanged.
    expect([after.size, Math.round(after.mtimeMs)]).toEqual([before.size, Math.round(before.mtimeMs)]);
    const second = await load();
    expect(second.summary.cache).toBe('miss');
    expect(second.candles.close[0]).toBe(250);
  });

  test('a cache folder that is a file is a configuration error naming the folder and what to do', async () => {
    const data = path.join(dir, 'data');
    await mkdir(data);
    await writeFile(path.join(data, 'ABCUSDT-1m.csv'), csv(10, () => 100));
    const notADir = path.join(dir, 'cache-is-a-file');
    await writeFile(notADir, 'not a folder');
    const err = await loadCandles({ symbol: 'ABC/USDT', start: T0, end: T0 + 10 * MIN, source: `csv:${data}`, cacheDir: notADir }).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect(err).not.toBeNull();
    expect(err!.code).toBe('CONFIG_INVALID');
    expect(err!.message).toMatch(new RegExp(`the candle cache folder ${notADir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} cannot be (read|written) \\((ENOTDIR|EEXIST): a path component is a file, not a folder`));
    expect(err!.message).toMatch(/set ENGINE_DATA_DIR or --cache-dir to one/);
  });

  test("a linked file that is not a candle CSV: the error names the file but never echoes its first line", async () => {
    const data = path.join(dir, 'data');
    await mkdir(data);
    const foreign = path.join(dir, 'secrets.txt');
    await writeFile(foreign, 'root:$6$s3cr3t-hash:19000:0:99999:7:::\nmore\n');
    await symlink(foreign, path.join(data, 'ABCUSDT-1m.csv'));
    const err = await loadCandles({ symbol: 'ABC/USDT', start: T0, end: T0 + 10 * MIN, source: `csv:${data}`, cacheDir: path.join(dir, 'cache') }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/line 1: expected the header 'ts,open,high,low,close,volume', found a first line of \d+ characters that is not a CSV header \(not shown\)/);
    expect(err?.message).not.toMatch(/s3cr3t|root:/);
  });
});
