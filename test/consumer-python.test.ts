import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RECIPE } from '@engine/features';
import { GOLDEN_TOLERANCE, goldenRelativeError, reproducesGolden, serializeManifest } from '@engine/model';
import { SYN, alterFile, alterManifest, publish, tempPublishFolder, trainPlanted, type TrainedFixture } from '../packages/consumer/test/support/bundles';
import type { ModelBundle } from '@engine/model';
import { REPO_ROOT, SYSTEM_PYTHON } from './support/paths';

/**
 * What a Python Hamilton gets: `packages/consumer/python/load_model.py` resolves the
 * published model, verifies every hash, validates the manifest against the published JSON
 * Schema (the `jsonschema` package when importable, else the standard-library validator),
 * and checks the ONNX files with python3-onnx's checker. Run with Debian's python3
 * (jsonschema and onnx installed, onnxruntime not); `python3 -S` (no site packages) is a
 * bare machine with the standard library only.
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
  skipped_checks?: { check: string; reason: string }[];
  validator?: { name: 'jsonschema' | 'schema_subset'; reason?: string; version?: string; draft?: string; format_checker?: boolean; formats_from_subset?: string[] };
}

/** Run the loader; `pythonFlags: ['-S']` hides the site packages (jsonschema, onnx), as on a bare machine. */
function run(args: string[], pythonFlags: string[] = [], timeoutMs = 60_000, guards: 'fixture' | 'strict' = 'fixture'): { status: number | null; summary: Summary; stderr: string } {
  // Fixture bundles are old (expired) and mostly rejected by design: every test but the
  // freshness ones lifts both refusals, as a research check would (see FIXTURE_GUARDS).
  const lift = guards === 'fixture' ? ['--allow-rejected', '--allow-expired'] : [];
  const r = spawnSync(SYSTEM_PYTHON, ['-B', ...pythonFlags, SCRIPT, ...args, ...lift, '--json'], { encoding: 'utf8', timeout: timeoutMs });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let summary: Summary;
  try {
    summary = JSON.parse(line) as Summary;
  } catch {
    throw new Error(`load_model.py printed no JSON line (status ${r.status}): ${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, summary, stderr: r.stderr };
}

/** A bundle folder (`--bundle`): every file plus manifest.json. */
async function bundleFolder(bundle: ModelBundle): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-python-bundle-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of bundle.files) writeFileSync(path.join(dir, f.name), f.bytes);
  writeFileSync(path.join(dir, 'manifest.json'), serializeManifest(bundle.manifest));
  return dir;
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
  const { status, summary } = run(['--root', dir, '--symbol', SYN, '--recipe-hash', RECIPE.hash, '--schema', SCHEMA, '--skip-onnx-checks']);
  expect(summary.error).toBeUndefined();
  expect(status).toBe(0);
  expect(summary.ok).toBe(true);
  expect(summary.model_id).toBe(fixture.bundle.manifest.model_id);
  expect(summary.schema_valid).toBe(true);
  // jsonschema is importable here, so it validated (Draft 2020-12 with its format checker).
  expect(summary.validator).toMatchObject({ name: 'jsonschema', draft: '2020-12', format_checker: true });
  expect(summary.files_verified).toEqual(Object.keys(fixture.bundle.manifest.artifacts).sort());
  expect(summary.onnx_checker?.checked).toBe(true);
  const onnxFiles = fixture.bundle.files.map((f) => f.name).filter((n) => n.endsWith('.onnx')).sort();
  expect(onnxFiles).toContain('model.onnx');
  expect(Object.keys(summary.onnx_checker!.models).sort()).toEqual(onnxFiles);
  expect(summary.onnx_checker!.models['model.onnx']!.nodes).toContain('TreeEnsembleRegressor');
  expect(summary.onnx_checker!.models['model.onnx']!.opsets['ai.onnx.ml']).toBeGreaterThanOrEqual(1);
  // onnxruntime is not installed for Debian's python here: skipped only because the caller
  // said so, and the summary lists it.
  expect(summary.golden?.ran).toBe(false);
  expect(summary.golden?.reason).toMatch(/onnxruntime|numpy/);
  expect(summary.skipped_checks).toEqual([{ check: 'golden_vectors', reason: expect.stringMatching(/onnxruntime|numpy/) }]);
});

test('load_model.py accepts a short model priced on a USDⓈ-M maker-entry profile (cost-v2), with both validators', async () => {
  const v2 = await trainPlanted({ seed: 12, overrides: { cost_profile: 'binance-usdm-maker-entry', costs: { funding: { mode: 'constant' } }, labels: { side: 'short' } } });
  expect(v2.bundle.manifest.cost_model.version).toBe('cost-v2');
  const dir = await published(v2.bundle);
  for (const validator of ['jsonschema', 'subset']) {
    const { status, summary } = run(['--root', dir, '--symbol', SYN, '--recipe-hash', RECIPE.hash, '--schema', SCHEMA, '--skip-onnx-checks', '--validator', validator]);
    expect([validator, summary.error, status, summary.schema_valid]).toEqual([validator, undefined, 0, true]);
  }
}, 120_000);

test('load_model.py accepts a side-both bundle: both ONNX files checked, both golden files paired', async () => {
  const both = await trainPlanted({ seed: 13, overrides: { labels: { side: 'both' } } });
  expect(both.bundle.manifest.trading_params.side).toBe('both');
  const { status, summary } = run(['--root', await published(both.bundle), '--symbol', SYN, '--recipe-hash', RECIPE.hash, '--schema', SCHEMA, '--skip-onnx-checks']);
  expect([summary.error, status, summary.schema_valid]).toEqual([undefined, 0, true]);
  expect(summary.files_verified).toEqual(expect.arrayContaining(['model-short.onnx', 'golden-short.json', 'model-short.json', 'confidence-short.json']));
  expect(Object.keys(summary.onnx_checker!.models).sort()).toEqual(['model-short.onnx', 'model.onnx']);
}, 120_000);

test('load_model.py accepts an ensemble bundle (issue 17): onnx.checker passes its one graph of trees, linear term and heads', async () => {
  const ens = await trainPlanted({ seed: 14, overrides: { family: { name: 'ensemble', rf: { nEstimators: 20 } } } });
  expect(ens.bundle.manifest.model_family?.name).toBe('ensemble');
  const { status, summary } = run(['--root', await published(ens.bundle), '--symbol', SYN, '--recipe-hash', RECIPE.hash, '--schema', SCHEMA, '--skip-onnx-checks']);
  expect([summary.error, status, summary.schema_valid]).toEqual([undefined, 0, true]);
  expect(summary.onnx_checker?.checked).toBe(true);
  expect(summary.onnx_checker!.models['model.onnx']!.nodes).toEqual(expect.arrayContaining(['TreeEnsembleRegressor', 'LinearRegressor', 'Add', 'Mul', 'Sigmoid', 'IsNaN', 'Where']));
}, 120_000);

test('load_model.py refuses a rejected model and an expired one unless told otherwise (issue 19)', async () => {
  const fresh = alterManifest(fixture.bundle, (m) => {
    const g = m.gates as { passed: boolean; failed: string[] };
    g.passed = true;
    g.failed = [];
    m.expires_at = '2026-01-13T02:00:00.000Z';
  });
  const rejected = alterManifest(fresh, (m) => {
    const g = m.gates as { passed: boolean; failed: string[] };
    g.passed = false;
    g.failed = ['sharpe_ratio'];
  });
  const base = ['--symbol', SYN, '--schema', SCHEMA, '--skip-onnx-checks'];
  const freshDir = await published(fresh);
  const ok = run(['--root', freshDir, ...base, '--now', '2026-01-13T01:00:00Z'], [], 60_000, 'strict');
  expect([ok.status, ok.summary.ok, ok.summary.error]).toEqual([0, true, undefined]);
  const late = run(['--root', freshDir, ...base, '--now', '2026-01-13T02:01:00Z'], [], 60_000, 'strict');
  expect(late.status).toBe(1);
  expect(late.summary.error).toMatch(/expired at 2026-01-13T02:00:00.000Z \(it is now 2026-01-13T02:01:00Z\).*--allow-expired/);
  // Today's clock, no --now: refused too.
  expect(run(['--root', freshDir, ...base], [], 60_000, 'strict').status).toBe(1);
  expect(run(['--root', freshDir, ...base, '--allow-expired'], [], 60_000, 'strict').status).toBe(0);
  const rej = run(['--bundle', await bundleFolder(rejected), '--schema', SCHEMA, '--skip-onnx-checks', '--now', '2026-01-13T01:00:00Z'], [], 60_000, 'strict');
  expect(rej.status).toBe(1);
  expect(rej.summary.ok).toBe(false);
  expect(rej.summary.error).toMatch(/rejected by its gates \(failed: sharpe_ratio\).*--allow-rejected/);
  const research = run(['--bundle', await bundleFolder(rejected), '--schema', SCHEMA, '--skip-onnx-checks', '--now', '2026-01-13T01:00:00Z', '--allow-rejected'], [], 60_000, 'strict');
  expect(research.status).toBe(0);
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

describe.each(['jsonschema', 'subset'] as const)('--validator %s', (validator) => {
  const name = validator === 'subset' ? 'schema_subset' : 'jsonschema';

  test('accepts the published model and says which validator ran', async () => {
    const { status, summary } = run(['--root', await published(fixture.bundle), '--symbol', SYN, '--schema', SCHEMA, '--validator', validator, '--skip-onnx-checks']);
    expect(summary.error).toBeUndefined();
    expect(status).toBe(0);
    expect(summary.schema_valid).toBe(true);
    expect(summary.validator?.name).toBe(name);
  });

  test('refuses the same broken fields, each named by its path', async () => {
    const broken = alterManifest(fixture.bundle, (m) => {
      (m.trading_params as Record<string, unknown>).cooldown_seconds = '900';
      delete (m.labelling as Record<string, unknown>).vol_window;
      m.surprise = true;
    });
    const { status, summary } = run(['--root', await published(broken), '--symbol', SYN, '--schema', SCHEMA, '--validator', validator]);
    expect(status).toBe(1);
    expect(summary.validator?.name).toBe(name);
    expect(summary.error).toMatch(new RegExp(`^ModelRefused: manifest\\.json does not match manifest\\.schema\\.json \\(${name}\\): `));
    expect(summary.error).toContain('$.trading_params.cooldown_seconds: expected number, found string');
    expect(summary.error).toMatch(/\$\.labelling: .*'vol_window'/);
    expect(summary.error).toMatch(/\$: .*'surprise'/);
  });
});

test('without site packages (a bare machine) the standard-library validator runs, and says why', async () => {
  const dir = await published(fixture.bundle);
  const { status, summary } = run(['--root', dir, '--symbol', SYN, '--schema', SCHEMA, '--skip-onnx-checks'], ['-S']);
  expect(summary.error).toBeUndefined();
  expect(status).toBe(0);
  expect(summary.validator).toEqual({ name: 'schema_subset', reason: 'jsonschema not installed' });
  expect(summary.onnx_checker?.checked).toBe(false);
  // Forcing jsonschema where it is missing is a usage error (exit 2), not a refused model.
  const forced = spawnSync(SYSTEM_PYTHON, ['-B', '-S', SCRIPT, '--root', dir, '--symbol', SYN, '--validator', 'jsonschema', '--json'], { encoding: 'utf8', timeout: 60_000 });
  expect(forced.status).toBe(2);
  expect(forced.stderr).toMatch(/--validator jsonschema: the jsonschema package is not installed/);
});

test("the loader's golden-vector rule is @engine/model's: the same number and the same errors", () => {
  const cases: [string, number, number][] = [
    ['1000.009', 1000.009, 1000],
    ['1000.011', 1000.011, 1000],
    ['0.010009', 0.010009, 0.01],
    ['0.010011', 0.010011, 0.01],
    ['-200.001', -200.001, -200],
    ["float('nan')", Number.NaN, Number.NaN],
    ["float('nan')", Number.NaN, 0],
    ['0.0', 0, Number.NaN],
  ];
  const py = (x: number): string => (Number.isNaN(x) ? "float('nan')" : String(x));
  const code = `
import json, math, sys
sys.path.insert(0, ${JSON.stringify(path.dirname(SCRIPT))})
from load_model import GOLDEN_TOLERANCE, golden_relative_error
cases = [${cases.map(([g, , e]) => `(${g}, ${py(e)})`).join(', ')}]
errs = [golden_relative_error(g, e) for g, e in cases]
print(json.dumps({"tolerance": GOLDEN_TOLERANCE,
  "errors": [None if math.isnan(x) else x for x in errs],
  "pass": [x <= GOLDEN_TOLERANCE for x in errs]}))`;
  const r = spawnSync(SYSTEM_PYTHON, ['-B', '-c', code], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as { tolerance: number; errors: (number | null)[]; pass: boolean[] };
  expect(out.tolerance).toBe(GOLDEN_TOLERANCE);
  expect(out.pass).toEqual(cases.map(([, g, e]) => reproducesGolden(g, e)));
  expect(out.pass).toEqual([true, false, true, false, true, true, false, false]);
  out.errors.forEach((x, k) => {
    const ts = goldenRelativeError(cases[k]![1], cases[k]![2]);
    if (x === null) expect(ts).toBeNaN();
    else expect(x).toBeCloseTo(ts, 15);
  });
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

describe('the ONNX checks fail closed', () => {
  test('without onnx and onnxruntime (python3 -S) a good bundle is not OK: exit 3, naming each check that could not run', async () => {
    const { status, summary } = run(['--root', await published(fixture.bundle), '--symbol', SYN, '--schema', SCHEMA], ['-S']);
    expect(status).toBe(3);
    expect(summary.ok).toBe(false);
    expect(summary.error).toMatch(/^ChecksUnavailable: /);
    expect(summary.error).toMatch(/onnx\.checker \(python package onnx not installed\)/);
    expect(summary.error).toMatch(/golden vectors \(python package (onnxruntime|numpy) not installed\)/);
    expect(summary.error).toMatch(/--skip-onnx-checks/);
  });

  test('with --skip-onnx-checks the same bundle loads, and the output lists what was skipped', async () => {
    const dir = await published(fixture.bundle);
    const { status, summary } = run(['--root', dir, '--symbol', SYN, '--schema', SCHEMA, '--skip-onnx-checks'], ['-S']);
    expect(summary.error).toBeUndefined();
    expect(status).toBe(0);
    expect(summary.skipped_checks).toEqual([
      { check: 'onnx_checker', reason: 'python package onnx not installed' },
      { check: 'golden_vectors', reason: expect.stringMatching(/^python package (onnxruntime|numpy) not installed$/) },
    ]);
    // The report a person reads says it too.
    const text = spawnSync(SYSTEM_PYTHON, ['-B', '-S', SCRIPT, '--root', dir, '--symbol', SYN, '--schema', SCHEMA, '--skip-onnx-checks', '--allow-rejected', '--allow-expired'], { encoding: 'utf8', timeout: 60_000 });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/SKIPPED \(--skip-onnx-checks\): onnx_checker \(python package onnx not installed\), golden_vectors/);
  });

  test('a garbage ONNX with --skip-onnx-checks is still refused by its hash', async () => {
    const garbage = alterFile(fixture.bundle, 'model.onnx', () => Buffer.from('this is not an ONNX model'), { rehash: false });
    const { status, summary } = run(['--root', await published(garbage), '--symbol', SYN, '--schema', SCHEMA, '--skip-onnx-checks'], ['-S']);
    expect(status).toBe(1);
    expect(summary.error).toMatch(/model\.onnx.*SHA-256 [0-9a-f]{64}, (latest\.json|manifest) expects [0-9a-f]{64}/);
  });

  test("tampered golden vectors are not waved through where onnxruntime is missing (Debian's python)", async () => {
    const tampered = alterFile(
      fixture.bundle,
      'golden.json',
      (b) => {
        const g = JSON.parse(Buffer.from(b).toString()) as { rows: { predicted_edge_bps: number }[] };
        g.rows[3]!.predicted_edge_bps += 50;
        return Buffer.from(JSON.stringify(g));
      },
      { rehash: true },
    );
    const { status, summary } = run(['--root', await published(tampered), '--symbol', SYN, '--schema', SCHEMA]);
    expect(status).toBe(3);
    expect(summary.ok).toBe(false);
    expect(summary.error).toMatch(/golden vectors \(python package (onnxruntime|numpy) not installed\)/);
    expect(summary.error).not.toMatch(/onnx\.checker/); // onnx is installed: that check ran
  });
});

describe('load_model.py reads only regular files inside the publish folder, no larger than declared', () => {
  const POINTER = ['Runpodhuracan', 'latest', 'SYN-USDT.json'];
  const elsewhere = (): string => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'engine-python-elsewhere-'));
    cleanups.push(() => rmSync(d, { recursive: true, force: true }));
    return d;
  };
  const fileOf = (dir: string, remote: string): string => path.join(dir, ...remote.split('/').filter((p) => p !== ''));
  const pointerOf = (dir: string): { files: Record<string, { path: string; bytes: number }> } => JSON.parse(readFileSync(path.join(dir, ...POINTER), 'utf8'));

  const cases: [string, (dir: string) => void, RegExp][] = [
    [
      'a symlinked model file (right bytes)',
      (dir) => {
        const onnx = fileOf(dir, pointerOf(dir).files['model.onnx']!.path);
        const copy = path.join(elsewhere(), 'model.onnx');
        writeFileSync(copy, readFileSync(onnx));
        unlinkSync(onnx);
        symlinkSync(copy, onnx);
      },
      /SYN-USDT_model\.onnx: expected a regular file, found a symbolic link/,
    ],
    [
      'a symlinked latest.json',
      (dir) => {
        const ptr = path.join(dir, ...POINTER);
        const copy = path.join(elsewhere(), 'SYN-USDT.json');
        writeFileSync(copy, readFileSync(ptr));
        unlinkSync(ptr);
        symlinkSync(copy, ptr);
      },
      /SYN-USDT\.json: expected a regular file, found a symbolic link/,
    ],
    [
      'a symlinked folder',
      (dir) => {
        const day = path.join(dir, 'Runpodhuracan', '2026-01-11');
        const moved = path.join(elsewhere(), '2026-01-11');
        renameSync(day, moved);
        symlinkSync(moved, day);
      },
      /Runpodhuracan\/2026-01-11 \(on the way to \/Runpodhuracan\/2026-01-11\/.*\): expected a folder, found a symbolic link/,
    ],
    [
      'a FIFO in place of model.onnx',
      (dir) => {
        const onnx = fileOf(dir, pointerOf(dir).files['model.onnx']!.path);
        unlinkSync(onnx);
        expect(spawnSync('mkfifo', [onnx]).status).toBe(0);
      },
      /SYN-USDT_model\.onnx: expected a regular file, found a FIFO/,
    ],
    [
      'a file larger than latest.json declares (same hash)',
      (dir) => {
        const ptr = path.join(dir, ...POINTER);
        const p = JSON.parse(readFileSync(ptr, 'utf8')) as { files: Record<string, { bytes: number }> };
        p.files['model.onnx']!.bytes -= 100;
        writeFileSync(ptr, JSON.stringify(p));
      },
      /SYN-USDT_model\.onnx: expected at most \d+ bytes \(latest\.json\), found \d+/,
    ],
    [
      "a '..' in latest.json",
      (dir) => {
        const ptr = path.join(dir, ...POINTER);
        const p = JSON.parse(readFileSync(ptr, 'utf8')) as { files: Record<string, { path: string }> };
        p.files['model.onnx']!.path = '/Runpodhuracan/../../etc/model.onnx';
        writeFileSync(ptr, JSON.stringify(p));
      },
      /expected a path under \/Runpodhuracan\/ without empty, '\.' or '\.\.' segments/,
    ],
    [
      'a path outside the publish root',
      (dir) => {
        const ptr = path.join(dir, ...POINTER);
        const p = JSON.parse(readFileSync(ptr, 'utf8')) as { files: Record<string, { path: string }> };
        p.files['model.onnx']!.path = '/etc/hostname';
        writeFileSync(ptr, JSON.stringify(p));
      },
      /"\/etc\/hostname".*expected a path under \/Runpodhuracan\//,
    ],
  ];

  test.each(cases)('%s is refused (exit 1) at once, saying what was expected and found', async (_what, spoil, message) => {
    const dir = await published(fixture.bundle);
    spoil(dir);
    const t0 = Date.now();
    const { status, summary } = run(['--root', dir, '--symbol', SYN, '--schema', SCHEMA], ['-S'], 20_000);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(status).toBe(1);
    expect(summary.error).toMatch(/^ModelRefused: /);
    expect(summary.error).toMatch(message);
  });

  test('--bundle: a symlink or a FIFO in a bundle folder is refused', () => {
    const dir = elsewhere();
    for (const f of fixture.bundle.files) writeFileSync(path.join(dir, f.name), f.bytes);
    writeFileSync(path.join(dir, 'manifest.json'), serializeManifest(fixture.bundle.manifest));
    const golden = path.join(dir, 'golden.json');
    const copy = path.join(elsewhere(), 'golden.json');
    writeFileSync(copy, readFileSync(golden));
    unlinkSync(golden);
    symlinkSync(copy, golden);
    const r = run(['--bundle', dir, '--schema', SCHEMA], ['-S'], 20_000);
    expect(r.status).toBe(1);
    expect(r.summary.error).toMatch(/golden\.json: expected a regular file, found a symbolic link/);
    unlinkSync(golden);
    expect(spawnSync('mkfifo', [golden]).status).toBe(0);
    const f = run(['--bundle', dir, '--schema', SCHEMA], ['-S'], 20_000);
    expect(f.status).toBe(1);
    expect(f.summary.error).toMatch(/golden\.json: expected a regular file, found a FIFO/);
  });
});
