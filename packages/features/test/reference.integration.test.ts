import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { candleFilePath } from '@engine/candles';
import { FEATURE_NAMES, RECIPE } from '../src';
import { OHLCV_DIR, SYSTEM_PYTHON } from '../../../test/support/paths';
import { compare, readCsvGz, ROWS, SCRIPT, START } from './support/reference-compare';

// Integration: runs Debian's python with pandas (the committed golden file is checked by reference.test.ts).
describe('reference test against an independent pandas implementation', () => {
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
