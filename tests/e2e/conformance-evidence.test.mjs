// Conformance evidence (docs/conformance-evidence.md): the audit events the onboarding service's
// technical-conformance checklist reads, written by careid itself while a real openid-client
// relying party works against `careid serve`. The flows run in mock, where a password alone signs
// in (INT needs an authenticator app, a security key or a smartcard, which other tests drive; the
// events are written the same way in every environment). Each test drives one conformance flow and
// reads audit_events with SQL (server.sql, either store backend), asserting the exact detail:
//   - signin.succeeded with prompt=login, and with max_age (a re-authentication), and the session
//     (sid) that the token.issued of the code names;
//   - token.issued with auth_method, for client_secret_basic and private_key_jwt;
//   - userinfo.served once per access token (two calls: one event);
//   - role.selected: chosen=user on the role page, only_role for a single-role person, with the sid;
//   - session.ended of RP-initiated logout with the client_id that asked; the person who confirmed
//     on careid's page is its actor, whatever hint the request carried;
//   - `careid client logout-test`: logout.test_requested, then one logout.test per test token,
//     against a validating receiver (lib/logout-rp.mjs: 200 to the valid token, 400 to the
//     invalid one) and against a naive one answering 200 to anything (the invalid token is
//     "accepted": what the checklist flags), and each error with its exact message.
import assert from 'node:assert/strict';
import http from 'node:http';
import { before, after } from 'node:test';
import * as jose from 'jose';
import { setupServer, USERS, DEMO_PASSWORD, describeCli, sleep, userShow } from './lib/careid.mjs';
import { Browser, describeRes } from './lib/browser.mjs';
import { makeRp, ALL_SCOPES, userinfoRaw } from './lib/rp.mjs';
import { endSession, sessionAlive, assertConfirmPage, POST_LOGOUT_URI } from './lib/logout.mjs';
import { startLogoutRp, quietFor } from './lib/logout-rp.mjs';

const ENV = 'mock';
const BASIC = { name: 'client_secret_basic', auth: 'client_secret_basic' };
const PKJWT = { name: 'private_key_jwt RS256', auth: 'private_key_jwt', keyAlg: 'RS256' };

const h = setupServer();
let lrp; // the validating back-channel receiver
let naive; // a receiver that answers 200 to anything: {url, received}
before(async () => {
  lrp = await startLogoutRp();
  const received = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ at: Date.now(), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'cache-control': 'no-store' }).end();
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  naive = { srv, received, url: `http://127.0.0.1:${srv.address().port}/logout` };
});
after(async () => {
  await lrp?.close();
  naive?.srv.closeAllConnections?.();
  await new Promise((r) => (naive ? naive.srv.close(() => r()) : r()));
});

/** Rows of the store (server.sql: careid keeps writing while it is read). */
const query = (server, sql) => server.sql(sql);
const q = (s) => `'${String(s).replace(/'/g, "''")}'`;

/** The newest audit seq: events after it are this step's. */
async function mark(server) {
  return (await query(server, 'SELECT COALESCE(MAX(seq), 0) AS seq FROM audit_events'))[0].seq;
}

/** Audit events `action` after seq `since` (detail parsed), oldest first. */
async function events(server, action, since = 0) {
  return (await query(server, `SELECT seq, at, actor, action, subject, detail FROM audit_events WHERE action = ${q(action)} AND seq > ${since} ORDER BY seq`))
    .map((r) => ({ ...r, detail: JSON.parse(r.detail) }));
}

/** Exactly one event `action` after `since`; returns it. */
async function one(server, action, since, what) {
  const got = await events(server, action, since);
  assert.equal(got.length, 1, `${what}: exactly one ${action} event, saw ${JSON.stringify(got, null, 1)}`);
  const [e] = got;
  assert.equal(typeof e.at, 'number');
  assert.ok(Math.abs(e.at - Date.now() / 1000) < 60, `${what}: at is a Unix time of now: ${e.at}`);
  return e;
}

