// Environments (connection management): once CIS2 Authentication is added to a product, its team
// registers clients in INT and DEP itself — on the page or through the API — and a real relying
// party (openid-client) signs the demo authenticator-app user in with the new client in INT at
// once. Secrets are shown once and can be rotated (the old one is refused with invalid_client at
// once, the new one works); private_key_jwt reads keys from a JWKS URI this test serves; Live is
// refused until technical conformance and the Connection Agreement; bad input gets its exact
// message and creates nothing; reviewers read, never register; other teams see nothing. The pages
// pass axe-core's WCAG 2.2 A/AA rules in Chromium. CAREID_SCREENSHOTS=1 saves
// docs/screenshots/onboarding-environments*.png.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after } from 'node:test';
import { generateKeyPair, exportJWK } from 'jose';
import { setupServer, sleep, DEMO_PASSWORD } from './lib/careid.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { newAccount, approvedSaq, REVIEWER, portalSignIn, api } from './lib/portal.mjs';
import { Browser, decodeEntities, textOf, describeRes, describePages } from './lib/browser.mjs';
import { rpForClient, assertTokenError } from './lib/rp.mjs';
import { totpAt, currentStep, DEMO_TOTP } from './lib/totp.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';

let smtp;
let jwksServer;
const h = setupServer({
  extraArgs: [],
  async prepare(opts) {
    smtp = await startSmtp();
    opts.extraArgs.push('--smtp-url', smtp.url);
  },
});
after(async () => {
  await smtp?.stop();
  if (jwksServer) await new Promise((resolve) => jwksServer.close(resolve));
});

const CB = 'http://127.0.0.1:9/cb';
const HTTP_MSG = 'Redirect URI http://wardview.example/cb must be https (plain http only for a loopback callback such as http://127.0.0.1:PORT/…)';
const JWKS_MSG = 'Enter the JWKS URI as a full address that starts with https://, for example https://wardview.example/.well-known/jwks.json';
const BC_MSG = 'Enter a back-channel logout URI with a valid host name (and port, if any), for example https://wardview.example/backchannel-logout';
const LIVE_MSG = 'You cannot register a Live client yet: technical conformance has not been achieved and the Connection Agreement has not been accepted. Live clients can be registered once technical conformance is achieved and the Connection Agreement accepted.';
const NO_ENV_MSG = "There is no such environment: a product's clients are registered in int, dep and live.";

/** The single value of a one-row, one-column query, as text. */
async function sqlValue(server, statement) {
  const rows = await server.sql(statement);
  assert.equal(rows.length, 1, `one row from ${statement}: ${JSON.stringify(rows)}`);
  return String(Object.values(rows[0])[0]);
}
const countClients = async (server, env) => Number(await sqlValue(server, `SELECT COUNT(*) AS n FROM clients WHERE env = '${env}'`));
const between = (html, id) => decodeEntities(new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1] ?? '');

