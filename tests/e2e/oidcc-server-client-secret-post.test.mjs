// oidcc-server-client-secret-post: the code flow with client_secret_post.
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants, assertIdTokenClaims, assertTokenError } from './lib/rp.mjs';

const h = setupServer();
const POST = [{ name: 'client_secret_post', auth: 'client_secret_post' }];

forVariants(h, 'oidcc-server-client-secret-post: code flow', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: 'openid profile' });
  assertIdTokenClaims(rp, r.claims, { user: USERS.single, nonce: r.authz.nonce });
  const ui = await rp.userinfo(r.tokens.access_token, USERS.single);
  assert.equal(ui.sub, USERS.single);
}, { variants: POST });

forVariants(h, 'oidcc-server-client-secret-post: a wrong secret in the body → invalid_client', async ({ rp, browser }) => {
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const s = await browser.signIn(a.url, { username: USERS.single, password: 'careid-demo' });
  const r = await rp.tokenRequest({ grant_type: 'authorization_code', code: s.code, redirect_uri: rp.client.redirectUri, code_verifier: a.verifier, client_id: rp.client.clientId, client_secret: `${rp.client.clientSecret}x` }, { auth: false });
  assertTokenError(r, 'invalid_client', 'client_secret_post with a wrong secret', { status: [400, 401] });
}, { variants: POST });
