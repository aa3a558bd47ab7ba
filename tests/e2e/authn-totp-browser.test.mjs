// The authenticator app in a real browser (Debian chromium through playwright-core): setting up
// a first app right after the password (QR code), signing in with a code, and the account page's
// set-up — each page passes axe-core's WCAG 2.2 A/AA rules.
// CAREID_SCREENSHOTS=1 saves docs/screenshots/signin-totp-enrol.png, signin-totp.png,
// account-totp.png.
import assert from 'node:assert/strict';
import { setupServer, DEMO_PASSWORD } from './lib/careid.mjs';
import { makeRp } from './lib/rp.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';
import { totpAt, DEMO_TOTP } from './lib/totp.mjs';

const h = setupServer();

/** Opens an authorization URL and answers the client's redirect URI with a blank page. */
async function openAuthorize(page, rp, params) {
  const authz = await rp.authorizationUrl({ scope: 'openid', ...params });
  const landed = new Promise((resolve) => {
    page.route(`${rp.client.redirectUri}**`, (route) => {
      resolve(route.request().url());
      route.fulfill({ status: 200, contentType: 'text/html', body: '<!DOCTYPE html><title>client</title>' });
    });
  });
  await page.goto(authz.url);
  return { authz, landed };
}

async function signInWithPassword(page, uid) {
  await page.locator('#password-form input[name="username"]').fill(uid);
  await page.locator('#password-form input[name="password"]').fill(DEMO_PASSWORD);
  await Promise.all([page.waitForLoadState('load'), page.locator('#password-form button[type="submit"]').click()]);
}

const within = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: nothing within ${ms} ms`)), ms).unref())]);

h.test('totp in Chromium: first app set up after the password, then a code; pages pass axe', async (t, server) => {
  const b = await launch();
  try {
    const page = await b.ctx.newPage();
    const rp = await makeRp(server);

    // a user with no app, asked for AAL2_TOTP in mock: the set-up page with the QR code
    let { authz, landed } = await openAuthorize(page, rp, { acr_values: 'AAL2_TOTP' });
    assert.match(await page.locator('#password-form').innerText(), /authenticator app/i, 'the password form says a code comes next');
    await signInWithPassword(page, '910000000001');
    await page.locator('img.careid-qr').waitFor({ timeout: 10000 });
    assert.equal(await page.locator('h1').innerText(), 'Set up your authenticator app');
    const box = await page.locator('img.careid-qr').boundingBox();
    assert.ok(box && box.width >= 150, 'the QR code is shown at a scannable size');
    await axeWcag(page, 'authenticator app set-up');
    await screenshot(page, 'signin-totp-enrol.png');
    await page.locator('summary').click();
    const secret = (await page.locator('#totp-secret').innerText()).trim();
    await page.locator('input[name="code"]').fill('000000' === totpAt(secret) ? '111111' : '000000');
    await Promise.all([page.waitForLoadState('load'), page.locator('form button[type="submit"]').click()]);
    assert.match(await page.locator('.nhsuk-error-summary').innerText(), /not correct/, 'a wrong code is explained');
    await axeWcag(page, 'set-up with an error');
    await page.locator('input[name="code"]').fill(totpAt(secret));
    await page.locator('form button[type="submit"]').click();
    let url = await within(landed, 10000, 'redirect to the client');
    let tokens = await rp.exchange(url, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
    assert.equal(tokens.claims().acr, 'AAL2_TOTP');
    await page.unrouteAll();

    // the demo user with an app: password, then the code page
    await b.ctx.clearCookies();
    ({ authz, landed } = await openAuthorize(page, rp, { acr_values: 'AAL2_TOTP' }));
    await signInWithPassword(page, DEMO_TOTP.uid);
    await page.locator('input[name="code"]').waitFor({ timeout: 10000 });
    assert.equal(await page.locator('h1').innerText(), 'Enter your code');
    assert.equal(await page.locator('input[name="code"]').getAttribute('autocomplete'), 'one-time-code');
    await axeWcag(page, 'code page');
    await screenshot(page, 'signin-totp.png');
    await page.locator('input[name="code"]').fill(totpAt(DEMO_TOTP.secret));
    await page.locator('form button[type="submit"]').click();
    url = await within(landed, 10000, 'redirect to the client');
    tokens = await rp.exchange(url, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
    assert.equal(tokens.claims().sub, DEMO_TOTP.uid);
    assert.deepEqual(tokens.claims().amr, ['pwd', 'TOTP']);
    await page.unrouteAll();

    // the account page lists the app; a second one is set up there
    await page.goto(`${server.issuer('mock')}/account`);
    assert.equal(await page.locator('h1').innerText(), 'Your authenticators');
    if (!(await page.locator('#authenticator-table').count())) assert.fail(await page.locator('main').innerHTML());
    assert.match(await page.locator('#authenticator-table').innerText(), /Demo authenticator app/);
    await axeWcag(page, 'account page');
    await Promise.all([page.waitForLoadState('load'), page.locator('#add-totp').click()]);
    assert.equal(await page.locator('h1').innerText(), 'Set up an authenticator app');
    await axeWcag(page, 'account: app set-up');
    await screenshot(page, 'account-totp.png');
    await page.locator('summary').click();
    const second = (await page.locator('#totp-secret').innerText()).trim();
    await page.locator('#totp-name').fill('Work phone');
    await page.locator('input[name="code"]').fill(totpAt(second));
    await Promise.all([page.waitForLoadState('load'), page.locator('form button[type="submit"]').click()]);
    assert.match(await page.locator('#notice').innerText(), /authenticator app is set up/);
    assert.match(await page.locator('#authenticator-table').innerText(), /Work phone/);

    // and removed again
    const row = page.locator('#authenticator-table tr', { hasText: 'Work phone' });
    await Promise.all([page.waitForLoadState('load'), row.getByRole('button', { name: /Remove/ }).click()]);
    assert.match(await page.locator('#notice').innerText(), /removed/);
    assert.doesNotMatch(await page.locator('#authenticator-table').innerText(), /Work phone/);
  } finally {
    await b.close();
  }
});

h.test('account page without a session says how to sign in; its forms need the CSRF token', async (t, server) => {
  const res = await fetch(`${server.issuer('mock')}/account`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /You are not signed in/);
  const post = await fetch(`${server.issuer('mock')}/account`, { method: 'POST', body: new URLSearchParams({ action: 'remove', id: 'x' }) });
  assert.equal(post.status, 200, 'no session: the same explanation, nothing changed');
  assert.match(await post.text(), /You are not signed in/);
});
