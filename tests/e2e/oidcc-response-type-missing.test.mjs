// oidcc-response-type-missing: no response_type → error invalid_request, redirected to the
// (valid, registered) redirect_uri with state.
import assert from 'node:assert/strict';
import { setupServer } from './lib/careid.mjs';
import { forVariants, assertAuthzError } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-response-type-missing: invalid_request redirect', async ({ rp, browser }) => {
  const a = await rp.authorizationUrl({ scope: 'openid', response_type: null });
  assert.ok(!new URL(a.url).searchParams.has('response_type'), 'the request has no response_type');
  const r = await browser.signIn(a.url, {});
  assertAuthzError(r, 'invalid_request', a.state, `[${rp.name}] missing response_type`, rp.client.redirectUri);
  assert.equal(r.sawLogin, 0, 'the error is answered before any sign-in');
});
