import { RECIPE } from '@engine/features';
import { DropboxFiles } from '@engine/publish';
import {
  ArtifactHashMismatchError,
  GoldenVectorMismatchError,
  ManifestInvalidError,
  ModelExpiredError,
  ModelNotFoundError,
  ModelRefusedError,
  ModelRejectedError,
  Trader,
  OnnxLoadError,
  RecipeMismatchError,
  openBundle,
  openModel,
  type LiveModel,
} from '@engine/consumer';
import type { ModelBundle } from '@engine/model';
import { startFakeDropbox, type FakeDropbox } from './fakes/fake-dropbox';
import { FIXTURE_GUARDS, SYN, alterFile, alterManifest, modelIdFor, publish, tempPublishFolder, trainPlanted, type TrainedFixture } from '../packages/consumer/test/support/bundles';

/**
 * Opening a published model: every check a live trader relies on, against bundles the
 * real training pipeline produced and the registry's publisher wrote. Each broken bundle
 * is refused with its own named error that says which file and what was expected.
 */
let fixture: TrainedFixture;
const folders: (() => void)[] = [];
const opened: LiveModel[] = [];

beforeAll(async () => {
  fixture = await trainPlanted({ seed: 11 });
}, 120_000);

afterAll(async () => {
  for (const m of opened) await m.close();
  for (const c of folders) c();
});

async function publishedFolder(bundle: ModelBundle): Promise<string> {
  const f = tempPublishFolder();
  folders.push(f.cleanup);
  await publish(f.files, bundle);
  return f.dir;
}

async function refusal(bundle: ModelBundle): Promise<ModelRefusedError> {
  const dir = await publishedFolder(bundle);
  const err = await openModel({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir } }).then(
    (m) => {
      opened.push(m);
      return null;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelRefusedError);
  return err as ModelRefusedError;
}

