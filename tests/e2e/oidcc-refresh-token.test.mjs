// oidcc-refresh-token: refresh_token grant returns new tokens; the new ID token has the same
// sub; the new access token works; a refresh token is bound to its client.
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants, makeRp, userinfoRaw, assertTokenError } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-refresh-token: refresh grant', async ({ rp, browser, server }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: 'openid profile' });
  assert.equal(typeof r.tokens.refresh_token, 'string', 'a refresh token is issued');
  const n = await rp.refresh(r.tokens.refresh_token);
  assert.equal(typeof n.access_token, 'string');
  assert.notEqual(n.access_token, r.tokens.access_token, 'a new access token');
  assert.ok(n.id_token, 'a new ID token on refresh');
  const c = n.claims();
  assert.equal(c.sub, r.claims.sub, 'same sub');
  assert.equal(c.iss, r.claims.iss);
  await rp.verifyIdToken(n.id_token, { accessToken: n.access_token });
  const ui = await userinfoRaw(rp, n.access_token);
  assert.equal(ui.status, 200, `new access token works at userinfo: ${ui.status} ${ui.text}`);
  assert.equal(ui.json.sub, USERS.single);

  // another client cannot use this refresh token
  const other = await makeRp(server, { name: 'client_secret_basic', auth: 'client_secret_basic' });
  const stolen = await other.tokenRequest({ grant_type: 'refresh_token', refresh_token: n.refresh_token || r.tokens.refresh_token });
  assertTokenError(stolen, 'invalid_grant', `[${rp.name}] refresh token used by another client`);
  // garbage refresh token
  assertTokenError(await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' }), 'invalid_grant', `[${rp.name}] unknown refresh token`);
});
