// The URIs careid calls itself in a deployment on the internet (issue 6, Environments; a
// server-side request forgery found in review): careid is started with an https public URL
// (`--public-url https://careid.test:0`; no TLS is needed, this test reaches it on 127.0.0.1 and
// maps the public origin there, and drives the portal's JSON API with bearer tokens of the portal
// environment). There, a JWKS URI and a back-channel logout URI registered in INT or DEP must be
// https and name a public host: loopback, IP addresses in any spelling (2130706433, 0x7f.1,
// [::ffff:127.0.0.1]), localhost and names under it are each refused with the exact message, and
// nothing is created; redirect URIs and mock clients keep their rules. A URI that still leads to
// loopback (a row from before the policy, or a name that resolves there) gets nowhere: careid
// refuses the address when it connects, for the JWKS fetch and for the test logout tokens, and
// the checklist gives a generic reason, not curl's text. (The loopback deployments every other
// e2e test runs keep accepting loopback endpoints: onboarding-environments, -conformance.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { before, after, test } from 'node:test';
import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { BIN, BACKEND, REPO, DEMO_PASSWORD, DEFAULT_REDIRECT_URI, runCli, describeCli, sleep, sqlRows } from './lib/careid.mjs';
import * as pg from './lib/pg.mjs';
import { Browser, describePages, describeRes } from './lib/browser.mjs';
import { REVIEWER, SAQ_COMPLETE, grantedProduct } from './lib/portal.mjs';
import { totpAt, currentStep, DEMO_TOTP } from './lib/totp.mjs';

const CB = DEFAULT_REDIRECT_URI;
const JWKS_EXAMPLE = 'https://wardview.example/.well-known/jwks.json';
const BC_EXAMPLE = 'https://wardview.example/backchannel-logout';
const JWKS_MSG = `Enter a JWKS URI that starts with https:// and names a public host, not an IP address or localhost, for example ${JWKS_EXAMPLE}`;
const BC_MSG = `Enter a back-channel logout URI that starts with https:// and names a public host, not an IP address or localhost, for example ${BC_EXAMPLE}`;
const BC_HOST_MSG = `Enter a back-channel logout URI with a valid host name (and port, if any), for example ${BC_EXAMPLE}`;

const S = { logs: [], stdout: [] };
const receivers = [];

