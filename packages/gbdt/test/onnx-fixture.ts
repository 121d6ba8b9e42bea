import { Mulberry32 } from '@engine/shared';
import { rowMajorMatrix, trainGbdt, type GbdtModel } from '../src';
import { exportOnnx } from '../src/onnx';

/** The models the ONNX export tests share: 10 features with NaNs, 300-tree edge + logistic confidence. */
export const F = 10;
function matrix(n: number, seed: number): Float32Array {
  const rng = new Mulberry32(seed);
  const X = new Float32Array(n * F);
  // 5% missing everywhere, plus whole-row gaps
  for (let i = 0; i < n * F; i++) X[i] = rng.next() < 0.05 ? NaN : (rng.next() - 0.5) * 20;
  for (let i = 0; i < n; i += 97) X.fill(NaN, i * F, i * F + F);
  return X;
}
const nTrain = 4000;
const Xtr = matrix(nTrain, 31);
const rng = new Mulberry32(32);
const yTr = Float64Array.from({ length: nTrain }, (_, i) => {
  const a = Xtr[i * F];
  const b = Xtr[i * F + 1];
  return (Number.isNaN(a) ? 3 : Math.sign(a) * 2) + (Number.isNaN(b) ? -1 : 0.1 * b) + 2 * (rng.next() - 0.5);
});
export const nTest = 10_000;
export const Xte = matrix(nTest, 33);

export interface OnnxFixture {
  edge: GbdtModel;
  confidence: GbdtModel;
  /** exportOnnx of both, with producer 'test' and metadata recipe_hash 'abc'. */
  bytes: Uint8Array;
}

export async function trainOnnxFixture(): Promise<OnnxFixture> {
  const x = rowMajorMatrix(Xtr, nTrain, F);
  const names = Array.from({ length: F }, (_, f) => `feat_${f}`);
  const edge = await trainGbdt({ x, y: yTr, featureNames: names }, { nEstimators: 300, learningRate: 0.05, maxDepth: 6 }, { threads: 1 });
  const confidence = await trainGbdt({ x, y: yTr, featureNames: names }, { objective: 'logistic', nEstimators: 60, maxDepth: 4 }, { threads: 1 });
  return { edge, confidence, bytes: exportOnnx({ edge, confidence, producerVersion: 'test', metadata: { recipe_hash: 'abc' } }) };
}
