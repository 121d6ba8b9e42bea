import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { MIGRATIONS, Registry, createPgDb, dropSchema, type Db } from '@engine/registry';
import { registerModelsCommands } from '../apps/cli/src/commands/models';
import { makeBundle } from '../packages/registry/test/support/bundles';
import { TEST_DATABASE_URL } from '../packages/registry/test/support/pg';

/** `engine models …` in-process against the real PostgreSQL (its own schema), output captured. */
describe('engine models (CLI)', () => {
  let db: Db;
  let schema: string;
  const saved = { DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL, ENGINE_DATA_DIR: process.env.ENGINE_DATA_DIR };

  async function engine(...args: string[]): Promise<string> {
    let out = '';
    const program = new Command('engine').exitOverride();
    registerModelsCommands(program, { out: (t) => void (out += t) });
    await program.parseAsync(['node', 'engine', 'models', ...args, '--schema', schema]);
    return out;
  }

  beforeAll(() => {
    process.env.DATABASE_URL = TEST_DATABASE_URL;
    delete process.env.REDIS_URL;
    process.env.ENGINE_DATA_DIR = `/tmp/engine-cli-test-${process.pid}`;
    db = createPgDb({ connectionString: TEST_DATABASE_URL, max: 2 });
  });
  afterAll(async () => {
    await db.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  beforeEach(() => {
    schema = `cli_t_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  });
  afterEach(async () => {
    await dropSchema(db, schema);
  });

  test('migrate, list, show, rollback (logged with actor and reason), log', async () => {
    const versions = MIGRATIONS.map((m) => m.version);
    const last = versions[versions.length - 1];
    expect(await engine('migrate')).toContain(`schema version ${last} of ${last} (applied now: ${versions.join(', ')})`);
    expect(await engine('migrate')).toMatch(/already up to date/);
    const reg = new Registry(db, { schema });
    const d1 = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-14' });
    const d2 = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-15', passed: false });
    const d3 = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-16' });
    for (const b of [d1, d2, d3]) await reg.recordModel(b, b.manifest.model_id);

    // --json is snake_case, as every command's (and the manifest).
    const list = JSON.parse(await engine('list', '--symbol', 'btc/usdt', '--json')) as Record<string, unknown>[];
    expect(Object.keys(list[0]!)).toEqual(expect.arrayContaining(['run_date', 'sync_state', 'recipe_hash']));
    expect(Object.keys(list[0]!).some((k) => /[A-Z]/.test(k))).toBe(false);
    expect(list.map((m) => [m.run_date, m.verdict, m.live])).toEqual([
      ['2026-07-16', 'published', true],
      ['2026-07-15', 'rejected', false],
      ['2026-07-14', 'published', false],
    ]);
    const text = await engine('list');
    expect(text.split('\n')[0]).toMatch(/^MODEL\s+SYMBOL\s+RUN DATE\s+VERDICT\s+LIVE/);
    expect(text).toContain('sharpe_ratio: -4.2 < 0.7');

    const shown = await engine('show', d2.manifest.model_id);
    expect(shown).toContain('rejected because:');
    expect(shown).toMatch(/max_drawdown\s+0\.31\s+<=\s+0\.12\s+NO/);

    const rb = JSON.parse(await engine('rollback', '--symbol', 'BTC/USDT', '--reason', 'fills 3x worse than modelled', '--actor', 'alice', '--no-publish', '--json')) as Record<string, string>;
    expect(rb).toMatchObject({ symbol: 'BTC/USDT', from: d3.manifest.model_id, to: d1.manifest.model_id, pointer: 'left to the sync sweep' });
    expect((await reg.liveModel('BTC/USDT'))?.modelId).toBe(d1.manifest.model_id);
    const log = await engine('log', '--symbol', 'BTC/USDT');
    expect(log.split('\n')[1]).toMatch(/rolled_back\s+BTC\/USDT\s+\S+\s+alice\s+fills 3x worse than modelled/);

    const shownJson = JSON.parse(await engine('show', d2.manifest.model_id, '--json')) as { run_date: string; manifest: { model_id: string; hyperparameters: unknown } };
    expect(shownJson.run_date).toBe('2026-07-15');
    // The manifest inside is printed verbatim (its own schema), not re-cased.
    expect(shownJson.manifest.model_id).toBe(d2.manifest.model_id);
    expect(shownJson.manifest).toEqual(JSON.parse(JSON.stringify(d2.manifest)));

    await expect(engine('show', randomUUID())).rejects.toThrow(/no model with id/);
    await expect(engine('rollback', '--symbol', 'BTC/USDT', '--reason', 'again', '--no-publish')).rejects.toThrow(/no earlier published model/);
  });
});
