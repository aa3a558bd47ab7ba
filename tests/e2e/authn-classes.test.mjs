// Every assurance class of CIS2-PROFILE.md, end to end: for each `acr_values` class an
// authenticator that meets it signs in (a password, password + authenticator app, a synced
// passkey, a security key, a smartcard through the real identity agent), and openid-client
// checks the ID token's acr, amr and authentication_assurance_level; the classes no careid
// authenticator meets (the iPad app, NHSmail) answer unmet_authentication_requirements.
// The observed table is printed as a diagnostic.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { join } from 'node:path';
import { setupServer, DEMO_PASSWORD, USERS, describeCli } from './lib/careid.mjs';
import { Browser, describeRes, describePages } from './lib/browser.mjs';
import { makeRp, assertAuthzError } from './lib/rp.mjs';
import { totpAt, currentStep, DEMO_TOTP } from './lib/totp.mjs';
import { SoftAuthenticator, ES256, formOptions, credentialField } from './lib/webauthn.mjs';
import { startAgent, agentSign, freePort } from './lib/agent.mjs';

let agentPort;
const h = setupServer({
  prepare: async (o) => {
    agentPort = await freePort();
    o.extraArgs = [...(o.extraArgs || []), '--public-url', 'http://localhost:0', '--smartcard-agent', `http://127.0.0.1:${agentPort}`];
  },
});

let agent;
after(async () => { await agent?.stop(); });

const formById = (res, id) => res.forms?.find((f) => f.attrs.id === id);

/** Follows a response to the client's redirect, answering a role page if one comes. */
async function toClient(rp, b, res, authz) {
  const pages = [];
  ({ res } = await b.follow(res, pages));
  if (res.status === 200 && res.kind === 'role') res = (await b.follow(await b.submit(res.form, { role: res.form.radios.role[0].value }), pages)).res;
  assert.ok(res.location?.startsWith(rp.client.redirectUri), `a redirect to the client: ${describePages(pages)}\n    last: ${describeRes(res)}`);
  const tokens = await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
  return tokens.claims();
}

async function signInPage(rp, b, acr) {
  const authz = await rp.authorizationUrl({ scope: 'openid', acr_values: acr });
  const { res } = await b.follow(await b.get(authz.url));
  assert.equal(res.status, 200, describeRes(res));
  return { authz, page: res };
}

/** One sign-in per method, each from a fresh browser. */
const methods = {
  async password(server, rp, acr) {
    const b = new Browser(server.url);
    const { authz, page } = await signInPage(rp, b, acr);
    return toClient(rp, b, await b.submit(formById(page, 'password-form'), { username: USERS.single, password: DEMO_PASSWORD }), authz);
  },
  async totp(server, rp, acr, ctx) {
    const b = new Browser(server.url);
    const { authz, page } = await signInPage(rp, b, acr);
    const codePage = await b.submit(formById(page, 'password-form'), { username: ctx.totp.uid, password: DEMO_PASSWORD });
    assert.ok(codePage.form?.inputs.some((i) => i.name === 'code'), `a code page: ${describeRes(codePage)}`);
    return toClient(rp, b, await b.submit(codePage.form, { code: totpAt(ctx.totp.secret, ctx.totp.step++) }), authz);
  },
  async key(server, rp, acr, ctx, which = 'key') {
    const b = new Browser(server.url);
    const { authz, page } = await signInPage(rp, b, acr);
    const form = formById(page, 'webauthn-form');
    assert.ok(form, `a security key form: ${describeRes(page)}`);
    const assertion = ctx[which].get(formOptions(form), { origin: server.origin });
    return toClient(rp, b, await b.submit(form, { credential: credentialField(assertion) }), authz);
  },
  passkey(server, rp, acr, ctx) { return methods.key(server, rp, acr, ctx, 'passkey'); },
  async smartcard(server, rp, acr) {
    const b = new Browser(server.url);
    const { authz, page } = await signInPage(rp, b, acr);
    const { form, fields } = await agentSign(page);
    return toClient(rp, b, await b.submit(form, fields), authz);
  },
};

