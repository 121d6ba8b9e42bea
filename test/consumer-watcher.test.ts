import {
  ArtifactHashMismatchError,
  GoldenVectorMismatchError,
  ModelFetchError,
  ModelWatcher,
  OnnxLoadError,
  RecipeMismatchError,
  Trader,
  type ModelRefusedError,
  type PollOutcome,
} from '@engine/consumer';
import { sha256Hex, type ModelBundle } from '@engine/model';
import { DropboxFiles } from '@engine/publish';
import { startFakeDropbox } from './fakes/fake-dropbox';
import { FIXTURE_GUARDS, SYN, alterFile, alterManifest, modelIdFor, publish, tempPublishFolder, trainPlanted, type TrainedFixture } from '../packages/consumer/test/support/bundles';

/**
 * Model updates: a watcher polls `latest.json`, verifies a new model in the background
 * and swaps it in between candles; a broken new model is refused (each kind with its own
 * error, reported through the `refused` event) and the current model stays in use.
 */
let a: TrainedFixture;
let b: TrainedFixture;
const cleanups: (() => void | Promise<void>)[] = [];

beforeAll(async () => {
  a = await trainPlanted({ seed: 11, runDate: '2026-01-11' });
  b = await trainPlanted({ seed: 12, runDate: '2026-01-12' });
}, 180_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A broken variant published as a new model (own id and run date, so A's files stay intact). */
function asNewModel(bundle: ModelBundle, label: string, runDate: string): ModelBundle {
  return alterManifest(bundle, (m) => {
    m.model_id = modelIdFor(label);
    m.run_date = runDate;
  });
}

function candleAt(f: TrainedFixture, i: number) {
  const c = f.candles;
  const r = f.reference;
  return {
    candle: { ts: c.ts[i]!, open: c.open[i]!, high: c.high[i]!, low: c.low[i]!, close: c.close[i]!, volume: c.volume[i]! },
    reference: { ts: r.ts[i]!, open: r.open[i]!, high: r.high[i]!, low: r.low[i]!, close: r.close[i]!, volume: r.volume[i]! },
  };
}

test('keeps the current model through four kinds of broken update, then swaps to a good one between candles', async () => {
  const folder = tempPublishFolder();
  cleanups.push(folder.cleanup);
  await publish(folder.files, a.bundle);
  const events: string[] = [];
  const refusals: ModelRefusedError[] = [];
  const watcher = new ModelWatcher({
    ...FIXTURE_GUARDS,
    symbol: SYN,
    source: { kind: 'folder', dir: folder.dir },
    intervalMs: 3_600_000, // polled by hand below
    onEvent: (event, payload) => {
      events.push(event);
      if (event === 'refused') refusals.push((payload as { error: ModelRefusedError }).error);
    },
  });
  cleanups.push(() => watcher.stop());
  const first = await watcher.start();
  expect(first.modelId).toBe(a.bundle.manifest.model_id);
  expect(await watcher.poll()).toEqual({ kind: 'unchanged', modelId: first.modelId });

  // The trader takes the watcher's current model at every candle.
  const trader = new Trader({ symbol: SYN, model: watcher });
  let i = 0;
  for (; i < 200; i++) {
    const { candle, reference } = candleAt(a, i);
    trader.warmUp(candle, reference);
  }
  const next = async () => {
    const { candle, reference } = candleAt(a, i++);
    return trader.onCandle(candle, reference);
  };
  expect((await next()).model_id).toBe(a.bundle.manifest.model_id);

  const broken: [string, ModelBundle, new (...args: never[]) => ModelRefusedError][] = [
    ['truncated ONNX', alterFile(asNewModel(a.bundle, 'truncated', '2026-01-13'), 'model.onnx', (x) => x.subarray(0, 100), { rehash: true }), OnnxLoadError],
    ['wrong hash', alterFile(asNewModel(a.bundle, 'wrong-hash', '2026-01-14'), 'model.json', (x) => Buffer.concat([x, Buffer.from(' ')]), { rehash: false }), ArtifactHashMismatchError],
    [
      'other recipe',
      alterManifest(asNewModel(a.bundle, 'other-recipe', '2026-01-15'), (m) => {
        (m.feature_recipe as { hash: string }).hash = sha256Hex(Buffer.from('recipe 0.9'));
      }),
      RecipeMismatchError,
    ],
    [
      'failing golden vectors',
      alterFile(
        asNewModel(a.bundle, 'golden', '2026-01-16'),
        'golden.json',
        (x) => {
          const g = JSON.parse(Buffer.from(x).toString()) as { rows: { confidence: number }[] };
          g.rows[0]!.confidence = 1 - g.rows[0]!.confidence;
          return Buffer.from(JSON.stringify(g));
        },
        { rehash: true },
      ),
      GoldenVectorMismatchError,
    ],
  ];
  for (const [what, bundle, errorClass] of broken) {
    await publish(folder.files, bundle);
    const outcome = await watcher.poll();
    expect({ what, kind: outcome.kind }).toEqual({ what, kind: 'refused' });
    const err = (outcome as Extract<PollOutcome, { kind: 'refused' }>).error;
    expect(err).toBeInstanceOf(errorClass);
    expect(err.message).toContain(bundle.manifest.model_id);
    expect(watcher.current()!.modelId).toBe(a.bundle.manifest.model_id);
    // The refused pointer is not fetched again until latest.json changes.
    expect((await watcher.poll()).kind).toBe('unchanged');
    // Trading goes on with the current model.
    expect((await next()).model_id).toBe(a.bundle.manifest.model_id);
  }
  expect(refusals.map((e) => e.constructor.name)).toEqual(['OnnxLoadError', 'ArtifactHashMismatchError', 'RecipeMismatchError', 'GoldenVectorMismatchError']);

  // A good model: verified in the background, current from the next candle on.
  const swapped = new Promise<string>((resolve) => watcher.once('swapped', ({ model, previous }) => resolve(`${previous?.modelId}->${model.modelId}`)));
  await publish(folder.files, b.bundle);
  const outcome = await watcher.poll();
  expect(outcome).toEqual({ kind: 'swapped', previous: a.bundle.manifest.model_id, modelId: b.bundle.manifest.model_id });
  expect(await swapped).toBe(`${a.bundle.manifest.model_id}->${b.bundle.manifest.model_id}`);
  const after = await next();
  expect(after.model_id).toBe(b.bundle.manifest.model_id);
  expect(events.filter((e) => e === 'swapped')).toHaveLength(2);
});

test('with the ONNX predictor, a swap during a candle applies from the next candle', async () => {
  const folder = tempPublishFolder();
  cleanups.push(folder.cleanup);
  await publish(folder.files, a.bundle);
  const watcher = new ModelWatcher({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir: folder.dir }, intervalMs: 3_600_000 });
  cleanups.push(() => watcher.stop());
  await watcher.start();
  const trader = new Trader({ symbol: SYN, model: watcher, predictor: 'onnx' });
  let i = 0;
  for (; i < 100; i++) {
    const { candle, reference } = candleAt(a, i);
    trader.warmUp(candle, reference);
  }
  await publish(folder.files, b.bundle);
  const { candle, reference } = candleAt(a, i++);
  // The candle starts with A; the poll swaps while onnxruntime scores it.
  const inFlight = trader.onCandle(candle, reference);
  const polled = watcher.poll();
  const d1 = await inFlight;
  await polled;
  expect(d1.model_id).toBe(a.bundle.manifest.model_id);
  expect(Number.isFinite(d1.edge_bps)).toBe(true);
  const c2 = candleAt(a, i);
  const d2 = await trader.onCandle(c2.candle, c2.reference);
  expect(d2.model_id).toBe(b.bundle.manifest.model_id);
});

test('polls on its own interval and picks up a new model', async () => {
  const folder = tempPublishFolder();
  cleanups.push(folder.cleanup);
  await publish(folder.files, a.bundle);
  const watcher = new ModelWatcher({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir: folder.dir }, intervalMs: 50 });
  cleanups.push(() => watcher.stop());
  await watcher.start();
  const swapped = new Promise<string>((resolve) => watcher.once('swapped', ({ model }) => resolve(model.modelId)));
  await publish(folder.files, b.bundle);
  expect(await swapped).toBe(b.bundle.manifest.model_id);
  expect(watcher.current()!.modelId).toBe(b.bundle.manifest.model_id);
});

