import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type FoldReport, validateManifest, type ModelManifest } from '@engine/model';
import type { TrainedModelBundle } from '@engine/training';
import { runTrain, trainExitCode } from '../apps/cli/src/commands/train';
import { bundleProblems } from '../packages/training/test/bundle-checks';
import { OHLCV_DIR, REPO_ROOT } from './support/paths';

/**
 * End to end on the real candles (SPEC §6): `engine train` for two symbols on a shortened
 * window (40 days: 4 folds; 30 trees keep CI time down), then everything is checked from
 * the files on disk — the manifest validates against the published schema, it is
 * internally consistent (wins + losses = trades, fold sums = totals), every hash matches
 * its file, and the ONNX model reproduces the golden vectors. With default costs, real
 * data is expected to be rejected; a pass here would point to leakage or a cost bug.
 */
const SYMBOLS = ['BTC/USDT', 'ETH/USDT'];

function readBundle(dir: string): Pick<TrainedModelBundle, 'manifest' | 'files' | 'folds'> & { manifestBytes: Buffer } {
  const manifestBytes = readFileSync(path.join(dir, 'manifest.json'));
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ModelManifest;
  const files = Object.keys(manifest.artifacts).map((name) => ({ name, bytes: new Uint8Array(readFileSync(path.join(dir, name))) }));
  const folds = JSON.parse(readFileSync(path.join(dir, 'folds.json'), 'utf8')) as FoldReport[];
  return { manifest, files, folds, manifestBytes };
}

/** A python3 with the `jsonschema` package, for an independent check of the schema; null if none. */
function pythonWithJsonschema(): string | null {
  for (const py of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(py, ['-c', 'import jsonschema'], { stdio: 'ignore' });
      return py;
    } catch {
      /* try the next one */
    }
  }
  return null;
}

