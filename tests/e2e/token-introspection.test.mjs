// Token introspection (RFC 7662, {issuer}/introspect) for registered clients only: openid-client's
// tokenIntrospection for the happy paths with every client authentication method, raw requests
// for bad input. A client's own live token is active with what the grant says (scope, sub, sid,
// acr, auth_time…); anything else (unknown, revoked, expired, another client's) is exactly
// {"active": false}; an unregistered or unauthenticated caller gets 401 invalid_client.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { setupServer, USERS } from './lib/careid.mjs';
import { ALL_VARIANTS, forVariants, makeRp, postRaw, assertTokenError, parseChallenge, oauthError } from './lib/rp.mjs';
import { Browser } from './lib/browser.mjs';

const h = setupServer();
const BASIC = { name: 'client_secret_basic', auth: 'client_secret_basic' };
const POST = { name: 'client_secret_post', auth: 'client_secret_post' };
const PKJ = { name: 'private_key_jwt RS256', auth: 'private_key_jwt', keyAlg: 'RS256' };
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The endpoints as discovery advertises them (at CIS2's paths). */
function endpoints(rp) {
  assert.equal(rp.meta.revocation_endpoint, `${rp.issuer}/token/revoke`, 'discovery advertises revocation_endpoint');
  assert.equal(rp.meta.introspection_endpoint, `${rp.issuer}/introspect`, 'discovery advertises introspection_endpoint');
  return { revocation: rp.meta.revocation_endpoint, introspection: rp.meta.introspection_endpoint };
}

const introspect = (rp, token, hint) => oidc.tokenIntrospection(rp.config, token, hint ? { token_type_hint: hint } : undefined);
const revoke = (rp, token) => oidc.tokenRevocation(rp.config, token);

/** A raw POST to `url`, authenticated as the client's openid-client auth does (auth: false → none). */
async function clientPost(rp, url, params, { auth = true } = {}) {
  const body = params instanceof URLSearchParams ? params : new URLSearchParams(Object.entries(params));
  const hdrs = new Headers();
  if (auth) await rp.auth(rp.meta, { client_id: rp.client.clientId }, body, hdrs);
  hdrs.set('content-type', 'application/x-www-form-urlencoded');
  return postRaw(url, body.toString(), hdrs);
}
const introspectRaw = (rp, params, opts) => clientPost(rp, endpoints(rp).introspection, params, opts);

async function signedIn(rp, scope = 'openid profile email') {
  const r = await rp.codeFlow(new Browser(rp.server.url), { user: USERS.single, scope });
  assert.equal(typeof r.tokens.refresh_token, 'string', 'a refresh token is issued');
  return r;
}

/** Exactly {"active": false}: nothing about why, or whose (RFC 7662 §2.2). */
function assertInactive(r, what) {
  assert.equal(r.status, 200, `${what}: an inactive token is not an error (RFC 7662 §2.3): ${r.status} ${r.text}`);
  assert.deepEqual(r.json, { active: false }, `${what}: expected exactly {"active":false}, saw ${r.text}`);
  assert.equal(r.headers.get('cache-control'), 'no-store', `${what}: Cache-Control`);
}

forVariants(h, 'introspection: the client\'s own tokens are active, with what the grant says', async ({ rp }) => {
  const { tokens, claims } = await signedIn(rp);
  const before = Math.floor(Date.now() / 1000);
  const a = await introspect(rp, tokens.access_token, 'access_token');
  const show = JSON.stringify(a);
  assert.equal(a.active, true, show);
  assert.equal(a.token_type, 'Bearer', `token_type of an access token: ${show}`);
  assert.equal(a.scope, 'openid profile email', show);
  assert.equal(a.client_id, rp.client.clientId, show);
  assert.equal(a.sub, USERS.single, show);
  assert.equal(a.sub, claims.sub, 'the ID token\'s sub');
  assert.equal(a.iss, rp.issuer, show);
  assert.equal(a.aud, rp.client.clientId, show);
  assert.equal(a.sid, claims.sid, 'the ID token\'s sid');
  assert.equal(a.acr, claims.acr, 'the ID token\'s acr');
  assert.equal(a.auth_time, claims.auth_time, 'the ID token\'s auth_time');
  assert.ok(Number.isInteger(a.iat) && Math.abs(a.iat - before) < 60, `iat is now: ${show}`);
  assert.equal(a.exp - a.iat, 3600, `an access token lives an hour: ${show}`);
  assert.ok(!('nbf' in a) || a.nbf <= a.iat, show);

  // the hint is only a hint: a wrong one still finds the token
  const r = await introspect(rp, tokens.refresh_token, 'access_token');
  assert.equal(r.active, true, JSON.stringify(r));
  assert.equal(r.token_type, 'refresh_token', `token_type of a refresh token: ${JSON.stringify(r)}`);
  assert.equal(r.scope, 'openid profile email');
  assert.equal(r.exp - r.iat, 30 * 24 * 3600, `a refresh token lives 30 days: ${JSON.stringify(r)}`);

  // a refresh with a narrower scope: the new access token says so, the refresh token does not
  const n = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token, { scope: 'openid email' });
  assert.equal((await introspect(rp, n.access_token)).scope, 'openid email', 'the narrowed access token');
  assert.equal((await introspect(rp, n.refresh_token)).scope, 'openid profile email', 'the refresh token keeps the grant');
  assert.equal((await introspect(rp, tokens.refresh_token)).active, false, 'the rotated refresh token is used up');

  // revoked with openid-client (the same client authentication): inactive
  await revoke(rp, n.access_token);
  const gone = await introspectRaw(rp, { token: n.access_token });
  assertInactive(gone, `[${rp.name}] a revoked access token`);
  assert.equal((await introspect(rp, n.refresh_token)).active, true, 'revoking an access token leaves the refresh token');
}, { variants: ALL_VARIANTS });

