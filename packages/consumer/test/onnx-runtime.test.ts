import { exportOnnx, rowMajorMatrix, trainGbdt } from '@engine/gbdt';
import { createOnnxSession, detectCuda, ort, OrtFloat32Array } from '../src/onnx-runtime';
import { OnnxLoadError } from '../src/errors';

/**
 * Execution-provider choice: CUDA when onnxruntime-node can use it, CPU otherwise, with the
 * reason recorded; a model onnxruntime cannot load is a named refusal.
 */
let bytes: Uint8Array;

beforeAll(async () => {
  const n = 300;
  const F = 3;
  const x = Float32Array.from({ length: n * F }, (_, i) => Math.sin(i * 0.37));
  const y = Float64Array.from({ length: n }, (_, i) => 2 * x[i * F]! - x[i * F + 1]!);
  const edge = await trainGbdt({ x: rowMajorMatrix(x, n, F), y, featureNames: ['a', 'b', 'c'] }, { nEstimators: 8, maxDepth: 3 }, { threads: 1 });
  bytes = exportOnnx({ edge });
});

test('detectCuda says why CUDA is not available on this machine (no CUDA provider library installed)', () => {
  const cuda = detectCuda();
  if (cuda.available) {
    // A machine with onnxruntime's CUDA provider: nothing more to check here.
    expect(cuda.reason).toBeUndefined();
  } else {
    expect(cuda.reason).toMatch(/cuda/i);
  }
});

test("provider 'auto' falls back to CPU cleanly and records why; the session runs", async () => {
  const s = await createOnnxSession(bytes, 'test model', { provider: 'auto' });
  try {
    if (!detectCuda().available) {
      expect(s.provider).toBe('cpu');
      expect(s.fallbackReason).toBe(detectCuda().reason);
    }
    const input = new OrtFloat32Array([0.5, -0.2, 0.1]);
    const out = await s.session.run({ [s.session.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3]) });
    expect(Number.isFinite((out[s.session.outputNames[0]!]!.data as Float32Array)[0]!)).toBe(true);
  } finally {
    await s.session.release();
  }
});

test("provider 'cpu' never tries CUDA", async () => {
  const s = await createOnnxSession(bytes, 'test model', { provider: 'cpu' });
  expect(s.provider).toBe('cpu');
  expect(s.fallbackReason).toBeUndefined();
  await s.session.release();
});

test("provider 'cuda' without CUDA is an OnnxLoadError that says so", async () => {
  if (detectCuda().available) return;
  await expect(createOnnxSession(bytes, 'test model', { provider: 'cuda' })).rejects.toThrow(OnnxLoadError);
  await expect(createOnnxSession(bytes, 'test model', { provider: 'cuda' })).rejects.toThrow(/CUDA execution provider required but unavailable/);
});

test('bytes that are not an ONNX model: OnnxLoadError naming the model and the size', async () => {
  const err = await createOnnxSession(bytes.subarray(0, 40), 'model X (BTC/USDT 2026-07-16)', { provider: 'cpu' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OnnxLoadError);
  expect((err as Error).message).toMatch(/^model X \(BTC\/USDT 2026-07-16\): onnxruntime cannot load model\.onnx \(40 bytes\)/);
});
