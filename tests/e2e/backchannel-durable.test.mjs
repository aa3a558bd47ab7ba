// Back-channel logout survives a crash: the logout token waits in the store's outbox, not in
// careid's memory. careid is killed with SIGKILL after a logout and before the delivery
// completed, started again on the same store and port (so the issuer is the same), and the
// logout token then arrives at the relying party, valid (lib/logout-rp.mjs checks it as
// Back-Channel Logout 1.0 §2.6 says), within a bounded wait.
//   1. The RP answered the first attempt 503 and careid recorded it; killed during the backoff,
//      the restarted careid delivers when the backoff is over (seconds).
//   2. Killed in the middle of the delivery (the RP holds the request): nothing was recorded and
//      the dead process's claim on the message (its lease, 60 s) must expire first; then the
//      restarted careid delivers it (about a minute).
import assert from 'node:assert/strict';
import { before, after, test } from 'node:test';
import { startCareid, sleep, USERS } from './lib/careid.mjs';
import { Browser, describeRes } from './lib/browser.mjs';
import { makeRp } from './lib/rp.mjs';
import { endSession, POST_LOGOUT_URI } from './lib/logout.mjs';
import { startLogoutRp, LOGOUT_EVENT } from './lib/logout-rp.mjs';
import { freePort } from './lib/agent.mjs';

const servers = [];
let lrp;
before(async () => { lrp = await startLogoutRp(); });
after(async () => {
  for (const s of servers) await s.stop().catch(() => {});
  await lrp?.close();
});


