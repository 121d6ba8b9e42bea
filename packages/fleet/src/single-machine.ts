import { hostname } from 'node:os';
import { resolveWindow } from '@engine/candles';
import { EngineError, loadConfig, parsePair, wrapError, type Config, type Logger } from '@engine/shared';
import { type TrainProgress, type TrainResult } from './jobs';
import { openRegistryContext, rejectionReasons, type SyncOutcome } from '@engine/registry';
import type { TrainConfigOverrides, TrainedModelBundle } from '@engine/training';
import { trainAndRecord } from './train-job';
import { decideRun, type RunDecision } from './false-discovery';
import { createTrainingPorts } from './training-ports';

/** What `engine train` asks of single-machine mode. */
export interface SingleMachineOptions {
  symbols: string[];
  /** `binance` (any ccxt id) or `csv:DIR`; default ENGINE_CANDLE_SOURCE. */
  source?: string;
  /** Window length in days; default ENGINE_WINDOW_DAYS. */
  days?: number;
  /**
   * Last UTC day in the window (`YYYY-MM-DD`); the run date is the day after. Default: for
   * an exchange the last complete day (yesterday, so the run date is today); for CSV files
   * the last complete day of each symbol's file.
   */
  end?: string;
  /** Registry (PGlite), staging, publish folder and candle cache live here; default ENGINE_DATA_DIR. */
  dataDir?: string;
  /** Overrides of the training defaults (deep-partial TrainConfig), e.g. `{ model: { nEstimators: 50 } }`. */
  training?: TrainConfigOverrides;
  /** GBDT threads; default ENGINE_TRAIN_THREADS (0 = every core). */
  threads?: number;
  /** Candle cache; default `<dataDir>/candles`. */
  cacheDir?: string;
  /** Git commit recorded in each manifest. */
  gitCommit?: string | null;
  onProgress?: (symbol: string, p: TrainProgress) => void;
  signal?: AbortSignal;
}

/** One symbol's outcome: trained, recorded and published — or the reason it failed. */
export type SingleMachineSymbolResult =
  | {
      symbol: string;
      ok: true;
      runDate: string;
      result: TrainResult;
      /** The bundle just trained (with its fold table); when `created` is false the registry kept an earlier model for the day (`result.modelId`). */
      bundle: TrainedModelBundle;
      created: boolean;
      /** What publishing did; null with `syncError` when it failed (the model stays pending; the next run's sweep retries), or with `publishLeftTo` when this process does not publish for the registry. */
      sync: SyncOutcome | null;
      syncError?: string;
      /** The registry publishes elsewhere (the fleet's Dropbox): this process published nothing and the registry's own sync will. */
      publishLeftTo?: string;
      /** The run's false-discovery decision on this symbol's model (absent when the registry kept an earlier, already decided model). */
      decision?: RunDecision;
      seconds: number;
    }
  | { symbol: string; ok: false; runDate?: string; error: { code: string; message: string; permanent: boolean } };

export interface SingleMachineReport {
  /** Where the registry is (`pglite:<dir>` or a redacted postgres URL). */
  registry: string;
  /** Where models were published (`folder:<dir>:/Runpodhuracan` or `dropbox:/Runpodhuracan`). */
  publishTarget: string;
  results: SingleMachineSymbolResult[];
}

/**
 * Single-machine mode (no REDIS_URL): the fleet's pipeline in-process, one symbol after the
 * other — candles → `trainSymbol` → staging folder → registry (embedded PGlite under
 * `<dataDir>/registry`, or DATABASE_URL when set) → publish (`<dataDir>/publish`, the same
 * `/Runpodhuracan/YYYY-MM-DD/models/` layout as Dropbox; Dropbox itself when configured).
 * The same registry code, the same idempotence: a second run for the same day keeps the
 * first model. A symbol that fails does not stop the others. Models left unpublished by an
 * earlier interrupted run are pushed first (the sweep).
 */
