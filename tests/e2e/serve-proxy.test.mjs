// careid behind reverse proxies: the header named by --proxy-header (`X-Forwarded-For` by default,
// or `Forwarded`, RFC 7239) is believed only from the peers named by --trusted-proxy (or
// CAREID_TRUSTED_PROXIES), and the other header never. What careid takes as the client's address
// is observable in two places: the audit trail (each sign-in attempt records `address`) and
// sign-in throttling (one user from one address: three free failures, then 429).
//   - Without trusted proxies a client's forwarding headers change nothing: failures sent with a
//     different spoofed address each time still throttle the real address.
//   - With --trusted-proxy 127.0.0.1/32 the forwarded address is the client's: a client-sent
//     leftmost X-Forwarded-For entry does not win, and throttling follows the forwarded address;
//     a client-sent Forwarded header (which an X-Forwarded-For proxy passes on) changes nothing.
//   - With CAREID_PROXY_HEADER=forwarded it is the other way round.
//   - Ranges that trust (nearly) everyone, and an unknown --proxy-header, stop careid at start.
//   - Behind a terminating proxy (an https public URL, plain HTTP on the port) careid sends HSTS
//     and Secure cookies; over plain HTTP to loopback with an http public URL, no HSTS.
//   - The token endpoint (/access_token) answers with Cache-Control: no-store and Pragma: no-cache.
import assert from 'node:assert/strict';
import { setupServer, startCareid, runCli, describeCli, USERS, DEMO_PASSWORD } from './lib/careid.mjs';
import { makeRp } from './lib/rp.mjs';
import { Browser } from './lib/browser.mjs';

const HSTS = 'max-age=31536000';

// The "behind a terminating proxy" server announces https://localhost:PORT but speaks plain HTTP
// there (the proxy's job is TLS): this process sends https://localhost:* requests as http.
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (url.startsWith('https://localhost:')) return realFetch(`http://${url.slice('https://'.length)}`, init);
  return realFetch(input, init);
};

const h = setupServer(); // no trusted proxies

/** A browser on careid's sign-in page for a fresh client of `server`. */
async function signInPage(server) {
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  const authz = await rp.authorizationUrl({ scope: 'openid' });
  const stop = await b.signIn(authz.url, { stopAt: 'login' });
  assert.equal(stop.page.kind, 'login', `the sign-in page: ${stop.page.status} ${stop.page.url}`);
  return { rp, b, page: stop.page };
}

/** Wrong passwords for `uid`, one per entry of `headers`; resolves the statuses. */
async function failures(server, uid, headers) {
  const { b, page } = await signInPage(server);
  let form = page.form;
  const statuses = [];
  for (const hd of headers) {
    const res = await b.submit(form, { username: uid, password: `wrong-${Math.random()}` }, { headers: hd });
    statuses.push(res.status);
    assert.ok(res.form, `the sign-in form again (${res.status})`);
    form = res.form;
  }
  return statuses;
}

/** The addresses the audit trail recorded for the sign-in attempts of `uid`, oldest first. */
async function auditAddresses(server, uid) {
  const rows = await server.sql(`SELECT detail FROM audit_events WHERE action LIKE 'signin.%' AND subject = 'user:${uid}' ORDER BY seq`);
  return rows.map((r) => (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail).address);
}

h.test('from an untrusted peer, X-Forwarded-For and Forwarded are ignored: the real address is throttled', async (t, server) => {
  const uid = USERS.clinical;
  const spoofed = [1, 2, 3, 4, 5].map((i) => ({
    'x-forwarded-for': `198.51.100.${i}`,
    forwarded: `for=198.51.100.${i};proto=https`,
    'x-forwarded-proto': 'https',
  }));
  const statuses = await failures(server, uid, spoofed);
  // three free failures for one user from one address, then a delay: the spoofed addresses
  // did not make each attempt count as another address
  assert.deepEqual(statuses, [200, 200, 200, 200, 429], `statuses: ${statuses}`);
  const addrs = await auditAddresses(server, uid);
  assert.equal(addrs.length, 5, `every attempt audited: ${addrs}`);
  assert.ok(addrs.every((a) => a === '127.0.0.1'), `the peer's address, never a header's: ${addrs}`);
});

