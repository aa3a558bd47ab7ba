// Build while you wait: a developer whose account is verified registers a client in the mock
// environment from the portal (no review, no approved SAQ), copies the secret shown once, and a
// real relying party (openid-client) signs a demo user in with it. Another developer cannot see
// it; bad input gets a clear message; the JSON API twin does the same; the pages pass axe-core's
// WCAG 2.2 A/AA rules.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setupServer, sleep, DEMO_PASSWORD, USERS } from './lib/careid.mjs';
import { Browser, decodeEntities, textOf } from './lib/browser.mjs';
import { rpForClient } from './lib/rp.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';

// no SMTP receiver: careid appends every e-mail to `${server.dir}/mail.log` (mbox)
const h = setupServer();

const PASSWORD = 'mock clients are self-service';
const PAGE = '/onboarding/mock-clients';
const API = '/api/v1/mock-clients';
const CB = 'http://127.0.0.1:9/cb';
let seq = 0;

/** The verification link careid e-mailed to `email` (read back from the mbox file). */
async function verificationLink(server, email, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let mbox = '';
    try { mbox = await readFile(join(server.dir, 'mail.log'), 'utf8'); } catch { /* not yet */ }
    const msg = mbox.split(/^From /m).find((m) => m.includes(`To: ${email}`) && /Confirm your e-mail/.test(m));
    const link = msg?.match(/https?:\/\/\S+\/onboarding\/verify\?token=[\w-]+/)?.[0];
    if (link) return link;
    if (Date.now() > end) throw new Error(`no verification e-mail to ${email} in ${server.dir}/mail.log`);
    await sleep(100);
  }
}

/** Signs a browser in to the portal through careid's sign-in page; returns the last page. */
async function portalSignIn(browser, username, password) {
  let res = await browser.get('/onboarding/signin');
  ({ res } = await browser.follow(res));
  assert.equal(res.kind, 'login', `the portal sends people to careid's sign-in page: ${res.status} ${res.url}`);
  res = await browser.submit(res.form, { username, password });
  ({ res } = await browser.follow(res));
  return res;
}

/** A new developer account through the API: {email, uid}; verified (and signed in) unless told. */
async function developer(server, { verify = true } = {}) {
  const email = `dev${++seq}.${process.pid}@supplier.example`;
  const browser = new Browser(server.url);
  let res = await browser.request('/api/v1/accounts', {
    method: 'POST', contentType: 'application/json',
    body: JSON.stringify({ given_name: 'Mock', family_name: `Developer${seq}`, email, password: PASSWORD }),
  });
  assert.equal(res.status, 202, res.body);
  if (verify) {
    res = await browser.get(await verificationLink(server, email));
    res = await browser.submit(res.form);
    assert.match(res.body, /E-mail address confirmed/);
    res = await portalSignIn(browser, email, PASSWORD);
    assert.equal(res.status, 200, `signed in: ${res.url} ${res.status}`);
  }
  return { email, browser };
}

/** The registration form of the mock clients page. */
async function mockForm(browser) {
  const res = await browser.get(PAGE);
  assert.equal(res.status, 200, res.body.slice(0, 300));
  const form = res.forms.find((f) => f.action.endsWith(PAGE));
  assert.ok(form, 'the registration form');
  return { res, form };
}

/** Posts the form with `values`; returns the answer. */
async function register(browser, values) {
  const { form } = await mockForm(browser);
  return browser.submit(form, values);
}

const between = (html, id) => decodeEntities(new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1] ?? '');

/** openid-client signs the demo GP in with the client: its ID token names the user and the client. */
async function provesSignIn(server, client) {
  const rp = await rpForClient(server, { env: 'mock', idTokenAlg: 'RS256', redirectUri: client.redirectUris[0], ...client });
  const flow = await rp.codeFlow(new Browser(server.url), { user: USERS.single, password: DEMO_PASSWORD, scope: 'openid profile' });
  assert.equal(flow.claims.sub, USERS.single);
  assert.equal(flow.claims.iss, server.issuer('mock'));
  assert.ok([].concat(flow.claims.aud).includes(client.clientId));
  const info = await rp.userinfo(flow.tokens.access_token, USERS.single);
  assert.equal(info.sub, USERS.single);
}

