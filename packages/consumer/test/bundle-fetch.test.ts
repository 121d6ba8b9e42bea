import { serializeManifest, toJsonBytes, type LatestPointer } from '@engine/model';
import { ManifestInvalidError } from '../src/errors';
import { parseManifest, parsePointer } from '../src/bundle-fetch';
import { SYN, modelIdFor, trainPlanted, type TrainedFixture } from './support/bundles';

/**
 * `manifest.json` and `latest.json` are read with the contract's schemas (@engine/model),
 * against a manifest the real training pipeline wrote: every refusal is a
 * ManifestInvalidError that lists each problem as `path: message`.
 */
let fixture: TrainedFixture;

beforeAll(async () => {
  fixture = await trainPlanted({ seed: 11 });
}, 120_000);

const manifestJson = (): Record<string, unknown> => JSON.parse(Buffer.from(serializeManifest(fixture.bundle.manifest)).toString()) as Record<string, unknown>;

function refusal(run: () => unknown): ManifestInvalidError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestInvalidError);
    return err as ManifestInvalidError;
  }
  throw new Error('expected a ManifestInvalidError, nothing was thrown');
}

describe('parseManifest', () => {
  it('accepts the manifest training wrote, typed as the full ModelManifest', () => {
    const m = parseManifest(serializeManifest(fixture.bundle.manifest), SYN, 'test');
    expect(m).toEqual(fixture.bundle.manifest);
    expect(m.labelling.vol_window).toBeGreaterThan(0);
  });

  it('refuses a manifest that breaks the schema, naming every field and the origin', () => {
    const m = manifestJson();
    const tp = m.trading_params as Record<string, unknown>;
    tp.cooldown_seconds = -1;
    tp.max_trades_per_day = 2.5;
    delete (m.labelling as Record<string, unknown>).vol_window;
    (m.cost_model as Record<string, unknown>).fee_bps_per_side = 'ten';
    const err = refusal(() => parseManifest(toJsonBytes(m), SYN, 'folder:/pub/latest/SYN-USDT.json'));
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.message).toMatch(/^manifest\.json of folder:\/pub\/latest\/SYN-USDT\.json is not a valid ModelManifest \(engine-manifest\/1\): /);
    const problems = err.details.problems as string[];
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^trading_params\.cooldown_seconds: .*>=0/),
        expect.stringMatching(/^trading_params\.max_trades_per_day: .*int/i),
        expect.stringMatching(/^labelling\.vol_window: /),
        expect.stringMatching(/^cost_model\.fee_bps_per_side: .*expected number, received string/),
      ]),
    );
    for (const p of problems) expect(err.message).toContain(p);
    expect(err.details).toMatchObject({ symbol: SYN, file: 'manifest.json', modelId: fixture.bundle.manifest.model_id });
  });

  it('refuses a valid manifest of another symbol, and bytes that are not JSON', () => {
    const err = refusal(() => parseManifest(serializeManifest(fixture.bundle.manifest), 'ETH/USDT', 'test'));
    expect(err.message).toContain(`symbol: expected 'ETH/USDT', found "${SYN}"`);
    expect(refusal(() => parseManifest(Buffer.from('{"model_id":'), SYN, 'test')).message).toMatch(/manifest\.json of test is not valid JSON \(12 bytes\)/);
  });
});

describe('parsePointer', () => {
  const sha = 'a'.repeat(64);
  const pointer = (): LatestPointer => ({
    schema: 1,
    symbol: SYN,
    model_id: modelIdFor('pointer'),
    run_date: '2026-01-11',
    created_at: '2026-01-11T02:00:00.000Z',
    feature_recipe: { version: 'r1', hash: 'b'.repeat(64) },
    files: {
      'manifest.json': { path: '/Runpodhuracan/models/m/manifest.json', sha256: sha, content_hash: 'c', bytes: 10 },
      'model.onnx': { path: '/Runpodhuracan/models/m/model.onnx', sha256: sha, content_hash: 'c', bytes: 10 },
    },
  });

  it('accepts a pointer the publisher writes', () => {
    expect(parsePointer(toJsonBytes(pointer()), SYN, '/latest/SYN-USDT.json')).toEqual(pointer());
  });

  it('refuses a malformed pointer, naming each field', () => {
    const p = pointer() as unknown as Record<string, unknown> & { files: Record<string, Record<string, unknown>> };
    p.schema = 2;
    p.symbol = 'ETH/USDT';
    p.files['model.onnx']!.sha256 = 'xyz';
    const err = refusal(() => parsePointer(toJsonBytes(p), SYN, '/latest/SYN-USDT.json'));
    expect(err.message).toMatch(/^latest pointer \/latest\/SYN-USDT\.json for SYN\/USDT is malformed: /);
    expect(err.details.problems).toEqual([
      expect.stringMatching(/^schema: /),
      expect.stringMatching(/^files\.model\.onnx\.sha256: expected a SHA-256 hex digest/),
      `symbol: expected '${SYN}', found "ETH/USDT"`,
    ]);
  });

  it('refuses a pointer without the manifest or the ONNX model', () => {
    const p = pointer();
    delete p.files['model.onnx'];
    const err = refusal(() => parsePointer(toJsonBytes(p), SYN, 'x'));
    expect(err.details.problems).toEqual(["files: expected an entry for 'model.onnx', found manifest.json"]);
  });
});
