// oidcc-codereuse-30seconds: replaying a code 30 seconds later still fails (invalid_grant) and
// revokes the access token. All variants wait the 30 s together.
import assert from 'node:assert/strict';
import { setupServer, USERS, sleep } from './lib/careid.mjs';
import { Browser } from './lib/browser.mjs';
import { makeRp, VARIANTS, userinfoRaw, assertTokenError, assertInvalidToken } from './lib/rp.mjs';

const h = setupServer();

h.test('oidcc-codereuse-30seconds: replay after 30 s → invalid_grant, access token revoked', { timeout: 120000 }, async (t, server) => {
  const runs = [];
  for (const v of VARIANTS) {
    const rp = await makeRp(server, v);
    const r = await rp.codeFlow(new Browser(server.url), { user: USERS.single });
    const ok = await userinfoRaw(rp, r.tokens.access_token);
    assert.equal(ok.status, 200, `[${rp.name}] access token works before the replay`);
    runs.push({ rp, r });
  }
  await sleep(30000);
  for (const { rp, r } of runs) {
    const again = await rp.tokenRequest({ grant_type: 'authorization_code', code: r.signin.code, redirect_uri: rp.client.redirectUri, code_verifier: r.authz.verifier });
    assertTokenError(again, 'invalid_grant', `[${rp.name}] code replayed after 30 s`);
    assertInvalidToken(await userinfoRaw(rp, r.tokens.access_token), `[${rp.name}] access token of a code replayed after 30 s`);
  }
});
