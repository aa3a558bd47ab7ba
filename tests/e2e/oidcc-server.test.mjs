// oidcc-server: the basic code flow works for every client authentication method, and the
// sign-in pages are automatable (one form, documented field names, careid_ cookies).
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { Browser, describeRes } from './lib/browser.mjs';
import { forVariants, makeRp, ALL_VARIANTS, assertIdTokenClaims } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-server: code flow issues tokens and a valid ID token', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: 'openid' });
  assertIdTokenClaims(rp, r.claims, { user: USERS.single, nonce: r.authz.nonce });
  const tok = r.tokens;
  assert.match(tok.token_type, /^bearer$/i, `token_type: ${JSON.stringify(tok)}`);
  assert.equal(typeof tok.access_token, 'string');
  assert.ok(Number.isInteger(tok.expires_in) && tok.expires_in > 0 && tok.expires_in <= 3600, `expires_in about an hour: ${tok.expires_in}`);
  assert.equal(typeof tok.refresh_token, 'string', 'a refresh token is issued with every code exchange');
  const ui = await rp.userinfo(tok.access_token, r.claims.sub);
  assert.equal(ui.sub, USERS.single);
}, { variants: ALL_VARIANTS });

h.test('oidcc-server: the sign-in page has one automatable password form', async (t, server) => {
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const first = await b.get(a.url);
  assert.ok([302, 303].includes(first.status), `GET /authorize without a session: expected 302/303, saw ${describeRes(first)}`);
  assert.equal(new URL(first.location).origin, server.origin, `the sign-in page must be on careid's origin: ${first.location}`);
  const page = (await b.follow(first)).res;
  assert.equal(page.status, 200, `sign-in page: ${describeRes(page)}`);
  assert.match(page.headers.get('content-type') || '', /text\/html/);
  // mock accepts every authenticator when a request names no class: one form
  // each (security key, smartcard, password); the password form is plain HTML.
  const posts = page.forms.filter((f) => f.method === 'post' && f.inputs.some((i) => i.name === 'password'));
  assert.equal(posts.length, 1, `exactly one POST form with a password expected on the sign-in page, saw ${page.forms.length} forms`);
  for (const other of page.forms.filter((f) => f.method === 'post')) {
    assert.ok(other.hidden.tx && other.hidden.csrf && other.hidden.method, `every sign-in form carries tx, csrf and method: ${JSON.stringify(other.hidden)}`);
  }
  const f = posts[0];
  assert.ok(f.hidden.tx, `hidden input "tx" expected: ${JSON.stringify(f.hidden)}`);
  assert.ok(f.hidden.csrf, `hidden input "csrf" expected: ${JSON.stringify(f.hidden)}`);
  const user = f.inputs.find((i) => i.name === 'username');
  const pw = f.inputs.find((i) => i.name === 'password');
  assert.ok(user && ['text', 'email'].includes(user.type), `text input "username" expected: ${JSON.stringify(f.inputs.map((i) => [i.type, i.name]))}`);
  assert.ok(pw && pw.type === 'password', 'password input "password" expected');
  assert.equal(new URL(f.action).origin, server.origin, `form action on careid's origin: ${f.action}`);
  assert.ok(b.cookies.size > 0, 'the sign-in step should set a cookie (transaction/CSRF binding)');
  for (const c of b.cookies.values()) {
    assert.match(c.name, /^careid_/, `cookie names start with careid_: ${c.raw}`);
    assert.ok('httponly' in c.attrs, `cookie must be HttpOnly: ${c.raw}`);
    assert.ok('samesite' in c.attrs, `cookie must carry SameSite: ${c.raw}`);
  }
  const res = await b.signIn(a.url, { username: USERS.single, password: 'careid-demo' });
  assert.ok(res.code, 'sign-in completes');
  for (const c of b.cookies.values()) assert.match(c.name, /^careid_/, `cookie names start with careid_: ${c.raw}`);
});
