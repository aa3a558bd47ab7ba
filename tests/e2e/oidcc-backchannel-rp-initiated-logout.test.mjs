// oidcc-backchannel-rp-initiated-logout: a normal sign-in, then the browser goes to the
// end_session_endpoint with id_token_hint, a registered post_logout_redirect_uri and state; careid
// POSTs a logout token to the client's backchannel_logout_uri, sends the browser back with
// state, and prompt=none afterwards answers login_required. The relying party is a real HTTP
// endpoint (lib/logout-rp.mjs) that validates every logout token with jose as Back-Channel
// Logout 1.0 §2.6 says (signature against careid's JWKS, alg, typ, iss, aud, iat, exp, events,
// sid/sub, no nonce, jti not replayed) and answers as each test asks.
//
// Beyond the module, the same delivery for every way a session ends (an administrator's
// `careid session end`, a removed smartcard, the idle and absolute timeouts), several clients in
// one session (only those that registered a URI are told, each with its own audience), and what
// careid does with the RP's answers: a 400 is recorded and never retried, a 503 or an RP that does
// not answer within the timeout is retried with backoff and a fresh token, every attempt is in
// outbox_attempts and in the audit trail.
import assert from 'node:assert/strict';
import { copyFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { before, after } from 'node:test';
import { setupServer, startCareid, describeCli, sleep, USERS } from './lib/careid.mjs';
import { Browser, describeRes } from './lib/browser.mjs';
import { makeRp, VARIANTS } from './lib/rp.mjs';
import { endSession, sessionAlive, POST_LOGOUT_URI } from './lib/logout.mjs';
import { startLogoutRp, quietFor, LOGOUT_EVENT } from './lib/logout-rp.mjs';
import { startAgent, agentSign } from './lib/agent.mjs';

const h = setupServer();
let lrp; // the relying parties' back-channel endpoints
before(async () => { lrp = await startLogoutRp(); });
after(async () => { await lrp?.close(); });

/**
 * A client with a back-channel logout URI at a new endpoint of the logout RP (none when
 * backchannel is false) and the post-logout redirect URI, discovered by openid-client.
 */
async function bclClient(server, { variant = VARIANTS[0], idTokenAlg, env = 'mock', backchannel = true } = {}) {
  const ep = backchannel ? lrp.endpoint() : undefined;
  const extraFlags = ['--post-logout-redirect-uri', POST_LOGOUT_URI];
  if (ep) extraFlags.push('--backchannel-logout-uri', ep.url);
  const rp = await makeRp(server, variant, { env, idTokenAlg, extraFlags });
  ep?.expect({ issuer: rp.issuer, audience: rp.client.clientId, algorithms: [rp.client.idTokenAlg] });
  return { rp, ep };
}

/** What the module checks of a received logout token, beyond the RP's own §2.6 validation. */
function assertLogoutToken(got, rp, idClaims, what) {
  const w = `${what}: logout token`;
  assert.ok(got.ok, `${w} valid (§2.6): ${got.error}`);
  assert.equal(got.method, 'POST', `${w} POSTed`);
  assert.match(got.contentType, /^application\/x-www-form-urlencoded/, `${w} as a form`);
  assert.deepEqual(got.extraParams, [], `${w}: logout_token is the only parameter`);
  assert.equal(got.header.typ, 'logout+jwt', `${w} explicitly typed (§2.4): ${JSON.stringify(got.header)}`);
  assert.equal(got.header.alg, rp.client.idTokenAlg, `${w} signed with the client's registered alg`);
  assert.ok(got.header.kid, `${w} names its key`);
  const c = got.claims;
  assert.equal(c.iss, rp.issuer, `${w} iss`);
  assert.deepEqual(c.aud, [rp.client.clientId], `${w} aud: [client_id], as CIS2 sends it`);
  assert.equal(c.sid, idClaims.sid, `${w} sid matches the ID token's (OIDCBCL-2.4)`);
  assert.equal(c.sub, idClaims.sub, `${w} sub matches the ID token's (OIDCBCL-2.4)`);
  assert.deepEqual(c.events, { [LOGOUT_EVENT]: {} }, `${w} events`);
  assert.equal(c.nonce, undefined, `${w}: no nonce`);
  assert.ok(c.exp > c.iat && c.exp - c.iat <= 300, `${w}: short-lived (iat ${c.iat}, exp ${c.exp})`);
  assert.ok(Math.abs(c.iat - Date.now() / 1000) < 30, `${w}: iat is now`);
}

/** Rows of the store (server.sql: careid keeps writing while it is read). */
const query = (server, sql) => server.sql(sql);
const q = (s) => `'${String(s).replace(/'/g, "''")}'`;

/** The back-channel outbox messages of session `sid`, with their attempts. */
async function deliveries(server, sid) {
  const messages = (await query(server, `SELECT id, state, attempts, payload FROM outbox WHERE kind = 'backchannel_logout' ORDER BY created_at, id`))
    .map((m) => ({ ...m, payload: JSON.parse(m.payload) }))
    .filter((m) => m.payload.sid === sid);
  const out = [];
  for (const m of messages)
    out.push({ ...m, tries: await query(server, `SELECT attempt, ok, detail FROM outbox_attempts WHERE outbox_id = ${q(m.id)} ORDER BY attempt`) });
  return out;
}

/** The audit events about the deliveries for session `sid`. */
async function deliveryAudit(server, sid) {
  return (await query(server, `SELECT actor, action, detail FROM audit_events WHERE subject = ${q(`session:${sid}`)} ORDER BY seq`))
    .map((r) => ({ ...r, detail: JSON.parse(r.detail) }));
}

/** Sign in with a password and end the session at the end-session endpoint, as the module does. */
async function signInAndLogout(rp, browser = new Browser(rp.server.url)) {
  const flow = await rp.codeFlow(browser, { user: USERS.single });
  const res = await endSession(rp, browser, { id_token_hint: flow.idToken, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'bcl-state' });
  assert.equal(res.status, 303, `end session redirects: ${describeRes(res)}`);
  return { flow, claims: flow.claims, res, browser };
}

for (const variant of VARIANTS) {
  h.test(`oidcc-backchannel-rp-initiated-logout [${variant.name}]`, async (t, server) => {
    const { rp, ep } = await bclClient(server, { variant });
    const { claims, res, browser } = await signInAndLogout(rp);
    const back = new URL(res.location);
    assert.equal(`${back.origin}${back.pathname}`, POST_LOGOUT_URI, 'back to the registered post_logout_redirect_uri');
    assert.equal(back.searchParams.get('state'), 'bcl-state', 'state echoed');
    const got = await ep.waitFor((r) => r.ok, { what: 'the logout token' });
    assertLogoutToken(got, rp, claims, rp.name);
    assert.equal(got.answered, 200);
    assert.equal(await sessionAlive(rp, browser), false, 'prompt=none after the logout: login_required');
    // exactly once: delivered, recorded, audited
    assert.deepEqual(await quietFor(ep, 1000), [], `nothing more: ${ep.describe()}`);
    const [m, ...others] = await deliveries(server, claims.sid);
    assert.equal(others.length, 0);
    assert.equal(m.state, 'delivered');
    assert.deepEqual(m.tries.map((a) => a.ok), [1]);
    assert.deepEqual((await deliveryAudit(server, claims.sid)).map((a) => a.action), ['logout.delivered']);
  });
}

h.test('oidcc-backchannel-rp-initiated-logout [id_token_signed_response_alg PS256]: the logout token uses the registered alg', async (t, server) => {
  const { rp, ep } = await bclClient(server, { idTokenAlg: 'PS256' });
  const { claims } = await signInAndLogout(rp);
  assertLogoutToken(await ep.waitFor(), rp, claims, 'PS256 client');
});

h.test('several clients in one session: each that registered a URI gets its own token, one without gets nothing', async (t, server) => {
  const a = await bclClient(server);
  const b = await bclClient(server, { backchannel: false });
  const c = await bclClient(server, { idTokenAlg: 'RS512' });
  const browser = new Browser(server.url);
  const fa = await a.rp.codeFlow(browser, { user: USERS.single });
  const fb = await b.rp.codeFlow(browser, { user: USERS.single, expect: 'sso' });
  const fc = await c.rp.codeFlow(browser, { user: USERS.single, expect: 'sso' });
  assert.equal(fb.claims.sid, fa.claims.sid, 'one SSO session');
  assert.equal(fc.claims.sid, fa.claims.sid, 'one SSO session');
  const res = await endSession(b.rp, browser, { id_token_hint: fb.idToken, post_logout_redirect_uri: POST_LOGOUT_URI });
  assert.equal(res.status, 303, describeRes(res));
  assertLogoutToken(await a.ep.waitFor(), a.rp, fa.claims, 'client A');
  assertLogoutToken(await c.ep.waitFor(), c.rp, fc.claims, 'client C (RS512)');
  await sleep(1000);
  assert.equal(a.ep.received.length, 1, a.ep.describe());
  assert.equal(c.ep.received.length, 1, c.ep.describe());
  const sent = (await deliveries(server, fa.claims.sid)).map((m) => m.payload.client_id).sort();
  assert.deepEqual(sent, [a.rp.client.clientId, c.rp.client.clientId].sort(), 'no message for the client without a back-channel URI');
  const list = await server.cli('session list', ['--env', 'mock', '--all']);
  const s = list.json.find((x) => x.sid === fa.claims.sid);
  assert.deepEqual([...s.clients].sort(), [a, b, c].map((x) => x.rp.client.clientId).sort(), 'the session knew all three');
});

h.test('a 400 from the RP is recorded and never retried', async (t, server) => {
  const { rp, ep } = await bclClient(server);
  ep.answer(400);
  const { claims } = await signInAndLogout(rp);
  const got = await ep.waitFor((r) => r.ok);
  assert.equal(got.answered, 400);
  // the first retry would come 2–2.5 s later (outbox backoff): wait well past it
  assert.deepEqual(await quietFor(ep, 5000), [], `never sent again: ${ep.describe()}`);
  const [m] = await deliveries(server, claims.sid);
  assert.equal(m.state, 'failed');
  assert.equal(m.attempts, 1);
  assert.equal(m.tries.length, 1);
  assert.equal(m.tries[0].ok, 0);
  assert.match(m.tries[0].detail, /^HTTP 400: \{"error":"invalid_request"/, 'the RP\'s answer is recorded');
  const audit = await deliveryAudit(server, claims.sid);
  assert.deepEqual(audit.map((a) => a.action), ['logout.refused']);
  assert.equal(audit[0].actor, 'system');
  assert.equal(audit[0].detail.status, 400);
  assert.equal(audit[0].detail.client_id, rp.client.clientId);
  assert.equal(audit[0].detail.jti, got.claims.jti);
});

h.test('a 503 is retried with backoff and a fresh token, then delivered; each attempt recorded', async (t, server) => {
  const { rp, ep } = await bclClient(server);
  ep.answers(503, 503); // then 200
  const { claims } = await signInAndLogout(rp);
  const done = await ep.waitFor((r) => r.ok && r.answered === 200, { timeoutMs: 20000, what: 'the third attempt' });
  const tries = ep.received;
  assert.deepEqual(tries.map((r) => r.answered), [503, 503, 200], ep.describe());
  for (const r of tries) assertLogoutToken(r, rp, claims, `attempt #${r.n}`);
  assert.equal(new Set(tries.map((r) => r.claims.jti)).size, 3, 'a new jti for each attempt');
  const gaps = [tries[1].at - tries[0].at, tries[2].at - tries[1].at];
  t.diagnostic(`attempts ${gaps.map((g) => `${g} ms`).join(', ')} apart`);
  // the outbox backs off 2 s, then 4–5 s, counted in whole seconds from when it recorded the
  // failure: at least 1 s and 3 s of wall time
  assert.ok(gaps[0] >= 1000, `backoff before the second attempt: ${gaps[0]} ms`);
  assert.ok(gaps[1] >= 3000 && gaps[1] > gaps[0], `a longer backoff before the third: ${gaps[1]} ms`);
  assert.equal(done.answered, 200);
  const [m] = await deliveries(server, claims.sid);
  assert.equal(m.state, 'delivered');
  assert.deepEqual(m.tries.map((a) => [a.attempt, a.ok, a.detail?.slice(0, 8)]), [[1, 0, 'HTTP 503'], [2, 0, 'HTTP 503'], [3, 1, 'HTTP 200']]);
  assert.deepEqual((await deliveryAudit(server, claims.sid)).map((a) => a.action), ['logout.retry', 'logout.retry', 'logout.delivered']);
});

h.test('an RP that does not answer within the timeout is tried again', async (t, server) => {
  const { rp, ep } = await bclClient(server);
  ep.answers('hold'); // then 200
  const { claims } = await signInAndLogout(rp);
  const done = await ep.waitFor((r) => r.ok && r.answered === 200, { timeoutMs: 25000, what: 'the attempt after the timeout' });
  const first = ep.received[0];
  assert.equal(first.answered, 'held');
  assert.ok(first.released, 'careid gave up on the held request');
  t.diagnostic(`careid gave up after ${first.released - first.at} ms; next attempt ${done.at - first.released} ms later`);
  assert.ok(first.released - first.at < 15000, 'a short timeout');
  assertLogoutToken(done, rp, claims, 'after the timeout');
  const [m] = await deliveries(server, claims.sid);
  assert.equal(m.state, 'delivered');
  assert.deepEqual(m.tries.map((a) => a.ok), [0, 1]);
  assert.match(m.tries[0].detail, /timed out|timeout/i, m.tries[0].detail);
});

h.test('`careid session end SID` (an administrator) sends the logout token', async (t, server) => {
  const { rp, ep } = await bclClient(server);
  const browser = new Browser(server.url);
  const { claims } = await rp.codeFlow(browser, { user: USERS.single });
  const r = await server.cli('session end', [claims.sid, '--env', 'mock']);
  assert.equal(r.code, 0, describeCli(r));
  assertLogoutToken(await ep.waitFor(), rp, claims, 'administrator');
  assert.equal(await sessionAlive(rp, browser), false);
  const list = await server.cli('session list', ['--env', 'mock', '--all']);
  assert.equal(list.json.find((s) => s.sid === claims.sid)?.end_reason, 'admin');
});

h.test('removing the smartcard sends the logout token', async (t, server) => {
  const card = join(server.dir, 'bcl-removable.p12');
  await copyFile(join(server.dir, 'demo', `card-${USERS.single}-mock.p12`), card);
  const { rp, ep } = await bclClient(server);
  const browser = new Browser(server.url);
  const agent = await startAgent({ card });
  try {
    const authz = await rp.authorizationUrl({ scope: 'openid', acr_values: 'AAL3_SMARTCARD' });
    const page = (await browser.signIn(authz.url, {})).page;
    const { form, fields } = await agentSign(page, { agentUrl: agent.url });
    const res = await browser.submit(form, fields);
    assert.equal(res.status, 303, `the card signs in: ${describeRes(res)}`);
    const tokens = await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
    const claims = tokens.claims();
    assert.deepEqual(claims.amr, ['N3_SMARTCARD']);
    assert.deepEqual(ep.received, [], 'nothing while the card is in');
    await unlink(card);
    assertLogoutToken(await ep.waitFor(undefined, { timeoutMs: 15000, what: 'the logout token after the card was removed' }), rp, claims, 'card removed');
    const list = await server.cli('session list', ['--env', 'mock', '--all']);
    assert.equal(list.json.find((s) => s.sid === claims.sid)?.end_reason, 'card_removed');
  } catch (e) {
    process.stderr.write(`--- careid agent stderr:\n${agent.logs.join('\n')}\n`);
    throw e;
  } finally {
    await agent.stop();
  }
});

h.test('the idle and the absolute timeouts send the logout token', async (t) => {
  // a server of its own whose mock sessions end after 3 s unused or 6 s in all
  const server = await startCareid({ extraArgs: ['--session-idle-mock', '3', '--session-max-mock', '6'] });
  try {
    const idle = await bclClient(server);
    const bi = new Browser(server.url);
    const fi = await idle.rp.codeFlow(bi, { user: USERS.single });
    assertLogoutToken(await idle.ep.waitFor(undefined, { timeoutMs: 15000, what: 'the logout token of the idle session' }), idle.rp, fi.claims, 'idle');

    const busy = await bclClient(server);
    const bb = new Browser(server.url);
    const fb = await busy.rp.codeFlow(bb, { user: USERS.single });
    // used every second (prompt=none answers with a code and touches the session) until it ends
    const start = Date.now();
    while (!busy.ep.received.length && Date.now() - start < 15000) {
      await sessionAlive(busy.rp, bb);
      await sleep(1000);
    }
    assertLogoutToken(await busy.ep.waitFor(undefined, { timeoutMs: 1000, what: 'the logout token of the expired session' }), busy.rp, fb.claims, 'absolute timeout');
    const list = await server.cli('session list', ['--env', 'mock', '--all']);
    const reason = (sid) => list.json.find((s) => s.sid === sid)?.end_reason;
    assert.equal(reason(fi.claims.sid), 'idle');
    assert.equal(reason(fb.claims.sid), 'expired');
  } finally {
    const st = await server.stop();
    assert.deepEqual(st, { code: 0, signal: null });
  }
});