/** Waits until `count` events `action` after `since` exist (delivered by the outbox). */
async function waitForEvents(server, action, since, count, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await events(server, action, since);
    if (got.length >= count) return got;
    if (Date.now() > deadline) throw new Error(`${count} ${action} event(s) expected within ${timeoutMs} ms, saw ${JSON.stringify(got)}`);
    await sleep(100);
  }
}

h.test('signin.succeeded: prompt=login and max_age of the request that asked for the sign-in', async (t, server) => {
  const rp = await makeRp(server, BASIC, { env: ENV });
  const browser = new Browser(server.url);
  const base = { env: ENV, method: 'password', client_id: rp.client.clientId, address: '127.0.0.1', reason: null };

  let since = await mark(server);
  const first = await rp.codeFlow(browser, { user: USERS.single, expect: 'login' });
  let e = await one(server, 'signin.succeeded', since, 'a first sign-in');
  const sid = first.claims.sid;
  assert.deepEqual(e.detail, { ...base, sid }, 'neither prompt nor max_age when the request gave none; the session');
  assert.equal(e.actor, USERS.single);
  assert.equal(e.subject, `user:${USERS.single}`);
  // the session the code's exchange names: what the checklist pairs them by
  const issued = await one(server, 'token.issued', since, 'the first exchange');
  assert.equal(issued.detail.sid, sid);
  assert.ok(issued.seq > e.seq, 'the exchange follows the sign-in');

  // a re-authentication in the same browser steps the session up: the same sid
  since = await mark(server);
  await rp.codeFlow(browser, { user: USERS.single, params: { prompt: 'login' }, expect: 'login' });
  e = await one(server, 'signin.succeeded', since, 'prompt=login');
  assert.deepEqual(e.detail, { ...base, sid, prompt: 'login' });

  since = await mark(server);
  await rp.codeFlow(browser, { user: USERS.single, params: { max_age: '0' }, maxAge: 0, expect: 'login' });
  e = await one(server, 'signin.succeeded', since, 'max_age=0');
  assert.deepEqual(e.detail, { ...base, sid, max_age: 0 }, 'max_age is an integer');

  // an SSO answer is no sign-in: nothing recorded
  since = await mark(server);
  await rp.codeFlow(browser, { user: USERS.single, params: { max_age: '3600' }, maxAge: 3600, expect: 'sso' });
  assert.deepEqual(await events(server, 'signin.succeeded', since), []);

  // a fresh browser with max_age signs in: recorded with it
  since = await mark(server);
  const fresh = await rp.codeFlow(new Browser(server.url), { user: USERS.single, params: { max_age: '600', prompt: 'login consent' }, maxAge: 600, expect: 'login' });
  e = await one(server, 'signin.succeeded', since, 'max_age=600 prompt="login consent"');
  assert.notEqual(fresh.claims.sid, sid, 'a new session');
  assert.deepEqual(e.detail, { ...base, sid: fresh.claims.sid, prompt: 'login consent', max_age: 600 });

  // a failed attempt is unchanged
  since = await mark(server);
  const a = await rp.authorizationUrl({ prompt: 'login' });
  await new Browser(server.url).signIn(a.url, { username: USERS.single, password: 'wrong password' });
  const failed = await events(server, 'signin.failed', since);
  assert.equal(failed.length, 1, JSON.stringify(failed));
  assert.equal(failed[0].detail.prompt, undefined, 'prompt only on signin.succeeded');
  assert.equal(failed[0].detail.sid, undefined, 'no session for a failed attempt');
});

for (const variant of [BASIC, PKJWT]) {
  h.test(`token.issued: auth_method is how the client authenticated [${variant.name}]`, async (t, server) => {
    const rp = await makeRp(server, variant, { env: ENV });
    const since = await mark(server);
    const flow = await rp.codeFlow(new Browser(server.url), { user: USERS.single, scope: 'openid profile' });
    const e = await one(server, 'token.issued', since, variant.name);
    assert.equal(e.actor, rp.client.clientId);
    assert.equal(e.subject, `user:${USERS.single}`);
    assert.deepEqual(e.detail, {
      env: ENV, grant_type: 'authorization_code', client_id: rp.client.clientId, sid: flow.claims.sid,
      scope: 'openid profile', auth_method: variant.auth,
    });
    // a refresh carries it too
    const refreshMark = await mark(server);
    await rp.refresh(flow.tokens.refresh_token);
    const r = await one(server, 'token.refreshed', refreshMark, `${variant.name} refresh`);
    assert.equal(r.detail.auth_method, variant.auth);
    assert.equal(r.detail.grant_type, 'refresh_token');
  });
}