describe('freshness: rejected and expired models are refused unless the caller says otherwise (issue 19)', () => {
  const passed = (b: ModelBundle, expiresAt: string) =>
    alterManifest(b, (m) => {
      const g = m.gates as { passed: boolean; failed: string[] };
      g.passed = true;
      g.failed = [];
      m.expires_at = expiresAt;
    });

  test('a rejected model is refused by name, with the gates it failed; allowRejected opens it', async () => {
    const rejected = alterManifest(fixture.bundle, (m) => {
      const g = m.gates as { passed: boolean; failed: string[] };
      g.passed = false;
      g.failed = ['sharpe_ratio', 'total_trades'];
    });
    const dir = await publishedFolder(rejected);
    const err = await openModel({ symbol: SYN, source: { kind: 'folder', dir }, allowExpired: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelRejectedError);
    expect((err as ModelRejectedError).code).toBe('MODEL_REJECTED');
    expect((err as Error).message).toMatch(/rejected by its gates \(failed: sharpe_ratio, total_trades\).*allowRejected/);
    const m = await openModel({ symbol: SYN, source: { kind: 'folder', dir }, allowExpired: true, allowRejected: true });
    opened.push(m);
    await expect(openBundle(rejected, { allowExpired: true })).rejects.toThrow(ModelRejectedError);
  });

  test('an expired model is refused at open, by the caller\'s clock; allowExpired opens it', async () => {
    const b = passed(fixture.bundle, '2026-01-13T02:00:00.000Z');
    const before = Date.parse('2026-01-13T01:59:00Z');
    const m = await openBundle(b, { now: () => before });
    opened.push(m);
    expect(m.expiresAt).toBe(Date.parse('2026-01-13T02:00:00.000Z'));
    const err = await openBundle(b, { now: () => before + 2 * 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelExpiredError);
    expect((err as Error).message).toMatch(/expired at 2026-01-13T02:00:00.000Z \(it is now 2026-01-13T02:01:00.000Z\).*allowExpired/);
    // Today's wall clock is far past it: the default refuses.
    await expect(openBundle(b)).rejects.toThrow(ModelExpiredError);
    opened.push(await openBundle(b, { allowExpired: true }));
  });

  test('a running trader stops entering once a candle passes the expiry, and says why', async () => {
    // Expiry in the middle of the fixture's candles: entries before it, none after.
    const c = fixture.candles;
    const mid = c.ts[Math.floor(c.ts.length * 0.6)]!;
    const b = passed(fixture.bundle, new Date(mid).toISOString());
    const model = await openBundle(b, { now: () => c.ts[0]! });
    opened.push(model);
    const low = alterManifest(b, (m) => ((m.trading_params as { recommended_edge_threshold_bps: number }).recommended_edge_threshold_bps = -1000));
    const eager = await openBundle(low, { now: () => c.ts[0]! });
    opened.push(eager);
    const trader = new Trader({ symbol: SYN, model: eager });
    const at = (s: typeof c, i: number) => ({ ts: s.ts[i]!, open: s.open[i]!, high: s.high[i]!, low: s.low[i]!, close: s.close[i]!, volume: s.volume[i]!, gap: s.gap[i]! });
    const reasons = { before: new Map<string, number>(), after: new Map<string, number>() };
    for (let i = 0; i < c.ts.length; i++) {
      const d = trader.onCandleSync(at(c, i), at(fixture.reference, i));
      const side = d.decision_ts > mid ? reasons.after : reasons.before;
      side.set(d.reason, (side.get(d.reason) ?? 0) + 1);
    }
    expect(reasons.before.get('enter') ?? 0).toBeGreaterThan(0);
    expect(reasons.after.get('enter') ?? 0).toBe(0);
    expect(reasons.after.get('model_expired') ?? 0).toBeGreaterThan(1000);
    expect(reasons.before.get('model_expired') ?? 0).toBe(0);
  });
});

test('opens a published model from a folder: hashes, recipe, golden vectors, ONNX on CPU', async () => {
  const dir = await publishedFolder(fixture.bundle);
  const model = await openModel({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir } });
  opened.push(model);
  expect(model.modelId).toBe(fixture.bundle.manifest.model_id);
  expect(model.symbol).toBe(SYN);
  expect(model.manifest.feature_recipe.hash).toBe(RECIPE.hash);
  // No CUDA provider library here: CPU, and the reason is recorded.
  expect(model.provider).toBe('cpu');
  expect(model.providerNote).toMatch(/CUDA|cuda/);
  expect(model.golden.rows).toBe(fixture.bundle.manifest.artifacts['golden.json'] ? JSON.parse(Buffer.from(fixture.bundle.files.find((f) => f.name === 'golden.json')!.bytes).toString()).rows.length : -1);
  expect(model.golden.onnx_max_rel_error).toBeLessThanOrEqual(1e-5);
  expect(model.golden.native_max_rel_error).toBe(0);
  expect(model.tradingRules.threshold_bps).toBe(fixture.bundle.manifest.trading_params.recommended_edge_threshold_bps);

  // Both predictors agree on a real feature row.
  const golden = JSON.parse(Buffer.from(fixture.bundle.files.find((f) => f.name === 'golden.json')!.bytes).toString()) as { rows: { inputs: (number | null)[] }[] };
  const row = Float64Array.from(golden.rows[golden.rows.length - 2]!.inputs, (v) => (v === null ? NaN : v));
  const a = model.predictNative(row);
  const b = await model.predictOnnx(row);
  expect(Math.abs(a.edge_bps - b.edge_bps)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(a.edge_bps)));
  expect(a.confidence).toBeGreaterThanOrEqual(0);
  expect(a.confidence).toBeLessThanOrEqual(1);
  expect(Math.abs(a.confidence - b.confidence)).toBeLessThanOrEqual(1e-5);
});

