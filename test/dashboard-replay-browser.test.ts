/**
 * The replay pages in a real browser (Debian's chromium driven by playwright-core): a real
 * replay of a planted market (three retrain dates) recorded in the test PostgreSQL, then an
 * operator opens Replays, sees its progress, and opens it: the fleet's and the symbol's
 * equity curves against the baselines, the drawdown, the books, the gate statistics, the
 * models and the retrain dates. Screenshots go to test-results/dashboard/.
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, offlinePage } from './support/browser';
import { createLogger, loadConfig } from '@engine/shared';
import { createPgDb, dropSchema } from '@engine/registry';
import { replayId, replaySchema, resolveReplayRequest, runReplayHere, type ReplayRequest } from '@engine/fleet';
import { plantedMarket } from '@engine/training';
import { PASSWORD, startDashboardFixture, TEST_DATABASE_URL, USER, type DashboardFixture } from '../packages/dashboard/test/support/dashboard-fixture';
import { REPO_ROOT } from './support/paths';
import { candleCsvGz } from './support/candle-csv';

jest.setTimeout(300_000);
const SHOTS = path.join(REPO_ROOT, 'test-results', 'dashboard');

describe('the replay pages in a browser', () => {
  let fx: DashboardFixture;
  let browser: Browser;
  let page: Page;
  let dir: string;
  let req: ReplayRequest;
  const external: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = await mkdtemp(path.join(tmpdir(), 'engine-replay-ui-'));
    const m = plantedMarket({ days: 30, seed: 3, start: Date.UTC(2026, 0, 1), symbol: 'SYN/USDT' });
    await writeFile(path.join(dir, 'SYNUSDT-1m.csv.gz'), candleCsvGz(m.candles));
    await writeFile(path.join(dir, 'BTCUSDT-1m.csv.gz'), candleCsvGz(m.reference));
    req = resolveReplayRequest({
      symbols: ['SYN/USDT'],
      from: '2026-01-24',
      to: '2026-01-29',
      retrainEveryDays: 2,
      windowDays: 22,
      source: `csv:${dir}`,
      training: { walk_forward: { train_days: 10, test_days: 5, step_days: 5 }, model: { nEstimators: 30, maxDepth: 4 }, confidence_model: { nEstimators: 10 } },
    });
    // the replay's namespace in the test database, beside the dashboard fixture's registry schema
    await runReplayHere(loadConfig({ DATABASE_URL: TEST_DATABASE_URL, ENGINE_DATA_DIR: path.join(dir, 'data') }), req, createLogger({ level: 'silent' }), { threads: 2 });
    [fx, browser] = await Promise.all([
      startDashboardFixture({ failedJob: false }),
      launchChromium(),
    ]);
    ({ page } = await offlinePage(browser, fx.url, external));
  });

  afterAll(async () => {
    await browser?.close();
    await fx?.close();
    const db = createPgDb({ connectionString: TEST_DATABASE_URL, max: 1 });
    await dropSchema(db, replaySchema(replayId(req))).catch(() => undefined);
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  test('an operator follows a replay to its report', async () => {
    const id = replayId(req);
    await page.goto(`${fx.url}/replays`);
    await page.fill('#user', USER);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${fx.url}/replays`);
    const row = page.locator(`tr[data-replay="${id}"]`);
    await expect(row.locator('[data-progress]').getAttribute('data-progress')).resolves.toBe('3/3');
    await expect(row.locator('.badge').textContent()).resolves.toBe('ready');
    await shot('12-replays');
    await row.locator('a').click();
    await page.waitForURL(`${fx.url}/replays/${id}`);
    await expect(page.locator('#decided').textContent()).resolves.toBe('3 / 3');
    // the fleet's equity against the three baselines, and its drawdown: drawn, with a legend of four books
    const equity = page.locator('svg#fleet-equity');
    await equity.waitFor();
    expect((await equity.boundingBox())!.width).toBeGreaterThan(500);
    await expect(page.locator('svg#fleet-equity path').count()).resolves.toBeGreaterThanOrEqual(4);
    await page.locator('svg#fleet-drawdown').waitFor();
    await page.locator('svg#sym-SYN-USDT-equity').waitFor();
    await shot('13-replay-report');
    // the planted edge: the factory's book made money; every date published and live
    const factoryNet = Number((await page.locator('table.books').first().locator('tr[data-book="factory"] td').nth(2).textContent())!);
    expect(factoryNet).toBeGreaterThan(0);
    await expect(page.locator('table.models tbody tr').count()).resolves.toBe(3);
    await expect(page.locator('table.steps tbody tr').count()).resolves.toBe(3);
    await expect(page.locator('table.steps .badge.published').count()).resolves.toBe(3);
    // an unknown replay: a 404 page that says what ids look like
    const r = await page.goto(`${fx.url}/replays/000000000000`);
    expect(r!.status()).toBe(404);
    await expect(page.locator('main').textContent()).resolves.toMatch(/no replay '000000000000'/);
    expect(external).toEqual([]);
  });
});
