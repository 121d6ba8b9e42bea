/**
 * Docker does not run in CI, so the deployment files are checked for what would break a
 * deploy silently: the compose file parses and wires the roles as documented, every
 * variable it sets is one the config schema accepts (a typo would make every container
 * exit at start), and the Dockerfiles copy every workspace manifest `npm ci` needs.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '@engine/shared';
import { REPO_ROOT } from './support/paths';

// js-yaml is a root dev dependency; no types needed for one call.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { load(s: string): unknown };

type Service = { command?: string[]; environment?: Record<string, string | number>; deploy?: { replicas?: unknown }; image?: string; build?: { dockerfile?: string }; stop_grace_period?: string };
const compose = yaml.load(readFileSync(path.join(REPO_ROOT, 'infra/docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const read = (f: string) => readFileSync(path.join(REPO_ROOT, f), 'utf8');

/** `${VAR:-default}` → default (what compose substitutes when the operator sets nothing). */
function withDefaults(env: Record<string, string | number>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) out[k] = String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
  return out;
}

describe('infra/docker-compose.yml', () => {
  const s = compose.services;

  it('runs Redis with AOF and noeviction, PostgreSQL, and every role', () => {
    expect(Object.keys(s).sort()).toEqual(['dashboard', 'postgres', 'redis', 'scheduler', 'sync-worker', 'train-worker']);
    const redisCmd = (s.redis!.command ?? []).join(' ');
    expect(redisCmd).toContain('--appendonly yes');
    expect(redisCmd).toContain('--maxmemory-policy noeviction');
    expect(s.postgres!.image).toMatch(/^postgres:/);
  });

  it('starts each role from a compiled entry point that the build produces', () => {
    expect(s.scheduler!.command).toEqual(['apps/scheduler/dist/main.js']);
    expect(s['train-worker']!.command).toEqual(['apps/worker/dist/main.js']);
    expect(s['sync-worker']!.command).toEqual(['apps/worker/dist/main.js']);
    expect(s.dashboard!.command).toEqual(['apps/dashboard/dist/main.js']);
    for (const entry of ['apps/scheduler/src/main.ts', 'apps/worker/src/main.ts']) expect(existsSync(path.join(REPO_ROOT, entry))).toBe(true);
    expect(s['train-worker']!.environment!.ENGINE_WORKER_ROLE).toBe('train');
    expect(s['sync-worker']!.environment!.ENGINE_WORKER_ROLE).toBe('sync');
    expect(String(s['train-worker']!.deploy!.replicas)).toMatch(/^\$\{ENGINE_TRAIN_REPLICAS:-\d+\}$/);
    // Docker's grace period outlasts the drain deadline, or SIGKILL cuts the drain short.
    const deadlineMs = Number(withDefaults(s['train-worker']!.environment!).ENGINE_SHUTDOWN_DEADLINE_MS);
    expect(Number.parseInt(s['train-worker']!.stop_grace_period ?? '10', 10) * 1000).toBeGreaterThan(deadlineMs);
  });

  it('sets only variables the config schema accepts, with valid defaults, for every Engine service', () => {
    for (const name of ['scheduler', 'train-worker', 'sync-worker', 'dashboard']) {
      const env = withDefaults(s[name]!.environment ?? {});
      const config = loadConfig(env);
      expect(config.mode).toBe('fleet');
      expect(config.databaseUrl).toMatch(/^postgres:\/\/engine:[^@]+@postgres:5432\/engine$/);
    }
  });
});

describe('infra Dockerfiles', () => {
  const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;

  for (const file of ['infra/Dockerfile', 'infra/Dockerfile.gpu']) {
    it(`${file}: copies every workspace manifest before npm ci, builds, runs as a non-root user`, () => {
      const text = read(file);
      const copied = [...text.matchAll(/^COPY (\S+)\/package\.json \1\/$/gm)].map((m) => m[1]);
      expect(copied.sort()).toEqual([...workspaces].sort());
      expect(text).toMatch(/^COPY package\.json package-lock\.json \.npmrc \.\/$/m);
      expect(text.indexOf('npm ci')).toBeLessThan(text.indexOf('npm run build'));
      const runtime = text.slice(text.lastIndexOf('\nFROM '));
      expect(runtime).toMatch(/^USER node$/m);
      // images have no .git: the commit comes in as a build argument and reaches the manifests
      expect(runtime).toMatch(/^ARG GIT_COMMIT=""$/m);
      expect(runtime).toMatch(/ENGINE_GIT_COMMIT=\$\{GIT_COMMIT\}/);
      expect(existsSync(path.join(REPO_ROOT, `${file}.dockerignore`))).toBe(true);
    });
  }

  it('the CPU image is node:22-slim; the GPU image installs onnxruntime-node’s CUDA 12 provider on a CUDA runtime', () => {
    expect(read('infra/Dockerfile')).toMatch(/^ARG NODE_IMAGE=node:22-slim$/m);
    const gpu = read('infra/Dockerfile.gpu');
    expect(gpu).toMatch(/^ARG CUDA_IMAGE=nvidia\/cuda:12\.[\d.]+-cudnn-runtime-/m);
    expect(gpu).toMatch(/^ENV ONNXRUNTIME_NODE_INSTALL=cuda12$/m);
    expect(gpu).toContain('npm ci --no-audit --no-fund --onnxruntime-node-install=cuda12');
  });
});