/** A product of the account's team, with CIS2 Authentication granted by the reviewer. */
async function grantedProduct(account, reviewer, name) {
  let r = await account.api.post('/api/v1/products', { name });
  assert.equal(r.status, 201, r.body);
  const product = r.json;
  r = await account.api.post(`/api/v1/products/${product.id}/access`);
  assert.equal(r.status, 202, r.body);
  const req = (await reviewer.get('/api/v1/reviews')).json.open.find((x) => x.kind === 'access' && x.subject_id === product.id);
  assert.ok(req, 'the access request is in the queue');
  r = await reviewer.post(`/api/v1/reviews/${req.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);
  return product;
}

// One team (a, with a granted product and one not yet granted), another team (b), the reviewer.
let world;
async function setup(server) {
  if (world) return world;
  const a = await newAccount(server, smtp, { email: `env.a+${process.pid}@supplier.example` });
  const b = await newAccount(server, smtp, { email: `env.b+${process.pid}@other.example` });
  const reviewer = await approvedSaq(server, a);
  await approvedSaq(server, b);
  let r = await a.api.post('/api/v1/organisation', { ods_code: 'EN1', name: 'Env Systems Ltd', team_name: 'Env team' });
  assert.equal(r.status, 201, r.body);
  r = await b.api.post('/api/v1/organisation', { ods_code: 'EN2', name: 'Other Env Ltd', team_name: 'Other team' });
  assert.equal(r.status, 201, r.body);
  const product = await grantedProduct(a, reviewer, `WardView ${process.pid}`);
  r = await a.api.post('/api/v1/products', { name: `Not yet ${process.pid}` });
  assert.equal(r.status, 201, r.body);
  world = { a, b, reviewer, product, waiting: r.json };
  return world;
}

// careid refuses a code of a time step at or before the last one used: each sign-in takes a step
// of its own (one step ahead of the clock is accepted), waiting for the clock when it must.
let lastStep = 0;
async function freshStep() {
  for (;;) {
    const now = currentStep();
    const step = Math.max(now, lastStep + 1);
    if (step <= now + 1) return (lastStep = step);
    await sleep(500);
  }
}

/**
 * Signs the demo authenticator-app user in through `rp` in INT (password, then a TOTP code of a
 * fresh time step): the code exchanged by openid-client. Returns {tokens, claims}.
 */
async function totpSignIn(rp, browser, { params = {} } = {}) {
  const step = await freshStep();
  const authz = await rp.authorizationUrl({ scope: 'openid profile', ...params });
  const s = await browser.signIn(authz.url, { username: DEMO_TOTP.uid, password: DEMO_PASSWORD });
  const trail = `${describePages(s.pages)}\n    last: ${describeRes(s.page)}`;
  assert.ok(s.page.form?.inputs.some((i) => i.name === 'code'), `a code page after the password: ${trail}`);
  const res = await browser.submit(s.page.form, { code: totpAt(DEMO_TOTP.secret, step) });
  assert.ok([302, 303].includes(res.status), `the code signs in: ${describeRes(res)}`);
  assert.ok(res.location.startsWith(rp.client.redirectUri), `back to the client: ${res.location}`);
  const tokens = await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
  return { tokens, claims: tokens.claims() };
}

/** A code for `rp` from the browser's INT session (no sign-in form): {location, authz}. */
async function ssoCode(rp, browser) {
  const authz = await rp.authorizationUrl({ scope: 'openid' });
  const s = await browser.signIn(authz.url, {});
  assert.ok(s.code, `a code from the session: ${describePages(s.pages)} last: ${describeRes(s.page)}`);
  assert.equal(s.sawLogin, 0, 'no sign-in form: the session is reused');
  return { location: s.location, authz };
}

h.test('refused before CIS2 access; unknown environments are 404; another team never reaches them', async (t, server) => {
  const { a, b, product, waiting } = await setup(server);
  let r = await a.api.get(`/api/v1/products/${waiting.id}/environments`);
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'cis2_not_granted');
  r = await a.browser.get(`/onboarding/products/${waiting.id}/environments/int`);
  assert.equal(r.status, 403);
  assert.match(textOf(r.body), /CIS2 Authentication must be added to this product first/);

  for (const env of ['mock', 'portal', 'prod']) {
    r = await a.api.post(`/api/v1/products/${product.id}/environments/${env}/clients`, { name: 'X', redirect_uris: [CB] });
    assert.equal(r.status, 404, `${env}: ${r.body}`);
    assert.equal(r.json.message, NO_ENV_MSG);
    r = await a.browser.get(`/onboarding/products/${product.id}/environments/${env}`);
    assert.equal(r.status, 404);
    assert.ok(textOf(r.body).includes(NO_ENV_MSG));
  }

  // a member of another team: no such product
  const before = await countClients(server, 'int');
  r = await b.api.get(`/api/v1/products/${product.id}/environments`);
  assert.equal(r.status, 404);
  r = await b.api.post(`/api/v1/products/${product.id}/environments/int/clients`, { name: 'Hijack', redirect_uris: [CB] });
  assert.equal(r.status, 404);
  assert.equal(r.json.message, 'There is no such product in your team.');
  r = await b.browser.get(`/onboarding/products/${product.id}/environments/int`);
  assert.equal(r.status, 404);
  assert.equal(await countClients(server, 'int'), before, 'nothing created');
});

h.test('API: an INT client works at once (TOTP user, default class), its secret rotates: old refused, new works', async (t, server) => {
  const { a, product } = await setup(server);
  const base = `/api/v1/products/${product.id}/environments`;
  let r = await a.api.get(base);
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(r.json.map((e) => e.env), ['int', 'dep', 'live']);
  const int = r.json[0];
  assert.equal(int.issuer, server.issuer('int'));
  assert.equal(int.discovery, `${server.issuer('int')}/.well-known/openid-configuration`);
  assert.equal(int.can_register, true);
  assert.equal(r.json[2].can_register, false, 'live is not open yet');
  assert.equal(r.json[2].refusal, LIVE_MSG);

  r = await a.api.post(`${base}/int/clients`, {
    name: 'WardView INT', redirect_uris: [CB], auth_method: 'client_secret_basic', id_token_alg: 'PS256',
    default_acr: 'AAL2_OR_AAL3_ANY', backchannel_logout_uri: 'https://wardview.example/backchannel-logout',
    post_logout_redirect_uris: ['https://wardview.example/signed-out'],
  });
  assert.equal(r.status, 201, r.body);
  const created = r.json;
  assert.match(created.client_id, /^\d{12}\.apps\.supplier$/);
  assert.ok(created.client_secret?.length >= 32);
  assert.equal(created.issuer, server.issuer('int'));
  assert.equal(created.discovery, `${server.issuer('int')}/.well-known/openid-configuration`);
  assert.equal(created.id_token_alg, 'PS256');
  assert.equal(created.default_acr, 'AAL2_OR_AAL3_ANY');
  assert.equal(await sqlValue(server, `SELECT COUNT(*) AS n FROM audit_events WHERE action = 'env_client.registered' AND subject = 'client:${created.client_id}'`), '1');

  // a real relying party, right away: no acr_values, so the client's default class applies
  const client = { env: 'int', auth: 'client_secret_basic', clientId: created.client_id, clientSecret: created.client_secret, redirectUris: [CB], redirectUri: CB, idTokenAlg: 'PS256' };
  const rp = await rpForClient(server, client);
  const browser = new Browser(server.url);
  const { tokens, claims } = await totpSignIn(rp, browser);
  assert.equal(claims.sub, DEMO_TOTP.uid);
  assert.equal(claims.iss, server.issuer('int'));
  assert.equal(claims.acr, 'AAL2_OR_AAL3_ANY');
  assert.deepEqual(claims.amr, ['pwd', 'TOTP']);
  assert.ok(tokens.access_token);

  // listed, never with a secret
  r = await a.api.get(`${base}/int/clients`);
  assert.equal(r.status, 200);
  const listed = r.json.find((c) => c.client_id === created.client_id);
  assert.deepEqual({ ...listed, created_at: undefined }, {
    client_id: created.client_id, name: 'WardView INT', auth_method: 'client_secret_basic', redirect_uris: [CB],
    backchannel_logout_uri: 'https://wardview.example/backchannel-logout', post_logout_redirect_uris: ['https://wardview.example/signed-out'],
    id_token_alg: 'PS256', default_acr: 'AAL2_OR_AAL3_ANY', has_secret: true, created_at: undefined,
  });
  assert.ok(!r.body.includes(created.client_secret));

  // rotation: the old secret stops working at once
  r = await a.api.post(`${base}/int/clients/${created.client_id}/secret`);
  assert.equal(r.status, 200, r.body);
  const fresh = r.json.client_secret;
  assert.ok(fresh && fresh !== created.client_secret);
  assert.match(r.json.secret_rotated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(await sqlValue(server, `SELECT COUNT(*) AS n FROM audit_events WHERE action = 'env_client.secret_rotated' AND subject = 'client:${created.client_id}'`), '1');
  const { location, authz } = await ssoCode(rp, browser);
  const code = new URL(location).searchParams.get('code');
  const old = await rp.tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: authz.verifier });
  assertTokenError(old, 'invalid_client', 'the old secret after rotation', { status: 401 });
  const rpNew = await rpForClient(server, { ...client, clientSecret: fresh });
  const again = await rpNew.exchange(location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
  assert.equal(again.claims().sub, DEMO_TOTP.uid, 'the new secret works');
  r = await a.api.get(`${base}/int/clients`);
  assert.ok(r.json.find((c) => c.client_id === created.client_id).secret_rotated_at);
});

h.test('API: private_key_jwt with a JWKS URI the test serves signs in; it has no secret to rotate', async (t, server) => {
  const { a, product } = await setup(server);
  const { publicKey, privateKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
  const kid = `env-${process.pid}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  let hits = 0;
  jwksServer = createServer((req, res) => {
    hits += 1;
    if (req.url !== '/jwks.json') { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwksUri = `http://127.0.0.1:${jwksServer.address().port}/jwks.json`;

  const base = `/api/v1/products/${product.id}/environments/int/clients`;
  let r = await a.api.post(base, { name: 'WardView keys', redirect_uris: [CB], auth_method: 'private_key_jwt', jwks_uri: jwksUri, default_acr: 'AAL2_OR_AAL3_ANY' });
  assert.equal(r.status, 201, r.body);
  assert.equal(r.json.client_secret, undefined);
  assert.equal(r.json.jwks_uri, jwksUri);
  const clientId = r.json.client_id;
  const rp = await rpForClient(server, { env: 'int', auth: 'private_key_jwt', clientId, privateKey, kid, redirectUris: [CB], redirectUri: CB });
  const { claims } = await totpSignIn(rp, new Browser(server.url));
  assert.equal(claims.sub, DEMO_TOTP.uid);
  assert.ok(hits > 0, 'careid fetched the JWKS URI');

  r = await a.api.post(`${base}/${clientId}/secret`);
  assert.equal(r.status, 409);
  assert.equal(r.json.error, 'no_secret');
});

h.test('page: register an INT client, the secret shown once; rotation from the page; the reviewer only reads', async (t, server) => {
  const { a, product } = await setup(server);
  const list = `/onboarding/products/${product.id}/environments`;
  let res = await a.browser.get(list);
  assert.equal(res.status, 200, res.body.slice(0, 300));
  const page = textOf(res.body);
  for (const env of ['int', 'dep', 'live']) {
    assert.ok(page.includes(server.issuer(env)), `${env} issuer shown`);
    assert.ok(page.includes(`${server.issuer(env)}/.well-known/openid-configuration`), `${env} discovery shown`);
  }
  assert.ok(page.includes(LIVE_MSG), 'why Live is not open yet');
  const html = decodeEntities(res.body);
  assert.ok(html.includes(`href="${list}/int"`) && html.includes(`href="${list}/dep"`), 'links to register in INT and DEP');
  assert.ok(!html.includes(`href="${list}/live"`), 'no link to register in Live');

  res = await a.browser.get(`${list}/int`);
  assert.equal(res.status, 200);
  assert.match(res.body, /value="client_secret_basic" checked/);
  assert.match(res.body, /value="RS256" checked/);
  assert.match(textOf(res.body), /technical conformance needs it/, 'the back-channel logout hint says conformance needs it');
  const form = res.forms.find((f) => f.action.endsWith(`${list}/int`));
  res = await a.browser.submit(form, {
    name: 'WardView page client', redirect_uris: `${CB}\r\nhttps://wardview.example/callback\r\n`, auth_method: 'client_secret_post',
    id_token_alg: 'RS512', default_acr: 'AAL2_OR_AAL3_ANY', post_logout_redirect_uris: 'https://wardview.example/bye',
  });
  assert.equal(res.status, 200, res.body.slice(0, 500));
  assert.match(textOf(res.body), /Copy the client secret now/);
  assert.match(textOf(res.body), /only time the client secret is shown/);
  const clientId = between(res.body, 'client-id');
  const secret = between(res.body, 'client-secret');
  assert.match(clientId, /^\d{12}\.apps\.supplier$/);
  assert.ok(secret.length >= 32);
  assert.equal(between(res.body, 'issuer'), server.issuer('int'));
  assert.equal(between(res.body, 'discovery'), `${server.issuer('int')}/.well-known/openid-configuration`);

  // usable at once
  const client = { env: 'int', auth: 'client_secret_post', clientId, clientSecret: secret, redirectUris: [CB], redirectUri: CB, idTokenAlg: 'RS512' };
  const rp = await rpForClient(server, client);
  const { claims } = await totpSignIn(rp, new Browser(server.url));
  assert.equal(claims.sub, DEMO_TOTP.uid);

  // listed without its secret; a rotate button with its warning
  res = await a.browser.get(list);
  assert.ok(res.body.includes(clientId));
  assert.ok(!res.body.includes(secret), 'the secret is not shown again');
  assert.match(textOf(res.body), /stops working at once/);
  const rotate = res.forms.find((f) => f.action.endsWith(`/int/clients/${clientId}/secret`));
  assert.ok(rotate, 'a Generate a new secret form');
  assert.match(textOf(rotate.html), /Generate a new secret/);
  res = await a.browser.submit(rotate);
  assert.equal(res.status, 200, res.body.slice(0, 500));
  assert.match(textOf(res.body), /New client secret generated/);
  const fresh = between(res.body, 'client-secret');
  assert.ok(fresh.length >= 32 && fresh !== secret);
  const old = await rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: 'x' });
  assertTokenError(old, 'invalid_client', 'the page-rotated old secret', { status: [400, 401] });

  // the reviewer reads, never registers or rotates, never sees a secret
  const rev = new Browser(server.url);
  await portalSignIn(rev, REVIEWER, DEMO_PASSWORD);
  const ra = await api(rev);
  res = await rev.get(list);
  assert.equal(res.status, 200);
  assert.ok(res.body.includes(clientId));
  assert.match(textOf(res.body), /Only the product's team can register clients/);
  assert.ok(!res.forms.some((f) => f.action.includes('/secret')), 'no rotate buttons');
  assert.ok(!res.body.includes(fresh));
  res = await rev.get(`${list}/int`);
  assert.equal(res.status, 403);
  let r = await ra.get(`/api/v1/products/${product.id}/environments/int/clients`);
  assert.equal(r.status, 200);
  assert.ok(r.json.some((c) => c.client_id === clientId));
  r = await ra.post(`/api/v1/products/${product.id}/environments/int/clients`, { name: 'Reviewer', redirect_uris: [CB] });
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'not_in_team');
  r = await ra.post(`/api/v1/products/${product.id}/environments/int/clients/${clientId}/secret`);
  assert.equal(r.status, 403);
});

h.test('bad input: the exact message, nothing created (page and API)', async (t, server) => {
  const { a, product } = await setup(server);
  const list = `/onboarding/products/${product.id}/environments`;
  const apiBase = `/api/v1/products/${product.id}/environments`;
  const cases = [
    { what: 'an http redirect URI off loopback', values: { redirect_uris: 'http://wardview.example/cb' }, field: 'redirect_uris', message: HTTP_MSG },
    { what: 'a malformed JWKS URI', values: { auth_method: 'private_key_jwt', jwks_uri: 'wardview.example/jwks.json' }, field: 'jwks_uri', message: JWKS_MSG },
    { what: 'a malformed back-channel logout URI', values: { backchannel_logout_uri: 'https://wardview example/logout' }, field: 'backchannel_logout_uri', message: 'Enter the back-channel logout URI without spaces, and with characters such as < > " { } percent-encoded' },
    { what: 'a back-channel logout URI without a host', values: { backchannel_logout_uri: 'https:///logout' }, field: 'backchannel_logout_uri', message: BC_MSG },
    { what: 'a post-logout URI over http', values: { post_logout_redirect_uris: 'http://wardview.example/bye' }, field: 'post_logout_redirect_uris', message: 'Post-logout redirect URI http://wardview.example/bye must be https (plain http only for a loopback callback such as http://127.0.0.1:PORT/…)' },
    { what: 'AAL1_USERPASS as the default class', values: { default_acr: 'AAL1_USERPASS' }, field: 'default_acr', message: "Choose a default assurance class from the list, or none for the environment's default (AAL3_ANY)" },
    { what: 'an unsigned ID token', values: { id_token_alg: 'none' }, field: 'id_token_alg', message: 'Choose the ID token signing algorithm: RS256, RS384, RS512, PS256, PS384 or PS512' },
    { what: 'no name', values: { name: '' }, field: 'name', message: 'Enter a name for your client' },
  ];
  const before = await countClients(server, 'int');
  const listed = (await a.api.get(`${apiBase}/int/clients`)).json.length;
  for (const c of cases) {
    const values = { name: 'Bad one', redirect_uris: CB, ...c.values };
    const formRes = await a.browser.get(`${list}/int`);
    const form = formRes.forms.find((f) => f.action.endsWith(`${list}/int`));
    const res = await a.browser.submit(form, values);
    assert.equal(res.status, 400, `${c.what}: ${res.status}`);
    const summary = /<div class="nhsuk-error-summary"[\s\S]*?<\/div>\s*<\/div>/.exec(res.body)?.[0];
    assert.ok(summary, `${c.what}: an error summary`);
    assert.equal(textOf(summary).replace(/^There is a problem\s*/, '').trim(), c.message, `${c.what}: the summary says exactly what is wrong`);
    assert.ok(summary.includes(`href="#${c.field}"`), `${c.what}: the summary links to the field`);
    const atField = textOf(/<span class="nhsuk-error-message" id="([^"]+)-error">[\s\S]*?<\/span>[^<]*<\/span>/.exec(res.body)?.[0] ?? '');
    assert.equal(atField, `Error: ${c.message}`, `${c.what}: the message at the field`);
    assert.ok(res.body.includes(`id="${c.field}-error"`), `${c.what}: at ${c.field}`);
    assert.match(res.body, /<title>Error: /);
    const kept = res.forms.find((f) => f.action.endsWith(`${list}/int`));
    for (const [k, v] of Object.entries(values)) {
      if (k === 'default_acr') continue; // a select offers only the classes it lists
      const input = kept.inputs.find((i) => i.name === k && i.type !== 'radio');
      if (input) assert.equal(input.value, v, `${c.what}: ${k} is kept`);
      else assert.equal(kept.radios[k]?.find((x) => x.checked)?.value ?? 'RS256', k === 'id_token_alg' ? 'RS256' : v, `${c.what}: ${k} chosen`);
    }

    // the API twin
    const body = { name: values.name, redirect_uris: values.redirect_uris.split('\n') };
    for (const k of ['auth_method', 'jwks_uri', 'backchannel_logout_uri', 'id_token_alg', 'default_acr']) if (k in values) body[k] = values[k];
    if (values.post_logout_redirect_uris) body.post_logout_redirect_uris = [values.post_logout_redirect_uris];
    const r = await a.api.post(`${apiBase}/int/clients`, body);
    assert.equal(r.status, 400, `${c.what} (API): ${r.body}`);
    assert.equal(r.json.error, 'invalid_request');
    assert.deepEqual(r.json.errors, { [c.field]: c.message }, `${c.what} (API)`);
  }
  // API only: wrong types
  let r = await a.api.post(`${apiBase}/int/clients`, { name: 'Types', redirect_uris: CB, post_logout_redirect_uris: 'x', id_token_alg: 256 });
  assert.equal(r.status, 400);
  assert.deepEqual(Object.keys(r.json.errors).sort(), ['id_token_alg', 'post_logout_redirect_uris', 'redirect_uris']);
  r = await a.api.post(`${apiBase}/dep/clients`, { name: 'Stray', redirect_uris: [CB], jwks_uri: 'https://wardview.example/jwks' });
  assert.equal(r.status, 400);
  assert.equal(r.json.errors.jwks_uri, 'A JWKS URI is only for private_key_jwt');
  // a form from elsewhere (no CSRF token)
  const forged = await a.browser.post(`${list}/int`, { name: 'Forged', redirect_uris: CB });
  assert.equal(forged.status, 403);

  assert.equal(await countClients(server, 'int'), before, 'no client was created in INT');
  assert.equal((await a.api.get(`${apiBase}/int/clients`)).json.length, listed);
});