/** careid serve with an https public URL; resolves once /readyz answers on the bound port. */
async function start() {
  S.dir = await mkdtemp(join(tmpdir(), 'careid-e2e-policy-'));
  // the store: a file in the directory, or a PostgreSQL database of its own (dropped after)
  if (BACKEND === 'postgres') {
    S.pgName = `careid_e2e_policy_${randomBytes(8).toString('hex')}`;
    S.db = await pg.createDatabase(S.pgName);
  } else {
    S.db = `sqlite:${join(S.dir, 'careid.db')}`;
  }
  const args = ['serve', '--listen', '127.0.0.1:0', '--db', S.db, '--demo', '--demo-dir', join(S.dir, 'demo'),
    '--public-url', 'https://careid.test:0', '--mail-file', join(S.dir, 'mail.log')];
  S.child = spawn(BIN, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  S.exited = new Promise((r) => S.child.on('exit', (code, signal) => r({ code, signal })));
  process.on('exit', () => { try { S.child.kill('SIGKILL'); } catch { /* gone */ } });
  createInterface({ input: S.child.stderr }).on('line', (l) => S.logs.push(l));
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: S.child.stdout }).on('line', (l) => { S.stdout.push(l); if (S.stdout.length === 1) resolve(l); });
    S.child.on('exit', () => reject(new Error(`careid exited early:\n${S.logs.join('\n')}`)));
  });
  const m = /^careid listening on (https:\/\/careid\.test:(\d+))$/.exec(first);
  assert.ok(m, `the public URL is announced: ${first}`);
  S.public = m[1];
  S.local = `http://127.0.0.1:${m[2]}`;
  // Everything this process sends to the public origin goes to the port careid listens on.
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url === S.public || url.startsWith(`${S.public}/`)) return realFetch(S.local + url.slice(S.public.length), init);
    return realFetch(input, init);
  };
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${S.public}/readyz`);
      await r.arrayBuffer();
      if (r.status === 200) break;
    } catch { /* not yet */ }
    assert.ok(i < 200, 'careid is ready within 20 s');
    await sleep(100);
  }
}

before(start, { timeout: 60000 });
after(async () => {
  for (const r of receivers) await new Promise((ok) => { r.server.closeAllConnections?.(); r.server.close(() => ok()); });
  try {
    if (!S.child) return;
    S.child.kill('SIGTERM');
    const exit = await S.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, 'careid stops cleanly');
  } finally {
    if (S.pgName) await pg.dropDatabase(S.pgName);
    if (S.dir) await rm(S.dir, { recursive: true, force: true });
  }
});

const cli = (command, flags = [], opts) => runCli([...command.split(' '), '--db', S.db, ...flags], opts);
const sql = (statement) => sqlRows(S.db, statement);
const countClients = async (env) => Number((await sql(`SELECT COUNT(*) AS n FROM clients WHERE env = '${env}'`))[0].n);

/** The portal's JSON API with a bearer token (no cookie, no CSRF token). */
function bearerApi(token) {
  const call = async (method, path, body) => {
    const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${S.public}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, body: text, json };
  };
  return { get: (p) => call('GET', p), post: (p, b) => call('POST', p, b ?? {}), put: (p, b) => call('PUT', p, b) };
}

/** A client of the portal environment, to sign portal accounts in and get bearer tokens. */
let portalClient;
async function signInToPortal(username, password) {
  if (!portalClient) {
    const r = await cli('client add', ['--env', 'portal', '--name', 'Policy test', '--redirect-uri', CB, '--auth', 'client_secret_post']);
    assert.equal(r.code, 0, describeCli(r));
    portalClient = r.json;
  }
  const b = new Browser(S.public);
  const q = new URLSearchParams({ response_type: 'code', client_id: portalClient.client_id, redirect_uri: CB, scope: 'openid', state: randomBytes(8).toString('hex'), nonce: randomBytes(8).toString('hex') });
  const s = await b.signIn(`${S.public}/realms/portal/authorize?${q}`, { username, password });
  assert.ok(s.code, `a code for ${username}: ${describePages(s.pages)} last: ${describeRes(s.page)}`);
  const r = await fetch(`${S.public}/realms/portal/access_token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: s.code, redirect_uri: CB, client_id: portalClient.client_id, client_secret: portalClient.client_secret }),
  });
  const tokens = await r.json();
  assert.equal(r.status, 200, JSON.stringify(tokens));
  return bearerApi(tokens.access_token);
}

