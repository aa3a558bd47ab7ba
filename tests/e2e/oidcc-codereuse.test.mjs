// oidcc-codereuse: a code is single-use; replaying it fails with invalid_grant and revokes the
// access token issued for it.
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants, userinfoRaw, assertTokenError, assertInvalidToken } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-codereuse: replayed code → invalid_grant, access token revoked', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: 'openid profile' });
  const before = await userinfoRaw(rp, r.tokens.access_token);
  assert.equal(before.status, 200, `the access token works before the replay: ${before.status} ${before.text}`);
  const again = await rp.tokenRequest({ grant_type: 'authorization_code', code: r.signin.code, redirect_uri: rp.client.redirectUri, code_verifier: r.authz.verifier });
  assertTokenError(again, 'invalid_grant', `[${rp.name}] second use of a code`);
  assertInvalidToken(await userinfoRaw(rp, r.tokens.access_token), `[${rp.name}] access token of a replayed code`);
});
