/**
 * `engine compare` end to end (issue 17): the CLI on a planted-edge market written as CSV
 * candles: every family and seed becomes a trial in the ledger (source `compare`), the
 * families are judged on identical out-of-sample days, and the out-of-sample evaluation
 * (rank IC, the confidence's Brier score and calibration) is measured.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createLogger, formatUtcDay, loadConfig } from '@engine/shared';
import { openRegistryContext } from '@engine/registry';
import { plantedMarket } from '@engine/training';
import { REPO_ROOT } from './support/paths';
import { candleCsvGz } from './support/candle-csv';

jest.setTimeout(600_000);
const START = Date.UTC(2026, 0, 1);
const DAYS = 40;
const RUN_DATE = formatUtcDay(START + DAYS * 86_400_000);

test('engine compare --here: each family and seed is a trial; the table carries the paired test and the confidence checks', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'engine-compare-'));
  try {
    const m = plantedMarket({ days: DAYS, seed: 3, start: START, symbol: 'SYN/USDT' });
    await writeFile(path.join(dir, 'SYNUSDT-1m.csv.gz'), candleCsvGz(m.candles));
    await writeFile(path.join(dir, 'BTCUSDT-1m.csv.gz'), candleCsvGz(m.reference));
    const training = { walk_forward: { train_days: 10, test_days: 5, step_days: 5 }, model: { nEstimators: 30, maxDepth: 4 }, confidence_model: { nEstimators: 10 }, family: { rf: { nEstimators: 20 } } };
    const env = { ...process.env, ENGINE_DATA_DIR: path.join(dir, 'data'), REDIS_URL: '', DATABASE_URL: '', LOG_LEVEL: 'warn' };
    const args = [path.join(REPO_ROOT, 'engine'), 'compare', '--symbols', 'SYN/USDT', '--families', 'gbdt,linear,ensemble', '--seeds', '2', '--days', String(DAYS), '--date', RUN_DATE, '--source', `csv:${dir}`, '--here', '--threads', '2', '--training', JSON.stringify(training), '--json'];
    const { stdout } = await promisify(execFile)('bash', args, { env, maxBuffer: 16 << 20 });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // --json is snake_case, as every command's
    const rows = lines.filter((l) => 'family' in l) as unknown as { symbol: string; family: string; seeds: number; trades: number; rank_ic: number; brier: number | null; calibration_slope: number | null; vs_gbdt: { nw_t: number; ci_lo: number; ci_hi: number; days: number } | null }[];
    const verdicts = lines.filter((l) => 'verdict' in l).map((l) => l.verdict as { family: string; wins: boolean; reason: string });
    expect(rows.map((r) => `${r.symbol}:${r.family}:${r.seeds}`)).toEqual(['SYN/USDT:gbdt:2', 'SYN/USDT:linear:1', 'SYN/USDT:ensemble:2', '*:gbdt:2', '*:linear:1', '*:ensemble:2']);
    for (const r of rows.filter((x) => x.symbol !== '*')) {
      // the planted edge: every family trades it and ranks the rows out of sample
      expect(r.trades).toBeGreaterThan(100);
      expect(r.rank_ic).toBeGreaterThan(0.05);
      // the confidence is judged out of sample: a Brier score below the coin's and a positive calibration slope
      expect(r.brier).toBeLessThan(0.25);
      expect(r.calibration_slope).toBeGreaterThan(0);
      if (r.family === 'gbdt') expect(r.vs_gbdt).toBeNull();
      else {
        expect(Number.isFinite(r.vs_gbdt!.nw_t)).toBe(true);
        expect(r.vs_gbdt!.ci_lo).toBeLessThanOrEqual(r.vs_gbdt!.ci_hi);
      }
    }
    expect(verdicts.map((v) => v.family)).toEqual(['linear', 'ensemble']);
    // every (family, seed) is a trial of the symbol, recorded by the comparison; nothing is published
    const config = loadConfig({ ENGINE_DATA_DIR: path.join(dir, 'data') });
    const reg = await openRegistryContext(config, { actor: 'test', logger: createLogger({ level: 'silent' }) });
    try {
      const trials = await reg.trials.list('SYN/USDT', { includeControls: true });
      expect(trials.map((t) => `${t.modelFamily}:${t.seed}`).sort()).toEqual(['ensemble:0', 'ensemble:1', 'gbdt:0', 'gbdt:1', 'linear:null']);
      expect(trials.every((t) => t.source === 'compare')).toBe(true);
      expect(await reg.registry.listModels()).toEqual([]);
    } finally {
      await reg.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
