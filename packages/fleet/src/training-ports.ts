import * as path from 'node:path';
import { loadCandles, loadFundingRates, parseSource } from '@engine/candles';
import type { FundingSeries } from '@engine/model';
import type { Config } from '@engine/shared';
import { resolveTrainConfig, trainSymbol, type GateHistoryEntry, type PipelineProgress, type TrainConfigOverrides } from '@engine/training';
import type { MetricsHistoryEntry } from '@engine/registry';
import type { StageProgress, TrainingPorts } from './train-job';

/** The registry's gate history in the trainer's shape; models missing a metric are left out. */
export function toTrainingHistory(history: readonly MetricsHistoryEntry[]): GateHistoryEntry[] {
  const out: GateHistoryEntry[] = [];
  for (const h of history) {
    const dd = h.metrics.max_drawdown;
    const wr = h.metrics.win_rate;
    if (dd === undefined || wr === undefined) continue;
    out.push({ model_id: h.modelId, run_date: h.runDate, published: true, max_drawdown: dd, win_rate: wr });
  }
  return out;
}

/** The trainer's progress report as a job stage (`folds` is the start of fold 1). */
export function toStageProgress(p: PipelineProgress): StageProgress {
  const fraction = p.total > 0 ? p.done / p.total : 1;
  // The trainer's `candles` stage checks candles already loaded: the job's candle stage is done.
  if (p.stage === 'candles') return { stage: 'candles', fraction: 1, message: p.message };
  if (p.stage === 'folds') return { stage: 'fold', fold: 1, folds: p.total, fraction: 0, message: p.message };
  if (p.stage === 'fold') return { stage: 'fold', fold: Math.max(1, p.done), folds: p.total, fraction: p.done > 0 ? 1 : 0, message: p.message };
  return { stage: p.stage, fraction, message: p.message };
}

/** ccxt exchanges whose markets are USDⓈ-M perpetuals (our `BTC/USDT` is read as `BTC/USDT:USDT` there). */
export const PERPETUAL_SOURCES: ReadonlySet<string> = new Set(['binanceusdm']);

/** What the candles of a source are: a perpetual's (binanceusdm) or spot (any other exchange, CSV folders). */
export function candlesMarketOf(source: string): 'spot' | 'usdm-perp' {
  const spec = parseSource(source);
  return spec.kind === 'exchange' && PERPETUAL_SOURCES.has(spec.exchangeId) ? 'usdm-perp' : 'spot';
}

/**
 * The market inputs of a training run beside its candles: what the candles are and, when
 * the cost model prices funding from the venue's series, the perpetual's funding rates over
 * the window, from the same source and cache (a CSV folder or a spot exchange has none:
 * `FUNDING_UNAVAILABLE`, naming the way out). Nothing is loaded for any other cost model.
 */
export async function marketInputs(req: {
  symbol: string;
  source: string;
  range: { start: number; end: number };
  overrides: TrainConfigOverrides;
  cacheDir: string;
  exchangeUrl?: string;
  signal?: AbortSignal;
}): Promise<{ candlesMarket: 'spot' | 'usdm-perp'; funding?: FundingSeries }> {
  const candlesMarket = candlesMarketOf(req.source);
  const costs = resolveTrainConfig(req.overrides).costs;
  if (costs.version !== 'cost-v2' || costs.market !== 'usdm-perp' || costs.funding.mode !== 'series') return { candlesMarket };
  const f = await loadFundingRates({ symbol: req.symbol, from: req.range.start, to: req.range.end, source: req.source, cacheDir: req.cacheDir, exchangeUrl: req.exchangeUrl, signal: req.signal });
  return { candlesMarket, funding: { ts: f.ts, rate_bps: f.rate.map((r) => r * 1e4) } };
}

/**
 * The real pipeline behind a training job: candles from the configured source through the
 * cache under `<ENGINE_DATA_DIR>/candles`, and `trainSymbol` with ENGINE_TRAIN_THREADS GBDT
 * threads (0 = every core).
 */
export function createTrainingPorts(config: Pick<Config, 'dataDir' | 'exchangeUrl' | 'worker'> & Partial<Pick<Config, 'modelTtlHours'>>, opts: { cacheDir?: string; gitCommit?: string | null } = {}): TrainingPorts {
  const cacheDir = path.resolve(opts.cacheDir ?? path.join(config.dataDir, 'candles'));
  const threads = config.worker.trainThreads > 0 ? config.worker.trainThreads : undefined;
  return {
    async candles({ symbol, range, source, signal, onProgress, onLoaded }) {
      const { candles, summary } = await loadCandles({
        symbol,
        start: range.start,
        end: range.end,
        source,
        cacheDir,
        exchangeUrl: config.exchangeUrl,
        signal,
        onProgress: onProgress && ((p) => onProgress(p.totalMinutes > 0 ? p.doneMinutes / p.totalMinutes : 1)),
      });
      onLoaded?.({ requests: summary.requests });
      return candles;
    },
    async train(input, hooks, overrides) {
      const market = input.market
        ? await marketInputs({ symbol: input.symbol, source: input.market.source, range: input.market.range, overrides: overrides ?? {}, cacheDir, exchangeUrl: config.exchangeUrl, signal: hooks.signal })
        : {};
      return trainSymbol(
        { symbol: input.symbol, runDate: input.runDate, candles: input.candles, reference: input.reference, ...(input.windowStart !== undefined ? { windowStart: input.windowStart } : {}), history: toTrainingHistory(input.history), trials: input.trials, gitCommit: opts.gitCommit ?? null, ...(config.modelTtlHours !== undefined ? { ttlHours: config.modelTtlHours } : {}), ...(input.ttlHours !== undefined ? { ttlHours: input.ttlHours } : {}), ...(input.now !== undefined ? { now: input.now } : {}), ...market },
        overrides ?? {},
        { onProgress: (p) => hooks.onProgress(toStageProgress(p)), signal: hooks.signal, threads, ...(hooks.evaluate ? { evaluate: true } : {}), ...(input.fitCache ? { fitCache: input.fitCache } : {}) },
      );
    },
  };
}
