// Technical conformance (issue 6, done when 1 and 2): careid reads its own INT audit trail for
// a product's INT client and keeps a live checklist. A real openid-client relying party runs the
// flows in INT (an authenticator app, a multi-role user choosing a role, the code exchange with
// the registered client authentication, userinfo with nationalrbacaccess, prompt=login, the two
// test logout tokens to a validating back-channel receiver, RP-initiated logout) and the
// checklist turns complete by itself; submitting is refused while items are unmet; the CIS2
// team approves in the review queue and conformance is achieved. Relying parties that sign in
// only with a smartcard, never call userinfo, or answer 200 to the invalid logout token do not
// pass, and the checklist says why (exact reasons); a fixed RP passes on its next test request,
// which careid lets it send 30 seconds after the last (429 with Retry-After before then).
// What anyone can do with the client's authorization URL counts for nothing: signing in,
// choosing a role and re-authenticating without the code being exchanged, and signing out
// naming the client; thousands of such sign-ins do not hide the relying party's own flows.
// The page in Chromium updates itself (script polling the API, aria-live) and passes axe-core's
// WCAG 2.2 A/AA rules with an incomplete and a complete checklist.
import assert from 'node:assert/strict';
import http from 'node:http';
import { join } from 'node:path';
import { after } from 'node:test';
import * as jose from 'jose';
import { setupServer, DEMO_PASSWORD, DEFAULT_REDIRECT_URI, describeCli, sleep } from './lib/careid.mjs';
import { Browser, describeRes, describePages } from './lib/browser.mjs';
import { rpForClient, ALL_SCOPES } from './lib/rp.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { newAccount, approvedSaq } from './lib/portal.mjs';
import { startLogoutRp } from './lib/logout-rp.mjs';
import { startAgent, agentSign } from './lib/agent.mjs';
import { totpAt, currentStep, DEMO_TOTP } from './lib/totp.mjs';
import { endSession, assertConfirmPage, POST_LOGOUT_URI } from './lib/logout.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';

let smtp;
const h = setupServer({
  extraArgs: [],
  async prepare(opts) {
    smtp = await startSmtp();
    opts.extraArgs.push('--smtp-url', smtp.url);
  },
});
const receivers = [];
after(async () => {
  await smtp?.stop();
  for (const r of receivers) await r.close();
});
const subjectOf = (m) => (m.headers?.subject || [])[0] || '';

const ITEMS = ['signin_other', 'token_exchange', 'userinfo_rbac', 'role_selection', 'reauthentication', 'rp_logout', 'backchannel_valid', 'backchannel_invalid'];
const REASON = {
  smartcardOnly: 'Only smartcard sign-ins seen: sign in with an authenticator other than a smartcard, which shows no CIS1 dependency remains',
  noUserinfo: "userinfo has not been called yet: call the userinfo endpoint with an access token whose scope includes nationalrbacaccess, to read the user's roles (nhsid_nrbac_roles)",
  invalidAccepted: 'Your back-channel logout endpoint answered 200 to a logout token whose signature does not verify: it must validate the token and answer 400',
  notExchanged: 'Sign-ins for your client were seen, but your client did not exchange their codes: a sign-in counts once your client exchanges its code at the token endpoint, which only your client can do',
  roleNotExchanged: 'Role selections for your client were seen, but your client did not exchange the codes that followed them: a role selection counts once your client exchanges its code at the token endpoint',
  reauthNotExchanged: 'A re-authentication for your client was seen, but your client did not exchange its code: it counts once your client exchanges the code at the token endpoint',
  logoutUnproven: "A sign-out naming your client was seen, but not one that shows RP-initiated logout: sign in with your client and exchange the code, then send the user to the end-session endpoint with your client's id_token_hint (or its client_id)",
};
const MULTI = '910000000001'; // three roles at two organisations (int and mock)

// shared by the tests of this file, in order
const S = {};

/** A team account with its organisation, and the demo reviewer's API. */
async function team() {
  if (S.team) return S.team;
  const a = await newAccount(h.server, smtp, { email: `conformance+${process.pid}@supplier.example` });
  const reviewer = await approvedSaq(h.server, a);
  const r = await a.api.post('/api/v1/organisation', { ods_code: 'CF1', name: 'Conformance Systems Ltd', team_name: 'Conformance team' });
  assert.equal(r.status, 201, r.body);
  S.team = { a, reviewer };
  return S.team;
}

