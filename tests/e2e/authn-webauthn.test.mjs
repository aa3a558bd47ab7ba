// Security keys, Windows Hello and passkeys (WebAuthn): registration on the account page and
// sign-in, end to end. A software authenticator written from the WebAuthn spec
// (lib/webauthn.mjs) drives the HTTP-level tests; Debian chromium with its virtual
// authenticator (CDP) drives the real page scripts. openid-client checks acr, amr and the
// assurance level; every refused response is checked for its exact message and for no
// session.
//
// careid runs with --public-url http://localhost:PORT: browsers refuse WebAuthn on 127.0.0.1,
// and the RP ID is the host ("localhost").
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setupServer, DEMO_PASSWORD, USERS, describeCli } from './lib/careid.mjs';
import { Browser, describeRes, describePages, textOf } from './lib/browser.mjs';
import { makeRp } from './lib/rp.mjs';
import { totpAt } from './lib/totp.mjs';
import { SoftAuthenticator, RS256, ES256, FLAGS, formOptions, credentialField } from './lib/webauthn.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';

const h = setupServer({ extraArgs: ['--public-url', 'http://localhost:0'] });

// --- messages careid shows (asserted exactly) -------------------------------------------------

const REGISTERED_AAL3 = 'Your security key is registered. It gives very high (AAL3) assurance.';
const REGISTERED_PASSKEY = 'Your passkey is registered. It is synced between devices, so it gives high (AAL2) assurance.';
const PASSKEY_NOT_AAL3 = 'This security key or passkey is registered for high (AAL2) assurance only. This service needs a security key registered at AAL3, Windows Hello or your smartcard.';
const NOT_REGISTERED = 'This security key is not registered to any account here. Register it first, or sign in another way.';
const ALREADY_USED = 'This sign-in attempt was already used: its challenge is valid once. Try again.';
const refusedBecause = (reason) => `Your security key could not sign you in: ${reason}.`;
const notRegisteredBecause = (reason) => `The security key could not be registered: ${reason}.`;

// --- page helpers -----------------------------------------------------------------------------

/** Text of the element with this id (first match), or undefined. */
function byId(html, id) {
  const m = new RegExp(`<([a-z][a-z0-9]*)\\b[^>]*\\bid="${id}"[^>]*>([\\s\\S]*?)</\\1\\s*>`, 'i').exec(html);
  return m ? textOf(m[2]) : undefined;
}

/** The message of the page's error summary, or undefined. */
function errorSummary(html) {
  const m = /nhsuk-error-summary__list[\s\S]*?<a\b[^>]*>([\s\S]*?)<\/a>/i.exec(html);
  return m ? textOf(m[1]) : undefined;
}

const formById = (res, id) => res.forms?.find((f) => f.attrs.id === id);

/** Session cookies a response set (not the ones it deleted). */
const sessionCookiesSet = (res) => res.setCookies.filter((c) => c.name.startsWith('careid_session') && !c.deleted).map((c) => c.name);

/** A signed-in browser: a password sign-in to `env` through an RP (mock accepts a password alone). */
async function passwordSession(server, uid, env = 'mock') {
  const rp = await makeRp(server, undefined, { env });
  const b = new Browser(server.url);
  const f = await rp.codeFlow(b, { user: uid });
  assert.equal(f.claims.acr, 'AAL1_USERPASS');
  return b;
}

async function accountPage(server, b, env = 'mock') {
  const res = await b.get(`${server.issuer(env)}/account`);
  assert.equal(res.status, 200, describeRes(res));
  return res;
}

/**
 * Register a credential of `auth` on the account page `page` (default: fetched), as the page
 * script does: the options of #add-key-form, navigator.credentials.create(), then the form
 * with challenge and credential. createOpts override parts of the response (bad input).
 */
async function registerKey(server, b, auth, { env = 'mock', name = 'Test key', page, createOpts = {} } = {}) {
  page ??= await accountPage(server, b, env);
  const form = formById(page, 'add-key-form');
  assert.ok(form, `the account page offers #add-key-form: ${describeRes(page)}`);
  const options = formOptions(form);
  const cred = auth.create(options, { origin: server.origin, ...createOpts });
  const res = await b.submit(form, { name, challenge: options.challenge, credential: credentialField(cred) });
  return { res, cred, options };
}