h.test('signed-out and unverified callers are refused', async (t, server) => {
  const anon = new Browser(server.url);
  let res = await anon.get(PAGE);
  assert.equal(res.status, 303);
  assert.match(res.location, /\/onboarding\/signin\?return_to=/);
  res = await anon.get(API);
  assert.equal(res.status, 401);
  res = await anon.request(API, { method: 'POST', contentType: 'application/json', body: JSON.stringify({ name: 'x', redirect_uris: [CB] }) });
  assert.equal(res.status, 401);

  // an account whose e-mail address is not verified gets no portal session at all
  const dev = await developer(server, { verify: false });
  res = await portalSignIn(dev.browser, dev.email, PASSWORD);
  assert.equal(res.status, 403);
  assert.match(res.body, /Verify your e-mail/);
  res = await dev.browser.get(PAGE);
  assert.equal(res.status, 303, 'still signed out');
  res = await dev.browser.get(API);
  assert.equal(res.status, 401);
});

h.test('register a mock client on the page, copy the secret once, sign a demo user in with it', async (t, server) => {
  const a = await developer(server);
  let { res } = await mockForm(a.browser);
  const page = textOf(res.body);
  assert.ok(page.includes(server.issuer('mock')), 'the mock issuer is shown');
  assert.ok(page.includes(`${server.issuer('mock')}/.well-known/openid-configuration`), 'and its discovery URL');
  assert.match(page, /656005750108/);
  assert.match(page, /careid-demo/);
  assert.match(page, /careid user list --env mock/);
  assert.match(page, /not registered a mock client yet/);
  assert.match(res.body, /value="client_secret_basic" checked/, 'client_secret_basic is the default');

  const uris = [CB, 'https://wardview.example/callback'];
  res = await register(a.browser, { name: 'WardView development', redirect_uris: `  ${uris[0]}\r\n\r\n${uris[1]}  \r\n` });
  assert.equal(res.status, 200, res.body.slice(0, 500));
  assert.match(res.headers.get('cache-control') || '', /no-store/);
  assert.match(textOf(res.body), /Copy the client secret now/);
  assert.match(textOf(res.body), /only time the client secret is shown/);
  const clientId = between(res.body, 'client-id');
  const clientSecret = between(res.body, 'client-secret');
  assert.match(clientId, /^\d{12}\.apps\.supplier$/);
  assert.ok(clientSecret.length >= 32, `a client secret is shown: ${clientSecret}`);

  await provesSignIn(server, { clientId, clientSecret, auth: 'client_secret_basic', redirectUris: uris });

  // the list shows the client, never its secret again
  ({ res } = await mockForm(a.browser));
  assert.ok(res.body.includes(clientId));
  assert.match(res.body, /WardView development/);
  for (const u of uris) assert.ok(textOf(res.body).includes(u), `redirect URI ${u} listed`);
  assert.ok(!res.body.includes(clientSecret), 'the secret is not shown again');
  res = await a.browser.get(API);
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, [{ client_id: clientId, name: 'WardView development', auth_method: 'client_secret_basic', redirect_uris: uris }]);
  assert.ok(!res.body.includes(clientSecret));

  // another developer sees none of it
  const b = await developer(server);
  ({ res } = await mockForm(b.browser));
  assert.ok(!res.body.includes(clientId), "another account's page does not list it");
  assert.match(textOf(res.body), /not registered a mock client yet/);
  res = await b.browser.get(API);
  assert.deepEqual(res.json, []);
});

