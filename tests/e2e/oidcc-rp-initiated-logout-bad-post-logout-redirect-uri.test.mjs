// oidcc-rp-initiated-logout-bad-post-logout-redirect-uri: an unregistered post_logout_redirect_uri
// is refused with an error page — no redirect, and the session is not ended.
import assert from 'node:assert/strict';
import { setupServer } from './lib/careid.mjs';
import { signedIn, endSession, sessionAlive, assertRefused } from './lib/logout.mjs';

const h = setupServer();

h.test('oidcc-rp-initiated-logout-bad-post-logout-redirect-uri: refused, no redirect, still signed in', async (t, server) => {
  const { rp, browser, idToken } = await signedIn(server);
  for (const uri of ['http://127.0.0.1:9/elsewhere', 'http://127.0.0.1:9/logged-out?x=1', 'https://attacker.example/']) {
    const res = await endSession(rp, browser, { id_token_hint: idToken, post_logout_redirect_uri: uri, state: 's' });
    assertRefused(res, /not registered/, uri);
  }
  assert.ok(await sessionAlive(rp, browser), 'the session lives on');
});
