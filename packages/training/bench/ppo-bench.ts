/**
 * `npm run bench:ppo [-- SYMBOL [DAYS [THREADS [STEPS]]]]` (issue 20): the PPO agent's speed
 * on the real candles, one JSON line per measurement:
 *
 * 1. `ppo_env`: trading-environment steps per second on one thread, random actions (the
 *    simulation alone: observation, decider, fills, costs);
 * 2. `ppo_train`: PPO training steps per second on one thread (rollouts + updates) on the
 *    first 20-day window, STEPS steps (default 30,000);
 *    `ppo_train_rollout_threads`: the same training in process and with its environment copies
 *    on 2 rollout threads (the same agent bit for bit), and their time ratio;
 * 3. `pipeline` × 2: the whole per-symbol pipeline with the default GBDT, then with the
 *    `ppo` family (every fold's agent + the final agent), on THREADS threads (default 2),
 *    and `ppo_vs_gbdt`: their ratio in the same run. Target: ≤ 10×.
 *
 * Reads `<ENGINE_OHLCV_DIR or ../shared/data/ohlcv>/<BASEQUOTE>-1m.csv.gz` (gap-free).
 */
import { availableParallelism, cpus } from 'node:os';
import { realCandleDir } from '@engine/candles';
import { buildFeatures } from '@engine/features';
import { tripleBarrierLabels } from '@engine/model';
import { featureStandardiser, ObservationBuilder, resolvePpoParams, trainPpo } from '@engine/ppo';
import { type CandleSeries, DAY_MS, formatUtcDay, loadConfig, MINUTE_MS, Mulberry32, parsePair } from '@engine/shared';
import { resolveTrainConfig, shareInit, TradingEnv, trainAgentJob, trainSymbol, type TrainConfigOverrides } from '@engine/training';
import { lastWholeDays } from './real-window';


const line = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const [symArg, daysArg, threadsArg, stepsArg] = process.argv.slice(2);
  const pair = parsePair(symArg ?? 'ETH/USDT');
  const days = Number(daysArg ?? 150);
  const threads = threadsArg !== undefined ? Number(threadsArg) : Math.min(2, availableParallelism());
  const steps = Number(stepsArg ?? 30_000);
  const dir = realCandleDir(loadConfig());
  const refPair = parsePair(pair.base === 'BTC' ? 'ETH/USDT' : 'BTC/USDT');
  const candles = lastWholeDays(dir, pair.symbol, days);
  const reference = lastWholeDays(dir, refPair.symbol, days);
  const cpu = cpus()[0]?.model ?? 'unknown';

  // the environment of the first training window, as the pipeline builds it
  const cfg = resolveTrainConfig({ family: { name: 'ppo' } });
  const frame = buildFeatures(candles, { reference });
  const labels = tripleBarrierLabels(candles, cfg.labels, cfg.costs);
  const first = 0;
  const last = Math.min(candles.ts.length - 2, 20 * 1440 - 1);
  const rows = Int32Array.from({ length: last - first + 1 }, (_, k) => first + k).filter((i) => !Number.isNaN(labels.net_edge_bps[i]!) && labels.exit_index[i]! <= last);
  const allowed = new Uint8Array(candles.ts.length);
  for (const r of rows) allowed[r] = 1;
  const { means, scales } = featureStandardiser(frame.columns, rows);
  const builder = new ObservationBuilder({ featureNames: frame.names, means, scales, horizonMinutes: cfg.labels.horizon_minutes });
  const tape = { ts: candles.ts, open: candles.open, close: candles.close, labels, columns: frame.columns, costs: cfg.costs, rules: cfg.trading };
  const env = new TradingEnv(tape, builder, { first, last, allowed });
  const rng = new Mulberry32(1);
  env.reset(rng);
  const envSteps = 200_000;
  let t0 = performance.now();
  for (let k = 0; k < envSteps; k++) {
    const s = env.step(Math.floor(rng.next() * 3));
    if (s.truncated || s.done) env.reset(rng);
  }
  const envS = (performance.now() - t0) / 1000;
  line({ bench: 'ppo_env', symbol: pair.symbol, steps: envSteps, seconds: r3(envS), env_steps_per_s_per_thread: Math.round(envSteps / envS), observation_size: builder.observationSize, cpu });

  const params = resolvePpoParams(cfg.family.ppo.params);
  t0 = performance.now();
  const r = await trainPpo(() => new TradingEnv(tape, builder, { first, last, allowed }), params, { seed: 1, totalSteps: steps });
  const trainS = (performance.now() - t0) / 1000;
  line({ bench: 'ppo_train', symbol: pair.symbol, steps: r.steps, seconds: r3(trainS), train_steps_per_s_per_thread: Math.round(r.steps / trainS), n_envs: params.nEnvs, n_steps: params.nSteps, n_epochs: params.nEpochs, batch_size: params.batchSize, cpu });

  // the same training with the environment copies stepped on 2 rollout threads (same agent bit for bit)
  const init = { ts: candles.ts, open: candles.open, close: candles.close, labels, columns: frame.columns, names: [...frame.names], costs: cfg.costs, rules: cfg.trading, horizonMinutes: cfg.labels.horizon_minutes };
  const job = { id: 0, first, last, allowed: rows, statsRows: rows, seed: 1, totalSteps: steps, rewardScale: cfg.family.ppo.reward_scale, params, init: null };
  t0 = performance.now();
  const one = await trainAgentJob(job, init);
  const oneS = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const two = await trainAgentJob(job, shareInit(init), undefined, 2);
  const twoS = (performance.now() - t0) / 1000;
  line({ bench: 'ppo_train_rollout_threads', symbol: pair.symbol, steps: one.steps, in_process_s: r3(oneS), rollout_threads_2_s: r3(twoS), ratio: r3(twoS / oneS), same_agent: one.agent === two.agent, cpu });

  const gbdtS = await pipeline(pair.symbol, candles, reference, {}, 'gbdt', threads, days);
  const ppoS = await pipeline(pair.symbol, candles, reference, { family: { name: 'ppo' } }, 'ppo', threads, days);
  const ratio = ppoS / gbdtS;
  line({ bench: 'ppo_vs_gbdt', symbol: pair.symbol, days, threads, gbdt_s: r3(gbdtS), ppo_s: r3(ppoS), ratio: r3(ratio), target: 'ppo <= 10x gbdt', pass: ratio <= 10, total_steps_per_agent: cfg.family.ppo.total_steps, cpu });
}

async function pipeline(symbol: string, candles: CandleSeries, reference: CandleSeries, overrides: TrainConfigOverrides, family: string, threads: number, days: number): Promise<number> {
  const t0 = performance.now();
  let folds = 0;
  const b = await trainSymbol({ symbol, runDate: formatUtcDay(Math.floor((candles.ts[candles.ts.length - 1]! + MINUTE_MS) / DAY_MS) * DAY_MS), candles, reference }, overrides, {
    threads,
    onProgress: (p) => {
      if (p.stage === 'fold') folds = p.total;
    },
  });
  const s = (performance.now() - t0) / 1000;
  const m = b.manifest;
  line({ bench: 'pipeline', family, symbol, days, folds, threads, pipeline_s: r3(s), gates_passed: m.gates.passed, trades: m.metrics.total_trades, mean_net_bps: r3(m.metrics.mean_net_bps), sharpe: Math.round(m.metrics.sharpe_ratio * 100) / 100 });
  return s;
}

main().catch((e: unknown) => {
  process.stderr.write(`ppo-bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
