// oidcc-ensure-post-request-succeeds: the authorization request may be a POSTed form.
import assert from 'node:assert/strict';
import { setupServer, USERS, DEMO_PASSWORD } from './lib/careid.mjs';
import { forVariants, assertIdTokenClaims } from './lib/rp.mjs';
import { describePages, describeRes } from './lib/browser.mjs';

const h = setupServer();

forVariants(h, 'oidcc-ensure-post-request-succeeds: POST /authorize', async ({ rp, browser }) => {
  const a = await rp.authorizationUrl({ scope: 'openid profile' });
  const u = new URL(a.url);
  const form = [...u.searchParams.entries()];
  const r = await browser.signIn({ url: `${u.origin}${u.pathname}`, form }, { username: USERS.single, password: DEMO_PASSWORD });
  assert.ok(r.code, `POSTed authorization request should end with a code: ${describePages(r.pages)} ${describeRes(r.page)}`);
  assert.equal(r.state, a.state);
  const tokens = await rp.exchange(r.location, { expectedState: a.state, expectedNonce: a.nonce, pkceCodeVerifier: a.verifier });
  assertIdTokenClaims(rp, tokens.claims(), { user: USERS.single, nonce: a.nonce });
});
