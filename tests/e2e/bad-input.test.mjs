// Bad input never crashes, hangs or signs anyone in: every case gets its exact standard error.
// Writes tests/e2e/.tmp/bad-input-table.md (case → observed answer) for the issue note.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { setupServer, USERS, DEMO_PASSWORD, DEFAULT_REDIRECT_URI, describeCli, writeTmpFile, registerClient } from './lib/careid.mjs';
import { Browser, rawRequest, describeRes, textOf } from './lib/browser.mjs';
import { makeRp, userinfoRaw, postRaw, parseChallenge, assertTokenError, assertErrorPage, assertAuthzError, assertInvalidToken } from './lib/rp.mjs';

const h = setupServer();
const rows = [];
const BASIC = { name: 'client_secret_basic', auth: 'client_secret_basic' };
const PKJ = { name: 'private_key_jwt RS256', auth: 'private_key_jwt', keyAlg: 'RS256' };
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Describe an HTTP answer in one table cell. */
function observed(r) {
  if (!r) return '(none)';
  if (r.error && !r.status) return `no HTTP answer (${r.error})`;
  const parts = [`HTTP ${r.status}`];
  const hdr = (k) => (typeof r.headers?.get === 'function' ? r.headers.get(k) : r.headers?.[k]);
  const loc = r.location || hdr('location');
  if (loc) {
    const u = new URL(loc, 'http://x');
    const p = u.searchParams.has('error') ? u.searchParams : new URLSearchParams(u.hash.slice(1));
    parts.push(p.get('error') ? `→ redirect error=${p.get('error')}${p.get('state') ? ' (state echoed)' : ''}` : `→ ${loc.slice(0, 80)}`);
  }
  const json = r.json || (() => { try { return JSON.parse(r.text ?? r.body); } catch { return undefined; } })();
  if (json?.error) parts.push(`\`${JSON.stringify({ error: json.error, error_description: json.error_description })}\``);
  else if (/html/.test(hdr('content-type') || '')) parts.push('HTML page');
  const wa = hdr('www-authenticate');
  if (wa) parts.push(`WWW-Authenticate: \`${wa}\``);
  return parts.join(' ');
}

/** A test that records its row even when the assertion fails. */
function badCase(name, expected, fn) {
  h.test(`bad input: ${name}`, async (t, server) => {
    const row = { name, expected, observed: '(not reached)', ok: false };
    rows.push(row);
    await fn({ server, note: (o) => { row.observed = o; } });
    row.ok = true;
  });
}

after(async () => {
  const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = ['| case | expected | observed | pass |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${esc(r.name)} | ${esc(r.expected)} | ${esc(r.observed)} | ${r.ok ? 'yes' : '**no**'} |`);
  const p = await writeTmpFile('bad-input-table.md', `${lines.join('\n')}\n`);
  process.stderr.write(`bad-input table written to ${p}\n`);
});

async function signedInCode(rp, browser = new Browser(rp.server.url), params = {}) {
  const a = await rp.authorizationUrl({ scope: 'openid', ...params });
  const s = await browser.signIn(a.url, { username: USERS.single, password: DEMO_PASSWORD });
  assert.ok(s.code, `precondition: sign-in gives a code: ${describeRes(s.page)}`);
  return { a, s, code: s.code };
}

function codeParams(rp, { code, a }) {
  return { grant_type: 'authorization_code', code, redirect_uri: rp.client.redirectUri, code_verifier: a.verifier };
}

// ---------------------------------------------------------------- /authorize

badCase('unknown client_id at /authorize', '400 HTML page, no Location', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const a = await rp.authorizationUrl({ scope: 'openid', client_id: 'no-such-client.apps.test' });
  const res = await new Browser(server.url).get(a.url);
  note(observed(res));
  assertErrorPage(res, 'unknown client_id');
});

badCase('unregistered redirect_uri', '400 HTML page, no Location', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const a = await rp.authorizationUrl({ scope: 'openid', redirect_uri: 'https://attacker.example/cb' });
  const res = await new Browser(server.url).get(a.url);
  note(observed(res));
  assertErrorPage(res, 'unregistered redirect_uri');
});

badCase('duplicate scope parameter at /authorize', 'redirect error=invalid_request', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const u = new URL(a.url);
  u.searchParams.append('scope', 'openid profile');
  const r = await new Browser(server.url).signIn(u.href, {});
  note(observed(r.page));
  assertAuthzError(r, 'invalid_request', a.state, 'duplicate scope', rp.client.redirectUri);
});

