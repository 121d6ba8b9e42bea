import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildFeatures, FEATURE_NAMES } from '../../src';
import { close, realPair } from './real-data';

/*
 * The recipe against an independent pandas implementation (reference/reference.py) on a
 * fixed slice of real data: ETH/USDT with BTC/USDT as reference, rows 43 200 .. 56 400
 * (2026-01-28 → 2026-02-06). The committed golden file holds its last 2 000 rows (12
 * significant digits, checked by reference.test.ts); when Debian's python with pandas is
 * present, reference.integration.test.ts re-runs the script and compares every row after
 * the warm-up.
 *
 * Tolerance |a − b| ≤ 1e-9·max(|a|, |b|) + 1e-12. Observed worst: 1.7e-10 relative (spread:
 * pandas takes logs of price levels, we take logs of ratios). Notes on making pandas
 * itself exact enough: its rolling std of raw prices drifts by ~1e-9 over a long series,
 * so the script uses a two-pass std for the Bollinger window.
 */
export const START = 43_200;
export const ROWS = 13_200;
export const GOLDEN = path.resolve(__dirname, '..', '..', 'reference', 'golden-eth-btc.csv.gz');
export const SCRIPT = path.resolve(__dirname, '..', '..', 'reference', 'reference.py');

export interface Table {
  header: string[];
  rows: number[][];
}

/** A CSV.gz of numbers (header first). */
export function readCsvGz(file: string): Table {
  const lines = gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n');
  return { header: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',').map(Number)) };
}

/** Compare a table of reference features with ours on the same rows; returns how many defined values matched (throws on the first mismatch). */
export function compare(table: Table, what: string): number {
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

