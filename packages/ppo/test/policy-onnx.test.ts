import { Worker } from 'node:worker_threads';
import { DataError, Mulberry32 } from '@engine/shared';
import { modelProtoType } from '@engine/gbdt';
import { exportPolicyOnnx, Mlp, PpoPolicy } from '../src';

interface OnnxRun {
  inputNames: string[];
  outputs: Record<string, { data: Float32Array | BigInt64Array; dims: number[] }>;
}

/** onnxruntime-node in a worker thread (inside jest's sandbox its typed arrays fail instanceof checks). */
function runOnnx(bytes: Uint8Array, input: Float32Array, dims: number[]): Promise<OnnxRun> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const ort = require(workerData.ort);
    (async () => {
      const s = await ort.InferenceSession.create(workerData.bytes);
      const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', workerData.input, workerData.dims) });
      const outputs = {};
      for (const name of s.outputNames) outputs[name] = { data: out[name].data, dims: Array.from(out[name].dims) };
      parentPort.postMessage({ inputNames: s.inputNames, outputs });
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { ort: require.resolve('onnxruntime-node'), bytes, input, dims } });
    w.once('message', (m: { error?: string } & OnnxRun) => {
      void w.terminate();
      if (m.error !== undefined) reject(new Error(m.error));
      else resolve(m);
    });
    w.once('error', reject);
  });
}

function normal(rng: Mulberry32): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/** A policy with weights of a trained policy's size: orthogonal, head gain 1 (logits of order 1), random biases. */
function randomPolicy(seed: number, O: number, A: number): PpoPolicy {
  const rng = new Mulberry32(seed);
  const net = Mlp.orthogonal([O, 64, 64, A], rng, Math.SQRT2, 1);
  for (let l = 0; l < 3; l++) for (let k = 0; k < net.sizes[l + 1]; k++) net.params[net.biasOffsets[l] + k] = 0.2 * normal(rng);
  return PpoPolicy.fromNetwork(net);
}

describe('the policy in ONNX', () => {
  const O = 4;
  const A = 3;
  const n = 1000;
  const policy = randomPolicy(21, O, A);
  const rng = new Mulberry32(22);
  const obs = Float32Array.from({ length: n * O }, () => 1.5 * normal(rng));

  it('gives the native probabilities within 1e-6 and the same greedy actions on 1,000 observations', async () => {
    const bytes = exportPolicyOnnx(policy, { inputName: 'state', producerVersion: '1.2.3', metadata: { env: 'cartpole' } });
    const run = await runOnnx(bytes, obs, [n, O]);
    expect(run.inputNames).toEqual(['state']);
    const probs = run.outputs.action_probabilities;
    const greedy = run.outputs.greedy_action;
    expect(probs.dims).toEqual([n, A]);
    expect(greedy.dims).toEqual([n, 1]);
    expect(greedy.data).toBeInstanceOf(BigInt64Array);
    const native = policy.actionProbabilitiesBatch(obs, n);
    const nativeGreedy = policy.greedyActions(obs, n);
    let maxDiff = 0;
    const counts = new Array<number>(A).fill(0);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < A; a++) maxDiff = Math.max(maxDiff, Math.abs((probs.data[i * A + a] as number) - native[i * A + a]));
      expect(Number(greedy.data[i])).toBe(nativeGreedy[i]);
      expect(policy.greedyAction(obs.subarray(i * O, (i + 1) * O))).toBe(nativeGreedy[i]);
      counts[nativeGreedy[i]]++;
    }
    expect(maxDiff).toBeLessThan(1e-6);
    // every action is someone's greedy choice: the comparison covers them all
    expect(Math.min(...counts)).toBeGreaterThan(0);
    const meta = modelProtoType().decode(bytes).toJSON() as { producer_version: string; metadata_props: Array<{ key: string; value: string }>; graph: { node: Array<{ op_type: string }> } };
    expect(meta.producer_version).toBe('1.2.3');
    expect(meta.metadata_props).toContainEqual({ key: 'env', value: 'cartpole' });
    expect(meta.graph.node.map((x) => x.op_type)).toEqual(['Gemm', 'Tanh', 'Gemm', 'Tanh', 'Gemm', 'Softmax', 'ArgMax']);
  });

  it('round-trips exactly through its JSON, and one observation gives the batch row', () => {
    const again = PpoPolicy.parse(policy.serialize());
    expect(again.serialize()).toBe(policy.serialize());
    const a = policy.actionProbabilitiesBatch(obs, n);
    const b = again.actionProbabilitiesBatch(obs, n);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    const one = again.actionProbabilities(obs.subarray(5 * O, 6 * O));
    expect(Array.from(one)).toEqual(Array.from(a.subarray(5 * A, 6 * A)));
    expect(one.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
  });

  it('parse names the bad field', () => {
    const j = JSON.parse(policy.serialize()) as { layers: Array<{ bias: unknown; weights: number[] }> };
    j.layers[1].bias = 'none';
    expect(() => PpoPolicy.parse(JSON.stringify(j))).toThrow(DataError);
    expect(() => PpoPolicy.parse(JSON.stringify(j))).toThrow(/layers\.1\.bias/);
    const k = JSON.parse(policy.serialize()) as { layers: Array<{ weights: number[] }> };
    k.layers[2].weights.pop();
    expect(() => PpoPolicy.parse(JSON.stringify(k))).toThrow(/layers\.2\.weights: expected 3×64 = 192 values; got 191/);
    expect(() => PpoPolicy.parse('{"format":"engine-ppo-policy"')).toThrow(/not JSON/);
  });
});