h.test('introspection: another client\'s token is {"active": false}, and nothing more', async (t, server) => {
  const owner = await makeRp(server, BASIC);
  const { tokens } = await signedIn(owner);
  for (const v of [POST, PKJ]) {
    const other = await makeRp(server, v);
    for (const token of [tokens.access_token, tokens.refresh_token]) {
      assertInactive(await introspectRaw(other, { token }), `[${v.name}] another client's token`);
      assert.deepEqual(await introspect(other, token), { active: false }, `[${v.name}] through openid-client`);
    }
  }
  // and it is still active for its own client
  assert.equal((await introspect(owner, tokens.access_token)).active, true);
  // a client of another environment does not see this one's tokens either
  const intRp = await makeRp(server, BASIC, { env: 'int' });
  assertInactive(await introspectRaw(intRp, { token: tokens.access_token }), 'a token of mock introspected in int');
});

h.test('introspection: unknown, malformed, revoked and expired tokens are {"active": false}', async (t, server) => {
  const rp = await makeRp(server, POST);
  assertInactive(await introspectRaw(rp, { token: randomBytes(32).toString('base64url') }), 'an unknown token');
  assertInactive(await introspectRaw(rp, { token: 'y'.repeat(5000) }), 'a token far too long to be careid\'s');
  assertInactive(await introspectRaw(rp, { token: 'not a token \u00e9', token_type_hint: 'no_such_hint' }), 'garbage with an unknown hint');
  const { tokens, idToken } = await signedIn(rp);
  assertInactive(await introspectRaw(rp, { token: idToken }), 'an ID token (not a token careid tracks)');
  // expired: aged straight in the store
  await server.sql(`UPDATE tokens SET expires_at = 1 WHERE kind = 'access' AND client_id = '${rp.client.clientId.replace(/'/g, "''")}'`);
  assertInactive(await introspectRaw(rp, { token: tokens.access_token }), 'an expired access token');
  assert.equal((await introspect(rp, tokens.refresh_token)).active, true, 'its refresh token lives on');
  await revoke(rp, tokens.refresh_token);
  assertInactive(await introspectRaw(rp, { token: tokens.refresh_token }), 'a revoked refresh token');
});

