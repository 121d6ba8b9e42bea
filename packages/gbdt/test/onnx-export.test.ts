import { DataError } from '@engine/shared';
import { rowMajorMatrix, trainGbdt, type GbdtModel } from '../src';
import { ONNX_INPUT, ONNX_OUTPUT_CONFIDENCE, ONNX_OUTPUT_EDGE, exportOnnx, modelProtoType } from '../src/onnx';
import { F, nTest, trainOnnxFixture, Xte } from './onnx-fixture';
import { maxRelDiff, runOnnx } from './onnx-run';

describe('ONNX export', () => {
  let edge: GbdtModel;
  let confidence: GbdtModel;
  let bytes: Uint8Array;

  beforeAll(async () => {
    ({ edge, confidence, bytes } = await trainOnnxFixture());
  });

  it('onnxruntime-node reproduces our predictions on 10,000 rows with NaNs (1e-5 relative)', async () => {
    const { inputs, outputs: out } = await runOnnx(bytes, Xte, [nTest, F]);
    expect(inputs).toEqual([ONNX_INPUT]);
    expect(Object.keys(out)).toEqual([ONNX_OUTPUT_EDGE, ONNX_OUTPUT_CONFIDENCE]);
    const e = out[ONNX_OUTPUT_EDGE];
    const c = out[ONNX_OUTPUT_CONFIDENCE];
    expect(e.dims).toEqual([nTest, 1]);
    expect(c.dims).toEqual([nTest, 1]);
    const x = rowMajorMatrix(Xte, nTest, F);
    const ours = edge.predict(x);
    const oursC = confidence.predict(x);
    expect(maxRelDiff(e.data, ours)).toBeLessThan(1e-5);
    expect(maxRelDiff(c.data, oursC)).toBeLessThan(1e-5);
    // the model is not trivial and the NaN rows are routed, not defaulted
    const nanRow = Float32Array.from({ length: F }, () => NaN);
    const one = await runOnnx(bytes, nanRow, [1, F]);
    expect(one.outputs[ONNX_OUTPUT_EDGE].data[0]).toBeCloseTo(edge.predictRow(nanRow), 4);
    expect(edge.predictRow(nanRow)).toBeGreaterThan(1.5);
  });

  it('carries the base score, float32 thresholds and metadata', () => {
    const decoded = modelProtoType().toObject(modelProtoType().decode(bytes), { longs: Number, bytes: String }) as {
      ir_version: number;
      opset_import: Array<{ domain: string; version: number }>;
      graph: { node: Array<{ op_type: string; attribute: Array<{ name: string; floats?: number[] }> }> };
      metadata_props: Array<{ key: string; value: string }>;
    };
    expect(decoded.ir_version).toBe(8);
    expect(decoded.opset_import).toEqual(expect.arrayContaining([{ domain: 'ai.onnx.ml', version: 3 }]));
    expect(decoded.graph.node.map((n) => n.op_type)).toEqual(['TreeEnsembleRegressor', 'TreeEnsembleRegressor', 'Sigmoid']);
    const attrs = decoded.graph.node[0].attribute;
    expect(attrs.find((a) => a.name === 'base_values')?.floats).toEqual([edge.baseScore]);
    const nInternal = edge.trees.reduce((s, t) => s + t.numLeaves - 1, 0);
    const thresholds = attrs.find((a) => a.name === 'nodes_values')!.floats!.filter((_, i) => i < edge.trees[0].numLeaves - 1);
    expect(thresholds).toEqual(Array.from(edge.trees[0].threshold));
    expect(nInternal).toBeGreaterThan(1000);
    const meta = Object.fromEntries(decoded.metadata_props.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta.feature_names)).toEqual(edge.featureNames);
    expect(meta.recipe_hash).toBe('abc');
  });

  it('exports a model whose trees are single leaves', async () => {
    const n = 100;
    const X = new Float32Array(n * 2).fill(1);
    const stump = await trainGbdt({ x: rowMajorMatrix(X, n, 2), y: new Float64Array(n).fill(7) }, { nEstimators: 3 }, { threads: 1 });
    const out = await runOnnx(exportOnnx({ edge: stump }), new Float32Array([1, NaN]), [1, 2]);
    expect(out.outputs[ONNX_OUTPUT_EDGE].data[0]).toBeCloseTo(7, 5);
  });

  it('refuses a logistic edge model and a confidence model on other features', () => {
    expect(() => exportOnnx({ edge: confidence })).toThrow(DataError);
    expect(() => exportOnnx({ edge, confidence: edge })).toThrow(/logistic/);
  });
});
