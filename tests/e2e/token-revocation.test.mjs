// Token revocation (RFC 7009, {issuer}/token/revoke): openid-client's tokenRevocation for the
// happy paths with every client authentication method, raw requests for bad input. A revoked
// access token stops working alone; a revoked refresh token takes its whole family (every token
// of the same grant) with it; another client's token is refused with 400 invalid_grant and keeps
// working; an unknown token answers 200. Every change is on the audit trail.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { setupServer, USERS, DEMO_PASSWORD } from './lib/careid.mjs';
import { ALL_VARIANTS, forVariants, makeRp, postRaw, userinfoRaw, assertInvalidToken, assertTokenError, parseChallenge } from './lib/rp.mjs';
import { Browser } from './lib/browser.mjs';

const h = setupServer();
const BASIC = { name: 'client_secret_basic', auth: 'client_secret_basic' };
const POST = { name: 'client_secret_post', auth: 'client_secret_post' };
const PKJ = { name: 'private_key_jwt RS256', auth: 'private_key_jwt', keyAlg: 'RS256' };

/** The endpoints as discovery advertises them (at CIS2's paths). */
function endpoints(rp) {
  assert.equal(rp.meta.revocation_endpoint, `${rp.issuer}/token/revoke`, 'discovery advertises revocation_endpoint');
  assert.equal(rp.meta.introspection_endpoint, `${rp.issuer}/introspect`, 'discovery advertises introspection_endpoint');
  return { revocation: rp.meta.revocation_endpoint, introspection: rp.meta.introspection_endpoint };
}

const revoke = (rp, token, hint) => oidc.tokenRevocation(rp.config, token, hint ? { token_type_hint: hint } : undefined);
const introspect = (rp, token) => oidc.tokenIntrospection(rp.config, token);

/** A raw POST to `url`, authenticated as the client's openid-client auth does (auth: false → none). */
async function clientPost(rp, url, params, { auth = true, headers = {} } = {}) {
  const body = new URLSearchParams(Object.entries(params));
  const hdrs = new Headers(headers);
  if (auth) await rp.auth(rp.meta, { client_id: rp.client.clientId }, body, hdrs);
  hdrs.set('content-type', 'application/x-www-form-urlencoded');
  return postRaw(url, body.toString(), hdrs);
}
const revokeRaw = (rp, params, opts) => clientPost(rp, endpoints(rp).revocation, params, opts);

/** Signed in through the pages and exchanged with openid-client: {tokens, claims}. */
async function signedIn(rp, scope = 'openid profile') {
  const r = await rp.codeFlow(new Browser(rp.server.url), { user: USERS.single, scope });
  assert.equal(typeof r.tokens.refresh_token, 'string', 'a refresh token is issued');
  return r;
}

/** Audit events (action, actor, subject, detail as JSON) with seq > `after`, oldest first. */
async function auditSince(server, after = 0) {
  const rows = await server.sql(`SELECT seq, actor, action, subject, detail FROM audit_events WHERE seq > ${Number(after)} ORDER BY seq`);
  return rows.map((e) => ({ ...e, detail: JSON.parse(e.detail) }));
}
const lastSeq = async (server) => Number((await server.sql('SELECT COALESCE(MAX(seq), 0) AS n FROM audit_events'))[0].n);

/** Ages every access token of a client past its expiry (straight in the store). */
async function expireAccessTokens(server, clientId) {
  await server.sql(`UPDATE tokens SET expires_at = 1 WHERE kind = 'access' AND client_id = '${clientId.replace(/'/g, "''")}'`);
}

async function assertActive(rp, token, active, what) {
  const r = await introspect(rp, token);
  assert.equal(r.active, active, `${what}: introspection should say active=${active}, saw ${JSON.stringify(r)}`);
}

