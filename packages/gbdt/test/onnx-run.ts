import { Worker } from 'node:worker_threads';

/**
 * Runs an ONNX model with onnxruntime-node in a worker thread. (Inside jest's sandbox the
 * binding's Float32Array outputs fail onnxruntime-common's instanceof check: another realm.)
 */
export function runOnnx(bytes: Uint8Array, input: Float32Array, dims: number[]): Promise<{ inputs: string[]; outputs: Record<string, { dims: number[]; data: Float32Array }> }> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const ort = require(workerData.ort);
    (async () => {
      const s = await ort.InferenceSession.create(workerData.bytes);
      const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', workerData.input, workerData.dims) });
      const outputs = {};
      for (const name of s.outputNames) outputs[name] = { dims: out[name].dims, data: out[name].data };
      parentPort.postMessage({ inputs: s.inputNames, outputs });
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { ort: require.resolve('onnxruntime-node'), bytes, input, dims } });
    w.once('message', (m: { error?: string }) => {
      void w.terminate();
      if (m.error !== undefined) reject(new Error(m.error));
      else resolve(m as never);
    });
    w.once('error', reject);
  });
}

/**
 * Largest |onnx − ours| relative to max(|ours|, s), where s is the RMS of our predictions:
 * onnxruntime sums 300 float32 leaf values in float32, so near-zero predictions carry
 * float32 rounding of the partial sums (~1e-7 of their magnitude), not of the result.
 */
export function maxRelDiff(onnx: ArrayLike<number>, ours: Float64Array): number {
  let ss = 0;
  for (let i = 0; i < ours.length; i++) ss += ours[i] * ours[i];
  const s = Math.sqrt(ss / ours.length);
  let worst = 0;
  for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(onnx[i] - ours[i]) / Math.max(Math.abs(ours[i]), s));
  return worst;
}