/** Authorization request → careid's sign-in page with #webauthn-form. */
async function signInPage(rp, b, params = {}) {
  const authz = await rp.authorizationUrl({ scope: 'openid', ...params });
  const pages = [];
  const { res } = await b.follow(await b.get(authz.url), pages);
  assert.equal(res.status, 200, `the sign-in page: ${describePages(pages)}\n    ${describeRes(res)}`);
  const form = formById(res, 'webauthn-form');
  assert.ok(form, `the sign-in page offers #webauthn-form: ${describeRes(res)}`);
  return { authz, page: res, form, options: formOptions(form) };
}

/** Sign in with `auth`'s credential; getOpts override parts of the assertion. */
async function keySignIn(server, rp, b, auth, params = {}, getOpts = {}) {
  const s = await signInPage(rp, b, params);
  const assertion = auth.get(s.options, { origin: server.origin, ...getOpts });
  const res = await b.submit(s.form, { credential: credentialField(assertion) });
  return { ...s, assertion, res };
}

/** A sign-in that must succeed: the redirect to the client, the code exchanged → ID token claims. */
async function expectSignedIn(rp, b, { authz, res }) {
  const pages = [];
  ({ res } = await b.follow(res, pages));
  if (res.status === 200 && res.kind === 'role') res = (await b.follow(await b.submit(res.form, { role: res.form.radios.role[0].value }), pages)).res;
  assert.ok(res.location?.startsWith(rp.client.redirectUri), `a redirect to the client with a code: ${describePages(pages)}\n    last: ${describeRes(res)}`);
  const tokens = await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
  return tokens.claims();
}

/** A refused sign-in: the sign-in page again, the exact message, no code, no session. */
function expectRefused(res, message, what) {
  assert.equal(res.status, 200, `${what}: the sign-in page again: ${describeRes(res)}`);
  assert.equal(res.location, undefined, `${what}: no redirect (no code)`);
  assert.ok(formById(res, 'webauthn-form'), `${what}: the security key form again: ${describeRes(res)}`);
  assert.equal(errorSummary(res.body), message, `${what}: error summary`);
  assert.equal(byId(res.body, 'webauthn-status'), message, `${what}: the message next to the button`);
  assert.deepEqual(sessionCookiesSet(res), [], `${what}: no session cookie`);
}

async function listAuthenticators(server, uid, env = 'mock') {
  const r = await server.cli(`user authenticators ${uid}`, ['--env', env]);
  assert.equal(r.code, 0, describeCli(r));
  return r.json;
}

const webauthnRows = async (server, uid, env) => (await listAuthenticators(server, uid, env)).filter((a) => a.kind === 'webauthn');

/** A new mock user with the demo password and no authenticator (mock lets a password session
 * register a user's first one). */
async function freshUser(server, uid) {
  const r = await server.cli('user add', ['--env', 'mock', '--uid', uid, '--given-name', 'Sam', '--family-name', `Tester ${uid.slice(-2)}`], { input: `${DEMO_PASSWORD}\n` });
  assert.equal(r.code, 0, describeCli(r));
  return uid;
}

const REGISTERED_AAL2_KEY = 'Your security key is registered for high (AAL2) assurance. To register one for very high (AAL3) assurance, sign in with your smartcard or another AAL3 security key first, then register it within 10 minutes.';

// --- HTTP-level tests (software authenticator) -------------------------------------------------

