import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { PGlite as PGlite03 } from 'pglite-0-3';
import { createLogger, loadConfig } from '@engine/shared';
import { MIGRATIONS, PGLITE_PG_MAJOR, Registry, createPgliteDb, openRegistryContext, pgDataDirMajor, type Db, type PgliteConstructor } from '@engine/registry';
import { makeBundle } from '../packages/registry/test/support/bundles';

/**
 * A single-machine registry written by the previous Engine (PGlite 0.3, PostgreSQL 17),
 * through the registry's own code, opens with today's (PGlite 0.5, PostgreSQL 18): the
 * folder is upgraded by dump and restore on open, with every model, metric, gate, log entry
 * and live pointer as before, and the old folder kept beside it.
 */
describe('embedded registry written by PGlite 0.3 (PostgreSQL 17)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'engine-pglite-upgrade-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const serverMajor = async (db: Db): Promise<number> => Number((await db.query<{ v: string }>("SELECT current_setting('server_version_num') AS v"))[0]!.v.slice(0, 2));

  /** Everything a user sees of the registry, through its API. */
  async function snapshot(reg: Registry) {
    const models = await reg.listModels();
    return {
      models,
      details: await Promise.all(models.map((m) => reg.getModel(m.id))),
      live: await reg.liveModels(),
      events: await reg.events(),
      gateHistory: await reg.gateHistory('BTC/USDT'),
    };
  }

  test('is upgraded on open, keeps every row, and the old folder stays as a backup', async () => {
    const registryDir = path.join(dir, 'registry');
    const a = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-14', seed: 1 });
    const b = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-15', seed: 2 });
    const rejected = makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-15', passed: false, seed: 3 });

    // Yesterday's Engine writes the folder.
    const old = await createPgliteDb({ dataDir: registryDir, pglite: PGlite03 as unknown as PgliteConstructor });
    let before: Awaited<ReturnType<typeof snapshot>>;
    try {
      expect(await serverMajor(old)).toBe(17);
      const reg = await Registry.open(old);
      for (const bundle of [a, b, rejected]) await reg.recordModel(bundle, `staging://${bundle.manifest.model_id}`, { actor: 'engine-train@laptop' });
      const file = { path: '/Runpodhuracan/2026-07-14/models/BTC-USDT_model.onnx', sha256: 'ab'.repeat(32), contentHash: 'cd'.repeat(32), bytes: 3000 };
      await reg.markSynced(a.manifest.model_id, { actor: 'sync@laptop', files: { 'model.onnx': file }, target: 'folder' });
      await reg.markSyncFailed(b.manifest.model_id, { actor: 'sync@laptop', error: 'Dropbox 503', permanent: false });
      await reg.rollback('BTC/USDT', { actor: 'ops', reason: 'bad fills on the 15th' });
      before = await snapshot(reg);
    } finally {
      await old.close();
    }
    expect(before.models).toHaveLength(3);
    expect(before.events.length).toBeGreaterThanOrEqual(6);
    expect(await pgDataDirMajor(registryDir)).toBe(17);

    // Today's Engine opens it the usual way.
    const lines: string[] = [];
    const logger = createLogger({ level: 'info' }, new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } }));
    const config = loadConfig({ ENGINE_DATA_DIR: dir });
    const ctx = await openRegistryContext(config, { actor: 'engine-train@laptop', logger });
    try {
      expect(await serverMajor(ctx.db)).toBe(PGLITE_PG_MAJOR);
      expect(await snapshot(ctx.registry)).toEqual(before);
      // The sequences came along: the next log entry follows the last one.
      const c = makeBundle({ symbol: 'SOL/USDT', runDate: '2026-07-16', seed: 4 });
      await ctx.registry.recordModel(c, 'staging://c', { actor: 'engine-train@laptop' });
      const [newest] = await ctx.registry.events();
      expect(newest!.seq).toBe(before.events[0]!.seq + 1);
      // The publish log is still append-only.
      await expect(ctx.db.query('DELETE FROM engine_registry.publish_log')).rejects.toThrow(/append-only/);
    } finally {
      await ctx.close();
    }
    expect(await pgDataDirMajor(registryDir)).toBe(PGLITE_PG_MAJOR);
    expect(await pgDataDirMajor(`${registryDir}.pg17`)).toBe(17);
    const report = lines.map((l) => JSON.parse(l) as { msg: string; rows?: Record<string, number> }).find((l) => l.rows !== undefined);
    expect(report?.msg).toMatch(/now runs on PostgreSQL 18; the PostgreSQL 17 folder is kept at .*registry\.pg17/);
    expect(report?.rows).toMatchObject({ 'engine_registry.models': 3, 'engine_registry.live_models': 1, 'engine_registry.schema_migrations': MIGRATIONS.length });

    // An upgrade stopped between its two renames (old folder moved, new one not yet in
    // place) is finished by the next open.
    await rename(registryDir, `${registryDir}.upgrading`);
    await writeFile(`${registryDir}.upgrading.json`, JSON.stringify({ backup: `${registryDir}.pg17` }));
    const again = await openRegistryContext(config, { actor: 'engine-train@laptop' });
    try {
      expect((await again.registry.listModels()).map((m) => m.symbol).sort()).toEqual(['BTC/USDT', 'BTC/USDT', 'ETH/USDT', 'SOL/USDT']);
    } finally {
      await again.close();
    }
    expect((await readdir(dir)).sort()).toEqual(['registry', 'registry.pg17']);
  }, 180_000); // two PGlite builds starting five times on a shared 2-core VM
});
