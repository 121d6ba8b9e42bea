import type { Command } from 'commander';
import { createLogger, loadConfig } from '@engine/shared';
import { comparePoints, compareReport, formatCompareTable, runSweepHere, runSweepOnFleet, type SweepRequest } from '@engine/fleet';
import type { ModelFamily } from '@engine/training';
import { parseTrainingOption, positiveInt, TRAINING_OPTION_HELP } from './options';
import { jsonLine } from './output';
import { EXIT } from './exit-codes';
import { sweepWindow, withWindowOptions } from './sweep';

interface CompareOptions {
  symbols: string;
  families: string;
  seeds: number;
  training?: string;
  date?: string;
  days?: number;
  source?: string;
  here?: boolean;
  threads?: number;
  cacheDir?: string;
  json?: boolean;
}

/**
 * `engine compare`: the pre-registered comparison of model families (issue 17). Every
 * (family, seed) is a sweep point on identical windows, recorded as a trial in the ledger;
 * the table gives per family the daily net P&L, the paired difference against the GBDT
 * (Newey–West t, block-bootstrap 95% interval), rank IC, the confidence's Brier score and
 * calibration slope and the seed-to-seed spread; the decision rule is printed with the
 * verdicts. Never publishes.
 */
export function registerCompareCommands(program: Command): void {
  const compare = program
    .command('compare')
    .description('pre-registered comparison of model families on identical walk-forward windows; every family and seed is a trial; never publishes')
    .requiredOption('--symbols <list>', 'comma-separated pairs, e.g. BTC/USDT,ETH/USDT')
    .option('--families <list>', 'families to compare (gbdt is the reference)', 'gbdt,rf,linear,ensemble')
    .option('--seeds <n>', 'seeds per family (linear is deterministic and runs once)', positiveInt('--seeds', 100), 10)
    .option('--training <json|@file>', `${TRAINING_OPTION_HELP}; the base every family starts from`);
  withWindowOptions(compare)
    .option('--json', 'print the rows and verdicts as JSON lines')
    .action(async (opts: CompareOptions) => {
      const config = loadConfig();
      const families = opts.families.split(',').map((s) => s.trim()).filter(Boolean) as ModelFamily[];
      const points = comparePoints({ families, seeds: opts.seeds, base: parseTrainingOption(opts.training) });
      const { symbols, runDate, windowDays, source, here } = await sweepWindow(opts, config);
      const req: SweepRequest = { symbols, runDate, windowDays, source, points: points.map((p) => p.training), evaluate: true };
      const log = createLogger({ level: opts.json ? 'warn' : config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'compare' });
      const onProgress = opts.json ? undefined : (done: number, total: number) => process.stderr.write(`compare: ${done}/${total} point(s) done\n`);
      const sweep = here
        ? await runSweepHere(config, req, log, { threads: opts.threads, cacheDir: opts.cacheDir, onProgress })
        : await runSweepOnFleet(config, req, log, { onProgress });
      if (sweep.failed.length > 0) {
        for (const f of sweep.failed) process.stderr.write(`FAILED ${f.symbol} point ${f.point} (${points[f.point]?.family} seed ${points[f.point]?.seed}): ${f.error}\n`);
        process.stderr.write('compare: the registered comparison is incomplete; rerun the same command to resume\n');
        process.exitCode = EXIT.transient;
        return;
      }
      const report = compareReport(sweep.rows, points);
      if (opts.json) {
        for (const row of report.rows) process.stdout.write(jsonLine({ compare: sweep.sweepId, runDate, ...row }));
        for (const v of report.verdicts) process.stdout.write(jsonLine({ compare: sweep.sweepId, verdict: v }));
      } else process.stdout.write(formatCompareTable(report, { sweepId: sweep.sweepId, runDate, windowDays }));
    });
}
