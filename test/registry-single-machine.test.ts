import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EngineError, loadConfig } from '@engine/shared';
import { openRegistryContext, stagingKey } from '@engine/registry';
import { type LatestPointer } from '@engine/model';
import { makeBundle } from '../packages/registry/test/support/bundles';

/**
 * Single-machine mode: no REDIS_URL / DATABASE_URL / Dropbox credentials → PGlite under
 * `<ENGINE_DATA_DIR>/registry`, staging in `<ENGINE_DATA_DIR>/staging`, and the same
 * publish layout in `<ENGINE_DATA_DIR>/publish`.
 */
describe('single-machine mode (PGlite on disk, local folders)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'engine-single-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('records, publishes in the Dropbox layout to a folder, and keeps the registry across restarts', async () => {
    const config = loadConfig({ ENGINE_DATA_DIR: dir });
    expect(config.mode).toBe('single');
    const b = makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-16' });
    const ref = { modelId: b.manifest.model_id, symbol: 'ETH/USDT', runDate: '2026-07-16' };

    const ctx = await openRegistryContext(config, { actor: 'engine-train@laptop' });
    try {
      expect([ctx.db.kind, ctx.store.kind, ctx.publisher.files.kind]).toEqual(['pglite', 'folder', 'folder']);
      expect(ctx.where).toBe(`pglite:${path.join(dir, 'registry')}`);
      // A second process (here: a second open) must not open the same one-connection database.
      await expect(openRegistryContext(config, { actor: 'cli' })).rejects.toThrow(/is open in process \d+ \(this one\); single-machine mode allows one process/);
      await ctx.store.put(stagingKey(ref), b);
      const out = await ctx.sync.handle({ kind: 'model', ...ref });
      expect(out).toMatchObject({ modelId: ref.modelId, state: 'synced', uploaded: 5, pointer: 'updated' });
    } finally {
      await ctx.close();
    }
    const published = path.join(dir, 'publish', 'Runpodhuracan');
    const onnx = await readFile(path.join(published, '2026-07-16', 'models', 'ETH-USDT_model.onnx'));
    expect(onnx.equals(Buffer.from(b.files[0]!.bytes))).toBe(true);
    const pointer = JSON.parse(await readFile(path.join(published, 'latest', 'ETH-USDT.json'), 'utf8')) as LatestPointer;
    expect(pointer.model_id).toBe(ref.modelId);
    expect(pointer.files['manifest.json']!.path).toBe('/Runpodhuracan/2026-07-16/models/ETH-USDT_metadata.json');

    // Closing released the lock; a lock left by a process that died is taken over.
    await expect(readFile(path.join(dir, 'registry.lock'))).rejects.toThrow(/ENOENT/);
    await writeFile(path.join(dir, 'registry.lock'), String(spawnSync('true').pid));
    const again = await openRegistryContext(config, { actor: 'engine-train@laptop' });
    try {
      const models = await again.registry.listModels();
      expect(models.map((m) => [m.id, m.syncState, m.live])).toEqual([[ref.modelId, 'synced', true]]);
      expect(await again.store.list()).toEqual([]);
    } finally {
      await again.close();
    }
  });

  test('the fleet refuses to start without DATABASE_URL', async () => {
    const config = loadConfig({ ENGINE_DATA_DIR: dir, REDIS_URL: 'redis://127.0.0.1:6379' });
    await expect(openRegistryContext(config, { actor: 'x' })).rejects.toThrow(/the fleet \(REDIS_URL set\) needs DATABASE_URL/);
    await openRegistryContext(config, { actor: 'x' }).catch((err: unknown) => expect((err as EngineError).code).toBe('CONFIG_INVALID'));
  });
});