badCase('duplicate client_id at /authorize', '400 HTML page, no Location', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const u = new URL(a.url);
  u.searchParams.append('client_id', rp.client.clientId);
  const res = await new Browser(server.url).get(u.href);
  note(observed(res));
  assertErrorPage(res, 'duplicate client_id');
});

badCase('duplicate redirect_uri at /authorize', '400 HTML page, no Location', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const u = new URL(a.url);
  u.searchParams.append('redirect_uri', rp.client.redirectUri);
  const res = await new Browser(server.url).get(u.href);
  note(observed(res));
  assertErrorPage(res, 'duplicate redirect_uri');
});

badCase('malformed percent-encoding (%zz) in the /authorize query', 'HTTP 400', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const u = new URL(a.url);
  const head = `GET ${u.pathname}${u.search}&scope=%zz HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close`;
  const r = await rawRequest(server.url, head);
  note(observed(r));
  assert.equal(r.status, 400, `%zz in the query: ${r.raw.slice(0, 300)}`);
  assert.equal(r.headers.location, undefined, 'no redirect for an unparseable query');
});

badCase('response_type=token', 'redirect error=unsupported_response_type', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const a = await rp.authorizationUrl({ scope: 'openid', response_type: 'token' });
  const r = await new Browser(server.url).signIn(a.url, {});
  note(observed(r.page));
  assertAuthzError(r, 'unsupported_response_type', a.state, 'response_type=token', rp.client.redirectUri);
});

badCase('missing response_type', 'redirect error=invalid_request', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const a = await rp.authorizationUrl({ scope: 'openid', response_type: null });
  const r = await new Browser(server.url).signIn(a.url, {});
  note(observed(r.page));
  assertAuthzError(r, 'invalid_request', a.state, 'missing response_type', rp.client.redirectUri);
});

badCase('request object (request=…)', 'redirect error=request_not_supported', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const a = await rp.authorizationUrl({ scope: 'openid', request: 'eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.' });
  const r = await new Browser(server.url).signIn(a.url, {});
  note(observed(r.page));
  assertAuthzError(r, 'request_not_supported', a.state, 'request', rp.client.redirectUri);
});

badCase('request_uri=…', 'redirect error=request_uri_not_supported', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const a = await rp.authorizationUrl({ scope: 'openid', request_uri: 'https://127.0.0.1:9/r.jwt' });
  const r = await new Browser(server.url).signIn(a.url, {});
  note(observed(r.page));
  assertAuthzError(r, 'request_uri_not_supported', a.state, 'request_uri', rp.client.redirectUri);
});

badCase('acr_values=AAL3_IOS in mock (no iPad app authenticator)', 'redirect error=unmet_authentication_requirements', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const a = await rp.authorizationUrl({ scope: 'openid', acr_values: 'AAL3_IOS' });
  const r = await new Browser(server.url).signIn(a.url, { username: USERS.single, password: DEMO_PASSWORD });
  note(observed(r.page));
  assertAuthzError(r, 'unmet_authentication_requirements', a.state, 'acr_values=AAL3_IOS in mock', rp.client.redirectUri);
});

badCase('acr_values=AAL1_USERPASS in env int (no password alone outside mock)', 'redirect error=unmet_authentication_requirements', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC, { env: 'int' });
  const a = await rp.authorizationUrl({ scope: 'openid', acr_values: 'AAL1_USERPASS' });
  const r = await new Browser(server.url).signIn(a.url, { username: USERS.single, password: DEMO_PASSWORD });
  note(observed(r.page));
  assertAuthzError(r, 'unmet_authentication_requirements', a.state, 'AAL1_USERPASS in int', rp.client.redirectUri);
});

badCase('a password alone where the class needs AAL3 (int, default AAL3_ANY)', '200 sign-in page again, message "more than a password", no session', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC, { env: 'int' });
  const b = new Browser(server.url);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const stop = await b.signIn(a.url, { stopAt: 'login' });
  const pwForm = stop.page.forms.find((f) => f.inputs.some((i) => i.name === 'password'));
  assert.equal(pwForm, undefined, 'int with AAL3_ANY offers no password form');
  const form = stop.page.forms.find((f) => f.hidden.method);
  const res = await b.submit(form, { method: 'password', username: USERS.single, password: DEMO_PASSWORD });
  note(observed(res));
  assert.equal(res.status, 200, describeRes(res));
  assert.match(textOf(res.body), /not accepted by the service/i);
  assert.ok(!res.setCookies.some((c) => c.name.startsWith('careid_session')), 'no session');
});

