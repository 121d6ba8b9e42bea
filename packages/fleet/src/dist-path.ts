import * as path from 'node:path';

/**
 * The compiled twin of a module next to the caller. Sandboxed processors and child
 * processes run compiled JS from dist/; under jest, `__dirname` is the src folder, so
 * `…/src/x.ts` maps to `…/dist/x.js`.
 */
export function compiledSibling(dirname: string, base: string): string {
  const dir = dirname.split(path.sep).map((part) => (part === 'src' ? 'dist' : part)).join(path.sep);
  return path.join(dir, `${base}.js`);
}
