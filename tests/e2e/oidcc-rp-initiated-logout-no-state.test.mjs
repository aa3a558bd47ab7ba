// oidcc-rp-initiated-logout-no-state: without state the redirect carries no state parameter.
import assert from 'node:assert/strict';
import { setupServer } from './lib/careid.mjs';
import { signedIn, endSession, POST_LOGOUT_URI } from './lib/logout.mjs';

const h = setupServer();

h.test('oidcc-rp-initiated-logout-no-state: redirect without state', async (t, server) => {
  const { rp, browser, idToken } = await signedIn(server);
  const res = await endSession(rp, browser, { id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT_URI });
  assert.equal(res.status, 303);
  assert.equal(res.location, POST_LOGOUT_URI, 'exactly the registered URI');
});