test('opens the same model from Dropbox through the real SDK (fake Dropbox server)', async () => {
  let dbx: FakeDropbox | null = null;
  try {
    dbx = await startFakeDropbox();
    const files = new DropboxFiles({ appKey: dbx.appKey, appSecret: dbx.appSecret, refreshToken: dbx.refreshToken, apiUrl: dbx.url });
    await publish(files, fixture.bundle);
    const model = await openModel({
      ...FIXTURE_GUARDS,
      symbol: SYN,
      source: { kind: 'dropbox', config: { appKey: dbx.appKey, appSecret: dbx.appSecret, refreshToken: dbx.refreshToken, apiUrl: dbx.url } },
    });
    opened.push(model);
    expect(model.modelId).toBe(fixture.bundle.manifest.model_id);
    expect(model.origin).toMatch(/dropbox/);
    expect(dbx.requests.some((r) => r.endpoint === 'files/download' && String(r.arg.path).endsWith('/latest/SYN-USDT.json'))).toBe(true);
  } finally {
    await dbx?.close();
  }
});

test('no latest.json: ModelNotFoundError naming the pointer path', async () => {
  const f = tempPublishFolder();
  folders.push(f.cleanup);
  await expect(openModel({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir: f.dir } })).rejects.toThrow(ModelNotFoundError);
  await expect(openModel({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir: f.dir } })).rejects.toThrow(/\/Runpodhuracan\/latest\/SYN-USDT\.json/);
});

test('truncated ONNX (as a cut-off upload): refused by its hash, naming file, expected and found', async () => {
  const broken = alterFile(fixture.bundle, 'model.onnx', (b) => b.subarray(0, Math.floor(b.length / 2)), { rehash: false });
  const err = await refusal(broken);
  expect(err).toBeInstanceOf(ArtifactHashMismatchError);
  const e = err as ArtifactHashMismatchError;
  expect(e.file).toBe('model.onnx');
  expect(e.expected).toBe(fixture.bundle.manifest.artifacts['model.onnx']);
  expect(e.found).not.toBe(e.expected);
  expect(e.message).toMatch(/model\.onnx.*SHA-256 [0-9a-f]{64}, manifest expects [0-9a-f]{64}/);
});

test('truncated ONNX with a matching hash (broken at the source): onnxruntime refuses it, OnnxLoadError', async () => {
  const broken = alterFile(fixture.bundle, 'model.onnx', (b) => b.subarray(0, Math.floor(b.length / 2)), { rehash: true });
  const err = await refusal(broken);
  expect(err).toBeInstanceOf(OnnxLoadError);
  expect(err.message).toMatch(/model\.onnx/);
});

test('wrong hash in the manifest: ArtifactHashMismatchError for that file', async () => {
  const broken = alterManifest(fixture.bundle, (m) => {
    (m.artifacts as Record<string, string>)['golden.json'] = '0'.repeat(64);
  });
  const err = await refusal(broken);
  expect(err).toBeInstanceOf(ArtifactHashMismatchError);
  expect((err as ArtifactHashMismatchError).file).toBe('golden.json');
  expect((err as ArtifactHashMismatchError).expected).toBe('0'.repeat(64));
});

test('a file swapped after publishing: refused against latest.json before the manifest is trusted', async () => {
  const f = tempPublishFolder();
  folders.push(f.cleanup);
  const pointer = await publish(f.files, fixture.bundle);
  await f.files.upload(pointer.files['model.json']!.path, Buffer.from('{"format":"engine-gbdt"}'));
  const err = await openModel({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir: f.dir } }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ArtifactHashMismatchError);
  expect((err as Error).message).toMatch(/'model\.json'.*latest\.json expects/);
});

test('another feature recipe: RecipeMismatchError with both hashes', async () => {
  const other = 'f'.repeat(64);
  const broken = alterManifest(fixture.bundle, (m) => {
    (m.feature_recipe as { hash: string }).hash = other;
  });
  const err = await refusal(broken);
  expect(err).toBeInstanceOf(RecipeMismatchError);
  expect(err.message).toContain(other);
  expect(err.message).toContain(RECIPE.hash);
  expect(err.details).toMatchObject({ expected: RECIPE.hash, found: other });
});