/** A team with an approved SAQ, its product with CIS2 Authentication granted, the reviewer. */
let world;
async function setup() {
  if (world) return world;
  const email = `policy+${process.pid}@supplier.example`;
  const password = 'a long enough password';
  let r = await cli('onboarding account add', ['--email', email, '--name', 'Pat Policy'], { input: `${password}\n` });
  assert.equal(r.code, 0, describeCli(r));
  const a = { api: await signInToPortal(email, password) };
  const reviewer = await signInToPortal(REVIEWER, DEMO_PASSWORD);
  r = await a.api.get('/api/v1/me');
  assert.equal(r.status, 200, `the bearer token signs the API in: ${r.body}`);
  r = await a.api.put('/api/v1/saq', { answers: SAQ_COMPLETE });
  assert.equal(r.status, 200, r.body);
  r = await a.api.post('/api/v1/saq/submit');
  assert.equal(r.status, 200, r.body);
  const saq = (await reviewer.get('/api/v1/reviews')).json.open.find((x) => x.kind === 'saq' && x.email === email);
  assert.ok(saq, 'the SAQ is in the queue');
  r = await reviewer.post(`/api/v1/reviews/${saq.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);
  r = await a.api.post('/api/v1/organisation', { ods_code: 'PO1', name: 'Policy Systems Ltd', team_name: 'Policy team' });
  assert.equal(r.status, 201, r.body);
  const product = await grantedProduct(a, reviewer, `WardView ${process.pid}`);
  world = { a, reviewer, product };
  return world;
}

const clientsPath = (product, env) => `/api/v1/products/${product.id}/environments/${env}/clients`;
const base = (extra = {}) => ({ name: 'Policy RP', redirect_uris: [CB], auth_method: 'client_secret_basic', ...extra });

/** A local endpoint that counts what reaches it and answers `status`. */
async function receiver(status, body = '') {
  const hits = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const out = { server, hits, port: server.address().port };
  receivers.push(out);
  return out;
}

test('an https deployment refuses loopback, IP and localhost endpoints at registration, each with its message; redirect URIs and mock clients keep their rules', { timeout: 120000 }, async () => {
  const { a, product } = await setup();
  const refusals = [
    ['jwks_uri', 'http://127.0.0.1:8080/jwks', JWKS_MSG],
    ['jwks_uri', 'http://localhost:8080/jwks', JWKS_MSG],
    ['jwks_uri', 'https://127.0.0.1:8443/jwks', JWKS_MSG],
    ['jwks_uri', 'https://2130706433/jwks', JWKS_MSG],
    ['jwks_uri', 'https://0x7f.1/jwks', JWKS_MSG],
    ['jwks_uri', 'https://[::ffff:127.0.0.1]/jwks', JWKS_MSG],
    ['jwks_uri', 'https://169.254.169.254/latest/meta-data', JWKS_MSG],
    ['jwks_uri', 'https://LOCALHOST./jwks', JWKS_MSG],
    ['jwks_uri', 'http://wardview.example/jwks', JWKS_MSG],
    ['backchannel_logout_uri', 'http://127.0.0.1:8080/admin/shutdown', BC_MSG],
    ['backchannel_logout_uri', 'https://10.255.255.1:8443/x', BC_MSG],
    ['backchannel_logout_uri', 'https://[::1]/bc', BC_MSG],
    ['backchannel_logout_uri', 'https://api.localhost/bc', BC_MSG],
    ['backchannel_logout_uri', 'https://db.internal/bc', BC_MSG],
    ['backchannel_logout_uri', 'https://intranet/bc', BC_MSG],
    ['backchannel_logout_uri', 'https://public.example@127.0.0.1/bc', BC_HOST_MSG],
  ];
  for (const env of ['int', 'dep']) {
    const before = await countClients(env);
    for (const [field, value, message] of refusals) {
      const body = field === 'jwks_uri' ? base({ auth_method: 'private_key_jwt', jwks_uri: value }) : base({ [field]: value });
      const r = await a.api.post(clientsPath(product, env), body);
      assert.equal(r.status, 400, `${env} ${field}=${value}: ${r.body}`);
      assert.equal(r.json.errors[field], message, `${env} ${field}=${value}`);
      assert.deepEqual(Object.keys(r.json.errors), [field], `${env} ${field}=${value}: only that field`);
    }
    assert.equal(await countClients(env), before, `nothing created in ${env}`);
  }

  // public names are accepted; the redirect URI may still be a loopback callback (browsers follow it)
  let r = await a.api.post(clientsPath(product, 'int'), base({
    auth_method: 'private_key_jwt', jwks_uri: 'https://WardView.example./.well-known/jwks.json',
    backchannel_logout_uri: 'https://wardview.example:8443/backchannel-logout?v=1',
    post_logout_redirect_uris: ['http://localhost:3000/bye'],
  }));
  assert.equal(r.status, 201, r.body);
  assert.equal(r.json.backchannel_logout_uri, 'https://wardview.example:8443/backchannel-logout?v=1');
  assert.deepEqual(r.json.redirect_uris, [CB]);

  // mock clients keep today's rules (a JWKS URI on loopback)
  r = await a.api.post('/api/v1/mock-clients', { name: 'Mock RP', redirect_uris: [CB], auth_method: 'private_key_jwt', jwks_uri: 'http://127.0.0.1:8080/jwks' });
  assert.equal(r.status, 201, r.body);
});

test('a JWKS URI that leads to loopback all the same is refused when careid connects: nothing reaches the local service', { timeout: 60000 }, async () => {
  const { a, product } = await setup();
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const local = await receiver(200, JSON.stringify({ keys: [jwk] }));
  let r = await a.api.post(clientsPath(product, 'int'), base({ name: 'JWKS RP', auth_method: 'private_key_jwt', jwks_uri: JWKS_EXAMPLE }));
  assert.equal(r.status, 201, r.body);
  const clientId = r.json.client_id;
  const tokenEndpoint = `${S.public}/realms/int/access_token`;

  // as a row from before the policy, or a public name that resolves to loopback, would
  for (const uri of [`http://127.0.0.1:${local.port}/jwks`, `http://localhost:${local.port}/jwks`]) {
    await sql(`UPDATE clients SET jwks_uri = '${uri}' WHERE env = 'int' AND client_id = '${clientId}'`);
    const mark = S.logs.length;
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(clientId).setSubject(clientId).setAudience(tokenEndpoint)
      .setJti(randomBytes(12).toString('hex')).setIssuedAt().setExpirationTime('60s')
      .sign(privateKey);
    r = await fetch(tokenEndpoint, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: 'no-such-code', redirect_uri: CB, client_id: clientId,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
      }),
    });
    const body = await r.json();
    assert.equal(r.status, 401, `${uri}: ${JSON.stringify(body)}`);
    assert.equal(body.error, 'invalid_client', uri);
    assert.deepEqual(local.hits, [], `${uri}: careid did not connect`);
    const refused = S.logs.slice(mark).map((l) => JSON.parse(l)).find((l) => l.event === 'fetch_failed' && l.url === uri);
    assert.ok(refused?.address_refused, `${uri}: the address was refused (log: ${JSON.stringify(refused)})`);
  }
});

