import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The anchors' interchange format end to end: make_synth.py writes a small data set,
 * gbdt_bench.py runs `engine bench gbdt-ext` on it as its external trainer and scores the
 * predictions it wrote. Needs Debian's python3 with numpy/scipy and the built CLI.
 */
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const ANCHORS = path.resolve(REPO_ROOT, '..', 'shared', 'anchors');
const PYTHON = '/usr/bin/python3';
const CLI = path.join(REPO_ROOT, 'apps', 'cli', 'dist', 'main.js');

function available(): boolean {
  if (!existsSync(path.join(ANCHORS, 'gbdt_bench.py')) || !existsSync(CLI)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import numpy, scipy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

(available() ? describe : describe.skip)('GBDT on the gbdt_bench.py interchange files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gbdt-interchange-'));
    execFileSync(PYTHON, [path.join(ANCHORS, 'make_synth.py'), path.join(dir, 'data'), '--days', '3', '--alpha', '3', '--df-eps', '30'], { stdio: 'ignore' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trains through engine bench gbdt-ext, writes test predictions and beats the mean', () => {
    const out = execFileSync(
      PYTHON,
      [
        path.join(ANCHORS, 'gbdt_bench.py'), 'bench', path.join(dir, 'data'), '--libs', 'none', '--repeats', '1', '--warmup', '0',
        '--threads', '2', '--pred-dir', path.join(dir, 'pred'),
        // The Node running the tests, not whatever `node` the shell finds first.
        '--ext', `ts='${process.execPath}' '${CLI}' bench gbdt-ext {data} {pred} {threads}`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const line = out.split('\n').find((l) => l.startsWith('{'));
    expect(line).toBeDefined();
    const r = JSON.parse(line!) as Record<string, number | string>;
    expect(r.timing).toBe('program-reported train_s');
    expect(r.train_s_best).toBeGreaterThan(0);
    expect(r.peak_rss_mb).toBeGreaterThan(0);
    expect(r.n_leaves_total).toBeGreaterThan(300);
    const meta = JSON.parse(readFileSync(path.join(dir, 'data', 'meta.json'), 'utf8')) as { rows: number; train_rows: number };
    expect(statSync(String(r.pred_file)).size).toBe(4 * (meta.rows - meta.train_rows));
    // the high-signal variant is learnable: clearly better than predicting the mean
    expect(Number(r.rmse)).toBeLessThan(0.95 * Number(r.rmse_baseline));
    expect(Number(r.pearson)).toBeGreaterThan(0.3);
  });
});
