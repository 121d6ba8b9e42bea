import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { type CandleSeries, createLogger, EngineError, loadConfig, pairSlug, parsePair, PermanentError, resolveGitCommit, TransientError, wrapError } from '@engine/shared';
import { marketInputs, runSingleMachine } from '@engine/fleet';
import { loadCandles, openSource, resolveWindow } from '@engine/candles';
import { referenceSymbolFor } from '@engine/features';
import { type FoldReport, type ModelManifest, serializeManifest } from '@engine/model';
import { resolveTrainConfig, trainSymbol, type TrainConfigOverrides, type TrainedModelBundle } from '@engine/training';
import { parseTrainingOption, positiveInt, TRAINING_OPTION_HELP } from './options';
import { jsonLine } from './output';
import { EXIT } from './exit-codes';

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
  /** Training overrides: JSON or @file.json (see `--training`). */
  training?: string;
  gitCommit?: string;
  json?: boolean;
  /**
   * Record each model in the registry and publish it (single-machine mode: embedded PGlite
   * under `<dataDir>/registry`, or DATABASE_URL; the Dropbox layout under `<dataDir>/publish`,
   * or Dropbox when configured). Default true; `--no-registry` only writes the bundles.
   */
  registry?: boolean;
  /** Registry, staging, publish folder and default cache live here; default ENGINE_DATA_DIR. */
  dataDir?: string;
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
  /** Registry outcome in single-machine mode: the model id the registry holds for the day. */
  registered?: { modelId: string; created: boolean; registry: string; published: string | null; publishLeftTo?: string };
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
  return `${table(['gate', 'value', 'op', 'bound', 'verdict', 'note'], rows)}\nmedians from: ${m.gates.median_source}; verdict: ${verdict}${breakEvenLine(m)}`;
}

/** The break-even cost line under the gate table (absent for manifests written before it). */
function breakEvenLine(m: ModelManifest): string {
  const b = m.break_even;
  if (b === undefined) return '';
  if (b.trades === 0) return '\nbreak-even round-trip cost: none (no out-of-sample trades to re-price)';
  const paid = b.paid_round_trip_bps === null ? 'no trades' : `the trades paid ${fmt(b.paid_round_trip_bps)} bps`;
  if (b.round_trip_bps === null) return `\nbreak-even round-trip cost: none (Sharpe ≥ ${b.min_sharpe} and PF ≥ ${b.min_profit_factor} fail even at 0 bps; ${paid})`;
  return `\nbreak-even round-trip cost: ${fmt(b.round_trip_bps)} bps (${paid}; margin ${fmt(b.margin_bps)} bps; the same trades re-priced, entries held fixed)`;
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
      f.threshold ? (f.threshold.trade ? `${fmt(f.threshold.threshold_bps)} (${f.threshold.source === 'previous_fold_oos' ? 'prev' : 'inner'})` : 'no trade') : '—',
      m ? String(m.total_trades) : '—',
      m && m.total_trades > 0 ? fmt(m.win_rate * 100, 1) : '—',
      m && m.total_trades > 0 ? fmt(m.profit_factor) : '—',
      m ? fmt(m.mean_net_bps) : '—',
      m ? fmt(m.total_profit_gbp) : '—',
      m ? fmt(m.max_drawdown) : '—',
      m ? fmt(m.sharpe_ratio) : '—',
      fmt(f.rank_ic, 3),
      f.skip_reason ??
        (f.threshold && !f.threshold.trade
          ? f.threshold.rule === 'no_profitable_candidate'
            ? `not traded: no threshold made money on calibration (best ${fmt(f.threshold.calibration_net_bps, 0)} bps)`
            : 'not traded: no threshold made enough calibration trades'
          : ''),
    ];
  });
  return table(['fold', 'test window', 'train', 'purged', 'thr bps (src)', 'trades', 'win %', 'PF', 'net bps/tr', 'GBP', 'max DD', 'Sharpe', 'rank IC', 'note'], rows);
}