h.test('webauthn: a first security key registered on /realms/mock/account signs in at AAL3_FIDO2 and AAL3_ANY', async (t, server) => {
  const uid = await freshUser(server, '912000000001');
  const b = await passwordSession(server, uid);
  const key = new SoftAuthenticator({ alg: ES256, fmt: 'packed' }); // self attestation
  const { res, options } = await registerKey(server, b, key, { name: 'Blue key' });
  assert.equal(res.status, 200, describeRes(res));
  assert.equal(errorSummary(res.body), undefined, `no error: ${describeRes(res)}`);
  assert.equal(byId(res.body, 'notice'), REGISTERED_AAL3);
  assert.equal(options.rp.id, 'localhost');
  assert.equal(options.authenticatorSelection.userVerification, 'required');
  assert.deepEqual(options.pubKeyCredParams.map((p) => p.alg), [ES256, RS256]);
  const rows = await webauthnRows(server, uid);
  assert.deepEqual(rows.map((a) => [a.name, a.method]), [['Blue key', 'FIDO2']]);

  const rp = await makeRp(server);
  const b1 = new Browser(server.url); // a new browser: no password session to step up from
  let claims = await expectSignedIn(rp, b1, await keySignIn(server, rp, b1, key, { acr_values: 'AAL3_FIDO2' }));
  assert.equal(claims.sub, uid);
  assert.equal(claims.acr, 'AAL3_FIDO2');
  assert.deepEqual(claims.amr, ['FIDO2']);
  assert.equal(claims.authentication_assurance_level, '3');

  const b2 = new Browser(server.url);
  claims = await expectSignedIn(rp, b2, await keySignIn(server, rp, b2, key, { acr_values: 'AAL3_ANY' }));
  assert.equal(claims.acr, 'AAL3_ANY');
  assert.deepEqual(claims.amr, ['FIDO2']);
  assert.equal(claims.authentication_assurance_level, '3');
  const [row] = await webauthnRows(server, uid);
  assert.equal(typeof row.last_used_at, 'number', `the key's use is recorded: ${JSON.stringify(row)}`);
});

h.test('webauthn in int: an AAL2 session registers keys as AAL2 only; after an AAL3 sign-in a new key is AAL3 and the default AAL3_ANY sign-in uses it', async (t, server) => {
  const uid = '656005750107'; // has the demo security key (AAL3) in int
  const r = await server.cli(`user authenticators ${uid}`, ['--env', 'int', '--add-totp', '--name', 'Phone']);
  assert.equal(r.code, 0, describeCli(r));
  const secret = r.json.secret;
  const rp = await makeRp(server, undefined, { env: 'int' });
  const b = new Browser(server.url);
  const demoRows = await webauthnRows(server, uid, 'int');
  assert.deepEqual(demoRows.map((a) => [a.name, a.method]), [['Demo security key', 'FIDO2']]);

  // int accepts no password alone: after the password there is a code page and no session,
  // so the account page (of a password alone) is out of reach, and adding is refused
  let authz = await rp.authorizationUrl({ scope: 'openid', acr_values: 'AAL2_TOTP' });
  const s = await b.signIn(authz.url, { username: uid, password: DEMO_PASSWORD });
  const code = s.page.form;
  assert.ok(code?.inputs.some((i) => i.name === 'code'), `a code page after the password: ${describeRes(s.page)}`);
  assert.ok(!b.cookieNames().includes('careid_session_int'), `no int session from a password alone: ${b.cookieNames()}`);
  let page = await accountPage(server, b, 'int');
  assert.match(textOf(page.body), /You are not signed in/);
  assert.equal(formById(page, 'add-key-form'), undefined, 'no way to add a key without a session');
  const forged = await b.post(`${server.issuer('int')}/account`, { action: 'webauthn_add', csrf: 'x', challenge: 'x', credential: '{}' });
  assert.match(textOf(forged.body), /You are not signed in/, describeRes(forged));
  assert.equal((await webauthnRows(server, uid, 'int')).length, 1, 'nothing was added');

  // the code: an AAL2 session may add a key, but only as AAL2 (a phished AAL2 session must not
  // mint AAL3 credentials)
  let res = await b.submit(code, { code: totpAt(secret) });
  assert.ok(res.location?.startsWith(rp.client.redirectUri), `the code signs in: ${describeRes(res)}`);
  const aal2 = (await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier })).claims();
  assert.equal(aal2.acr, 'AAL2_TOTP');
  assert.equal(aal2.authentication_assurance_level, '2');
  const weak = new SoftAuthenticator({ alg: ES256, fmt: 'none' });
  let reg = await registerKey(server, b, weak, { env: 'int', name: 'Phished?' });
  assert.equal(byId(reg.res.body, 'notice'), REGISTERED_AAL2_KEY, describeRes(reg.res));
  assert.deepEqual((await webauthnRows(server, uid, 'int')).map((a) => a.method).sort(), ['FIDO2', 'PASSKEY']);
  const b1 = new Browser(server.url);
  const refused = await keySignIn(server, rp, b1, weak);
  assert.equal(errorSummary(refused.res.body), 'This security key or passkey is registered for high (AAL2) assurance only. This service needs a security key registered at AAL3, Windows Hello or your smartcard.', describeRes(refused.res));
  // and the AAL2 session cannot remove the AAL3 key
  page = await accountPage(server, b, 'int');
  const removeDemo = page.forms.find((f) => f.hidden.action === 'remove' && f.hidden.id === demoRows[0].id);
  res = await b.submit(removeDemo);
  assert.equal(res.status, 403, describeRes(res));
  assert.equal(errorSummary(res.body), 'To remove a very high (AAL3) assurance authenticator, sign in with one first.');

  // an AAL3 sign-in (the demo key) steps the session up; a key registered now is AAL3
  const demo = new SoftAuthenticator({ alg: ES256 });
  // (the file names the RP ID the demo store was seeded for; this server is on localhost)
  demo.importCredential({ ...JSON.parse(await readFile(join(server.dir, 'demo', `security-key-${uid}-int.json`), 'utf8')), rpId: 'localhost' });
  const up = await expectSignedIn(rp, b, await keySignIn(server, rp, b, demo, { acr_values: 'AAL3_FIDO2' }));
  assert.equal(up.sid, aal2.sid, 'a step-up keeps the session');
  assert.equal(up.authentication_assurance_level, '3');
  const key = new SoftAuthenticator({ alg: RS256, fmt: 'none' });
  reg = await registerKey(server, b, key, { env: 'int', name: 'Work laptop' });
  assert.equal(byId(reg.res.body, 'notice'), REGISTERED_AAL3, describeRes(reg.res));
  assert.deepEqual(await webauthnRows(server, uid, 'mock').then((rows) => rows.filter((a) => a.name === 'Work laptop')), [], 'a credential belongs to one environment');

  // the environment's default class: AAL3_ANY, no password form
  const b2 = new Browser(server.url);
  authz = undefined;
  const signin = await keySignIn(server, rp, b2, key);
  assert.ok(!signin.page.forms.some((f) => f.inputs.some((i) => i.type === 'password')), 'no password form for AAL3_ANY');
  const claims = await expectSignedIn(rp, b2, signin);
  assert.equal(claims.sub, uid);
  assert.equal(claims.acr, 'AAL3_ANY');
  assert.deepEqual(claims.amr, ['FIDO2']);
  assert.equal(claims.authentication_assurance_level, '3');
});