/** A product of the team with CIS2 Authentication granted. */
async function grantedProduct(name) {
  const { a, reviewer } = await team();
  let r = await a.api.post('/api/v1/products', { name: `${name} ${process.pid}` });
  assert.equal(r.status, 201, r.body);
  const product = r.json;
  r = await a.api.post(`/api/v1/products/${product.id}/access`);
  assert.equal(r.status, 202, r.body);
  const req = (await reviewer.get('/api/v1/reviews')).json.open.find((x) => x.kind === 'access' && x.subject_id === product.id);
  r = await reviewer.post(`/api/v1/reviews/${req.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);
  return product;
}

/** An INT client registered for the product through the portal's API, with its openid-client RP. */
async function intClient(product, { backchannel } = {}) {
  const { a } = await team();
  const body = {
    name: `RP of ${product.name}`, redirect_uris: [DEFAULT_REDIRECT_URI], auth_method: 'client_secret_basic',
    post_logout_redirect_uris: [POST_LOGOUT_URI],
  };
  if (backchannel) body.backchannel_logout_uri = backchannel;
  const r = await a.api.post(`/api/v1/products/${product.id}/environments/int/clients`, body);
  assert.equal(r.status, 201, r.body);
  const client = {
    env: 'int', auth: 'client_secret_basic', clientId: r.json.client_id, clientSecret: r.json.client_secret,
    redirectUri: DEFAULT_REDIRECT_URI, redirectUris: [DEFAULT_REDIRECT_URI], idTokenAlg: 'RS256',
  };
  return rpForClient(h.server, client);
}

/** An authenticator app for `uid` in int, set up by an administrator; its secret. */
async function enrolTotp(uid) {
  const r = await h.server.cli(`user authenticators ${uid}`, ['--env', 'int', '--add-totp', '--name', 'Phone']);
  assert.equal(r.code, 0, describeCli(r));
  return r.json.secret;
}

/**
 * A code flow in INT with the password and an authenticator app (AAL2_OR_AAL3_ANY), choosing
 * the second role when the role page comes; the code exchanged by openid-client.
 */
async function totpFlow(rp, b, { uid, secret, step = currentStep(), scope = ALL_SCOPES, params = {}, expectLogin = false }) {
  const authz = await rp.authorizationUrl({ scope, acr_values: 'AAL2_OR_AAL3_ANY', ...params });
  const s = await b.signIn(authz.url, { username: uid, password: DEMO_PASSWORD });
  const trail = `${describePages(s.pages)}\n    last: ${describeRes(s.page)}`;
  if (expectLogin) assert.equal(s.sawLogin, 1, `the sign-in form again: ${trail}`);
  assert.ok(s.page.form?.inputs.some((i) => i.name === 'code'), `the code page after the password: ${trail}`);
  let res = await b.submit(s.page.form, { code: totpAt(secret, step) });
  ({ res } = await b.follow(res));
  let sawRole = false;
  if (res.kind === 'role') {
    sawRole = true;
    res = await b.submit(res.form, { role: res.form.radios.role[1].value });
    ({ res } = await b.follow(res));
  }
  assert.ok(res.location?.startsWith(rp.client.redirectUri), `back to the client: ${describeRes(res)}`);
  const tokens = await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
  return { tokens, claims: tokens.claims(), sawRole };
}

/**
 * What anyone can do with a client's authorization URL: sign in (password and authenticator
 * app), choosing a role when the page comes, and NOT exchange the code (only the client can).
 */
async function signInOnly(rp, b, { uid, secret, step, scope = ALL_SCOPES, params = {} }) {
  const authz = await rp.authorizationUrl({ scope, acr_values: 'AAL2_OR_AAL3_ANY', ...params });
  const s = await b.signIn(authz.url, { username: uid, password: DEMO_PASSWORD });
  assert.ok(s.page.form?.inputs.some((i) => i.name === 'code'), `the code page: ${describeRes(s.page)}`);
  let res = await b.submit(s.page.form, { code: totpAt(secret, step) });
  ({ res } = await b.follow(res));
  let sawRole = false;
  if (res.kind === 'role') {
    sawRole = true;
    res = await b.submit(res.form, { role: res.form.radios.role[1].value });
    ({ res } = await b.follow(res));
  }
  assert.ok(res.location?.startsWith(rp.client.redirectUri) && new URL(res.location).searchParams.get('code'), `a code for the client: ${describeRes(res)}`);
  return { sawRole };
}

/** The product's checklist from the API, as the team sees it. */
async function checklist(product, api) {
  const r = await (api || (await team()).a.api).get(`/api/v1/products/${product.id}/conformance`);
  assert.equal(r.status, 200, r.body);
  return r.json;
}

const item = (c, id) => c.items.find((i) => i.id === id);

/** Polls the API (as the page's script does) until `pred(checklist)` holds. */
async function until(product, pred, what, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const c = await checklist(product);
    if (pred(c)) return c;
    if (Date.now() > end) assert.fail(`${what}: not within ${timeoutMs} ms; checklist: ${JSON.stringify(c.items, null, 1)}`);
    await sleep(250);
  }
}

/** A back-channel endpoint that answers 200 to anything, or (fixed) validates like §2.6. */
async function lenientReceiver(issuer) {
  const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/connect/jwk_uri`), { cooldownDuration: 0 });
  const seen = [];
  const state = { validating: false };
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    const token = new URLSearchParams(body).get('logout_token');
    let status = 200;
    if (state.validating) {
      try { await jose.jwtVerify(token, jwks, { issuer }); } catch { status = 400; }
    }
    seen.push({ at: Date.now(), status });
    res.writeHead(status, { 'cache-control': 'no-store' }).end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const out = {
    url: `http://127.0.0.1:${server.address().port}/backchannel`, seen, state,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
  receivers.push(out);
  return out;
}