/** The venue a model was priced for: side, cost profile (or cost-v1), entry order, funding, unfilled maker entries. */
export function venueLine(m: ModelManifest): string {
  const c = m.cost_model;
  const side = `${m.trading_params.side} side`;
  if (c.version === 'cost-v1') return `${side}, spot taker costs (cost-v1, ${fmt(c.fee_bps_per_side)} bps fee a side)`;
  const funding = c.market === 'spot' ? '' : c.funding.mode === 'series' ? `, funding from the venue's series` : `, CONSTANT funding ${fmt(c.funding.constant_rate_bps)} bps every ${c.funding.interval_hours} h`;
  const mk = m.data.market && m.data.market.candles !== m.data.market.priced_as ? ` on ${m.data.market.candles.toUpperCase()} candles` : '';
  const unfilled = m.metrics.unfilled_signals !== undefined ? `; ${m.metrics.unfilled_signals} maker entries unfilled (not traded)` : '';
  const funded = m.metrics.costs.mean_funding_bps !== undefined && c.market !== 'spot' ? `, funding ${fmt(m.metrics.costs.mean_funding_bps)} bps/trade` : '';
  return `${side}, ${c.profile ?? 'cost-v2'} (${c.market}, ${c.entry} entry, fees ${fmt(c.fee_bps.maker)}/${fmt(c.fee_bps.taker)} bps maker/taker × ${fmt(c.fee_discount)}${funding})${mk}${funded}${unfilled}`;
}

/** What made the model: its family, members and (ensembles) the final combiner's weights and out-of-fold evidence. */
export function familyLine(m: ModelManifest): string {
  const f = m.model_family;
  const trees = m.hyperparameters.model;
  if (f === undefined || f.name === 'gbdt') return `gbdt${trees ? ` (${trees.nEstimators} trees, depth ${trees.maxDepth})` : ''}`;
  if (f.agents) {
    const a = f.agents;
    const s = f.members[0]?.settings ?? {};
    return `ppo agent (policy ${s.policy_hidden_sizes} tanh, ${a.total_steps} steps for the first agent, ${a.fine_tune_steps} to fine-tune each later one, γ ${s.gamma}, λ ${s.gaeLambda}); ${a.folds.length} fold agents + final (seed ${a.final.seed}, ${a.final.episodes} episodes); actions ${a.actions.join('/')}, reward = realised net bps`;
  }
  const members = f.members
    .map((x) => {
      const label = x.name === x.kind ? x.name : `${x.name} ${x.kind}`;
      return x.kind === 'ridge' || x.kind === 'logistic' ? `${label} ${x.settings.penalty}=${x.settings.value}` : `${label} ${x.settings.nEstimators} trees`;
    })
    .join(', ');
  const rf = f.rf_row_fraction !== null ? `; forest rows per tree ${fmt(f.rf_row_fraction * 100, 1)}%` : '';
  const c = f.combiner;
  if (c === null) return `${f.name} (${members}${rf})`;
  const corr = c.members.flatMap((a, i) => c.members.slice(i + 1).map((b, j) => `${a}–${b} ${fmt(c.member_correlations[i]![i + 1 + j]!)}`)).join(', ');
  return `${f.name} (${members}${rf}); ${c.kind} weights ${c.weights.map((w) => fmt(w)).join('/')}, out-of-fold correlations ${corr}, disagreement ${fmt(c.disagreement)}, combined score vs outcome r = ${fmt(c.outcome_correlation.combined, 3)}`;
}

/** A one-paragraph summary of the out-of-sample record. */
export function formatSummary(m: ModelManifest): string {
  const x = m.metrics;
  return [
    `${m.symbol} ${m.run_date}: model ${m.model_id}, ${m.walk_forward.folds_evaluated}/${m.walk_forward.folds_total} folds, ${m.walk_forward.oos_days} out-of-sample days`,
    `  trades ${x.total_trades} (wins ${x.wins}, losses ${x.losses}, win rate ${fmt(x.win_rate * 100, 1)}%), net ${fmt(x.mean_net_bps)} bps/trade (gross ${fmt(x.mean_gross_bps)}, costs ${fmt(x.costs.mean_round_trip_bps)})`,
    `  profit £${fmt(x.total_profit_gbp)} (fees £${fmt(x.costs.fees_gbp)}, spread £${fmt(x.costs.spread_gbp)}, slippage £${fmt(x.costs.slippage_gbp)}), Sharpe ${fmt(x.sharpe_ratio)} (per trade ${fmt(x.sharpe_per_trade, 3)}, PSR ${fmt(x.probabilistic_sharpe, 3)}), PF ${fmt(x.profit_factor)}, max DD £${fmt(x.max_drawdown)}`,
    `  market: ${venueLine(m)}`,
    `  model: ${familyLine(m)}`,
    `  scenarios: ${m.scenario_tests.map((s) => `${s.name} Sharpe ${fmt(s.sharpe_ratio)} £${fmt(s.total_profit_gbp)}`).join('; ')}`,
    m.model_family?.agents
      ? `  no threshold: the agent decides (final: ${m.thresholds.final.trade ? 'trades' : 'does not trade'}, its pooled out-of-sample trades made ${fmt(m.thresholds.final.calibration_net_bps)} net bps in ${m.thresholds.final.calibration_trades}); labels: horizon ${m.labelling.horizon_minutes} min, mean net edge ${fmt(m.labelling.mean_net_edge_bps)} bps`
      : `  recommended threshold ${fmt(m.trading_params.recommended_edge_threshold_bps)} bps${m.trading_params.short_edge_threshold_bps !== undefined ? ` (long), ${fmt(m.trading_params.short_edge_threshold_bps)} bps (short)` : ''}; labels: horizon ${m.labelling.horizon_minutes} min, mean net edge ${fmt(m.labelling.mean_net_edge_bps)} bps, ${fmt(m.labelling.positive_share * 100, 1)}% positive`,
    ...(m.thresholds.folds_not_traded > 0 ? [`  ${m.thresholds.folds_not_traded} of ${m.walk_forward.folds_evaluated} folds did not trade: ${m.model_family?.agents ? "the agent's greedy policy did not make money on its calibration slice" : 'no threshold made money on their calibration data'}`] : []),
    ...(m.non_default_settings && m.non_default_settings.length > 0 ? [`  WARNING: trained with non-default settings: ${m.non_default_settings.join('; ')}`] : []),
    ...[...m.data.warnings, ...m.labelling.warnings].map((w) => `  WARNING: ${w}`),
  ].join('\n');
}