h.test('the token endpoint answers no-store (success and error); no HSTS over plain HTTP', async (t, server) => {
  const rp = await makeRp(server);
  assert.ok(rp.meta.token_endpoint.endsWith('/access_token'), rp.meta.token_endpoint);
  const b = new Browser(server.url);
  const authz = await rp.authorizationUrl({ scope: 'openid' });
  const signin = await b.signIn(authz.url, { username: USERS.single, password: DEMO_PASSWORD });
  assert.ok(signin.code, 'a code');
  const params = { grant_type: 'authorization_code', code: signin.code, redirect_uri: rp.client.redirectUri, code_verifier: authz.verifier };
  const ok = await rp.tokenRequest(params);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.headers.get('cache-control'), 'no-store');
  assert.equal(ok.headers.get('pragma'), 'no-cache');
  assert.equal(ok.headers.get('strict-transport-security'), null, 'no HSTS over plain HTTP with an http public URL');
  const again = await rp.tokenRequest(params);
  assert.equal(again.status, 400);
  assert.equal(again.headers.get('cache-control'), 'no-store');
  assert.equal(again.headers.get('pragma'), 'no-cache');
  const unauth = await rp.tokenRequest(params, { auth: false });
  assert.ok(unauth.status === 400 || unauth.status === 401, `${unauth.status}`);
  assert.equal(unauth.headers.get('cache-control'), 'no-store');
  assert.equal(unauth.headers.get('pragma'), 'no-cache');
  // nor are pages (the sign-in page holds a CSRF token)
  const { page } = await signInPage(server);
  assert.equal(page.headers.get('cache-control'), 'no-store');
  assert.equal(page.headers.get('pragma'), 'no-cache');
  assert.equal(page.headers.get('strict-transport-security'), null);
});

h.test('with --trusted-proxy 127.0.0.1/32 the forwarded address is the client\'s (audit and throttling)', async () => {
  const server = await startCareid({ extraArgs: ['--trusted-proxy', '127.0.0.1/32'] });
  try {
    // a client-sent leftmost entry never wins: the proxy appends the real address
    const uid = USERS.clinical;
    const spoofing = [0, 1, 2, 3, 4, 5].map((i) => ({ 'x-forwarded-for': `6.6.6.6, 203.0.113.${10 + i}` }));
    const statuses = await failures(server, uid, spoofing);
    // six failures for one user, each from another (forwarded) address: no pair counter
    // reaches its limit (and the user's own allows ten)
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200], `statuses: ${statuses}`);
    assert.deepEqual(await auditAddresses(server, uid), spoofing.map((_, i) => `203.0.113.${10 + i}`));

    // throttling follows the forwarded address: four failures from one, then that one waits…
    const other = USERS.admin;
    const one = { 'x-forwarded-for': '203.0.113.99' };
    assert.deepEqual(await failures(server, other, [one, one, one, one, one]), [200, 200, 200, 200, 429]);
    // …while the same user from another forwarded address is not held back
    assert.deepEqual(await failures(server, other, [{ 'x-forwarded-for': '203.0.113.100' }]), [200]);

    const listening = server.logs.map((l) => JSON.parse(l)).find((l) => l.event === 'listening');
    assert.equal(listening.proxy_header, 'x-forwarded-for', 'the default');
    // the proxy writes X-Forwarded-For and passes a client's own Forwarded on (nginx's
    // proxy_add_x_forwarded_for does): a fresh Forwarded per request changes nothing, so the
    // failures all count for the one forwarded address and it is throttled
    const v6 = USERS.multi;
    const fresh = [0, 1, 2, 3, 4].map((i) => ({
      forwarded: `for="[2001:db8::${i + 5}]:4711";proto=https`,
      'x-forwarded-for': '203.0.113.1',
    }));
    assert.deepEqual(await failures(server, v6, fresh), [200, 200, 200, 200, 429]);
    await failures(server, USERS.single, [
      { forwarded: 'for=192.0.2.200' }, // no X-Forwarded-For: the peer
      { 'x-forwarded-for': 'garbage, \u00e9' }, // nor this
    ]);
    assert.deepEqual(await auditAddresses(server, v6), fresh.map(() => '203.0.113.1'));
    assert.deepEqual(await auditAddresses(server, USERS.single), ['127.0.0.1', '127.0.0.1']);
  } finally {
    const st = await server.stop();
    assert.equal(st.code, 0, `careid exits 0: ${JSON.stringify(st)}`);
  }
});