h.test('Live: refused until technical conformance and the Connection Agreement (page and API)', async (t, server) => {
  const { a, product } = await setup(server);
  const before = await countClients(server, 'live');
  let r = await a.api.post(`/api/v1/products/${product.id}/environments/live/clients`, { name: 'Too early', redirect_uris: ['https://wardview.example/cb'] });
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'live_not_allowed');
  assert.equal(r.json.message, LIVE_MSG);
  let res = await a.browser.get(`/onboarding/products/${product.id}/environments/live`);
  assert.equal(res.status, 403);
  assert.ok(textOf(res.body).includes(LIVE_MSG), textOf(res.body));
  // a hand-made POST with the session's token is refused the same way
  const csrf = (await a.browser.get(`/onboarding/products/${product.id}/environments/int`)).forms.find((f) => f.hidden.csrf).hidden.csrf;
  res = await a.browser.post(`/onboarding/products/${product.id}/environments/live`, { csrf, name: 'Too early', redirect_uris: 'https://wardview.example/cb' });
  assert.equal(res.status, 403);
  assert.ok(textOf(res.body).includes(LIVE_MSG));
  assert.equal(await countClients(server, 'live'), before, 'no Live client');
  r = await a.api.get(`/api/v1/products/${product.id}/environments/live/clients`);
  assert.deepEqual(r.json, []);
});

