import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serializeManifest, toJsonBytes, type ModelBundle, type PolicyGoldenFile } from '@engine/model';
import { exportPolicyOnnx, PpoPolicy } from '@engine/ppo';
import { agentBundle, replaceFile, type AgentFixture } from '../packages/consumer/test/support/agent-bundle';
import { trainPlanted } from '../packages/consumer/test/support/bundles';
import { REPO_ROOT, SYSTEM_PYTHON } from './support/paths';

/**
 * A trading agent's bundle (family ppo) in the Python loader: with the standard library it
 * checks the agent (model.json) against the manifest and rebuilds golden.json's
 * observations, probabilities and actions; with python3-onnx it checks that model.onnx is
 * the policy graph of that observation size; the onnxruntime check of the golden vectors
 * fails closed where onnxruntime is missing (Debian's python here), and runs where it is
 * importable — shown with a small numpy stand-in for onnxruntime that evaluates the
 * policy graph's four operators (this machine has no onnxruntime for python).
 */
const SCRIPT = path.join(REPO_ROOT, 'packages', 'consumer', 'python', 'load_model.py');
const SCHEMA = path.join(REPO_ROOT, 'packages', 'model', 'schema', 'manifest.schema.json');
const cleanups: (() => void)[] = [];
let fx: AgentFixture;

beforeAll(async () => {
  const t = await trainPlanted({ seed: 11 });
  fx = agentBundle(t.bundle, t.candles, t.reference, 8 * 1440);
}, 180_000);
afterAll(() => cleanups.forEach((c) => c()));

interface Summary {
  ok: boolean;
  error?: string;
  model_kind?: string;
  agent?: { checked: boolean; rows: number; observation_size: number; max_rel_error: number };
  onnx_checker?: { checked: boolean; models: Record<string, { nodes: string[]; observation_size?: number }> };
  golden?: { ran: boolean; reason?: string; kind?: string; rows?: number; max_rel_error?: number };
  skipped_checks?: { check: string; reason: string }[];
  schema_valid?: boolean;
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function bundleFolder(bundle: ModelBundle): string {
  const dir = tempDir('engine-python-agent-');
  for (const f of bundle.files) writeFileSync(path.join(dir, f.name), f.bytes);
  writeFileSync(path.join(dir, 'manifest.json'), serializeManifest(bundle.manifest));
  return dir;
}

/** A stand-in `onnxruntime` (numpy): Gemm, Tanh, Softmax and ArgMax, the policy graph's operators. */
const ORT_STANDIN = `
import numpy as np
import onnx
from onnx import helper, numpy_helper


class _Arg:
    def __init__(self, name):
        self.name = name


class InferenceSession:
    def __init__(self, data, providers=None):
        self.model = onnx.load_model_from_string(bytes(data))

    def get_inputs(self):
        return [_Arg(i.name) for i in self.model.graph.input]

    def get_outputs(self):
        return [_Arg(o.name) for o in self.model.graph.output]

    def run(self, names, feeds):
        env = {k: np.asarray(v) for k, v in feeds.items()}
        for t in self.model.graph.initializer:
            env[t.name] = numpy_helper.to_array(t)
        for n in self.model.graph.node:
            a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
            x = [env[i] for i in n.input]
            if n.op_type == "Gemm":
                y = (x[0] @ (x[1].T if a.get("transB") else x[1]) + x[2]).astype(np.float32)
            elif n.op_type == "Tanh":
                y = np.tanh(x[0])
            elif n.op_type == "Softmax":
                e = np.exp(x[0] - x[0].max(axis=1, keepdims=True))
                y = e / e.sum(axis=1, keepdims=True)
            elif n.op_type == "ArgMax":
                y = np.argmax(x[0], axis=1).reshape(-1, 1).astype(np.int64)
            else:
                raise NotImplementedError(n.op_type)
            env[n.output[0]] = y
        return [env[o.name] for o in self.model.graph.output]
`;

function run(dir: string, opts: { skip?: boolean; ort?: boolean } = {}): { status: number | null; summary: Summary } {
  const env = { ...process.env };
  if (opts.ort) {
    const shim = tempDir('engine-ort-standin-');
    writeFileSync(path.join(shim, 'onnxruntime.py'), ORT_STANDIN);
    env.PYTHONPATH = shim;
  }
  const args = ['-B', SCRIPT, '--bundle', dir, '--schema', SCHEMA, '--allow-rejected', '--allow-expired', '--json', ...(opts.skip === false ? [] : ['--skip-onnx-checks'])];
  const r = spawnSync(SYSTEM_PYTHON, args, { encoding: 'utf8', timeout: 60_000, env });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return { status: r.status, summary: JSON.parse(line) as Summary };
  } catch {
    throw new Error(`load_model.py printed no JSON line (status ${r.status}): ${r.stdout}\n${r.stderr}`);
  }
}

function withGolden(change: (g: PolicyGoldenFile) => void): ModelBundle {
  const g = JSON.parse(Buffer.from(fx.bundle.files.find((f) => f.name === 'golden.json')!.bytes).toString('utf8')) as PolicyGoldenFile;
  change(g);
  return replaceFile(fx.bundle, 'golden.json', toJsonBytes(g));
}

