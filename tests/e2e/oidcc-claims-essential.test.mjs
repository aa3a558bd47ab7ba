// oidcc-claims-essential: a claims request marking name/email essential in userinfo succeeds
// (careid honours or ignores it) and the claims the scope grants are present.
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';

const h = setupServer();
const CLAIMS = JSON.stringify({ userinfo: { name: { essential: true }, email: { essential: true } } });

forVariants(h, 'oidcc-claims-essential: essential name and email with scope profile email', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: 'openid profile email', params: { claims: CLAIMS } });
  const ui = await rp.userinfo(r.tokens.access_token, r.claims.sub);
  assert.equal(typeof ui.name, 'string', `name: ${JSON.stringify(ui)}`);
  assert.equal(typeof ui.email, 'string', `email: ${JSON.stringify(ui)}`);
});

forVariants(h, 'oidcc-claims-essential: essential name with scope openid only still succeeds', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: 'openid', params: { claims: JSON.stringify({ userinfo: { name: { essential: true } } }) } });
  const ui = await rp.userinfo(r.tokens.access_token, r.claims.sub);
  assert.equal(ui.sub, USERS.single);
});