h.test('bad input: a clear message, the values kept, 400', async (t, server) => {
  const a = await developer(server);
  const cases = [
    { what: 'plain http to a public host', values: { name: 'Bad URI', redirect_uris: 'http://example.com/cb' }, field: 'redirect_uris', message: /Redirect URI http:\/\/example\.com\/cb must be https/ },
    { what: 'an empty name', values: { name: '', redirect_uris: CB }, field: 'name', message: /Enter a name for your client/ },
    { what: 'a name over 100 characters', values: { name: 'n'.repeat(101), redirect_uris: CB }, field: 'name', message: /up to 100 characters/ },
    { what: 'no redirect URI', values: { name: 'No URI', redirect_uris: '\n  \n' }, field: 'redirect_uris', message: /at least one redirect URI/ },
    { what: '11 redirect URIs', values: { name: 'Too many', redirect_uris: Array.from({ length: 11 }, (_, i) => `https://app.example/cb${i}`).join('\n') }, field: 'redirect_uris', message: /at most 10 redirect URIs/ },
    { what: 'an unknown authentication method', values: { name: 'Odd auth', redirect_uris: CB, auth_method: 'client_secret_jwt' }, field: 'auth_method', message: /Choose how your client authenticates/ },
    { what: 'private_key_jwt without a JWKS URI', values: { name: 'Keys', redirect_uris: CB, auth_method: 'private_key_jwt' }, field: 'jwks_uri', message: /Enter the JWKS URI/ },
    { what: 'a JWKS URI over plain http', values: { name: 'Keys', redirect_uris: CB, auth_method: 'private_key_jwt', jwks_uri: 'http://keys.example/jwks' }, field: 'jwks_uri', message: /JWKS URI that starts with https/ },
  ];
  for (const c of cases) {
    const res = await register(a.browser, c.values);
    assert.equal(res.status, 400, `${c.what}: ${res.status}`);
    const summary = /<div class="nhsuk-error-summary"[\s\S]*?<\/div>\s*<\/div>/.exec(res.body)?.[0];
    assert.ok(summary, `${c.what}: an NHS.UK error summary`);
    assert.match(textOf(summary), c.message, `${c.what}: the summary says what is wrong`);
    assert.ok(summary.includes(`href="#${c.field}"`), `${c.what}: the summary links to the field`);
    assert.match(textOf(res.body.slice(res.body.indexOf(`id="${c.field}-error"`))), c.message, `${c.what}: the message at the field`);
    assert.match(res.body, /<title>Error: /);
    const form = res.forms.find((f) => f.action.endsWith(PAGE));
    const kept = Object.fromEntries(form.inputs.filter((i) => i.type !== 'radio' && i.name).map((i) => [i.name, i.value]));
    assert.equal(kept.name, c.values.name, `${c.what}: the name is kept`);
    assert.equal(kept.redirect_uris, c.values.redirect_uris, `${c.what}: the redirect URIs are kept`);
    if (c.values.auth_method === 'private_key_jwt') assert.equal(form.radios.auth_method.find((r) => r.checked)?.value, 'private_key_jwt');
  }
  // nothing was registered
  assert.deepEqual((await a.browser.get(API)).json, []);
  // a form from elsewhere (no CSRF token) is refused
  const res = await a.browser.post(PAGE, { name: 'Forged', redirect_uris: CB });
  assert.equal(res.status, 403);
});

