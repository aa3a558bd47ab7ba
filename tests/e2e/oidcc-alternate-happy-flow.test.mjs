// oidcc-alternate-happy-flow: a second user and other scopes in the same way.
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants, assertIdTokenClaims } from './lib/rp.mjs';
import { assertScopeClaims } from './lib/claims.mjs';

const h = setupServer();

forVariants(h, 'oidcc-alternate-happy-flow: another user, scopes email profile', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.clinical, scope: 'openid email profile' });
  assertIdTokenClaims(rp, r.claims, { user: USERS.clinical, nonce: r.authz.nonce });
  const ui = await rp.userinfo(r.tokens.access_token, USERS.clinical);
  assertScopeClaims(ui, ['email', 'profile'], `[${rp.name}] userinfo`);
  assert.equal(ui.uid, USERS.clinical);
});