h.test('userinfo.served: once per access token, on its first successful call', async (t, server) => {
  const rp = await makeRp(server, BASIC, { env: ENV });
  const scope = 'openid profile nationalrbacaccess';
  let since = await mark(server);
  const flow = await rp.codeFlow(new Browser(server.url), { user: USERS.single, scope });
  // a call with a token that is not valid records nothing
  const bad = await userinfoRaw(rp, 'not-a-token');
  assert.equal(bad.status, 401);
  assert.deepEqual(await events(server, 'userinfo.served', since), []);

  const first = await rp.userinfo(flow.tokens.access_token, USERS.single);
  assert.ok(first.nhsid_nrbac_roles, 'nationalrbacaccess claims');
  await rp.userinfo(flow.tokens.access_token, USERS.single);
  const third = await userinfoRaw(rp, flow.tokens.access_token, 'post-body');
  assert.equal(third.status, 200, describeRes(third));
  const e = await one(server, 'userinfo.served', since, 'three calls with one token');
  assert.equal(e.actor, rp.client.clientId);
  assert.equal(e.subject, `user:${USERS.single}`);
  assert.deepEqual(e.detail, { env: ENV, client_id: rp.client.clientId, scope });

  // a new access token (refreshed, with a narrower scope) is recorded on its own first call
  since = await mark(server);
  const refreshed = await rp.refresh(flow.tokens.refresh_token);
  assert.deepEqual(await events(server, 'userinfo.served', since), []);
  const narrower = await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshed.refresh_token, scope: 'openid profile' });
  assert.equal(narrower.status, 200, narrower.text);
  since = await mark(server);
  await rp.userinfo(narrower.json.access_token, USERS.single);
  await rp.userinfo(narrower.json.access_token, USERS.single);
  const n = await one(server, 'userinfo.served', since, 'the narrower token');
  assert.deepEqual(n.detail, { env: ENV, client_id: rp.client.clientId, scope: 'openid profile' }, 'the access token\'s own scope');
  const marked = await query(server, `SELECT COUNT(*) AS n FROM tokens WHERE kind = 'access' AND client_id = ${q(rp.client.clientId)} AND userinfo_at IS NOT NULL`);
  assert.equal(marked[0].n, 2, 'two tokens were used at userinfo (the first refresh\'s never was)');
});

h.test('role.selected: chosen=user on the role page, only_role for a single-role person; nothing without selectedrole', async (t, server) => {
  const rp = await makeRp(server, BASIC, { env: ENV });
  const roles = (await userShow(server, USERS.multi, ENV)).roles;
  assert.ok(roles.length > 1, 'the demo user has several roles');

  let since = await mark(server);
  const chosen = roles[1].person_roleid;
  const flow = await rp.codeFlow(new Browser(server.url), { user: USERS.multi, password: DEMO_PASSWORD, scope: ALL_SCOPES, role: chosen });
  assert.equal(flow.signin.sawRole, 1, 'the role page was shown');
  assert.equal(flow.claims.selected_roleid, chosen);
  let e = await one(server, 'role.selected', since, 'multi-role user');
  assert.equal(e.actor, USERS.multi);
  assert.equal(e.subject, `user:${USERS.multi}`);
  assert.deepEqual(e.detail, { env: ENV, client_id: rp.client.clientId, role: chosen, chosen: 'user', sid: flow.claims.sid });
  // recorded before the code was issued (one transaction with it)
  assert.ok(e.seq < (await one(server, 'token.issued', since, 'multi-role user')).seq);

  since = await mark(server);
  const only = (await userShow(server, USERS.single, ENV)).roles[0].person_roleid;
  const single = await rp.codeFlow(new Browser(server.url), { user: USERS.single, scope: ALL_SCOPES });
  assert.equal(single.signin.sawRole, 0);
  e = await one(server, 'role.selected', since, 'single-role user');
  assert.equal(e.actor, USERS.single);
  assert.deepEqual(e.detail, { env: ENV, client_id: rp.client.clientId, role: only, chosen: 'only_role', sid: single.claims.sid });

  since = await mark(server);
  await rp.codeFlow(new Browser(server.url), { user: USERS.multi, scope: 'openid profile nationalrbacaccess' });
  assert.deepEqual(await events(server, 'role.selected', since), [], 'no selectedrole: no role selected');
});

