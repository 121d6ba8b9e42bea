import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { MIGRATIONS, PgArtifactStore, Registry, TrialLedger, createPgDb, dropSchema, stagingKey, type Db } from '@engine/registry';
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

  test("decide: a run whose parent never decided has its held models adjusted and released; a second decide does nothing", async () => {
    await engine('migrate');
    const reg = new Registry(db, { schema });
    const store = new PgArtifactStore(db, { schema });
    const trials = new TrialLedger(db, { schema });
    const RUN = '2026-07-20';
    const ids: Record<string, string> = {};
    for (const [symbol, psr0, passed] of [['AAA/USDT', 0.9999, true], ['BBB/USDT', 0.6, true], ['CCC/USDT', 0.99, false]] as const) {
      const b = makeBundle({ symbol, runDate: RUN, passed });
      const ref = { modelId: b.manifest.model_id, symbol, runDate: RUN };
      await trials.record({
        symbol, runDate: RUN, configHash: randomUUID().replace(/-/g, '').repeat(2), modelFamily: 'gbdt', seed: 0, isControl: false, modelId: ref.modelId,
        source: 'fleet', oosDays: 3, sharpe: 0.1, skew: 0, kurtosis: 3, psr0, firstDay: '2026-07-01', dailyPnl: [1, -1, 2],
      });
      await store.put(stagingKey(ref), b);
      await reg.recordModel(b, stagingKey(ref), { hold: true, actor: 'train@pod' });
      ids[symbol] = ref.modelId;
    }
    expect((await reg.heldModels(RUN)).length).toBe(3);
    const lines = (await engine('decide', '--date', RUN, '--json')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const by = new Map(lines.map((l) => [l.symbol, l]));
    // BY over the two candidates: p 0.0001 → 0.0003, p 0.4 → 0.6.
    expect(by.get('AAA/USDT')).toMatchObject({ model_id: ids['AAA/USDT'], candidate: true, verdict: 'published', released: true });
    expect(by.get('AAA/USDT')!.p_adjusted as number).toBeCloseTo(0.0001 * 2 * 1.5, 8);
    expect(by.get('BBB/USDT')).toMatchObject({ candidate: true, verdict: 'rejected' });
    expect(by.get('CCC/USDT')).toMatchObject({ candidate: false, p: null, verdict: 'rejected' });
    expect(await reg.heldModels(RUN)).toEqual([]);
    expect((await reg.pendingSync()).map((m) => m.id).sort()).toEqual(Object.values(ids).sort());
    expect(await engine('decide', '--date', RUN)).toMatch(/no held models for 2026-07-20: nothing to decide/);
    await expect(engine('decide', '--date', '2026-13-01')).rejects.toThrow(/--date must be a day as YYYY-MM-DD, got '2026-13-01'/);
  });
});
