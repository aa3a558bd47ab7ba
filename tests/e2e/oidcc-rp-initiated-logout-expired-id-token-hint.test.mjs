// RP-initiated logout with an expired id_token_hint (careid runs with --id-token-ttl 2): still
// careid's own token, so not refused, but stale — the person confirms before being signed out,
// and the client named by the hint's audience may still get them back.
import assert from 'node:assert/strict';
import { setupServer, sleep } from './lib/careid.mjs';
import { signedIn, endSession, sessionAlive, assertConfirmPage, POST_LOGOUT_URI } from './lib/logout.mjs';

const h = setupServer({ extraArgs: ['--id-token-ttl', '2'] });

h.test('rp-initiated logout: an expired id_token_hint asks for confirmation', async (t, server) => {
  const { rp, browser, idToken, claims } = await signedIn(server);
  assert.ok(claims.exp - claims.iat <= 2, 'a short-lived ID token');
  await sleep((claims.exp + 1) * 1000 - Date.now());
  let res = await endSession(rp, browser, { id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'old' });
  const form = assertConfirmPage(res, 'an expired hint');
  assert.ok(await sessionAlive(rp, browser), 'not signed out before confirming');
  res = await browser.submit(form);
  assert.equal(res.status, 303);
  assert.equal(new URL(res.location).searchParams.get('state'), 'old');
  assert.equal(await sessionAlive(rp, browser), false);
});
