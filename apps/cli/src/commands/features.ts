import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, parsePair } from '@engine/shared';
import { loadCandles, openSource, resolveWindow } from '@engine/candles';
import { buildFeatures, encodeFeatureFrame, type FeatureFrame, RECIPE, referenceSymbolFor } from '@engine/features';
import { positiveInt } from './options';
import { jsonLine } from './output';

interface BuildOptions {
  symbol: string;
  days?: number;
  end?: string;
  source?: string;
  cacheDir?: string;
  out: string;
}


/** `engine features …`: the FeatureRecipe from the command line. */
export function registerFeaturesCommands(program: Command): void {
  const features = program.command('features').description('the FeatureRecipe: list it, build feature frames');

  features
    .command('list')
    .description('print the feature names in frame order, then the recipe version and hash')
    .option('--json', 'print one JSON object instead')
    .action((opts: { json?: boolean }) => {
      if (opts.json) {
        process.stdout.write(jsonLine({ version: RECIPE.version, hash: RECIPE.hash, warmup: RECIPE.warmup, count: RECIPE.names.length, names: RECIPE.names }));
        return;
      }
      const lines = RECIPE.names.map((name, i) => `${String(i + 1).padStart(2)} ${name}`);
      lines.push('', `version ${RECIPE.version}`, `hash ${RECIPE.hash}`, `features ${RECIPE.names.length}, warm-up ${RECIPE.warmup} rows`, '');
      process.stdout.write(lines.join('\n'));
    });

  features
    .command('build')
    .description('compute the recipe over a window of candles (with its cross-asset reference) and write it as Arrow IPC; prints a JSON summary')
    .requiredOption('--symbol <pair>', 'trading pair, e.g. ETH/USDT (the reference is BTC/USDT, or ETH/USDT for BTC)')
    .option('--days <n>', 'window length in whole UTC days (default: ENGINE_WINDOW_DAYS)', positiveInt('--days'))
    .option('--end <YYYY-MM-DD>', 'last UTC day included (default: yesterday for an exchange, the last complete day in the file for csv:DIR)')
    .option('--source <source>', 'binance (any ccxt exchange id) or csv:DIR (default: ENGINE_CANDLE_SOURCE)')
    .option('--cache-dir <dir>', 'candle cache folder (default: <ENGINE_DATA_DIR>/candles)')
    .requiredOption('--out <file>', 'Arrow IPC file to write (ts + one float64 column per feature)')
    .action(async (opts: BuildOptions) => {
      const config = loadConfig();
      const symbol = parsePair(opts.symbol).symbol;
      const refSymbol = referenceSymbolFor(symbol);
      const source = openSource(opts.source ?? config.candleSource, { exchangeUrl: config.exchangeUrl });
      const cacheDir = opts.cacheDir ?? path.join(config.dataDir, 'candles');
      const started = Date.now();
      try {
        const window = await resolveWindow({ days: opts.days ?? config.windowDays, end: opts.end, source, symbol });
        const load = (s: string) => loadCandles({ symbol: s, start: window.start, end: window.end, source, cacheDir });
        const coin = await load(symbol);
        const ref = await load(refSymbol);
        const frame = buildFeatures(coin.candles, { reference: ref.candles });
        const out = path.resolve(opts.out);
        mkdirSync(path.dirname(out), { recursive: true });
        writeFileSync(out, encodeFeatureFrame(frame));
        const summary = {
          symbol,
          reference: refSymbol,
          source: coin.summary.source,
          start: new Date(coin.summary.start).toISOString(),
          end: new Date(coin.summary.end).toISOString(),
          runDate: window.runDate,
          rows: frame.rows,
          gaps: { [symbol]: coin.summary.gaps, [refSymbol]: ref.summary.gaps },
          features: frame.names.length,
          warmup: frame.warmup,
          // Rows where every feature can be defined; 0 when the window is shorter than the warm-up.
          rowsAfterWarmup: Math.max(0, frame.rows - frame.warmup),
          recipe: frame.recipe,
          nanAfterWarmup: nanCountsAfterWarmup(frame),
          out,
          seconds: Math.round((Date.now() - started) / 10) / 100,
        };
        process.stdout.write(jsonLine(summary));
      } finally {
        await source.close?.();
      }
    });
}

/** NaN count per feature over the rows after the frame's warm-up. */
function nanCountsAfterWarmup(frame: FeatureFrame): Record<string, number> {
  const counts: Record<string, number> = {};
  frame.names.forEach((name, k) => {
    const col = frame.columns[k]!;
    let nan = 0;
    for (let i = frame.warmup; i < frame.rows; i++) if (Number.isNaN(col[i])) nan++;
    counts[name] = nan;
  });
  return counts;
}
