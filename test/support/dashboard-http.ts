import { PASSWORD, USER, type DashboardFixture } from '../../packages/dashboard/test/support/dashboard-fixture';

/** HTTP helpers for the dashboard tests: a request without redirects, a signed-in cookie, a page's CSRF token. */
export interface Reply {
  status: number;
  location: string | null;
  setCookie: string | null;
  body: string;
}

export async function request(fx: DashboardFixture, method: string, path: string, opts: { cookie?: string; accept?: string; form?: Record<string, string>; origin?: string; json?: unknown } = {}): Promise<Reply> {
  const headers: Record<string, string> = { accept: opts.accept ?? 'text/html' };
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.origin) headers.origin = opts.origin;
  let body: string | undefined;
  if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  } else if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const r = await fetch(`${fx.url}${path}`, { method, headers, body, redirect: 'manual' });
  return { status: r.status, location: r.headers.get('location'), setCookie: r.headers.get('set-cookie'), body: await r.text() };
}

export async function login(fx: DashboardFixture): Promise<string> {
  const r = await request(fx, 'POST', '/login', { form: { user: USER, password: PASSWORD, next: '/' }, origin: fx.url });
  expect(r.status).toBe(303);
  return r.setCookie!.split(';')[0]!;
}

/** The CSRF token in a page's forms. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF token on the page');
  return m[1]!;
}

