import { readFileSync } from 'node:fs';
import path from 'node:path';
import { manifestJsonSchema, manifestJsonSchemaText, validateManifest, type ModelManifest } from '../src';

const SCHEMA_FILE = path.resolve(__dirname, '..', 'schema', 'manifest.schema.json');
/** A manifest written by `engine train` on the real BTC/USDT candles (rejected, as every model on that data). */
const REAL: ModelManifest = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'manifest-btc-usdt.json'), 'utf8')) as ModelManifest;
const copy = (): Record<string, unknown> => JSON.parse(JSON.stringify(REAL)) as Record<string, unknown>;

describe('manifest JSON Schema', () => {
  it('is published as packages/model/schema/manifest.schema.json, generated from the one zod definition (npm run schema -w @engine/model)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(manifestJsonSchemaText());
    const s = manifestJsonSchema();
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s.additionalProperties).toBe(false);
    expect((s.properties as Record<string, { required?: string[] }>).artifacts!.required).toEqual(['model.onnx', 'model.json', 'golden.json']);
  });
});

describe('validateManifest', () => {
  it('accepts a real manifest', () => {
    expect(validateManifest(REAL)).toEqual({ ok: true, manifest: REAL });
  });

  it('names the path and the rule of every problem', () => {
    const m = copy();
    const tp = m.trading_params as Record<string, unknown>;
    tp.cooldown_seconds = -1;
    delete tp.max_trades_per_day;
    m.model_id = 'not-a-uuid';
    m.surprise = 1;
    (m.artifacts as Record<string, string>)['model.onnx'] = 'abc';
    const r = validateManifest(m);
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^trading_params\.cooldown_seconds: .*>=0/),
        expect.stringMatching(/^trading_params\.max_trades_per_day: /),
        expect.stringMatching(/^model_id: .*UUID/i),
        expect.stringMatching(/^\(manifest\): .*surprise/),
        expect.stringMatching(/^artifacts\.model\.onnx: /),
      ]),
    );
  });

  it('requires the files every bundle has', () => {
    const m = copy();
    delete (m.artifacts as Record<string, string>)['golden.json'];
    const r = validateManifest(m);
    expect(r.ok ? [] : r.problems).toEqual([expect.stringMatching(/^artifacts: .*golden\.json/)]);
  });

  it('refuses a manifest of another layout version', () => {
    const r = validateManifest({ ...copy(), schema_version: 'engine-manifest/2' });
    expect(r.ok ? [] : r.problems).toEqual([expect.stringMatching(/^schema_version: /)]);
  });
});
