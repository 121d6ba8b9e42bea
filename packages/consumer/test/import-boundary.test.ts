import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Hamilton's process loads this library, and nothing of the fleet should come with it: not
 * the registry, not the trainer, not PostgreSQL's driver or the embedded PGlite. A child
 * `node` requires the compiled `@engine/consumer` (dist, as Hamilton would) and reports
 * every module file it loaded, with the module that first required it.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const ENTRY = path.join(ROOT, 'packages', 'consumer', 'dist', 'index.js');

/** What the consumer must never load (packages/consumer/README.md). */
const FORBIDDEN = ['@engine/training', '@engine/registry', 'pg', '@electric-sql/pglite'];

/** The npm package a loaded file belongs to; workspace packages as `@engine/<folder>`. */
function packageOf(file: string): string {
  const nm = `${path.sep}node_modules${path.sep}`;
  const i = file.lastIndexOf(nm);
  if (i >= 0) {
    const [a, b] = file.slice(i + nm.length).split(path.sep);
    return a!.startsWith('@') ? `${a}/${b}` : a!;
  }
  const rel = path.relative(path.join(ROOT, 'packages'), file);
  return rel.startsWith('..') ? file : `@engine/${rel.split(path.sep)[0]}`;
}

const CHILD = `
const entry = process.argv[1];
require(entry);
const parentOf = {};
for (const m of Object.values(require.cache)) for (const c of m.children) if (!(c.id in parentOf)) parentOf[c.id] = m.id;
process.stdout.write(JSON.stringify({ files: Object.keys(require.cache), parentOf }));
`;

test('loading @engine/consumer loads neither the registry, the trainer, pg nor PGlite', () => {
  expect(existsSync(ENTRY) ? ENTRY : `${ENTRY} missing: run npm run build first`).toBe(ENTRY);
  const r = spawnSync(process.execPath, ['-e', CHILD, ENTRY], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const { files, parentOf } = JSON.parse(r.stdout) as { files: string[]; parentOf: Record<string, string> };
  const loaded = new Map<string, string>();
  for (const f of files) if (!loaded.has(packageOf(f))) loaded.set(packageOf(f), f);

  // The listing sees packages at all: the library itself, the contract and onnxruntime.
  expect([...loaded.keys()]).toEqual(expect.arrayContaining(['@engine/consumer', '@engine/model', '@engine/features', 'onnxruntime-node']));

  const rel = (f: string | undefined): string => (f === undefined ? '?' : path.relative(ROOT, f));
  const offenders = FORBIDDEN.filter((p) => loaded.has(p)).map((p) => `${p}: ${rel(loaded.get(p))}, required by ${rel(parentOf[loaded.get(p)!])}`);
  expect(offenders).toEqual([]);
});