h.test('conformance: a conforming RP in INT turns the checklist complete by itself; submit refused while incomplete; the CIS2 team confirms it', { timeout: 180000 }, async (t, server) => {
  const { a, reviewer } = await team();
  const product = await grantedProduct('WardView');
  S.complete = product;
  const base = `/api/v1/products/${product.id}/conformance`;

  // nothing yet: no client
  let c = await checklist(product);
  assert.equal(c.state, 'not_started');
  assert.equal(c.issuer, server.issuer('int'));
  assert.deepEqual(c.items.map((i) => i.id), ITEMS);
  assert.ok(c.items.every((i) => !i.met && i.at === null && /No INT client is registered/.test(i.reason)), JSON.stringify(c.items));

  // the RP: a client with a validating back-channel logout endpoint
  const receiver = await startLogoutRp();
  receivers.push(receiver);
  const ep = receiver.endpoint('wardview');
  const rp = await intClient(product, { backchannel: ep.url });
  ep.expect({ issuer: server.issuer('int'), audience: rp.client.clientId });
  c = await checklist(product);
  assert.deepEqual(c.clients.map((x) => [x.client_id, x.auth_method, x.backchannel_logout_uri]), [[rp.client.clientId, 'client_secret_basic', ep.url]]);
  assert.equal(c.state, 'not_started');
  assert.equal(item(c, 'token_exchange').reason, 'No code has been exchanged for tokens yet: after the sign-in, exchange the code at the token endpoint, authenticating with client_secret_basic');

  // submitting an incomplete checklist: refused with every unmet item, nothing filed
  let r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 422, r.body);
  assert.equal(r.json.error, 'incomplete');
  assert.deepEqual(r.json.unmet.map((u) => u.id), ITEMS);
  assert.ok(r.json.unmet.every((u) => u.title && u.reason), r.body);
  assert.ok(!(await reviewer.get('/api/v1/reviews')).json.open.some((x) => x.kind === 'conformance'), 'no review filed');

  // the test logout tokens need a session of the client first
  r = await a.api.post(`${base}/logout-test`, { client_id: rp.client.clientId });
  assert.equal(r.status, 404, r.body);
  assert.match(r.json.message, /sign in/i);

  // 1, 2, 3, 4: a multi-role user signs in with an authenticator app, picks a role; code exchange; userinfo
  const secret = await enrolTotp(MULTI);
  const browser = new Browser(server.url);
  const step = currentStep();
  const first = await totpFlow(rp, browser, { uid: MULTI, secret, step });
  assert.ok(first.sawRole, 'the role page for a multi-role user with selectedrole');
  assert.deepEqual(first.claims.amr, ['pwd', 'TOTP']);
  const ui = await rp.userinfo(first.tokens.access_token, MULTI);
  assert.ok(Array.isArray(ui.nhsid_nrbac_roles), 'userinfo with nationalrbacaccess has the roles');

  c = await until(product, (x) => ['signin_other', 'token_exchange', 'userinfo_rbac', 'role_selection'].every((id) => item(x, id).met), 'the first four items');
  assert.equal(c.state, 'in_progress');
  for (const id of ['signin_other', 'token_exchange', 'userinfo_rbac', 'role_selection']) {
    const it = item(c, id);
    assert.equal(it.client_id, rp.client.clientId, id);
    assert.match(it.at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, id);
    assert.equal(new Date(it.at).getTime() / 1000, it.at_unix, id);
    assert.equal(it.reason, null, id);
  }
  assert.ok(!item(c, 'reauthentication').met);

  // 5: re-authentication with prompt=login (the next time step's code: codes are single use)
  const again = await totpFlow(rp, browser, { uid: MULTI, secret, step: step + 1, params: { prompt: 'login' }, expectLogin: true });
  assert.equal(again.claims.sid, first.claims.sid, 'the same session, signed in again');

  // 7, 8: the two test logout tokens, judged by the validating receiver
  r = await a.api.post(`${base}/logout-test`, { client_id: rp.client.clientId });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.result.uri, ep.url);
  await ep.waitForCount(2, () => true);
  assert.equal(ep.valid.length, 1, ep.describe());
  assert.equal(ep.valid[0].answered, 200, ep.describe());
  assert.equal(ep.invalid.length, 1, ep.describe());
  assert.equal(ep.invalid[0].answered, 400, ep.describe());

  // 6: RP-initiated logout with the ID token as hint
  const out = await endSession(rp, browser, { id_token_hint: again.tokens.id_token, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'bye' });
  assert.ok([302, 303].includes(out.status) && out.location?.startsWith(POST_LOGOUT_URI), describeRes(out));

  // the checklist turns complete by itself
  c = await until(product, (x) => x.state === 'complete', 'a complete checklist');
  assert.equal(c.met, 8);
  assert.ok(c.items.every((i) => i.met && i.client_id === rp.client.clientId), JSON.stringify(c.items));
  const at = Object.fromEntries(c.items.map((i) => [i.id, i.at_unix]));
  assert.ok(at.signin_other <= at.reauthentication && at.reauthentication <= at.backchannel_valid && at.reauthentication <= at.rp_logout, JSON.stringify(at));

  // the reviewer sees the live checklist of any product, read-only
  r = await reviewer.get(base);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.state, 'complete');
  r = await reviewer.post(`${base}/submit`);
  assert.equal(r.status, 403, r.body);
  r = await reviewer.post(`${base}/logout-test`, { client_id: rp.client.clientId });
  assert.equal(r.status, 403, r.body);

  // submitted: a review with its due date, the team told; a second submission refused
  r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 200, r.body);
  const due = r.json.due_date;
  assert.match(due, /^\d{4}-\d{2}-\d{2}$/);
  assert.equal(r.json.conformance.state, 'submitted');
  assert.equal(r.json.conformance.review.due_date, due);
  await smtp.waitFor((m) => m.rcpt_tos.includes(a.email) && /Technical conformance submitted/.test(subjectOf(m)) && m.body.includes(due), 'submission e-mail');
  r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 409, r.body);

  // the CIS2 team asks for more information: the team may submit again (a new review)
  let open = (await reviewer.get('/api/v1/reviews')).json.open.filter((x) => x.kind === 'conformance' && x.subject_id === product.id);
  assert.equal(open.length, 1, 'one review for one submission');
  r = await reviewer.post(`/api/v1/reviews/${open[0].id}/decision`, { decision: 'more_info', comments: { general: 'Which role did the user pick?' } });
  assert.equal(r.status, 200, r.body);
  c = await checklist(product);
  assert.equal(c.state, 'complete');
  assert.equal(c.review.decision, 'more_info');
  await smtp.waitFor((m) => m.rcpt_tos.includes(a.email) && /More information needed: technical conformance/.test(subjectOf(m)) && m.body.includes('Which role did the user pick?'), 'more information e-mail');
  r = await a.browser.get(`/onboarding/products/${product.id}/conformance`);
  assert.match(r.body, /Which role did the user pick\?/);
  r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.conformance.review.submission, 2);

  // the reviewer's read-only page
  r = await reviewer.call('GET', `/onboarding/products/${product.id}/conformance`);
  assert.equal(r.status, 200, r.body);
  assert.match(r.body, /viewing this checklist as a member of the CIS2 onboarding team/);
  assert.doesNotMatch(r.body, /conformance-submit|Send test logout tokens/);

  // and confirms it
  open = (await reviewer.get('/api/v1/reviews')).json.open.filter((x) => x.kind === 'conformance' && x.subject_id === product.id);
  assert.equal(open.length, 1, 'one open review for the second submission');
  r = await reviewer.get(`/api/v1/reviews/${open[0].id}`);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.answers.items.length, 8, 'the snapshot of the checklist is under review');
  assert.ok(r.json.answers.items.every((i) => i.met), r.body);
  r = await reviewer.post(`/api/v1/reviews/${open[0].id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);
  c = await checklist(product);
  assert.equal(c.state, 'achieved');
  assert.equal(c.review.decision, 'approve');
  await smtp.waitFor((m) => m.rcpt_tos.includes(a.email) && /Technical conformance achieved/.test(subjectOf(m)), 'approval e-mail');
  r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 409, r.body);
  assert.equal(r.json.error, 'already_achieved');
});

h.test('done when 2: an RP that signs in only with a smartcard does not pass, and the checklist says why', { timeout: 120000 }, async (t, server) => {
  const product = await grantedProduct('CardOnly');
  S.incomplete = product;
  const rp = await intClient(product);
  S.incompleteClient = rp.client.clientId;
  const agent = await startAgent({ card: join(server.dir, 'demo', 'card-656005750108-int.p12') });
  try {
    for (const params of [{}, { prompt: 'login' }]) {
      const b = new Browser(server.url);
      const authz = await rp.authorizationUrl({ scope: 'openid profile nationalrbacaccess', ...params });
      const s = await b.signIn(authz.url, {});
      assert.equal(s.page.status, 200, describeRes(s.page));
      const { form, fields } = await agentSign(s.page, { agentUrl: agent.url });
      const res = await b.submit(form, fields);
      assert.equal(res.status, 303, `the card signs in: ${describeRes(res)}`);
      const tokens = await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
      assert.deepEqual(tokens.claims().amr, ['N3_SMARTCARD']);
      await rp.userinfo(tokens.access_token, '656005750108');
    }
  } finally {
    await agent.stop();
  }
  const c = await until(product, (x) => item(x, 'userinfo_rbac').met && item(x, 'reauthentication').met, 'the smartcard flows recorded');
  const signin = item(c, 'signin_other');
  assert.equal(signin.met, false);
  assert.equal(signin.reason, REASON.smartcardOnly);
  assert.equal(item(c, 'token_exchange').met, true);
  assert.equal(c.state, 'in_progress');
  assert.equal(item(c, 'backchannel_valid').reason, 'Your INT client has no back-channel logout URI: register one, then send the test logout tokens');
  const { a } = await team();
  const r = await a.api.post(`/api/v1/products/${product.id}/conformance/submit`);
  assert.equal(r.status, 422, r.body);
  assert.ok(r.json.unmet.some((u) => u.id === 'signin_other' && u.reason === REASON.smartcardOnly), r.body);
  // no back-channel logout URI: nothing to send the test tokens to
  const lt = await a.api.post(`/api/v1/products/${product.id}/conformance/logout-test`, { client_id: rp.client.clientId });
  assert.equal(lt.status, 400, lt.body);
  assert.match(lt.json.message, /no back-channel logout URI/);
});

h.test('done when 2: an RP that never calls userinfo does not pass, and the checklist says why', { timeout: 120000 }, async (t, server) => {
  const product = await grantedProduct('NoUserinfo');
  const rp = await intClient(product);
  const b = new Browser(server.url);
  const { tokens } = await totpFlow(rp, b, { uid: DEMO_TOTP.uid, secret: DEMO_TOTP.secret });
  S.noUserinfo = { product, rp, accessToken: tokens.access_token };
  const c = await until(product, (x) => item(x, 'token_exchange').met, 'the code exchange recorded');
  assert.equal(item(c, 'signin_other').met, true);
  const ui = item(c, 'userinfo_rbac');
  assert.equal(ui.met, false);
  assert.equal(ui.reason, REASON.noUserinfo);
  // a single-role user: the role was not chosen by the user
  assert.match(item(c, 'role_selection').reason, /only selected automatically/);
});

h.test('done when 2: an RP whose logout endpoint answers 200 to anything does not pass; fixed, its next test request passes', { timeout: 180000 }, async (t, server) => {
  const product = await grantedProduct('LaxLogout');
  const lax = await lenientReceiver(server.issuer('int'));
  const rp = await intClient(product, { backchannel: lax.url });
  const { a } = await team();
  const base = `/api/v1/products/${product.id}/conformance`;
  const uid = '656005750107';
  await totpFlow(rp, new Browser(server.url), { uid, secret: await enrolTotp(uid) });

  // bad input: no client, another product's client, not JSON
  let r = await a.api.post(`${base}/logout-test`, {});
  assert.equal(r.status, 400, r.body);
  assert.match(r.json.message, /Choose the INT client/);
  r = await a.api.post(`${base}/logout-test`, { client_id: S.noUserinfo.rp.client.clientId });
  assert.equal(r.status, 404, r.body);
  r = await a.api.call('POST', `${base}/logout-test`);
  assert.equal(r.status, 415, r.body);

  r = await a.api.post(`${base}/logout-test`, { client_id: rp.client.clientId });
  assert.equal(r.status, 200, r.body);
  let c = await until(product, (x) => item(x, 'backchannel_valid').met && item(x, 'backchannel_invalid').reason !== null && !/careid is sending/.test(item(x, 'backchannel_invalid').reason), 'both test tokens answered');
  assert.equal(item(c, 'backchannel_invalid').met, false);
  assert.equal(item(c, 'backchannel_invalid').reason, REASON.invalidAccepted);
  assert.deepEqual(lax.seen.map((s) => s.status), [200, 200], 'it answered 200 to both');

  // at once again: the outbox's one worker is shared by everything careid sends, so a client's
  // test requests are 30 seconds apart (API: 429 with Retry-After; the page says it too)
  r = await a.api.post(`${base}/logout-test`, { client_id: rp.client.clientId });
  assert.equal(r.status, 429, r.body);
  assert.equal(r.json.error, 'too_many_requests');
  const m = /^Wait (\d+) seconds before sending test logout tokens again$/.exec(r.json.message);
  assert.ok(m, r.body);
  const wait = Number(r.headers.get('retry-after'));
  assert.equal(wait, Number(m[1]));
  assert.ok(wait >= 1 && wait <= 30, `Retry-After ${wait}`);
  const page = await a.browser.post(`/onboarding/products/${product.id}/conformance/logout-test`, { csrf: a.api.me.csrf_token, client_id: rp.client.clientId });
  assert.equal(page.status, 429, describeRes(page));
  assert.ok(Number(page.headers.get('retry-after')) >= 1);
  assert.match(page.body, /class="nhsuk-error-summary"[\s\S]*Wait \d+ seconds before sending test logout tokens again/);
  assert.match(page.body, new RegExp(`id="test-error-${rp.client.clientId.replace(/[.]/g, '\\.')}"`));
  assert.equal(lax.seen.length, 2, 'nothing more was sent');
  await sleep(wait * 1000 + 500);

  // the RP is fixed: the latest request is the one judged
  lax.state.validating = true;
  r = await a.api.post(`${base}/logout-test`, { client_id: rp.client.clientId });
  assert.equal(r.status, 200, r.body);
  c = await until(product, (x) => item(x, 'backchannel_invalid').met && item(x, 'backchannel_valid').met, 'the fixed RP rejecting the invalid token');
  assert.equal(c.state, 'in_progress');
  assert.deepEqual(lax.seen.slice(2).map((s) => s.status).sort(), [200, 400]);
});

h.test('security: signing in, choosing a role, re-authenticating and signing out with the client\'s authorization URL count for nothing until the client exchanges the code', { timeout: 120000 }, async (t, server) => {
  const product = await grantedProduct('Bystander');
  const rp = await intClient(product);
  const elsewhere = await intClient(await grantedProduct('Elsewhere'));
  const secret = await enrolTotp(MULTI);
  const step = currentStep();

  // someone opens the product's client's authorization URL (prompt=login, selectedrole), signs in,
  // chooses a role, and leaves the code unexchanged; then signs out naming the client and confirms
  const b = new Browser(server.url);
  const s = await signInOnly(rp, b, { uid: MULTI, secret, step, params: { prompt: 'login' } });
  assert.ok(s.sawRole, 'the role page');
  let out = await endSession(rp, b, { client_id: rp.client.clientId });
  out = await b.submit(assertConfirmPage(out, 'client_id only'));
  assert.equal(out.status, 200, describeRes(out));
  // or signs in through another client (exchanged there), and signs out naming this one
  const b2 = new Browser(server.url);
  await totpFlow(elsewhere, b2, { uid: MULTI, secret, step: step + 1 });
  out = await endSession(rp, b2, { client_id: rp.client.clientId });
  out = await b2.submit(assertConfirmPage(out, 'another client\'s session'));
  assert.equal(out.status, 200, describeRes(out));

  let c = await checklist(product);
  assert.equal(item(c, 'token_exchange').met, false);
  assert.deepEqual(
    Object.fromEntries(['signin_other', 'role_selection', 'reauthentication', 'rp_logout'].map((id) => [id, [item(c, id).met, item(c, id).reason]])),
    {
      signin_other: [false, REASON.notExchanged],
      role_selection: [false, REASON.roleNotExchanged],
      reauthentication: [false, REASON.reauthNotExchanged],
      rp_logout: [false, REASON.logoutUnproven],
    });

  // the relying party itself: its sign-in, exchanged, and its logout with its ID token
  const b3 = new Browser(server.url);
  const own = await totpFlow(rp, b3, { uid: MULTI, secret: await enrolTotp(MULTI), params: { prompt: 'login' } });
  out = await endSession(rp, b3, { id_token_hint: own.tokens.id_token, post_logout_redirect_uri: POST_LOGOUT_URI });
  assert.ok([302, 303].includes(out.status), describeRes(out));
  c = await checklist(product);
  for (const id of ['signin_other', 'token_exchange', 'role_selection', 'reauthentication', 'rp_logout']) assert.equal(item(c, id).met, true, `${id}: ${item(c, id).reason}`);
});

/** Writes `n` signin.succeeded events naming `clientId` in INT, never exchanged, as careid writes
 * them for sign-ins through the client's authorization URL (a script could make them; written to
 * the store to keep the test short: one INSERT of all the rows, while careid runs). */
async function floodSignIns(server, clientId, n) {
  const lit = (v) => `'${String(v).replace(/'/g, "''")}'`;
  // the detail careid writes, its "sid" last so that each row's own can be appended
  const detail = JSON.stringify({ address: '203.0.113.9', client_id: clientId, env: 'int', method: 'password', prompt: 'login', reason: null });
  const head = `${detail.slice(0, -1)},"sid":"flood-`;
  await server.sql(`INSERT INTO audit_events (seq, at, actor, action, subject, detail, prev_hash, hash, client_id)
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ${Number(n)}),
  base AS (SELECT COALESCE(MAX(seq), 0) AS seq FROM audit_events)
SELECT base.seq + i, ${Math.floor(Date.now() / 1000)}, '910000000002', 'signin.succeeded', 'user:910000000002',
  ${lit(head)} || CAST(i AS TEXT) || '"}',
  '${'0'.repeat(64)}', '${'0'.repeat(48)}' || CAST(1000000000000000 + i AS TEXT), ${lit(clientId)} FROM k, base`);
}

