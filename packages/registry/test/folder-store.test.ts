import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FolderArtifactStore, stagingKey } from '@engine/registry';
import { makeBundle } from './support/bundles';

/** Issue 14 item 8: a killed `engine train` left `staging/.tmp/<uuid>` behind for ever. */
describe('folder staging: orphans of killed processes', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'engine-staging-orphans-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('the next put removes temporary folders older than an hour and keeps a younger one (a put in progress)', async () => {
    const tmp = path.join(root, '.tmp');
    const orphan = path.join(tmp, 'killed-two-hours-ago');
    const young = path.join(tmp, 'another-put-in-progress');
    for (const d of [orphan, young]) {
      await mkdir(d, { recursive: true });
      await writeFile(path.join(d, 'model.onnx'), 'half a bundle');
    }
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(orphan, twoHoursAgo, twoHoursAgo);

    const store = new FolderArtifactStore(root);
    const b = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-16' });
    const key = stagingKey({ modelId: b.manifest.model_id, symbol: 'BTC/USDT', runDate: '2026-07-16' });
    await store.put(key, b);
    expect(await readdir(tmp)).toEqual(['another-put-in-progress']);
    expect(await store.list()).toEqual([key]);
    expect((await store.get(key)).manifest.model_id).toBe(b.manifest.model_id);
    // Nothing to remove: the count says so.
    expect(await store.removeOrphans()).toBe(0);
  });
});
