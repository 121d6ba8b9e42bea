import { openModel, Trader, type LiveModel, type PredictorKind } from '@engine/consumer';
import { buildFeatures } from '@engine/features';
import { EXIT_REASON_NAMES, tripleBarrierLabels, validatePolicyGolden } from '@engine/model';
import { ACTION_BUY, FLAT, PpoAgent } from '@engine/ppo';
import { MINUTE_MS, type CandleSeries } from '@engine/shared';
import { plantedMarket, trainSymbol, tradePolicySegments, type MarketTape, type TrainConfigOverrides, type TrainedModelBundle } from '@engine/training';
import { bundleProblems } from '../packages/training/test/bundle-checks';
import { FIXTURE_GUARDS, SYN, publish, tempPublishFolder } from '../packages/consumer/test/support/bundles';

/**
 * Issue 20: the PPO agent lives under the trees' rules. On the planted-edge market (SPEC §6
 * positive control) its walk-forward agents learn to buy after the planted shocks and pass
 * the production gates; on the same market with the drift removed (the signal gone, the
 * volume shocks kept) it is rejected. Its bundle opens in the consumer (golden vectors
 * checked natively and by ONNX) and the Trader trades the final agent exactly as the
 * simulation does, with either predictor. Reduced sizes: 60 days, 10-day training windows,
 * the first agent 300,000 steps (the default) and each later one fine-tuned 60,000 (default 100,000).
 */
const START = Date.UTC(2026, 0, 1);
const DAYS = 60;
const RUN = { symbol: SYN, runDate: '2026-03-02', now: new Date('2026-03-02T02:00:00Z') };
const PPO: TrainConfigOverrides = {
  walk_forward: { train_days: 10, test_days: 5, step_days: 5 },
  family: { name: 'ppo', ppo: { fine_tune_steps: 60_000 } },
};

describe('family ppo on the planted market', () => {
  const market = plantedMarket({ days: DAYS, seed: 1, start: START, symbol: SYN });
  const flat = plantedMarket({ days: DAYS, seed: 1, start: START, symbol: SYN, drift_bps_per_bar: 0 });
  let real: TrainedModelBundle;
  let noSignal: TrainedModelBundle;
  beforeAll(async () => {
    real = await trainSymbol({ ...RUN, candles: market.candles, reference: market.reference }, PPO, { threads: 2 });
    noSignal = await trainSymbol({ ...RUN, candles: flat.candles, reference: flat.reference }, PPO, { threads: 2 });
  }, 600_000);

  it('learns to buy after the planted shocks and passes every gate at its production bound', () => {
    const m = real.manifest;
    expect(m.model_family?.name).toBe('ppo');
    expect(m.engine.model_format).toBe('engine-ppo-agent/1');
    expect(m.gates.failed).toEqual([]);
    expect(m.metrics.total_trades).toBeGreaterThan(1000);
    expect(m.metrics.mean_net_bps).toBeGreaterThan(8);
    expect(m.gates.suspected_leakage).toBe(false);
    expect(m.thresholds.final.trade).toBe(true);
    expect(m.thresholds.final.source).toBe('policy');
    expect(m.model_family!.agents!.folds).toHaveLength(m.walk_forward.folds_evaluated);
    expect(bundleProblems(real)).toEqual([]);
    expect(real.trial.modelFamily).toBe('ppo');
    expect(real.trial.seed).toBe(1);
    // the final agent buys on shock bars far more often than on others
    const agent = PpoAgent.parse(Buffer.from(real.files.find((f) => f.name === 'model.json')!.bytes).toString());
    const frame = buildFeatures(market.candles, { reference: market.reference });
    let shockBuys = 0;
    let shocks = 0;
    let otherBuys = 0;
    let others = 0;
    const x = new Float64Array(frame.columns.length);
    for (let i = 20 * 1440; i < 30 * 1440; i++) {
      for (let k = 0; k < x.length; k++) x[k] = frame.columns[k]![i]!;
      const buy = agent.act(x, FLAT) === ACTION_BUY ? 1 : 0;
      if (market.shocks[i] === 1) {
        shocks++;
        shockBuys += buy;
      } else {
        others++;
        otherBuys += buy;
      }
    }
    // (it cannot see the cooldown, so pressing buy while one runs costs nothing: some noise buys stay)
    expect(shockBuys / shocks).toBeGreaterThan(0.5);
    expect(otherBuys / others).toBeLessThan(0.2);
    expect(shockBuys / shocks).toBeGreaterThan(4 * (otherBuys / others));
    const golden = validatePolicyGolden(JSON.parse(Buffer.from(real.files.find((f) => f.name === 'golden.json')!.bytes).toString()));
    expect(golden.ok).toBe(true);
  });

  it('is rejected on the same market without the signal', () => {
    const m = noSignal.manifest;
    expect(m.gates.passed).toBe(false);
    expect(m.metrics.total_trades).toBeLessThan(300);
    expect(bundleProblems(noSignal)).toEqual([]);
  });

  it('opens in the consumer and trades exactly as the simulation, natively and by ONNX', async () => {
    const folder = tempPublishFolder();
    try {
      await publish(folder.files, real);
      const from = DAYS * 1440 - 2 * 1440;
      const tape = tapeOf(real, market.candles, market.reference);
      const agent = PpoAgent.parse(Buffer.from(real.files.find((f) => f.name === 'model.json')!.bytes).toString());
      const last = market.candles.ts.length - 20;
      const sim = tradePolicySegments(tape, [{ fold: 0, first: from, last, agent }]);
      expect(sim.length).toBeGreaterThan(20);
      for (const predictor of ['native', 'onnx'] as const) {
        const model = await openModel({ ...FIXTURE_GUARDS, symbol: SYN, source: { kind: 'folder', dir: folder.dir } });
        try {
          expect(model.golden.rows).toBeGreaterThan(10);
          const live = await replay(model, predictor, market.candles, market.reference, from);
          // the simulation enters up to bar `last`; the trader goes on to the end of the candles
          expect(live.filter((t) => t.entry_ts <= market.candles.ts[last]! + MINUTE_MS).map(key)).toEqual(sim.map(key));
        } finally {
          await model.close();
        }
      }
    } finally {
      await folder.cleanup();
    }
  }, 120_000);
});

