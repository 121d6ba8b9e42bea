import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** The repository root (this file is packages/fleet/dist/bench/…). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

/** A training worker process; resolves `ready` on its ready log line. */
export function spawnWorker(env: Record<string, string>, name: string): { child: ChildProcess; ready: Promise<void>; output: () => string } {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'apps/worker/dist/main.js')], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env, RUNPOD_POD_ID: name },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    const on = (b: Buffer) => {
      out += b.toString();
      if (out.includes('training worker ready')) resolve();
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready:\n${out.slice(-2000)}`)));
  });
  return { child, ready, output: () => out };
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(t);
}