test('accepts a ppo bundle: the agent checked against golden.json (stdlib), model.onnx the policy graph (onnx); onnxruntime skipped only when told', () => {
  const dir = bundleFolder(fx.bundle);
  const { status, summary } = run(dir);
  expect([summary.error, status, summary.schema_valid]).toEqual([undefined, 0, true]);
  expect(summary.model_kind).toBe('ppo-agent');
  const O = fx.agent.observationSize;
  expect(summary.agent).toMatchObject({ checked: true, observation_size: O });
  expect(summary.agent!.rows).toBeGreaterThanOrEqual(20);
  expect(summary.agent!.max_rel_error).toBeLessThan(1e-9);
  expect(summary.onnx_checker!.models['model.onnx']).toMatchObject({ observation_size: O, nodes: expect.arrayContaining(['Gemm', 'Tanh', 'Softmax', 'ArgMax']) });
  expect(summary.golden).toMatchObject({ ran: false, kind: 'policy', reason: expect.stringMatching(/onnxruntime|numpy/) });
  expect(summary.skipped_checks).toEqual([{ check: 'golden_vectors', reason: expect.stringMatching(/onnxruntime|numpy/) }]);
  // Fails closed without --skip-onnx-checks.
  const strict = run(dir, { skip: false });
  expect(strict.status).toBe(3);
  expect(strict.summary.error).toMatch(/golden vectors \(python package (onnxruntime|numpy) not installed\)/);
});

test('with onnxruntime importable the policy graph reproduces the golden probabilities and actions', () => {
  const { status, summary } = run(bundleFolder(fx.bundle), { skip: false, ort: true });
  expect([summary.error, status]).toEqual([undefined, 0]);
  expect(summary.golden).toMatchObject({ ran: true, kind: 'policy', rows: summary.agent!.rows });
  expect(summary.golden!.max_rel_error).toBeLessThanOrEqual(1e-5);
  expect(summary.skipped_checks).toEqual([]);
  // A model.onnx of another policy (same sizes, hashes consistent) is refused there.
  const O = fx.agent.observationSize;
  const other = new PpoPolicy({ observationSize: O, actionCount: 3, hiddenSizes: [4], layers: [{ weights: Array.from({ length: 4 * O }, (_, k) => Math.sin(k)), bias: [0, 0, 0, 0] }, { weights: Array.from({ length: 12 }, (_, k) => Math.cos(k)), bias: [0, 0, 0] }] });
  const swapped = run(bundleFolder(replaceFile(fx.bundle, 'model.onnx', exportPolicyOnnx(other))), { skip: false, ort: true });
  expect(swapped.status).toBe(1);
  expect(swapped.summary.error).toMatch(/golden vector \d+, (P\(\w+\)|greedy action): model\.onnx (gives|chooses)/);
});

test('refuses, with the standard library, golden vectors the agent does not reproduce', () => {
  const prob = run(bundleFolder(withGolden((g) => (g.rows[3]!.action_probabilities[1] = g.rows[3]!.action_probabilities[1]! + 1e-3))));
  expect(prob.status).toBe(1);
  expect(prob.summary.error).toMatch(/golden vector 3, P\(buy\): model\.json gives .*, golden\.json .* \(relative error .* > 1e-05\)/);
  const obs = run(bundleFolder(withGolden((g) => (g.rows[2]!.observation[g.feature_names.length] = 0.5))));
  expect(obs.summary.error).toMatch(/golden vector 2, observation\[\d+\]: model\.json's agent gives/);
  const act = run(bundleFolder(withGolden((g) => (g.rows[1]!.action = (g.rows[1]!.action + 1) % 3))));
  expect(act.summary.error).toMatch(/golden vector 1, greedy action: model\.json chooses \w+, golden\.json expects \w+/);
});

test('refuses observations of the wrong size: in golden.json, in model.json, and a policy graph of another input size', () => {
  const O = fx.agent.observationSize;
  const short = run(bundleFolder(withGolden((g) => g.rows[0]!.observation.pop())));
  expect(short.status).toBe(1);
  expect(short.summary.error).toContain(`golden vector 0: expected ${O - 3} inputs, an observation of ${O} values and 3 probabilities, found ${O - 3}, ${O - 1} and 3`);
  const j = fx.agent.toJson();
  j.feature_names = j.feature_names.slice(1);
  const fewer = run(bundleFolder(replaceFile(fx.bundle, 'model.json', new TextEncoder().encode(JSON.stringify(j)))));
  expect(fewer.summary.error).toMatch(/model\.json's agent observes \d+ features that differ from the manifest's feature_names/);
  const wide = new PpoPolicy({ observationSize: O + 1, actionCount: 3, hiddenSizes: [4], layers: [{ weights: new Array(4 * (O + 1)).fill(0.01), bias: [0, 0, 0, 0] }, { weights: new Array(12).fill(0.1), bias: [0, 0, 0] }] });
  const graph = run(bundleFolder(replaceFile(fx.bundle, 'model.onnx', exportPolicyOnnx(wide))));
  expect(graph.status).toBe(1);
  expect(graph.summary.error).toContain(`model.onnx input 'observation' is float['N', ${O + 1}], expected float32[N, ${O}]`);
});
