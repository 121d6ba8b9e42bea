/**
 * Single-machine mode (no Redis, no PostgreSQL server): the fleet's pipeline in-process on
 * the real candles, with the embedded registry (PGlite on disk) and a local publish folder
 * in Dropbox's layout. Few trees and a 30-day window keep it quick.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createLogger, loadConfig } from '@engine/shared';
import { type TrainProgress } from '@engine/fleet';
import { Registry, TrialLedger, createPgliteDb } from '@engine/registry';
import { runSingleMachine } from '../src/single-machine';
import { OHLCV_DIR } from '../../../test/support/paths';

jest.setTimeout(180_000);

const TRAINING = { model: { nEstimators: 20 }, confidence_model: { nEstimators: 10 } };
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('single-machine mode', () => {
  let dataDir: string;
  let csvDir: string;
  const log = createLogger({ level: 'silent' });
  const config = loadConfig({ ENGINE_TRAIN_THREADS: '1' });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'engine-single-'));
    csvDir = await mkdtemp(path.join(tmpdir(), 'engine-single-csv-'));
    for (const f of ['BTCUSDT-1m.csv.gz', 'ETHUSDT-1m.csv.gz']) await symlink(path.join(OHLCV_DIR, f), path.join(csvDir, f));
    // A symbol whose file holds two days only: too little history for a 30-day window.
    await writeFile(path.join(csvDir, 'XYZUSDT-1m.csv'), ['ts,open,high,low,close,volume', ...Array.from({ length: 2880 }, (_, i) => `${Date.parse('2026-07-15T00:00:00Z') + i * 60_000},1,1.1,0.9,1,10`)].join('\n') + '\n');
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(csvDir, { recursive: true, force: true });
  });

  it('trains, records in the embedded registry and publishes in the Dropbox layout; a failing symbol does not stop the others', async () => {
    const stages: string[] = [];
    const opts = { symbols: ['XYZ/USDT', 'ETH/USDT'], source: `csv:${csvDir}`, days: 30, end: '2026-07-16', dataDir, training: TRAINING, onProgress: (_s: string, p: TrainProgress) => stages.push(p.stage) };
    const first = await runSingleMachine(opts, log, config);

    expect(first.registry).toBe(`pglite:${path.join(dataDir, 'registry')}`);
    expect(first.publishTarget).toBe(`folder:${path.resolve(dataDir, 'publish')}:/Runpodhuracan`);
    const [xyz, eth] = first.results;
    expect(xyz).toMatchObject({ symbol: 'XYZ/USDT', ok: false, error: { permanent: true } });
    if (xyz!.ok) throw new Error('unreachable');
    expect(xyz!.error.message).toMatch(/XYZ\/USDT/);
    if (!eth!.ok) throw new Error(`ETH/USDT failed: ${eth!.error.message}`);
    expect(eth!.runDate).toBe('2026-07-17');
    expect(eth!.created).toBe(true);
    expect(eth!.sync).toMatchObject({ state: 'synced', verdict: eth!.result.verdict });
    expect(new Set(stages)).toEqual(new Set(['candles', 'features', 'labels', 'fold', 'final', 'export', 'registry', 'done']));

    // The bundle is in the publish folder, byte for byte what the manifest hashed.
    const m = eth!.bundle.manifest;
    const dir = eth!.result.verdict === 'published' ? 'models/ETH-USDT' : 'rejected/ETH-USDT';
    const onnxPath = eth!.result.verdict === 'published' ? `models/ETH-USDT_model.onnx` : `${dir}/model.onnx`;
    const onnx = await readFile(path.join(dataDir, 'publish', 'Runpodhuracan', '2026-07-17', onnxPath));
    expect(sha256(onnx)).toBe(m.artifacts['model.onnx']);

    // A second run of the same configuration: the registry keeps its model, the ledger its one trial.
    const again = await runSingleMachine({ ...opts, symbols: ['ETH/USDT'] }, log, config);
    expect(again.results[0]).toMatchObject({ ok: true, created: false });

    const db = await createPgliteDb({ dataDir: path.join(dataDir, 'registry') });
    try {
      const models = await new Registry(db).listModels();
      expect(models.map((x) => [x.symbol, x.runDate, x.syncState])).toEqual([['ETH/USDT', '2026-07-17', 'synced']]);
      // Every evaluation is a trial in the ledger, with its out-of-sample daily P&L.
      const trials = await new TrialLedger(db).list('ETH/USDT');
      expect(trials).toHaveLength(1);
      expect(trials[0]).toMatchObject({ runDate: '2026-07-17', modelId: m.model_id, source: 'train', modelFamily: 'gbdt', isControl: false, oosDays: m.walk_forward.oos_days });
      expect(trials[0]!.dailyPnl).toHaveLength(m.walk_forward.oos_days);
      expect(trials[0]!.dailyPnl.reduce((a, b) => a + b, 0)).toBeCloseTo(m.metrics.total_profit_gbp, 6);
    } finally {
      await db.close();
    }
  });
});
