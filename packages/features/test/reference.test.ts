import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildFeatures, FEATURE_NAMES, RECIPE } from '../src';
import { candleFilePath } from '@engine/candles';
import { OHLCV_DIR, SYSTEM_PYTHON } from '../../../test/support/paths';
import { close, realPair } from './support/real-data';

/*
 * The recipe against an independent pandas implementation (reference/reference.py) on a
 * fixed slice of real data: ETH/USDT with BTC/USDT as reference, rows 43 200 .. 56 400
 * (2026-01-28 → 2026-02-06). The committed golden file holds its last 2 000 rows (12
 * significant digits); when Debian's python with pandas is present the script is also
 * re-run and every row after the warm-up is compared.
 *
 * Tolerance |a − b| ≤ 1e-9·max(|a|, |b|) + 1e-12. Observed worst: 1.7e-10 relative (spread:
 * pandas takes logs of price levels, we take logs of ratios). Notes on making pandas
 * itself exact enough: its rolling std of raw prices drifts by ~1e-9 over a long series,
 * so the script uses a two-pass std for the Bollinger window.
 */
const START = 43_200;
const ROWS = 13_200;
const GOLDEN = path.resolve(__dirname, '..', 'reference', 'golden-eth-btc.csv.gz');
const SCRIPT = path.resolve(__dirname, '..', 'reference', 'reference.py');

interface Table {
  header: string[];
  rows: number[][];
}

function readCsvGz(file: string): Table {
  const lines = gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n');
  return { header: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',').map(Number)) };
}

function compare(table: Table, what: string): number {
  const { candles, reference } = realPair('ETH/USDT', START, ROWS);
  const frame = buildFeatures(candles, { reference });
  expect([...table.header].sort()).toEqual(['ts', ...FEATURE_NAMES].sort());
  const first = ROWS - table.rows.length;
  const tsCol = table.header.indexOf('ts');
  let checked = 0;
  table.header.forEach((name, j) => {
    if (name === 'ts') return;
    const col = frame.columns[FEATURE_NAMES.indexOf(name as (typeof FEATURE_NAMES)[number])];
    for (let r = 0; r < table.rows.length; r++) {
      const i = first + r;
      if (table.rows[r][tsCol] !== candles.ts[i]) throw new Error(`${what}: row ${r} is ts ${table.rows[r][tsCol]}, expected ${candles.ts[i]}`);
      const ours = col[i];
      const theirs = table.rows[r][j];
      if (!close(ours, theirs, 1e-9, 1e-12)) throw new Error(`${what}: ${name} at ts ${candles.ts[i]}: ours ${ours}, pandas ${theirs}`);
      if (!Number.isNaN(ours)) checked++;
    }
  });
  return checked;
}

describe('reference test against an independent pandas implementation', () => {
  it('matches the committed golden output (2 000 rows × every feature)', () => {
    const checked = compare(readCsvGz(GOLDEN), 'golden');
    // Every feature but orderbook_imbalance (NaN without a book) is defined on these rows.
    expect(checked).toBe(2000 * (FEATURE_NAMES.length - 1));
  });

  const hasPandas = existsSync(SYSTEM_PYTHON) && spawnSync(SYSTEM_PYTHON, ['-c', 'import pandas'], { encoding: 'utf8' }).status === 0;
  (hasPandas ? it : it.skip)('matches a fresh run of reference.py on every row after the warm-up', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'features-ref-'));
    try {
      const out = path.join(dir, 'live.csv.gz');
      const tail = ROWS - RECIPE.warmup;
      const run = spawnSync(
        SYSTEM_PYTHON,
        [SCRIPT, '--coin', candleFilePath(OHLCV_DIR, 'ETH/USDT'), '--ref', candleFilePath(OHLCV_DIR, 'BTC/USDT'), '--start', String(START), '--rows', String(ROWS), '--tail', String(tail), '--out', out],
        { encoding: 'utf8', timeout: 120_000 },
      );
      if (run.status !== 0) throw new Error(`reference.py failed (${run.status}): ${run.stderr}`);
      const checked = compare(readCsvGz(out), 'live pandas');
      expect(checked).toBe(tail * (FEATURE_NAMES.length - 1));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