h.test('security: thousands of sign-ins naming the client, by anyone, do not push the relying party\'s own flows out of the evidence', { timeout: 120000 }, async (t, server) => {
  const product = await grantedProduct('Flooded');
  const rp = await intClient(product);
  await floodSignIns(server, rp.client.clientId, 6000);
  const uid = '656005750107';
  await totpFlow(rp, new Browser(server.url), { uid, secret: await enrolTotp(uid), params: { prompt: 'login' } });
  const c = await until(product, (x) => item(x, 'token_exchange').met && item(x, 'signin_other').met && item(x, 'reauthentication').met, 'the RP\'s own flow counted');
  assert.equal(item(c, 'signin_other').client_id, rp.client.clientId);
});

async function portalSignIn(page, base, username, password) {
  await page.goto(`${base}/onboarding/signin`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/onboarding/**`), page.click('button[type=submit]')]);
}

h.test('conformance page: updates by itself (aria-live), submit refused with the unmet items; WCAG 2.2 A/AA incomplete and complete', { timeout: 180000 }, async (t, server) => {
  const { a } = await team();
  assert.ok(S.noUserinfo && S.complete, 'the earlier tests made the products');
  const { product, rp, accessToken } = S.noUserinfo;
  const b = await launch();
  try {
    const page = await b.ctx.newPage();
    await portalSignIn(page, server.url, a.email, a.password);
    const url = `${server.url}/onboarding/products/${product.id}/conformance`;
    await page.goto(url);
    assert.match(await page.textContent('#status-userinfo_rbac'), /Not met/);
    assert.equal((await page.textContent('#hint-userinfo_rbac')).trim(), REASON.noUserinfo);
    assert.match(await page.textContent('#status-signin_other'), /Met/);
    assert.match(await page.textContent('#int-environment'), new RegExp(server.issuer('int').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    await axeWcag(page, 'conformance checklist, incomplete');

    // the RP calls userinfo now: the open page shows it without a reload, and says so
    await rp.userinfo(accessToken, DEMO_TOTP.uid);
    await page.waitForFunction(() => document.getElementById('status-userinfo_rbac')?.textContent.trim() === 'Met', null, { timeout: 15000 });
    assert.match(await page.textContent('#hint-userinfo_rbac'), /^Met on \d{4}-\d{2}-\d{2} at \d{2}:\d{2}:\d{2} UTC by client \d+/);
    assert.match(await page.textContent('#conformance-live'), /Call userinfo with the nationalrbacaccess scope: met\./);
    assert.equal(await page.getAttribute('#conformance-live', 'aria-live'), 'polite');
    await axeWcag(page, 'conformance checklist, updated by its script');

    // submitting from the page while items are unmet: the error summary lists them, linked
    await Promise.all([page.waitForLoadState('load'), page.click('#conformance-submit')]);
    await page.waitForSelector('.nhsuk-error-summary');
    assert.ok(await page.$('.nhsuk-error-summary a[href="#item-backchannel_valid"]'), 'links to an unmet item');
    assert.equal(await page.$('.nhsuk-error-summary a[href="#item-userinfo_rbac"]'), null, 'a met item is not listed');
    await axeWcag(page, 'conformance checklist, submit refused');

    // the complete (and achieved) checklist
    await page.goto(`${server.url}/onboarding/products/${S.complete.id}/conformance`);
    for (const id of ITEMS) assert.equal((await page.textContent(`#status-${id}`)).trim(), 'Met', id);
    assert.match(await page.textContent('#conformance-state'), /Technical conformance achieved/);
    assert.equal(await page.$('#conformance-submit'), null, 'nothing to submit once achieved');
    await screenshot(page, 'onboarding-conformance.png');
    await axeWcag(page, 'conformance checklist, complete');

    // the test logout tokens from the page's button: a notice, then the answers in the list
    await Promise.all([page.waitForURL(/conformance\?sent=1$/), page.click('button:has-text("Send test logout tokens")')]);
    assert.match(await page.textContent('#notice'), /careid is sending a valid and a deliberately invalid logout token/);
    await axeWcag(page, 'conformance checklist, test tokens sent');
    await page.waitForFunction(() => document.getElementById('status-backchannel_invalid')?.textContent.trim() === 'Met', null, { timeout: 15000 });
    // at once again: refused for now, in the error summary and by the button
    const [again] = await Promise.all([page.waitForResponse((res) => res.url().endsWith('/conformance/logout-test')), page.click('button:has-text("Send test logout tokens")')]);
    assert.equal(again.status(), 429);
    await page.waitForSelector('.nhsuk-error-summary');
    assert.match(await page.textContent('.nhsuk-error-summary'), /Wait \d+ seconds before sending test logout tokens again/);
    assert.match(await page.textContent('.nhsuk-card .nhsuk-error-message'), /Error: Wait \d+ seconds before sending test logout tokens again/);
    await axeWcag(page, 'conformance checklist, test tokens refused for now');

    // a client without a back-channel logout URI has no button; a forged request says why
    const forged = await a.browser.post(`/onboarding/products/${S.incomplete.id}/conformance/logout-test`, { csrf: a.api.me.csrf_token, client_id: S.incompleteClient });
    assert.equal(forged.status, 400, describeRes(forged));
    assert.match(forged.body, /This client has no back-channel logout URI/);

    // without JavaScript the page is the same checklist (the script only refreshes it)
    const plain = await a.browser.get(`/onboarding/products/${product.id}/conformance`);
    assert.equal(plain.status, 200);
    assert.match(plain.body, /<script type="module" src="\/static\/conformance.js">/);
    const js = await fetch(`${server.url}/static/conformance.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') || '', /javascript/);
  } finally {
    await b.close();
  }
});
