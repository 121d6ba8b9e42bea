import path from 'node:path';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { formatUtcMinute, loadConfig } from '@engine/shared';
import { loadCandles, openSource, resolveWindow, type LoadProgress, type LoadSummary } from '@engine/candles';
import { positiveInt } from './options';
import { jsonLine } from './output';

interface FetchOptions {
  symbol: string;
  days?: number;
  end?: string;
  source?: string;
  cacheDir?: string;
  json?: boolean;
}


/** `engine candles …`: the candle store from the command line. */
export function registerCandlesCommands(program: Command): void {
  const candles = program.command('candles').description('1-minute candles: download, validate and cache');
  candles
    .command('fetch')
    .description('load a window of 1-minute candles into the local cache (fetching only what is missing) and print a summary')
    .requiredOption('--symbol <pair>', 'trading pair, e.g. BTC/USDT')
    .option('--days <n>', 'window length in whole UTC days (default: ENGINE_WINDOW_DAYS)', positiveInt('--days'))
    .option('--end <YYYY-MM-DD>', 'last UTC day included (default: yesterday for an exchange, the last complete day in the file for csv:DIR)')
    .option('--source <source>', 'binance (any ccxt exchange id) or csv:DIR with <BASEQUOTE>-1m.csv[.gz] files (default: ENGINE_CANDLE_SOURCE)')
    .option('--cache-dir <dir>', 'cache folder (default: <ENGINE_DATA_DIR>/candles)')
    .option('--json', 'print the summary as one JSON line (no progress bar)')
    .action(async (opts: FetchOptions) => {
      const config = loadConfig();
      const source = openSource(opts.source ?? config.candleSource, { exchangeUrl: config.exchangeUrl });
      const cacheDir = opts.cacheDir ?? path.join(config.dataDir, 'candles');
      const window = await resolveWindow({ days: opts.days ?? config.windowDays, end: opts.end, source, symbol: opts.symbol });
      const bar = !opts.json && !config.noColor && process.stderr.isTTY ? new ProgressBar() : undefined;
      const started = Date.now();
      try {
        const { summary } = await loadCandles({ symbol: opts.symbol, start: window.start, end: window.end, source, cacheDir, onProgress: bar?.update });
        const seconds = (Date.now() - started) / 1000;
        bar?.stop();
        if (opts.json) process.stdout.write(jsonLine(jsonSummary(summary, window.runDate, seconds)));
        else process.stdout.write(humanSummary(summary, seconds));
      } finally {
        bar?.stop();
        await source.close?.();
      }
    });
}

/** A cli-progress bar on stderr, started on the first page. */
class ProgressBar {
  private bar: SingleBar | undefined;

  readonly update = (p: LoadProgress): void => {
    if (!this.bar) {
      this.bar = new SingleBar({
        stream: process.stderr,
        format: `${p.symbol} [{bar}] {percentage}% | {value}/{total} min | {rows} candles | {requests} requests | eta {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: true,
      });
      this.bar.start(p.totalMinutes, 0, { rows: 0, requests: 0 });
    }
    this.bar.update(p.doneMinutes, { rows: p.fetchedRows, requests: p.requests });
  };

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

function jsonSummary(s: LoadSummary, runDate: string, seconds: number): Record<string, unknown> {
  return {
    symbol: s.symbol,
    source: s.source,
    rows: s.rows,
    gaps: s.gaps,
    longestGap: s.longestGap,
    start: new Date(s.start).toISOString(),
    end: new Date(s.end).toISOString(),
    runDate,
    cache: s.cache,
    requests: s.requests,
    fetchedRows: s.fetchedRows,
    cacheFile: s.cacheFile,
    seconds: Math.round(seconds * 1000) / 1000,
  };
}

function humanSummary(s: LoadSummary, seconds: number): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const last = s.end - 60_000;
  return [
    `${s.symbol} from ${s.source}`,
    `  range    ${formatUtcMinute(s.start)} → ${formatUtcMinute(last)} (last candle; window ends ${formatUtcMinute(s.end)})`,
    `  rows     ${n(s.rows)} minutes, ${n(s.gaps)} gaps${s.gaps > 0 ? ` (longest ${n(s.longestGap)} min)` : ''}`,
    `  cache    ${s.cache} (${n(s.fetchedRows)} candles fetched, ${n(s.requests)} requests) → ${s.cacheFile}`,
    `  took     ${seconds.toFixed(2)} s`,
    '',
  ].join('\n');
}