// ---------------------------------------------------------------- sign-in form

badCase('wrong password', '200 sign-in form again, message "incorrect", no session', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const b = new Browser(server.url);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const stop = await b.signIn(a.url, { stopAt: 'login' });
  const namesBefore = new Set(b.cookieNames());
  const res = await b.submit(stop.page.form, { username: USERS.single, password: 'wrong-password' });
  note(observed(res));
  assert.equal(res.status, 200, `wrong password re-renders the form: ${describeRes(res)}`);
  assert.equal(res.kind, 'login', 'the sign-in form again');
  assert.match(textOf(res.body), /incorrect/i, 'an error message containing "incorrect"');
  const newNames = res.setCookies.filter((c) => !c.deleted && !namesBefore.has(c.name)).map((c) => c.name);
  assert.deepEqual(newNames, [], 'a failed sign-in sets no new (session) cookie');
  const userField = res.form.inputs.find((i) => i.name === 'username');
  assert.ok(userField, 'username field still there');
  const pw = res.form.inputs.find((i) => i.name === 'password');
  assert.equal(pw.value, '', 'the password is not echoed back');
  // no session: prompt=none still says login_required
  const a2 = await rp.authorizationUrl({ scope: 'openid', prompt: 'none' });
  const r2 = await b.signIn(a2.url, {});
  assertAuthzError(r2, 'login_required', a2.state, 'prompt=none after a failed sign-in');
});

badCase('unknown user', '200 sign-in form again, message "incorrect"', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const b = new Browser(server.url);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const stop = await b.signIn(a.url, { stopAt: 'login' });
  const res = await b.submit(stop.page.form, { username: '999999999999', password: DEMO_PASSWORD });
  note(observed(res));
  assert.equal(res.status, 200, describeRes(res));
  assert.equal(res.kind, 'login');
  assert.match(textOf(res.body), /incorrect/i, 'the same message as a wrong password (no user enumeration)');
});

for (const [what, value] of [['missing', null], ['wrong', 'x'.repeat(43)]]) {
  badCase(`CSRF token ${what} on the sign-in POST`, '400/403 page, not a sign-in', async ({ server, note }) => {
    const rp = await makeRp(server, BASIC);
    const b = new Browser(server.url);
    const a = await rp.authorizationUrl({ scope: 'openid' });
    const stop = await b.signIn(a.url, { stopAt: 'login' });
    const res = await b.submit(stop.page.form, { username: USERS.single, password: DEMO_PASSWORD, csrf: value });
    note(observed(res));
    assert.ok([400, 403].includes(res.status), `expected 400/403, saw ${describeRes(res)}`);
    assert.ok(!res.location, 'no redirect (in particular none with a code)');
    const r2 = await b.signIn((await rp.authorizationUrl({ scope: 'openid', prompt: 'none' })).url, {});
    assert.equal(r2.error, 'login_required', 'no session was created');
  });
}

badCase('sign-in POST with an unknown tx', '4xx page, not a sign-in', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const b = new Browser(server.url);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const stop = await b.signIn(a.url, { stopAt: 'login' });
  const res = await b.submit(stop.page.form, { username: USERS.single, password: DEMO_PASSWORD, tx: 'unknown-transaction-0000' });
  note(observed(res));
  assert.ok([400, 403, 404].includes(res.status), `expected a 400/403/404 page, saw ${describeRes(res)}`);
  assert.ok(!res.location || !new URL(res.location).searchParams.has('code'), 'no code');
});

badCase('over-long username (16 KB)', 'form again (200) or 400/413, never a sign-in or 5xx', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const b = new Browser(server.url);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const stop = await b.signIn(a.url, { stopAt: 'login' });
  const res = await b.submit(stop.page.form, { username: '6'.repeat(16384), password: DEMO_PASSWORD });
  note(observed(res));
  assert.ok([200, 400, 413].includes(res.status), describeRes(res));
  assert.ok(!res.location, 'no redirect');
});

