// oidcc-userinfo-get: userinfo answers GET with the access token in the Authorization header.
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants, userinfoRaw } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-userinfo-get: userinfo returns the claims of the scope', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: 'openid profile email' });
  const ui = await userinfoRaw(rp, r.tokens.access_token, 'get');
  assert.equal(ui.status, 200, `[${rp.name}] userinfo get: HTTP ${ui.status} ${ui.text.slice(0, 300)}`);
  assert.match(ui.headers.get('content-type') || '', /^application\/json/, 'JSON userinfo for a client without a signed-userinfo alg');
  assert.equal(ui.json.sub, r.claims.sub, 'userinfo sub equals the ID token sub');
  for (const k of ['name', 'family_name', 'given_name', 'uid', 'email']) assert.ok(ui.json[k] !== undefined, `claim ${k} expected: ${ui.text}`);
  // and through the client library
  const lib = await rp.userinfo(r.tokens.access_token, r.claims.sub);
  assert.deepEqual(lib, ui.json);
});
