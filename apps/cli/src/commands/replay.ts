import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError, createLogger, loadConfig, parsePair } from '@engine/shared';
import { formatReplayReport, parseRetrainEvery, replayId, resolveReplayRequest, runReplayHere, runReplayOnFleet, type ReplayProgress } from '@engine/fleet';
import { parseTrainingOption, positiveInt, TRAINING_OPTION_HELP } from './options';
import { jsonLine } from './output';

interface ReplayOptions {
  symbols: string;
  from: string;
  to: string;
  retrainEvery: string;
  days?: number;
  source?: string;
  training?: string;
  liveDelay?: string;
  ttlHours?: string;
  here?: boolean;
  threads?: number;
  cacheDir?: string;
  report?: string;
  json?: boolean;
}

function nonNegativeInt(what: string, v: string): number {
  if (!/^[0-9]{1,6}$/.test(v)) throw new ConfigError(`${what} must be a whole number, got '${v}'`);
  return Number(v);
}

/**
 * `engine replay`: the whole factory through history (issue 18). Every retrain date's
 * training job, gates and false-discovery decision run into a replay namespace of the
 * registry; then the consumer's Trader trades every minute with the model that was live;
 * the report sets the factory's realised P&L beside no trading, gates off and buy-and-hold.
 */
export function registerReplayCommands(program: Command): void {
  program
    .command('replay')
    .description("replay the factory through history: retrain on schedule, gate, publish into a replay namespace, trade with the consumer's Trader; never touches production's models or pointers")
    .requiredOption('--symbols <list>', 'comma-separated pairs, e.g. BTC/USDT,ETH/USDT')
    .requiredOption('--from <YYYY-MM-DD>', 'first retrain date (its window ends at its midnight)')
    .requiredOption('--to <YYYY-MM-DD>', 'end of the replay, exclusive: trading stops at its midnight')
    .option('--retrain-every <Nd>', 'days between retrain dates: 1d (daily) or 7d (weekly)', '1d')
    .option('--days <n>', 'training window in days (default: ENGINE_WINDOW_DAYS)', positiveInt('--days'))
    .option('--source <source>', 'candle source: binance (any ccxt id) or csv:DIR (default: ENGINE_CANDLE_SOURCE)')
    .option('--training <json|@file>', TRAINING_OPTION_HELP)
    .option('--live-delay <minutes>', "minutes after midnight a day's model goes live (default 120: the 02:00 UTC schedule)")
    .option('--ttl-hours <h>', "hours a model stays fresh (default: the retrain interval + 24 h)")
    .option('--here', 'run in this process (the default without REDIS_URL) instead of on the fleet')
    .option('--threads <n>', 'with --here: training threads (default ENGINE_TRAIN_THREADS or all cores)', positiveInt('--threads'))
    .option('--cache-dir <dir>', 'candle cache folder')
    .option('--report <file>', 'also write the whole report (daily books, models, statistics) as JSON to this file')
    .option('--json', 'print the report as one JSON line')
    .action(async (opts: ReplayOptions) => {
      const config = loadConfig();
      const req = resolveReplayRequest({
        symbols: opts.symbols.split(',').map((s) => s.trim()).filter(Boolean).map((s) => parsePair(s).symbol),
        from: opts.from,
        to: opts.to,
        retrainEveryDays: parseRetrainEvery(opts.retrainEvery),
        windowDays: opts.days ?? config.windowDays,
        source: opts.source ?? config.candleSource,
        training: parseTrainingOption(opts.training),
        ...(opts.liveDelay !== undefined ? { liveDelayMinutes: nonNegativeInt('--live-delay', opts.liveDelay) } : {}),
        ...(opts.ttlHours !== undefined ? { ttlHours: positiveInt('--ttl-hours', 100_000)(opts.ttlHours) } : {}),
      });
      const here = opts.here === true || !config.redisUrl;
      const log = createLogger({ level: opts.json ? 'warn' : config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'replay' });
      const id = replayId(req);
      if (!opts.json) process.stderr.write(`replay ${id}: ${here ? 'in this process' : 'on the fleet'}; the same command resumes it\n`);
      let last = '';
      const onProgress = opts.json
        ? undefined
        : (p: ReplayProgress) => {
            const line = `replay ${id}: ${p.phase} · dates ${p.datesDone}/${p.dates} · jobs ${p.jobsDone}/${p.jobs} · ${p.message}`;
            if (line !== last) process.stderr.write(`${line}\n`);
            last = line;
          };
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const report = here
          ? await runReplayHere(config, req, log, { threads: opts.threads, cacheDir: opts.cacheDir, onProgress, signal: ac.signal })
          : await runReplayOnFleet(config, req, log, { cacheDir: opts.cacheDir, onProgress, signal: ac.signal });
        if (opts.report !== undefined) writeFileSync(opts.report, `${JSON.stringify(report)}\n`);
        if (opts.json) process.stdout.write(jsonLine(report));
        else process.stdout.write(formatReplayReport(report));
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