// ---------------------------------------------------------------- /access_token

badCase('reused code', 'invalid_grant; the access token it issued is revoked', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const c = await signedInCode(rp);
  const first = await rp.tokenRequest(codeParams(rp, c));
  assert.equal(first.status, 200, `first use: ${first.text}`);
  const again = await rp.tokenRequest(codeParams(rp, c));
  const ui = await userinfoRaw(rp, first.json.access_token);
  note(`${observed(again)}; userinfo with its access token: HTTP ${ui.status}`);
  assertTokenError(again, 'invalid_grant', 'reused code', { status: 400 });
  assertInvalidToken(ui, 'access token of a reused code');
});

badCase('code issued to another client', 'invalid_grant', async ({ server, note }) => {
  const rpA = await makeRp(server, BASIC);
  const rpB = await makeRp(server, BASIC);
  const c = await signedInCode(rpA);
  const r = await rpB.tokenRequest(codeParams(rpB, c));
  note(observed(r));
  assertTokenError(r, 'invalid_grant', 'code of client A redeemed by client B', { status: 400 });
});

badCase('wrong redirect_uri at the token endpoint', 'invalid_grant', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC, { redirectUris: [DEFAULT_REDIRECT_URI, 'http://127.0.0.1:9/cb2'] });
  const c = await signedInCode(rp);
  const r = await rp.tokenRequest({ ...codeParams(rp, c), redirect_uri: 'http://127.0.0.1:9/cb2' });
  note(observed(r));
  assertTokenError(r, 'invalid_grant', 'redirect_uri differs from the authorization request', { status: 400 });
});

badCase('PKCE verifier mismatch', 'invalid_grant', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const c = await signedInCode(rp);
  const r = await rp.tokenRequest({ ...codeParams(rp, c), code_verifier: oidc.randomPKCECodeVerifier() });
  note(observed(r));
  assertTokenError(r, 'invalid_grant', 'PKCE mismatch', { status: 400 });
});

badCase('unknown code', 'invalid_grant', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const r = await rp.tokenRequest({ grant_type: 'authorization_code', code: 'no-such-code', redirect_uri: rp.client.redirectUri });
  note(observed(r));
  assertTokenError(r, 'invalid_grant', 'unknown code', { status: 400 });
});

badCase('duplicate code parameter at /access_token', 'invalid_request', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const c = await signedInCode(rp);
  const p = new URLSearchParams(codeParams(rp, c));
  p.append('code', c.code);
  const r = await rp.tokenRequest(p);
  note(observed(r));
  assertTokenError(r, 'invalid_request', 'duplicate code', { status: 400 });
});

badCase('unsupported grant_type (password)', 'unsupported_grant_type', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const r = await rp.tokenRequest({ grant_type: 'password', username: USERS.single, password: DEMO_PASSWORD });
  note(observed(r));
  assertTokenError(r, 'unsupported_grant_type', 'grant_type=password', { status: 400 });
});

badCase('missing grant_type', 'invalid_request', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const r = await rp.tokenRequest({ code: 'x' });
  note(observed(r));
  assertTokenError(r, 'invalid_request', 'no grant_type', { status: 400 });
});