h.test('session.ended: RP-initiated logout names the client that asked', async (t, server) => {
  const rp = await makeRp(server, BASIC, { env: ENV, extraFlags: ['--post-logout-redirect-uri', POST_LOGOUT_URI] });
  const other = await makeRp(server, BASIC, { env: ENV });
  const browser = new Browser(server.url);
  const flow = await rp.codeFlow(browser, { user: USERS.single });
  await other.codeFlow(browser, { user: USERS.single, expect: 'sso' });

  // with a current id_token_hint: at once, the client is the actor
  let since = await mark(server);
  let res = await endSession(rp, browser, { id_token_hint: flow.idToken, post_logout_redirect_uri: POST_LOGOUT_URI, state: 's1' });
  assert.equal(res.status, 303, describeRes(res));
  let e = await one(server, 'session.ended', since, 'logout with id_token_hint');
  assert.equal(e.actor, rp.client.clientId);
  assert.equal(e.subject, `user:${USERS.single}`);
  // (clients in the order they were first signed in to, by the second: a tie goes by client id)
  assert.deepEqual({ ...e.detail, clients: [...e.detail.clients].sort() }, {
    env: ENV, sid: flow.claims.sid, reason: 'logout', logout_tokens: 0,
    clients: [rp.client.clientId, other.client.clientId].sort(), client_id: rp.client.clientId,
  });

  // with client_id only: the person confirms, and is the actor
  const again = await rp.codeFlow(browser, { user: USERS.single, expect: 'login' });
  res = await endSession(rp, browser, { client_id: rp.client.clientId });
  res = await browser.submit(assertConfirmPage(res, 'client_id only'));
  assert.equal(res.status, 200, describeRes(res));
  since = e.seq;
  e = await one(server, 'session.ended', since, 'logout with client_id');
  assert.equal(e.actor, USERS.single);
  assert.deepEqual(e.detail, {
    env: ENV, sid: again.claims.sid, reason: 'logout', logout_tokens: 0,
    clients: [rp.client.clientId], client_id: rp.client.clientId,
  });

  // an administrator's end names no client
  const third = await rp.codeFlow(browser, { user: USERS.single, expect: 'login' });
  since = await mark(server);
  const r = await server.cli('session end', [third.claims.sid, '--env', ENV]);
  assert.equal(r.code, 0, describeCli(r));
  e = await one(server, 'session.ended', since, 'careid session end');
  assert.equal(e.actor, 'admin');
  assert.deepEqual(e.detail, { env: ENV, sid: third.claims.sid, reason: 'admin', logout_tokens: 0, clients: [rp.client.clientId] });
});

h.test("session.ended: a logout the person confirmed on careid's page is theirs, though the request carried a stale id_token_hint", async (t, server) => {
  const rp = await makeRp(server, BASIC, { env: ENV });
  const browser = new Browser(server.url);
  const old = await rp.codeFlow(browser, { user: USERS.single });
  let since = await mark(server);
  let res = await endSession(rp, browser, { id_token_hint: old.idToken });
  assert.equal(res.status, 200, describeRes(res));
  let e = await one(server, 'session.ended', since, 'a current hint');
  assert.equal(e.actor, rp.client.clientId, 'the client, with a current hint for this session');

  // signed in again: the old ID token is a stale hint (another session); the person confirms,
  // with the hint posted along (as an RP's auto-submitting form would send it)
  const now = await rp.codeFlow(browser, { user: USERS.single, expect: 'login' });
  assert.notEqual(now.claims.sid, old.claims.sid);
  res = await endSession(rp, browser, { id_token_hint: old.idToken });
  const form = assertConfirmPage(res, 'a stale hint');
  since = await mark(server);
  res = await browser.submit(form, { id_token_hint: old.idToken });
  assert.equal(res.status, 200, describeRes(res));
  e = await one(server, 'session.ended', since, 'confirmed after a stale hint');
  assert.equal(e.actor, USERS.single, 'the person who confirmed, not the client');
  assert.equal(e.subject, `user:${USERS.single}`);
  assert.deepEqual(e.detail, {
    env: ENV, sid: now.claims.sid, reason: 'logout', logout_tokens: 0,
    clients: [rp.client.clientId], client_id: rp.client.clientId,
  });
});