describe('engine train on real candles (2 symbols, 40 days)', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'engine-train-'));
  const out = path.join(tmp, 'models');
  let lines: string[] = [];
  /** Where each symbol's bundle went: `<out>/<BASE-QUOTE>/<model id>/`. */
  const dirs = new Map<string, string>();
  const dirOf = (symbol: string): string => dirs.get(symbol)!;
  beforeAll(async () => {
    const stdout: string[] = [];
    const outcomes = await runTrain(
      { symbols: SYMBOLS.join(','), source: `csv:${OHLCV_DIR}`, days: 40, end: '2026-07-15', out, dataDir: path.join(tmp, 'data'), cacheDir: path.join(tmp, 'cache'), trees: 30, threads: 2, gitCommit: 'test-commit', json: true },
      { stdout: (s) => stdout.push(s), stderr: () => undefined },
    );
    for (const o of outcomes) if (o.error) throw o.error;
    for (const o of outcomes) dirs.set(o.symbol, o.dir!);
    lines = stdout.join('').trim().split('\n');
  }, 300_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it.each(SYMBOLS)('%s: writes a consistent, schema-valid bundle whose hashes match the files on disk', (symbol) => {
    const dir = dirOf(symbol);
    expect(dir).toBe(path.join(out, symbol.replace('/', '-'), JSON.parse(lines.find((l) => l.includes(`"symbol":"${symbol}"`))!).model_id as string));
    const b = readBundle(dir);
    const m = b.manifest;
    expect(m.symbol).toBe(symbol);
    expect(m.run_date).toBe('2026-07-16');
    expect(m.data.rows).toBe(40 * 1440);
    expect(m.data.start).toBe('2026-06-06T00:00:00.000Z');
    expect(m.data.reference?.symbol).toBe(symbol === 'BTC/USDT' ? 'ETH/USDT' : 'BTC/USDT');
    expect(m.engine.git_commit).toBe('test-commit');
    expect(m.walk_forward.folds_total).toBe(4);
    const checked = validateManifest(m);
    expect(checked.ok ? [] : checked.problems).toEqual([]);
    expect(bundleProblems(b)).toEqual([]);
    for (const f of b.files) expect(createHash('sha256').update(readFileSync(path.join(dir, f.name))).digest('hex')).toBe(m.artifacts[f.name]);
    // Default costs on real data: no net edge (SPEC §6). Rejected, and not as leakage.
    expect(m.gates.passed).toBe(false);
    expect(m.gates.suspected_leakage).toBe(false);
    expect(m.labelling.mean_net_edge_bps).toBeLessThan(-15);
    expect(m.trading_params.costs.typical_round_trip_bps).toBeGreaterThan(22);
    expect(m.trading_params.costs.typical_round_trip_bps).toBeLessThan(26);
    const line = JSON.parse(lines.find((l) => l.includes(`"symbol":"${symbol}"`))!) as { passed: boolean; model_id: string };
    expect(line).toMatchObject({ passed: false, model_id: m.model_id });
  });

  it.each(SYMBOLS)('%s: the main job recorded the rejected model in the embedded registry and kept it out of models/ (rejected/ only)', (symbol) => {
    const line = JSON.parse(lines.find((l) => l.includes(`"symbol":"${symbol}"`))!) as {
      model_id: string;
      registry: { model_id: string; created: boolean; registry: string; published: string | null };
    };
    expect(line.registry).toMatchObject({ model_id: line.model_id, created: true });
    expect(line.registry.registry).toMatch(/^pglite:/);
    expect(line.registry.published).not.toBeNull();
    const day = path.join(tmp, 'data', 'publish', 'Runpodhuracan', '2026-07-16');
    const slug = symbol.replace('/', '-');
    expect(existsSync(path.join(day, 'models', `${slug}_model.onnx`))).toBe(false);
    expect(readdirSync(path.join(day, 'rejected', slug)).length).toBeGreaterThan(0);
  });

  it('validates the manifests with an independent JSON Schema implementation (python jsonschema), when available', () => {
    const py = pythonWithJsonschema();
    if (py === null) {
      console.warn('python jsonschema not installed: independent schema check skipped');
      return;
    }
    const script = path.join(tmp, 'validate.py');
    writeFileSync(
      script,
      'import json, sys\nfrom jsonschema import Draft202012Validator\nschema = json.load(open(sys.argv[1]))\nDraft202012Validator.check_schema(schema)\nv = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)\nfor p in sys.argv[2:]:\n    errs = [e.message for e in v.iter_errors(json.load(open(p)))]\n    assert not errs, (p, errs[:5])\nprint("ok")\n',
    );
    const manifests = SYMBOLS.map((s) => path.join(dirOf(s), 'manifest.json'));
    const res = execFileSync(py, [script, path.join(REPO_ROOT, 'packages', 'model', 'schema', 'manifest.schema.json'), ...manifests], { encoding: 'utf8' });
    expect(res.trim()).toBe('ok');
  });

  it('ships an ONNX model that reproduces its golden vectors (NaN inputs included) in onnxruntime', () => {
    const dir = dirOf('ETH/USDT');
    expect(existsSync(path.join(dir, 'model.onnx'))).toBe(true);
    const golden = JSON.parse(readFileSync(path.join(dir, 'golden.json'), 'utf8')) as {
      feature_names: string[];
      rows: { inputs: (number | null)[]; predicted_edge_bps: number; confidence: number }[];
    };
    expect(golden.rows.some((r) => r.inputs.some((v) => v === null))).toBe(true);
    expect(golden.rows[golden.rows.length - 1]!.inputs.every((v) => v === null)).toBe(true);
    // onnxruntime's tensors check `instanceof Float32Array` against their own realm, which a
    // jest sandbox is not: run the model in a plain node process, as Hamilton would.
    const script = path.join(tmp, 'run-onnx.js');
    writeFileSync(
      script,
      `const ort = require(${JSON.stringify(path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node'))});
const fs = require('fs');
(async () => {
  const g = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
  const F = g.feature_names.length;
  const x = new Float32Array(g.rows.length * F);
  g.rows.forEach((r, i) => r.inputs.forEach((v, k) => (x[i * F + k] = v === null ? NaN : v)));
  const s = await ort.InferenceSession.create(fs.readFileSync(process.argv[2]));
  const o = await s.run({ features: new ort.Tensor('float32', x, [g.rows.length, F]) });
  process.stdout.write(JSON.stringify({ edge: Array.from(o.predicted_edge_bps.data), confidence: Array.from(o.confidence.data) }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const res = JSON.parse(execFileSync(process.execPath, [script, path.join(dir, 'model.onnx'), path.join(dir, 'golden.json')], { encoding: 'utf8' })) as {
      edge: number[];
      confidence: number[];
    };
    golden.rows.forEach((r, i) => {
      expect(Math.abs(res.edge[i]! - r.predicted_edge_bps)).toBeLessThanOrEqual(1e-4 + 1e-5 * Math.abs(r.predicted_edge_bps));
      expect(Math.abs(res.confidence[i]! - r.confidence)).toBeLessThanOrEqual(1e-5);
      expect(r.confidence).toBeGreaterThanOrEqual(0);
      expect(r.confidence).toBeLessThanOrEqual(1);
    });
  });

  it('a rerun with other settings for the same symbol and day: the registry keeps the first model, the CLI says so (exit 2) and overwrites nothing', async () => {
    const first = JSON.parse(lines.find((l) => l.includes('"symbol":"ETH/USDT"'))!) as { model_id: string };
    const firstManifest = readFileSync(path.join(dirOf('ETH/USDT'), 'manifest.json'));
    const stdout: string[] = [];
    const outcomes = await runTrain(
      { symbols: 'ETH/USDT', source: `csv:${OHLCV_DIR}`, days: 40, end: '2026-07-15', out, dataDir: path.join(tmp, 'data'), cacheDir: path.join(tmp, 'cache'), trees: 31, threads: 2, gitCommit: 'test-commit', json: true },
      { stdout: (s) => stdout.push(s), stderr: () => undefined },
    );
    expect(trainExitCode(outcomes)).toBe(2);
    const line = JSON.parse(stdout.join('').trim()) as { code: string; error: string };
    expect(line.code).toBe('MODEL_CONFLICT');
    expect(line.error).toContain(`already holds model ${first.model_id}`);
    expect(outcomes[0]!.registered?.modelId).toBe(first.model_id);
    // The second model's bundle sits beside the first, addressed by its own id; the first is untouched.
    expect(outcomes[0]!.dir).not.toBe(dirOf('ETH/USDT'));
    expect(readFileSync(path.join(dirOf('ETH/USDT'), 'manifest.json')).equals(firstManifest)).toBe(true);
  }, 300_000);

  it('a publish that fails is not reported as published: the model stays recorded and pending, the exit code is 3', async () => {
    const data = path.join(tmp, 'data-broken-publish');
    mkdirSync(data, { recursive: true });
    writeFileSync(path.join(data, 'publish'), 'not a folder: every write under it fails');
    const stdout: string[] = [];
    const stderr: string[] = [];
    const outcomes = await runTrain(
      { symbols: 'ETH/USDT', source: `csv:${OHLCV_DIR}`, days: 40, end: '2026-07-15', out: path.join(tmp, 'models-broken'), dataDir: data, cacheDir: path.join(tmp, 'cache'), trees: 30, threads: 2, gitCommit: 'test-commit', json: true },
      { stdout: (s) => stdout.push(s), stderr: (s) => stderr.push(s) },
    );
    expect(trainExitCode(outcomes)).toBe(3);
    const line = JSON.parse(stdout.join('').trim()) as { registry: { created: boolean; published: string | null }; publish_error: string; warnings: string[] };
    expect(line.registry).toMatchObject({ created: true, published: null });
    expect(line.publish_error).toMatch(/publish/);
    expect(line.warnings).toEqual([]);
    expect(stderr.join('')).toMatch(/\[PUBLISH_FAILED\]/);
  }, 300_000);
});
