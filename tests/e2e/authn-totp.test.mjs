// The authenticator app (password and a 6-digit TOTP code, AAL2): sign-in,
// acr/amr/assurance claims through openid-client, enrolment after a first
// sign-in, administrator enrolment, replay and wrong codes, throttling and the
// audit trail of every attempt.
import assert from 'node:assert/strict';
import { setupServer, DEMO_PASSWORD, describeCli } from './lib/careid.mjs';
import { Browser, describeRes, describePages, textOf } from './lib/browser.mjs';
import { makeRp } from './lib/rp.mjs';
import { totpAt, currentStep, DEMO_TOTP } from './lib/totp.mjs';

const h = setupServer();

/** Password step, then the code page. Returns {authz, page} (the code page). */
async function toCodePage(rp, b, { uid, params }) {
  const authz = await rp.authorizationUrl({ scope: 'openid profile', ...params });
  const s = await b.signIn(authz.url, { username: uid, password: DEMO_PASSWORD });
  const trail = `${describePages(s.pages)}\n    last: ${describeRes(s.page)}`;
  assert.equal(s.page.status, 200, trail);
  assert.ok(s.page.form && s.page.form.inputs.some((i) => i.name === 'code'), `a code page after the password: ${trail}`);
  return { authz, page: s.page };
}

async function codeFlow(rp, b, { uid, secret, params, step = currentStep() }) {
  const { authz, page } = await toCodePage(rp, b, { uid, params });
  const res = await b.submit(page.form, { code: totpAt(secret, step) });
  assert.ok([302, 303].includes(res.status), `the code signs in: ${describeRes(res)}`);
  assert.ok(res.location.startsWith(rp.client.redirectUri), `back to the client: ${res.location}`);
  const tokens = await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
  return { tokens, claims: tokens.claims() };
}

/** Administrator enrolment: careid user authenticators UID --add-totp. */
async function enrolByCli(server, uid, env) {
  const r = await server.cli(`user authenticators ${uid}`, ['--env', env, '--add-totp', '--name', 'Phone']);
  assert.equal(r.code, 0, describeCli(r));
  assert.match(r.json.secret, /^[A-Z2-7]{32}$/, 'a base32 secret');
  assert.ok(r.json.otpauth_uri.startsWith(`otpauth://totp/`), r.json.otpauth_uri);
  assert.match(r.json.otpauth_uri, /[?&]secret=[A-Z2-7]{32}/);
  return r.json.secret;
}

h.test('totp: AAL2_TOTP in mock — password then code; acr AAL2_TOTP, amr pwd+TOTP, level 2', async (t, server) => {
  const rp = await makeRp(server);
  const { claims } = await codeFlow(rp, new Browser(server.url), { uid: DEMO_TOTP.uid, secret: DEMO_TOTP.secret, params: { acr_values: 'AAL2_TOTP' } });
  assert.equal(claims.sub, DEMO_TOTP.uid);
  assert.equal(claims.acr, 'AAL2_TOTP');
  assert.deepEqual(claims.amr, ['pwd', 'TOTP']);
  assert.equal(claims.authentication_assurance_level, '2');
});

h.test('totp: AAL2_OR_AAL3_ANY and AAL2_ANY in int with an app the administrator set up', async (t, server) => {
  const uid = '656005750107';
  const secret = await enrolByCli(server, uid, 'int');
  const rp = await makeRp(server, undefined, { env: 'int' });
  const step = currentStep();
  let r = await codeFlow(rp, new Browser(server.url), { uid, secret, params: { acr_values: 'AAL2_OR_AAL3_ANY' }, step });
  assert.equal(r.claims.acr, 'AAL2_OR_AAL3_ANY');
  assert.deepEqual(r.claims.amr, ['pwd', 'TOTP']);
  assert.equal(r.claims.authentication_assurance_level, '2');
  // the next step's code (one step of clock skew is tolerated)
  r = await codeFlow(rp, new Browser(server.url), { uid, secret, params: { acr_values: 'AAL2_ANY' }, step: step + 1 });
  assert.equal(r.claims.acr, 'AAL2_ANY');
  assert.equal(r.claims.authentication_assurance_level, '2');
});