/** A client with a back-channel logout URI (`uri`), signed in once in `browser`. */
async function signedInWithBackchannel(server, uri, browser = new Browser(server.url)) {
  const rp = await makeRp(server, BASIC, { env: ENV, extraFlags: ['--backchannel-logout-uri', uri] });
  const flow = await rp.codeFlow(browser, { user: USERS.single });
  return { rp, flow, browser };
}

/** The two logout.test events of one request, after `since`: {valid, invalid}. */
async function testOutcomes(server, since) {
  const got = await waitForEvents(server, 'logout.test', since, 2);
  assert.equal(got.length, 2, JSON.stringify(got));
  const valid = got.find((e) => e.detail.valid === true);
  const invalid = got.find((e) => e.detail.valid === false);
  assert.ok(valid && invalid, `one valid and one invalid token: ${JSON.stringify(got)}`);
  for (const e of got) {
    assert.equal(e.actor, 'system');
    assert.deepEqual(Object.keys(e.detail).sort(), ['client_id', 'detail', 'env', 'jti', 'outcome', 'requested_at', 'status', 'uri', 'valid']);
  }
  return { valid, invalid };
}

h.test('careid client logout-test: a validating RP accepts the valid token (200) and rejects the invalid one (400)', async (t, server) => {
  const ep = lrp.endpoint();
  const { rp, flow, browser } = await signedInWithBackchannel(server, ep.url);
  ep.expect({ issuer: rp.issuer, audience: rp.client.clientId, algorithms: ['RS256'] });
  const since = await mark(server);
  const r = await server.cli('client logout-test', ['--env', ENV, rp.client.clientId]);
  assert.equal(r.code, 0, describeCli(r));
  assert.equal(r.json.uri, ep.url);
  assert.equal(r.json.sid, flow.claims.sid);
  assert.equal(r.json.env, ENV);
  assert.equal(r.json.client_id, rp.client.clientId);
  assert.equal(typeof r.json.requested_at, 'number');

  const req = await one(server, 'logout.test_requested', since, 'the request');
  assert.equal(req.actor, 'admin');
  assert.equal(req.subject, `client:${rp.client.clientId}`);
  assert.deepEqual(req.detail, { env: ENV, client_id: rp.client.clientId, uri: ep.url, requested_at: r.json.requested_at });

  const [a, b] = await ep.waitForCount(2, () => true, { what: 'the two test tokens' });
  const ok = [a, b].find((x) => x.ok);
  const bad = [a, b].find((x) => !x.ok);
  assert.ok(ok && bad, `one valid, one invalid: ${ep.describe()}`);
  assert.equal(ok.answered, 200);
  assert.equal(bad.answered, 400);
  assert.match(bad.error, /signature/i, 'refused for its signature');
  // the invalid token's claims are those of a real logout token for the real session
  const claims = jose.decodeJwt(bad.token);
  assert.equal(claims.iss, rp.issuer);
  assert.deepEqual(claims.aud, [rp.client.clientId]);
  assert.equal(claims.sid, flow.claims.sid);
  assert.equal(claims.sub, USERS.single);
  assert.equal(ok.claims.sid, flow.claims.sid);
  assert.equal(ok.claims.sub, USERS.single);
  assert.equal(jose.decodeProtectedHeader(bad.token).kid, ok.header.kid, 'the same key named');

  const { valid, invalid } = await testOutcomes(server, since);
  assert.equal(valid.subject, `client:${rp.client.clientId}`);
  assert.deepEqual(valid.detail, {
    env: ENV, client_id: rp.client.clientId, uri: ep.url, valid: true, status: 200, outcome: 'accepted',
    jti: ok.claims.jti, detail: 'HTTP 200', requested_at: r.json.requested_at,
  });
  assert.deepEqual(invalid.detail, {
    env: ENV, client_id: rp.client.clientId, uri: ep.url, valid: false, status: 400, outcome: 'rejected',
    jti: claims.jti, detail: invalid.detail.detail, requested_at: r.json.requested_at,
  });
  assert.match(invalid.detail.detail, /^HTTP 400: \{"error":"invalid_request"/);

  // once each, never again; careid's own session lives on and nothing else is recorded
  assert.deepEqual(await quietFor(ep, 1500), [], ep.describe());
  const outbox = await query(server, `SELECT state, attempts FROM outbox WHERE kind = 'backchannel_test' AND payload LIKE ${q(`%${rp.client.clientId}%`)}`);
  assert.deepEqual(outbox.map((m) => m.attempts), [1, 1]);
  assert.ok(await sessionAlive(rp, browser), 'the session the tokens name is not ended');
  assert.deepEqual(await events(server, 'session.ended', since), []);
});

h.test('careid client logout-test: a naive RP answering 200 to anything accepts the invalid token too', async (t, server) => {
  const { rp } = await signedInWithBackchannel(server, naive.url);
  const before = naive.received.length;
  const since = await mark(server);
  const r = await server.cli('client logout-test', ['--env', ENV, rp.client.clientId]);
  assert.equal(r.code, 0, describeCli(r));
  const { valid, invalid } = await testOutcomes(server, since);
  assert.equal(valid.detail.outcome, 'accepted');
  assert.equal(valid.detail.status, 200);
  assert.equal(invalid.detail.outcome, 'accepted', 'what the checklist flags');
  assert.equal(invalid.detail.status, 200);
  assert.equal(naive.received.length - before, 2);
  await sleep(1000);
  assert.equal(naive.received.length - before, 2, 'once each');
});

h.test('careid client logout-test: errors', async (t, server) => {
  const since = await mark(server);
  const cli = (id, env = ENV) => server.cli('client logout-test', ['--env', env, id]);
  let r = await cli('no-such-client');
  assert.equal(r.code, 1, describeCli(r));
  assert.equal(r.stderr.trim(), `careid: no client no-such-client is registered in ${ENV}`);

  const plain = await makeRp(server, BASIC, { env: ENV });
  await plain.codeFlow(new Browser(server.url), { user: USERS.single });
  r = await cli(plain.client.clientId);
  assert.equal(r.code, 1, describeCli(r));
  assert.equal(r.stderr.trim(), 'careid: register a back-channel logout URI for this client first');

  const fresh = await makeRp(server, BASIC, { env: ENV, extraFlags: ['--backchannel-logout-uri', naive.url] });
  r = await cli(fresh.client.clientId);
  assert.equal(r.code, 1, describeCli(r));
  assert.equal(r.stderr.trim(), `careid: sign in to this client in ${ENV} first: the valid test token names a real session`);
  // the client is in mock, not in INT
  r = await cli(fresh.client.clientId, 'int');
  assert.equal(r.code, 1, describeCli(r));
  assert.equal(r.stderr.trim(), `careid: no client ${fresh.client.clientId} is registered in int`);

  r = await server.cli('client logout-test', ['--env', 'nowhere', fresh.client.clientId]);
  assert.equal(r.code, 2, describeCli(r));
  assert.match(r.stderr, /unknown environment 'nowhere'/);
  r = await server.cli('client logout-test', [fresh.client.clientId]);
  assert.equal(r.code, 2, describeCli(r));
  assert.match(r.stderr, /--env and exactly one CLIENT_ID are required/);

  assert.deepEqual(await events(server, 'logout.test_requested', since), [], 'nothing recorded');
  assert.deepEqual(await query(server, `SELECT id FROM outbox WHERE kind = 'backchannel_test' AND (payload LIKE ${q(`%${plain.client.clientId}%`)} OR payload LIKE ${q(`%${fresh.client.clientId}%`)})`), [], 'nothing queued');
});