forVariants(h, 'revocation: a revoked access token stops working, its refresh token does not', async ({ rp, server }) => {
  const { tokens } = await signedIn(rp);
  assert.equal((await userinfoRaw(rp, tokens.access_token)).status, 200, 'the access token works first');
  const mark = await lastSeq(server);
  await revoke(rp, tokens.access_token, 'access_token');
  assertInvalidToken(await userinfoRaw(rp, tokens.access_token), `[${rp.name}] a revoked access token at userinfo`);
  await assertActive(rp, tokens.access_token, false, `[${rp.name}] the revoked access token`);
  // RFC 7009 §2.1 lets the server keep the refresh token: careid does, so the grant lives on
  await assertActive(rp, tokens.refresh_token, true, `[${rp.name}] the refresh token of a revoked access token`);
  const n = await rp.refresh(tokens.refresh_token);
  assert.equal((await userinfoRaw(rp, n.access_token)).status, 200, `[${rp.name}] a refreshed access token works`);
  const events = (await auditSince(server, mark)).filter((e) => e.action === 'token.revoked');
  assert.equal(events.length, 1, `one token.revoked event: ${JSON.stringify(events)}`);
  assert.equal(events[0].actor, rp.client.clientId);
  assert.equal(events[0].subject, `user:${USERS.single}`);
  assert.deepEqual({ kind: events[0].detail.kind, client_id: events[0].detail.client_id, n: events[0].detail.tokens_revoked },
    { kind: 'access', client_id: rp.client.clientId, n: 1 });
}, { variants: ALL_VARIANTS });

forVariants(h, 'revocation: a revoked refresh token takes its family, the access tokens of the grant included', async ({ rp, server }) => {
  const { tokens: t0, claims } = await signedIn(rp);
  const t1 = await rp.refresh(t0.refresh_token); // rotation: t0's refresh token is used up
  assert.equal((await userinfoRaw(rp, t0.access_token)).status, 200, 'both access tokens work before');
  assert.equal((await userinfoRaw(rp, t1.access_token)).status, 200, 'both access tokens work before');
  const mark = await lastSeq(server);
  await revoke(rp, t1.refresh_token, 'refresh_token');
  const refreshed = await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: t1.refresh_token });
  assertTokenError(refreshed, 'invalid_grant', `[${rp.name}] refresh with a revoked refresh token`, { status: 400 });
  for (const [name, t] of [['the original access token', t0.access_token], ['the refreshed access token', t1.access_token]]) {
    assertInvalidToken(await userinfoRaw(rp, t), `[${rp.name}] ${name} after its refresh token was revoked`);
    await assertActive(rp, t, false, `[${rp.name}] ${name}`);
  }
  await assertActive(rp, t1.refresh_token, false, `[${rp.name}] the revoked refresh token`);
  const events = (await auditSince(server, mark)).filter((e) => e.action === 'token.revoked');
  assert.equal(events.length, 1, `one token.revoked event: ${JSON.stringify(events)}`);
  assert.equal(events[0].detail.kind, 'refresh');
  assert.equal(events[0].detail.sid, claims.sid, 'the event names the session of the grant');
  assert.equal(events[0].detail.tokens_revoked, 3, `t0's and t1's access tokens and t1's refresh token: ${JSON.stringify(events[0])}`);
}, { variants: ALL_VARIANTS });

h.test('revocation: a rotated refresh token presented for revocation still ends the grant', async (t, server) => {
  const rp = await makeRp(server, BASIC);
  const { tokens: t0 } = await signedIn(rp);
  const t1 = await rp.refresh(t0.refresh_token);
  await revoke(rp, t0.refresh_token); // the client asks for the old one: the grant goes all the same
  assertInvalidToken(await userinfoRaw(rp, t1.access_token), 'the current access token');
  assertTokenError(await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: t1.refresh_token }), 'invalid_grant', 'the current refresh token');
});

h.test('revocation: another client\'s token is refused with 400 invalid_grant and keeps working', async (t, server) => {
  const owner = await makeRp(server, BASIC);
  const { tokens } = await signedIn(owner);
  for (const v of [BASIC, PKJ]) {
    const other = await makeRp(server, v);
    const mark = await lastSeq(server);
    for (const [kind, token] of [['access', tokens.access_token], ['refresh', tokens.refresh_token]]) {
      for (const hint of [undefined, `${kind}_token`]) {
        const r = await revokeRaw(other, hint ? { token, token_type_hint: hint } : { token });
        assertTokenError(r, 'invalid_grant', `[${v.name}] revoking another client's ${kind} token`, { status: 400 });
        assert.equal(r.headers.get('cache-control'), 'no-store');
        // openid-client reports it as an error too
        await assert.rejects(revoke(other, token, hint), (e) => e.error === 'invalid_grant', `[${v.name}] openid-client sees the refusal`);
      }
    }
    const events = await auditSince(server, mark);
    assert.equal(events.filter((e) => e.action === 'token.revoked').length, 0, `nothing revoked: ${JSON.stringify(events)}`);
    const refused = events.filter((e) => e.action === 'token.revoke_refused');
    assert.equal(refused.length, 8, `each refusal is audited: ${JSON.stringify(events)}`);
    assert.ok(refused.every((e) => e.actor === other.client.clientId && e.detail.token_client_id === owner.client.clientId), JSON.stringify(refused[0]));
  }
  // still valid for its own client
  assert.equal((await userinfoRaw(owner, tokens.access_token)).status, 200, 'the access token still works');
  await assertActive(owner, tokens.access_token, true, 'the access token');
  const n = await owner.refresh(tokens.refresh_token);
  assert.equal(typeof n.access_token, 'string', 'the refresh token still works');
});