h.test('introspection: unregistered, unauthenticated or wrongly authenticated callers get 401 invalid_client', async (t, server) => {
  const rp = await makeRp(server, BASIC);
  const url = endpoints(rp).introspection;
  const { tokens } = await signedIn(rp);
  const form = (o) => new URLSearchParams(o).toString();
  const ct = { 'content-type': 'application/x-www-form-urlencoded' };
  const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

  const cases = [
    ['no client authentication', await introspectRaw(rp, { token: tokens.access_token }, { auth: false })],
    ['only a client_id', await postRaw(url, form({ token: tokens.access_token, client_id: rp.client.clientId }), ct)],
    ['an unregistered client (client_secret_post)', await postRaw(url, form({ token: tokens.access_token, client_id: 'no-such-client.apps.test', client_secret: 'x' }), ct)],
    ['an unregistered client (Basic)', await postRaw(url, form({ token: tokens.access_token }), { ...ct, authorization: basic('no-such-client.apps.test', 'x') })],
    ['a wrong secret (Basic)', await postRaw(url, form({ token: tokens.access_token }), { ...ct, authorization: basic(rp.client.clientId, 'wrong-secret') })],
    ['a wrong secret (client_secret_post, for a client_secret_basic client)', await postRaw(url, form({ token: tokens.access_token, client_id: rp.client.clientId, client_secret: 'wrong-secret' }), ct)],
    ['the right secret by the wrong method', await postRaw(url, form({ token: tokens.access_token, client_id: rp.client.clientId, client_secret: rp.client.clientSecret }), ct)],
  ];
  // a private_key_jwt assertion from an unregistered client, and one signed by a key nobody registered
  const pkj = await makeRp(server, PKJ);
  const stranger = await jose.generateKeyPair('RS256');
  const assertion = (iss, key) => new jose.SignJWT({ jti: randomBytes(16).toString('hex') })
    .setProtectedHeader({ alg: 'RS256', kid: 'stranger' }).setIssuer(iss).setSubject(iss)
    .setAudience(pkj.meta.token_endpoint).setIssuedAt().setExpirationTime('2m').sign(key);
  for (const [what, iss] of [['an unregistered private_key_jwt client', 'no-such-client.apps.test'], ['an assertion signed by an unregistered key', pkj.client.clientId]]) {
    cases.push([what, await postRaw(url, form({ token: tokens.access_token, client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion(iss, stranger.privateKey) }), ct)]);
  }
  for (const [what, r] of cases) {
    assertTokenError(r, 'invalid_client', what, { status: 401 });
    assert.equal(r.json.active, undefined, `${what}: no introspection answer at all`);
  }
  for (const [what, r] of cases.filter(([w]) => /Basic/.test(w))) {
    assert.match(parseChallenge(r.headers.get('www-authenticate'))?.scheme || '', /^basic$/i, `${what}: WWW-Authenticate: Basic`);
  }
  assert.equal(cases.at(-2)[1].json.error_description, 'JWT is not valid', 'CIS2\'s answer to a bad assertion');
  // openid-client with a wrong secret sees the same
  const bad = new oidc.Configuration({ ...rp.meta, introspection_endpoint: url }, rp.client.clientId, {}, oidc.ClientSecretBasic('wrong-secret'));
  oidc.allowInsecureRequests(bad);
  await assert.rejects(oidc.tokenIntrospection(bad, tokens.access_token), (e) => e.status === 401 && oauthError(e) === 'invalid_client', 'openid-client: 401 with a Basic invalid_client challenge');
});

h.test('introspection: bad requests get the standard errors', async (t, server) => {
  const rp = await makeRp(server, POST);
  const url = endpoints(rp).introspection;
  const { tokens } = await signedIn(rp);
  assertTokenError(await introspectRaw(rp, {}), 'invalid_request', 'no token', { status: 400 });
  assertTokenError(await introspectRaw(rp, { token: '' }), 'invalid_request', 'an empty token', { status: 400 });
  assertTokenError(await introspectRaw(rp, new URLSearchParams([['token', tokens.access_token], ['token', tokens.refresh_token]])), 'invalid_request', 'token repeated', { status: 400 });
  const json = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: tokens.access_token, client_id: rp.client.clientId, client_secret: rp.client.clientSecret }) });
  assert.equal(json.status, 400, 'a JSON body');
  assert.equal((await json.json()).error, 'invalid_request');
  const get = await fetch(`${url}?token=${tokens.access_token}`);
  assert.equal(get.status, 405, 'GET');
  assert.equal(get.headers.get('allow'), 'POST');
  // an active answer is not cached either
  const ok = await introspectRaw(rp, { token: tokens.access_token });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.active, true);
  assert.equal(ok.headers.get('cache-control'), 'no-store');
  assert.match(ok.headers.get('content-type') || '', /^application\/json/);
});
