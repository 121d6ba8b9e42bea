import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium, headless, without any background traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * A 1280 × 900 page that may load only from `baseUrl`: offline, as on an air-gapped ops
 * box. Anything else is refused and its URL pushed to `external` (tests expect it empty).
 */
export async function offlinePage(browser: Browser, baseUrl: string, external: string[]): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(baseUrl)) return route.continue();
    external.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return { context, page };
}
