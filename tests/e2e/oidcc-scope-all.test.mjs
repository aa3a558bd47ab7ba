// oidcc-scope-all: every CIS2 scope at once (plus address and phone, ignored): every claim of
// every scope is released; a single-role user gets no role page with selectedrole.
import assert from 'node:assert/strict';
import { setupServer, USERS, userShow } from './lib/careid.mjs';
import { forVariants, ALL_SCOPES } from './lib/rp.mjs';
import { assertScopeClaims, assertMatchesUserShow, assertRolesMatch, orgsOf, ALL_SCOPE_CLAIMS } from './lib/claims.mjs';

const h = setupServer();

forVariants(h, 'oidcc-scope-all: all CIS2 scopes', async ({ rp, browser, server }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: `${ALL_SCOPES} address phone` });
  assert.equal(r.signin.sawRole, 0, 'a single-role user gets no role page');
  const ui = await rp.userinfo(r.tokens.access_token, r.claims.sub);
  const w = `[${rp.name}] userinfo`;
  const show = await userShow(server, USERS.single);
  assertScopeClaims(ui, ['profile', 'email', 'nhsperson', 'associatedorgs', 'nationalrbacaccess', 'selectedrole'], w, show);
  assertMatchesUserShow(ui, show, ALL_SCOPE_CLAIMS.filter((c) => !['nhsid_nrbac_roles', 'nhsid_user_orgs', 'selected_roleid'].includes(c)), w);
  assert.equal(ui.nhsid_useruid, USERS.single, 'nhsid_useruid is the UID');
  assertRolesMatch(ui.nhsid_nrbac_roles, show.roles, w);
  assert.deepEqual([...ui.nhsid_user_orgs].sort((a, b) => a.org_code.localeCompare(b.org_code)), orgsOf(show.roles), `${w}: nhsid_user_orgs`);
  assert.equal(show.roles.length, 1, 'demo user 656005750108 has one role');
  assert.equal(ui.selected_roleid, show.roles[0].person_roleid, `${w}: selected_roleid is the only role`);
  assert.equal(r.claims.selected_roleid, show.roles[0].person_roleid, 'ID token selected_roleid is the only role');
});
