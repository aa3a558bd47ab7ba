// oidcc-ensure-request-with-valid-pkce-succeeds: S256 PKCE works; when a challenge was sent it
// is enforced (wrong verifier → invalid_grant; no verifier → refused).
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { setupServer, USERS, DEMO_PASSWORD } from './lib/careid.mjs';
import { forVariants, assertTokenError } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-ensure-request-with-valid-pkce-succeeds: S256', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, pkce: true });
  assert.equal(new URL(r.authz.url).searchParams.get('code_challenge_method'), 'S256');
  assert.equal(r.claims.sub, USERS.single);
});

forVariants(h, 'PKCE: wrong code_verifier → invalid_grant', async ({ rp, browser }) => {
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const s = await browser.signIn(a.url, { username: USERS.single, password: DEMO_PASSWORD });
  assert.ok(s.code);
  const r = await rp.tokenRequest({ grant_type: 'authorization_code', code: s.code, redirect_uri: rp.client.redirectUri, code_verifier: oidc.randomPKCECodeVerifier() });
  assertTokenError(r, 'invalid_grant', `[${rp.name}] PKCE mismatch`);
});

forVariants(h, 'PKCE: challenge sent, no code_verifier → refused', async ({ rp, browser }) => {
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const s = await browser.signIn(a.url, { username: USERS.single, password: DEMO_PASSWORD });
  const r = await rp.tokenRequest({ grant_type: 'authorization_code', code: s.code, redirect_uri: rp.client.redirectUri });
  assert.ok(['invalid_grant', 'invalid_request'].includes(r.json?.error), `missing code_verifier must be refused (invalid_grant or invalid_request): ${r.status} ${r.text}`);
});

forVariants(h, 'PKCE: without PKCE the confidential client still succeeds', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, pkce: false });
  assert.equal(r.claims.sub, USERS.single);
});