h.test('totp bad input: a wrong code, a malformed code, then a replayed code — each refused with its message', async (t, server) => {
  const uid = '910000000002';
  const secret = await enrolByCli(server, uid, 'mock');
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  const step = currentStep();
  let { page } = await toCodePage(rp, b, { uid, params: { acr_values: 'AAL2_TOTP' } });
  const wrong = String((Number(totpAt(secret, step)) + 1) % 1e6).padStart(6, '0');
  let res = await b.submit(page.form, { code: wrong });
  assert.equal(res.status, 200, describeRes(res));
  assert.match(textOf(res.body), /The code is not correct/);
  assert.ok(res.form.inputs.some((i) => i.name === 'code'), 'the code page again');
  res = await b.submit(res.form, { code: '12ab56' });
  assert.equal(res.status, 200);
  assert.match(textOf(res.body), /6-digit code/);
  const good = totpAt(secret, step);
  res = await b.submit(res.form, { code: good });
  assert.ok([302, 303].includes(res.status), `the right code signs in: ${describeRes(res)}`);
  assert.ok(res.location.startsWith(rp.client.redirectUri));

  // the same code again, in a new sign-in from another browser
  const b2 = new Browser(server.url);
  ({ page } = await toCodePage(rp, b2, { uid, params: { acr_values: 'AAL2_TOTP' } }));
  res = await b2.submit(page.form, { code: good });
  assert.equal(res.status, 200, `a replayed code is refused: ${describeRes(res)}`);
  assert.match(textOf(res.body), /already been used/);
  assert.ok(!res.setCookies.some((c) => c.name.startsWith('careid_session')), 'no session from a replayed code');
});