async function until(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

/** Start careid on `port` (the same issuer every time), on the store in `dir` when given. */
async function start(port, dir) {
  const s = await startCareid({ listen: `127.0.0.1:${port}`, dir });
  servers.push(s);
  return s;
}

/**
 * The back-channel outbox messages and their recorded attempts, read from the store of
 * `server` (running or killed: a restart on its directory uses the same store).
 */
async function outbox(server) {
  const messages = await server.sql("SELECT id, state, attempts FROM outbox WHERE kind = 'backchannel_logout' ORDER BY created_at, id");
  const out = [];
  for (const m of messages)
    out.push({ ...m, tries: await server.sql(`SELECT attempt, ok, detail FROM outbox_attempts WHERE outbox_id = '${m.id}' ORDER BY attempt`) });
  return out;
}

/**
 * careid on a free port with a client whose back-channel endpoint is a new `ep` of the RP;
 * a user signs in and the RP logs them out at the end-session endpoint.
 * Returns {port, server, rp, ep, claims}.
 */
async function signedInThenLoggedOut(name, firstAnswer) {
  const ep = lrp.endpoint(name);
  ep.answer(firstAnswer);
  const port = await freePort();
  const server = await start(port);
  const rp = await makeRp(server, undefined, { extraFlags: ['--backchannel-logout-uri', ep.url, '--post-logout-redirect-uri', POST_LOGOUT_URI] });
  ep.expect({ issuer: rp.issuer, audience: rp.client.clientId });
  const browser = new Browser(server.url);
  const { claims, idToken } = await rp.codeFlow(browser, { user: USERS.single });
  const res = await endSession(rp, browser, { id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT_URI, state: 's' });
  assert.equal(res.status, 303, `logged out: ${describeRes(res)}`);
  return { port, server, rp, ep, claims };
}

/** Logs of both processes and what the RP saw, when a test fails. */
async function explained(ctx, fn) {
  try {
    await fn();
  } catch (e) {
    process.stderr.write(`--- first careid:\n${(ctx.first?.logs || []).slice(-60).join('\n')}\n--- second careid:\n${(ctx.second?.logs || []).slice(-60).join('\n')}\n--- RP saw: ${ctx.ep?.describe()}\n`);
    throw e;
  }
}

/** The delivered token: the ended session's, a token of its own, once. */
function assertDelivered(got, ep, claims, earlier) {
  assert.equal(got.claims.sid, claims.sid, 'the ended session');
  assert.equal(got.claims.sub, claims.sub);
  assert.deepEqual(got.claims.events, { [LOGOUT_EVENT]: {} });
  assert.notEqual(got.claims.jti, earlier.claims.jti, 'a fresh token');
  assert.equal(ep.accepted.length, 1, ep.describe());
}

test('killed after a logout whose first delivery failed: the restarted careid delivers the logout token', async (t) => {
  const ctx = {};
  await explained(ctx, async () => {
    const { port, server: first, ep, claims } = await signedInThenLoggedOut('after-503', 503);
    Object.assign(ctx, { first, ep });
    // the first attempt reached the RP and was answered 503: not delivered…
    const refused = await ep.waitFor((r) => r.ok, { what: 'the first attempt' });
    assert.equal(refused.answered, 503);
    assert.equal(refused.claims.sid, claims.sid);
    // …and careid recorded it (killed before that, its lease would hold the message: next test)
    await until('the first attempt recorded', async () => (await outbox(first))[0]?.tries.length === 1);
    const st = await first.kill();
    assert.equal(st.signal, 'SIGKILL', `killed: ${JSON.stringify(st)}`);
    const killedAt = Date.now();
    assert.deepEqual((await outbox(first)).map((m) => [m.state, m.attempts]), [['pending', 1]], 'the token waits in the store');
    assert.equal(ep.accepted.length, 0, 'nothing was delivered before the kill');

    // the RP is back to normal; careid restarts on the same store and port
    ep.answer(200);
    const second = ctx.second = await start(port, first.dir);
    assert.equal(second.issuer('mock'), first.issuer('mock'), 'the same issuer');
    const got = await ep.waitFor((r) => r.ok && r.answered === 200, { timeoutMs: 20000, what: 'the logout token after the restart' });
    t.diagnostic(`delivered ${got.at - killedAt} ms after the kill (${ep.received.length} attempts in all)`);
    assertDelivered(got, ep, claims, refused);
    await until('the delivery recorded', async () => (await outbox(second))[0]?.state === 'delivered');
    const [m] = await outbox(second);
    assert.deepEqual(m.tries.map((a) => [a.attempt, a.ok]), [[1, 0], [2, 1]], JSON.stringify(m.tries));
    assert.ok(!first.logs.some((l) => l.includes('"outbox_attempt"') && l.includes('"result":"delivered"')), 'the first process delivered nothing');
    const st2 = await second.stop();
    assert.deepEqual(st2, { code: 0, signal: null }, 'the restarted careid stops cleanly');
  });
});

test('killed in the middle of a delivery: once the dead process\'s lease expires, the restarted careid delivers', async (t) => {
  const ctx = {};
  await explained(ctx, async () => {
    const { port, server: first, ep, claims } = await signedInThenLoggedOut('mid-delivery', 'hold');
    Object.assign(ctx, { first, ep });
    const held = await ep.waitFor((r) => r.ok && r.answered === 'held', { what: 'the first attempt' });
    const st = await first.kill(); // while the RP has not answered
    assert.equal(st.signal, 'SIGKILL');
    await until('the held request closed by the kill', () => held.released !== undefined);
    assert.deepEqual((await outbox(first)).map((m) => [m.state, m.attempts, m.tries.length]), [['pending', 1, 0]], 'claimed, never recorded');

    ep.answer(200);
    const second = ctx.second = await start(port, first.dir);
    const got = await ep.waitFor((r) => r.ok && r.answered === 200, { timeoutMs: 90000, what: 'the logout token once the lease expired' });
    t.diagnostic(`delivered ${got.at - held.at} ms after the interrupted attempt`);
    assert.ok(got.at - held.at >= 55000, `not before the dead process's 60 s lease expired: ${got.at - held.at} ms`);
    assertDelivered(got, ep, claims, held);
    await until('the delivery recorded', async () => (await outbox(second))[0]?.state === 'delivered');
    const [m] = await outbox(second);
    assert.equal(m.attempts, 2, 'the interrupted claim counts as an attempt');
    assert.deepEqual(m.tries.map((a) => [a.attempt, a.ok]), [[2, 1]], JSON.stringify(m.tries));
    const st2 = await second.stop();
    assert.deepEqual(st2, { code: 0, signal: null });
  });
});