test('a source that cannot be read (Dropbox 503) is a transient fetch failure; the model stays', async () => {
  let failing = false;
  const dbx = await startFakeDropbox({ failures: (req) => (failing && req.endpoint === 'files/download' ? { status: 503 } : undefined) });
  cleanups.push(() => dbx.close());
  const opts = { appKey: dbx.appKey, appSecret: dbx.appSecret, refreshToken: dbx.refreshToken, apiUrl: dbx.url };
  await publish(new DropboxFiles(opts), a.bundle);
  const watcher = new ModelWatcher({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'dropbox', config: { ...opts, maxAttempts: 1 } }, intervalMs: 3_600_000 });
  cleanups.push(() => watcher.stop());
  await watcher.start();
  failing = true;
  const outcome = await watcher.poll();
  expect(outcome.kind).toBe('fetch_failed');
  expect((outcome as Extract<PollOutcome, { kind: 'fetch_failed' }>).error).toBeInstanceOf(ModelFetchError);
  expect((outcome as Extract<PollOutcome, { kind: 'fetch_failed' }>).error.permanent).toBe(false);
  expect(watcher.current()!.modelId).toBe(a.bundle.manifest.model_id);
  failing = false;
  await publish(new DropboxFiles(opts), b.bundle);
  expect((await watcher.poll()).kind).toBe('swapped');
});
