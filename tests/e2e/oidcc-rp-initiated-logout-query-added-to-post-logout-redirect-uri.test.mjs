// oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri: a registered URI with a query
// keeps its query, and state is added to it.
import assert from 'node:assert/strict';
import { setupServer } from './lib/careid.mjs';
import { signedIn, endSession } from './lib/logout.mjs';

const h = setupServer();

h.test('oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri: query kept, state added', async (t, server) => {
  const uri = 'http://127.0.0.1:9/logged-out?tenant=a&x=1';
  const { rp, browser, idToken } = await signedIn(server, { postLogoutUris: [uri] });
  const res = await endSession(rp, browser, { id_token_hint: idToken, post_logout_redirect_uri: uri, state: 'q-st' });
  assert.equal(res.status, 303);
  const back = new URL(res.location);
  assert.equal(back.searchParams.get('tenant'), 'a');
  assert.equal(back.searchParams.get('x'), '1');
  assert.equal(back.searchParams.get('state'), 'q-st');
});