const key = (t: { entry_ts: number; exit_ts: number; exit_reason: number | string; net_bps: number }) => `${t.entry_ts} ${t.exit_ts} ${typeof t.exit_reason === 'number' ? EXIT_REASON_NAMES[t.exit_reason] : t.exit_reason} ${t.net_bps.toFixed(6)}`;

function tapeOf(b: TrainedModelBundle, candles: CandleSeries, reference: CandleSeries): MarketTape {
  const m = b.manifest;
  const frame = buildFeatures(candles, { reference });
  const labels = tripleBarrierLabels(candles, m.labelling, m.cost_model);
  const columns = m.feature_names.map((n) => frame.columns[(frame.names as readonly string[]).indexOf(n)]!);
  return { ts: candles.ts, open: candles.open, close: candles.close, labels, columns, costs: m.cost_model, rules: { cooldown_seconds: m.trading_params.cooldown_seconds, max_trades_per_day: m.trading_params.max_trades_per_day } };
}

const candleAt = (s: CandleSeries, i: number) => ({ ts: s.ts[i]!, open: s.open[i]!, high: s.high[i]!, low: s.low[i]!, close: s.close[i]!, volume: s.volume[i]!, gap: s.gap[i]! });

/** The trader from bar `from` to the end of the candles; the closed trades. */
async function replay(model: LiveModel, predictor: PredictorKind, candles: CandleSeries, reference: CandleSeries, from: number) {
  const trader = new Trader({ symbol: model.symbol, model, predictor });
  for (let i = 0; i < from; i++) trader.warmUp(candleAt(candles, i), candleAt(reference, i));
  const closed: { entry_ts: number; exit_ts: number; exit_reason: string; net_bps: number }[] = [];
  for (let i = from; i < candles.ts.length; i++) {
    const d = await trader.onCandle(candleAt(candles, i), candleAt(reference, i));
    if (d.exit) closed.push(d.exit);
  }
  return closed;
}
