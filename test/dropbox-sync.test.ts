import { createHash, randomUUID } from 'node:crypto';
import { Dropbox } from 'dropbox';
import { EngineError, loadConfig } from '@engine/shared';
import { type ModelBundle, type LatestPointer } from '@engine/model';
import { DROPBOX_BLOCK_BYTES, DropboxFiles, Publisher, dropboxContentHash, type DropboxFilesOptions } from '@engine/publish';
import { ModelSync, PgArtifactStore, Registry, createPgDb, dropSchema, openRegistryContext, stagingKey, type Db } from '@engine/registry';
import { makeBundle } from '../packages/registry/test/support/bundles';
import { startFakeDropbox, type FakeDropbox, type FakeDropboxOptions } from './fakes/fake-dropbox';
import { TEST_DATABASE_URL } from '../packages/registry/test/support/pg';

const ROOT = '/Runpodhuracan';

interface Rig {
  fake: FakeDropbox;
  registry: Registry;
  store: PgArtifactStore;
  publisher: Publisher;
  sync: ModelSync;
  /** Stage a bundle as a training worker would, and record it as the sync worker does. */
  stage(b: ModelBundle): Promise<string>;
}

const uploadsOf = (fake: FakeDropbox): string[] =>
  fake.requests
    .filter((r) => r.status === 200 && (r.endpoint === 'files/upload' || r.endpoint === 'files/upload_session/finish'))
    .map((r) => String(r.endpoint === 'files/upload' ? r.arg.path : (r.arg.commit as { path: string }).path));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof EngineError ? err.code : `non-engine: ${(err as Error).message}`;
  }
  return 'no error';
}

