// oidcc-rp-initiated-logout-no-params: no parameters at all — careid asks the person; confirming
// ends the session and shows the signed-out page.
import assert from 'node:assert/strict';
import { setupServer } from './lib/careid.mjs';
import { signedIn, endSession, sessionAlive, assertConfirmPage, assertSignedOutPage } from './lib/logout.mjs';

const h = setupServer();

h.test('oidcc-rp-initiated-logout-no-params: confirm, then the signed-out page', async (t, server) => {
  const { rp, browser } = await signedIn(server);
  let res = await endSession(rp, browser, {});
  res = await browser.submit(assertConfirmPage(res, 'no params'));
  assertSignedOutPage(res, 'after confirming');
  assert.equal(await sessionAlive(rp, browser), false);
  // and without a session: nothing to confirm
  res = await endSession(rp, browser, {});
  assertSignedOutPage(res, 'nobody signed in');
});
