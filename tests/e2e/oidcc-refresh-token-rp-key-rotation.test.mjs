// oidcc-refresh-token-rp-key-rotation: a private_key_jwt client whose keys careid fetches from
// its jwks_uri gets a refresh token, then rotates ITS key (a new RS256 key with a new kid
// replaces the old one in its jwks_uri) and refreshes with a client assertion signed by the new
// key: careid must refetch the jwks_uri for the unknown kid and accept it.
//
// careid refetches a client's jwks_uri early at most once per 10 s (src/oidc/jwks_cache.c
// JWKS_REFETCH_MIN), so that junk assertions cannot make it hammer the client. The conformance
// module waits 60 s before the refresh for the same kind of limit; this test waits until 11 s
// have passed since careid's last fetch of the jwks_uri as the RP's server saw it (careid stamps
// a fetch before sending it, so the window is certainly over), rather than any fixed guess.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { before, after } from 'node:test';
import { generateKeyPair, exportJWK } from 'jose';
import * as jose from 'jose';
import { setupServer, registerClient, USERS, sleep } from './lib/careid.mjs';
import { rpForClient, userinfoRaw, assertTokenError } from './lib/rp.mjs';
import { Browser } from './lib/browser.mjs';

const h = setupServer();

/** careid's throttle on early refetches of a jwks_uri, in ms, plus a second of margin. */
const REFETCH_WAIT_MS = 10000 + 1000;

// The RP's jwks_uri: a real HTTP server on loopback that records when careid fetched it.
const published = { keys: [] };
const fetches = [];
let jwksServer;
let jwksUrl;
before(async () => {
  jwksServer = createServer((req, res) => {
    if (req.url !== '/jwks.json') { res.writeHead(404).end(); return; }
    fetches.push(Date.now());
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(published));
  });
  await new Promise((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${jwksServer.address().port}/jwks.json`;
});
after(() => new Promise((resolve) => jwksServer.close(resolve)));

/** A fresh RS256 key pair with a new kid (the module's GenerateRS256ClientJWKsWithKeyID). */
async function newRpKey(n) {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
  const kid = `rp-key-${n}-${Date.now()}`;
  return { privateKey, kid, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

h.test('oidcc-refresh-token-rp-key-rotation: a refresh signed with the RP\'s rotated key is accepted', async (t, server) => {
  const client = await registerClient(server, { auth: 'private_key_jwt', keyAlg: 'RS256', jwksUri: jwksUrl });
  published.keys = [client.publicJwk];
  const rp = await rpForClient(server, client, { variant: { name: 'private_key_jwt RS256 jwks_uri' } });
  const r = await rp.codeFlow(new Browser(server.url), { user: USERS.single });
  assert.equal(typeof r.tokens.refresh_token, 'string', 'a refresh token is issued');
  assert.ok(fetches.length >= 1, 'careid fetched the jwks_uri for the code exchange');

  // "Cycling keys in RP jwks_uri": the new key replaces the old one
  const key = await newRpKey(2);
  published.keys = [key.publicJwk];
  const rotated = await rpForClient(server, { ...client, privateKey: key.privateKey, kid: key.kid, publicJwk: key.publicJwk },
    { variant: { name: 'private_key_jwt RS256 rotated key' } });

  const wait = fetches[fetches.length - 1] + REFETCH_WAIT_MS - Date.now();
  if (wait > 0) await sleep(wait);
  const seen = fetches.length;
  const n = await rotated.refresh(r.tokens.refresh_token);
  assert.equal(fetches.length, seen + 1, 'careid refetched the jwks_uri for the unknown kid');
  assert.ok(n.id_token, 'a new ID token on refresh');
  assert.equal(n.claims().sub, r.claims.sub, 'same sub');
  await rotated.verifyIdToken(n.id_token, { accessToken: n.access_token });
  // requestProtectedResource
  const ui = await userinfoRaw(rotated, n.access_token);
  assert.equal(ui.status, 200, `the refreshed access token works at userinfo: ${ui.status} ${ui.text}`);
  assert.equal(ui.json.sub, USERS.single);

  // the old key is gone from the jwks_uri: careid, holding the new JWKS, refuses it now
  const stale = await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: n.refresh_token });
  assertTokenError(stale, 'invalid_client', 'a refresh signed with the key the RP rotated out', { status: 401 });
  // and the new key keeps working without another fetch
  const again = await rotated.refresh(n.refresh_token);
  assert.ok(again.access_token);
  assert.equal(fetches.length, seen + 1, 'no fetch for a known kid');
});

h.test('rp key rotation: within the refetch window an unknown kid is refused, not fetched', async (t, server) => {
  // the other side of the throttle, which the test above waits out: a key the RP publishes
  // just after careid fetched its jwks_uri is not fetched for at once
  const client = await registerClient(server, { auth: 'private_key_jwt', keyAlg: 'RS256', jwksUri: jwksUrl });
  published.keys = [client.publicJwk];
  const rp = await rpForClient(server, client, { variant: { name: 'private_key_jwt RS256 jwks_uri' } });
  const r = await rp.codeFlow(new Browser(server.url), { user: USERS.single });
  const fetchedAt = fetches[fetches.length - 1];
  const key = await newRpKey(3);
  published.keys = [key.publicJwk];
  const rotated = await rpForClient(server, { ...client, privateKey: key.privateKey, kid: key.kid, publicJwk: key.publicJwk },
    { variant: { name: 'private_key_jwt RS256 rotated key' } });
  const seen = fetches.length;
  const early = await rotated.tokenRequest({ grant_type: 'refresh_token', refresh_token: r.tokens.refresh_token });
  if (Date.now() - fetchedAt < 9000) { // (always, unless this machine stalled for 9 s)
    assertTokenError(early, 'invalid_client', 'an unknown kid within 10 s of the last fetch', { status: 401 });
    assert.equal(fetches.length, seen, 'no fetch within the window');
  }
  // the refresh token was not spent by the refused attempt
  const wait = fetchedAt + REFETCH_WAIT_MS - Date.now();
  if (wait > 0) await sleep(wait);
  const n = await rotated.refresh(r.tokens.refresh_token);
  assert.ok(n.access_token);
  assert.equal(jose.decodeProtectedHeader(n.id_token).alg, 'RS256');
});