/**
 * `engine train`: for each symbol, load the window of candles (and its cross-asset
 * reference), run `trainSymbol` in this process, write the bundle to `<out>/<BASE-QUOTE>/<model id>/`
 * and print the gate and fold tables. A symbol that fails does not stop the others.
 */
export async function runTrain(opts: TrainCommandOptions, io: TrainIo): Promise<TrainOutcome[]> {
  const config = loadConfig();
  const symbols = opts.symbols.split(',').map((s) => parsePair(s).symbol);
  // Checked before any candle is loaded: a typo or a bad value fails here, naming the key.
  // ENGINE_COST_PROFILE names the venue unless --training names its own cost_profile.
  const parsed = parseTrainingOption(opts.training, opts.trees !== undefined ? { model: { nEstimators: opts.trees } } : {});
  const overrides: TrainConfigOverrides = config.costProfile !== undefined && parsed.cost_profile === undefined ? { cost_profile: config.costProfile, ...parsed } : parsed;
  resolveTrainConfig(overrides);
  const dataDir = opts.dataDir ?? config.dataDir;
  const cacheDir = opts.cacheDir ?? path.join(dataDir, 'candles');
  const out = opts.out ?? path.join(dataDir, 'models');
  const commit = opts.gitCommit ?? resolveGitCommit(config);
  const threads = opts.threads ?? (config.worker.trainThreads > 0 ? config.worker.trainThreads : undefined);
  if (opts.registry !== false) return runTrainRecorded({ opts, io, config, symbols, overrides, dataDir, cacheDir, out, commit, threads });
  const source = openSource(opts.source ?? config.candleSource, { exchangeUrl: config.exchangeUrl });
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
        const market = await marketInputs({ symbol, source: opts.source ?? config.candleSource, range: { start: window.start, end: window.end }, overrides, cacheDir, exchangeUrl: config.exchangeUrl });
        const bundle = await trainSymbol(
          { symbol, runDate: window.runDate, candles, reference, gitCommit: commit, ttlHours: config.modelTtlHours, ...market },
          overrides,
          {
            ...(threads !== undefined ? { threads } : {}),
            onProgress: opts.json ? undefined : (p) => io.stderr(`[${symbol}] ${p.stage} ${p.done}/${p.total}: ${p.message}\n`),
          },
        );
        const dir = bundleDir(out, bundle.manifest);
        await writeBundleToDir(bundle, dir);
        report(io, opts.json, bundle, dir, (Date.now() - started) / 1000, {}, '');
        outcomes.push({ symbol, dir, manifest: bundle.manifest });
      } catch (err) {
        const e = wrapError(err, `training ${symbol}`);
        reportFailure(io, opts.json, symbol, e);
        outcomes.push({ symbol, error: e });
      }
    }
  } finally {
    await source.close?.();
  }
  return outcomes;
}

/**
 * Where a bundle is written: `<out>/<BASE-QUOTE>/<model id>/`. Addressed by model id, so a
 * rerun with other settings never overwrites the bundle of the model the registry holds.
 */
export function bundleDir(out: string, m: Pick<ModelManifest, 'symbol' | 'model_id'>): string {
  return path.join(out, pairSlug(parsePair(m.symbol)), m.model_id);
}