h.test('the API twin registers a client that signs a demo user in; its errors are JSON', async (t, server) => {
  const a = await developer(server);
  const csrf = (await a.browser.get('/api/v1/me')).json.csrf_token;
  assert.ok(csrf);
  const post = (body, headers = { 'x-csrf-token': csrf }) => a.browser.request(API, { method: 'POST', contentType: 'application/json', headers, body: JSON.stringify(body) });

  let res = await post({ name: 'No token', redirect_uris: [CB] }, {});
  assert.equal(res.status, 403, 'a session caller must send X-CSRF-Token');
  res = await post({ name: 'Post client', redirect_uris: [CB], auth_method: 'client_secret_post' });
  assert.equal(res.status, 201, res.body);
  const { client_id: clientId, client_secret: clientSecret } = res.json;
  assert.match(clientId, /^\d{12}\.apps\.supplier$/);
  assert.ok(clientSecret);
  assert.equal(res.json.issuer, server.issuer('mock'));
  assert.equal(res.json.discovery, `${server.issuer('mock')}/.well-known/openid-configuration`);
  await provesSignIn(server, { clientId, clientSecret, auth: 'client_secret_post', redirectUris: [CB] });

  // private_key_jwt: no secret at all
  res = await post({ name: 'Key client', redirect_uris: ['https://keys.example/cb'], auth_method: 'private_key_jwt', jwks_uri: 'https://keys.example/jwks.json' });
  assert.equal(res.status, 201, res.body);
  assert.equal(res.json.client_secret, undefined);

  res = await post({ name: '', redirect_uris: ['http://example.com/cb'], auth_method: 'magic' });
  assert.equal(res.status, 400);
  assert.deepEqual(Object.keys(res.json.errors).sort(), ['auth_method', 'name', 'redirect_uris']);
  assert.match(res.json.errors.redirect_uris, /must be https/);
  res = await post({ name: 'Many', redirect_uris: Array.from({ length: 11 }, (_, i) => `https://app.example/${i}`) });
  assert.equal(res.status, 400);
  assert.match(res.json.errors.redirect_uris, /at most 10/);
  res = await post({ name: 'Not a list', redirect_uris: CB });
  assert.equal(res.status, 400);
  assert.ok(res.json.errors.redirect_uris);
  res = await post({ name: 'Stray JWKS', redirect_uris: [CB], jwks_uri: 'https://keys.example/jwks.json' });
  assert.equal(res.status, 400);
  assert.match(res.json.errors.jwks_uri, /only for private_key_jwt/);

  res = await a.browser.get(API);
  assert.equal(res.json.length, 2, 'the bad requests registered nothing');
  assert.deepEqual(res.json.find((c) => c.client_id === clientId), { client_id: clientId, name: 'Post client', auth_method: 'client_secret_post', redirect_uris: [CB] });
  assert.equal(res.json.find((c) => c.auth_method === 'private_key_jwt')?.jwks_uri, 'https://keys.example/jwks.json');
});

h.test('at most 20 mock clients per account', async (t, server) => {
  const a = await developer(server);
  const csrf = (await a.browser.get('/api/v1/me')).json.csrf_token;
  const post = (name) => a.browser.request(API, { method: 'POST', contentType: 'application/json', headers: { 'x-csrf-token': csrf }, body: JSON.stringify({ name, redirect_uris: [CB] }) });
  const first = await Promise.all(Array.from({ length: 20 }, (_, i) => post(`Client ${i + 1}`)));
  assert.deepEqual(first.map((r) => r.status), Array(20).fill(201));
  let res = await post('Client 21');
  assert.equal(res.status, 409);
  assert.match(res.json.message, /at most 20/);
  res = await a.browser.get(PAGE);
  assert.match(textOf(res.body), /the most an account can have/);
  res = await a.browser.post(PAGE, { csrf: res.forms.find((f) => f.hidden.csrf)?.hidden.csrf, name: 'Client 21', redirect_uris: CB });
  assert.equal(res.status, 409);
  assert.equal((await a.browser.get(API)).json.length, 20);
});

h.test('the mock clients pages pass WCAG 2.2 A/AA checks', { timeout: 120000 }, async (t, server) => {
  const dev = await developer(server);
  const b = await launch();
  try {
    const page = await b.ctx.newPage();
    const base = server.url;
    await page.goto(`${base}${PAGE}`);
    await page.fill('#username', dev.email);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${base}${PAGE}`), page.click('button[type=submit]')]);
    await axeWcag(page, 'mock clients page');

    await page.fill('#name', '');
    await page.fill('#redirect_uris', 'http://example.com/cb');
    await page.click('form[action="/onboarding/mock-clients"] button[type=submit]');
    await page.waitForSelector('.nhsuk-error-summary');
    await axeWcag(page, 'mock clients page with errors');
    assert.equal(await page.inputValue('#redirect_uris'), 'http://example.com/cb', 'the bad answer is kept');

    await page.fill('#name', 'ClinicBoard development');
    await page.fill('#redirect_uris', 'https://clinicboard.example/callback');
    await page.check('input[name=auth_method][value=client_secret_post]');
    await page.click('form[action="/onboarding/mock-clients"] button[type=submit]');
    await page.waitForSelector('#client-secret');
    await axeWcag(page, 'mock client registered (secret shown once)');
    await screenshot(page, 'onboarding-mock-client.png');

    await page.goto(`${base}${PAGE}`);
    await axeWcag(page, 'mock clients page with a client');
    await screenshot(page, 'onboarding-mock-clients.png');
  } finally {
    await b.close();
  }
});
