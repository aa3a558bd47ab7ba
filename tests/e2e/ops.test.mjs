// Operations: health and readiness, Prometheus metrics, request ids, JSON logs, clean SIGTERM.
import assert from 'node:assert/strict';
import { setupServer, USERS, DEMO_PASSWORD } from './lib/careid.mjs';
import { Browser } from './lib/browser.mjs';
import { makeRp, userinfoRaw } from './lib/rp.mjs';

const h = setupServer();

/** Parse Prometheus text: [{name, labels:{}, value}] (also checks every line's syntax). */
function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      if (line.startsWith('# ')) assert.match(line, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/, `metrics comment line: ${line}`);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|NaN|\+Inf|-Inf))(?: -?\d+)?$/.exec(line);
    assert.ok(m, `metrics sample line must be Prometheus text format: ${JSON.stringify(line)}`);
    const labels = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;
      let lm; let consumed = 0;
      while ((lm = re.exec(m[2]))) { labels[lm[1]] = lm[2]; consumed = re.lastIndex; }
      assert.equal(consumed, m[2].length, `label syntax: ${line}`);
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

async function metrics(server) {
  const r = await fetch(`${server.url}/metrics`);
  assert.equal(r.status, 200, '/metrics answers 200');
  assert.match(r.headers.get('content-type') || '', /^text\/plain/, `Prometheus text content type, saw ${r.headers.get('content-type')}`);
  return parseMetrics(await r.text());
}

const sum = (samples, name, pred = () => true) => samples.filter((s) => s.name === name && pred(s.labels)).reduce((a, s) => a + s.value, 0);

h.test('/healthz and /readyz answer 200', async (t, server) => {
  for (const p of ['/healthz', '/readyz']) {
    const r = await fetch(`${server.url}${p}`);
    assert.equal(r.status, 200, `${p}: ${r.status}`);
    await r.arrayBuffer();
  }
});

h.test('/metrics counts requests by route and status, and sign-ins by result', async (t, server) => {
  const rp = await makeRp(server);
  for (let i = 0; i < 3; i++) await (await fetch(`${rp.issuer}/.well-known/openid-configuration`)).arrayBuffer();
  await (await fetch(`${server.url}/no/such/path`)).arrayBuffer();
  const before = await metrics(server);
  const reqs = before.filter((s) => s.name === 'careid_http_requests_total');
  assert.ok(reqs.length > 0, 'careid_http_requests_total samples present');
  for (const s of reqs) {
    assert.ok('route' in s.labels && 'status' in s.labels, `careid_http_requests_total has route and status labels: ${JSON.stringify(s.labels)}`);
    assert.match(s.labels.status, /^[1-5]\d\d$/, 'status label is an HTTP status');
  }
  assert.ok(reqs.some((s) => s.labels.status === '200' && s.value >= 3), `at least 3 requests with status 200 counted: ${JSON.stringify(reqs)}`);
  assert.ok(reqs.some((s) => s.labels.status === '404'), `the 404 is counted: ${JSON.stringify(reqs)}`);
  assert.ok(reqs.every((s) => !s.labels.route.includes('no/such/path')), 'unknown paths do not create a route label each (bounded cardinality)');

  const signinsBefore = sum(before, 'careid_signins_total');
  await rp.codeFlow(new Browser(server.url), { user: USERS.single });
  const after = await metrics(server);
  const signins = after.filter((s) => s.name === 'careid_signins_total');
  assert.ok(signins.length > 0, 'careid_signins_total present after a sign-in');
  for (const s of signins) assert.ok('result' in s.labels, `careid_signins_total has a result label: ${JSON.stringify(s.labels)}`);
  assert.ok(sum(after, 'careid_signins_total') >= signinsBefore + 1, `careid_signins_total increases after a sign-in: ${signinsBefore} → ${sum(after, 'careid_signins_total')}`);
  assert.ok(sum(after, 'careid_http_requests_total') > sum(before, 'careid_http_requests_total'), 'request counters increase');

  // a failed sign-in is counted under another result than the successful one
  const succ = new Map(signins.map((s) => [s.labels.result, s.value]));
  const b = new Browser(server.url);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  await b.signIn(a.url, { username: USERS.single, password: 'wrong' });
  const after2 = (await metrics(server)).filter((s) => s.name === 'careid_signins_total');
  const changed = after2.filter((s) => s.value > (succ.get(s.labels.result) ?? 0)).map((s) => s.labels.result);
  assert.equal(changed.length, 1, `one result series moves on a failed sign-in: ${JSON.stringify(after2)}`);
  const successResult = signins.find((s) => s.value > 0 && !changed.includes(s.labels.result));
  assert.ok(successResult, `the failure is not counted as the success result: ${JSON.stringify(after2)}`);
});

h.test('every response carries X-Request-Id', async (t, server) => {
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const checks = [];
  const check = (what, headers) => checks.push([what, headers.get('x-request-id')]);
  for (const p of ['/healthz', '/readyz', '/metrics', '/no/such/path', '/realms/mock/.well-known/openid-configuration', '/realms/mock/connect/jwk_uri']) {
    const r = await fetch(`${server.url}${p}`);
    await r.arrayBuffer();
    check(`GET ${p} (${r.status})`, r.headers);
  }
  const authz = await b.get(a.url);
  check(`GET /authorize (${authz.status})`, authz.headers);
  const login = await b.get(authz.location);
  check(`GET sign-in page (${login.status})`, login.headers);
  const fail = await b.submit(login.form, { username: USERS.single, password: 'wrong' });
  check(`POST sign-in, wrong password (${fail.status})`, fail.headers);
  const ok = await b.submit(fail.form, { username: USERS.single, password: DEMO_PASSWORD });
  check(`POST sign-in (${ok.status})`, ok.headers);
  const badPage = await b.get(`${rp.issuer}/authorize?client_id=nope&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/cb')}`);
  check(`GET /authorize bad client (${badPage.status})`, badPage.headers);
  const tok = await rp.tokenRequest({ grant_type: 'authorization_code', code: 'nope', redirect_uri: rp.client.redirectUri });
  check(`POST /access_token error (${tok.status})`, tok.headers);
  const ui = await userinfoRaw(rp, 'nope');
  check(`GET /userinfo 401 (${ui.status})`, ui.headers);
  const missing = checks.filter(([, id]) => !id);
  assert.deepEqual(missing.map(([w]) => w), [], 'responses without X-Request-Id');
  const ids = checks.map(([, id]) => id);
  assert.equal(new Set(ids).size, ids.length, `request ids are unique: ${JSON.stringify(checks)}`);
  const logged = ids.filter((id) => server.logs.some((l) => l.includes(id)));
  t.diagnostic(`${logged.length}/${ids.length} request ids appear in the JSON logs`);
});

h.test('logs on stderr are JSON lines', async (t, server) => {
  assert.ok(server.logs.length > 0, 'careid logged something');
  const bad = server.logs.filter((l) => { try { return typeof JSON.parse(l) !== 'object'; } catch { return true; } });
  assert.deepEqual(bad.slice(0, 5), [], `non-JSON stderr lines (${bad.length})`);
});

h.test('SIGTERM: careid exits 0', async (t, server) => {
  const st = await server.stop({ keepDir: false });
  assert.deepEqual({ code: st.code, signal: st.signal }, { code: 0, signal: null }, `exit status after SIGTERM: ${JSON.stringify(st)}`);
  await assert.rejects(fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(2000) }), 'nothing listens after exit');
});