/** Print one symbol's failure: its code and message (and a JSON line with them). */
function reportFailure(io: TrainIo, json: boolean | undefined, symbol: string, e: EngineError): void {
  io.stderr(`engine train: ${symbol} failed: [${e.code}] ${e.message}\n`);
  if (json) io.stdout(jsonLine({ symbol, error: e.message, code: e.code, permanent: e.permanent }));
}

/** Print one trained symbol: JSON line or summary + gate and fold tables. */
function report(io: TrainIo, json: boolean | undefined, bundle: TrainedModelBundle, dir: string, seconds: number, extra: Record<string, unknown>, extraText: string): void {
  const m = bundle.manifest;
  if (json) {
    io.stdout(jsonLine({ symbol: m.symbol, dir, modelId: m.model_id, runDate: m.run_date, passed: m.gates.passed, failed: m.gates.failed, warnings: [...m.data.warnings, ...m.labelling.warnings], metrics: m.metrics, seconds, ...extra }));
  } else {
    io.stdout(`\n${formatSummary(m)}\n\nGates (${m.symbol})\n${formatGateTable(m)}\n\nWalk-forward folds (${m.symbol})\n${formatFoldTable(bundle.folds)}\n\nwrote ${dir} in ${seconds.toFixed(1)} s${extraText}\n`);
  }
}

/**
 * The main job on one machine: the fleet's own pipeline in-process (`runSingleMachine`:
 * candles → trainSymbol → staging → registry → publish), then the bundle also written to
  * `<out>/<BASE-QUOTE>/<model id>/` and the tables printed. Idempotent per (symbol, run date) like the fleet.
 */
async function runTrainRecorded(a: {
  opts: TrainCommandOptions;
  io: TrainIo;
  config: ReturnType<typeof loadConfig>;
  symbols: string[];
  overrides: TrainConfigOverrides;
  dataDir: string;
  cacheDir: string;
  out: string;
  commit: string | null;
  threads: number | undefined;
}): Promise<TrainOutcome[]> {
  const { opts, io } = a;
  // Logs go to stderr; in --json mode only warnings, so stdout stays one JSON line per symbol.
  const log = createLogger({ level: opts.json ? 'warn' : a.config.logLevel === 'info' ? 'warn' : a.config.logLevel, name: 'engine-train' });
  const rep = await runSingleMachine(
    {
      symbols: a.symbols,
      source: opts.source,
      days: opts.days,
      end: opts.end,
      dataDir: a.dataDir,
      cacheDir: a.cacheDir,
      threads: a.threads,
      gitCommit: a.commit,
      training: a.overrides,
      onProgress: opts.json ? undefined : (symbol, p) => io.stderr(`[${symbol}] ${p.stage}${p.fold ? ` ${p.fold}/${p.folds}` : ''} ${p.pct.toFixed(0)}%${p.message ? `: ${p.message}` : ''}\n`),
    },
    log,
    a.config,
  );
  const outcomes: TrainOutcome[] = [];
  for (const r of rep.results) {
    if (!r.ok) {
      const e = r.error.permanent ? new PermanentError(r.error.code, r.error.message) : new TransientError(r.error.code, r.error.message);
      reportFailure(io, opts.json, r.symbol, e);
      outcomes.push({ symbol: r.symbol, error: e });
      continue;
    }
    const dir = bundleDir(a.out, r.bundle.manifest);
    await writeBundleToDir(r.bundle, dir);
    const trained = r.bundle.manifest.model_id;
    if (!r.created && r.result.modelId !== trained) {
      // The registry already holds another model for this symbol and day (a rerun with other
      // settings, or the losing side of two concurrent runs): it keeps that one. Say so, and
      // print the id the registry holds, not this run's.
      const e = new PermanentError(
        'MODEL_CONFLICT',
        `the registry ${rep.registry} already holds model ${r.result.modelId} for ${r.symbol} ${r.runDate} (trained with other settings or data); this run's model ${trained} was not recorded (its bundle is in ${dir}). Train another day (--end), or use --no-registry to only write bundles`,
        { symbol: r.symbol, runDate: r.runDate, registryModelId: r.result.modelId, trainedModelId: trained },
      );
      reportFailure(io, opts.json, r.symbol, e);
      outcomes.push({ symbol: r.symbol, dir, error: e, registered: { modelId: r.result.modelId, created: false, registry: rep.registry, published: null } });
      continue;
    }
    const registered = { modelId: r.result.modelId, created: r.created, registry: rep.registry, published: r.sync ? rep.publishTarget : null, ...(r.publishLeftTo ? { publishLeftTo: r.publishLeftTo } : {}) };
    if (r.publishLeftTo !== undefined) {
      // Not a failure: the registry's own sync publishes to its target; this process has no access to it.
      const text = `\nregistry ${rep.registry}: ${r.created ? 'recorded' : 'already holds'} model ${r.result.modelId} (${r.result.verdict}); publishing is left to the registry's target ${r.publishLeftTo} (this process would publish to ${rep.publishTarget}; ENGINE_SIDE_PUBLISH=true also writes it there)`;
      report(io, opts.json, r.bundle, dir, r.seconds, { registry: registered }, text);
      outcomes.push({ symbol: r.symbol, dir, manifest: r.bundle.manifest, registered });
      continue;
    }
    const text = [
      `\nregistry ${rep.registry}: ${r.created ? `recorded model ${r.result.modelId} (${r.result.verdict})` : `already holds this model ${r.result.modelId} for ${r.runDate} (the same settings and data: nothing recorded twice)`}`,
      r.sync ? `published to ${rep.publishTarget} (${r.sync.uploaded} files sent, ${r.sync.unchanged} unchanged)` : `NOT PUBLISHED: ${r.syncError ?? 'unknown'} (recorded and pending; the next run's or the sync worker's sweep retries it)`,
    ].join('\n');
    report(io, opts.json, r.bundle, dir, r.seconds, { registry: registered, ...(r.sync ? {} : { publishError: r.syncError ?? 'unknown' }) }, text);
    if (!r.sync) {
      // Recorded but not published: a transient failure for this symbol (exit 3), never "published".
      const e = new TransientError('PUBLISH_FAILED', `${r.symbol}: recorded as ${r.result.modelId} but not published: ${r.syncError ?? 'unknown'}`);
      io.stderr(`engine train: [${e.code}] ${e.message}\n`);
      outcomes.push({ symbol: r.symbol, dir, manifest: r.bundle.manifest, registered, error: e });
      continue;
    }
    outcomes.push({ symbol: r.symbol, dir, manifest: r.bundle.manifest, registered });
  }
  return outcomes;
}

