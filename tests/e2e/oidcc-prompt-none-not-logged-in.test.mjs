// oidcc-prompt-none-not-logged-in: prompt=none without a session → error=login_required at the
// redirect_uri, state echoed, no page shown.
import assert from 'node:assert/strict';
import { setupServer } from './lib/careid.mjs';
import { forVariants, assertAuthzError } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-prompt-none-not-logged-in: login_required', async ({ rp, browser }) => {
  const a = await rp.authorizationUrl({ scope: 'openid', prompt: 'none' });
  const r = await browser.signIn(a.url, {});
  assertAuthzError(r, 'login_required', a.state, `[${rp.name}] prompt=none without a session`, rp.client.redirectUri);
  assert.equal(r.sawLogin, 0, 'prompt=none must never show the sign-in form');
});
