// oidcc-ensure-request-without-nonce-succeeds-for-code-flow: nonce is optional for the code flow.
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants, assertIdTokenClaims } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-ensure-request-without-nonce-succeeds-for-code-flow', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, nonce: false });
  assert.ok(!new URL(r.authz.url).searchParams.has('nonce'), 'no nonce sent');
  assert.equal(r.claims.nonce, undefined, `no nonce claim when none was sent: ${JSON.stringify(r.claims)}`);
  assertIdTokenClaims(rp, r.claims, { user: USERS.single });
});