/**
 * The command's exit code: 0 when every symbol was trained (and, with the registry,
 * recorded and published) — a rejected model is a normal outcome; 3 when a failure may
 * pass on retry (a service was down, a publish failed); else 2 (bad input or data).
 */
export function trainExitCode(outcomes: readonly TrainOutcome[]): number {
  const failed = outcomes.filter((o) => o.error !== undefined);
  if (failed.length === 0) return EXIT.ok;
  return failed.some((o) => !(o.error instanceof EngineError && o.error.permanent)) ? EXIT.transient : EXIT.input;
}

/** `engine train …` */
export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('the main job on one machine: train, validate and gate one model per symbol in this process, record it in the registry (embedded PGlite unless DATABASE_URL) and publish it in the Dropbox layout (<data-dir>/publish, or Dropbox when configured); the bundle also goes to <out>/<BASE-QUOTE>/<model id>/; prints the gate and fold tables')
    .requiredOption('--symbols <list>', 'comma-separated pairs, e.g. BTC/USDT,ETH/USDT')
    .option('--source <source>', 'binance (any ccxt exchange id) or csv:DIR (default: ENGINE_CANDLE_SOURCE)')
    .option('--days <n>', 'window length in whole UTC days (default: ENGINE_WINDOW_DAYS)', positiveInt('--days'))
    .option('--end <YYYY-MM-DD>', 'last UTC day included (default: the last complete day of the source)')
    .option('--out <dir>', 'output folder (default: <ENGINE_DATA_DIR>/models)')
    .option('--cache-dir <dir>', 'candle cache folder (default: <ENGINE_DATA_DIR>/candles)')
    .option('--trees <n>', 'trees in the edge model (default 300)', positiveInt('--trees'))
    .option('--threads <n>', 'threads for the model fits, run in parallel (default: ENGINE_TRAIN_THREADS, else every core)', positiveInt('--threads'))
    .option('--training <json|@file>', TRAINING_OPTION_HELP)
    .option('--git-commit <sha>', 'engine commit to record (default: git rev-parse HEAD)')
    .option('--json', 'one JSON line per symbol instead of tables')
    .option('--data-dir <dir>', 'registry, staging, publish folder and candle cache (default: ENGINE_DATA_DIR)')
    .option('--no-registry', 'only write the bundles: no registry record, no publish')
    .action(async (opts: TrainCommandOptions) => {
      const outcomes = await runTrain(opts, { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) });
      process.exitCode = trainExitCode(outcomes);
    });
}
