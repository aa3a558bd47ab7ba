// Several careid nodes (issue 8): two `careid serve` processes behind HAProxy share one
// PostgreSQL database, and behave as one provider.
//   a. a sign-in started on one node finishes on the other (each step on a chosen node), and
//      the same through HAProxy;
//   b. a key rotation done through one node's CLI is published, and used, by both;
//   c. each back-channel logout message is delivered once while both nodes' outbox workers run;
//   d. failed passwords alternating between the nodes are throttled as on one node;
//   e. /readyz turns 503 on both nodes when PostgreSQL stops, HAProxy takes both out, and both
//      come back, without a restart of careid, when it starts again.
// The PostgreSQL server is this file's own (lib/cluster.mjs), so (e) can stop and start it.
import assert from 'node:assert/strict';
import http from 'node:http';
import { before } from 'node:test';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { startPg, startCluster, probe, until, sleep, clusterTests } from './lib/cluster.mjs';
import { NodeBrowser, routedFetch } from './lib/route.mjs';
import { DETECTION_MS, RECOVERY_MS } from './lib/haproxy.mjs';
import { describePages, describeRes, textOf } from '../e2e/lib/browser.mjs';
import { startLogoutRp, LOGOUT_EVENT } from '../e2e/lib/logout-rp.mjs';

const pg = await startPg(); // before careid.mjs is loaded: it picks its backend when loaded
const careid = await import('../e2e/lib/careid.mjs');
const { USERS, DEMO_PASSWORD, registerClient, describeCli } = careid;
const POST_LOGOUT_URI = 'http://127.0.0.1:9/logged-out';

let cl;
let lrp;
before(async () => {
  cl = await startCluster(careid);
  lrp = await startLogoutRp();
});
const ctest = clusterTests(() => ({ cl, lrp }), pg);

const A = () => cl.nodes[0];
const B = () => cl.nodes[1];
const issuer = () => `${cl.publicUrl}/realms/mock`;

/**
 * An openid-client configuration for `client` whose requests go to holder.route (a node's
 * origin) or through HAProxy when unset. Discovered afresh each time (its JWKS cache too).
 */
async function routedRp(client, holder = {}) {
  const config = await oidc.discovery(new URL(issuer()), client.clientId,
    { redirect_uris: [client.redirectUri], id_token_signed_response_alg: 'RS256' },
    oidc.ClientSecretBasic(client.clientSecret),
    { execute: [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks], timeout: 15, [oidc.customFetch]: routedFetch(cl.publicUrl, holder) });
  return { config, holder, client, meta: config.serverMetadata() };
}

async function authorizationUrl(rp, params = {}) {
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.client.redirectUri, scope: 'openid', state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...params,
  }).href;
  return { url, state, nonce, verifier };
}

/** GET a node's JWKS directly; resolves the kids. */
async function kidsOf(node) {
  const r = await fetch(`${node.origin}/realms/mock/connect/jwk_uri`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200, `JWKS of node ${node.name}`);
  return (await r.json()).keys.map((k) => k.kid);
}

/**
 * A whole code flow with every request on `node` (undefined: through HAProxy): sign-in pages,
 * token exchange, userinfo. Resolves {tokens, claims, header, userinfo, browser, via}.
 */
