import * as path from 'node:path';

/**
 * The compiled JavaScript twin of a module beside the caller, for code that must start a
 * worker thread or child process from a file (which has to be JavaScript). Call it as
 * `compiledSibling(__dirname, __filename, 'hist-worker')`.
 *
 * Compiled (`__filename` ends in `.js`) the sibling is in the caller's own folder. Under
 * jest the caller runs from TypeScript in `…/src/…`, so the sibling is taken from the
 * `dist/` twin `tsc --build` wrote: the last `src` folder of the path becomes `dist`
 * (only the last, so a checkout under e.g. `/home/me/src/engine` still resolves).
 */
export function compiledSibling(dirname: string, filename: string, base: string): string {
  let dir = dirname;
  if (!filename.endsWith('.js')) {
    const parts = dir.split(path.sep);
    const i = parts.lastIndexOf('src');
    if (i >= 0) parts[i] = 'dist';
    dir = parts.join(path.sep);
  }
  return path.join(dir, `${base}.js`);
}
