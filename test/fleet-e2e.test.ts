/**
 * The fleet end to end, with real processes on the real Redis and PostgreSQL: the
 * scheduler, two training workers and one sync worker run as `node apps/…/dist/main.js`
 * child processes; candles come from the real CSV files, Dropbox is the local fake (the
 * real SDK talks to it). `engine run-now` (the CLI, also a real process) triggers a run for
 * three symbols; every model must end in the registry (published, or rejected with reasons)
 * and in Dropbox in the one layout with matching hashes; a repeat trigger adds nothing.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES, type RunResult, type TrainProgress } from '@engine/fleet';
import { type ManifestCore } from '@engine/model';
import { Registry, createPgDb, type Db } from '@engine/registry';
import { startFakeDropbox, type FakeDropbox } from './fakes/fake-dropbox';
import { OHLCV_DIR, REPO_ROOT } from './support/paths';
import { REDIS_URL, RoleProcess, cleanUp, dropRedisPrefix, freshDatabase, requireCandleFiles, until } from './support/fleet-harness';

jest.setTimeout(240_000);

const RUN_DATE = '2026-07-17';
const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SUI/USDT'];
/** Few trees: CI time. The trainer records them in each manifest. */
const TRAINING = JSON.stringify({ model: { nEstimators: 30 }, confidence_model: { nEstimators: 20 } });
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('fleet end to end', () => {
  const prefix = `t-e2e-${process.pid}-${Date.now()}`;
  let dataDir: string;
  let db: { url: string; drop(): Promise<void> };
  let dropbox: FakeDropbox;
  let env: Record<string, string>;
  const roles: RoleProcess[] = [];
  let registryDb: Db;
  let registry: Registry;
  let redis: Redis;
  let trainQueue: Queue;
  let runQueue: Queue;
  let events: QueueEvents;
  const stagesSeen = new Set<string>();

  const cli = async (...args: string[]) => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'apps/cli/dist/main.js'), ...args], { env: { PATH: process.env.PATH ?? '', ...env }, cwd: REPO_ROOT });
    return JSON.parse(stdout.trim()) as { added: boolean; run_job_id: string; train_job_ids: string[]; existing_state?: string };
  };

  beforeAll(async () => {
    requireCandleFiles(OHLCV_DIR, ['BTCUSDT', 'ETHUSDT', 'SUIUSDT']);
    dataDir = await mkdtemp(path.join(tmpdir(), 'engine-e2e-'));
    db = await freshDatabase('e2e');
    dropbox = await startFakeDropbox();
    env = {
      REDIS_URL,
      DATABASE_URL: db.url,
      ENGINE_QUEUE_PREFIX: prefix,
      ENGINE_DATA_DIR: dataDir,
      ENGINE_CANDLE_SOURCE: `csv:${OHLCV_DIR}`,
      ENGINE_TRAIN_THREADS: '1',
      ENGINE_GIT_COMMIT: 'e2e0c0ffee',
      DROPBOX_APP_KEY: dropbox.appKey,
      DROPBOX_APP_SECRET: dropbox.appSecret,
      DROPBOX_REFRESH_TOKEN: dropbox.refreshToken,
      DROPBOX_API_URL: dropbox.url,
    };
    roles.push(new RoleProcess('scheduler', 'apps/scheduler/dist/main.js', env));
    roles.push(new RoleProcess('train-a', 'apps/worker/dist/main.js', { ...env, ENGINE_WORKER_ROLE: 'train', RUNPOD_POD_ID: 'pod-a' }));
    roles.push(new RoleProcess('train-b', 'apps/worker/dist/main.js', { ...env, ENGINE_WORKER_ROLE: 'train', RUNPOD_POD_ID: 'pod-b' }));
    roles.push(new RoleProcess('sync', 'apps/worker/dist/main.js', { ...env, ENGINE_WORKER_ROLE: 'sync' }));
    await Promise.all([
      roles[0]!.waitForLog(/scheduler ready/),
      roles[1]!.waitForLog(/training worker ready/),
      roles[2]!.waitForLog(/training worker ready/),
      roles[3]!.waitForLog(/sync worker ready/),
    ]);
    registryDb = createPgDb({ connectionString: db.url });
    registry = new Registry(registryDb);
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    trainQueue = new Queue(QUEUES.train, { connection: redis, prefix });
    runQueue = new Queue(QUEUES.run, { connection: redis, prefix });
    const u = new URL(REDIS_URL);
    events = new QueueEvents(QUEUES.train, { connection: { host: u.hostname, port: Number(u.port || 6379) }, prefix });
    events.on('progress', ({ data }) => stagesSeen.add((data as TrainProgress).stage));
    await events.waitUntilReady();
  });

  afterAll(async () => {
    const exits = await Promise.all(roles.map((r) => r.stop()));
    await cleanUp([
      () => events?.close(),
      () => trainQueue?.close(),
      () => runQueue?.close(),
      () => redis?.disconnect(),
      () => registryDb?.close(),
      () => dropbox?.close(),
      () => dropRedisPrefix(prefix),
      () => db?.drop(),
      () => dataDir && rm(dataDir, { recursive: true, force: true }),
    ]);
    // Every role drained and exited cleanly on SIGTERM.
    expect(exits.map((e) => e.code)).toEqual(roles.map(() => 0));
  });

  it('a run for three symbols ends with every model recorded and published in the Dropbox layout', async () => {
    const started = await cli('run-now', '--symbols', SYMBOLS.join(','), '--date', RUN_DATE, '--days', '30', '--training', TRAINING, '--json');
    expect(started).toMatchObject({ added: true, run_job_id: `run-${RUN_DATE}`, train_job_ids: ['train-2026-07-17-BTC-USDT', 'train-2026-07-17-ETH-USDT', 'train-2026-07-17-SUI-USDT'] });

    // The scheduler processes the parent once every child has finished.
    const summary = await until('the run to finish', async () => {
      const parent = await runQueue.getJob(`run-${RUN_DATE}`);
      if ((await parent?.getState()) !== 'completed') return undefined;
      // fetched again: a copy read just before completion holds no return value yet
      return ((await runQueue.getJob(`run-${RUN_DATE}`))?.returnvalue as RunResult | null) ?? undefined;
    }, 200_000, 500);
    expect(summary.failed).toEqual({});
    expect([...summary.published, ...summary.rejected].sort()).toEqual([...SYMBOLS].sort());

    // Both training workers took part; each job ran once and reported its stages.
    const jobs = await Promise.all(started.train_job_ids.map((id) => trainQueue.getJob(id)));
    expect(new Set(jobs.map((j) => j!.processedBy))).toEqual(new Set(['pod-a', 'pod-b']));
    for (const j of jobs) {
      expect(j!.attemptsMade).toBe(1);
      expect(j!.progress).toMatchObject({ stage: 'done', pct: 100 });
    }
    for (const stage of ['candles', 'fold', 'registry', 'done']) expect(stagesSeen).toContain(stage);
    // Bull Board's Logs tab: one line per stage and fold of each job (issue 19).
    for (const id of started.train_job_ids) {
      const { logs } = await trainQueue.getJobLogs(id);
      const stages = logs.map((l) => /^\S+ (\w+)/.exec(l)?.[1]);
      for (const stage of ['candles', 'features', 'labels', 'fold', 'final', 'export', 'registry', 'done']) expect([id, stages]).toEqual([id, expect.arrayContaining([stage])]);
      expect(logs.every((l) => /^\d{4}-\d{2}-\d{2}T\S+Z \w+/.test(l))).toBe(true);
    }

    // Every model synced: registry row + files in Dropbox with the manifest's hashes.
    const models = await until('three synced models', async () => {
      const ms = await registry.listModels({ limit: 10 });
      return ms.length === 3 && ms.every((m) => m.syncState === 'synced') ? ms : undefined;
    }, 60_000, 500);
    expect(models.map((m) => m.symbol).sort()).toEqual([...SYMBOLS].sort());
    for (const m of models) {
      expect(m.runDate).toBe(RUN_DATE);
      const slug = m.symbol.replace('/', '-');
      const detail = (await registry.getModel(m.id))!;
      const manifest = detail.manifest as ManifestCore;
      expect(manifest.model_id).toBe(m.id);
      expect((manifest as unknown as { engine: { git_commit: string | null } }).engine.git_commit).toBe('e2e0c0ffee');
      if (m.verdict === 'published') {
        expect(m.reasons).toEqual([]);
        const onnx = dropbox.files.get(`/Runpodhuracan/${RUN_DATE}/models/${slug}_model.onnx`);
        const meta = dropbox.files.get(`/Runpodhuracan/${RUN_DATE}/models/${slug}_metadata.json`);
        expect(onnx && sha256(onnx)).toBe(manifest.artifacts['model.onnx']);
        expect(JSON.parse(meta!.toString()).model_id).toBe(m.id);
      } else {
        expect(m.reasons.length).toBeGreaterThan(0);
        for (const r of m.reasons) expect(r).toMatch(/^[a-z_]+: .+ [<>] /);
        const dir = `/Runpodhuracan/${RUN_DATE}/rejected/${slug}`;
        const onnx = dropbox.files.get(`${dir}/model.onnx`);
        expect(onnx && sha256(onnx)).toBe(manifest.artifacts['model.onnx']);
        expect(JSON.parse(dropbox.files.get(`${dir}/manifest.json`)!.toString()).model_id).toBe(m.id);
        // A rejected model never lands where Hamilton looks.
        expect([...dropbox.files.keys()].filter((p) => p.startsWith(`/Runpodhuracan/${RUN_DATE}/models/${slug}`))).toEqual([]);
      }
      // Every bundle file is there, byte for byte what the manifest hashed.
      for (const [name, hash] of Object.entries(manifest.artifacts)) {
        const where =
          m.verdict === 'rejected'
            ? `/Runpodhuracan/${RUN_DATE}/rejected/${slug}/${name}`
            : name === 'model.onnx'
              ? `/Runpodhuracan/${RUN_DATE}/models/${slug}_model.onnx`
              : `/Runpodhuracan/${RUN_DATE}/models/${slug}/${name}`;
        const bytes = dropbox.files.get(where);
        expect(bytes && sha256(bytes)).toBe(hash);
      }
      const events = await registry.events(m.symbol);
      expect(events.filter((e) => e.event === 'synced' && e.modelId === m.id)).toHaveLength(1);
    }
  });

  it('a second trigger for the same day adds nothing', async () => {
    const before = await trainQueue.getJobCounts();
    const again = await cli('run-now', '--symbols', SYMBOLS.join(','), '--date', RUN_DATE, '--days', '30', '--training', TRAINING, '--json');
    expect(again).toMatchObject({ added: false, existing_state: 'completed' });
    expect(await trainQueue.getJobCounts()).toEqual(before);
    expect(await registry.listModels({ limit: 10 })).toHaveLength(3);
  });
});