export async function runSingleMachine(opts: SingleMachineOptions, log: Logger, config: Config = loadConfig()): Promise<SingleMachineReport> {
  const cfg: Config = {
    ...config,
    mode: 'single',
    dataDir: opts.dataDir ?? config.dataDir,
    worker: { ...config.worker, trainThreads: opts.threads ?? config.worker.trainThreads },
  };
  const source = opts.source ?? cfg.candleSource;
  const days = opts.days ?? cfg.windowDays;
  const symbols = [...new Set(opts.symbols.map((s) => parsePair(s).symbol))];
  const actor = `cli@${hostname()}`;
  const reg = await openRegistryContext(cfg, { actor, logger: log });
  try {
    // A process whose publish target is not the registry's (a laptop without DROPBOX_* on the
    // fleet's PostgreSQL) publishes nothing: its models wait for the registry's own sync.
    let publishLeftTo: string | undefined;
    try {
      await reg.sync.checkTarget();
    } catch (err) {
      if (!(err instanceof EngineError && err.code === 'PUBLISH_TARGET_MISMATCH')) throw err;
      publishLeftTo = (await reg.registry.publishTarget()) ?? "the registry's sync worker";
      log.warn({ registryTarget: publishLeftTo, processTarget: reg.publisher.target() }, err.message);
    }
    const leftovers = publishLeftTo === undefined ? await reg.sync.sweep() : { synced: [], ingested: [] };
    if (leftovers.synced.length + leftovers.ingested.length > 0) log.info({ synced: leftovers.synced.length, ingested: leftovers.ingested.length }, 'published models left over from an earlier run');
    const ports = createTrainingPorts(cfg, { cacheDir: opts.cacheDir, gitCommit: opts.gitCommit });
    const results: SingleMachineSymbolResult[] = [];
    for (const symbol of symbols) {
      let runDate: string | undefined;
      const started = Date.now();
      const slog = log.child({ symbol });
      try {
        const window = await resolveWindow({ days, end: opts.end, source, symbol });
        runDate = window.runDate;
        const outcome = await trainAndRecord(
          { runDate, symbol, windowDays: days, source, ...(opts.training ? { training: opts.training } : {}) },
          { ports, registry: reg.registry, store: reg.store, trials: reg.trials, fitCache: reg.fitCache, source: 'train', actor },
          { progress: (p) => opts.onProgress?.(symbol, p), signal: opts.signal, log: slog },
        );
        results.push({
          symbol,
          ok: true,
          runDate,
          result: outcome.result,
          // createTrainingPorts trains with trainSymbol, whose bundles carry the fold table.
          bundle: outcome.bundle,
          created: outcome.created,
          sync: null,
          ...(publishLeftTo === undefined ? {} : { publishLeftTo }),
          seconds: (Date.now() - started) / 1000,
        });
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        const e: EngineError = wrapError(err, `training ${symbol}`);
        slog.error({ code: e.code, err: e.message, permanent: e.permanent }, 'symbol failed');
        results.push({ symbol, ok: false, runDate, error: { code: e.code, message: e.message, permanent: e.permanent } });
      }
    }
    // Every symbol evaluated: decide each run date's held models together (false-discovery
    // control), then publish them. A failed symbol has no held model and blocks nothing.
    for (const runDate of [...new Set(results.filter((r) => r.ok).map((r) => r.runDate!))]) {
      const decisions = await decideRun(runDate, reg, { settings: cfg.falseDiscovery, actor, decidedBy: `engine train (${runDate})`, log });
      for (const d of decisions) {
        const r = results.find((x): x is Extract<SingleMachineSymbolResult, { ok: true }> => x.ok && x.result.modelId === d.modelId);
        if (r === undefined) continue;
        r.decision = d;
        r.result = { ...r.result, verdict: d.verdict, reasons: rejectionReasons(d.manifest) };
        // The bundle written beside the registry carries the decided manifest.
        if (r.created) r.bundle = { ...r.bundle, manifest: d.manifest as TrainedModelBundle['manifest'] };
      }
    }
    if (publishLeftTo === undefined) {
      for (const r of results) {
        if (!r.ok) continue;
        try {
          r.sync = await reg.sync.syncStaged({ modelId: r.result.modelId, symbol: r.symbol, runDate: r.runDate });
        } catch (err) {
          // Recorded but not published: stays pending; the next run's sweep retries it.
          r.syncError = wrapError(err, `publishing ${r.symbol} ${r.runDate}`).message;
          log.warn({ symbol: r.symbol, err: r.syncError }, 'model recorded but not published yet');
        }
      }
    }
    return { registry: reg.where, publishTarget: reg.publisher.target(), results };
  } finally {
    await reg.close();
  }
}
