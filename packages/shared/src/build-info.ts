import { execFileSync } from 'node:child_process';
import type { Config } from './config';

let fromCheckout: string | null | undefined;

/**
 * The commit a model is trained from, recorded in its manifest: `ENGINE_GIT_COMMIT` when
 * set (container images get it as a build argument, having no .git), else the checkout
 * this code runs from (`git rev-parse HEAD` beside the installed files), else null.
 */
export function resolveGitCommit(config: Pick<Config, 'gitCommit'>): string | null {
  if (config.gitCommit !== undefined) return config.gitCommit;
  if (fromCheckout === undefined) {
    try {
      fromCheckout = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: __dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim() || null;
    } catch {
      fromCheckout = null;
    }
  }
  return fromCheckout;
}
