import type { Command } from 'commander';
import { ConfigError, createLogger, formatUtcDay, loadConfig, parsePair, parseUtcDay, serveUntilSignal, type Config } from '@engine/shared';
import { closeRunProducer, createRedisConnection, ensureRedis, openRunProducer, startRun, startScheduler, startWorkerRole } from '@engine/fleet';
import { parseTrainingOption, positiveInt, TRAINING_OPTION_HELP } from './options';
import { jsonLine } from './output';


interface RunNowOptions {
  symbols?: string;
  date?: string;
  source?: string;
  days?: number;
  attempts?: number;
  training?: string;
  json?: boolean;
}

/**
 * The fleet's commands: `engine run-now` (trigger a run by hand), `engine worker --role
 * train|sync` and `engine scheduler` (the deployables, for running without Docker).
 */
export function registerFleetCommands(program: Command): void {
  program
    .command('run-now')
    .description('add a training run to the fleet now (what the daily schedule does at 02:00 UTC); a second trigger for the same day adds nothing')
    .option('--symbols <list>', 'comma-separated pairs, e.g. BTC/USDT,ETH/USDT (default: ENGINE_UNIVERSE)')
    .option('--date <YYYY-MM-DD>', 'run date; the window is [date − days, date) (default: today, UTC)')
    .option('--source <source>', 'candle source: binance (any ccxt id) or csv:DIR (default: ENGINE_CANDLE_SOURCE)')
    .option('--days <n>', 'training window in days (default: ENGINE_WINDOW_DAYS)', positiveInt('--days'))
    .option('--attempts <n>', 'attempts per symbol for transient failures (default ENGINE_TRAIN_ATTEMPTS, 3)', positiveInt('--attempts'))
    .option('--training <json|@file>', TRAINING_OPTION_HELP)
    .option('--json', 'print the result as one JSON line')
    .action(async (opts: RunNowOptions) => {
      const config = loadConfig();
      if (!config.redisUrl) throw new ConfigError('engine run-now needs REDIS_URL (the fleet); on one machine use `engine train --symbols …`');
      const log = createLogger({ level: opts.json ? 'warn' : config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'run-now' });
      const symbols = opts.symbols ? opts.symbols.split(',').map((s) => s.trim()).filter(Boolean).map((s) => parsePair(s).symbol) : config.universe;
      const runDate = opts.date ?? formatUtcDay(Date.now());
      parseUtcDay(runDate, '--date');
      // Checked before Redis is touched: a typo fails here (exit 2), not as a job.
      const training = opts.training === undefined ? undefined : parseTrainingOption(opts.training);
      const connection = createRedisConnection(config.redisUrl, 'producer');
      try {
        await ensureRedis(connection, config.redisUrl);
        const producer = openRunProducer(connection, config.queuePrefix);
        try {
          const r = await startRun(producer, { runDate, symbols, source: opts.source ?? config.candleSource, windowDays: opts.days ?? config.windowDays, trigger: 'manual', retry: { attempts: opts.attempts ?? config.retry.train.attempts, backoffMs: config.retry.train.backoffMs }, training }, log);
          if (opts.json) process.stdout.write(jsonLine({ ...r, runDate, symbols }));
          else if (r.added) process.stdout.write(`run ${r.runJobId} added: ${r.trainJobIds.length} training job(s): ${r.trainJobIds.join(', ')}\n`);
          else process.stdout.write(`run ${r.runJobId} already exists (${r.existingState}); nothing added\n`);
        } finally {
          await closeRunProducer(producer);
        }
      } finally {
        await connection.quit().catch(() => connection.disconnect());
      }
    });

  program
    .command('worker')
    .description('run a fleet worker until SIGTERM/SIGINT: train (training jobs) or sync (registry + Dropbox)')
    .option('--role <role>', 'train or sync (default: ENGINE_WORKER_ROLE)')
    .option('--concurrency <n>', 'training jobs at once (default: ENGINE_WORKER_CONCURRENCY)', positiveInt('--concurrency'))
    .action(async (opts: { role?: string; concurrency?: number }) => {
      const config = loadConfig();
      const role = opts.role ?? config.worker.role;
      if (role !== 'train' && role !== 'sync') throw new ConfigError(`--role must be train or sync, got '${role}'`);
      const effective: Config = { ...config, worker: { ...config.worker, role, concurrency: opts.concurrency ?? config.worker.concurrency } };
      const log = createLogger({ level: config.logLevel, name: `worker-${role}` });
      const worker = await startWorkerRole(effective, log, role);
      if (!(await serveUntilSignal([worker], config.worker.shutdownDeadlineMs, log))) process.exitCode = 1;
    });

  program
    .command('scheduler')
    .description('run the scheduler until SIGTERM/SIGINT: the daily Job Scheduler (ENGINE_SCHEDULE_CRON) and run bookkeeping')
    .action(async () => {
      const config = loadConfig();
      const log = createLogger({ level: config.logLevel, name: 'scheduler' });
      const scheduler = await startScheduler(config, log);
      if (!(await serveUntilSignal([scheduler], config.worker.shutdownDeadlineMs, log))) process.exitCode = 1;
    });
}
