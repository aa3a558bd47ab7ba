// CIS2 role selection: scope selectedrole makes a multi-role user choose a role; the choice is
// selected_roleid in the ID token and userinfo, and nhsid_nrbac_roles / nhsid_user_orgs equal the
// directory (`careid user show`).
import assert from 'node:assert/strict';
import { setupServer, USERS, DEMO_PASSWORD, userShow } from './lib/careid.mjs';
import { forVariants, ALL_SCOPES } from './lib/rp.mjs';
import { assertRolesMatch, orgsOf, assertScopeClaims } from './lib/claims.mjs';
import { describePages, describeRes } from './lib/browser.mjs';

const h = setupServer();

forVariants(h, 'multi-role user: role page with 3 radios, second role selected', async ({ rp, browser, server }) => {
  const show = await userShow(server, USERS.multi);
  assert.equal(show.roles.length, 3, `demo user ${USERS.multi} has three roles: ${JSON.stringify(show.roles)}`);
  assert.equal(orgsOf(show.roles).length, 2, 'at two organisations');

  const a = await rp.authorizationUrl({ scope: ALL_SCOPES });
  const stop = await browser.signIn(a.url, { username: USERS.multi, password: DEMO_PASSWORD, stopAt: 'role' });
  assert.equal(stop.sawRole, 1, `expected the role page: ${describePages(stop.pages)} ${describeRes(stop.page)}`);
  const form = stop.page.form;
  const radios = form.radios.role;
  assert.equal(radios.length, 3, `three role radios: ${JSON.stringify(radios)}`);
  assert.deepEqual(radios.map((r) => r.value).sort(), show.roles.map((r) => r.person_roleid).sort(), 'radio values are the person_roleids');
  assert.ok(Object.keys(form.hidden).length > 0, 'the role form carries hidden inputs (transaction, CSRF)');
  for (const r of radios) {
    assert.ok(r.label && r.label.length > 0, `each radio has a label: ${JSON.stringify(r)}`);
    const role = show.roles.find((x) => x.person_roleid === r.value);
    const shown = `${r.label} ${r.hint || ''}`;
    assert.ok(shown.includes(role.org_name), `the label or its hint (aria-describedby) names the organisation ${role.org_name}: "${shown}"`);
  }

  const chosen = radios[1].value;
  const res = await browser.submit(form, { role: chosen });
  const { res: end } = await browser.follow(res);
  assert.ok(end.location?.startsWith(rp.client.redirectUri), `after choosing a role: redirect to the client: ${describeRes(end)}`);
  const tokens = await rp.exchange(end.location, { expectedState: a.state, expectedNonce: a.nonce, pkceCodeVerifier: a.verifier });
  const claims = tokens.claims();
  await rp.verifyIdToken(tokens.id_token, { accessToken: tokens.access_token });
  assert.equal(claims.sub, USERS.multi);
  assert.equal(claims.selected_roleid, chosen, 'ID token selected_roleid is the chosen role');

  const ui = await rp.userinfo(tokens.access_token, USERS.multi);
  const w = `[${rp.name}] userinfo`;
  assertScopeClaims(ui, ['profile', 'email', 'nhsperson', 'associatedorgs', 'nationalrbacaccess', 'selectedrole'], w);
  assert.equal(ui.selected_roleid, chosen, `${w} selected_roleid`);
  assertRolesMatch(ui.nhsid_nrbac_roles, show.roles, w);
  const orgs = [...ui.nhsid_user_orgs].sort((x, y) => x.org_code.localeCompare(y.org_code));
  assert.deepEqual(orgs, orgsOf(show.roles), `${w} nhsid_user_orgs are the user's two organisations`);
  const sel = ui.nhsid_nrbac_roles.find((r) => r.person_roleid === chosen);
  assert.ok(ui.nhsid_user_orgs.some((o) => o.org_code === sel.org_code), 'the selected role\'s organisation is among nhsid_user_orgs');
});

forVariants(h, 'single-role user with selectedrole: no role page, selected_roleid is the only role', async ({ rp, browser, server }) => {
  const show = await userShow(server, USERS.single);
  assert.equal(show.roles.length, 1);
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: ALL_SCOPES });
  assert.equal(r.signin.sawRole, 0, 'no role page for a single-role user');
  assert.equal(r.claims.selected_roleid, show.roles[0].person_roleid);
  const ui = await rp.userinfo(r.tokens.access_token, USERS.single);
  assert.equal(ui.selected_roleid, show.roles[0].person_roleid);
});

forVariants(h, 'multi-role user without selectedrole: no role page, no selected_roleid', async ({ rp, browser, server }) => {
  const r = await rp.codeFlow(browser, { user: USERS.multi, scope: 'openid profile nationalrbacaccess' });
  assert.equal(r.signin.sawRole, 0, 'role selection only with scope selectedrole');
  assert.equal(r.claims.selected_roleid, undefined);
  const ui = await rp.userinfo(r.tokens.access_token, USERS.multi);
  assert.equal(ui.selected_roleid, undefined);
  assertRolesMatch(ui.nhsid_nrbac_roles, (await userShow(server, USERS.multi)).roles, 'userinfo');
}, { variants: [{ name: 'client_secret_basic', auth: 'client_secret_basic' }] });

forVariants(h, 'role page refuses a role that is not the user\'s', async ({ rp, browser, server }) => {
  const other = (await userShow(server, USERS.single)).roles[0].person_roleid;
  const a = await rp.authorizationUrl({ scope: ALL_SCOPES });
  const stop = await browser.signIn(a.url, { username: USERS.multi, password: DEMO_PASSWORD, stopAt: 'role' });
  assert.equal(stop.sawRole, 1, describeRes(stop.page));
  const res = await browser.submit(stop.page.form, { role: other });
  const { res: end } = await browser.follow(res);
  assert.ok(!end.location || !new URL(end.location).searchParams.has('code'), `a foreign person_roleid must not yield a code: ${describeRes(end)}`);
  assert.ok(end.status === 400 || (end.status === 200 && end.kind === 'role'), `expected the role page again or a 400 page: ${describeRes(end)}`);
}, { variants: [{ name: 'client_secret_basic', auth: 'client_secret_basic' }] });
