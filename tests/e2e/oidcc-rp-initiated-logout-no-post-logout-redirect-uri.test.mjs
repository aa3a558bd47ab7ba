// oidcc-rp-initiated-logout-no-post-logout-redirect-uri: a current hint alone signs out at once
// and shows careid's signed-out page.
import assert from 'node:assert/strict';
import { setupServer } from './lib/careid.mjs';
import { signedIn, endSession, sessionAlive, assertSignedOutPage } from './lib/logout.mjs';

const h = setupServer();

h.test('oidcc-rp-initiated-logout-no-post-logout-redirect-uri: the signed-out page', async (t, server) => {
  const { rp, browser, idToken } = await signedIn(server);
  const res = await endSession(rp, browser, { id_token_hint: idToken, state: 'ignored' });
  assertSignedOutPage(res, 'hint only');
  assert.equal(await sessionAlive(rp, browser), false);
});