h.test('totp: enrolment after a first sign-in (mock): QR code and otpauth URI, then the code signs in', async (t, server) => {
  const uid = '656005750104';
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  const { authz, page } = await toCodePage(rp, b, { uid, params: { acr_values: 'AAL2_TOTP' } });
  assert.match(textOf(page.body), /Set up your authenticator app/);
  const html = page.body.replace(/&#x2F;/g, '/').replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
  assert.match(html, /<img class="careid-qr" src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+"/);
  const svg = Buffer.from(/src="data:image\/svg\+xml;base64,([^"]+)"/.exec(html)[1], 'base64').toString();
  assert.match(svg, /^<svg [^>]*role="img"/, 'an SVG image');
  const secret = /<code id="totp-secret">([A-Z2-7]+)<\/code>/.exec(html)?.[1];
  assert.ok(secret, 'the secret is shown for typing in');
  assert.match(html, new RegExp(`otpauth://totp/[^<]*secret=${secret}`));
  const res = await b.submit(page.form, { code: totpAt(secret) });
  assert.ok([302, 303].includes(res.status), describeRes(res));
  const tokens = await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
  assert.equal(tokens.claims().acr, 'AAL2_TOTP');
  const list = await server.cli(`user authenticators ${uid}`, ['--env', 'mock']);
  assert.equal(list.code, 0, describeCli(list));
  assert.deepEqual(list.json.map((a) => a.kind), ['totp']);
});

h.test('totp: no app and no self-service enrolment in int — a clear message, no session', async (t, server) => {
  const rp = await makeRp(server, undefined, { env: 'int' });
  const b = new Browser(server.url);
  const authz = await rp.authorizationUrl({ scope: 'openid', acr_values: 'AAL2_TOTP' });
  const s = await b.signIn(authz.url, { username: '910000000003', password: DEMO_PASSWORD });
  assert.equal(s.page.status, 200, describeRes(s.page));
  assert.match(textOf(s.page.body), /No authenticator app is set up for your account/);
  assert.ok(!s.code);
});

h.test('totp: step-up from a password session keeps the session (same sid)', async (t, server) => {
  const uid = '910000000004';
  const secret = await enrolByCli(server, uid, 'mock');
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  const first = await rp.codeFlow(b, { user: uid });
  assert.equal(first.claims.acr, 'AAL1_USERPASS');
  assert.deepEqual(first.claims.amr, ['pwd']);
  // the same browser, now asked for AAL2: signs in again with the app
  const { authz, page } = await toCodePage(rp, b, { uid, params: { acr_values: 'AAL2_TOTP' } });
  const res = await b.submit(page.form, { code: totpAt(secret) });
  const tokens = await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
  const c = tokens.claims();
  assert.equal(c.acr, 'AAL2_TOTP');
  assert.equal(c.sid, first.claims.sid, 'step-up keeps the session');
  assert.ok(c.auth_time >= first.claims.auth_time);
  // and the stronger session now answers an AAL2 request without a sign-in
  const sso = await rp.codeFlow(b, { user: uid, params: { acr_values: 'AAL2_OR_AAL3_ANY' }, expect: 'sso' });
  assert.equal(sso.claims.acr, 'AAL2_OR_AAL3_ANY');
  assert.equal(sso.claims.sid, first.claims.sid);
});

h.test('throttling: failed passwords slow down with 429 and Retry-After; every attempt is in the audit trail', async (t, server) => {
  const uid = '910000000005';
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  const authz = await rp.authorizationUrl({ scope: 'openid' });
  const stop = await b.signIn(authz.url, { stopAt: 'login' });
  let res = stop.page;
  const seen = [];
  for (let i = 0; i < 6; i++) {
    res = await b.submit(res.form, { username: uid, password: `wrong-${i}` });
    seen.push(res.status);
  }
  // three free failures; the fourth sets a delay of 2 s, so the fifth waits
  assert.deepEqual(seen.slice(0, 4), [200, 200, 200, 200], `four attempts are checked: ${seen}`);
  assert.deepEqual(seen.slice(4), [429, 429], `then they wait: ${seen}`);
  assert.match(textOf(res.body), /too many attempts/i);
  assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
  // while throttled, even the right password waits (no hash is computed either)
  res = await b.submit(res.form, { username: uid, password: DEMO_PASSWORD });
  assert.equal(res.status, 429);
  // another user from the same address is not locked out by it
  const other = await rp.codeFlow(new Browser(server.url), { user: '656005750109' });
  assert.equal(other.claims.sub, '656005750109');

  const rows = (await server.sql("SELECT action, subject, detail FROM audit_events WHERE action LIKE 'signin.%' ORDER BY seq"))
    .map((r) => [r.action, r.subject, r.detail].join('|')).filter((l) => l.includes(uid));
  const actions = rows.map((l) => l.split('|')[0]);
  assert.equal(actions.filter((a) => a === 'signin.failed').length, 4, `every failed attempt recorded: ${rows.join('\n')}`);
  assert.equal(actions.filter((a) => a === 'signin.throttled').length, 3, `throttled attempts recorded as such: ${rows.join('\n')}`);
  assert.ok(rows.some((l) => l.includes('"bad_password"')), 'with the reason');
});

h.test('totp: a client registered with --default-acr AAL2_TOTP gets the code step without acr_values', async (t, server) => {
  const uid = '656005750109';
  const secret = await enrolByCli(server, uid, 'mock');
  const rp = await makeRp(server, undefined, { extraFlags: ['--default-acr', 'AAL2_TOTP'] });
  const { claims } = await codeFlow(rp, new Browser(server.url), { uid, secret, params: {} });
  assert.equal(claims.acr, 'AAL2_TOTP');
  assert.equal(claims.authentication_assurance_level, '2');
  // acr_values in the request win over the registered default
  const pw = await rp.codeFlow(new Browser(server.url), { user: '910000000001', params: { acr_values: 'AAL1_USERPASS' } });
  assert.equal(pw.claims.acr, 'AAL1_USERPASS');
});

h.test('user authenticators CLI: list, revoke, reset; a revoked app no longer signs in', async (t, server) => {
  const uid = '910000000003';
  await enrolByCli(server, uid, 'mock');
  await enrolByCli(server, uid, 'mock');
  let r = await server.cli(`user authenticators ${uid}`, ['--env', 'mock']);
  assert.equal(r.code, 0, describeCli(r));
  assert.equal(r.json.length, 2);
  assert.deepEqual(Object.keys(r.json[0]).sort(), ['created_at', 'failures', 'id', 'kind', 'last_used_at', 'level', 'method', 'name', 'revoked_at']);
  assert.equal(r.json[0].failures, 0);
  const unlock = await server.cli(`user authenticators ${uid}`, ['--env', 'mock', '--unlock']);
  assert.equal(unlock.code, 0, describeCli(unlock));
  assert.equal(unlock.json.unlocked, 2);
  r = await server.cli(`user authenticators ${uid}`, ['--env', 'mock', '--revoke', r.json[0].id]);
  assert.equal(r.code, 0, describeCli(r));
  assert.equal(r.json.revoked, 1);
  r = await server.cli(`user authenticators ${uid}`, ['--env', 'mock', '--reset']);
  assert.equal(r.json.revoked, 1);
  r = await server.cli(`user authenticators ${uid}`, ['--env', 'mock']);
  assert.deepEqual(r.json, []);
  r = await server.cli(`user authenticators ${uid}`, ['--env', 'mock', '--all']);
  assert.equal(r.json.length, 2);
  assert.ok(r.json.every((a) => a.revoked_at > 0));
  r = await server.cli(`user authenticators ${uid}`, ['--env', 'mock', '--revoke', 'no-such-id']);
  assert.equal(r.code, 1, describeCli(r));
  assert.match(r.stderr, /no such authenticator/);
  r = await server.cli('user authenticators', ['--env', 'mock']);
  assert.equal(r.code, 2, describeCli(r));
  r = await server.cli(`user authenticators 999999999999`, ['--env', 'mock']);
  assert.equal(r.code, 1, describeCli(r));
});

h.test('security: password guesses at another user inside a transaction are throttled as that user', async (t, server) => {
  const attacker = '910000000001';
  const victim = '910000000002';
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  // the attacker's own password proves the first step (a code page for the attacker) ...
  const { page } = await toCodePage(rp, b, { uid: attacker, params: { acr_values: 'AAL2_TOTP' } });
  const recorded = async (uid) => Number((await server.sql(`SELECT COUNT(*) AS n FROM audit_events WHERE action IN ('signin.failed', 'signin.throttled') AND subject = 'user:${uid}'`))[0].n);
  const victimBefore = await recorded(victim), attackerBefore = await recorded(attacker);
  const seen = [];
  // ... then password guesses at the victim are posted to the same transaction
  for (let i = 0; i < 5; i++) {
    const res = await b.post(page.form.action, { tx: page.form.hidden.tx, csrf: page.form.hidden.csrf, method: 'password', username: victim, password: `guess-${i}` });
    seen.push(res.status);
  }
  // (the address's own counter may already be high from the file's other tests: a 429 comes
  // by the fifth guess at the latest)
  assert.equal(seen[seen.length - 1], 429, `the guesses are throttled: ${seen}`);
  assert.equal(await recorded(victim) - victimBefore, 5, 'every guess is recorded against the victim');
  assert.equal(await recorded(attacker) - attackerBefore, 0, 'none against the attacker');
});

h.test('security: an app being set up belongs to the user whose password started it', async (t, server) => {
  const a = '910000000001'; // no app: the set-up page
  const b2 = '656005750111'; // the demo user with an app
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  const { page } = await toCodePage(rp, b, { uid: a, params: { acr_values: 'AAL2_TOTP' } });
  const html = page.body.replace(/&#x2F;/g, '/').replace(/&#x3D;/g, '=');
  const secretA = /<code id="totp-secret">([A-Z2-7]+)<\/code>/.exec(html)[1];
  // the same transaction now gets B's password (B has an app: the code page) ...
  let res = await b.post(page.form.action, { tx: page.form.hidden.tx, csrf: page.form.hidden.csrf, method: 'password', username: b2, password: DEMO_PASSWORD });
  assert.ok(res.form.inputs.some((i) => i.name === 'code'), describeRes(res));
  // ... and the set-up step with a code of A's secret must not give B a second app
  res = await b.post(page.form.action, { tx: page.form.hidden.tx, csrf: page.form.hidden.csrf, method: 'totp_enrol', code: totpAt(secretA) });
  assert.equal(res.status, 200, describeRes(res));
  assert.match(textOf(res.body), /no authenticator app is being set up/i);
  const list = await server.cli(`user authenticators ${b2}`, ['--env', 'mock']);
  assert.equal(list.json.length, 1, `B still has one app: ${JSON.stringify(list.json)}`);
});

h.test('security: a right password before the code is audited; /metrics does not tell unknown usernames apart', async (t, server) => {
  const rp = await makeRp(server);
  const before = await (await fetch(`${server.url}/metrics`)).text();
  const partials = async () => Number((await server.sql(`SELECT COUNT(*) AS n FROM audit_events WHERE action = 'signin.partial' AND subject = 'user:${DEMO_TOTP.uid}'`))[0].n);
  const was = await partials();
  await toCodePage(rp, new Browser(server.url), { uid: DEMO_TOTP.uid, params: { acr_values: 'AAL2_TOTP' } });
  assert.equal(await partials(), was + 1, 'the password step is in the audit trail');
  for (const username of ['910000000003', 'nobody.at.all@nhs.net']) {
    const b = new Browser(server.url);
    const stop = await b.signIn((await rp.authorizationUrl({ scope: 'openid' })).url, { stopAt: 'login' });
    await b.submit(stop.page.form, { username, password: 'wrong-password' });
  }
  const after = await (await fetch(`${server.url}/metrics`)).text();
  const count = (text, result) => Number(new RegExp(`careid_signins_total\\{result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  assert.equal(count(after, 'bad_credentials') - count(before, 'bad_credentials'), 2, 'both failures under one label');
  assert.equal(count(after, 'unknown_user') - count(before, 'unknown_user'), 0);
});
