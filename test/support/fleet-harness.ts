import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { Redis } from 'ioredis';
import type { Job, Queue } from 'bullmq';
import type { TrainProgress } from '@engine/fleet';
import type { Db, ModelRecord, Registry } from '@engine/registry';
import { REPO_ROOT } from './paths';

/** The real services the fleet tests run against. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const PG_ADMIN_URL = process.env.ENGINE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Poll `f` until it returns something other than undefined; a named timeout otherwise. */
export async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const t0 = Date.now();
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A database of its own for one test file, dropped afterwards (the registry uses its default schema in it). */
export async function freshDatabase(tag: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `engine_${tag}_${process.pid}_${Date.now()}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Delete every Redis key under a queue prefix (what `obliterate` does, for all queues at once). */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const r = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** Fail at once, with the fix, when the real candles are not where the tests look. */
export function requireCandleFiles(dir: string, stems: string[]): void {
  const missing = stems.filter((s) => !existsSync(path.join(dir, `${s}-1m.csv.gz`)) && !existsSync(path.join(dir, `${s}-1m.csv`)));
  if (missing.length > 0) throw new Error(`the real candles are missing from ${dir} (${missing.join(', ')}): set ENGINE_OHLCV_DIR to the folder of <SYMBOL>-1m.csv.gz files`);
}

/** Run every cleanup step even if some fail; rethrow the first failure afterwards. */
export async function cleanUp(steps: Array<() => Promise<unknown> | unknown>): Promise<void> {
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}

/*
 * If jest itself is killed (a CI timeout), its afterAll never runs and the role processes
 * would live on, blocked on Redis. A detached watchdog, started with the first role,
 * SIGKILLs the roles still listed once this process is gone.
 */
let reaperFile: string | undefined;
function reaperPidFile(): string {
  if (reaperFile !== undefined) return reaperFile;
  const file = path.join(tmpdir(), `engine-fleet-test-${process.pid}.pids`);
  writeFileSync(file, '');
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; for p in $(cat "${file}" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done; rm -f "${file}"`;
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
  reaperFile = file;
  return file;
}
function trackPid(pid: number, running: boolean): void {
  const file = reaperPidFile();
  const pids = new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean));
  if (running) pids.add(String(pid));
  else pids.delete(String(pid));
  writeFileSync(file, [...pids].join('\n'));
}

/** Wait until job `id` of `queue` has completed or failed; the job read after that state (a copy read before completion lacks its result). */
export function jobFinished(queue: Queue, id: string, timeoutMs = 150_000): Promise<{ job: Job; state: 'completed' | 'failed' }> {
  return until(`job ${id} to finish`, async () => {
    const state = await (await queue.getJob(id))?.getState();
    if (state !== 'completed' && state !== 'failed') return undefined;
    const job = await queue.getJob(id);
    return job ? { job, state } : undefined;
  }, timeoutMs, 300);
}

/** Wait until training job `id` runs on some worker and is in the walk-forward folds; returns that worker's pod id. */
export function jobInFolds(trainQueue: Queue, id: string, timeoutMs = 120_000): Promise<string> {
  return until(`${id} to reach the folds`, async () => {
    const job: Job | undefined = await trainQueue.getJob(id);
    const p = job?.progress as TrainProgress | undefined;
    return job?.processedBy && p && (p.stage === 'fold' || p.stage === 'final') ? job.processedBy : undefined;
  }, timeoutMs, 100);
}

/** Wait until the registry has `symbol`'s model of `runDate` synced. */
export function modelSynced(registry: Registry, symbol: string, runDate: string, timeoutMs = 60_000): Promise<ModelRecord> {
  return until(`${symbol} ${runDate} to be synced`, async () => {
    const m = await registry.findModel(symbol, runDate);
    return m?.syncState === 'synced' ? m : undefined;
  }, timeoutMs, 300);
}

/** Rows of the registry's models table for (symbol, run date): exactly one, whatever happened. */
export async function modelRowCount(db: Db, symbol: string, runDate: string): Promise<number> {
  return (await db.query(`SELECT id FROM engine_registry.models WHERE symbol = $1 AND run_date = $2::date`, [symbol, runDate])).length;
}

/** A fleet role running as a real child process (`node apps/<app>/dist/main.js`). */
export class RoleProcess {
  readonly child: ChildProcess;
  private out = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    script: string,
    env: Record<string, string>,
  ) {
    // Only what the role needs: the test's own environment never leaks in.
    const base: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'info' };
    this.child = spawn(process.execPath, [path.join(REPO_ROOT, script)], { cwd: REPO_ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (b: Buffer) => {
      this.out += b.toString();
      if (process.env.ENGINE_TEST_ECHO) process.stderr.write(`[${name}] ${b.toString()}`);
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        trackPid(this.child.pid!, false);
        resolve({ code, signal });
      }),
    );
    trackPid(this.child.pid!, true);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get output(): string {
    return this.out;
  }

  /** Parsed pino lines (JSON) of the process so far. */
  logs(): Record<string, unknown>[] {
    const lines: Record<string, unknown>[] = [];
    for (const l of this.out.split('\n')) {
      if (!l.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // a partial line still being written
      }
    }
    return lines;
  }

  /** Wait for a log line whose `msg` matches (and optionally whose fields satisfy `where`). */
  waitForLog(msg: RegExp, where: (l: Record<string, unknown>) => boolean = () => true, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return until(`${this.name} to log ${msg}\n--- its output so far:\n${this.out.slice(-3000)}`, () => {
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited with ${this.child.exitCode}:\n${this.out.slice(-3000)}`);
      return this.logs().find((l) => msg.test(String(l.msg)) && where(l));
    }, timeoutMs);
  }

  /** SIGTERM and wait for the exit (SIGKILL after `graceMs`). */
  async stop(graceMs = 100_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }

  kill9(): void {
    this.child.kill('SIGKILL');
  }
}

/** A TCP port free on 127.0.0.1 right now (for a health endpoint or a private Redis). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
