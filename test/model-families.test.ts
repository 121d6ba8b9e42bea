import { openModel, Trader, type LiveModel, type PredictorKind } from '@engine/consumer';
import { parsePortableModel, ScoreModel } from '@engine/ensemble';
import { buildFeatures } from '@engine/features';
import { columnMatrix, GbdtModel } from '@engine/gbdt';
import { tripleBarrierLabels, type ModelManifest } from '@engine/model';
import { sliceCandles, type CandleSeries } from '@engine/shared';
import { plantedMarket, simulateSegments, trainSymbol, type TrainConfigOverrides, type TrainedModelBundle } from '@engine/training';
import { bundleProblems } from '../packages/training/test/bundle-checks';
import { FAST_TRAINING, FIXTURE_GUARDS, SYN, publish, tempPublishFolder, trainCached } from '../packages/consumer/test/support/bundles';

/**
 * Issue 17: every model family lives under the same rules. On the planted-edge market
 * (SPEC §6 positive control) each family finds the edge and passes the production gates
 * (the ensemble is not diluted below them); with the target permuted each is rejected.
 * The ensemble's and the linear family's bundles open in the consumer, whose golden-vector
 * check runs the folded model natively and by ONNX, and trading through the consumer equals
 * the simulation trade for trade.
 */
const START = Date.UTC(2026, 0, 1);
const market = plantedMarket({ days: 90, seed: 1, start: START, symbol: SYN });
const input = { symbol: SYN, runDate: '2026-04-01', candles: market.candles, reference: market.reference, now: new Date('2026-04-01T02:00:00Z') };
const FAST: TrainConfigOverrides = {
  walk_forward: { train_days: 10, test_days: 5, step_days: 5 },
  model: { nEstimators: 40, maxDepth: 4 },
  confidence_model: { nEstimators: 10 },
};
const FAMILIES: { label: string; family: NonNullable<TrainConfigOverrides['family']> }[] = [
  { label: 'rf', family: { name: 'rf', rf: { nEstimators: 40 } } },
  { label: 'linear', family: { name: 'linear' } },
  { label: 'ensemble (equal weights)', family: { name: 'ensemble', rf: { nEstimators: 40 } } },
  { label: 'ensemble (stacking)', family: { name: 'ensemble', rf: { nEstimators: 40 }, ensemble: { combiner: 'stacking' } } },
];

