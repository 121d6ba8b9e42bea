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

type Service = {
  command?: string[];
  environment?: Record<string, string | number>;
  deploy?: { replicas?: unknown };
  image?: string;
  build?: { dockerfile?: string };
  stop_grace_period?: string;
  healthcheck?: { test?: string[] };
  read_only?: boolean;
};
const compose = yaml.load(readFileSync(path.join(REPO_ROOT, 'infra/docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const read = (f: string) => readFileSync(path.join(REPO_ROOT, f), 'utf8');

/** The secrets compose requires (`${VAR:?…}`), as an operator's .env would give them. */
const REQUIRED = { POSTGRES_PASSWORD: 'a-real-password', DASHBOARD_SESSION_SECRET: 'x'.repeat(40) } as Record<string, string>;

/** `${VAR:-default}` → default, `${VAR:?message}` → the operator's value (what compose substitutes). */
function withDefaults(env: Record<string, string | number>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    out[k] = String(v)
      .replace(/\$\{([A-Z_]+):\?[^}]*\}/g, (_m, name: string) => REQUIRED[name] ?? '')
      .replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
  }
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

  it('refuses to start without the secrets: no known default password, no per-process session key', () => {
    const text = read('infra/docker-compose.yml');
    expect(text).not.toMatch(/POSTGRES_PASSWORD:-/);
    expect(text).toMatch(/POSTGRES_PASSWORD: \$\{POSTGRES_PASSWORD:\?/);
    expect(text).toMatch(/DASHBOARD_SESSION_SECRET: \$\{DASHBOARD_SESSION_SECRET:\?/);
  });

  it('pins every image, gives every service a healthcheck and the Engine services a read-only root', () => {
    for (const [name, svc] of Object.entries(s)) {
      if (svc.image !== undefined && !svc.image.startsWith('${ENGINE_IMAGE')) expect(svc.image).toMatch(/:\d+\.\d+(\.\d+)?-/); // a release, never `latest` or a bare major
      expect(svc.healthcheck?.test?.length ?? 0).toBeGreaterThan(0);
      if (['scheduler', 'train-worker', 'sync-worker', 'dashboard'].includes(name)) expect(svc.read_only).toBe(true);
    }
    for (const name of ['scheduler', 'train-worker', 'sync-worker']) {
      expect(s[name]!.healthcheck!.test!.join(' ')).toContain(`127.0.0.1:${withDefaults(s[name]!.environment!).ENGINE_HEALTH_PORT}/healthz`);
    }
    expect(s.dashboard!.healthcheck!.test!.join(' ')).toContain('127.0.0.1:3000/healthz');
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

describe('infra/Dockerfile', () => {
  const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
  const text = read('infra/Dockerfile');

  it('copies every workspace manifest before npm ci, builds, runs as a non-root user with read-only code', () => {
    const copied = [...text.matchAll(/^COPY (\S+)\/package\.json \1\/$/gm)].map((m) => m[1]);
    expect(copied.sort()).toEqual([...workspaces].sort());
    expect(text).toMatch(/^COPY package\.json package-lock\.json \.npmrc \.\/$/m);
    expect(text.indexOf('npm ci')).toBeLessThan(text.indexOf('npm run build'));
    const runtime = text.slice(text.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/--chown=root:root/);
    expect(runtime).toMatch(/chmod -R a-w \/app/);
    // images have no .git: the commit comes in as a build argument and reaches the manifests
    expect(runtime).toMatch(/^ARG GIT_COMMIT=""$/m);
    expect(runtime).toMatch(/ENGINE_GIT_COMMIT=\$\{GIT_COMMIT\}/);
    expect(existsSync(path.join(REPO_ROOT, 'infra/Dockerfile.dockerignore'))).toBe(true);
  });

  it('runs Node 24 from a pinned image and installs only the apps’ production dependencies: no consumer, no onnxruntime', () => {
    expect(text).toMatch(/^ARG NODE_IMAGE=node:24\.\d+\.\d+-bookworm-slim$/m);
    expect(text).toMatch(/npm ci --omit=dev[^\n]*\n\s*-w apps\/cli -w apps\/scheduler -w apps\/worker -w apps\/dashboard/);
    expect(text).toMatch(/test ! -e node_modules\/onnxruntime-node/);
    // Training is CPU-bound: no GPU image to keep up to date (infra/runpod.md says which pods to rent).
    expect(existsSync(path.join(REPO_ROOT, 'infra/Dockerfile.gpu'))).toBe(false);
    expect(read('infra/runpod.md')).toMatch(/CPU/);
  });
});
