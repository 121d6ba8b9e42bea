import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './support/paths';

/**
 * The house rules (README, Architecture): every package lives on a floor and imports only
 * from floors below it; apps import only packages; the pure packages import only pure
 * packages and shared; what a workspace's sources import is exactly what its package.json
 * declares. A new import that breaks a rule fails here, naming the file.
 */
const FLOORS: Record<string, number> = {
  '@engine/shared': 0,
  '@engine/model': 1,
  '@engine/gbdt': 1,
  '@engine/features': 1,
  '@engine/candles': 1,
  '@engine/publish': 2,
  '@engine/ensemble': 2,
  '@engine/ppo': 2,
  '@engine/registry': 3,
  '@engine/training': 3,
  '@engine/fleet': 4,
  // Hamilton's library: below the fleet, whose factory replay trades with its Trader
  '@engine/consumer': 3,
  '@engine/dashboard': 5,
};
const PURE = new Set(['@engine/shared', '@engine/model', '@engine/gbdt', '@engine/ensemble', '@engine/ppo', '@engine/features', '@engine/training']);

interface Workspace {
  dir: string;
  name: string;
  deps: string[];
}

const workspaces: Workspace[] = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces.map((dir) => {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, dir, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string> };
  return { dir, name: pkg.name, deps: Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith('@engine/')) };
});

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** `@engine/*` modules a workspace's src/ imports, with one file that does. */
function imports(ws: Workspace): Map<string, string> {
  const found = new Map<string, string>();
  for (const f of sourceFiles(path.join(REPO_ROOT, ws.dir, 'src'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/from '(@engine\/[a-z-]+)'/g)) if (!found.has(m[1]!)) found.set(m[1]!, path.relative(REPO_ROOT, f));
  }
  found.delete(ws.name);
  return found;
}

describe('the house rules', () => {
  it('knows every package', () => {
    const packages = workspaces.filter((w) => w.dir.startsWith('packages/')).map((w) => w.name);
    expect(packages.sort()).toEqual(Object.keys(FLOORS).sort());
  });

  it.each(workspaces.map((w) => [w.dir, w] as const))('%s imports exactly what it declares, and only from floors below', (_dir, ws) => {
    const used = imports(ws);
    expect([...used.keys()].sort()).toEqual([...ws.deps].sort());
    const problems: string[] = [];
    for (const [dep, file] of used) {
      if (ws.dir.startsWith('apps/')) {
        if (!(dep in FLOORS)) problems.push(`${file}: an app may import only packages, not ${dep}`);
        continue;
      }
      const own = FLOORS[ws.name]!;
      if (!(FLOORS[dep]! < own)) problems.push(`${file}: ${ws.name} (floor ${own}) imports ${dep} (floor ${FLOORS[dep]}), not below it`);
      if (PURE.has(ws.name) && !PURE.has(dep)) problems.push(`${file}: the pure package ${ws.name} imports ${dep}, which does I/O`);
    }
    expect(problems).toEqual([]);
  });
});