describe('sync to Dropbox (real SDK against a local fake, registry on PostgreSQL)', () => {
  let db: Db;
  let schema: string;
  const rigs: Rig[] = [];

  beforeAll(() => {
    db = createPgDb({ connectionString: TEST_DATABASE_URL, max: 3 });
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(() => {
    schema = `dbx_t_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  });
  afterEach(async () => {
    for (const r of rigs.splice(0)) await r.fake.close();
    await dropSchema(db, schema);
  });

  async function rig(fakeOpts: FakeDropboxOptions = {}, dbxOpts: Partial<DropboxFilesOptions> = {}): Promise<Rig> {
    const fake = await startFakeDropbox(fakeOpts);
    const registry = await Registry.open(db, { schema });
    const store = new PgArtifactStore(db, { schema });
    const files = new DropboxFiles({
      appKey: fake.appKey,
      appSecret: fake.appSecret,
      refreshToken: fake.refreshToken,
      apiUrl: fake.url,
      sessionThresholdBytes: 4096,
      chunkBytes: 1000,
      maxAttempts: 3,
      baseDelayMs: 5,
      maxDelayMs: 3000,
      ...dbxOpts,
    });
    const publisher = new Publisher(files, { root: ROOT });
    const sync = new ModelSync({ registry, store, publisher, actor: 'sync@test' });
    const r: Rig = {
      fake,
      registry,
      store,
      publisher,
      sync,
      stage: async (b) => {
        const ref = { modelId: b.manifest.model_id, symbol: b.manifest.symbol, runDate: b.manifest.run_date };
        await store.put(stagingKey(ref), b);
        return (await sync.ingest(ref)).model.id;
      },
    };
    rigs.push(r);
    return r;
  }

  test('content hash follows Dropbox: SHA-256 of the 4 MiB blocks’ SHA-256s', () => {
    const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
    const big = new Uint8Array(DROPBOX_BLOCK_BYTES + 1).map((_, i) => i % 251);
    const expectBig = createHash('sha256').update(Buffer.concat([sha(big.subarray(0, DROPBOX_BLOCK_BYTES)), sha(big.subarray(DROPBOX_BLOCK_BYTES))])).digest('hex');
    expect(dropboxContentHash(big)).toBe(expectBig);
    const one = big.subarray(0, DROPBOX_BLOCK_BYTES);
    expect(dropboxContentHash(one)).toBe(createHash('sha256').update(sha(one)).digest('hex'));
    expect(dropboxContentHash(new Uint8Array(0))).toBe(createHash('sha256').update(Buffer.alloc(0)).digest('hex'));
  });

  test('a published model lands in the exact layout with verified hashes; latest.json is written last', async () => {
    const r = await rig();
    const b = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-16' });
    const id = await r.stage(b);
    const out = await r.sync.syncModel(id);
    expect(out).toMatchObject({ state: 'synced', verdict: 'published', uploaded: 5, unchanged: 0, pointer: 'updated' });

    const day = `${ROOT}/2026-07-16/models`;
    const expected: Record<string, Uint8Array> = {
      [`${day}/BTC-USDT_model.onnx`]: b.files.find((f) => f.name === 'model.onnx')!.bytes,
      [`${day}/BTC-USDT/model.json`]: b.files.find((f) => f.name === 'model.json')!.bytes,
      [`${day}/BTC-USDT/golden.json`]: b.files.find((f) => f.name === 'golden.json')!.bytes,
      [`${day}/BTC-USDT/folds.json`]: b.files.find((f) => f.name === 'folds.json')!.bytes,
    };
    for (const [p, bytes] of Object.entries(expected)) expect(r.fake.files.get(p)?.equals(Buffer.from(bytes))).toBe(true);
    expect(JSON.parse(r.fake.files.get(`${day}/BTC-USDT_metadata.json`)!.toString('utf8'))).toEqual(b.manifest);
    expect([...r.fake.files.keys()].sort()).toEqual([...Object.keys(expected), `${day}/BTC-USDT_metadata.json`, `${ROOT}/latest/BTC-USDT.json`].sort());

    const uploads = uploadsOf(r.fake);
    expect(uploads[uploads.length - 1]).toBe(`${ROOT}/latest/BTC-USDT.json`);
    expect(uploads.slice(-3, -1)).toEqual([`${day}/BTC-USDT_model.onnx`, `${day}/BTC-USDT_metadata.json`]);

    const pointer = JSON.parse(r.fake.files.get(`${ROOT}/latest/BTC-USDT.json`)!.toString('utf8')) as LatestPointer;
    expect(pointer).toMatchObject({ schema: 1, symbol: 'BTC/USDT', model_id: id, run_date: '2026-07-16', feature_recipe: { version: '1.0.0', hash: 'a'.repeat(64) } });
    expect(pointer.files['model.onnx']).toEqual({
      path: `${day}/BTC-USDT_model.onnx`,
      sha256: b.manifest.artifacts['model.onnx'],
      content_hash: dropboxContentHash(expected[`${day}/BTC-USDT_model.onnx`]!),
      bytes: 3000,
    });
    for (const [name, f] of Object.entries(pointer.files)) {
      const stored = r.fake.files.get(f.path)!;
      expect(createHash('sha256').update(stored).digest('hex')).toBe(f.sha256);
      if (name !== 'manifest.json') expect(f.sha256).toBe(b.manifest.artifacts[name]);
    }

    const rec = (await r.registry.getModel(id))!;
    expect(rec).toMatchObject({ syncState: 'synced', live: true });
    expect((await r.registry.liveModel('BTC/USDT'))?.pointerModelId).toBe(id);
    expect((await r.registry.events('BTC/USDT')).map((e) => e.event)).toEqual(['pointer_updated', 'synced', 'published']);
    expect(await r.store.has(stagingKey({ modelId: id, symbol: 'BTC/USDT', runDate: '2026-07-16' }))).toBe(false);
  });

  test('files above the threshold go through an upload session (start, append_v2…, finish)', async () => {
    const r = await rig();
    const b = makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-16', onnxBytes: 5500, seed: 11 });
    const id = await r.stage(b);
    await r.sync.syncModel(id);
    const eps = r.fake.requests.map((q) => q.endpoint);
    expect(eps.filter((e) => e === 'files/upload_session/start')).toHaveLength(1);
    expect(eps.filter((e) => e === 'files/upload_session/append_v2')).toHaveLength(4);
    expect(eps.filter((e) => e === 'files/upload_session/finish')).toHaveLength(1);
    const appended = r.fake.requests.filter((q) => q.endpoint.startsWith('files/upload_session/')).map((q) => q.bodyBytes);
    expect(appended).toEqual([1000, 1000, 1000, 1000, 1000, 500]);
    const onnx = r.fake.files.get(`${ROOT}/2026-07-16/models/ETH-USDT_model.onnx`)!;
    expect(onnx.equals(Buffer.from(b.files[0]!.bytes))).toBe(true);
  });

  test('Dropbox 429 with Retry-After, then success: waits as told and syncs exactly once', async () => {
    let throttled = 0;
    const r = await rig({
      failures: (q) => {
        if (q.endpoint === 'files/upload' && String(q.arg.path).endsWith('_model.onnx') && throttled === 0) {
          throttled++;
          return { status: 429, retryAfter: 1 };
        }
        return undefined;
      },
    });
    const id = await r.stage(makeBundle({ symbol: 'SUI/USDT', runDate: '2026-07-16' }));
    const t0 = Date.now();
    const out = await r.sync.syncModel(id);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(out.state).toBe('synced');
    const onnxCalls = r.fake.requests.filter((q) => q.endpoint === 'files/upload' && String(q.arg.path).endsWith('_model.onnx'));
    expect(onnxCalls.map((q) => q.status)).toEqual([429, 200]);
    const events = await r.registry.events('SUI/USDT');
    expect(events.filter((e) => e.event === 'synced')).toHaveLength(1);
    expect(events.filter((e) => e.event === 'sync_failed')).toHaveLength(0);
  });

  test('Dropbox down past the retries: model stays pending, latest.json keeps the previous model; the sweep completes it', async () => {
    let down = false;
    const r = await rig({ failures: (q) => (down && q.endpoint.startsWith('files/') ? { status: 503 } : undefined) });
    const first = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-15' });
    const firstId = await r.stage(first);
    await r.sync.syncModel(firstId);
    const second = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-16', seed: 9 });
    const secondId = await r.stage(second);
    expect((await r.registry.liveModel('BTC/USDT'))?.modelId).toBe(secondId);

    down = true;
    expect(await codeOf(r.sync.syncModel(secondId))).toBe('DROPBOX_UNAVAILABLE');
    const rec = (await r.registry.getModel(secondId))!;
    expect(rec).toMatchObject({ syncState: 'pending', syncAttempts: 1 });
    expect(rec.lastSyncError).toContain('HTTP 503');
    expect((await r.registry.pendingSync()).map((m) => m.id)).toEqual([secondId]);
    const pointer = JSON.parse(r.fake.files.get(`${ROOT}/latest/BTC-USDT.json`)!.toString('utf8')) as LatestPointer;
    expect(pointer.model_id).toBe(firstId);
    expect((await r.registry.events('BTC/USDT'))[0]).toMatchObject({ event: 'sync_failed', modelId: secondId });

    down = false;
    const swept = await r.sync.sweep();
    expect(swept).toEqual({ ingested: [], synced: [secondId], failed: [], pointers: [] });
    const now = JSON.parse(r.fake.files.get(`${ROOT}/latest/BTC-USDT.json`)!.toString('utf8')) as LatestPointer;
    expect(now.model_id).toBe(secondId);
    expect(await r.registry.pendingSync()).toEqual([]);
  });

  test('refresh-token auth: tokens come from the refresh grant, and an expired token is refreshed mid-run', async () => {
    const r = await rig();
    const a = await r.stage(makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-15' }));
    await r.sync.syncModel(a);
    const grants = r.fake.requests.filter((q) => q.endpoint === 'oauth2/token');
    expect(grants.length).toBe(1);
    expect(grants[0]!.arg).toEqual({ grant_type: 'refresh_token', client_id: r.fake.appKey });
    expect(r.fake.tokensIssued()).toBe(1);

    r.fake.expireTokens();
    const b = await r.stage(makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-15', seed: 5 }));
    expect((await r.sync.syncModel(b)).state).toBe('synced');
    expect(r.fake.tokensIssued()).toBe(2);
    expect(r.fake.requests.filter((q) => q.status === 401)).toHaveLength(1);
  });

  test('a wrong refresh token is a permanent error naming Dropbox’s answer; the model stays pending', async () => {
    const r = await rig({}, { refreshToken: 'revoked' });
    const id = await r.stage(makeBundle());
    try {
      await r.sync.syncModel(id);
      throw new Error('expected a failure');
    } catch (err) {
      expect(err).toBeInstanceOf(EngineError);
      expect((err as EngineError).permanent).toBe(true);
      expect((err as Error).message).toContain('invalid_grant');
    }
    expect((await r.registry.getModel(id))!.syncState).toBe('pending');
  });

  test('a repeated sync changes nothing: no uploads, no new events; a crash after uploading re-syncs without re-sending', async () => {
    const r = await rig();
    const id = await r.stage(makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-16' }));
    await r.sync.syncModel(id);
    const uploadsBefore = uploadsOf(r.fake).length;
    const eventsBefore = (await r.registry.events()).length;
    const snapshot = new Map([...r.fake.files].map(([k, v]) => [k, Buffer.from(v)]));

    const again = await r.sync.syncModel(id);
    expect(again).toMatchObject({ state: 'already-synced', uploaded: 0, pointer: 'unchanged' });
    expect(uploadsOf(r.fake).length).toBe(uploadsBefore);
    expect((await r.registry.events()).length).toBe(eventsBefore);
    expect(r.fake.files).toEqual(snapshot);

    // The sync worker died after uploading but before recording: the files are there, the model is pending.
    const b = makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-16', seed: 21 });
    const bid = await r.stage(b);
    await r.publisher.publishBundle(b, 'published');
    const uploadsMid = uploadsOf(r.fake).length;
    const out = await r.sync.syncModel(bid);
    expect(out).toMatchObject({ state: 'synced', uploaded: 0, unchanged: 5, pointer: 'updated' });
    expect(uploadsOf(r.fake).slice(uploadsMid)).toEqual([`${ROOT}/latest/ETH-USDT.json`]);
  });

  test('a rejected model goes to rejected/ only and never touches latest.json', async () => {
    const r = await rig();
    const good = await r.stage(makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-15' }));
    await r.sync.syncModel(good);
    const bad = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-16', passed: false, seed: 3 });
    const badId = await r.stage(bad);
    const out = await r.sync.syncModel(badId);
    expect(out).toMatchObject({ state: 'synced', verdict: 'rejected', pointer: 'not-live' });
    const day16 = [...r.fake.files.keys()].filter((k) => k.includes('/2026-07-16/')).sort();
    expect(day16).toEqual(['folds.json', 'golden.json', 'manifest.json', 'model.json', 'model.onnx'].map((n) => `${ROOT}/2026-07-16/rejected/BTC-USDT/${n}`));
    const pointer = JSON.parse(r.fake.files.get(`${ROOT}/latest/BTC-USDT.json`)!.toString('utf8')) as LatestPointer;
    expect(pointer.model_id).toBe(good);
  });

  test('rollback: the sweep points latest.json back at the previous model', async () => {
    const r = await rig();
    const d1 = await r.stage(makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-15' }));
    const d2 = await r.stage(makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-16', seed: 8 }));
    await r.sync.sweep();
    const read = (): LatestPointer => JSON.parse(r.fake.files.get(`${ROOT}/latest/BTC-USDT.json`)!.toString('utf8')) as LatestPointer;
    expect(read().model_id).toBe(d2);
    await r.registry.rollback('BTC/USDT', { actor: 'ops', reason: 'live P&L diverged' });
    expect((await r.registry.pendingPointers()).map((l) => l.modelId)).toEqual([d1]);
    const swept = await r.sync.sweep();
    expect(swept.pointers).toEqual(['BTC/USDT']);
    expect(read().model_id).toBe(d1);
    expect(read().files['model.onnx']!.path).toBe(`${ROOT}/2026-07-15/models/BTC-USDT_model.onnx`);
    expect((await r.registry.events('BTC/USDT'))[0]).toMatchObject({ event: 'pointer_updated', modelId: d1 });
  });

  test('a corrupt staged bundle fails permanently: nothing uploaded, model marked failed, the sweep leaves it', async () => {
    const r = await rig();
    const b = makeBundle({ symbol: 'TAO/USDT', runDate: '2026-07-16' });
    const id = await r.stage(b);
    await db.query(`UPDATE "${schema}".staged_files SET bytes = 'garbage'::bytea WHERE name = 'model.onnx'`);
    expect(await codeOf(r.sync.syncModel(id))).toBe('BUNDLE_CORRUPT');
    expect(uploadsOf(r.fake)).toEqual([]);
    expect((await r.registry.getModel(id))!.syncState).toBe('failed');
    expect(await r.sync.sweep()).toEqual({ ingested: [], synced: [], failed: [], pointers: [] });
  });

  test('sync jobs: a retried training job’s second model is ignored; the sweep records a staged bundle whose job was lost', async () => {
    const r = await rig();
    const first = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-16', seed: 1 });
    const retry = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-16', seed: 2 });
    for (const b of [first, retry]) await r.store.put(stagingKey({ modelId: b.manifest.model_id, symbol: 'BTC/USDT', runDate: '2026-07-16' }), b);
    const o1 = await r.sync.handle({ kind: 'model', modelId: first.manifest.model_id, symbol: 'BTC/USDT', runDate: '2026-07-16' });
    const o2 = await r.sync.handle({ kind: 'model', modelId: retry.manifest.model_id, symbol: 'BTC/USDT', runDate: '2026-07-16' });
    expect(o1).toMatchObject({ modelId: first.manifest.model_id, state: 'synced' });
    expect(o2).toMatchObject({ modelId: first.manifest.model_id, state: 'already-synced', uploaded: 0 });
    expect(await r.store.list()).toEqual([]);
    expect((await r.registry.listModels()).map((m) => m.id)).toEqual([first.manifest.model_id]);

    const lost = makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-16', seed: 4 });
    await r.store.put(stagingKey({ modelId: lost.manifest.model_id, symbol: 'ETH/USDT', runDate: '2026-07-16' }), lost);
    const swept = await r.sync.handle({ kind: 'sweep' });
    expect(swept).toEqual({ ingested: [lost.manifest.model_id], synced: [lost.manifest.model_id], failed: [], pointers: [] });
    expect(r.fake.files.has(`${ROOT}/2026-07-16/models/ETH-USDT_model.onnx`)).toBe(true);
  });

  test('configured from the environment: DATABASE_URL → PostgreSQL staging, DROPBOX_* → Dropbox under DROPBOX_ROOT', async () => {
    const fake = await startFakeDropbox();
    const config = loadConfig({
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: 'redis://127.0.0.1:6379',
      DROPBOX_APP_KEY: fake.appKey,
      DROPBOX_APP_SECRET: fake.appSecret,
      DROPBOX_REFRESH_TOKEN: fake.refreshToken,
      DROPBOX_API_URL: fake.url,
      DROPBOX_ROOT: '/EngineTest',
    });
    const ctx = await openRegistryContext(config, { actor: 'sync@pod-1', schema, poolSize: 2 });
    try {
      expect([ctx.db.kind, ctx.store.kind, ctx.publisher.files.kind]).toEqual(['pg', 'postgres', 'dropbox']);
      expect(ctx.publisher.target()).toBe(`dropbox@${new URL(fake.url).host}:/EngineTest`);
      const b = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-16' });
      const ref = { modelId: b.manifest.model_id, symbol: 'BTC/USDT', runDate: '2026-07-16' };
      await ctx.store.put(stagingKey(ref), b);
      expect(await ctx.sync.handle({ kind: 'model', ...ref })).toMatchObject({ state: 'synced', pointer: 'updated' });
      expect(fake.files.has('/EngineTest/2026-07-16/models/BTC-USDT_model.onnx')).toBe(true);
      expect(fake.files.has('/EngineTest/latest/BTC-USDT.json')).toBe(true);
      expect((await ctx.registry.events('BTC/USDT')).every((e) => e.actor === 'sync@pod-1')).toBe(true);
    } finally {
      await ctx.close();
      await fake.close();
    }
  });

  test('the fake speaks list_folder (+continue) and download to the real SDK', async () => {
    const r = await rig({ pageSize: 2 });
    await r.stage(makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-16' }));
    await r.sync.sweep();
    const dbx = new Dropbox({
      clientId: r.fake.appKey,
      clientSecret: r.fake.appSecret,
      refreshToken: r.fake.refreshToken,
      fetch: async (url: string, init: RequestInit) => {
        const res = await fetch(`${r.fake.url}${new URL(url).pathname}${new URL(url).search}`, init);
        return Object.assign(res, { buffer: async () => Buffer.from(await res.arrayBuffer()) });
      },
    });
    let page = (await dbx.filesListFolder({ path: `${ROOT}/2026-07-16`, recursive: true })).result;
    const names = page.entries.map((e) => e.path_display);
    while (page.has_more) {
      page = (await dbx.filesListFolderContinue({ cursor: page.cursor })).result;
      names.push(...page.entries.map((e) => e.path_display));
    }
    expect(names).toEqual([
      `${ROOT}/2026-07-16/models`,
      `${ROOT}/2026-07-16/models/BTC-USDT`,
      `${ROOT}/2026-07-16/models/BTC-USDT/folds.json`,
      `${ROOT}/2026-07-16/models/BTC-USDT/golden.json`,
      `${ROOT}/2026-07-16/models/BTC-USDT/model.json`,
      `${ROOT}/2026-07-16/models/BTC-USDT_metadata.json`,
      `${ROOT}/2026-07-16/models/BTC-USDT_model.onnx`,
    ]);
    const pointer = await r.publisher.readPointer('BTC/USDT');
    expect(pointer?.symbol).toBe('BTC/USDT');
  });
});
