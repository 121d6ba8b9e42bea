import { execFileSync } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError, type CandleSeries, loadConfig, pairSlug, parsePair } from '@engine/shared';
import { loadCandles, openSource, resolveWindow } from '@engine/candles';
import { referenceSymbolFor } from '@engine/features';
import {
  type FoldReport,
  type ModelManifest,
  serializeManifest,
  trainSymbol,
  type TrainConfigOverrides,
  type TrainedModelBundle,
} from '@engine/training';

/** Options of `engine train`. */
export interface TrainCommandOptions {
  symbols: string;
  source?: string;
  days?: number;
  end?: string;
  out?: string;
  cacheDir?: string;
  trees?: number;
  threads?: number;
  /** JSON overrides of the training configuration (TrainConfig). */
  config?: string;
  gitCommit?: string;
  json?: boolean;
}

/** Where the command writes. */
export interface TrainIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** One symbol's outcome. */
export interface TrainOutcome {
  symbol: string;
  dir?: string;
  manifest?: ModelManifest;
  error?: Error;
}

function positiveInt(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${what} must be a whole number ≥ 1, got '${v}'`);
    return n;
  };
}

/**
 * Write a bundle into `dir`: every file, then `manifest.json` last (written to a temporary
 * name and renamed), so a reader that sees the manifest sees a complete bundle.
 * Returns the paths written.
 */
export async function writeBundleToDir(bundle: TrainedModelBundle, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const f of bundle.files) {
    const p = path.join(dir, f.name);
    await writeFile(p, f.bytes);
    written.push(p);
  }
  const manifestPath = path.join(dir, 'manifest.json');
  await writeFile(`${manifestPath}.tmp`, serializeManifest(bundle.manifest));
  await rename(`${manifestPath}.tmp`, manifestPath);
  written.push(manifestPath);
  return written;
}

function fmt(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined) return '—';
  if (!Number.isFinite(x) || Math.abs(x) >= 1e300) return '∞';
  return x.toFixed(digits);
}

function table(header: string[], rows: string[][]): string {
  const width = header.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, k) => c.padEnd(width[k]!)).join('  ').trimEnd();
  return [line(header), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The gate table: every gate's value, bound and verdict. */
export function formatGateTable(m: ModelManifest): string {
  const rows = m.gates.results.map((g) => [
    g.name,
    fmt(g.value, 4),
    g.name.startsWith('plausible_') ? '<' : g.op,
    fmt(g.bound, 4),
    g.passed ? 'pass' : 'FAIL',
    g.note ?? '',
  ]);
  const verdict = m.gates.passed ? 'PUBLISHABLE' : `REJECTED (${m.gates.failed.join(', ')})${m.gates.suspected_leakage ? ' — SUSPECTED LEAKAGE' : ''}`;
  return `${table(['gate', 'value', 'op', 'bound', 'verdict', 'note'], rows)}\nmedians from: ${m.gates.median_source}; verdict: ${verdict}`;
}

/** The per-fold table of the walk-forward. */
export function formatFoldTable(folds: readonly FoldReport[]): string {
  const rows = folds.map((f) => {
    const m = f.metrics;
    return [
      String(f.fold),
      `${f.test_start.slice(0, 10)}→${f.test_end.slice(0, 10)}`,
      f.skipped ? 'skipped' : String(f.train_rows),
      String(f.purged),
      f.threshold ? `${fmt(f.threshold.threshold_bps)} (${f.threshold.source === 'previous_fold_oos' ? 'prev' : 'inner'})` : '—',
      m ? String(m.total_trades) : '—',
      m && m.total_trades > 0 ? fmt(m.win_rate * 100, 1) : '—',
      m && m.total_trades > 0 ? fmt(m.profit_factor) : '—',
      m ? fmt(m.mean_net_bps) : '—',
      m ? fmt(m.total_profit_gbp) : '—',
      m ? fmt(m.max_drawdown) : '—',
      m ? fmt(m.sharpe_ratio) : '—',
      fmt(f.rank_ic, 3),
      f.skip_reason ?? '',
    ];
  });
  return table(['fold', 'test window', 'train', 'purged', 'thr bps (src)', 'trades', 'win %', 'PF', 'net bps/tr', 'GBP', 'max DD', 'Sharpe', 'rank IC', 'note'], rows);
}

/** A one-paragraph summary of the out-of-sample record. */
export function formatSummary(m: ModelManifest): string {
  const x = m.metrics;
  return [
    `${m.symbol} ${m.run_date}: model ${m.model_id}, ${m.walk_forward.folds_evaluated}/${m.walk_forward.folds_total} folds, ${m.walk_forward.oos_days} out-of-sample days`,
    `  trades ${x.total_trades} (wins ${x.wins}, losses ${x.losses}, win rate ${fmt(x.win_rate * 100, 1)}%), net ${fmt(x.mean_net_bps)} bps/trade (gross ${fmt(x.mean_gross_bps)}, costs ${fmt(x.costs.mean_round_trip_bps)})`,
    `  profit £${fmt(x.total_profit_gbp)} (fees £${fmt(x.costs.fees_gbp)}, spread £${fmt(x.costs.spread_gbp)}, slippage £${fmt(x.costs.slippage_gbp)}), Sharpe ${fmt(x.sharpe_ratio)} (per trade ${fmt(x.sharpe_per_trade, 3)}, PSR ${fmt(x.probabilistic_sharpe, 3)}), PF ${fmt(x.profit_factor)}, max DD £${fmt(x.max_drawdown)}`,
    `  scenarios: ${m.scenario_tests.map((s) => `${s.name} Sharpe ${fmt(s.sharpe_ratio)} £${fmt(s.total_profit_gbp)}`).join('; ')}`,
    `  recommended threshold ${fmt(m.trading_params.recommended_edge_threshold_bps)} bps; labels: horizon ${m.labelling.horizon_minutes} min, mean net edge ${fmt(m.labelling.mean_net_edge_bps)} bps, ${fmt(m.labelling.positive_share * 100, 1)}% positive`,
    ...m.labelling.warnings.map((w) => `  WARNING: ${w}`),
  ].join('\n');
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * `engine train`: for each symbol, load the window of candles (and its cross-asset
 * reference), run `trainSymbol` in this process, write the bundle to `<out>/<BASE-QUOTE>/`
 * and print the gate and fold tables. A symbol that fails does not stop the others.
 */
export async function runTrain(opts: TrainCommandOptions, io: TrainIo): Promise<TrainOutcome[]> {
  const config = loadConfig();
  const symbols = opts.symbols.split(',').map((s) => parsePair(s).symbol);
  let overrides: TrainConfigOverrides = {};
  if (opts.config !== undefined) {
    try {
      overrides = JSON.parse(opts.config) as TrainConfigOverrides;
    } catch (e) {
      throw new ConfigError(`--config must be JSON training overrides: ${(e as Error).message}`);
    }
  }
  if (opts.trees !== undefined) overrides = { ...overrides, model: { ...overrides.model, nEstimators: opts.trees } };
  const source = openSource(opts.source ?? config.candleSource, { exchangeUrl: config.exchangeUrl });
  const cacheDir = opts.cacheDir ?? path.join(config.dataDir, 'candles');
  const out = opts.out ?? path.join(config.dataDir, 'models');
  const commit = opts.gitCommit ?? gitCommit();
  const threads = opts.threads ?? (config.worker.trainThreads > 0 ? config.worker.trainThreads : undefined);
  const outcomes: TrainOutcome[] = [];
  try {
    for (const symbol of symbols) {
      const started = Date.now();
      try {
        const window = await resolveWindow({ days: opts.days ?? config.windowDays, end: opts.end, source, symbol });
        const load = async (s: string): Promise<CandleSeries> =>
          (await loadCandles({ symbol: s, start: window.start, end: window.end, source, cacheDir })).candles;
        const candles = await load(symbol);
        const referenceSymbol = referenceSymbolFor(symbol);
        const reference = await load(referenceSymbol);
        const bundle = await trainSymbol(
          { symbol, runDate: window.runDate, candles, reference, gitCommit: commit },
          overrides,
          {
            ...(threads !== undefined ? { threads } : {}),
            onProgress: opts.json ? undefined : (p) => io.stderr(`[${symbol}] ${p.stage} ${p.done}/${p.total}: ${p.message}\n`),
          },
        );
        const dir = path.join(out, pairSlug(parsePair(symbol)));
        await writeBundleToDir(bundle, dir);
        const m = bundle.manifest;
        const seconds = (Date.now() - started) / 1000;
        if (opts.json) {
          io.stdout(`${JSON.stringify({ symbol, dir, model_id: m.model_id, run_date: m.run_date, passed: m.gates.passed, failed: m.gates.failed, metrics: m.metrics, seconds })}\n`);
        } else {
          io.stdout(`\n${formatSummary(m)}\n\nGates (${symbol})\n${formatGateTable(m)}\n\nWalk-forward folds (${symbol})\n${formatFoldTable(bundle.folds)}\n\nwrote ${dir} in ${seconds.toFixed(1)} s\n`);
        }
        outcomes.push({ symbol, dir, manifest: m });
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        io.stderr(`engine train: ${symbol} failed: ${e.message}\n`);
        if (opts.json) io.stdout(`${JSON.stringify({ symbol, error: e.message })}\n`);
        outcomes.push({ symbol, error: e });
      }
    }
  } finally {
    await source.close?.();
  }
  return outcomes;
}

/** `engine train …` */
export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('train, validate and package one model per symbol in this process (single-machine mode): bundle + manifest.json into <out>/<BASE-QUOTE>/, then the gate and fold tables')
    .requiredOption('--symbols <list>', 'comma-separated pairs, e.g. BTC/USDT,ETH/USDT')
    .option('--source <source>', 'binance (any ccxt exchange id) or csv:DIR (default: ENGINE_CANDLE_SOURCE)')
    .option('--days <n>', 'window length in whole UTC days (default: ENGINE_WINDOW_DAYS)', positiveInt('--days'))
    .option('--end <YYYY-MM-DD>', 'last UTC day included (default: the last complete day of the source)')
    .option('--out <dir>', 'output folder (default: <ENGINE_DATA_DIR>/models)')
    .option('--cache-dir <dir>', 'candle cache folder (default: <ENGINE_DATA_DIR>/candles)')
    .option('--trees <n>', 'trees in the edge model (default 300)', positiveInt('--trees'))
    .option('--threads <n>', 'threads for the model fits, run in parallel (default: ENGINE_TRAIN_THREADS, else every core)', positiveInt('--threads'))
    .option('--config <json>', 'training configuration overrides as JSON, e.g. \'{"labels":{"horizon_minutes":60}}\'')
    .option('--git-commit <sha>', 'engine commit to record (default: git rev-parse HEAD)')
    .option('--json', 'one JSON line per symbol instead of tables')
    .action(async (opts: TrainCommandOptions) => {
      const outcomes = await runTrain(opts, { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) });
      const failed = outcomes.filter((o) => o.error);
      if (failed.length > 0) {
        // A failed symbol is an error; a rejected model is a normal outcome (exit 0).
        process.exitCode = failed.some((o) => !(o.error && 'permanent' in o.error && (o.error as { permanent: boolean }).permanent)) ? 1 : 2;
      }
    });
}