async function flowOn(node, client, { user = USERS.single } = {}) {
  const rp = await routedRp(client, { route: node?.origin });
  const b = new NodeBrowser(cl.publicUrl);
  b.route = node?.origin;
  const authz = await authorizationUrl(rp);
  const s = await b.signIn(authz.url, { username: user, password: DEMO_PASSWORD });
  assert.ok(s.code, `a code from ${node ? `node ${node.name}` : 'HAProxy'}: ${describePages(s.pages)}\n    last: ${describeRes(s.page)}`);
  const tokens = await oidc.authorizationCodeGrant(rp.config, new URL(s.location),
    { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
  const claims = tokens.claims();
  const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub);
  return { tokens, claims, header: jose.decodeProtectedHeader(tokens.id_token), userinfo, browser: b };
}

/**
 * An HTTP server on 127.0.0.1 that waits `delayMs`, then forwards each POST to `target` and
 * relays the answer: a slow relying party in front of lib/logout-rp.mjs's endpoint.
 */
async function slowForwarder(target, delayMs) {
  const srv = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    await sleep(delayMs);
    try {
      const r = await fetch(target, { method: req.method, headers: { 'content-type': req.headers['content-type'] || '' }, body: Buffer.concat(chunks), signal: AbortSignal.timeout(10000) });
      const body = Buffer.from(await r.arrayBuffer());
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') || 'text/plain', 'cache-control': 'no-store' }).end(body);
    } catch {
      res.writeHead(502).end();
    }
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${srv.address().port}/logout`,
    close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
  };
}

ctest('a. a sign-in started on one node finishes on the other, step by step; and through HAProxy', async (t) => {
  const client = await registerClient(A().server);
  const rp = await routedRp(client, {});
  const authz = await authorizationUrl(rp, { scope: 'openid selectedrole' });
  const b = new NodeBrowser(cl.publicUrl);
  const on = (node) => { b.route = node.origin; };
  const pages = [];
  const trail = () => `\n    ${describePages(pages)}\n    (via: ${b.history.map((x) => x.via).join(', ')})`;

  // the authorization request on A
  on(A());
  let res = await b.get(authz.url);
  ({ res } = await b.follow(res, pages));
  assert.equal(res.kind, 'login', `node A shows the sign-in form: ${trail()}`);
  // the sign-in form posted to B
  on(B());
  res = await b.submit(res.form, { username: USERS.multi, password: DEMO_PASSWORD });
  // the redirect to the role page followed on A; the role chosen on A
  on(A());
  ({ res } = await b.follow(res, pages));
  assert.equal(res.kind, 'role', `node A shows the role page of the sign-in B took: ${trail()}`);
  const chosen = res.form.radios.role[1].value; // not the default: the choice must travel
  res = await b.submit(res.form, { role: chosen });
  // any further redirect on B, up to the client's redirect URI
  on(B());
  ({ res } = await b.follow(res, pages));
  assert.ok(res.location?.startsWith(client.redirectUri), `back to the client with a code: ${trail()}`);
  const vias = new Set(b.history.map((x) => x.via));
  assert.deepEqual([...vias].sort(), [A().origin, B().origin].sort(), 'both nodes took part');

  // the code exchanged at B, the access token used at A
  rp.holder.route = B().origin;
  const tokens = await oidc.authorizationCodeGrant(rp.config, new URL(res.location),
    { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
  const claims = tokens.claims();
  assert.equal(claims.iss, issuer(), 'one issuer: the public URL');
  assert.equal(claims.sub, USERS.multi);
  assert.equal(claims.aud, client.clientId);
  assert.equal(claims.selected_roleid, chosen, 'the role chosen on A is in the ID token B issued');
  assert.ok(claims.sid, 'a session id');
  for (const node of cl.nodes) {
    const jwks = jose.createLocalJWKSet(await (await fetch(`${node.origin}/realms/mock/connect/jwk_uri`, { signal: AbortSignal.timeout(5000) })).json());
    await jose.jwtVerify(tokens.id_token, jwks, { issuer: issuer(), audience: client.clientId, algorithms: ['RS256'] });
  }
  rp.holder.route = A().origin;
  const ui = await oidc.fetchUserInfo(rp.config, tokens.access_token, USERS.multi);
  assert.equal(ui.selected_roleid, chosen, 'userinfo at A');
  // the session is one: a prompt=none request at B answers at once, with the same sid
  on(B());
  rp.holder.route = B().origin;
  const again = await authorizationUrl(rp, { prompt: 'none' });
  const sso = await b.signIn(again.url, {});
  assert.ok(sso.code, `the session started across A and B is known to B: ${describePages(sso.pages)}`);
  const t2 = await oidc.authorizationCodeGrant(rp.config, new URL(sso.location),
    { expectedState: again.state, expectedNonce: again.nonce, pkceCodeVerifier: again.verifier });
  assert.equal(t2.claims().sid, claims.sid, 'the same session');

  // the same flow through HAProxy (round robin: its requests are spread over both nodes)
  const mark = (await cl.hap.readLogs()).length;
  const via = await flowOn(undefined, client, { user: USERS.multi });
  await cl.hap.readLogs();
  assert.equal(via.claims.sub, USERS.multi);
  assert.equal(via.userinfo.sub, USERS.multi);
  const served = new Set(cl.hap.logs.slice(mark).map((l) => l.server));
  t.diagnostic(`through HAProxy: ${cl.hap.logs.length - mark} requests, served by ${[...served].join(', ')}`);
  assert.ok(served.has('a') && served.has('b'), `HAProxy sent the flow's requests to both nodes: ${[...served]}`);
});

