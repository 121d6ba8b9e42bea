/**
 * `engine candles fetch` as a user runs it: the compiled CLI in a child process
 * (`npm run build` first), configured through the environment only.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFakeBinance, type FakeBinance } from './fakes/fake-binance';
import { OHLCV_DIR, REPO_ROOT } from './support/paths';

const CLI = path.join(REPO_ROOT, 'apps', 'cli', 'dist', 'main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function engine(args: string[], env: Record<string, string>): Promise<Run> {
  // Only our own variables: a developer's ENGINE_* settings must not change the test.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ENGINE_|DROPBOX_|DASHBOARD_|REDIS_URL|DATABASE_URL)/.test(k)));
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let tmp: string;
let fake: FakeBinance | undefined;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'candles-cli-'));
});
afterAll(async () => {
  await fake?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('csv source: 150 days of BTC/USDT are 216,000 rows with 0 gaps, then a cache hit', async () => {
  const env = { ENGINE_DATA_DIR: path.join(tmp, 'csv') };
  const args = ['candles', 'fetch', '--symbol', 'BTC/USDT', '--days', '150', '--source', `csv:${OHLCV_DIR}`];
  const first = await engine([...args, '--json'], env);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  const lines = first.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  const summary = JSON.parse(lines[0]!) as { cache_file: string };
  expect(path.relative(path.join(tmp, 'csv', 'candles'), summary.cache_file)).toMatch(/^csv-[0-9a-f]{12}\/BTCUSDT-1m\.arrow$/);
  expect(summary).toMatchObject({
    symbol: 'BTC/USDT',
    rows: 216_000,
    gaps: 0,
    start: '2026-02-17T00:00:00.000Z',
    end: '2026-07-17T00:00:00.000Z',
    run_date: '2026-07-17',
    cache: 'miss',
    requests: 0,
  });

  const human = await engine(args, env);
  expect(human.code).toBe(0);
  expect(human.stdout).toContain('BTC/USDT from csv:');
  expect(human.stdout).toContain('2026-02-17T00:00Z → 2026-07-16T23:59Z');
  expect(human.stdout).toContain('216,000 minutes, 0 gaps');
  expect(human.stdout).toContain('cache    hit (0 candles fetched, 0 requests)');
  expect(human.stderr).toBe(''); // no progress bar when stderr is not a terminal
}, 90_000);

test('exchange source through ENGINE_EXCHANGE_URL: --end is the last day included; errors exit 2 with the reason', async () => {
  fake = await startFakeBinance({ dataDir: OHLCV_DIR, symbols: ['ETHUSDT'] });
  const env = { ENGINE_DATA_DIR: path.join(tmp, 'ex'), ENGINE_EXCHANGE_URL: fake.url };
  const r = await engine(['candles', 'fetch', '--symbol', 'ETH/USDT', '--days', '2', '--end', '2026-07-15', '--json'], env);
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toMatchObject({ symbol: 'ETH/USDT', source: 'binance', rows: 2880, gaps: 0, start: '2026-07-14T00:00:00.000Z', end: '2026-07-16T00:00:00.000Z', cache: 'miss', requests: 4 });
  expect(fake.klines()).toHaveLength(3);

  const bad = await engine(['candles', 'fetch', '--symbol', 'DOGE/USDT', '--days', '2', '--end', '2026-07-15'], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('binance has no spot market DOGE/USDT');
}, 90_000);