h.test('webauthn: a synced passkey (BE) is AAL2 — AAL2_ANY signs in with PASSKEY, AAL3_FIDO2 is refused', async (t, server) => {
  const uid = USERS.admin;
  const b = await passwordSession(server, uid);
  const passkey = new SoftAuthenticator({ backupEligible: true, backupState: true });
  const { res } = await registerKey(server, b, passkey, { name: 'Phone passkey' });
  assert.equal(byId(res.body, 'notice'), REGISTERED_PASSKEY, describeRes(res));
  assert.deepEqual((await webauthnRows(server, uid)).map((a) => a.method), ['PASSKEY']);

  const rp = await makeRp(server);
  const b1 = new Browser(server.url);
  const claims = await expectSignedIn(rp, b1, await keySignIn(server, rp, b1, passkey, { acr_values: 'AAL2_ANY' }));
  assert.equal(claims.acr, 'AAL2_ANY');
  assert.deepEqual(claims.amr, ['PASSKEY']);
  assert.equal(claims.authentication_assurance_level, '2');

  const b2 = new Browser(server.url);
  const refused = await keySignIn(server, rp, b2, passkey, { acr_values: 'AAL3_FIDO2' });
  expectRefused(refused.res, PASSKEY_NOT_AAL3, 'a passkey for AAL3_FIDO2');
  assert.ok(!b2.cookieNames().some((n) => n.startsWith('careid_session')), `no session: ${b2.cookieNames()}`);
});