ctest('b. a key rotation through node A\'s CLI is published and used by both nodes', async (t) => {
  const client = await registerClient(A().server);
  const before = await flowOn(A(), client);
  const oldKid = before.header.kid;
  for (const node of cl.nodes) assert.ok((await kidsOf(node)).includes(oldKid), `node ${node.name} publishes ${oldKid}`);

  const rot = await A().server.cli('keys rotate', ['--env', 'mock']);
  assert.equal(rot.code, 0, describeCli(rot));
  const newKid = rot.json.kid;
  assert.ok(newKid && newKid !== oldKid, describeCli(rot));
  const rotatedAt = Date.now();
  // each node follows within about a second (src/oidc/keys.h); allow 5
  for (const node of cl.nodes) {
    const kids = await until(`node ${node.name} publishes the new key first`, async () => {
      const k = await kidsOf(node);
      return k[0] === newKid ? k : { ok: false, kids: k };
    }, { timeoutMs: 5000, every: 100 });
    assert.ok(kids.includes(oldKid), `node ${node.name} still publishes the retired key: ${kids}`);
    t.diagnostic(`node ${node.name}: the new key is published ${Date.now() - rotatedAt} ms after the rotation`);
  }
  for (const node of cl.nodes) {
    const f = await flowOn(node, client);
    assert.equal(f.header.kid, newKid, `node ${node.name} signs with the new key`);
  }
  const viaHap = await flowOn(undefined, client);
  assert.equal(viaHap.header.kid, newKid, 'through HAProxy too');
  // what the old key signed still verifies at both nodes' JWKS
  for (const node of cl.nodes) {
    const jwks = jose.createLocalJWKSet(await (await fetch(`${node.origin}/realms/mock/connect/jwk_uri`, { signal: AbortSignal.timeout(5000) })).json());
    await jose.jwtVerify(before.tokens.id_token, jwks, { issuer: issuer(), audience: client.clientId, algorithms: ['RS256'] });
  }
});

ctest('c. each back-channel logout message is delivered once, with both nodes\' outbox workers running', async (t) => {
  const N = 12;
  const ep = lrp.endpoint('cluster-once');
  // each delivery takes a while (a slow RP), so that while one node's worker is busy with a
  // message the other's finds the rest due: both claim, and race for, the same messages
  const slow = await slowForwarder(ep.url, 150);
  t.after(() => slow.close());
  const client = await registerClient(A().server, { extraFlags: ['--backchannel-logout-uri', slow.url, '--post-logout-redirect-uri', POST_LOGOUT_URI] });
  ep.expect({ issuer: issuer(), audience: client.clientId });
  // N sessions, signed in alternately on A and B
  const sessions = [];
  for (let i = 0; i < N; i++) sessions.push(await flowOn(cl.nodes[i % 2], client));
  const sids = sessions.map((s) => s.claims.sid);
  assert.equal(new Set(sids).size, N, 'N sessions');
  const logMarks = cl.nodes.map((n) => n.server.logs.length);

  // all ended at once, half at each node
  const ended = await Promise.all(sessions.map(async (s, i) => {
    const node = cl.nodes[(i + 1) % 2];
    s.browser.route = node.origin;
    const rp = await routedRp(client, { route: node.origin });
    const u = new URL(rp.meta.end_session_endpoint);
    u.searchParams.set('id_token_hint', s.tokens.id_token);
    u.searchParams.set('post_logout_redirect_uri', POST_LOGOUT_URI);
    u.searchParams.set('state', `s${i}`);
    return s.browser.get(u.href);
  }));
  ended.forEach((res, i) => assert.equal(res.status, 303, `session ${i} ended: ${describeRes(res)}`));

  await ep.waitFor(() => new Set(ep.valid.map((r) => r.claims.sid)).size >= N, { timeoutMs: 30000, what: `logout tokens for all ${N} sessions` });
  // a second delivery, if any, would come within a few of the workers' polls (500 ms)
  await sleep(3000);
  const bySid = new Map();
  for (const r of ep.valid) bySid.set(r.claims.sid, [...(bySid.get(r.claims.sid) || []), r]);
  assert.deepEqual(ep.invalid.map((r) => r.error), [], `no invalid logout tokens: ${ep.describe()}`);
  for (const sid of sids) {
    assert.equal(bySid.get(sid)?.length, 1, `exactly one logout token for session ${sid}: ${ep.describe()}`);
    const [r] = bySid.get(sid);
    assert.deepEqual(r.claims.events, { [LOGOUT_EVENT]: {} });
    assert.equal(r.answered, 200);
  }
  assert.equal(ep.received.length, N, `nothing more than one token per session: ${ep.describe()}`);
  assert.equal(new Set(ep.valid.map((r) => r.claims.jti)).size, N, 'distinct jtis');
  // and the store agrees: one message per session, delivered at its first attempt
  const rows = await A().server.sql(`SELECT payload::json->>'sid' AS sid, state, attempts FROM outbox WHERE kind = 'backchannel_logout' AND payload::json->>'client_id' = '${client.clientId}'`);
  assert.equal(rows.length, N, JSON.stringify(rows));
  for (const r of rows) assert.deepEqual([r.state, r.attempts], ['delivered', 1], `message of session ${r.sid}: ${JSON.stringify(r)}`);
  const perNode = cl.nodes.map((n, i) => n.server.logsSince(logMarks[i]).filter((l) => l.includes('"outbox_attempt"') && l.includes('"delivered"')).length);
  t.diagnostic(`deliveries by node: A ${perNode[0]}, B ${perNode[1]}`);
  assert.equal(perNode[0] + perNode[1], N, 'the nodes\' logs show N deliveries in all');
  assert.ok(perNode[0] > 0 && perNode[1] > 0, `both nodes' workers delivered some: A ${perNode[0]}, B ${perNode[1]}`);
});