test('test logout tokens to a back-channel URI that leads to loopback are refused when careid connects; the checklist gives a generic reason', { timeout: 90000 }, async () => {
  const { a, product } = await setup();
  const local = await receiver(418, 'I am a teapot on 127.0.0.1');
  let r = await a.api.post(clientsPath(product, 'int'), base({ name: 'Logout RP', backchannel_logout_uri: BC_EXAMPLE }));
  assert.equal(r.status, 201, r.body);
  const { client_id: clientId, client_secret: secret } = r.json;
  const uri = `http://127.0.0.1:${local.port}/admin/shutdown`;
  await sql(`UPDATE clients SET backchannel_logout_uri = '${uri}' WHERE env = 'int' AND client_id = '${clientId}'`);

  // a session of the client: the demo authenticator-app user signs in to INT
  const b = new Browser(S.public);
  const q = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: CB, scope: 'openid', state: 'st', nonce: 'n0', acr_values: 'AAL2_OR_AAL3_ANY' });
  const s = await b.signIn(`${S.public}/realms/int/authorize?${q}`, { username: DEMO_TOTP.uid, password: DEMO_PASSWORD });
  assert.ok(s.page.form?.inputs.some((i) => i.name === 'code'), `the code page: ${describePages(s.pages)} last: ${describeRes(s.page)}`);
  let res = await b.submit(s.page.form, { code: totpAt(DEMO_TOTP.secret, currentStep()) });
  ({ res } = await b.follow(res));
  assert.ok(res.location?.startsWith(CB), `back to the client: ${describeRes(res)}`);
  assert.ok(secret, 'a client secret');

  const conformance = `/api/v1/products/${product.id}/conformance`;
  r = await a.api.post(`${conformance}/logout-test`, { client_id: clientId });
  assert.equal(r.status, 200, r.body);
  const end = Date.now() + 20000;
  let valid, invalid;
  for (;;) {
    const c = (await a.api.get(conformance)).json;
    valid = c.items.find((i) => i.id === 'backchannel_valid');
    invalid = c.items.find((i) => i.id === 'backchannel_invalid');
    if (/could not deliver/.test(valid.reason ?? '') && /could not deliver/.test(invalid.reason ?? '')) break;
    assert.ok(Date.now() < end, `both deliveries judged within 20 s: ${JSON.stringify([valid, invalid])}`);
    await sleep(250);
  }
  assert.deepEqual(local.hits, [], 'careid did not connect to the local service');
  for (const [it, which] of [[valid, 'valid'], [invalid, 'invalid']]) {
    assert.equal(it.met, false);
    assert.ok(it.reason.includes(`careid could not deliver the ${which} logout token to ${uri} (could not connect to the host)`), it.reason);
    assert.doesNotMatch(it.reason, /418|teapot|Failed to connect|port \d+|after \d+ ms/, it.reason);
  }
});