h.test('webauthn bad input: origin, RP ID, tampered signature, unknown credential, no UV, counter backwards — each refused with its message, no session', async (t, server) => {
  const uid = USERS.aal2clinical;
  const b = await passwordSession(server, uid);
  const key = new SoftAuthenticator({ fmt: 'packed' });
  const { res } = await registerKey(server, b, key, { name: 'Key' });
  assert.equal(byId(res.body, 'notice'), REGISTERED_AAL3, describeRes(res));
  const rp = await makeRp(server);
  const cases = [
    ['wrong origin', { origin: 'https://evil.example' }, refusedBecause(`the response came from origin https://evil.example, not ${server.origin}`)],
    ['wrong RP ID', { rpId: 'evil.example' }, refusedBecause('the response is for another relying party ID than localhost')],
    ['tampered signature', { tamper: true }, refusedBecause('the signature does not verify')],
    ['user not verified (AAL3 needs UV)', { flags: FLAGS.UP }, refusedBecause('the authenticator did not verify the user (PIN or biometric)')],
  ];
  for (const [what, getOpts, message] of cases) {
    const bx = new Browser(server.url);
    const { res: r } = await keySignIn(server, rp, bx, key, { acr_values: 'AAL3_FIDO2' }, getOpts);
    expectRefused(r, message, what);
  }
  // a credential careid never saw
  const stranger = new SoftAuthenticator();
  stranger.create({ rp: { id: 'localhost' }, user: { id: 'eA' }, challenge: 'eA' }, { origin: server.origin });
  const { res: unknown } = await keySignIn(server, rp, new Browser(server.url), stranger, { acr_values: 'AAL3_FIDO2' });
  expectRefused(unknown, NOT_REGISTERED, 'unknown credential');

  // the counter: 10 accepted, then 3 (a cloned authenticator)
  const b10 = new Browser(server.url);
  const ok = await expectSignedIn(rp, b10, await keySignIn(server, rp, b10, key, { acr_values: 'AAL3_FIDO2' }, { counter: 10 }));
  assert.equal(ok.acr, 'AAL3_FIDO2');
  const { res: back } = await keySignIn(server, rp, new Browser(server.url), key, { acr_values: 'AAL3_FIDO2' }, { counter: 3 });
  expectRefused(back, refusedBecause('the signature counter went backwards (stored 10, received 3): the authenticator may have been cloned'), 'counter backwards');
  const { res: same } = await keySignIn(server, rp, new Browser(server.url), key, { acr_values: 'AAL3_FIDO2' }, { counter: 10 });
  expectRefused(same, refusedBecause('the signature counter went backwards (stored 10, received 10): the authenticator may have been cloned'), 'counter not increased');
  const b11 = new Browser(server.url);
  assert.equal((await expectSignedIn(rp, b11, await keySignIn(server, rp, b11, key, { acr_values: 'AAL3_FIDO2' }, { counter: 11 }))).acr, 'AAL3_FIDO2', 'a counter above the stored one is accepted');
});

h.test('webauthn bad input: the same assertion posted twice — the second is "already used", no session', async (t, server) => {
  const uid = USERS.multi; // three roles: after the key careid asks for one (selectedrole), keeping the transaction
  const b = await passwordSession(server, uid);
  const key = new SoftAuthenticator();
  assert.equal(byId((await registerKey(server, b, key)).res.body, 'notice'), REGISTERED_AAL3);
  const rp = await makeRp(server);
  const victim = new Browser(server.url);
  const s = await keySignIn(server, rp, victim, key, { acr_values: 'AAL3_FIDO2', scope: 'openid selectedrole' });
  assert.match(s.res.location || '', /\/realms\/mock\/select-role\?tx=/, `the key signed in; on to the role page: ${describeRes(s.res)}`);
  // an attacker who captured the POST (and the CSRF cookie) sends it again
  const attacker = new Browser(server.url);
  for (const c of victim.cookies.values()) if (c.name === 'careid_csrf') attacker.cookies.set(`${c.name}\u0000${c.path}`, { ...c });
  const replay = await attacker.submit(s.form, { credential: credentialField(s.assertion) });
  expectRefused(replay, ALREADY_USED, 'replayed assertion');
  assert.ok(!attacker.cookieNames().some((n) => n.startsWith('careid_session')), `no session for the replay: ${attacker.cookieNames()}`);
  // the victim's own sign-in goes on
  const claims = await expectSignedIn(rp, victim, s);
  assert.equal(claims.acr, 'AAL3_FIDO2');
});

