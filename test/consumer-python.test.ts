import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { RECIPE } from '@engine/features';
import { SYN, alterFile, alterManifest, publish, tempPublishFolder, trainPlanted, type TrainedFixture } from '../packages/consumer/test/support/bundles';
import type { ModelBundle } from '@engine/model';
import { REPO_ROOT, SYSTEM_PYTHON } from './support/paths';

/**
 * What a Python Hamilton gets: `packages/consumer/python/load_model.py` resolves the
 * published model, verifies every hash, validates the manifest against the published JSON
 * Schema (standard-library validator), and checks the ONNX files with python3-onnx's
 * checker. Run with Debian's python3 (onnx installed, onnxruntime not).
 */
const SCRIPT = path.join(REPO_ROOT, 'packages', 'consumer', 'python', 'load_model.py');
const SCHEMA = path.join(REPO_ROOT, 'packages', 'model', 'schema', 'manifest.schema.json');
let fixture: TrainedFixture;
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  fixture = await trainPlanted({ seed: 11 });
}, 120_000);
afterAll(() => cleanups.forEach((c) => c()));

interface Summary {
  ok: boolean;
  error?: string;
  model_id?: string;
  schema_valid?: boolean;
  files_verified?: string[];
  onnx_checker?: { checked: boolean; models: Record<string, { nodes: string[]; opsets: Record<string, number> }> };
  golden?: { ran: boolean; reason?: string };
}

function run(args: string[]): { status: number | null; summary: Summary; stderr: string } {
  const r = spawnSync(SYSTEM_PYTHON, ['-B', SCRIPT, ...args, '--json'], { encoding: 'utf8', timeout: 60_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let summary: Summary;
  try {
    summary = JSON.parse(line) as Summary;
  } catch {
    throw new Error(`load_model.py printed no JSON line (status ${r.status}): ${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, summary, stderr: r.stderr };
}

async function published(bundle: ModelBundle): Promise<string> {
  const f = tempPublishFolder();
  cleanups.push(f.cleanup);
  await publish(f.files, bundle);
  return f.dir;
}

test('the published schema exists where the script looks for it', () => {
  expect(existsSync(SCHEMA)).toBe(true);
});

test('load_model.py accepts a published model: hashes, schema, onnx.checker on every ONNX file', async () => {
  const dir = await published(fixture.bundle);
  const { status, summary } = run(['--root', dir, '--symbol', SYN, '--recipe-hash', RECIPE.hash, '--schema', SCHEMA]);
  expect(summary.error).toBeUndefined();
  expect(status).toBe(0);
  expect(summary.ok).toBe(true);
  expect(summary.model_id).toBe(fixture.bundle.manifest.model_id);
  expect(summary.schema_valid).toBe(true);
  expect(summary.files_verified).toEqual(Object.keys(fixture.bundle.manifest.artifacts).sort());
  expect(summary.onnx_checker?.checked).toBe(true);
  const onnxFiles = fixture.bundle.files.map((f) => f.name).filter((n) => n.endsWith('.onnx')).sort();
  expect(onnxFiles).toContain('model.onnx');
  expect(Object.keys(summary.onnx_checker!.models).sort()).toEqual(onnxFiles);
  expect(summary.onnx_checker!.models['model.onnx']!.nodes).toContain('TreeEnsembleRegressor');
  expect(summary.onnx_checker!.models['model.onnx']!.opsets['ai.onnx.ml']).toBeGreaterThanOrEqual(1);
  // onnxruntime is not installed for Debian's python here: the script says so instead of pretending.
  expect(summary.golden?.ran).toBe(false);
  expect(summary.golden?.reason).toMatch(/onnxruntime|numpy/);
});

test('load_model.py refuses a manifest that breaks the schema, naming the field', async () => {
  const broken = alterManifest(fixture.bundle, (m) => {
    (m.trading_params as Record<string, unknown>).cooldown_seconds = '900';
  });
  const { status, summary } = run(['--root', await published(broken), '--symbol', SYN, '--schema', SCHEMA]);
  expect(status).toBe(1);
  expect(summary.ok).toBe(false);
  expect(summary.error).toMatch(/\$\.trading_params\.cooldown_seconds: expected (number|integer)/);
});

test('load_model.py refuses a file whose hash differs from the manifest', async () => {
  const broken = alterFile(fixture.bundle, 'model.onnx', (b) => b.subarray(0, b.length - 10), { rehash: false });
  const { status, summary } = run(['--root', await published(broken), '--symbol', SYN, '--schema', SCHEMA]);
  expect(status).toBe(1);
  expect(summary.error).toMatch(/model\.onnx.*SHA-256 [0-9a-f]{64}, manifest expects [0-9a-f]{64}/);
});

test('load_model.py refuses another recipe and a truncated ONNX (onnx.checker)', async () => {
  const dir = await published(fixture.bundle);
  const other = run(['--root', dir, '--symbol', SYN, '--recipe-hash', '0'.repeat(64), '--schema', SCHEMA]);
  expect(other.status).toBe(1);
  expect(other.summary.error).toMatch(/feature_recipe\.hash is [0-9a-f]{64}, this trader computes 0{64}/);
  const truncated = alterFile(fixture.bundle, 'model.onnx', (b) => b.subarray(0, Math.floor(b.length / 2)), { rehash: true });
  const t = run(['--root', await published(truncated), '--symbol', SYN, '--schema', SCHEMA]);
  expect(t.status).toBe(1);
  expect(t.summary.error).toMatch(/DecodeError|ValidationError|Error/);
});

test('the standard-library validator handles the keywords the schema uses and rejects unknown ones', () => {
  const code = `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.dirname(SCRIPT))})
from schema_subset import validate, SchemaError
s = {"type": "object", "required": ["a"], "additionalProperties": False,
     "properties": {"a": {"type": "integer", "minimum": 0}, "b": {"$ref": "#/$defs/h"},
                    "c": {"anyOf": [{"type": "null"}, {"type": "string", "format": "date"}]}},
     "$defs": {"h": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}
out = {
  "valid": validate({"a": 1, "b": "0" * 64, "c": None}, s),
  "invalid": validate({"a": -1.5, "b": "xyz", "c": "2026-13", "d": 1}, s),
}
try:
  validate(1, {"unknownKeyword": 1}); out["unknown"] = "accepted"
except SchemaError as e:
  out["unknown"] = str(e)
print(json.dumps(out))`;
  const r = spawnSync(SYSTEM_PYTHON, ['-B', '-c', code], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as { valid: string[]; invalid: string[]; unknown: string };
  expect(out.valid).toEqual([]);
  expect(out.invalid).toEqual([
    '$.a: expected integer, found number',
    "$.b: 'xyz' does not match /^[0-9a-f]{64}$/",
    '$.c: matches none of anyOf',
    "$: property 'd' is not allowed",
  ]);
  expect(out.unknown).toMatch(/unsupported schema keyword\(s\) unknownKeyword/);
});
