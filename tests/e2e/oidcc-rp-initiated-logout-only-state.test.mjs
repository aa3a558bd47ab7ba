// oidcc-rp-initiated-logout-only-state: state without a post_logout_redirect_uri — nowhere to send
// it: the signed-out page, no redirect.
import assert from 'node:assert/strict';
import { setupServer } from './lib/careid.mjs';
import { signedIn, endSession, sessionAlive, assertSignedOutPage } from './lib/logout.mjs';

const h = setupServer();

h.test('oidcc-rp-initiated-logout-only-state: no redirect', async (t, server) => {
  const { rp, browser, idToken } = await signedIn(server);
  const res = await endSession(rp, browser, { id_token_hint: idToken, state: 'only-state' });
  assertSignedOutPage(res, 'state only');
  assert.equal(await sessionAlive(rp, browser), false);
});
