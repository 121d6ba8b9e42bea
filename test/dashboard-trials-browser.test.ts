/**
 * The trials page in a real browser (Debian's chromium driven by playwright-core): from a
 * symbol's page to its trials, the histogram drawn with the candidate and SR0 marked, the
 * candidate's numbers beside it, then another candidate chosen from the ledger table.
 * Against a real registry and ledger (PostgreSQL, own schema). Screenshots go to
 * test-results/dashboard/.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, offlinePage } from './support/browser';
import { PASSWORD, startDashboardFixture, USER, type DashboardFixture } from '../packages/dashboard/test/support/dashboard-fixture';
import { HASHES, seedTrials, TRIALS_NOW } from '../packages/dashboard/test/support/seed-trials';
import { REPO_ROOT } from './support/paths';

const SHOTS = path.join(REPO_ROOT, 'test-results', 'dashboard');

describe('the trials page in a browser', () => {
  let fx: DashboardFixture;
  let browser: Browser;
  let page: Page;
  /** Requests the page tried to send anywhere but the dashboard (it must load nothing from elsewhere). */
  const external: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [fx, browser] = await Promise.all([
      startDashboardFixture({ failedJob: false, now: () => TRIALS_NOW }),
      launchChromium(),
    ]);
    await seedTrials(fx.trials, fx.models);
    ({ page } = await offlinePage(browser, fx.url, external));
  });

  afterAll(async () => {
    await browser?.close();
    await fx?.close();
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  test("an operator opens a symbol's trials and picks another candidate", async () => {
    await page.goto(`${fx.url}/symbols/BTC-USDT`);
    await page.fill('#user', USER);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${fx.url}/symbols/BTC-USDT`);
    await page.click('#trials-link');
    await page.waitForURL(`${fx.url}/symbols/BTC-USDT/trials`);
    await page.getByRole('heading', { name: 'Trials of BTC/USDT' }).waitFor();

    // The histogram is drawn: three counted trials with a Sharpe, the candidate and SR0 marked.
    const svg = page.locator('#trials-histogram svg');
    const counts = await svg.locator('rect.bar').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('data-count'))));
    expect(counts.reduce((s, c) => s + c, 0)).toBe(3);
    await expect(svg.locator('g.candidate').count()).resolves.toBe(1);
    await expect(svg.locator('g.sr0').count()).resolves.toBe(1);
    const plot = (await svg.boundingBox())!;
    const marker = (await svg.locator('g.candidate').boundingBox())!;
    expect(marker.x).toBeGreaterThan(plot.x);
    expect(marker.x + marker.width).toBeLessThan(plot.x + plot.width);
    const bar = (await svg.locator('rect.bar').first().boundingBox())!;
    expect(bar.height).toBeGreaterThan(20);
    // The candidate's table sits beside the plot at this width, not under it, and both fit the page.
    const table = (await page.locator('table.deflation').boundingBox())!;
    expect(plot.width).toBeGreaterThan(500);
    expect(table.x).toBeGreaterThan(plot.x + plot.width - 1);
    expect(table.x + table.width).toBeLessThanOrEqual(1280);
    await expect(page.locator('tr[data-k="n"] td').textContent()).resolves.toBe('4');
    await expect(page.locator('table.trials tbody tr').count()).resolves.toBe(4);
    await expect(page.locator('table.trials tr.candidate').getAttribute('data-config')).resolves.toBe(HASHES.a);
    await shot('09-trials');

    // Choose configuration B from the table: it becomes the candidate; then list the controls.
    await page.locator(`tr[data-config="${HASHES.b}"] a[title^="${HASHES.b}"]`).click();
    await page.waitForURL(`${fx.url}/symbols/BTC-USDT/trials?candidate=${HASHES.b}`);
    await expect(page.locator('table.trials tr.candidate').getAttribute('data-config')).resolves.toBe(HASHES.b);
    await page.check('input[name=controls]');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/controls=1/);
    await expect(page.locator('table.trials tbody tr').count()).resolves.toBe(5);
    await expect(page.locator('table.trials tr.control .badge.control').count()).resolves.toBe(1);
    await expect(page.locator('tr[data-k="n"] td').textContent()).resolves.toBe('4');
    await shot('10-trials-candidate-controls');

    // A symbol without trials: the friendly page.
    await page.goto(`${fx.url}/symbols/ETH-USDT/trials`);
    await page.locator('#no-trials').waitFor();
    await shot('11-trials-empty');

    expect(external).toEqual([]);
  });
});