/** Registers a software WebAuthn credential for `uid` on the mock account page. */
async function register(server, uid, auth) {
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  await rp.codeFlow(b, { user: uid });
  const page = await b.get(`${server.issuer('mock')}/account`);
  const form = formById(page, 'add-key-form');
  assert.ok(form, describeRes(page));
  const options = formOptions(form);
  const res = await b.submit(form, { name: 'key', challenge: options.challenge, credential: credentialField(auth.create(options, { origin: server.origin })) });
  assert.match(res.body, /is registered/, describeRes(res));
}

// class → [method, acr stated, amr, level]; null: nothing careid offers meets it
const TABLE = [
  ['AAL3_ANY', 'smartcard', 'AAL3_ANY', ['N3_SMARTCARD'], '3'],
  ['AAL2_OR_AAL3_ANY', 'totp', 'AAL2_OR_AAL3_ANY', ['pwd', 'TOTP'], '2'],
  ['AAL2_ANY', 'passkey', 'AAL2_ANY', ['PASSKEY'], '2'],
  ['AAL1_USERPASS', 'password', 'AAL1_USERPASS', ['pwd'], '1'],
  ['AAL3_IOS', null],
  ['AAL3_FIDO2', 'key', 'AAL3_FIDO2', ['FIDO2'], '3'],
  ['AAL3_N3_SMARTCARD', 'smartcard', 'AAL3_N3_SMARTCARD', ['N3_SMARTCARD'], '3'],
  ['AAL3_CIS2_SMARTCARD', 'smartcard', 'AAL3_CIS2_SMARTCARD', ['N3_SMARTCARD'], '3'],
  ['AAL3_SMARTCARD', 'smartcard', 'AAL3_SMARTCARD', ['N3_SMARTCARD'], '3'],
  ['AAL2_TOTP', 'totp', 'AAL2_TOTP', ['pwd', 'TOTP'], '2'],
  ['AAL2_NHSMAIL', null],
];

h.test('every assurance class: acr, amr and authentication_assurance_level through openid-client', async (t, server) => {
  agent = await startAgent({ card: join(server.dir, 'demo', 'card-656005750108-mock.p12'), port: agentPort });
  const ctx = {
    totp: { ...DEMO_TOTP, step: currentStep() },
    key: new SoftAuthenticator({ alg: ES256, fmt: 'packed' }),
    passkey: new SoftAuthenticator({ alg: ES256, fmt: 'none', backupEligible: true, backupState: true }),
  };
  // users with no authenticator yet: mock lets a password session register a first one
  await register(server, '910000000004', ctx.key);
  await register(server, '910000000005', ctx.passkey);
  const rp = await makeRp(server);
  const rows = ['| acr_values | authenticator | acr | amr | authentication_assurance_level |', '|---|---|---|---|---|'];
  for (const [acr, method, wantAcr, wantAmr, wantLevel] of TABLE) {
    if (!method) {
      const authz = await rp.authorizationUrl({ scope: 'openid', acr_values: acr });
      const s = await new Browser(server.url).signIn(authz.url, {});
      assertAuthzError(s, 'unmet_authentication_requirements', authz.state, acr, rp.client.redirectUri);
      rows.push(`| ${acr} | — | error=unmet_authentication_requirements | | |`);
      continue;
    }
    // two codes of the app may be used per 30 s step window: keep within it
    if (method === 'totp' && ctx.totp.step > currentStep() + 1) {
      const r = await server.cli(`user authenticators 910000000002`, ['--env', 'mock', '--add-totp']);
      assert.equal(r.code, 0, describeCli(r));
      ctx.totp = { uid: '910000000002', secret: r.json.secret, step: currentStep() };
    }
    const claims = await methods[method](server, rp, acr, ctx);
    rows.push(`| ${acr} | ${method} | ${claims.acr} | ${JSON.stringify(claims.amr)} | ${claims.authentication_assurance_level} |`);
    assert.equal(claims.acr, wantAcr, `${acr} via ${method}: acr`);
    assert.deepEqual(claims.amr, wantAmr, `${acr} via ${method}: amr`);
    assert.equal(claims.authentication_assurance_level, wantLevel, `${acr} via ${method}: level`);
  }
  t.diagnostic(`\n${rows.join('\n')}`);
});
