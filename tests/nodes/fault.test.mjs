// The fault test of issue 8: sign-in load through HAProxy in front of two careid nodes on one
// PostgreSQL, then
//   1. node B is killed with SIGKILL under load: nothing a client saw committed is lost
//      (sessions, codes, tokens, onboarding records, outbox messages), and the only errors are
//      requests that were in flight on node B when it died;
//   2. PostgreSQL is restarted under load (stopped, then started on the same port): the same
//      careid processes reconnect, with errors only while it was away (and until HAProxy put
//      the nodes back).
// The load: ~7 workers, each looping over operations through HAProxy: full sign-ins
// (authorize → sign-in form → code → token → userinfo), sign-ins ended by an RP-initiated
// logout (a back-channel logout message in the outbox), and onboarding portal account
// registrations (POST /api/v1/accounts). Every HTTP request is recorded with its start, end
// and outcome, and carries an x-test-id that HAProxy logs with the node it went to.
// Prints one summary line per fault (`fault: …`, `fault (PostgreSQL restart): …`).
import assert from 'node:assert/strict';
import { before } from 'node:test';
import { createHash, randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { startPg, startCluster, sleep, clusterTests } from './lib/cluster.mjs';
import { NodeBrowser, Recorder, recordedFetch } from './lib/route.mjs';
import { DETECTION_MS, RECOVERY_MS } from './lib/haproxy.mjs';
import { describePages, describeRes } from '../e2e/lib/browser.mjs';
import { startLogoutRp } from '../e2e/lib/logout-rp.mjs';

const pg = await startPg(); // before careid.mjs is loaded: it picks its backend when loaded
const careid = await import('../e2e/lib/careid.mjs');
const { USERS, DEMO_PASSWORD, registerClient } = careid;

const WORKERS = 7;
const POST_LOGOUT_URI = 'http://127.0.0.1:9/logged-out';

let cl;
let lrp;
let ep;
const ctx = {}; // clients, discovery, keys
before(async () => {
  cl = await startCluster(careid);
  lrp = await startLogoutRp();
  ep = lrp.endpoint('fault');
  const A = cl.nodes[0].server;
  ctx.client = await registerClient(A);
  ctx.bcClient = await registerClient(A, { extraFlags: ['--backchannel-logout-uri', ep.url, '--post-logout-redirect-uri', POST_LOGOUT_URI] });
  ctx.issuer = `${cl.publicUrl}/realms/mock`;
  ep.expect({ issuer: ctx.issuer, audience: ctx.bcClient.clientId });
  ctx.meta = await (await fetch(`${ctx.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10000) })).json();
  ctx.jwks = jose.createLocalJWKSet(await (await fetch(ctx.meta.jwks_uri, { signal: AbortSignal.timeout(10000) })).json());
});
const ctest = clusterTests(() => ({ cl, lrp }), pg);

// ---------------------------------------------------------------------------------------------
// The load

/** What the clients were told was done: the records they must find in the store. */
function newOutcome() {
  return {
    tokens: [], // {op, kind, nonce, sid, sub, accessToken, clientId}: a token response received
    accounts: [], // {uid, email}: a 202 from POST /api/v1/accounts
    logouts: [], // {sid, clientId}: a 303 from the end-session endpoint
    ops: { done: 0, failed: 0 },
  };
}

const b64 = (s) => Buffer.from(s).toString('base64');
const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

/** A full code flow through HAProxy; pushes the token response to out.tokens; resolves it or undefined (a failed step). */
async function signIn(rec, tags, client, out, kind) {
  const b = new NodeBrowser(cl.publicUrl, { recorder: rec, tags: { ...tags, step: 'signin' } });
  const state = randomBytes(8).toString('hex');
  const nonce = randomBytes(12).toString('hex');
  const { verifier, challenge } = pkce();
  const u = new URL(ctx.meta.authorization_endpoint);
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: client.clientId, redirect_uri: client.redirectUri, scope: 'openid', state, nonce, code_challenge: challenge, code_challenge_method: 'S256' })) u.searchParams.set(k, v);
  const s = await b.signIn(u.href, { username: USERS.single, password: DEMO_PASSWORD });
  if (!s.code || s.state !== state) {
    rec.markBad(b.last, `no code: ${describePages(s.pages)} last: ${describeRes(s.page).slice(0, 300)}`);
    return undefined;
  }
  const tr = await recordedFetch(rec, { ...tags, step: 'token' }, ctx.meta.token_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${b64(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: s.code, redirect_uri: client.redirectUri, code_verifier: verifier }).toString(),
  });
  if (tr.status !== 200 || !tr.json?.access_token || !tr.json?.id_token) {
    rec.markBad(tr.rec, `token: ${tr.status} ${tr.text.slice(0, 200)}`);
    return undefined;
  }
  // a token response is what a client keeps: from here on it must be in the store
  const idt = await jose.jwtVerify(tr.json.id_token, ctx.jwks, { issuer: ctx.issuer, audience: client.clientId, algorithms: ['RS256'] });
  assert.equal(idt.payload.nonce, nonce, 'the ID token of this flow');
  const tok = { op: tags.op, kind, nonce, sid: idt.payload.sid, sub: idt.payload.sub, accessToken: tr.json.access_token, idToken: tr.json.id_token, clientId: client.clientId, at: tr.rec.end };
  out.tokens.push(tok);
  const ui = await recordedFetch(rec, { ...tags, step: 'userinfo' }, ctx.meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tok.accessToken}` } });
  if (ui.status !== 200 || ui.json?.sub !== tok.sub) {
    rec.markBad(ui.rec, `userinfo: ${ui.status} ${ui.text.slice(0, 200)}`);
    return undefined;
  }
  tok.browser = b;
  return tok;
}

/** A sign-in of the back-channel client, then its RP-initiated logout. */
async function signInAndOut(rec, tags, out) {
  const tok = await signIn(rec, tags, ctx.bcClient, out, 'logout');
  if (!tok) return false;
  const u = new URL(ctx.meta.end_session_endpoint);
  u.searchParams.set('id_token_hint', tok.idToken);
  u.searchParams.set('post_logout_redirect_uri', POST_LOGOUT_URI);
  u.searchParams.set('state', 'bye');
  tok.browser.tags = { ...tags, step: 'logout' };
  const res = await tok.browser.get(u.href);
  if (res.status !== 303 || !res.location?.startsWith(POST_LOGOUT_URI)) {
    rec.markBad(res.rec, `logout: ${describeRes(res).slice(0, 300)}`);
    return false;
  }
  out.logouts.push({ sid: tok.sid, clientId: ctx.bcClient.clientId, op: tags.op });
  return true;
}

/** A portal account registration (an onboarding record, and its verification e-mail in the outbox). */
async function register(rec, tags, out) {
  const email = `load-${tags.op}-${randomBytes(4).toString('hex')}@supplier.example`;
  const r = await recordedFetch(rec, { ...tags, step: 'account' }, `${cl.publicUrl}/api/v1/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ given_name: 'Load', family_name: `Worker ${tags.worker}`, email, password: 'a long enough password' }),
  });
  if (r.status !== 202 || !r.json?.uid) {
    rec.markBad(r.rec, `account: ${r.status} ${r.text.slice(0, 200)}`);
    return false;
  }
  out.accounts.push({ uid: r.json.uid, email });
  return true;
}

/**
 * Start `WORKERS` workers looping over operations until stop(); resolves {stop()} whose promise
 * settles once every worker finished its current operation.
 */
function startLoad(rec, out, phase) {
  let stopping = false;
  let seq = 0;
  const worker = async (w) => {
    while (!stopping) {
      const n = seq++;
      const tags = { worker: w, op: `${phase}-${n}`, phase };
      let ok = false;
      try {
        // of every six operations: three sign-ins, two signed in and out, one registration
        const k = n % 6;
        if (k === 0 || k === 2 || k === 4) ok = !!(await signIn(rec, { ...tags, kind: 'signin' }, ctx.client, out, 'signin'));
        else if (k === 1 || k === 3) ok = await signInAndOut(rec, { ...tags, kind: 'logout' }, out);
        else ok = await register(rec, { ...tags, kind: 'account' }, out);
      } catch (e) {
        if (!e.rec) throw e; // not a failed request: a bug (or a real careid fault, e.g. a bad ID token)
      }
      if (ok) out.ops.done++;
      else {
        out.ops.failed++;
        await sleep(100); // no busy loop while the service is away
      }
    }
  };
  const all = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  return { stop: async () => { stopping = true; await all; } };
}

// ---------------------------------------------------------------------------------------------
// The checks

async function pool(items, n, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (i < items.length) await fn(items[i++]); }));
}

const inList = (xs) => xs.map((x) => `'${String(x).replace(/'/g, "''")}'`).join(',') || "''";

/**
 * Every state the clients were told was committed, looked up in the store (and access tokens
 * at userinfo). Resolves {lost: [...descriptions], counts: {sessions, codes, tokens, onboarding,
 * outbox}}.
 */
async function findCommitted(out) {
  const sql = (q) => cl.nodes[0].server.sql(q);
  const lost = [];
  const clientIds = [ctx.client.clientId, ctx.bcClient.clientId];
  const codes = new Map();
  for (const r of await sql(`SELECT grant_data::json->>'nonce' AS nonce, code_hash, used_at FROM codes WHERE client_id IN (${inList(clientIds)})`)) {
    codes.set(r.nonce, [...(codes.get(r.nonce) || []), r]);
  }
  const tokens = new Map();
  for (const r of await sql(`SELECT grant_data::json->>'nonce' AS nonce, kind, code_hash, revoked_at FROM tokens WHERE client_id IN (${inList(clientIds)})`)) {
    tokens.set(r.nonce, [...(tokens.get(r.nonce) || []), r]);
  }
  const sids = out.tokens.map((t) => t.sid);
  const sessions = new Map((await sql(`SELECT sid, ended_at FROM sessions WHERE env = 'mock' AND sid IN (${inList(sids)})`)).map((r) => [r.sid, r]));
  const counts = { sessions: 0, codes: 0, tokens: 0, onboarding: 0, outbox: 0 };
  for (const t of out.tokens) {
    const s = sessions.get(t.sid);
    if (!s) lost.push(`session ${t.sid} (op ${t.op})`);
    else counts.sessions++;
    const c = codes.get(t.nonce) || [];
    if (c.length !== 1 || c[0].used_at === null) lost.push(`code of op ${t.op}: ${JSON.stringify(c)}`);
    else counts.codes++;
    const access = (tokens.get(t.nonce) || []).filter((x) => x.kind === 'access' && c[0] && x.code_hash === c[0].code_hash);
    if (access.length !== 1) lost.push(`access token of op ${t.op}: ${JSON.stringify(tokens.get(t.nonce) || [])}`);
    else counts.tokens++;
  }
  // the access tokens of sessions nobody ended still work (at userinfo, through HAProxy)
  const live = out.tokens.filter((t) => t.kind === 'signin');
  await pool(live, 6, async (t) => {
    const r = await fetch(ctx.meta.userinfo_endpoint, { headers: { authorization: `Bearer ${t.accessToken}` }, signal: AbortSignal.timeout(15000) });
    const body = await r.text();
    if (r.status !== 200 || JSON.parse(body).sub !== t.sub) lost.push(`access token of op ${t.op} at userinfo: ${r.status} ${body.slice(0, 200)}`);
  });
  const uids = out.accounts.map((a) => a.uid);
  const accounts = new Set((await sql(`SELECT uid FROM onboarding_accounts WHERE uid IN (${inList(uids)})`)).map((r) => r.uid));
  const verifications = new Set((await sql(`SELECT uid FROM onboarding_verifications WHERE uid IN (${inList(uids)})`)).map((r) => r.uid));
  const mails = (await sql("SELECT payload FROM outbox WHERE kind = 'email'")).map((r) => r.payload.toLowerCase());
  for (const a of out.accounts) {
    if (!accounts.has(a.uid)) lost.push(`onboarding account ${a.uid}`);
    else counts.onboarding++;
    if (!verifications.has(a.uid)) lost.push(`onboarding verification of ${a.uid}`);
    if (!mails.some((p) => p.includes(a.email.toLowerCase()))) lost.push(`verification e-mail (outbox) to ${a.email}`);
    else counts.outbox++;
  }
  const logoutRows = await sql(`SELECT payload::json->>'sid' AS sid, state FROM outbox WHERE kind = 'backchannel_logout' AND payload::json->>'client_id' = '${ctx.bcClient.clientId}'`);
  const bySid = new Map(logoutRows.map((r) => [r.sid, r]));
  const states = {};
  for (const l of out.logouts) {
    const m = bySid.get(l.sid);
    if (!m) { lost.push(`back-channel logout message of session ${l.sid} (op ${l.op})`); continue; }
    counts.outbox++;
    states[m.state] = (states[m.state] || 0) + 1;
    if (!['pending', 'delivered'].includes(m.state)) lost.push(`back-channel logout message of ${l.sid} is ${m.state}`);
    if (sessions.get(l.sid)?.ended_at == null) lost.push(`session ${l.sid} was logged out (303) but has not ended`);
  }
  return { lost, counts, logoutStates: states };
}

/** Records of one phase; errors are the ones with ok === false. */
function tally(rec, phase) {
  const all = rec.records.filter((r) => r.phase === phase);
  const unfinished = all.filter((r) => r.end === undefined);
  assert.deepEqual(unfinished, [], 'every request ended (they all have timeouts)');
  return { all, errors: all.filter((r) => !r.ok), ok: all.filter((r) => r.ok) };
}

const describeRec = (r) => `${r.id} w${r.worker} ${r.op} ${r.step} ${r.method} ${new URL(r.url).pathname} start +${r.start - tally.t0}ms end +${r.end - tally.t0}ms → ${r.status ?? r.error}${r.error && r.status ? ` (${r.error})` : ''}`;

const summaryCounts = (c) => `sessions ${c.sessions}, codes ${c.codes}, tokens ${c.tokens}, onboarding records ${c.onboarding}, outbox messages ${c.outbox}`;

// ---------------------------------------------------------------------------------------------

ctest('fault 1: node B killed with SIGKILL under load: no committed state lost, errors only in flight on B', async (t) => {
  const rec = new Recorder();
  const out = newOutcome();
  const [A, B] = cl.nodes;
  tally.t0 = Date.now();
  const load = startLoad(rec, out, 'kill');
  await sleep(4000);
  const killAt = Date.now();
  const st = await B.server.kill();
  const killed = Date.now();
  assert.equal(st.signal, 'SIGKILL');
  await sleep(4500);
  await load.stop();
  const stoppedAt = Date.now();
  const states = await cl.hap.states();
  assert.equal(states.b, 'DOWN', `HAProxy took B out: ${JSON.stringify(states)}`);
  assert.equal(states.a, 'UP', `A serves: ${JSON.stringify(states)}`);
  assert.equal(A.server.child.exitCode, null, 'A still runs');

  const { all, errors, ok } = tally(rec, 'kill');
  await cl.hap.readLogs();
  // HAProxy's record of each failed request: the node it went to, and retries
  const why = errors.map((r) => ({ r, log: cl.hap.logsOf(r.id)[0] }));
  // A request in flight on B when it died fails in one of two ways:
  //  - HAProxy answers 502 and logs it against server b (or as retried, for a GET first sent
  //    to b whose retry failed too);
  //  - on a client connection that carried a request before, HAProxy closes the connection
  //    without an answer and without a log line: it tells the client that nothing was
  //    processed... as far as HAProxy knows (HTTP/1.1 behaviour, github.com/haproxy/haproxy
  //    issue 3414). The client sees the connection closed (undici: UND_ERR_SOCKET "other side
  //    closed") at the moment B died: between the SIGKILL and the exit, plus a little.
  const in502 = (x) => x.log && (x.log.server === 'b' || x.log.retries > 0);
  const closed = (x) => !x.log && /^UND_ERR_SOCKET \(other side closed/.test(x.r.error || '') && x.r.end <= killed + 500;
  const inFlightOnB = (x) => x.r.start <= killed && x.r.end >= killAt && (in502(x) || closed(x));
  const bad = why.filter((x) => !inFlightOnB(x));
  const detectWindow = why.filter((x) => x.r.start > killed && x.r.start <= killed + DETECTION_MS);
  t.diagnostic(`kill at +${killAt - tally.t0} ms, load stopped at +${stoppedAt - tally.t0} ms; ${all.length} requests, ${errors.length} errors (${detectWindow.length} started in HAProxy's detection window of ${DETECTION_MS} ms after the kill)`);
  for (const x of why) t.diagnostic(`  error: ${describeRec(x.r)} haproxy: ${x.log ? `${x.log.server} ${x.log.status} ${x.log.term} retries ${x.log.retries}` : 'no log line'}`);
  if (errors.length) {
    for (const l of cl.hap.logs.filter((x) => x.at >= killAt - 200 && x.at <= killed + 1000)) t.diagnostic(`  haproxy near the kill: +${l.at - tally.t0}ms ${JSON.stringify(l)}`);
  }
  const afterKill = ok.filter((r) => r.start > killed);
  const servedAfter = new Set(afterKill.map((r) => cl.hap.logsOf(r.id)[0]?.server));
  t.diagnostic(`after the kill: ${afterKill.length} requests succeeded, served by ${[...servedAfter].join(', ')}`);

  const { lost, counts, logoutStates } = await findCommitted(out);
  const delivered = new Set(ep.valid.map((r) => r.claims.sid));
  t.diagnostic(`operations: ${out.ops.done} completed, ${out.ops.failed} failed; back-channel messages ${JSON.stringify(logoutStates)}, logout tokens received for ${out.logouts.filter((l) => delivered.has(l.sid)).length} of ${out.logouts.length} logouts`);
  const how = `${why.filter(in502).length} answered 502 by HAProxy, ${why.filter(closed).length} connections closed by HAProxy`;
  const verdict = errors.length === 0 ? '' : bad.length === 0 ? ` (all in flight on the killed node: ${how})` : ` (${bad.length} NOT in flight on the killed node)`;
  const line = `fault: requests sent ${all.length}, succeeded ${ok.length}, errors ${errors.length}${verdict}, lost records ${lost.length} (${summaryCounts(counts)})`;
  t.diagnostic(line);

  assert.ok(out.tokens.length > 5 && out.accounts.length > 0 && out.logouts.length > 0, `a real load: ${out.tokens.length} token responses, ${out.accounts.length} accounts, ${out.logouts.length} logouts`);
  assert.ok(afterKill.length > 10, 'the load went on after the kill');
  assert.deepEqual([...servedAfter], ['a'], 'requests started after the kill were served by A');
  assert.deepEqual(lost, [], 'no committed state lost');
  assert.deepEqual(bad.map((x) => describeRec(x.r)), [], 'no error but for requests in flight on B when it was killed');
});

ctest('fault 2: PostgreSQL restarted under load: the same careid processes reconnect', async (t) => {
  const [A, B] = cl.nodes;
  if (B.server.stopped) await cl.startNode(1); // the node killed by fault 1, started again
  await cl.hap.waitStates({ a: 'UP', b: 'UP' });
  const pids = cl.nodes.map((n) => n.server.child.pid);
  const rec = new Recorder();
  const out = newOutcome();
  tally.t0 = Date.now();
  const load = startLoad(rec, out, 'pg');
  await sleep(3000);
  const stopAt = Date.now();
  await pg.stop();
  const stoppedAt = Date.now();
  await sleep(1500);
  const startAt = Date.now();
  await pg.start();
  const startedAt = Date.now();
  // the window: from the stop to HAProxy having put the nodes back (rise checks)
  const windowEnd = startedAt + RECOVERY_MS;
  await sleep(Math.max(0, windowEnd + 3000 - Date.now()));
  await load.stop();
  cl.nodes.forEach((n, i) => {
    assert.equal(n.server.child.pid, pids[i], `node ${n.name}: the same process`);
    assert.equal(n.server.child.exitCode, null, `node ${n.name} still runs`);
  });

  const { all, errors, ok } = tally(rec, 'pg');
  await cl.hap.readLogs();
  const outside = errors.filter((r) => r.end < stopAt || r.start > windowEnd);
  t.diagnostic(`PostgreSQL stop at +${stopAt - tally.t0} ms (down at +${stoppedAt - tally.t0}), start at +${startAt - tally.t0} ms (up at +${startedAt - tally.t0}), window ends +${windowEnd - tally.t0} ms; ${all.length} requests, ${errors.length} errors`);
  const first = errors[0];
  const last = errors[errors.length - 1];
  if (first) t.diagnostic(`errors from +${Math.min(...errors.map((r) => r.start)) - tally.t0} ms to +${Math.max(...errors.map((r) => r.end)) - tally.t0} ms; e.g. ${describeRec(first)} … ${describeRec(last)}`);
  for (const r of outside) t.diagnostic(`  error outside the window: ${describeRec(r)}`);
  const afterUp = ok.filter((r) => r.start > windowEnd);
  const servedAfter = new Set(afterUp.map((r) => cl.hap.logsOf(r.id)[0]?.server));
  // when the nodes answered again: the first success started after PostgreSQL was back
  const firstOk = ok.filter((r) => r.start >= startedAt).sort((x, y) => x.end - y.end)[0];
  t.diagnostic(`after the restart: first success ended ${firstOk ? firstOk.end - startedAt : '?'} ms after PostgreSQL was up; ${afterUp.length} requests succeeded after the window, served by ${[...servedAfter].join(', ')}`);

  const { lost, counts } = await findCommitted(out);
  const window = ((windowEnd - stopAt) / 1000).toFixed(1);
  const down = ((startedAt - stopAt) / 1000).toFixed(1);
  const lastError = errors.length ? Math.max(...errors.map((r) => r.end)) : undefined;
  const recovered = lastError === undefined ? '' : `, the last ended ${((lastError - startedAt) / 1000).toFixed(1)} s after PostgreSQL was back`;
  const line = `fault (PostgreSQL restart): requests sent ${all.length}, succeeded ${ok.length}, errors ${errors.length} (${outside.length === 0 ? `all during the restart window of ${window} s: PostgreSQL away ${down} s, then HAProxy's health checks${recovered}` : `${outside.length} OUTSIDE the restart window`}), lost records ${lost.length} (${summaryCounts(counts)}); the same careid processes throughout`;
  t.diagnostic(line);

  assert.ok(afterUp.length > 10, `requests succeed again after the restart: ${afterUp.length}`);
  assert.deepEqual([...servedAfter].sort(), ['a', 'b'], 'by both nodes');
  assert.deepEqual(lost, [], 'no committed state lost');
  assert.deepEqual(outside.map(describeRec), [], 'no error outside the restart window');
});