h.test('revocation: unknown, malformed, already revoked and expired tokens answer 200', async (t, server) => {
  const rp = await makeRp(server, POST);
  const ok = async (params, what) => {
    const r = await revokeRaw(rp, params);
    assert.equal(r.status, 200, `${what}: expected 200, saw ${r.status} ${r.text}`);
    assert.equal(r.headers.get('cache-control'), 'no-store', `${what}: Cache-Control`);
  };
  await ok({ token: randomBytes(32).toString('base64url') }, 'an unknown token');
  await ok({ token: 'x'.repeat(5000) }, 'a token far too long to be careid\'s');
  await ok({ token: 'not a token at all \u00e9' }, 'garbage');
  const { tokens, idToken } = await signedIn(rp);
  await ok({ token: idToken }, 'an ID token (not a token careid can revoke: unknown, not unsupported_token_type)');
  // an unknown or wrong hint is ignored: the search covers every kind (RFC 7009 §2.1, §2.2)
  await ok({ token: tokens.access_token, token_type_hint: 'refresh_token' }, 'an access token with the refresh_token hint');
  assertInvalidToken(await userinfoRaw(rp, tokens.access_token), 'revoked despite the wrong hint');
  await ok({ token: tokens.access_token }, 'the same access token again');
  await ok({ token: tokens.refresh_token, token_type_hint: 'id_token_or_something' }, 'an unknown hint');
  assertTokenError(await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }), 'invalid_grant', 'revoked despite the unknown hint');
  await ok({ token: tokens.refresh_token }, 'the same refresh token again');
  // an expired access token: nothing to revoke, the same answer
  const { tokens: old } = await signedIn(rp);
  await expireAccessTokens(server, rp.client.clientId);
  await ok({ token: old.access_token }, 'an expired access token');
  // another environment's token is unknown here
  const intRp = await makeRp(server, BASIC, { env: 'int' });
  const other = await revokeRaw(intRp, { token: randomBytes(32).toString('base64url') });
  assert.equal(other.status, 200, other.text);
});

h.test('revocation: bad requests get the standard errors', async (t, server) => {
  const rp = await makeRp(server, BASIC);
  const url = endpoints(rp).revocation;
  const { tokens } = await signedIn(rp);

  assertTokenError(await revokeRaw(rp, {}), 'invalid_request', 'no token', { status: 400 });
  assertTokenError(await revokeRaw(rp, { token: '' }), 'invalid_request', 'an empty token', { status: 400 });
  assertTokenError(await revokeRaw(rp, { token_type_hint: 'access_token' }), 'invalid_request', 'a hint and no token', { status: 400 });
  {
    const body = new URLSearchParams([['token', tokens.access_token], ['token', 'other']]);
    const hdrs = new Headers();
    await rp.auth(rp.meta, { client_id: rp.client.clientId }, body, hdrs);
    hdrs.set('content-type', 'application/x-www-form-urlencoded');
    assertTokenError(await postRaw(url, body.toString(), hdrs), 'invalid_request', 'token repeated', { status: 400 });
  }
  const json = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${rp.client.clientId}:${rp.client.clientSecret}`).toString('base64')}` }, body: JSON.stringify({ token: tokens.access_token }) });
  assert.equal(json.status, 400, 'a JSON body');
  assert.equal((await json.json()).error, 'invalid_request');
  const get = await fetch(`${url}?token=${tokens.access_token}`);
  assert.equal(get.status, 405, 'GET');
  assert.equal(get.headers.get('allow'), 'POST');

  // client authentication as at the token endpoint
  const none = await revokeRaw(rp, { token: tokens.access_token }, { auth: false });
  assertTokenError(none, 'invalid_client', 'no client authentication', { status: 401 });
  const wrong = await postRaw(url, new URLSearchParams({ token: tokens.access_token }).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: `Basic ${Buffer.from(`${rp.client.clientId}:wrong-secret`).toString('base64')}`,
  });
  assertTokenError(wrong, 'invalid_client', 'a wrong client secret (Basic)', { status: 401 });
  assert.match(parseChallenge(wrong.headers.get('www-authenticate'))?.scheme || '', /^basic$/i, 'WWW-Authenticate: Basic after a Basic attempt');
  const unknown = await postRaw(url, new URLSearchParams({ token: tokens.access_token, client_id: 'no-such-client.apps.test', client_secret: 'x' }).toString(),
    { 'content-type': 'application/x-www-form-urlencoded' });
  assertTokenError(unknown, 'invalid_client', 'an unregistered client', { status: 401 });
  // nothing was revoked by any of these
  assert.equal((await userinfoRaw(rp, tokens.access_token)).status, 200, 'the token survived every bad request');
});

