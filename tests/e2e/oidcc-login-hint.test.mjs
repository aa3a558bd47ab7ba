// oidcc-login-hint: login_hint pre-fills the username field of the sign-in form.
import assert from 'node:assert/strict';
import { setupServer, USERS, DEMO_PASSWORD } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';
import { describeRes } from './lib/browser.mjs';

const h = setupServer();

forVariants(h, 'oidcc-login-hint: username pre-filled', async ({ rp, browser }) => {
  const a = await rp.authorizationUrl({ scope: 'openid', login_hint: USERS.clinical });
  const stop = await browser.signIn(a.url, { stopAt: 'login' });
  assert.equal(stop.page.kind, 'login', `expected the sign-in form: ${describeRes(stop.page)}`);
  const field = stop.page.form.inputs.find((i) => i.name === 'username');
  assert.equal(field?.value, USERS.clinical, `username input value should be the login_hint: ${JSON.stringify(field)}`);
  // submit with the pre-filled username, only typing the password
  const done = await browser.signIn(a.url, { password: DEMO_PASSWORD });
  assert.ok(done.code, `sign-in with the pre-filled username: ${describeRes(done.page)}`);
  const tokens = await rp.exchange(done.location, { expectedState: a.state, expectedNonce: a.nonce, pkceCodeVerifier: a.verifier });
  assert.equal(tokens.claims().sub, USERS.clinical);
});

forVariants(h, 'oidcc-login-hint: the hint is HTML-escaped', async ({ rp, browser }) => {
  const hint = '"><script>alert(1)</script>';
  const a = await rp.authorizationUrl({ scope: 'openid', login_hint: hint });
  const stop = await browser.signIn(a.url, { stopAt: 'login' });
  assert.ok(!stop.page.body.includes('<script>alert(1)</script>'), 'login_hint must not be reflected unescaped');
  const field = stop.page.form?.inputs.find((i) => i.name === 'username');
  assert.ok(field && (field.value === hint || field.value === ''), `username is the escaped hint or empty: ${JSON.stringify(field)}`);
}, { variants: [{ name: 'client_secret_basic', auth: 'client_secret_basic' }] });
