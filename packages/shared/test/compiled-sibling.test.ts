import { existsSync } from 'node:fs';
import path from 'node:path';
import { compiledSibling } from '@engine/shared';

describe('compiledSibling: the JavaScript file a worker thread or sandboxed processor is started from', () => {
  it('under jest (TypeScript in src/) is the dist/ twin; compiled, the file beside the caller', () => {
    expect(compiledSibling('/repo/packages/fleet/src', '/repo/packages/fleet/src/train-worker.ts', 'train-processor')).toBe('/repo/packages/fleet/dist/train-processor.js');
    expect(compiledSibling('/repo/packages/fleet/dist', '/repo/packages/fleet/dist/train-worker.js', 'train-processor')).toBe('/repo/packages/fleet/dist/train-processor.js');
  });

  it('maps only the package\'s own src folder, not one higher up the checkout path', () => {
    expect(compiledSibling('/home/me/src/engine/packages/gbdt/src', '/home/me/src/engine/packages/gbdt/src/thread-pool.ts', 'hist-worker')).toBe('/home/me/src/engine/packages/gbdt/dist/hist-worker.js');
    expect(compiledSibling('/home/me/src/engine/packages/gbdt/dist', '/home/me/src/engine/packages/gbdt/dist/thread-pool.js', 'hist-worker')).toBe('/home/me/src/engine/packages/gbdt/dist/hist-worker.js');
  });

  it('finds the worker scripts that tsc --build wrote for this checkout', () => {
    expect(existsSync(compiledSibling(path.resolve(__dirname, '../../training/src/pipeline'), 'fold-pool.ts', 'fold-worker'))).toBe(true);
    expect(existsSync(compiledSibling(path.resolve(__dirname, '../../fleet/src'), 'train-worker.ts', 'train-processor'))).toBe(true);
  });
});
