// Token lifecycle under attack: a stolen code raced against the real client, a rotated refresh
// token replayed, scope narrowing on refresh, and an id_token_hint naming someone else.
import assert from 'node:assert/strict';
import { setupServer, USERS, DEMO_PASSWORD, runCli } from './lib/careid.mjs';
import { makeRp, userinfoRaw, assertTokenError } from './lib/rp.mjs';
import { Browser } from './lib/browser.mjs';

const h = setupServer();
const BASIC = { name: 'client_secret_basic', auth: 'client_secret_basic' };

async function signedIn(rp, scope = 'openid profile') {
  const browser = new Browser(h.server.url);
  const a = await rp.authorizationUrl({ scope });
  const s = await browser.signIn(a.url, { username: USERS.single, password: DEMO_PASSWORD });
  assert.ok(s.code, 'a code');
  return { a, s, browser };
}

const exchange = (rp, { a, s }) => rp.tokenRequest({
  grant_type: 'authorization_code', code: s.code, redirect_uri: rp.client.redirectUri, code_verifier: a.verifier,
});

h.test('a code raced by several requests: at most one wins, and a replay revokes what it got', async () => {
  const rp = await makeRp(h.server, BASIC);
  for (let round = 0; round < 8; round++) {
    const flow = await signedIn(rp);
    const answers = await Promise.all([0, 1, 2, 3].map(() => exchange(rp, flow)));
    const ok = answers.filter((r) => r.status === 200);
    assert.ok(ok.length <= 1, `round ${round}: ${ok.length} requests got tokens for one code`);
    for (const r of answers.filter((x) => x.status !== 200)) assertTokenError(r, 'invalid_grant', `round ${round}: the losers`);
    // the replays were seen, so whatever the winner got is revoked
    for (const r of ok) {
      const ui = await userinfoRaw(rp, r.json.access_token);
      assert.equal(ui.status, 401, `round ${round}: the access token of a replayed code must be revoked, userinfo said ${ui.status}`);
      const refreshed = await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: r.json.refresh_token });
      assertTokenError(refreshed, 'invalid_grant', `round ${round}: the refresh token of a replayed code is revoked`);
    }
  }
});

h.test('a rotated refresh token used again revokes the whole family', async () => {
  const rp = await makeRp(h.server, BASIC);
  const t0 = (await exchange(rp, await signedIn(rp))).json;
  const t1 = (await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: t0.refresh_token })).json;
  assert.ok(t1.refresh_token && t1.refresh_token !== t0.refresh_token, 'rotated on use');
  assert.equal((await userinfoRaw(rp, t1.access_token)).status, 200, 'the new access token works');
  // an attacker replays the old one
  assertTokenError(await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: t0.refresh_token }), 'invalid_grant', 'replayed refresh token');
  assert.equal((await userinfoRaw(rp, t1.access_token)).status, 401, 'the current access token is revoked too');
  assertTokenError(await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: t1.refresh_token }), 'invalid_grant', 'the current refresh token is revoked too');
});

h.test('refresh with a narrower scope narrows the access token, not the refresh token', async () => {
  const rp = await makeRp(h.server, BASIC);
  const t0 = (await exchange(rp, await signedIn(rp, 'openid profile email'))).json;
  const narrow = await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: t0.refresh_token, scope: 'openid email' });
  assert.equal(narrow.status, 200, narrow.text);
  assert.equal(narrow.json.scope, 'openid email');
  const ui = await userinfoRaw(rp, narrow.json.access_token);
  assert.equal(ui.json.email !== undefined && ui.json.name === undefined, true, `narrowed userinfo: ${ui.text}`);
  const wide = await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: narrow.json.refresh_token, scope: 'openid profile email' });
  assert.equal(wide.status, 200, `the refresh token kept the original scope: ${wide.text}`);
  assertTokenError(await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: wide.json.refresh_token, scope: 'openid phone_number_admin' }), 'invalid_scope', 'wider than granted');
  assertTokenError(await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: wide.json.refresh_token, scope: '' }), 'invalid_scope', 'empty scope');
});

h.test('id_token_hint naming another user: signing in as someone else does not give a code', async () => {
  const rp = await makeRp(h.server, BASIC);
  const first = await exchange(rp, await signedIn(rp));
  const hint = first.json.id_token;
  const a = await rp.authorizationUrl({ scope: 'openid', id_token_hint: hint });
  const browser = new Browser(h.server.url);
  const s = await browser.signIn(a.url, { username: USERS.multi, password: DEMO_PASSWORD });
  assert.equal(s.code, undefined, 'no code for a different person');
  assert.match(s.page?.body || '', new RegExp(`asked for user ${USERS.single}`), 'the page says who the service asked for');
});

h.test('overlapping issuers are refused at start', async () => {
  const base = h.server.url;
  const r = await runCli(['serve', '--listen', '127.0.0.1:0', '--db', `sqlite:${h.server.dir}/overlap.db`,
    '--issuer-dep', `${base}/openam/Healthcare`, '--issuer-live', `${base}/openam/Healthcare`], { timeoutMs: 30000 });
  assert.equal(r.code, 1, `exit 1: ${r.stderr}`);
  assert.match(r.stderr, /overlap/);
});
