// Client authentication beyond the conformance variants: private_key_jwt with keys fetched
// from a jwks_uri (PS256, ES256), and a client that uses a method other than its registered one.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { before, after } from 'node:test';
import { setupServer, registerClient, USERS, DEMO_PASSWORD } from './lib/careid.mjs';
import { rpForClient, makeRp, assertIdTokenClaims, postRaw, assertTokenError } from './lib/rp.mjs';
import { Browser } from './lib/browser.mjs';

const h = setupServer();

// The relying party's JWKS endpoint: a real HTTP server on loopback.
const published = { keys: [] };
let jwksServer;
let jwksUrl;
let jwksHits = 0;
before(async () => {
  jwksServer = createServer((req, res) => {
    jwksHits += 1;
    if (req.url !== '/jwks.json') { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(published));
  });
  await new Promise((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${jwksServer.address().port}/jwks.json`;
});
after(() => new Promise((resolve) => jwksServer.close(resolve)));

for (const keyAlg of ['PS256', 'ES256', 'RS384']) {
  h.test(`private_key_jwt ${keyAlg} with keys from a jwks_uri`, async () => {
    const client = await registerClient(h.server, { auth: 'private_key_jwt', keyAlg, jwksUri: jwksUrl });
    published.keys.push(client.publicJwk);
    const before = jwksHits;
    const rp = await rpForClient(h.server, client, { variant: { name: `private_key_jwt ${keyAlg} jwks_uri` } });
    const r = await rp.codeFlow(new Browser(h.server.url), { user: USERS.single });
    assertIdTokenClaims(rp, r.claims, { user: USERS.single, nonce: r.authz.nonce });
    assert.ok(jwksHits > before, 'careid fetched the client\'s jwks_uri');
  });
}

h.test('private_key_jwt: a key the jwks_uri does not publish is refused', async () => {
  const client = await registerClient(h.server, { auth: 'private_key_jwt', keyAlg: 'RS256', jwksUri: jwksUrl });
  // the key pair exists but was never published
  const rp = await rpForClient(h.server, client, { variant: { name: 'unpublished key' } });
  const browser = new Browser(h.server.url);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const s = await browser.signIn(a.url, { username: USERS.single, password: DEMO_PASSWORD });
  await assert.rejects(
    () => rp.exchange(s.location, { expectedState: a.state, pkceCodeVerifier: a.verifier, expectedNonce: a.nonce }),
    (e) => /invalid_client/.test(e.message) && /JWT is not valid/.test(e.message),
    'an assertion signed with an unpublished key answers invalid_client "JWT is not valid"',
  );
});

h.test('a client must use the authentication method it registered', async () => {
  const rp = await makeRp(h.server, { name: 'client_secret_basic', auth: 'client_secret_basic' });
  const browser = new Browser(h.server.url);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const s = await browser.signIn(a.url, { username: USERS.single, password: DEMO_PASSWORD });
  // the right secret, sent as client_secret_post
  const r = await postRaw(rp.meta.token_endpoint, new URLSearchParams({
    grant_type: 'authorization_code', code: s.code, redirect_uri: rp.client.redirectUri, code_verifier: a.verifier,
    client_id: rp.client.clientId, client_secret: rp.client.clientSecret,
  }).toString(), { 'content-type': 'application/x-www-form-urlencoded' });
  assertTokenError(r, 'invalid_client', 'client_secret_post by a client_secret_basic client', { status: 401 });
});

h.test('a jwks_uri is cached: a second token request does not fetch it again', async () => {
  const client = await registerClient(h.server, { auth: 'private_key_jwt', keyAlg: 'RS256', jwksUri: jwksUrl });
  published.keys.push(client.publicJwk);
  const rp = await rpForClient(h.server, client, { variant: { name: 'cached jwks_uri' } });
  await rp.codeFlow(new Browser(h.server.url), { user: USERS.single });
  const after1 = jwksHits;
  await rp.codeFlow(new Browser(h.server.url), { user: USERS.single });
  assert.equal(jwksHits, after1, 'the second exchange used the cached JWKS');
});
