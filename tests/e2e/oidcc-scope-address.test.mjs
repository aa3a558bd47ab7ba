// oidcc-scope-address: careid has no address claims; the unknown scope is ignored, the request succeeds.
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';
import { assertScopeClaims } from './lib/claims.mjs';

const h = setupServer();

forVariants(h, 'oidcc-scope-address: scope address is ignored, no address claim', async ({ t, rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: 'openid address' });
  assert.equal(r.claims.address, undefined, 'no address in the ID token');
  const ui = await rp.userinfo(r.tokens.access_token, r.claims.sub);
  assertScopeClaims(ui, [], `[${rp.name}] userinfo`);
  if (r.tokens.scope?.split(' ').includes('address')) t.diagnostic(`note: the token response's granted scope lists the ignored scope: ${r.tokens.scope}`);
});