h.test('webauthn registration bad input: malformed CBOR in attestationObject — the account page says why, nothing is stored', async (t, server) => {
  const uid = '910000000005';
  const b = await passwordSession(server, uid);
  const key = new SoftAuthenticator();
  const cases = [
    ['a map that ends early', Buffer.from([0xa3, 0x63, 0x66, 0x6d, 0x74]), 'the attestation object is not valid CBOR (it ends early)'],
    ['an indefinite-length map', Buffer.from([0xbf, 0x63, 0x66, 0x6d, 0x74, 0x64, 0x6e, 0x6f, 0x6e, 0x65, 0xff]), 'the attestation object is not valid CBOR (indefinite lengths are not allowed)'],
    ['a byte after the map', null, 'the attestation object is followed by 1 unexpected bytes'],
    ['not a map', Buffer.from([0x83, 0x01, 0x02, 0x03]), 'the attestation object is not a CBOR map'],
  ];
  let page = await accountPage(server, b);
  for (const [what, bytes, reason] of cases) {
    let attestationObject = bytes;
    if (!attestationObject) {
      // a genuine attestation object of this authenticator, plus one byte
      const good = key.create(formOptions(formById(page, 'add-key-form')), { origin: server.origin });
      attestationObject = Buffer.concat([Buffer.from(good.response.attestationObject, 'base64url'), Buffer.from([0x00])]);
    }
    const { res } = await registerKey(server, b, key, { page, createOpts: { attestationObject } });
    assert.equal(res.status, 200, `${what}: ${describeRes(res)}`);
    assert.equal(errorSummary(res.body), notRegisteredBecause(reason), `${what}: the reason is shown`);
    assert.equal(byId(res.body, 'notice'), undefined, `${what}: no success notice`);
    page = res; // the page again, with a fresh challenge
  }
  assert.deepEqual(await webauthnRows(server, uid), [], 'nothing was registered');
});

h.test('webauthn account page: rename and remove a key; a removed key no longer signs in; the CLI lists FIDO2 and PASSKEY', async (t, server) => {
  const uid = '910000000004';
  const b = await passwordSession(server, uid);
  const key = new SoftAuthenticator({ alg: RS256, fmt: 'packed' });
  const passkey = new SoftAuthenticator({ backupEligible: true });
  assert.equal(byId((await registerKey(server, b, key, { name: 'Desk key' })).res.body, 'notice'), REGISTERED_AAL3);
  // a password session registers a first authenticator only; signing in with it (a step-up) lets
  // the session add and remove more
  let denied = await registerKey(server, b, passkey, { name: 'Too soon' }).catch((e) => e);
  assert.ok(denied instanceof Error || !byId(denied.res?.body || '', 'notice'), 'a second key needs a stronger session');
  const rpUp = await makeRp(server);
  const stepped = await expectSignedIn(rpUp, b, await keySignIn(server, rpUp, b, key, { acr_values: 'AAL3_FIDO2' }));
  assert.equal(stepped.authentication_assurance_level, '3');
  const { res: page } = await registerKey(server, b, passkey, { name: 'Synced passkey' });
  assert.equal(byId(page.body, 'notice'), REGISTERED_PASSKEY);
  const rows = await webauthnRows(server, uid);
  assert.deepEqual(rows.map((a) => [a.name, a.method]).sort(), [['Desk key', 'FIDO2'], ['Synced passkey', 'PASSKEY']]);
  const desk = rows.find((a) => a.name === 'Desk key');

  // the table: a row per authenticator, with its kind, a rename and a remove form
  const row = new RegExp(`<tr\\b[^>]*data-id="${desk.id}"[^>]*>([\\s\\S]*?)</tr>`).exec(page.body);
  assert.ok(row, `the account page lists the key (row data-id=${desk.id}): ${textOf(page.body).slice(0, 600)}`);
  const cells = [...row[1].matchAll(/<td\b[^>]*>([\s\S]*?)<\/td>/g)].map((m) => textOf(m[1]));
  assert.equal(cells[0], 'Desk key');
  assert.equal(cells[1], 'FIDO2', 'the kind cell says FIDO2 (and nothing of another row)');
  const formFor = (res, action) => res.forms.find((f) => f.hidden.action === action && f.hidden.id === desk.id);
  const rename = formFor(page, 'rename');
  assert.ok(rename, 'a rename form for the key');
  let res = await b.submit(rename, { name: 'Yellow key' });
  assert.equal(byId(res.body, 'notice'), 'The authenticator was renamed.', describeRes(res));
  res = await b.submit(formFor(res, 'rename'), { name: '' });
  assert.equal(errorSummary(res.body), 'Give the authenticator a name of 1 to 100 characters.');
  assert.deepEqual((await webauthnRows(server, uid)).map((a) => a.name).sort(), ['Synced passkey', 'Yellow key']);

  // the renamed key still signs in; removed, it does not
  const rp = await makeRp(server);
  const b1 = new Browser(server.url);
  assert.equal((await expectSignedIn(rp, b1, await keySignIn(server, rp, b1, key, { acr_values: 'AAL3_FIDO2' }))).acr, 'AAL3_FIDO2');
  res = await b.submit(formFor(await accountPage(server, b), 'remove'));
  assert.equal(byId(res.body, 'notice'), 'The authenticator was removed.', describeRes(res));
  assert.ok(!res.body.includes(`data-id="${desk.id}"`), 'the key is no longer listed');
  assert.deepEqual((await webauthnRows(server, uid)).map((a) => [a.name, a.method]), [['Synced passkey', 'PASSKEY']]);
  const all = await server.cli(`user authenticators ${uid}`, ['--env', 'mock', '--all']);
  assert.ok(all.json.find((a) => a.id === desk.id).revoked_at > 0, 'kept, revoked, in --all');
  const { res: gone } = await keySignIn(server, rp, new Browser(server.url), key, { acr_values: 'AAL3_FIDO2' });
  expectRefused(gone, NOT_REGISTERED, 'a removed key');
  // removing it again: no such authenticator
  res = await b.post(`${server.issuer('mock')}/account`, { csrf: formFor(page, 'remove').hidden.csrf, action: 'remove', id: desk.id });
  assert.equal(res.status, 404, describeRes(res));
});

