// oidcc-scope-phone: careid has no phone claims; the unknown scope is ignored, the request succeeds.
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';
import { assertScopeClaims } from './lib/claims.mjs';

const h = setupServer();

forVariants(h, 'oidcc-scope-phone: scope phone is ignored, no phone_number claim', async ({ t, rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: 'openid phone' });
  assert.equal(r.claims.phone_number, undefined, 'no phone_number in the ID token');
  const ui = await rp.userinfo(r.tokens.access_token, r.claims.sub);
  assertScopeClaims(ui, [], `[${rp.name}] userinfo`);
  if (r.tokens.scope?.split(' ').includes('phone')) t.diagnostic(`note: the token response's granted scope lists the ignored scope: ${r.tokens.scope}`);
});
