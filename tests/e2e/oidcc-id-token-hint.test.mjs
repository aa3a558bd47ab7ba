// oidcc-id-token-hint: a second request with prompt=none and id_token_hint (the first ID token)
// succeeds for the same user.
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-id-token-hint: prompt=none with id_token_hint', async ({ rp, browser }) => {
  const first = await rp.codeFlow(browser, { user: USERS.single });
  const second = await rp.codeFlow(browser, { user: USERS.single, params: { prompt: 'none', id_token_hint: first.idToken }, expect: 'sso' });
  assert.equal(second.claims.sub, first.claims.sub, 'same subject as the hint');
});
