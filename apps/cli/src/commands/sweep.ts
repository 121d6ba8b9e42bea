import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type Config, ConfigError, createLogger, formatUtcDay, loadConfig, parsePair, parseUtcDay } from '@engine/shared';
import { openSource, resolveWindow } from '@engine/candles';
import { expandGrid, runSweepHere, runSweepOnFleet, type SweepGrid, type SweepReport, type SweepRequest } from '@engine/fleet';
import { positiveInt } from './options';
import { jsonLine } from './output';
import { EXIT } from './exit-codes';

interface SweepOptions {
  symbols: string;
  grid: string;
  date?: string;
  days?: number;
  source?: string;
  here?: boolean;
  threads?: number;
  cacheDir?: string;
  json?: boolean;
}

/** `--grid <json|@file>`: the grid, read and expanded (every point checked) before anything runs. */
function readGrid(v: string): SweepGrid {
  let text = v;
  if (v.startsWith('@')) {
    try {
      text = readFileSync(v.slice(1), 'utf8');
    } catch (err) {
      throw new ConfigError(`--grid ${v}: cannot read the file: ${(err as Error).message}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`--grid must be a JSON object ({"axes": {...}} or {"points": [...]}) or @file.json: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError('--grid must be a JSON object with "axes" (and an optional "base") or "points"');
  const unknown = Object.keys(parsed).filter((k) => !['base', 'axes', 'points'].includes(k));
  if (unknown.length > 0) throw new ConfigError(`--grid: unknown key(s) ${unknown.join(', ')}; expected base, axes, points`);
  return parsed as SweepGrid;
}

/** The options `sweepWindow` reads (the window, the source, where it runs), shared by sweep and compare. */
export function withWindowOptions(cmd: Command): Command {
  return cmd
    .option('--date <YYYY-MM-DD>', "run date; the window is [date − days, date) (default: the fleet: today; --here: the source's last complete day + 1)")
    .option('--days <n>', 'training window in days (default: ENGINE_WINDOW_DAYS)', positiveInt('--days'))
    .option('--source <source>', 'candle source: binance (any ccxt id) or csv:DIR (default: ENGINE_CANDLE_SOURCE)')
    .option('--here', 'evaluate in this process (the default without REDIS_URL) instead of on the fleet')
    .option('--threads <n>', 'with --here: training threads (default ENGINE_TRAIN_THREADS or all cores)', positiveInt('--threads'))
    .option('--cache-dir <dir>', 'with --here: candle cache folder');
}

/** What a sweep or a comparison evaluates on: the symbols, the window and where it runs. */
export interface SweepWindow {
  symbols: string[];
  runDate: string;
  windowDays: number;
  source: string;
  /** In this process (--here, or no REDIS_URL) rather than on the fleet. */
  here: boolean;
}

/**
 * The symbols (checked pairs), the window and the run date of a sweep or a comparison: `--date`,
 * else today on the fleet, else the source's last complete day + 1 in this process.
 */
export async function sweepWindow(opts: { symbols: string; date?: string; days?: number; source?: string; here?: boolean }, config: Config): Promise<SweepWindow> {
  const symbols = opts.symbols.split(',').map((s) => s.trim()).filter(Boolean).map((s) => parsePair(s).symbol);
  if (symbols.length === 0) throw new ConfigError('--symbols needs at least one pair');
  const windowDays = opts.days ?? config.windowDays;
  const source = opts.source ?? config.candleSource;
  const here = opts.here === true || !config.redisUrl;
  let runDate: string;
  if (opts.date !== undefined) runDate = formatUtcDay(parseUtcDay(opts.date, '--date'));
  else if (!here) runDate = formatUtcDay(Date.now());
  else {
    const src = openSource(source, { exchangeUrl: config.exchangeUrl });
    try {
      runDate = (await resolveWindow({ days: windowDays, source: src, symbol: symbols[0] })).runDate;
    } finally {
      await src.close?.();
    }
  }
  return { symbols, runDate, windowDays, source, here };
}

function fmt(x: number | null, digits = 2): string {
  return x === null || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

/** The ranked table: best deflated Sharpe first. */
export function formatSweepTable(r: SweepReport): string {
  const head = ['rank', 'symbol', 'point', 'market', 'trades', 'net bps/tr', 'cost bps', 'PF', 'sharpe(ann)', 'break-even', 'psr0', 'n', 'n_eff', 'dsr', 'verdict', 'training'];
  const rows = r.rows.map((x, k) => [
    String(k + 1),
    x.symbol,
    String(x.point),
    x.market ?? '—',
    `${x.trades}${x.unfilled !== undefined ? ` (+${x.unfilled} unfilled)` : ''}`,
    fmt(x.meanNetBps ?? null),
    fmt(x.meanRoundTripBps ?? null),
    x.profitFactor === undefined ? '—' : x.profitFactor === null ? '∞' : fmt(x.profitFactor),
    fmt(x.sharpeAnnual),
    x.breakEvenBps === undefined ? '—' : x.breakEvenBps === null ? 'none' : fmt(x.breakEvenBps, 1),
    fmt(x.psr0, 3),
    String(x.n),
    fmt(x.nEffective, 1),
    fmt(x.dsr, 3),
    x.verdict,
    JSON.stringify(x.training),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const out = [`sweep ${r.sweepId}: ${r.rows.length} point(s) evaluated, ${r.failed.length} failed; DSR at each symbol's trial count (ledger, last 90 days)`, line(head), ...rows.map(line)];
  for (const f of r.failed) out.push(`FAILED ${f.symbol} point ${f.point}: ${f.error}`);
  return `${out.join('\n')}\n`;
}

/**
 * `engine sweep`: evaluate a grid of training configurations per symbol, record every point
 * in the trial ledger, and rank by the deflated Sharpe ratio at the true trial count. On
 * the fleet (REDIS_URL) one job per point with deterministic ids, so an interrupted sweep
 * resumes; with --here (or no REDIS_URL) in this process. A sweep never publishes.
 */
export function registerSweepCommands(program: Command): void {
  const sweep = program
    .command('sweep')
    .description('evaluate a grid of training configurations, record every point as a trial, rank by deflated Sharpe; never publishes')
    .requiredOption('--symbols <list>', 'comma-separated pairs, e.g. BTC/USDT,ETH/USDT')
    .requiredOption('--grid <json|@file>', 'the grid: {"base": {...}, "axes": {"labels.horizon_minutes": [4, 60]}} or {"points": [{...}, ...]}, each point a --training override');
  withWindowOptions(sweep)
    .option('--json', 'print the ranked rows as JSON lines')
    .action(async (opts: SweepOptions) => {
      const config = loadConfig();
      const points = expandGrid(readGrid(opts.grid));
      const { symbols, runDate, windowDays, source, here } = await sweepWindow(opts, config);
      const req: SweepRequest = { symbols, runDate, windowDays, source, points };
      const log = createLogger({ level: opts.json ? 'warn' : config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'sweep' });
      const onProgress = opts.json ? undefined : (done: number, total: number) => process.stderr.write(`sweep: ${done}/${total} point(s) done\n`);
      const report = here
        ? await runSweepHere(config, req, log, { threads: opts.threads, cacheDir: opts.cacheDir, onProgress })
        : await runSweepOnFleet(config, req, log, { onProgress });
      if (opts.json) {
        for (const row of report.rows) process.stdout.write(jsonLine(row));
        for (const f of report.failed) process.stdout.write(jsonLine({ sweepId: report.sweepId, ...f, verdict: 'error' }));
      } else process.stdout.write(formatSweepTable(report));
      // A failed point (after its retries) is a service or data problem; rerunning the same command resumes.
      if (report.failed.length > 0) process.exitCode = EXIT.transient;
    });
}