describe.each(FAMILIES)('family $label on the planted market', ({ family }) => {
  let real: TrainedModelBundle;
  let permuted: TrainedModelBundle;
  beforeAll(async () => {
    real = await trainSymbol(input, { ...FAST, family }, { threads: 2 });
    permuted = await trainSymbol(input, { ...FAST, family, controls: { permute_target_seed: 12345 } }, { threads: 2 });
  }, 300_000);

  it('finds the edge and passes every gate at its production bound', () => {
    const m = real.manifest;
    expect(m.model_family?.name).toBe(family.name);
    expect(m.gates.failed).toEqual([]);
    expect(m.metrics.total_trades).toBeGreaterThan(1000);
    expect(m.metrics.mean_net_bps).toBeGreaterThan(5);
    expect(m.gates.suspected_leakage).toBe(false);
    for (const f of real.folds) expect(f.rank_ic).toBeGreaterThan(0.05);
    expect(bundleProblems(real)).toEqual([]);
    expect(real.trial.modelFamily).toBe(family.name);
  });

  it('is rejected with the target permuted', () => {
    const m = permuted.manifest;
    expect(m.gates.passed).toBe(false);
    expect(m.metrics.total_trades).toBeLessThan(300);
    expect(bundleProblems(permuted)).toEqual([]);
    expect(permuted.trial.isControl).toBe(true);
  });

  if (family.name === 'ensemble') {
    it('records the combiner: weights on the simplex, member correlations and disagreement from out-of-fold scores, one combiner per fold', () => {
      const f = real.manifest.model_family!;
      const c = f.combiner!;
      expect(c.members).toEqual(['gbdt', 'rf', 'linear']);
      expect(c.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      if (family.ensemble?.combiner !== 'stacking') expect(c.weights).toEqual([1 / 3, 1 / 3, 1 / 3]);
      expect(c.member_correlations[0]![1]).toBeGreaterThan(0.3);
      expect(c.disagreement).toBeGreaterThan(0);
      expect(c.edge.scale).toBeGreaterThan(0);
      expect(c.confidence.scale).toBeGreaterThan(0);
      expect(f.fold_combiners).toHaveLength(real.manifest.walk_forward.folds_evaluated);
      // the forest drew the labels' average uniqueness of the rows
      expect(f.rf_row_fraction).toBeGreaterThan(0.01);
      expect(f.rf_row_fraction).toBeLessThan(1);
      expect(real.manifest.hyperparameters.confidence_model).toBeNull();
      const native = parsePortableModel(Buffer.from(real.files.find((x) => x.name === 'model.json')!.bytes).toString());
      expect(native).toBeInstanceOf(ScoreModel);
      expect((native as ScoreModel).trees).not.toBeNull();
      expect((native as ScoreModel).linear).not.toBeNull();
    });
  }
});

/** Training's simulation of a bundle's final model over rows [from, n). */
function simulate(bundle: TrainedModelBundle, candles: CandleSeries, reference: CandleSeries, from: number) {
  const m = bundle.manifest;
  const frame = buildFeatures(candles, { reference });
  const labels = tripleBarrierLabels(candles, m.labelling, m.cost_model);
  const native = parsePortableModel(Buffer.from(bundle.files.find((f) => f.name === 'model.json')!.bytes).toString());
  const rows = Int32Array.from({ length: candles.ts.length - from }, (_, k) => from + k);
  const predicted = native.predict(columnMatrix(frame.columns.map((c) => Float64Array.from(rows, (i) => c[i]!))));
  return simulateSegments([{ fold: 0, threshold_bps: m.trading_params.recommended_edge_threshold_bps, rows, predicted_bps: predicted }], labels, candles.ts, { cooldown_seconds: m.trading_params.cooldown_seconds, max_trades_per_day: m.trading_params.max_trades_per_day });
}

const candleAt = (s: CandleSeries, i: number) => ({ ts: s.ts[i]!, open: s.open[i]!, high: s.high[i]!, low: s.low[i]!, close: s.close[i]!, volume: s.volume[i]!, gap: s.gap[i]! });

async function replayEntries(model: LiveModel, predictor: PredictorKind, candles: CandleSeries, reference: CandleSeries, from: number): Promise<number[]> {
  const trader = new Trader({ symbol: model.symbol, model, predictor });
  for (let i = 0; i < from; i++) trader.warmUp(candleAt(candles, i), candleAt(reference, i));
  const entries: number[] = [];
  const horizon = model.labelConfig.horizon_minutes;
  for (let i = from; i < candles.ts.length; i++) {
    const d = await trader.onCandle(candleAt(candles, i), candleAt(reference, i));
    if (d.enter && i + horizon < candles.ts.length) entries.push(d.position!.entry_ts);
  }
  return entries;
}

describe.each([
  { label: 'ensemble', family: { name: 'ensemble' as const, rf: { nEstimators: 30 } } },
  { label: 'linear', family: { name: 'linear' as const } },
])('the consumer runs a $label bundle', ({ family }) => {
  const trainDays = 10;
  const from = trainDays * 1440;
  const m = plantedMarket({ days: trainDays + 2, seed: 21, start: START, symbol: SYN });
  let bundle: TrainedModelBundle;
  let dir: string;
  const cleanups: (() => void | Promise<void>)[] = [];
  beforeAll(async () => {
    bundle = await trainCached({ symbol: SYN, runDate: '2026-01-11', candles: sliceCandles(m.candles, 0, from), reference: sliceCandles(m.reference, 0, from), now: new Date('2026-01-11T02:00:00Z') }, { ...FAST_TRAINING, family });
    const folder = tempPublishFolder();
    cleanups.push(folder.cleanup);
    dir = folder.dir;
    await publish(folder.files, bundle);
  }, 120_000);
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('opens it (golden vectors checked natively and by ONNX) and trades exactly as the simulation, with either predictor', async () => {
    const model = await openModel({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir } });
    cleanups.push(() => model.close());
    expect(model.hasNative).toBe(true);
    expect(model.golden.rows).toBeGreaterThan(10);
    expect(model.golden.native_max_rel_error).toBeLessThan(1e-9);
    expect(model.golden.onnx_max_rel_error).toBeLessThan(1e-5);
    const manifest: ModelManifest = bundle.manifest;
    expect(manifest.engine.model_format).toBe('engine-score-model/1');
    const sim = simulate(bundle, m.candles, m.reference, from);
    expect(sim.length).toBeGreaterThanOrEqual(10);
    for (const predictor of ['native', 'onnx'] as const) {
      const live = await replayEntries(model, predictor, m.candles, m.reference, from);
      expect(live).toEqual(sim.map((t) => t.entry_ts));
    }
  }, 120_000);

  it('the native file is a score model, not trees the GBDT reader would take', () => {
    const json = Buffer.from(bundle.files.find((f) => f.name === 'model.json')!.bytes).toString();
    expect(() => GbdtModel.parse(json)).toThrow();
    expect(parsePortableModel(json)).toBeInstanceOf(ScoreModel);
  });
});