// --- Chromium with a virtual authenticator (the real page scripts) -----------------------------

let chromium;
let callback; // the relying party's redirect URI: a page on a local listener
before(async () => {
  chromium = await launch();
  // page.route() does not see the hop of a redirect in this chromium (the 303 from careid
  // to the client): a real listener answers the redirect URI instead
  callback = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>Relying party</title><p>Signed in.</p></html>');
  });
  await new Promise((resolve) => callback.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await chromium?.close();
  await new Promise((resolve) => (callback ? callback.close(resolve) : resolve()));
});

/** The trimmed text of a locator's element, or '' when there is none. */
const textOr = async (loc) => ((await loc.count()) ? (await loc.first().innerText()).trim() : '');

/**
 * Press `button` of a form the page script submits after a WebAuthn ceremony; resolves with the
 * response to the POST (matching `isPost`). Fails at once with the script's message when the
 * ceremony failed in the browser (nothing posted: the message is in `statusSelector`).
 */
async function submitted(page, button, isPost, statusSelector) {
  const post = page.waitForResponse((r) => r.request().method() === 'POST' && isPost(r));
  const said = page.locator(`${statusSelector}:not(:empty)`).waitFor().then(() => null);
  post.catch(() => {});
  said.catch(() => {});
  await button.click();
  const r = await Promise.race([post, said]);
  assert.ok(r, `the page script posted nothing; it says: ${await textOr(page.locator(statusSelector))}`);
  return r;
}

const AUTHENTICATORS = [
  { what: 'a security key (CTAP2, USB, resident keys, PIN)', uid: '910000000002', name: 'YubiKey 5', shots: true,
    options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true } },
  { what: 'a platform authenticator like Windows Hello (CTAP2, internal, verified)', uid: '910000000003', name: 'Work laptop', shots: false,
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true } },
];

