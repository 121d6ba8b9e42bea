import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EngineError } from '@engine/shared';
import { DEFAULT_TRAIN_CONFIG, ENGINE_VERSION, nonDefaultSettings, resolveTrainConfig, trainSymbol } from '../src';
import { randomWalkCandles } from './random-walk';

describe('training configuration', () => {
  it('records the package version as the engine version', () => {
    const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(ENGINE_VERSION).toBe(pkg.version);
  });

  it('defaults to the spec: 300 trees, lr 0.05, depth 6, 4-minute labels, 20/5/5-day folds, production gates', () => {
    const c = resolveTrainConfig();
    expect(c.model).toMatchObject({ nEstimators: 300, learningRate: 0.05, maxDepth: 6, objective: 'squared_error' });
    expect(c.confidence_model.objective).toBe('logistic');
    expect(c.labels).toMatchObject({ horizon_minutes: 4, side: 'long', barriers: { mode: 'volatility', tp_sigma: 2, tp_min_cost_multiple: 2, sl_sigma: 1 } });
    expect(c.walk_forward).toMatchObject({ train_days: 20, test_days: 5, step_days: 5 });
    expect(c.trading).toEqual({ cooldown_seconds: 900, max_trades_per_day: 40 });
    expect(c.gates).toMatchObject({ min_sharpe: 0.7, min_profit_factor: 1.1, max_drawdown_multiple: 1.2, win_rate_tolerance: 0.01, min_trades: 300 });
    expect(c.costs).toMatchObject({ version: 'cost-v1', fee_bps_per_side: 10 });
  });

  it('lists every guarded setting that differs from the defaults, for the manifest and every page (issue 19)', () => {
    expect(nonDefaultSettings(resolveTrainConfig({}))).toEqual([]);
    // Zero costs and gates turned off: nothing can hide it.
    const loose = resolveTrainConfig({ costs: { fee_bps_per_side: 0, spread_bps: 0 }, gates: { min_sharpe: -100, min_trades: 0 }, labels: { allow_unwinnable: true } });
    expect(nonDefaultSettings(loose)).toEqual([
      'costs.fee_bps_per_side: 0 (default 10)',
      'costs.spread_bps: 0 (default 2)',
      'gates.min_sharpe: -100 (default 0.7)',
      'gates.min_trades: 0 (default 300)',
      'labels.allow_unwinnable: true (default false)',
    ]);
    expect(nonDefaultSettings(resolveTrainConfig({ cost_profile: 'binance-usdm-taker' }))).toEqual(['costs: binance-usdm-taker@1 (default cost-v1, Binance spot taker)']);
    // Model size and label horizon are research choices, not safeguards: not flagged.
    expect(nonDefaultSettings(resolveTrainConfig({ model: { nEstimators: 10 }, labels: { horizon_minutes: 60 } }))).toEqual([]);
  });

  it('merges overrides deeply and replaces barrier settings whole', () => {
    const c = resolveTrainConfig({ model: { nEstimators: 50 }, labels: { barriers: { mode: 'bps', tp_bps: 60, sl_bps: 30 } }, threshold: { quantiles: [0.9] } });
    expect(c.model.nEstimators).toBe(50);
    expect(c.model.maxDepth).toBe(6);
    expect(c.labels.barriers).toEqual({ mode: 'bps', tp_bps: 60, sl_bps: 30 });
    expect(c.labels.horizon_minutes).toBe(4);
    expect(c.threshold.quantiles).toEqual([0.9]);
    expect(DEFAULT_TRAIN_CONFIG.model.nEstimators).toBe(300);
  });

  it('refuses unknown settings and impossible combinations', () => {
    expect(() => resolveTrainConfig({ walk_forward: { train_day: 5 } } as never)).toThrow(/unknown training setting 'walk_forward.train_day'/);
    expect(() => resolveTrainConfig({ model: { objective: 'logistic' } })).toThrow(/edge model must be a regressor/);
    expect(() => resolveTrainConfig({ costs: { fee_bps_per_side: -1 } })).toThrow(/fee_bps_per_side/);
  });

  it('refuses candles past the run date and histories too short for one fold, permanently', async () => {
    const c = randomWalkCandles({ days: 26, seed: 1, start: Date.UTC(2026, 0, 1), symbol: 'TEST/USDT' });
    const late = trainSymbol({ symbol: 'TEST/USDT', runDate: '2026-01-20', candles: c }, {}, { threads: 1 });
    await expect(late).rejects.toThrow(/past the run date 2026-01-20/);
    const short = randomWalkCandles({ days: 10, seed: 1, start: Date.UTC(2026, 0, 1), symbol: 'TEST/USDT' });
    const err = await trainSymbol({ symbol: 'TEST/USDT', runDate: '2026-01-11', candles: short }, {}, { threads: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).permanent).toBe(true);
    expect((err as Error).message).toMatch(/cannot hold one walk-forward fold of 20 \+ 5 days/);
  });
});
