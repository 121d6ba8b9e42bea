/**
 * Publish hijack (hardening): a process pointed at the fleet's registry but without its
 * Dropbox credentials (engine train or engine models sync on a laptop) must not publish
 * the fleet's pending models to its own folder, mark them synced or move latest.json. The
 * registry records its publish target and the target each model was synced to; a sync
 * claims only for its own target; a folder export needs ENGINE_SIDE_PUBLISH and claims
 * nothing. Registry on the real PostgreSQL, Dropbox through the real SDK against a local fake.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { EngineError, loadConfig } from '@engine/shared';
import { MIGRATIONS, createPgDb, dropSchema, migrate, openRegistryContext, stagingKey, type Db, type RegistryContext } from '@engine/registry';
import type { ModelBundle } from '@engine/model';
import { registerModelsCommands } from '../apps/cli/src/commands/models';
import { makeBundle } from '../packages/registry/test/support/bundles';
import { TEST_DATABASE_URL } from '../packages/registry/test/support/pg';
import { startFakeDropbox, type FakeDropbox } from './fakes/fake-dropbox';

describe('the registry publishes to one target', () => {
  let db: Db;
  let schema: string;
  let fake: FakeDropbox;
  let tmp: string;
  const opened: RegistryContext[] = [];

  /** The fleet's sync worker: REDIS_URL + DATABASE_URL + Dropbox. */
  const fleetEnv = () => ({ REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: TEST_DATABASE_URL, DROPBOX_APP_KEY: fake.appKey, DROPBOX_APP_SECRET: fake.appSecret, DROPBOX_REFRESH_TOKEN: fake.refreshToken, DROPBOX_API_URL: fake.url, ENGINE_DATA_DIR: path.join(tmp, 'fleet') });
  /** A laptop on the fleet's PostgreSQL without the Dropbox credentials. */
  const laptopEnv = (extra: Record<string, string> = {}) => ({ DATABASE_URL: TEST_DATABASE_URL, ENGINE_DATA_DIR: path.join(tmp, 'laptop'), ...extra });
  async function ctx(env: Record<string, string>, actor: string): Promise<RegistryContext> {
    const c = await openRegistryContext(loadConfig(env), { actor, schema, poolSize: 2 });
    opened.push(c);
    return c;
  }
  async function stage(c: RegistryContext, b: ModelBundle): Promise<string> {
    const ref = { modelId: b.manifest.model_id, symbol: b.manifest.symbol, runDate: b.manifest.run_date };
    await c.store.put(stagingKey(ref), b);
    return (await c.sync.ingest(ref)).model.id;
  }
  const laptopFiles = () => (existsSync(path.join(tmp, 'laptop', 'publish')) ? readdirSync(path.join(tmp, 'laptop', 'publish'), { recursive: true }).length : 0);
  const codeOf = async (p: Promise<unknown>): Promise<string> => p.then(() => 'no error', (e: unknown) => (e instanceof EngineError ? e.code : `non-engine: ${(e as Error).message}`));

  beforeAll(() => {
    db = createPgDb({ connectionString: TEST_DATABASE_URL, max: 3 });
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    schema = `pt_t_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    fake = await startFakeDropbox();
    tmp = mkdtempSync(path.join(tmpdir(), 'publish-target-'));
  });
  afterEach(async () => {
    for (const c of opened.splice(0)) await c.close();
    await fake.close();
    rmSync(tmp, { recursive: true, force: true });
    await dropSchema(db, schema);
  });

  test('a process without the fleet’s Dropbox publishes nothing, marks nothing and moves no pointer', async () => {
    const fleet = await ctx(fleetEnv(), 'sync@fleet');
    const first = await stage(fleet, makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-14' }));
    await fleet.sync.syncModel(first);
    const target = fleet.publisher.target();
    expect(target).toMatch(/^dropbox\b.*:\/Runpodhuracan$/);
    expect(await fleet.registry.publishTarget()).toBe(target);
    expect((await fleet.registry.getModel(first))!.publishTarget).toBe(target);
    // A newer model waits for Dropbox.
    const waiting = await stage(fleet, makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-15' }));
    const pointerBefore = fake.files.get('/Runpodhuracan/latest/BTC-USDT.json');

    const laptop = await ctx(laptopEnv(), 'cli@laptop');
    expect(await codeOf(laptop.sync.sweep())).toBe('PUBLISH_TARGET_MISMATCH');
    expect(await codeOf(laptop.sync.syncModel(waiting))).toBe('PUBLISH_TARGET_MISMATCH');
    expect(await codeOf(laptop.sync.syncPointer('BTC/USDT'))).toBe('PUBLISH_TARGET_MISMATCH');
    // engine models sync on the laptop: refused, exit 2 from the CLI's error mapping.
    const saved = { ...process.env };
    Object.assign(process.env, laptopEnv());
    try {
      const program = new Command('engine').exitOverride();
      registerModelsCommands(program, { out: () => undefined });
      await expect(program.parseAsync(['node', 'engine', 'models', 'sync', '--schema', schema])).rejects.toMatchObject({ code: 'PUBLISH_TARGET_MISMATCH', permanent: true });
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
    const rec = (await laptop.registry.getModel(waiting))!;
    expect(rec.syncState).toBe('pending');
    expect(laptopFiles()).toBe(0);
    expect(fake.files.get('/Runpodhuracan/latest/BTC-USDT.json')).toEqual(pointerBefore);

    // The fleet's own sweep still publishes it, to Dropbox.
    const swept = await fleet.sync.sweep();
    expect(swept.synced).toEqual([waiting]);
    expect((await fleet.registry.getModel(waiting))!.publishTarget).toBe(target);
  });

  test('told explicitly (ENGINE_SIDE_PUBLISH), a folder gets a copy, and the registry still waits for Dropbox', async () => {
    const fleet = await ctx(fleetEnv(), 'sync@fleet');
    await fleet.sync.syncModel(await stage(fleet, makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-14' })));
    const laptop = await ctx(laptopEnv({ ENGINE_SIDE_PUBLISH: 'true' }), 'cli@laptop');
    const id = await stage(laptop, makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-15' }));
    const out = await laptop.sync.syncModel(id);
    expect(out.state).toBe('exported');
    expect(existsSync(path.join(tmp, 'laptop', 'publish', 'Runpodhuracan', '2026-07-15', 'models', 'ETH-USDT_model.onnx'))).toBe(true);
    expect(existsSync(path.join(tmp, 'laptop', 'publish', 'Runpodhuracan', 'latest', 'ETH-USDT.json'))).toBe(true);
    const rec = (await laptop.registry.getModel(id))!;
    expect(rec.syncState).toBe('pending');
    expect(rec.publishTarget).toBeNull();
    expect((await laptop.sync.sweep()).synced).toEqual([]);
    // The staged bundle stays for Dropbox, which gets it at the next sweep.
    expect((await fleet.sync.sweep()).synced).toEqual([id]);
    expect(fake.files.has('/Runpodhuracan/2026-07-15/models/ETH-USDT_model.onnx')).toBe(true);
  });

  test('migration 2 adopts the target a registry has been syncing to', async () => {
    // A registry at version 1 (before targets were recorded), with one synced model.
    await db.query(`CREATE SCHEMA "${schema}"`);
    await db.query(`CREATE TABLE "${schema}".schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    await db.query(MIGRATIONS[0]!.sql(`"${schema}"`));
    await db.query(`INSERT INTO "${schema}".schema_migrations (version, name) VALUES (1, $1)`, [MIGRATIONS[0]!.name]);
    const b = makeBundle({ symbol: 'SUI/USDT', runDate: '2026-07-14' });
    await db.query(
      `INSERT INTO "${schema}".models (id, symbol, run_date, created_at, verdict, manifest, recipe_version, recipe_hash, median_source, location, sync_state, published_files)
       VALUES ($1, 'SUI/USDT', '2026-07-14', now(), 'published', $2::jsonb, '1', 'h', 'folds', 'k', 'synced', '{}'::jsonb)`,
      [b.manifest.model_id, JSON.stringify(b.manifest)],
    );
    await db.query(`INSERT INTO "${schema}".publish_log (event, symbol, model_id, actor, details) VALUES ('synced', 'SUI/USDT', $1, 'sync@old', '{"target":"dropbox:/Runpodhuracan"}'::jsonb)`, [b.manifest.model_id]);
    const r = await migrate(db, { schema });
    expect(r.applied[0]).toBe(2); // and every later migration
    const c = await ctx(fleetEnv(), 'sync@fleet');
    expect(await c.registry.publishTarget()).toBe('dropbox:/Runpodhuracan');
    expect((await c.registry.getModel(b.manifest.model_id))!.publishTarget).toBe('dropbox:/Runpodhuracan');
  });
});
