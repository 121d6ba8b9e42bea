/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core): an admin
 * signs in, sees the queues in Bull Board, opens a model page with its equity plot,
 * retries a failed training job and rolls back a symbol's live model. Against a real
 * registry (PostgreSQL, own schema, two published BTC models) and real BullMQ queues
 * (Redis, own prefix, one failed job). Screenshots go to test-results/dashboard/.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, offlinePage } from './support/browser';
import { FAILURE_REASON, PASSWORD, startDashboardFixture, USER, type DashboardFixture } from '../packages/dashboard/test/support/dashboard-fixture';
import { REPO_ROOT } from './support/paths';

const SHOTS = path.join(REPO_ROOT, 'test-results', 'dashboard');

describe('dashboard in a browser', () => {
  let fx: DashboardFixture;
  let browser: Browser;
  let page: Page;
  /** Requests the pages tried to send anywhere but the dashboard (the offline check). */
  const external: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [fx, browser] = await Promise.all([
      startDashboardFixture(),
      launchChromium(),
    ]);
    // Offline, as on an air-gapped ops box: anything not served by the dashboard is refused.
    ({ page } = await offlinePage(browser, fx.url, external));
  });

  afterAll(async () => {
    await browser?.close();
    await fx?.close();
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  test('an admin signs in, inspects, retries and rolls back', async () => {
    // Signing in: the dashboard sends an anonymous visitor to the login form.
    await page.goto(`${fx.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await shot('01-login');
    await page.fill('#user', USER);
    await page.fill('#password', 'not the password');
    await page.click('button[type=submit]');
    await page.getByText('Wrong user or password.').waitFor();
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${fx.url}/`);

    // The fleet today: BTC live and published, ETH rejected with its reasons, SOL failed with the job's reason.
    await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
    // As of now, the newest run dated, and a warning that it is stale (the seeded runs are from July).
    await expect(page.locator('#as-of').textContent()).resolves.toMatch(/^As of \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC · newest run 2026-07-15 \(\d+ days ago\) · next scheduled run /);
    await expect(page.locator('#stale').textContent()).resolves.toMatch(/No run for \d+ days\./);
    // The schedule and who is connected: no scheduler and no worker in this fixture, and the page says so.
    await expect(page.locator('#next-run').textContent()).resolves.toMatch(/none \(no schedule in Redis/);
    await expect(page.locator('[data-workers="train"] .v').textContent()).resolves.toBe('0');
    await expect(page.locator('#no-workers').isVisible()).resolves.toBe(true);
    const btc = page.locator('tr[data-symbol="BTC/USDT"]');
    await expect(btc.locator('.badge.published').count()).resolves.toBe(1);
    await expect(btc.textContent()).resolves.toContain(fx.models.btcNew.runDate);
    const eth = page.locator('tr[data-symbol="ETH/USDT"]');
    await expect(eth.locator('.badge.rejected').count()).resolves.toBe(1);
    await expect(eth.locator('.reason').first().textContent()).resolves.toMatch(/^\w+: /);
    const sol = page.locator('tr[data-symbol="SOL/USDT"]');
    await expect(sol.locator('.badge.failed').count()).resolves.toBe(1);
    await expect(sol.textContent()).resolves.toContain(FAILURE_REASON);
    await shot('02-fleet');

    // Bull Board lists every catalog queue.
    await page.goto(`${fx.url}/queues`);
    for (const q of ['run', 'train', 'sync']) await page.getByRole('link', { name: new RegExp(`^${q}\\b`) }).first().waitFor();
    await shot('03-bull-board');
    await page.goto(`${fx.url}/queues/queue/train?status=failed`);
    await page.getByText(FAILURE_REASON).first().waitFor();
    await shot('04-bull-board-failed');

    // The live model's page: gates, folds and the equity plot with its line.
    await page.goto(`${fx.url}/`);
    await btc.locator(`a[href="/models/${fx.models.btcNew.id}"]`).first().click();
    await page.waitForURL(`${fx.url}/models/${fx.models.btcNew.id}`);
    await expect(page.locator('table.gates tr[data-gate]').count()).resolves.toBe(7);
    // Seven folds, one skipped for missing data (shown muted, with its reason).
    await expect(page.locator('table.folds tbody tr').count()).resolves.toBe(7);
    await expect(page.locator('table.folds tbody tr.skipped').textContent()).resolves.toContain('skipped: training coverage 41.2% < 60% of minutes');
    const line = page.locator('#equity-plot svg path.line');
    await expect(line.count()).resolves.toBe(1);
    expect(((await line.getAttribute('d')) ?? '').length).toBeGreaterThan(100);
    await expect(page.locator('#equity-plot svg .markers line').count()).resolves.toBe(6);
    await expect(page.locator('#drawdown-plot svg path.area').count()).resolves.toBe(1);
    // Drawdown: the plot's deepest point = the card = the manifest's max_drawdown (what the CLI prints).
    const card = await page.locator('.card', { hasText: 'Max drawdown (GBP)' }).locator('.v').textContent();
    const plotted = await page.locator('#drawdown-plot').getAttribute('data-max-drawdown');
    const manifestDd = ((await fx.registry.getModel(fx.models.btcNew.id))!.manifest.metrics as { max_drawdown: number }).max_drawdown;
    expect(Number(plotted)).toBeCloseTo(manifestDd, 1);
    expect(Number(card!.replace(/,/g, ''))).toBeCloseTo(manifestDd, 1);
    await expect(page.locator('#importance-plot svg .bar').count()).resolves.toBe(20);
    await expect(page.locator('[data-missing]').count()).resolves.toBe(0);
    const box = await page.locator('#equity-plot svg').boundingBox();
    expect(box!.width).toBeGreaterThan(600);
    await shot('05-model');
    // The cost curve marks every shipped venue profile, labels stacked where they are close.
    const venueLabels = await page.locator('#cost-sharpe .markers ~ text, #cost-curve svg text').allTextContents();
    for (const v of ['spot-taker', 'spot-maker-entry', 'usdm-taker', 'usdm-maker-entry']) expect(venueLabels).toContain(v);
    await page.locator('#cost-curve').screenshot({ path: path.join(SHOTS, '05b-cost-curve.png') });
    // Non-default settings and the expiry are said at the top (issue 19).
    await expect(page.locator('#non-default').isVisible()).resolves.toBe(true);
    await page.screenshot({ path: path.join(SHOTS, '05c-model-top.png'), clip: { x: 0, y: 0, width: 1280, height: 420 } });

    // Retry the failed training job from the fleet page.
    await page.goto(`${fx.url}/`);
    await sol.locator(`button[data-job="${fx.failedJobId}"]`).click();
    await page.getByText('Job sent back to the queue for another attempt.').waitFor();
    expect(await (await fx.trainQueue.getJob(fx.failedJobId!))!.getState()).toBe('waiting');
    await expect(page.locator(`tr[data-job="${fx.failedJobId}"]`).count()).resolves.toBe(0);
    await shot('06-after-retry');

    // Roll BTC back: confirmation page, a reason, and the publish log says who and why.
    await page.goto(`${fx.url}/symbols/BTC-USDT`);
    await page.click('#rollback-link');
    await page.getByRole('heading', { name: 'Roll back BTC/USDT' }).waitFor();
    await expect(page.locator('.confirm').textContent()).resolves.toContain(fx.models.btcOld.runDate);
    await shot('07-rollback-confirm');
    const reason = 'live fills diverge from the backtest since 09:00 (browser test)';
    await page.fill('#reason', reason);
    await page.click('#confirm-rollback');
    await page.getByText('Rolled back: the previous published model is live').waitFor();
    expect((await fx.registry.liveModel('BTC/USDT'))!.modelId).toBe(fx.models.btcOld.id);
    const [event] = await fx.registry.events('BTC/USDT', 1);
    expect(event).toMatchObject({ event: 'rolled_back', actor: USER, reason, modelId: fx.models.btcNew.id });
    const logRow = page.locator('table.events tr[data-event="rolled_back"]');
    await expect(logRow.textContent()).resolves.toContain(reason);
    await expect(page.locator(`tr[data-model="${fx.models.btcNew.id}"] .badge.rolled-back`).count()).resolves.toBe(1);
    await shot('08-after-rollback');

    // A phone (420 px): nothing overflows the page sideways, and plot labels stay readable.
    await page.setViewportSize({ width: 420, height: 860 });
    for (const [name, url] of [['09-fleet-420', `${fx.url}/`], ['10-model-420', `${fx.url}/models/${fx.models.btcNew.id}`]] as const) {
      await page.goto(url);
      const width = await page.evaluate('document.documentElement.scrollWidth');
      expect([name, width]).toEqual([name, 420]);
      if (name === '10-model-420') {
        const sizes = await page.locator('#equity-plot svg text').evaluateAll((ts) => ts.map((t) => t.getBoundingClientRect().height));
        expect(Math.min(...sizes.filter((h) => h > 0))).toBeGreaterThanOrEqual(8);
      }
      await shot(name);
    }
    await page.setViewportSize({ width: 1280, height: 900 });

    // The Live panel (issue 19): feedback reported for the live model, a monitoring pass that
    // found its edge gone, the demotion — on the model page and the fleet page.
    const liveNow = (await fx.registry.liveModel('BTC/USDT'))!;
    const base = Date.parse('2026-07-16T00:00:00Z');
    await fx.registry.recordLiveFeedback(
      Array.from({ length: 24 }, (_, k) => ({
        kind: 'trade' as const,
        symbol: 'BTC/USDT',
        model_id: liveNow.modelId,
        side: 'long' as const,
        entry_ts: new Date(base + k * 1_800_000).toISOString(),
        exit_ts: new Date(base + k * 1_800_000 + 240_000).toISOString(),
        exit_reason: 'time',
        predicted_bps: 6 + (k % 4),
        net_bps: -30 + ((k * 7) % 13),
        gross_bps: -8,
        cost_bps: 23,
      })),
    );
    const { featureBins, monitorLiveModel } = await import('@engine/training');
    const trades = await fx.registry.liveTrades(liveNow.modelId);
    // Two inputs' training deciles and 800 live minutes, one input shifted: the drift table.
    const wave = (k: number) => Math.sin(k * 0.37) + Math.cos(k * 1.3);
    const bins = featureBins(['ret_1', 'vol_60'], [Float64Array.from({ length: 5000 }, (_, k) => wave(k)), Float64Array.from({ length: 5000 }, (_, k) => wave(k + 11))], Int32Array.from({ length: 5000 }, (_, k) => k), 1);
    const liveRows = Array.from({ length: 800 }, (_, k) => [wave(k) + 1.5, wave(k + 11)]);
    const report = monitorLiveModel({ mean_net_bps: 5, sharpe_per_trade: 0.2 }, trades, undefined, undefined, { bins, rows: liveRows });
    const at = '2026-07-16T12:00:00.000Z';
    await fx.registry.recordMonitoring({ modelId: liveNow.modelId, symbol: 'BTC/USDT', at, trades: trades.length, breach: report.breach!.rule, report });
    await fx.registry.demote('BTC/USDT', liveNow.modelId, { at, rule: report.breach!.rule, value: report.breach!.value, bound: report.breach!.bound, detail: report.breach!.detail }, { actor: 'monitor@test' });
    await page.goto(`${fx.url}/models/${liveNow.modelId}`);
    await expect(page.locator('#demoted').textContent()).resolves.toMatch(/Demoted 2026-07-16 12:00 UTC by live monitoring — live_edge: mean realised net/);
    await expect(page.locator('table.live-checks tr[data-rule="live_edge"] .badge.fail').count()).resolves.toBe(1);
    await expect(page.locator('table.live-buckets tbody tr').count()).resolves.toBe(4);
    await expect(page.locator('#live svg path.line').count()).resolves.toBe(1);
    await expect(page.locator('table.live-drift tbody tr').count()).resolves.toBe(2);
    await expect(page.locator('table.live-drift tbody tr').first().textContent()).resolves.toMatch(/ret_1.*drifted/);
    await page.locator('#live').screenshot({ path: path.join(SHOTS, '11-model-live.png') });
    await page.goto(`${fx.url}/symbols/BTC-USDT`);
    await expect(page.getByRole('heading', { name: 'Live model in use' }).isVisible()).resolves.toBe(true);
    await expect(page.locator('#demoted').isVisible()).resolves.toBe(true);
    await shot('12-symbol-live');
    await page.goto(`${fx.url}/`);
    await expect(page.locator('tr[data-symbol="BTC/USDT"] .badge.rejected').textContent()).resolves.toBe('demoted');

    // Our pages asked for nothing outside the dashboard; Bull Board's bundle asks only for its web font.
    expect(external.filter((u) => !u.startsWith('https://fonts.googleapis.com/'))).toEqual([]);
  });
});