ctest('d. failed passwords alternating between the nodes are throttled as on one node', async () => {
  const uid = '910000000005';
  const client = await registerClient(A().server);
  const rp = await routedRp(client, { route: A().origin });
  const b = new NodeBrowser(cl.publicUrl);
  b.route = A().origin;
  const authz = await authorizationUrl(rp);
  const stop = await b.signIn(authz.url, { stopAt: 'login' });
  let res = stop.page;
  assert.equal(res.kind, 'login', describeRes(res));
  const seen = [];
  for (let i = 0; i < 6; i++) {
    b.route = cl.nodes[(i + 1) % 2].origin; // B, A, B, A, B, A
    res = await b.submit(res.form, { username: uid, password: `wrong-${i}` });
    seen.push(`${i % 2 ? 'A' : 'B'}:${res.status}`);
  }
  // as on one node (tests/e2e/authn-totp.test.mjs): three free failures, the fourth sets a
  // 2 s delay (src/authn/throttle.h, the user-from-one-address counter), the next ones wait
  assert.deepEqual(seen, ['B:200', 'A:200', 'B:200', 'A:200', 'B:429', 'A:429'], `four attempts checked, then 429 on either node: ${seen}`);
  assert.match(textOf(res.body), /too many attempts/i);
  assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
  b.route = B().origin;
  res = await b.submit(res.form, { username: uid, password: DEMO_PASSWORD });
  assert.equal(res.status, 429, 'even the right password waits, at the other node');
  const rows = await A().server.sql(`SELECT action, COUNT(*) AS n FROM audit_events WHERE subject = 'user:${uid}' AND action IN ('signin.failed', 'signin.throttled') GROUP BY action ORDER BY action`);
  assert.deepEqual(rows, [{ action: 'signin.failed', n: 4 }, { action: 'signin.throttled', n: 3 }], 'every attempt in the one audit trail');
});

ctest('e. /readyz turns 503 when PostgreSQL is unreachable, and 200 again when it is back, without a restart of careid', async (t) => {
  const client = await registerClient(A().server);
  const pids = cl.nodes.map((n) => n.server.child.pid);
  for (const n of cl.nodes) assert.equal((await probe(`${n.origin}/readyz`)).status, 200, `node ${n.name} ready before`);

  const stoppedAt = Date.now();
  await pg.stop();
  const down = Date.now();
  t.diagnostic(`PostgreSQL stopped in ${down - stoppedAt} ms`);
  for (const n of cl.nodes) {
    const r = await until(`node ${n.name} /readyz answers 503 without PostgreSQL`, async () => {
      const p = await probe(`${n.origin}/readyz`);
      return p.status === 503 ? p : { ok: false, ...p };
    }, { timeoutMs: 5000, every: 100 });
    t.diagnostic(`node ${n.name}: /readyz ${r.status} ${Date.now() - down} ms after PostgreSQL stopped`);
  }
  await cl.hap.waitStates({ a: 'DOWN', b: 'DOWN' }, DETECTION_MS + 3000);
  t.diagnostic(`HAProxy: both nodes DOWN ${Date.now() - down} ms after PostgreSQL stopped`);
  const viaHap = await probe(`${cl.publicUrl}/realms/mock/.well-known/openid-configuration`);
  assert.equal(viaHap.status, 503, 'HAProxy answers 503 with no node ready');

  await pg.start();
  const up = Date.now();
  for (const n of cl.nodes) {
    await until(`node ${n.name} /readyz answers 200 again`, async () => {
      const p = await probe(`${n.origin}/readyz`);
      return p.status === 200 ? p : { ok: false, ...p };
    }, { timeoutMs: 10000, every: 100 });
    t.diagnostic(`node ${n.name}: /readyz 200 ${Date.now() - up} ms after PostgreSQL started`);
  }
  await cl.hap.waitStates({ a: 'UP', b: 'UP' }, RECOVERY_MS + 3000);
  // the same processes: nothing restarted
  cl.nodes.forEach((n, i) => {
    assert.equal(n.server.child.pid, pids[i]);
    assert.equal(n.server.child.exitCode, null, `node ${n.name} still running`);
  });
  // full sign-ins succeed again: through HAProxy, and on each node
  const f = await flowOn(undefined, client);
  assert.equal(f.userinfo.sub, USERS.single);
  for (const n of cl.nodes) assert.equal((await flowOn(n, client)).userinfo.sub, USERS.single, `node ${n.name} signs in`);
});
