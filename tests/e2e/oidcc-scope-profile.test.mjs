// oidcc-scope-profile: scope profile releases name, family_name, given_name, uid (and nothing
// of the other CIS2 scopes).
import assert from 'node:assert/strict';
import { setupServer, USERS, userShow } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';
import { assertScopeClaims, assertMatchesUserShow, SCOPE_CLAIMS } from './lib/claims.mjs';

const h = setupServer();

forVariants(h, 'oidcc-scope-profile: profile claims in userinfo', async ({ rp, browser, server }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: 'openid profile' });
  const ui = await rp.userinfo(r.tokens.access_token, r.claims.sub);
  assertScopeClaims(ui, ['profile'], `[${rp.name}] userinfo`);
  assert.equal(ui.uid, USERS.single, 'uid is the 12-digit UID');
  for (const c of SCOPE_CLAIMS.profile) assert.equal(typeof ui[c], 'string', `${c} is a string`);
  assertMatchesUserShow(ui, await userShow(server, USERS.single), SCOPE_CLAIMS.profile, `[${rp.name}] userinfo`);
});