test('failing golden vectors: GoldenVectorMismatchError naming the row, output and both values', async () => {
  const broken = alterFile(
    fixture.bundle,
    'golden.json',
    (b) => {
      const g = JSON.parse(Buffer.from(b).toString()) as { rows: { predicted_edge_bps: number }[] };
      g.rows[3]!.predicted_edge_bps += 0.5;
      return Buffer.from(JSON.stringify(g));
    },
    { rehash: true },
  );
  const err = await refusal(broken);
  expect(err).toBeInstanceOf(GoldenVectorMismatchError);
  expect(err.message).toMatch(/golden vector 3, output predicted_edge_bps/);
  expect(err.details).toMatchObject({ row: 3, output: 'predicted_edge_bps' });
});

test('model outputs that drift from training (native trees altered, hashes consistent): refused by the golden vectors', async () => {
  const broken = alterFile(
    fixture.bundle,
    'model.json',
    (b) => {
      const j = JSON.parse(Buffer.from(b).toString()) as { base_score: number };
      j.base_score += 1;
      return Buffer.from(JSON.stringify(j));
    },
    { rehash: true },
  );
  const err = await refusal(broken);
  expect(err).toBeInstanceOf(GoldenVectorMismatchError);
  expect(err.message).toMatch(/native \(model\.json\)/);
});

test('a model that needs features outside the recipe is refused', async () => {
  const broken = alterManifest(fixture.bundle, (m) => {
    m.extra_features = ['future_label'];
  });
  const err = await refusal(broken);
  expect(err).toBeInstanceOf(RecipeMismatchError);
  expect(err.message).toMatch(/future_label/);
});

test('a manifest that breaks the manifest schema: ManifestInvalidError naming the fields, before anything is loaded', async () => {
  const broken = alterManifest(fixture.bundle, (m) => {
    const tp = m.trading_params as Record<string, unknown>;
    tp.cooldown_seconds = '900';
    delete tp.max_trades_per_day;
  });
  const err = await refusal(broken);
  expect(err).toBeInstanceOf(ManifestInvalidError);
  expect(err.message).toMatch(/manifest\.json of .*SYN-USDT\.json is not a valid ModelManifest/);
  expect(err.message).toMatch(/trading_params\.cooldown_seconds: .*expected number, received string/);
  expect(err.message).toMatch(/trading_params\.max_trades_per_day: /);
});

test('a golden.json that is not a golden file (hashes consistent): GoldenVectorMismatchError naming the row', async () => {
  const broken = alterFile(
    fixture.bundle,
    'golden.json',
    (b) => {
      const g = JSON.parse(Buffer.from(b).toString()) as { rows: { inputs: unknown[] }[] };
      g.rows[2]!.inputs[0] = 'NaN';
      return Buffer.from(JSON.stringify(g));
    },
    { rehash: true },
  );
  const err = await refusal(broken);
  expect(err).toBeInstanceOf(GoldenVectorMismatchError);
  expect(err.message).toMatch(/golden\.json is not a valid golden file: rows\.2\.inputs\.0: .*expected number, received string/);
});

test('latest.json naming another model than its manifest: ManifestInvalidError', async () => {
  const f = tempPublishFolder();
  folders.push(f.cleanup);
  const pointer = await publish(f.files, fixture.bundle);
  const wrong = { ...pointer, model_id: modelIdFor('someone else') };
  await f.files.upload('/Runpodhuracan/latest/SYN-USDT.json', Buffer.from(JSON.stringify(wrong)));
  await expect(openModel({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir: f.dir } })).rejects.toThrow(ManifestInvalidError);
});

test('openBundle checks an in-memory bundle the same way', async () => {
  const model = await openBundle(fixture.bundle, FIXTURE_GUARDS);
  opened.push(model);
  expect(model.modelId).toBe(fixture.bundle.manifest.model_id);
  await expect(openBundle(alterManifest(fixture.bundle, (m) => ((m.feature_recipe as { hash: string }).hash = 'a'.repeat(64))), FIXTURE_GUARDS)).rejects.toThrow(RecipeMismatchError);
});