h.test('behind a terminating proxy (https public URL, CAREID_TRUSTED_PROXIES, CAREID_PROXY_HEADER=forwarded): HSTS, Secure cookies, forwarded address', async () => {
  const server = await startCareid({
    extraArgs: ['--public-url', 'https://localhost:0'],
    env: { CAREID_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1', CAREID_PROXY_HEADER: 'forwarded' },
  });
  try {
    assert.ok(server.url.startsWith('https://localhost:'), server.url);
    const listening = server.logs.map((l) => JSON.parse(l)).find((l) => l.event === 'listening');
    assert.equal(listening.trusted_proxies, 2, 'both ranges of CAREID_TRUSTED_PROXIES');
    assert.equal(listening.proxy_header, 'forwarded');
    assert.equal(listening.tls, false);
    const d = await fetch(`${server.issuer('mock')}/.well-known/openid-configuration`);
    assert.equal((await d.json()).issuer, `${server.url}/realms/mock`);
    assert.equal(d.headers.get('strict-transport-security'), HSTS, 'HSTS: the browser sees https');
    const { b, page } = await signInPage(server);
    assert.equal(page.headers.get('strict-transport-security'), HSTS);
    const cookies = [...b.cookies.values()];
    assert.ok(cookies.length > 0, 'the sign-in set cookies');
    for (const c of cookies) assert.ok('secure' in c.attrs, `cookie ${c.name} is Secure: ${c.raw}`);
    const uid = USERS.aal2gp;
    // the proxy at 127.0.0.1 says the client is 192.0.2.77 (via 10.1.2.3, another trusted hop),
    // with IPv6 in quotes and brackets and a port; a client's X-Forwarded-For is not read
    await failures(server, uid, [
      { forwarded: 'for=1.1.1.1, for=192.0.2.77, for=10.1.2.3;proto=https', 'x-forwarded-for': '203.0.113.5' },
      { forwarded: 'for="[2001:DB8::5]:4711";proto=https', 'x-forwarded-for': '203.0.113.5' },
      { forwarded: 'for=unknown', 'x-forwarded-for': '203.0.113.5' }, // the proxy does not say: the peer
      { 'x-forwarded-for': '203.0.113.5', 'x-forwarded-proto': 'http' },
    ]);
    assert.deepEqual(await auditAddresses(server, uid), ['192.0.2.77', '2001:db8::5', '127.0.0.1', '127.0.0.1']);
    // a client's X-Forwarded-Proto: http does not turn HSTS off either
    const page2 = await fetch(`${server.url}/healthz`, { headers: { 'x-forwarded-for': '203.0.113.5', 'x-forwarded-proto': 'http' } });
    assert.equal(page2.headers.get('strict-transport-security'), HSTS);
  } finally {
    const st = await server.stop();
    assert.equal(st.code, 0, `careid exits 0: ${JSON.stringify(st)}`);
  }
});

h.test('a bad --trusted-proxy stops careid before it opens anything', async () => {
  for (const bad of ['10.0.0.0/33', 'proxy.example', '10.0.0.1:80']) {
    // the store is never opened: its directory does not even exist
    const r = await runCli(['serve', '--listen', '127.0.0.1:0', '--db', 'sqlite:/nonexistent-careid-dir/x.db', '--trusted-proxy', bad]);
    assert.equal(r.code, 2, describeCli(r));
    assert.match(r.stderr, /--trusted-proxy: '.*' is not an IPv4 or IPv6 address or CIDR range/);
  }
  const r = await runCli(['serve', '--listen', '127.0.0.1:0', '--db', 'sqlite:/nonexistent-careid-dir/x.db'], { env: { CAREID_TRUSTED_PROXIES: '127.0.0.1, nonsense' } });
  assert.equal(r.code, 2, describeCli(r));
  assert.match(r.stderr, /'nonsense' is not an IPv4 or IPv6 address/);
});

h.test('trusted proxy ranges that trust (nearly) everyone, and an unknown --proxy-header, stop careid at start', async () => {
  const serve = (args, env) => runCli(['serve', '--listen', '127.0.0.1:0', '--db', 'sqlite:/nonexistent-careid-dir/x.db', ...args], { env });
  for (const [bad, why] of [
    ['0.0.0.0/0', /every IPv4 address as a proxy/],
    ['::/0', /every address as a proxy/],
    ['10.0.0.0/7', /every IPv4 address as a proxy/],
    // parsed as IPv6 this is ::/8, every IPv4-mapped address
    ['::ffff:10.0.0.0/8', /IPv4-mapped .*write IPv4 ranges as IPv4/],
    ['::/8', /holds every IPv4 address/],
  ]) {
    const r = await serve(['--trusted-proxy', bad]);
    assert.equal(r.code, 2, describeCli(r));
    assert.match(r.stderr, /--trusted-proxy: '.*'/, bad);
    assert.match(r.stderr, why, bad);
  }
  let r = await serve([], { CAREID_TRUSTED_PROXIES: '127.0.0.1, 0.0.0.0/0' });
  assert.equal(r.code, 2, describeCli(r));
  assert.match(r.stderr, /'0\.0\.0\.0\/0' trusts \(nearly\) every IPv4 address/);
  r = await serve(['--trusted-proxy', '127.0.0.1', '--proxy-header', 'x-real-ip']);
  assert.equal(r.code, 2, describeCli(r));
  assert.match(r.stderr, /--proxy-header is x-forwarded-for or forwarded, not 'x-real-ip'/);
  r = await serve(['--trusted-proxy', '127.0.0.1'], { CAREID_PROXY_HEADER: 'both' });
  assert.equal(r.code, 2, describeCli(r));
  assert.match(r.stderr, /--proxy-header is x-forwarded-for or forwarded, not 'both'/);
});
