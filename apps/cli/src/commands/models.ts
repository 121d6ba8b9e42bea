import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { ConfigError, PermanentError, createLogger, loadConfig, parsePair, parseUtcDay } from '@engine/shared';
import { MIGRATIONS, describeRegistryDb, migrate, openRegistryContext, openRegistryDb, type ModelDetail, type ModelSummary, type PublishEvent, type RegistryContext, type SweepOutcome, type SyncOutcome } from '@engine/registry';
import { type Verdict } from '@engine/model';
import { decideRun, type RunDecision } from '@engine/fleet';
import { jsonLine } from './output';
import { EXIT } from './exit-codes';

/** Where command output goes (stdout by default; tests pass their own). */
export interface ModelsIo {
  out(text: string): void;
}

const stdoutIo: ModelsIo = { out: (t) => void process.stdout.write(t) };

function defaultActor(): string {
  try {
    return `cli@${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

interface Common {
  schema?: string;
  json?: boolean;
}

/** Open the registry for this environment, run `fn`, always close. */
async function withRegistry<T>(opts: Common & { actor?: string }, fn: (ctx: RegistryContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'models' });
  const ctx = await openRegistryContext(config, { actor: opts.actor ?? defaultActor(), logger, schema: opts.schema, poolSize: 2 });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

const num = (v: number | undefined, digits = 2): string => (v === undefined ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(digits));

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n';
}

function listText(models: ModelSummary[]): string {
  if (models.length === 0) return 'no models recorded\n';
  const rows = [['MODEL', 'SYMBOL', 'RUN DATE', 'VERDICT', 'LIVE', 'SYNC', 'SHARPE', 'PF', 'WIN%', 'MAX DD', 'TRADES', 'FIRST REASON']];
  for (const m of models) {
    rows.push([
      m.id,
      m.symbol,
      m.runDate,
      m.verdict + (m.rolledBackAt ? ' (rolled back)' : ''),
      m.live ? '*' : '',
      m.syncState,
      num(m.metrics.sharpe_ratio),
      num(m.metrics.profit_factor),
      m.metrics.win_rate === undefined ? '-' : (m.metrics.win_rate * 100).toFixed(1),
      num(m.metrics.max_drawdown, 3),
      num(m.metrics.total_trades),
      m.reasons[0] ?? '',
    ]);
  }
  return table(rows);
}

function showText(m: ModelDetail, events: PublishEvent[]): string {
  const lines = [
    `model      ${m.id}`,
    `symbol     ${m.symbol}   run date ${m.runDate}   trained ${m.createdAt}`,
    `verdict    ${m.verdict}${m.live ? ' (LIVE)' : ''}${m.rolledBackAt ? ` (rolled back ${m.rolledBackAt})` : ''}`,
    `recipe     ${m.recipeVersion} ${m.recipeHash}`,
    `medians    from ${m.medianSource}`,
    `sync       ${m.syncState}${m.syncedAt ? ` at ${m.syncedAt}` : ''}${m.syncAttempts > 0 ? `, ${m.syncAttempts} failed attempt(s)` : ''}${m.lastSyncError ? `; last error: ${m.lastSyncError}` : ''}`,
    `staged as  ${m.location}`,
  ];
  if (m.reasons.length > 0) lines.push('', 'rejected because:', ...m.reasons.map((r) => `  - ${r}`));
  lines.push('', table([['GATE', 'VALUE', 'OP', 'BOUND', 'PASSED', 'NOTE'], ...m.gates.map((g) => [g.name, g.value === null ? 'n/a' : String(g.value), g.op, g.bound === null ? 'n/a' : String(g.bound), g.passed ? 'yes' : 'NO', g.note ?? ''])]).trimEnd());
  lines.push('', table([['METRIC', 'VALUE'], ...Object.entries(m.metrics).map(([k, v]) => [k, String(v)])]).trimEnd());
  if (m.publishedFiles !== null) {
    lines.push('', table([['FILE', 'PUBLISHED AT', 'SHA-256'], ...Object.entries(m.publishedFiles).map(([k, f]) => [k, f.path, f.sha256])]).trimEnd());
  }
  if (events.length > 0) lines.push('', table([['SEQ', 'AT', 'EVENT', 'ACTOR', 'REASON'], ...events.map((e) => [String(e.seq), e.at, e.event, e.actor, e.reason ?? ''])]).trimEnd());
  return `${lines.join('\n')}\n`;
}

function verdictOption(v: string): Verdict {
  if (v !== 'published' && v !== 'rejected') throw new ConfigError(`--verdict must be published or rejected, got '${v}'`);
  return v;
}

function limitOption(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new ConfigError(`--limit must be a whole number from 1 to 10000, got '${v}'`);
  return n;
}

/**
 * `engine models …`: the registry from the command line. Connects with DATABASE_URL
 * when set, else the embedded PGlite under `<ENGINE_DATA_DIR>/registry`.
 */
export function registerModelsCommands(program: Command, io: ModelsIo = stdoutIo): void {
  const models = program
    .command('models')
    .description('the model registry: list, show, roll back, migrate, push pending syncs (DATABASE_URL, else PGlite under ENGINE_DATA_DIR/registry)');
  const schemaOpt = ['--schema <name>', 'PostgreSQL schema of the registry (default engine_registry)'] as const;

  models
    .command('list')
    .description('models newest first, with verdict, live marker, sync state and headline metrics')
    .option('--symbol <pair>', 'only this pair, e.g. BTC/USDT')
    .option('--verdict <verdict>', 'published or rejected', verdictOption)
    .option('--limit <n>', 'at most n models (default 50)', limitOption)
    .option('--json', 'JSON array instead of a table')
    .option(...schemaOpt)
    .action(async (opts: Common & { symbol?: string; verdict?: Verdict; limit?: number }) => {
      const symbol = opts.symbol === undefined ? undefined : parsePair(opts.symbol).symbol;
      const list = await withRegistry(opts, (ctx) => ctx.registry.listModels({ symbol, verdict: opts.verdict, limit: opts.limit }));
      io.out(opts.json ? jsonLine(list) : listText(list));
    });

  models
    .command('show <id>')
    .description('one model: verdict and reasons, gate table, metrics, published files, its publish-log entries')
    .option('--json', 'JSON instead of text')
    .option(...schemaOpt)
    .action(async (id: string, opts: Common) => {
      const out = await withRegistry(opts, async (ctx) => {
        const m = await ctx.registry.getModel(id);
        if (m === null) throw new PermanentError('MODEL_NOT_FOUND', `no model with id '${id}' in the registry (${ctx.where}); see \`engine models list\``, { id });
        const events = (await ctx.registry.events(m.symbol, 1000)).filter((e) => e.modelId === m.id || e.details.to === m.id);
        return { m, events };
      });
      io.out(opts.json ? jsonLine({ ...out.m, events: out.events }) : showText(out.m, out.events));
    });

  models
    .command('rollback')
    .description("make the symbol's previous published model live again (logged with actor and reason), then rewrite its latest.json")
    .requiredOption('--symbol <pair>', 'the pair, e.g. BTC/USDT')
    .requiredOption('--reason <text>', 'why (kept in the append-only publish log)')
    .option('--actor <name>', 'who (default cli@<user>)')
    .option('--no-publish', 'only change the registry; the next sync sweep rewrites latest.json')
    .option('--json', 'one JSON line')
    .option(...schemaOpt)
    .action(async (opts: Common & { symbol: string; reason: string; actor?: string; publish: boolean }) => {
      const symbol = parsePair(opts.symbol).symbol;
      const r = await withRegistry(opts, async (ctx) => {
        const done = await ctx.registry.rollback(symbol, { actor: opts.actor ?? defaultActor(), reason: opts.reason });
        let pointer: string = 'left to the sync sweep';
        if (opts.publish) {
          try {
            pointer = await ctx.sync.syncPointer(symbol);
          } catch (err) {
            pointer = `not written now (${(err as Error).message}); the sync sweep will retry`;
          }
        }
        return { ...done, pointer, target: ctx.publisher.target() };
      });
      io.out(opts.json ? jsonLine(r) : `${r.symbol}: rolled back ${r.from} → ${r.to} (logged); latest.json on ${r.target}: ${r.pointer}\n`);
    });

  models
    .command('migrate')
    .description('create or upgrade the registry schema (safe while other processes start)')
    .option(...schemaOpt)
    .action(async (opts: Common) => {
      const config = loadConfig();
      const db = await openRegistryDb(config, { max: 1, applicationName: 'engine-migrate' });
      try {
        const r = await migrate(db, { schema: opts.schema });
        io.out(`registry ${describeRegistryDb(config)}: schema version ${r.version} of ${MIGRATIONS.length}${r.applied.length > 0 ? ` (applied now: ${r.applied.join(', ')})` : ' (already up to date)'}\n`);
      } finally {
        await db.close();
      }
    });

  models
    .command('target')
    .description("where this registry publishes (Dropbox or a folder) and where this process would; --set moves the registry's target on purpose (logged)")
    .option('--set <target>', 'the new target, as `target` prints it (e.g. dropbox:/Runpodhuracan): only a process publishing there syncs afterwards')
    .option('--actor <name>', 'who sets it (default: the user name)')
    .option('--json', 'one JSON line')
    .option(...schemaOpt)
    .action(async (opts: Common & { set?: string; actor?: string }) => {
      const r = await withRegistry(opts, async (ctx) => {
        if (opts.set !== undefined) {
          if (!/^(dropbox|folder):/.test(opts.set)) throw new ConfigError(`--set expects a target such as dropbox:/Runpodhuracan or folder:/data/publish:/Runpodhuracan, got '${opts.set}'`);
          const changed = await ctx.registry.setPublishTarget(opts.set, opts.actor ?? defaultActor());
          return { registryTarget: changed.target, previous: changed.previous, processTarget: ctx.publisher.target() };
        }
        return { registryTarget: await ctx.registry.publishTarget(), processTarget: ctx.publisher.target() };
      });
      io.out(
        opts.json
          ? jsonLine(r)
          : `registry publishes to ${r.registryTarget ?? '(no target yet: the first sync worker claims it)'}\nthis process would publish to ${r.processTarget}${r.registryTarget === r.processTarget ? ' (the same: it may sync)' : ' (not the same: it publishes nothing unless ENGINE_SIDE_PUBLISH=true)'}\n`,
      );
    });

  models
    .command('sync')
    .description('publish pending models and latest.json pointers now (what the 30-minute sweep does), or one model with --id')
    .option('--id <model id>', 'only this model')
    .option('--json', 'one JSON line')
    .option(...schemaOpt)
    .action(async (opts: Common & { id?: string }) => {
      const r = await withRegistry(opts, (ctx): Promise<SweepOutcome | SyncOutcome> => (opts.id === undefined ? ctx.sync.sweep() : ctx.sync.syncModel(opts.id)));
      io.out(jsonLine(r));
      // A sweep that could not publish everything it tried is not a success: 2 when only
      // permanent failures remain (a corrupt bundle), 3 when a retry may help (Dropbox down).
      if ('failed' in r && r.failed.length > 0) {
        process.exitCode = r.failed.every((f) => f.permanent) ? EXIT.input : EXIT.transient;
        process.stderr.write(`engine models sync: ${r.failed.length} model(s) not published: ${r.failed.map((f) => `${f.modelId}: ${f.error}`).join('; ')}\n`);
      }
    });

  models
    .command('decide')
    .description("decide a run's held models now: the false-discovery control the run's parent job does once every symbol is evaluated (for a run whose parent failed or was removed)")
    .requiredOption('--date <YYYY-MM-DD>', 'the run date whose held models to decide')
    .option('--json', 'one JSON line per decision')
    .option(...schemaOpt)
    .action(async (opts: Common & { date: string }) => {
      try {
        parseUtcDay(opts.date, '--date');
      } catch {
        throw new ConfigError(`--date must be a day as YYYY-MM-DD, got '${opts.date}'`);
      }
      const config = loadConfig();
      const actor = defaultActor();
      const decisions: RunDecision[] = await withRegistry({ ...opts, actor }, (ctx) =>
        decideRun(opts.date, ctx, { settings: config.falseDiscovery, actor, decidedBy: actor, log: createLogger({ level: 'silent' }) }),
      );
      if (opts.json) {
        io.out(decisions.map((d) => jsonLine({ modelId: d.modelId, symbol: d.symbol, runDate: d.runDate, candidate: d.candidate, p: d.p, pAdjusted: d.pAdjusted, verdict: d.verdict, released: d.released })).join(''));
        return;
      }
      if (decisions.length === 0) {
        io.out(`no held models for ${opts.date}: nothing to decide (the run already decided, or recorded nothing)\n`);
        return;
      }
      const p = (x: number | null): string => (x === null ? '-' : x.toPrecision(4));
      io.out(
        table([['MODEL', 'SYMBOL', 'CANDIDATE', 'P', `P ADJ (${config.falseDiscovery.method.toUpperCase()})`, 'VERDICT'], ...decisions.map((d) => [d.modelId, d.symbol, d.candidate ? 'yes' : 'no', p(d.p), p(d.pAdjusted), d.verdict])]) +
          `released to the sync queue's sweep: \`engine models sync\` (or the sync worker within 30 minutes) publishes them\n`,
      );
    });

  models
    .command('log')
    .description('the append-only publish log, newest first')
    .option('--symbol <pair>', 'only this pair')
    .option('--limit <n>', 'at most n entries (default 50)', limitOption)
    .option('--json', 'JSON array instead of a table')
    .option(...schemaOpt)
    .action(async (opts: Common & { symbol?: string; limit?: number }) => {
      const symbol = opts.symbol === undefined ? undefined : parsePair(opts.symbol).symbol;
      const events = await withRegistry(opts, (ctx) => ctx.registry.events(symbol, opts.limit ?? 50));
      io.out(
        opts.json
          ? jsonLine(events)
          : events.length === 0
            ? 'publish log is empty\n'
            : table([['SEQ', 'AT', 'EVENT', 'SYMBOL', 'MODEL', 'ACTOR', 'REASON'], ...events.map((e) => [String(e.seq), e.at, e.event, e.symbol, e.modelId ?? '', e.actor, e.reason ?? ''])]),
      );
    });
}