badCase('binary garbage body to /access_token (authenticated)', 'invalid_request', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const basic = Buffer.from(`${encodeURIComponent(rp.client.clientId)}:${encodeURIComponent(rp.client.clientSecret)}`).toString('base64');
  const garbage = Buffer.concat([randomBytes(2048), Buffer.from([0, 0xff, 0xfe, 0x25, 0x00])]);
  const r = await postRaw(rp.meta.token_endpoint, garbage, { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` });
  note(observed(r));
  assertTokenError(r, 'invalid_request', 'garbage body', { status: 400 });
});

badCase('70 KB body to /access_token', 'HTTP 413', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const u = new URL(rp.meta.token_endpoint);
  const body = `grant_type=authorization_code&code=${'a'.repeat(70 * 1024)}`;
  const head = `POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close`;
  // careid may answer on Content-Length alone and close: give it a moment before uploading,
  // as a client sending Expect: 100-continue would (else the upload races the close: EPIPE)
  const r = await rawRequest(server.url, head, body, { waitBeforeBodyMs: 300 });
  const r2 = await rawRequest(server.url, `${head}\r\nExpect: 100-continue`, body, { waitBeforeBodyMs: 300 });
  note(`${observed(r)}; with Expect: 100-continue: ${observed(r2)}`);
  assert.equal(r.status, 413, `oversized body: ${r.raw.slice(0, 300) || r.error}`);
  assert.equal(r2.status, 413, `oversized body with Expect: 100-continue: ${r2.raw.slice(0, 300) || r2.error}`);
});

badCase('70 KB chunked body to /access_token', 'HTTP 413', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const u = new URL(rp.meta.token_endpoint);
  const data = `grant_type=authorization_code&code=${'a'.repeat(70 * 1024)}`;
  const chunked = `${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`;
  const head = `POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close`;
  const r = await rawRequest(server.url, head, chunked);
  note(observed(r));
  assert.equal(r.status, 413, `oversized chunked body: ${r.raw.slice(0, 300) || r.error}`);
});

badCase('huge request header (64 KB)', 'HTTP 431 or 400', async ({ server, note }) => {
  const head = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ${'x'.repeat(64 * 1024)}\r\nConnection: close`;
  const r = await rawRequest(server.url, head);
  note(observed(r));
  assert.ok([431, 400].includes(r.status), `huge header: ${r.raw.slice(0, 300) || r.error}`);
  const ok = await fetch(`${server.url}/healthz`);
  assert.equal(ok.status, 200, 'the server still answers');
});

badCase('bad client secret (client_secret_basic)', '401 invalid_client + WWW-Authenticate', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const c = await signedInCode(rp);
  const basic = Buffer.from(`${encodeURIComponent(rp.client.clientId)}:${encodeURIComponent(`${rp.client.clientSecret}x`)}`).toString('base64');
  const r = await postRaw(rp.meta.token_endpoint, new URLSearchParams(codeParams(rp, c)).toString(), { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` });
  note(observed(r));
  assertTokenError(r, 'invalid_client', 'wrong secret', { status: 401 });
  const ch = parseChallenge(r.headers.get('www-authenticate'));
  assert.ok(ch && /^basic$/i.test(ch.scheme), `WWW-Authenticate: Basic …, saw ${r.headers.get('www-authenticate')}`);
});

badCase('unknown client (client_secret_basic)', '401 invalid_client + WWW-Authenticate', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const basic = Buffer.from('no-such-client:secret').toString('base64');
  const r = await postRaw(rp.meta.token_endpoint, 'grant_type=authorization_code&code=x&redirect_uri=' + encodeURIComponent(DEFAULT_REDIRECT_URI), { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` });
  note(observed(r));
  assertTokenError(r, 'invalid_client', 'unknown client', { status: 401 });
  assert.ok(r.headers.get('www-authenticate'), 'WWW-Authenticate present');
});

/** A client assertion for rp, with overrides of header/payload (undefined values removed). */
async function assertion(rp, { header = {}, payload = {}, key } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const p = { iss: rp.client.clientId, sub: rp.client.clientId, aud: rp.meta.token_endpoint, jti: crypto.randomUUID(), iat: now, exp: now + 300, ...payload };
  for (const k of Object.keys(p)) if (p[k] === undefined) delete p[k];
  return new jose.SignJWT(p).setProtectedHeader({ alg: rp.client.keyAlg, kid: rp.client.kid, typ: 'JWT', ...header }).sign(key || rp.client.privateKey);
}

async function assertionCase(rp, jwt) {
  const c = await signedInCode(rp);
  return rp.tokenRequest({ ...codeParams(rp, c), client_id: rp.client.clientId, client_assertion_type: ASSERTION_TYPE, client_assertion: jwt }, { auth: false });
}

function assertJwtNotValid(r, what) {
  assertTokenError(r, 'invalid_client', what, { status: [400, 401] });
  assert.equal(r.json.error_description, 'JWT is not valid', `${what}: error_description as CIS2 says it: ${r.text}`);
}

badCase('client assertion with a wrong aud', 'invalid_client "JWT is not valid"', async ({ server, note }) => {
  const rp = await makeRp(server, PKJ);
  const r = await assertionCase(rp, await assertion(rp, { payload: { aud: 'https://example.com/token' } }));
  note(observed(r));
  assertJwtNotValid(r, 'wrong aud');
});

badCase('expired client assertion', 'invalid_client "JWT is not valid"', async ({ server, note }) => {
  const rp = await makeRp(server, PKJ);
  const now = Math.floor(Date.now() / 1000);
  const r = await assertionCase(rp, await assertion(rp, { payload: { iat: now - 900, exp: now - 600 } }));
  note(observed(r));
  assertJwtNotValid(r, 'expired assertion');
});

badCase('client assertion with alg none', 'invalid_client "JWT is not valid"', async ({ server, note }) => {
  const rp = await makeRp(server, PKJ);
  const now = Math.floor(Date.now() / 1000);
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ iss: rp.client.clientId, sub: rp.client.clientId, aud: rp.meta.token_endpoint, jti: crypto.randomUUID(), iat: now, exp: now + 300 })}.`;
  const r = await assertionCase(rp, jwt);
  note(observed(r));
  assertJwtNotValid(r, 'alg none');
});

badCase('client assertion HS256-signed with the public key', 'invalid_client "JWT is not valid"', async ({ server, note }) => {
  const rp = await makeRp(server, PKJ);
  // the classic key-confusion attack: HMAC keyed with the client's public key material
  const pubJson = new TextEncoder().encode(JSON.stringify(rp.client.publicJwk));
  const r1 = await assertionCase(rp, await assertion(rp, { header: { alg: 'HS256' }, key: pubJson }));
  const nBytes = Buffer.from(rp.client.publicJwk.n, 'base64url');
  const r2 = await assertionCase(rp, await assertion(rp, { header: { alg: 'HS256' }, key: nBytes }));
  note(`${observed(r1)} / ${observed(r2)}`);
  assertJwtNotValid(r1, 'HS256 keyed with the public JWK');
  assertJwtNotValid(r2, 'HS256 keyed with the modulus');
});

badCase('client assertion signed with another key', 'invalid_client "JWT is not valid"', async ({ server, note }) => {
  const rp = await makeRp(server, PKJ);
  const { privateKey } = await jose.generateKeyPair('RS256');
  const r = await assertionCase(rp, await assertion(rp, { key: privateKey }));
  note(observed(r));
  assertJwtNotValid(r, 'foreign key');
});

badCase('client assertion with iss/sub of another client', 'invalid_client "JWT is not valid"', async ({ server, note }) => {
  const rp = await makeRp(server, PKJ);
  const other = await registerClient(server, { auth: 'private_key_jwt', keyAlg: 'RS256' });
  const r = await assertionCase(rp, await assertion(rp, { payload: { iss: other.clientId, sub: other.clientId } }));
  note(observed(r));
  assertJwtNotValid(r, 'iss/sub of another client');
});

badCase('replayed client assertion (same jti)', 'invalid_client "JWT is not valid"', async ({ server, note }) => {
  const rp = await makeRp(server, PKJ);
  const jwt = await assertion(rp);
  const first = await assertionCase(rp, jwt);
  assert.equal(first.status, 200, `first use of the assertion succeeds: ${first.text}`);
  const r = await assertionCase(rp, jwt);
  note(observed(r));
  assertJwtNotValid(r, 'replayed jti');
});

// ---------------------------------------------------------------- /userinfo

badCase('userinfo without a token', '401 + WWW-Authenticate: Bearer', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const r = await userinfoRaw(rp, undefined, 'get');
  note(observed(r));
  // RFC 6750 3.1: with no credentials the challenge SHOULD NOT carry an error code; if it does, invalid_token
  assertInvalidToken(r, 'no token', { errorRequired: false });
});

badCase('userinfo with a bogus token', '401 + WWW-Authenticate: Bearer error="invalid_token"', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const r = await userinfoRaw(rp, 'bogus-token-value', 'get');
  note(observed(r));
  assertInvalidToken(r, 'bogus token');
});

badCase('userinfo with an ID token as bearer token', '401 invalid_token', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const r0 = await rp.codeFlow(new Browser(server.url), { user: USERS.single });
  const r = await userinfoRaw(rp, r0.idToken, 'get');
  note(observed(r));
  assertInvalidToken(r, 'ID token used as an access token');
});

// ---------------------------------------------------------------- CLI

badCase('CLI: client add --id-token-alg none', 'exit 2', async ({ server, note }) => {
  const r = await server.cli('client add', ['--env', 'mock', '--name', 'x', '--redirect-uri', DEFAULT_REDIRECT_URI, '--auth', 'client_secret_basic', '--id-token-alg', 'none']);
  note(`exit ${r.code}; stderr: ${r.stderr.trim().split('\n')[0]}`);
  assert.equal(r.code, 2, describeCli(r));
});

badCase('CLI: client add --redirect-uri http://example.com/cb', 'exit 2', async ({ server, note }) => {
  const r = await server.cli('client add', ['--env', 'mock', '--name', 'x', '--redirect-uri', 'http://example.com/cb', '--auth', 'client_secret_basic']);
  note(`exit ${r.code}; stderr: ${r.stderr.trim().split('\n')[0]}`);
  assert.equal(r.code, 2, describeCli(r));
});

badCase('CLI: user add with a malformed uid', 'exit 2 (or 1), one line on stderr', async ({ server, note }) => {
  const r = await server.cli('user add', ['--env', 'mock', '--uid', '12ab!', '--given-name', 'Bad', '--family-name', 'Uid', '--no-password']);
  note(`exit ${r.code}; stderr: ${r.stderr.trim()}`);
  assert.ok(r.code === 2 || r.code === 1, describeCli(r));
  const lines = r.stderr.trim().split('\n').filter((l) => l.trim());
  assert.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0], /uid/i, 'the message names the uid');
});

badCase('the server survived all of the above', '/healthz 200', async ({ server, note }) => {
  const r = await fetch(`${server.url}/healthz`);
  note(`HTTP ${r.status}`);
  assert.equal(r.status, 200);
  assert.equal(server.child.exitCode, null, 'careid is still running');
});

// ---------------------------------------------------------------- logout, revocation, introspection

badCase('logout with a forged id_token_hint (payload altered)', '400 page, no redirect, still signed in', async ({ server, note }) => {
  const { signedIn, endSession, sessionAlive, POST_LOGOUT_URI } = await import('./lib/logout.mjs');
  const { rp, browser, idToken } = await signedIn(server);
  const [head, body, sig] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(body, 'base64url'));
  const forged = `${head}.${Buffer.from(JSON.stringify({ ...claims, sub: USERS.multi })).toString('base64url')}.${sig}`;
  const res = await endSession(rp, browser, { id_token_hint: forged, post_logout_redirect_uri: POST_LOGOUT_URI, state: 's' });
  note(observed(res));
  assert.equal(res.status, 400);
  assert.equal(res.location, undefined);
  assert.ok(await sessionAlive(rp, browser), 'not signed out');
});

badCase('logout with an unregistered post_logout_redirect_uri', '400 page, no redirect, still signed in', async ({ server, note }) => {
  const { signedIn, endSession, sessionAlive } = await import('./lib/logout.mjs');
  const { rp, browser, idToken } = await signedIn(server);
  const res = await endSession(rp, browser, { id_token_hint: idToken, post_logout_redirect_uri: 'https://attacker.example/', state: 's' });
  note(observed(res));
  assert.equal(res.status, 400);
  assert.equal(res.location, undefined);
  assert.ok(await sessionAlive(rp, browser), 'not signed out');
});

badCase('introspection by an unregistered client', '401 invalid_client', async ({ server, note }) => {
  const rp = await makeRp(server, BASIC);
  const s = await rp.codeFlow(new Browser(server.url));
  const res = await postRaw(rp.meta.introspection_endpoint, new URLSearchParams({ token: s.tokens.access_token }).toString(),
    { authorization: `Basic ${Buffer.from('999999999999.apps.supplier:nope').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' });
  note(observed(res));
  assertTokenError(res, 'invalid_client', 'introspection by an unregistered client', { status: 401 });
});

badCase('revocation of another client\'s token', '400 invalid_grant, the token still works', async ({ server, note }) => {
  const owner = await makeRp(server, BASIC);
  const other = await makeRp(server, BASIC);
  const s = await owner.codeFlow(new Browser(server.url));
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(other.client.clientId)}:${encodeURIComponent(other.client.clientSecret)}`).toString('base64')}`;
  const res = await postRaw(other.meta.revocation_endpoint, new URLSearchParams({ token: s.tokens.access_token }).toString(),
    { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' });
  note(observed(res));
  assertTokenError(res, 'invalid_grant', 'revoking another client\'s token', { status: 400 });
  const ui = await userinfoRaw(owner, s.tokens.access_token);
  assert.equal(ui.status, 200, 'the token was not revoked');
});