for (const va of AUTHENTICATORS) {
  h.test(`webauthn in chromium: ${va.what} — registered with the account page's button, then AAL3_FIDO2 sign-in; axe finds nothing`, { timeout: 90000 }, async (t, server) => {
    await chromium.ctx.clearCookies(); // no session of an earlier test
    const page = await chromium.ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // the NHS fonts' host is unreachable here: fail it at once rather than after a DNS wait
    await page.route((u) => !['localhost', '127.0.0.1'].includes(u.hostname), (route) => route.abort());
    page.setDefaultTimeout(15000);
    try {
      const cdp = await chromium.ctx.newCDPSession(page);
      await cdp.send('WebAuthn.enable', { enableUI: false });
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: va.options });
      const rp = await makeRp(server, undefined, { redirectUris: [`http://127.0.0.1:${callback.address().port}/cb`] });
      const atCallback = (u) => u.href.startsWith(rp.client.redirectUri);

      // a password sign-in to mock through the RP
      let authz = await rp.authorizationUrl({ scope: 'openid' });
      await page.goto(authz.url);
      await page.locator('#username').fill(va.uid);
      await page.locator('#password').fill(DEMO_PASSWORD);
      await Promise.all([page.waitForURL(atCallback), page.locator('#password-form button[type="submit"]').click()]);
      let claims = (await rp.exchange(page.url(), { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier })).claims();
      assert.equal(claims.acr, 'AAL1_USERPASS');
      const sid = claims.sid;

      // the account page: name the key and press the button (account.js → navigator.credentials.create)
      const resp = await page.goto(`${server.issuer('mock')}/account`);
      assert.equal(resp.status(), 200);
      assert.equal(new URL(page.url()).origin, server.origin);
      await page.locator('#key-name').fill(va.name);
      const accountUrl = page.url();
      let posted = await submitted(page, page.locator('#add-key'), (r) => r.url() === accountUrl, '#add-key-status');
      assert.equal(posted.status(), 200, `POST ${accountUrl}: ${posted.status()} ${await posted.text().catch(() => '')}`);
      await page.locator('#notice, .nhsuk-error-summary').first().waitFor();
      assert.equal(await textOr(page.locator('#notice')), REGISTERED_AAL3, `registered; the page says: ${await textOr(page.locator('.nhsuk-error-summary'))}`);
      assert.ok((await page.locator('#authenticator-table').innerText()).includes(va.name), 'the table lists the new key');
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(credentials.length, 1, 'one credential in the virtual authenticator');
      assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');
      const rows = await webauthnRows(server, va.uid);
      assert.deepEqual(rows.map((a) => [a.name, a.method]), [[va.name, 'FIDO2']]);
      await axeWcag(page, 'account page');
      if (va.shots) await screenshot(page, 'account.png');

      // an RP asks for AAL3_FIDO2: the sign-in page offers the security key only
      authz = await rp.authorizationUrl({ scope: 'openid', acr_values: 'AAL3_FIDO2' });
      await page.goto(authz.url);
      const button = page.getByRole('button', { name: 'Use a security key or Windows Hello' });
      await button.waitFor();
      assert.equal(await page.locator('#password').count(), 0, 'no password field for AAL3_FIDO2');
      assert.equal((await page.locator('#requirement').innerText()).trim(), 'This service needs you to sign in with a security key or Windows Hello.');
      await axeWcag(page, 'sign-in page (security key)');
      if (va.shots) await screenshot(page, 'signin-webauthn.png');
      posted = await submitted(page, button, (r) => new URL(r.url()).pathname === '/realms/mock/login', '#webauthn-status');
      assert.equal(posted.status(), 303, `POST /login: ${posted.status()} ${await posted.text().catch(() => '')}`);
      await page.waitForURL(atCallback);
      claims = (await rp.exchange(page.url(), { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier })).claims();
      assert.equal(claims.sub, va.uid);
      assert.equal(claims.acr, 'AAL3_FIDO2');
      assert.deepEqual(claims.amr, ['FIDO2']);
      assert.equal(claims.authentication_assurance_level, '3');
      assert.equal(claims.sid, sid, 'a step-up: the password session goes on, stronger');
      const used = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.ok(used.credentials[0].signCount >= 1, `the authenticator counted the signature: ${used.credentials[0].signCount}`);
      assert.deepEqual(errors, [], 'no script errors');
    } catch (e) {
      process.stderr.write(`chromium failure at ${page.url()}\n${(await page.locator('body').innerText().catch(() => '')).slice(0, 2000)}\n`);
      throw e;
    } finally {
      await page.close();
    }
  });
}