h.test('at most 20 clients per product in an environment', async (t, server) => {
  const { a, product } = await setup(server);
  const base = `/api/v1/products/${product.id}/environments/dep/clients`;
  const post = (name) => a.api.post(base, { name, redirect_uris: ['https://wardview.example/cb'] });
  // 22 at once: the limit holds under the race, and a client refused after it was created in
  // oidc/ is removed again
  const first = await Promise.all(Array.from({ length: 22 }, (_, i) => post(`DEP ${i + 1}`)));
  assert.deepEqual(first.map((x) => x.status).sort(), [...Array(20).fill(201), 409, 409]);
  assert.equal(await countClients(server, 'dep'), 20, 'no client is left that no product owns');
  const r = await post('DEP 23');
  assert.equal(r.status, 409);
  assert.equal(r.json.message, 'A product can have at most 20 clients in each environment.');
  assert.equal((await a.api.get(base)).json.length, 20);
  const res = await a.browser.get(`/onboarding/products/${product.id}/environments`);
  assert.match(textOf(res.body), /This product has 20 clients in Deployment \(DEP\), the most it can have/);
});

h.test('the environments pages pass WCAG 2.2 A/AA checks', { timeout: 180000 }, async (t, server) => {
  const { a, product } = await setup(server);
  const b = await launch();
  try {
    const page = await b.ctx.newPage();
    const base = server.url;
    const list = `${base}/onboarding/products/${product.id}/environments`;
    await page.goto(`${base}/onboarding/signin`);
    await page.fill('#username', a.email);
    await page.fill('#password', a.password);
    await Promise.all([page.waitForURL(`${base}/onboarding/**`), page.click('button[type=submit]')]);
    await page.goto(list);
    await axeWcag(page, 'environments page');
    await screenshot(page, 'onboarding-environments.png');

    await page.goto(`${list}/int`);
    await axeWcag(page, 'register an INT client');
    await page.fill('#name', 'ClinicBoard INT');
    await page.fill('#redirect_uris', 'http://wardview.example/cb');
    await page.check('input[name=auth_method][value=private_key_jwt]');
    await page.fill('#jwks_uri', 'wardview.example/jwks.json');
    await page.fill('#backchannel_logout_uri', 'https:///logout');
    await page.click(`form[action="/onboarding/products/${product.id}/environments/int"] button[type=submit]`);
    await page.waitForSelector('.nhsuk-error-summary');
    await axeWcag(page, 'register an INT client, with errors');
    const summary = await page.textContent('.nhsuk-error-summary');
    for (const m of [HTTP_MSG, JWKS_MSG, BC_MSG]) assert.ok(summary.includes(m), `the summary lists: ${m}`);
    assert.equal(await page.inputValue('#redirect_uris'), 'http://wardview.example/cb', 'the bad answer is kept');

    await page.fill('#redirect_uris', 'https://clinicboard.example/callback');
    await page.check('input[name=auth_method][value=client_secret_basic]');
    await page.fill('#jwks_uri', '');
    await page.fill('#backchannel_logout_uri', 'https://clinicboard.example/backchannel-logout');
    await page.check('input[name=id_token_alg][value=PS256]');
    await page.selectOption('#default_acr', 'AAL3_ANY');
    await page.click(`form[action="/onboarding/products/${product.id}/environments/int"] button[type=submit]`);
    await page.waitForSelector('#client-secret');
    await axeWcag(page, 'INT client registered (secret shown once)');
    await screenshot(page, 'onboarding-environments-registered.png');
    const clientId = await page.textContent('#client-id');

    await page.goto(list);
    await axeWcag(page, 'environments page with clients');
    await page.click(`form[action$="/int/clients/${clientId}/secret"] button[type=submit]`);
    await page.waitForSelector('#client-secret');
    await axeWcag(page, 'a new secret (shown once)');

    await page.goto(`${list}/live`);
    await axeWcag(page, 'Live refused');
  } finally {
    await b.close();
  }
});
