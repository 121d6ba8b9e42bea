import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { EngineError } from '@engine/shared';
import { FolderArtifactStore, MIGRATIONS, PgArtifactStore, Registry, TrialLedger, dropSchema, migrate, stagingKey, type ArtifactStore, type Db, type TrialRecord } from '@engine/registry';
import { withFalseDiscovery } from '@engine/model';
import { makeBundle } from './bundles';

/** Error code of an Engine error (or undefined), for assertions. */
async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof EngineError ? err.code : `non-engine: ${(err as Error).message}`;
  }
  return 'no error';
}

async function messageOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

export interface SuiteDriver {
  /** The database every test uses. */
  db(): Db;
  /** A second, independent connection to the same database (another process), for concurrency tests. */
  second(): Promise<Db>;
}

/**
 * The registry's behaviour, run against each Db implementation (real PostgreSQL and
 * PGlite): the same SQL must behave the same on both. Each test gets its own schema.
 */
export function registrySuite(driver: SuiteDriver): void {
  let schema: string;
  let reg: Registry;
  const db = (): Db => driver.db();

  beforeEach(async () => {
    schema = `reg_t_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    reg = await Registry.open(db(), { schema });
  });
  afterEach(async () => {
    await dropSchema(db(), schema);
  });

  const count = async (table: string, where = 'true', params: unknown[] = []): Promise<number> => {
    const rows = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".${table} WHERE ${where}`, params);
    return Number(rows[0]!.n);
  };

  describe('migrations', () => {
    test('a second migrate applies nothing and the version is recorded once', async () => {
      const again = await migrate(db(), { schema });
      expect(again).toEqual({ applied: [], version: MIGRATIONS[MIGRATIONS.length - 1]!.version });
      expect(await count('schema_migrations')).toBe(MIGRATIONS.length);
    });

    test('two migrators starting at once on a fresh schema both succeed and apply each step once', async () => {
      const fresh = `reg_c_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const other = await driver.second();
      try {
        const [a, b] = await Promise.all([migrate(db(), { schema: fresh }), migrate(other, { schema: fresh })]);
        expect([...a.applied, ...b.applied].sort()).toEqual(MIGRATIONS.map((m) => m.version));
        expect(a.version).toBe(b.version);
        const rows = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM "${fresh}".schema_migrations`);
        expect(Number(rows[0]!.n)).toBe(MIGRATIONS.length);
      } finally {
        await dropSchema(db(), fresh);
        if (other !== db()) await other.close();
      }
    });
  });

  describe('recordModel', () => {
    test('a published model is recorded with metrics, gate table, log entry and becomes live', async () => {
      const b = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-10' });
      const r = await reg.recordModel(b, stagingKey({ modelId: b.manifest.model_id, symbol: 'BTC/USDT', runDate: '2026-07-10' }), { actor: 'test' });
      expect(r.created).toBe(true);
      expect(r.model).toMatchObject({ id: b.manifest.model_id, symbol: 'BTC/USDT', runDate: '2026-07-10', verdict: 'published', reasons: [], syncState: 'pending', live: true });
      const detail = (await reg.getModel(b.manifest.model_id))!;
      expect(detail.metrics).toMatchObject({ sharpe_ratio: 1.4, win_rate: 0.56, total_trades: 420, 'costs.fees_gbp': 120.25 });
      expect(detail.gates.map((g) => g.name)).toEqual(['sharpe_ratio', 'profit_factor', 'max_drawdown', 'win_rate', 'total_trades']);
      expect(detail.gates[2]).toEqual({ name: 'max_drawdown', value: 0.08, bound: 0.12, op: '<=', passed: true, note: 'bound = 1.2 x median over 4 published models' });
      expect(detail.manifest.model_id).toBe(b.manifest.model_id);
      expect((await reg.liveModel('BTC/USDT'))?.modelId).toBe(b.manifest.model_id);
      const ev = await reg.events('BTC/USDT');
      expect(ev.map((e) => [e.event, e.modelId, e.actor])).toEqual([['published', b.manifest.model_id, 'test']]);
    });

    test('recording the same run twice yields one row; a retried job with a different model id keeps the first', async () => {
      const first = makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-11', seed: 1 });
      const retry = makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-11', seed: 2 });
      await reg.recordModel(first, 'k1');
      const again = await reg.recordModel(first, 'k1');
      expect(again.created).toBe(false);
      expect(again.model.id).toBe(first.manifest.model_id);
      const other = await reg.recordModel(retry, 'k2');
      expect(other.created).toBe(false);
      expect(other.model.id).toBe(first.manifest.model_id);
      expect(other.model.location).toBe('k1');
      expect(await count('models')).toBe(1);
      expect(await count('model_metrics', 'model_id = $1', [retry.manifest.model_id])).toBe(0);
      const ev = await reg.events('ETH/USDT');
      expect(ev.map((e) => e.event)).toEqual(['duplicate_ignored', 'published']);
      expect(ev[0]!.details).toMatchObject({ kept: first.manifest.model_id, ignored: retry.manifest.model_id });
    });

    test('concurrent records of the same (symbol, run_date) from two connections make one row', async () => {
      const other = await driver.second();
      try {
        const a = makeBundle({ symbol: 'SOL/USDT', runDate: '2026-07-12', seed: 3 });
        const b = makeBundle({ symbol: 'SOL/USDT', runDate: '2026-07-12', seed: 4 });
        const regB = new Registry(other, { schema });
        const [ra, rb] = await Promise.all([reg.recordModel(a, 'ka'), regB.recordModel(b, 'kb')]);
        expect([ra.created, rb.created].sort()).toEqual([false, true]);
        expect(ra.model.id).toBe(rb.model.id);
        expect(await count('models')).toBe(1);
        expect(await count('publish_log', "event = 'published'")).toBe(1);
      } finally {
        if (other !== db()) await other.close();
      }
    });

    test('a rejected model is kept with its reasons and the previous published model stays live', async () => {
      const good = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-01' });
      const bad = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-02', passed: false });
      await reg.recordModel(good, 'g');
      const r = await reg.recordModel(bad, 'b');
      expect(r.model.verdict).toBe('rejected');
      expect(r.model.live).toBe(false);
      expect(r.model.reasons).toEqual(['sharpe_ratio: -4.2 < 0.7', 'profit_factor: 0.5 < 1.1', 'max_drawdown: 0.31 > 0.12 (bound = 1.2 x median over 4 published models)', 'win_rate: 0.34 < 0.5']);
      expect((await reg.liveModel('BTC/USDT'))?.modelId).toBe(good.manifest.model_id);
      const ev = await reg.events('BTC/USDT');
      expect(ev[0]).toMatchObject({ event: 'rejected', modelId: bad.manifest.model_id });
      expect(ev[0]!.reason).toContain('sharpe_ratio: -4.2 < 0.7');
    });

    test('a backfilled older published model does not displace a newer live one', async () => {
      const newer = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-05' });
      const older = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-03' });
      await reg.recordModel(newer, 'n');
      const r = await reg.recordModel(older, 'o');
      expect(r.model.live).toBe(false);
      expect((await reg.liveModel('BTC/USDT'))?.modelId).toBe(newer.manifest.model_id);
    });

    test('everything is one transaction: a failure after the models row leaves nothing behind', async () => {
      const before = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-01' });
      await reg.recordModel(before, 'b');
      // Two gates with the same name violate model_gates' primary key: the statement after
      // the models, metrics inserts fails, so the whole record must roll back.
      const g = { name: 'sharpe_ratio', value: 1.2, bound: 0.7, op: '>=' as const, passed: true };
      const broken = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-02', gates: [g, g] });
      expect(await codeOf(reg.recordModel(broken, 'x'))).toBe('DB_QUERY_FAILED');
      expect(await count('models')).toBe(1);
      expect(await count('model_metrics', 'model_id = $1', [broken.manifest.model_id])).toBe(0);
      expect(await count('publish_log')).toBe(1);
      expect((await reg.liveModel('BTC/USDT'))?.modelId).toBe(before.manifest.model_id);
      // And the same day can still be recorded once the bundle is right.
      const fixed = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-02' });
      expect((await reg.recordModel(fixed, 'y')).created).toBe(true);
    });

    test('a bundle whose file does not match its manifest hash is refused before anything is written', async () => {
      const b = makeBundle();
      const onnx = b.files[0]!.bytes;
      onnx[10] = onnx[10]! ^ 0xff;
      expect(await codeOf(reg.recordModel(b, 'k'))).toBe('BUNDLE_CORRUPT');
      expect(await count('models')).toBe(0);
    });
  });

  describe('held models (a run\'s false-discovery decision)', () => {
    const fd = (survived: boolean) => ({ method: 'by' as const, q: 0.05, candidates: 3, p: survived ? 0.001 : 0.03, p_adjusted: survived ? 0.0055 : 0.0825, survived, decided_by: 'run-2026-07-12' });
    test('a held model is neither live, published nor swept until released with its decision', async () => {
      const b = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-12' });
      const r = await reg.recordModel(b, 'k-held', { actor: 'train@a', hold: true });
      expect(r.model).toMatchObject({ verdict: 'published', syncState: 'held', live: false, falseDiscovery: null });
      expect(await reg.liveModel('BTC/USDT')).toBeNull();
      expect(await reg.pendingSync()).toEqual([]);
      expect((await reg.heldModels('2026-07-12')).map((m) => m.id)).toEqual([b.manifest.model_id]);
      expect((await reg.events('BTC/USDT')).map((e) => e.event)).toEqual(['held']);

      const decided = withFalseDiscovery(b.manifest, fd(true));
      const rel = await reg.releaseHeld(b.manifest.model_id, decided, { actor: 'scheduler' });
      expect(rel.released).toBe(true);
      expect(rel.model).toMatchObject({ verdict: 'published', syncState: 'pending', live: true, falseDiscovery: fd(true) });
      expect((await reg.getModel(b.manifest.model_id))!.gates.map((g) => [g.name, g.passed])).toContainEqual(['false_discovery', true]);
      expect((await reg.events('BTC/USDT')).map((e) => e.event)).toEqual(['published', 'held']);
      // Idempotent: a second release changes nothing and logs nothing.
      expect((await reg.releaseHeld(b.manifest.model_id, decided, { actor: 'scheduler' })).released).toBe(false);
      expect(await reg.heldModels('2026-07-12')).toEqual([]);
      expect(await count('publish_log')).toBe(2);
    });

    test('a candidate that does not survive is rejected with the reason and leaves the live model live', async () => {
      const old = makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-11', seed: 3 });
      await reg.recordModel(old, 'k-old');
      const b = makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-12', seed: 4 });
      await reg.recordModel(b, 'k-new', { hold: true });
      const rel = await reg.releaseHeld(b.manifest.model_id, withFalseDiscovery(b.manifest, fd(false)), { actor: 'scheduler' });
      expect(rel.model).toMatchObject({ verdict: 'rejected', syncState: 'pending', live: false });
      expect(rel.model.reasons).toEqual([expect.stringMatching(/^false_discovery: 0\.0825 > 0\.05 \(BY over 3 candidate\(s\) of run-2026-07-12/)]);
      expect((await reg.liveModel('ETH/USDT'))?.modelId).toBe(old.manifest.model_id);
      expect((await reg.events('ETH/USDT'))[0]).toMatchObject({ event: 'rejected', actor: 'scheduler' });
      // A manifest of another model is refused.
      const other = makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-13', seed: 5 });
      await reg.recordModel(other, 'k-other', { hold: true });
      expect(await codeOf(reg.releaseHeld(other.manifest.model_id, b.manifest, { actor: 'x' }))).toBe('BUNDLE_MISMATCH');
    });
  });

  describe('publish log', () => {
    test('is append-only: UPDATE, DELETE and TRUNCATE are rejected by the database', async () => {
      await reg.recordModel(makeBundle(), 'k');
      const t = `"${schema}".publish_log`;
      expect(await messageOf(db().query(`UPDATE ${t} SET reason = 'rewritten'`))).toMatch(/append-only: UPDATE/);
      expect(await messageOf(db().query(`DELETE FROM ${t}`))).toMatch(/append-only: DELETE/);
      expect(await messageOf(db().query(`TRUNCATE ${t}`))).toMatch(/append-only: TRUNCATE/);
      expect(await count('publish_log')).toBe(1);
    });
  });

  describe('trial ledger', () => {
    const trial = (over: Partial<TrialRecord> = {}): TrialRecord => ({
      symbol: 'BTC/USDT',
      runDate: '2026-07-15',
      configHash: 'a'.repeat(64),
      modelFamily: 'gbdt',
      seed: 0,
      isControl: false,
      modelId: randomUUID(),
      source: 'fleet',
      oosDays: 3,
      sharpe: 0.12,
      skew: -0.4,
      kurtosis: 4.1,
      psr0: 0.61,
      firstDay: '2026-07-01',
      dailyPnl: [1.5, -0.25, 0.75],
      ...over,
    });

    test('records one row per (symbol, run date, config hash), with its daily P&L, and lists by symbol and window', async () => {
      const ledger = new TrialLedger(db(), { schema });
      expect(await ledger.record(trial())).toBe(true);
      expect(await ledger.record(trial({ modelId: randomUUID(), sharpe: 9 }))).toBe(false); // the same configuration again: nothing added
      expect(await ledger.record(trial({ configHash: 'b'.repeat(64), runDate: '2026-07-16' }))).toBe(true);
      expect(await ledger.record(trial({ configHash: 'c'.repeat(64), isControl: true }))).toBe(true);
      expect(await ledger.record(trial({ symbol: 'ETH/USDT' }))).toBe(true);
      const btc = await ledger.list('BTC/USDT');
      expect(btc.map((t) => [t.runDate, t.configHash[0], t.sharpe])).toEqual([
        ['2026-07-15', 'a', 0.12],
        ['2026-07-16', 'b', 0.12],
      ]);
      expect(btc[0]!.dailyPnl).toEqual([1.5, -0.25, 0.75]);
      expect(btc[0]).toMatchObject({ skew: -0.4, kurtosis: 4.1, psr0: 0.61, oosDays: 3, firstDay: '2026-07-01', isControl: false });
      expect((await ledger.list('BTC/USDT', { includeControls: true })).length).toBe(3);
      expect((await ledger.list('BTC/USDT', { from: '2026-07-16' })).map((t) => t.runDate)).toEqual(['2026-07-16']);
      expect(await codeOf(ledger.record(trial({ dailyPnl: [1, 2] })))).toBe('TRIAL_INVALID');
    });

    test('is append-only: a trial cannot be edited or deleted', async () => {
      const ledger = new TrialLedger(db(), { schema });
      await ledger.record(trial());
      const t = `"${schema}".trials`;
      expect(await messageOf(db().query(`UPDATE ${t} SET sharpe = 3`))).toMatch(/append-only: UPDATE/);
      expect(await messageOf(db().query(`DELETE FROM ${t}`))).toMatch(/append-only: DELETE/);
      expect(await messageOf(db().query(`TRUNCATE ${t}`))).toMatch(/append-only: TRUNCATE/);
      expect((await ledger.list('BTC/USDT'))[0]!.sharpe).toBe(0.12);
    });
  });

  describe('gate history', () => {
    test('holds only published, not rolled-back models, newest first, at most n, before a date', async () => {
      const days = ['2026-06-01', '2026-06-02', '2026-06-03', '2026-06-04', '2026-06-05', '2026-06-06'];
      const verdicts = [true, false, true, true, false, true];
      const ids: string[] = [];
      for (let i = 0; i < days.length; i++) {
        const b = makeBundle({ symbol: 'ETH/USDT', runDate: days[i], passed: verdicts[i], winRate: 0.5 + i / 100, maxDrawdown: verdicts[i] ? 0.05 + i / 100 : 0.4 });
        ids.push(b.manifest.model_id);
        await reg.recordModel(b, `k${i}`);
      }
      await reg.recordModel(makeBundle({ symbol: 'BTC/USDT', runDate: '2026-06-03' }), 'other-symbol');
      const h = await reg.gateHistory('ETH/USDT');
      expect(h.map((e) => e.runDate)).toEqual(['2026-06-06', '2026-06-04', '2026-06-03', '2026-06-01']);
      expect(h[0]!.metrics.win_rate).toBeCloseTo(0.55, 12);
      expect(h.every((e) => e.metrics.max_drawdown! < 0.2)).toBe(true);
      expect((await reg.gateHistory('ETH/USDT', 2)).map((e) => e.runDate)).toEqual(['2026-06-06', '2026-06-04']);
      expect((await reg.gateHistory('ETH/USDT', 10, { before: '2026-06-04' })).map((e) => e.runDate)).toEqual(['2026-06-03', '2026-06-01']);
      await reg.rollback('ETH/USDT', { actor: 'ops', reason: 'bad fills' });
      expect((await reg.gateHistory('ETH/USDT')).map((e) => e.runDate)).toEqual(['2026-06-04', '2026-06-03', '2026-06-01']);
      expect(await reg.gateHistory('XRP/USDT')).toEqual([]);
    });
  });

  describe('rollback', () => {
    test('makes the previous published model live, marks the old one and logs actor and reason', async () => {
      const d1 = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-01' });
      const d2 = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-02', passed: false });
      const d3 = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-03' });
      for (const b of [d1, d2, d3]) await reg.recordModel(b, b.manifest.model_id);
      const r = await reg.rollback('BTC/USDT', { actor: 'alice', reason: 'live slippage twice the model cost' });
      expect(r).toEqual({ symbol: 'BTC/USDT', from: d3.manifest.model_id, to: d1.manifest.model_id });
      expect((await reg.liveModel('BTC/USDT'))?.modelId).toBe(d1.manifest.model_id);
      expect((await reg.getModel(d3.manifest.model_id))?.rolledBackAt).not.toBeNull();
      const ev = (await reg.events('BTC/USDT'))[0]!;
      expect(ev).toMatchObject({ event: 'rolled_back', modelId: d3.manifest.model_id, actor: 'alice', reason: 'live slippage twice the model cost' });
      expect(ev.details).toMatchObject({ from: d3.manifest.model_id, to: d1.manifest.model_id });
      // Nothing earlier than d1: a second rollback refuses and d1 stays live.
      expect(await codeOf(reg.rollback('BTC/USDT', { actor: 'alice', reason: 'again' }))).toBe('NO_PREVIOUS_MODEL');
      expect((await reg.liveModel('BTC/USDT'))?.modelId).toBe(d1.manifest.model_id);
      expect(await codeOf(reg.rollback('XRP/USDT', { actor: 'alice', reason: 'x' }))).toBe('NO_LIVE_MODEL');
      expect(await codeOf(reg.rollback('BTC/USDT', { actor: 'alice', reason: ' ' }))).toBe('ROLLBACK_INVALID');
    });
  });

  describe('sync bookkeeping', () => {
    test('pending → synced once; a transient failure stays pending, a permanent one is failed', async () => {
      const a = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-01' });
      const b = makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-01' });
      await reg.recordModel(a, 'a');
      await reg.recordModel(b, 'b');
      expect((await reg.pendingSync()).map((m) => m.id).sort()).toEqual([a.manifest.model_id, b.manifest.model_id].sort());
      const files = { 'model.onnx': { path: '/R/x.onnx', sha256: 's', contentHash: 'c', bytes: 3 } };
      expect(await reg.markSynced(a.manifest.model_id, { actor: 'sync', files, target: 'dropbox:/R' })).toBe(true);
      expect(await reg.markSynced(a.manifest.model_id, { actor: 'sync', files, target: 'dropbox:/R' })).toBe(false);
      expect(await count('publish_log', "event = 'synced'")).toBe(1);
      await reg.markSyncFailed(b.manifest.model_id, { actor: 'sync', error: 'Dropbox 503', permanent: false });
      expect((await reg.pendingSync()).map((m) => m.id)).toEqual([b.manifest.model_id]);
      await reg.markSyncFailed(b.manifest.model_id, { actor: 'sync', error: 'bundle corrupt', permanent: true });
      expect(await reg.pendingSync()).toEqual([]);
      const m = (await reg.getModel(b.manifest.model_id))!;
      expect(m).toMatchObject({ syncState: 'failed', syncAttempts: 2, lastSyncError: 'bundle corrupt' });
      expect((await reg.getModel(a.manifest.model_id))!.publishedFiles).toEqual(files);
      // The live BTC model is synced but its pointer is not written yet.
      expect((await reg.pendingPointers()).map((l) => l.symbol)).toEqual(['BTC/USDT']);
      expect(await reg.markPointer('BTC/USDT', a.manifest.model_id, { actor: 'sync', path: '/R/latest/BTC-USDT.json' })).toBe(true);
      expect(await reg.pendingPointers()).toEqual([]);
    });

    test('listModels filters by symbol and verdict, newest first, with headline metrics', async () => {
      await reg.recordModel(makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-01' }), 'a');
      await reg.recordModel(makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-02', passed: false }), 'b');
      await reg.recordModel(makeBundle({ symbol: 'ETH/USDT', runDate: '2026-07-03' }), 'c');
      const all = await reg.listModels();
      expect(all.map((m) => [m.symbol, m.runDate])).toEqual([['ETH/USDT', '2026-07-03'], ['BTC/USDT', '2026-07-02'], ['BTC/USDT', '2026-07-01']]);
      expect((await reg.listModels({ symbol: 'BTC/USDT', verdict: 'rejected' })).map((m) => m.runDate)).toEqual(['2026-07-02']);
      expect(all[0]!.metrics.sharpe_ratio).toBe(1.4);
      expect(await reg.listModels({ limit: 1 })).toHaveLength(1);
      expect(await reg.getModel(randomUUID())).toBeNull();
    });
  });

  describe('staging store', () => {
    const stores: Array<[string, () => Promise<{ store: ArtifactStore; corrupt: (key: string) => Promise<void>; cleanup: () => Promise<void> }>]> = [
      [
        'postgres bytes',
        async () => ({
          store: new PgArtifactStore(db(), { schema }),
          corrupt: async (key) => {
            await db().query(`UPDATE "${schema}".staged_files SET bytes = overlay(bytes placing '\\x00'::bytea from 5 for 1) WHERE key = $1 AND name = 'model.onnx'`, [key]);
          },
          cleanup: async () => undefined,
        }),
      ],
      [
        'local folder',
        async () => {
          const root = await mkdtemp(path.join(tmpdir(), 'engine-staging-'));
          const store = new FolderArtifactStore(root);
          return {
            store,
            corrupt: async (key) => {
              const file = path.join(root, ...key.split('/'), 'model.onnx');
              const bytes = await readFile(file);
              bytes[4] = bytes[4]! ^ 0xff;
              await writeFile(file, bytes);
            },
            cleanup: () => rm(root, { recursive: true, force: true }),
          };
        },
      ],
    ];

    test.each(stores)('%s: round trip, overwrite, list, delete, missing and corrupt bundles', async (_name, make) => {
      const { store, corrupt, cleanup } = await make();
      try {
        const b = makeBundle({ symbol: 'TAO/USDT', runDate: '2026-07-16', onnxBytes: 70_000 });
        const key = stagingKey({ modelId: b.manifest.model_id, symbol: 'TAO/USDT', runDate: '2026-07-16' });
        expect(key).toBe(`2026-07-16/TAO-USDT/${b.manifest.model_id}`);
        await store.put(key, b);
        await store.put(key, b);
        expect(await store.has(key)).toBe(true);
        const back = await store.get(key);
        expect(back.manifest).toEqual(b.manifest);
        const byName = new Map(back.files.map((f) => [f.name, Buffer.from(f.bytes)]));
        for (const f of b.files) expect(byName.get(f.name)?.equals(Buffer.from(f.bytes))).toBe(true);
        expect(JSON.parse(byName.get('manifest.json')!.toString('utf8'))).toEqual(b.manifest);
        const other = makeBundle({ symbol: 'BTC/USDT', runDate: '2026-07-15' });
        const otherKey = stagingKey({ modelId: other.manifest.model_id, symbol: 'BTC/USDT', runDate: '2026-07-15' });
        await store.put(otherKey, other);
        expect(await store.list()).toEqual([otherKey, key]);
        expect(await store.list('2026-07-16/')).toEqual([key]);

        await corrupt(key);
        const err = await codeOf(store.get(key));
        expect(err).toBe('BUNDLE_CORRUPT');
        expect(await messageOf(store.get(key))).toContain("'model.onnx'");

        await store.delete(key);
        await store.delete(key);
        expect(await store.has(key)).toBe(false);
        expect(await codeOf(store.get(key))).toBe('BUNDLE_NOT_FOUND');
        expect(await codeOf(store.put('../escape', b))).toBe('STAGING_KEY_INVALID');
      } finally {
        await cleanup();
      }
    });
  });

  test('folder store leaves no temporary folders behind', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'engine-staging-'));
    try {
      const store = new FolderArtifactStore(root);
      await store.put('a/b', makeBundle());
      expect((await readdir(path.join(root, '.tmp'))).length).toBe(0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
}
