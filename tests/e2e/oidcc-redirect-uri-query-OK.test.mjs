// oidcc-redirect-uri-query-OK: a registered redirect URI with a query works; the query is kept
// and code/state are added to it.
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { setupServer, USERS, DEMO_PASSWORD } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';
import { describePages } from './lib/browser.mjs';

const h = setupServer();
const URI = 'http://127.0.0.1:9/cb?foo=bar';

forVariants(h, 'oidcc-redirect-uri-query-OK', async ({ rp, browser }) => {
  const a = await rp.authorizationUrl({ scope: 'openid', redirect_uri: URI });
  const s = await browser.signIn(a.url, { username: USERS.single, password: DEMO_PASSWORD });
  assert.ok(s.code, `expected a code: ${describePages(s.pages)}`);
  assert.equal(s.url.searchParams.get('foo'), 'bar', `the registered query is kept: ${s.location}`);
  assert.equal(s.url.searchParams.getAll('foo').length, 1, 'foo appears once');
  assert.equal(`${s.url.origin}${s.url.pathname}`, 'http://127.0.0.1:9/cb');
  assert.equal(s.state, a.state);
  // openid-client strips the query of the callback URL, so the exchange is done by hand
  // with the exact registered redirect_uri
  const t = await rp.tokenRequest({ grant_type: 'authorization_code', code: s.code, redirect_uri: URI, code_verifier: a.verifier });
  assert.equal(t.status, 200, `token exchange with redirect_uri=${URI}: ${t.status} ${t.text}`);
  const { payload } = await jose.jwtVerify(t.json.id_token, rp.jwks, { issuer: rp.issuer, audience: rp.client.clientId, algorithms: ['RS256'] });
  assert.equal(payload.sub, USERS.single);
  assert.equal(payload.nonce, a.nonce);
}, { reg: { redirectUris: [URI] } });