h.test('audit trail: token.issued, token.refreshed and a replayed refresh token\'s token.family_revoked', async (t, server) => {
  const rp = await makeRp(server, PKJ);
  const mark = await lastSeq(server);
  const { tokens: t0, claims } = await signedIn(rp, 'openid profile email');
  const t1 = await rp.refresh(t0.refresh_token);
  // the rotated refresh token replayed: the whole family goes
  assertTokenError(await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: t0.refresh_token }), 'invalid_grant', 'replayed refresh token');
  assertInvalidToken(await userinfoRaw(rp, t1.access_token), 'the family is revoked');
  const events = (await auditSince(server, mark)).filter((e) => e.action.startsWith('token.'));
  assert.deepEqual(events.map((e) => e.action), ['token.issued', 'token.refreshed', 'token.family_revoked'], JSON.stringify(events, null, 1));
  const [issued, refreshed, family] = events;
  for (const e of [issued, refreshed]) {
    assert.equal(e.actor, rp.client.clientId);
    assert.equal(e.subject, `user:${USERS.single}`);
    assert.equal(e.detail.client_id, rp.client.clientId);
    assert.equal(e.detail.sid, claims.sid, 'the session of the sign-in');
    assert.equal(e.detail.env, 'mock');
  }
  assert.equal(issued.detail.grant_type, 'authorization_code');
  assert.equal(issued.detail.scope, 'openid profile email');
  assert.equal(refreshed.detail.grant_type, 'refresh_token');
  assert.equal(family.actor, 'system');
  assert.equal(family.subject, `user:${USERS.single}`);
  assert.deepEqual({ reason: family.detail.reason, client_id: family.detail.client_id, sid: family.detail.sid },
    { reason: 'refresh_token_replayed', client_id: rp.client.clientId, sid: claims.sid });
  assert.equal(family.detail.tokens_revoked, 3, `t0's access token, t1's access and refresh tokens: ${JSON.stringify(family)}`);
});

h.test('audit trail: a replayed code\'s token.family_revoked', async (t, server) => {
  const rp = await makeRp(server, BASIC);
  const browser = new Browser(server.url);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const s = await browser.signIn(a.url, { username: USERS.single, password: DEMO_PASSWORD });
  const params = { grant_type: 'authorization_code', code: s.code, redirect_uri: rp.client.redirectUri, code_verifier: a.verifier };
  const mark = await lastSeq(server);
  const first = await rp.tokenRequest(params);
  assert.equal(first.status, 200, first.text);
  assertTokenError(await rp.tokenRequest(params), 'invalid_grant', 'the code replayed');
  const events = (await auditSince(server, mark)).filter((e) => e.action.startsWith('token.'));
  assert.deepEqual(events.map((e) => e.action), ['token.issued', 'token.family_revoked'], JSON.stringify(events, null, 1));
  assert.equal(events[1].detail.reason, 'code_replayed');
  assert.equal(events[1].detail.tokens_revoked, 2, 'the access and refresh tokens the code gave');
  // a second replay revokes nothing more: no new event
  assertTokenError(await rp.tokenRequest(params), 'invalid_grant', 'the code replayed again');
  assert.equal((await auditSince(server, mark)).filter((e) => e.action === 'token.family_revoked').length, 1);
});
