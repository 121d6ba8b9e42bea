import { html } from '../html';
import { layout } from './layout';

/** The login form. `error` is shown above it (wrong credentials, too many attempts). */
export function loginPage(opts: { next: string; error?: string; user?: string; queues: boolean }): string {
  const body = html`<form class="login" method="post" action="/login">
  <h1>Sign in</h1>
  <p class="muted small">Engine dashboard: the fleet's models and queues.</p>
  ${opts.error ? html`<div class="notice error" role="alert">${opts.error}</div>` : html``}
  <input type="hidden" name="next" value="${opts.next}">
  <label for="user">User</label>
  <input type="text" id="user" name="user" autocomplete="username" value="${opts.user ?? ''}" required autofocus>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password" required>
  <p><button class="action" type="submit">Sign in</button></p>
</form>`;
  return layout('Sign in', { user: null, csrf: null, readOnly: false, queues: opts.queues }, body);
}
