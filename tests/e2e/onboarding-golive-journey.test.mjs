// Issue 6, done when 1: one product walked from an approved use case to its first live site, the
// portal driven in Chromium (the team and the CIS2 onboarding team in two browser contexts, each
// page checked with axe-core's WCAG 2.2 A/AA rules) and the identity provider by real
// openid-client relying parties:
//   a journey plan with warnings → the CIS2 team's feedback → a revised plan → an INT client
//   registered on the page → a relying party performs the conformance flows in INT and the
//   checklist, left open in the browser, turns complete by itself → submitted and confirmed →
//   the Non-functional requirements stage approved → the Connection Agreement accepted → a Live
//   client registered on the page → sign-ins in Live appear on the planned-against-actual chart,
//   the first site marked live → the CIS2 team's view shows the product rolling out.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCareid, DEMO_PASSWORD, DEFAULT_REDIRECT_URI, describeCli, sleep } from './lib/careid.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { newAccount, approvedSaq, grantedProduct, REVIEWER } from './lib/portal.mjs';
import { SETUP, NFR, approvedStage } from './lib/stages.mjs';
import { Browser, describeRes, describePages } from './lib/browser.mjs';
import { rpForClient, ALL_SCOPES } from './lib/rp.mjs';
import { startLogoutRp } from './lib/logout-rp.mjs';
import { endSession, POST_LOGOUT_URI } from './lib/logout.mjs';
import { totpAt, currentStep } from './lib/totp.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';

const MULTI = '910000000001'; // three roles at two organisations, in int
const LIVE_UID = '656005750111';
const subjectOf = (m) => (m.headers?.subject || [])[0] || '';

let smtp;
let server;
const browsers = []; // Chromium: one profile for the team, one for the CIS2 team
let receiver; // the relying party's back-channel logout endpoint
let failed = false;
const s = {}; // what the steps share

before(async () => {
  smtp = await startSmtp();
  server = await startCareid({ extraArgs: ['--smtp-url', smtp.url] });
  receiver = await startLogoutRp();
});
after(async () => {
  for (const b of browsers) await b.close();
  await receiver?.close();
  if (server) {
    const st = await server.stop({ keepDir: failed });
    if (failed) process.stderr.write(`careid store kept for inspection: ${server.dir}\n`);
    assert.equal(st.code, 0, `careid should exit 0 on SIGTERM, got ${JSON.stringify(st)}`);
  }
  await smtp?.stop();
});

/** node:test's test, in order; later steps are skipped once one fails. */
function step(name, fn) {
  test(name, { timeout: 120000 }, async (t) => {
    if (failed) return t.skip('an earlier step failed');
    const mark = server.logs.length;
    try {
      await fn();
    } catch (e) {
      failed = true;
      process.stderr.write(`careid log while "${name}" ran:\n${server.logs.slice(mark).join('\n')}\n`);
      throw e;
    }
  });
}

/** "YYYY-MM-DD" `n` days from today (UTC; the dates only need to be in the right order). */
function day(n) {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** A Chromium profile of its own, signed in to the portal. */
async function portalPage(username, password) {
  const b = await launch();
  browsers.push(b);
  const page = await b.ctx.newPage();
  await page.goto(`${server.url}/onboarding/signin`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${server.url}/onboarding/**`), page.click('button[type=submit]')]);
  return page;
}

const mailTo = (email, subject, body = /./) => smtp.waitFor(
  (m) => m.rcpt_tos.includes(email.toLowerCase()) && subject.test(subjectOf(m)) && body.test(m.body || ''), `${subject.source} to ${email}`);

/** Registers a client on the environment's page; returns {clientId, clientSecret}. */
async function registerOnPage(page, env, fields) {
  await page.goto(`${s.productUrl}/environments/${env}`);
  await page.fill('#name', fields.name);
  await page.fill('#redirect_uris', fields.redirectUris.join('\n'));
  await page.check('input[name=auth_method][value=client_secret_basic]');
  if (fields.backchannel) await page.fill('#backchannel_logout_uri', fields.backchannel);
  if (fields.postLogout) await page.fill('#post_logout_redirect_uris', fields.postLogout.join('\n'));
  await page.check('input[name=id_token_alg][value=RS256]');
  await page.click(`form[action$="/environments/${env}"] button[type=submit]`);
  await page.waitForSelector('#client-secret', { timeout: 10000 }).catch(async (e) => {
    throw new Error(`no secret page: ${e.message}\n${(await page.textContent('main')).replace(/\s+/g, ' ').slice(0, 1500)}`);
  });
  const client = { clientId: (await page.textContent('#client-id')).trim(), clientSecret: (await page.textContent('#client-secret')).trim() };
  await axeWcag(page, `${env} client registered, its secret shown once`);
  return client;
}

/** A code flow: the password, then the app's code of `codeStep`; a role picked when asked. */
async function totpFlow(rp, b, { uid, secret, codeStep, scope = ALL_SCOPES, params = {} }) {
  const authz = await rp.authorizationUrl({ scope, acr_values: 'AAL2_OR_AAL3_ANY', ...params });
  const si = await b.signIn(authz.url, { username: uid, password: DEMO_PASSWORD });
  const trail = `${describePages(si.pages)}\n    last: ${describeRes(si.page)}`;
  assert.ok(si.page.form?.inputs.some((i) => i.name === 'code'), `the code page after the password: ${trail}`);
  let res = await b.submit(si.page.form, { code: totpAt(secret, codeStep) });
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

// The plan: a first site today, the last in 20 days. Version 1 squeezes testing, the review of
// the conformance answers and assurance; version 2, after the CIS2 team's feedback, does not.
const SITES = [
  { name: 'Leeds General Infirmary', ods_code: 'RR801', planned_date: day(0), users: 120, auths_per_day: 300, auths_peak_hour: 60 },
  { name: "St James's University Hospital", ods_code: 'RR813', planned_date: day(20), users: 200, auths_per_day: 500, auths_peak_hour: 90 },
];
const TIGHT = {
  testing_start: day(-30), testing_end: day(-28), conformance_start: day(-27), conformance_answers: day(-26),
  conformance_achieved: day(-24), first_site_live: day(0), last_site_live: day(20),
};
const RELAXED = {
  testing_start: day(-80), testing_end: day(-60), conformance_start: day(-62), conformance_answers: day(-40),
  conformance_achieved: day(-7), first_site_live: day(0), last_site_live: day(20),
};
const DURATION_WARNINGS = [/5 working days/, /[Tt]esting/, /[Aa]ssurance/];

step('an approved use case: account, SAQ, team, product with CIS2 Authentication, Setup and eligibility approved', async () => {
  const a = await newAccount(server, smtp, { email: `journey+${process.pid}@supplier.example` });
  const reviewer = await approvedSaq(server, a);
  const r = await a.api.post('/api/v1/organisation', { ods_code: 'JY1', name: 'Journey Systems Ltd', team_name: 'Journey team' });
  assert.equal(r.status, 201, r.body);
  const product = await grantedProduct(a, reviewer, `WardView ${process.pid}`);
  await approvedStage(a, reviewer, product, 'setup', SETUP);
  Object.assign(s, { a, reviewer, product, productUrl: `${server.url}/onboarding/products/${product.id}` });
  s.team = await portalPage(a.email, a.password);
  s.cis2 = await portalPage(REVIEWER, DEMO_PASSWORD);
});

step('the journey plan: warnings where it leaves less than the published durations, and a timeline', async () => {
  const page = s.team;
  await page.goto(s.productUrl);
  assert.match(await page.textContent('#task-status-setup'), /Approved/);
  assert.match(await page.textContent('#task-status-plan'), /Not started/);
  assert.match(await page.textContent('#task-status-agreement'), /Cannot start yet/);
  await axeWcag(page, 'product page with its journey');
  await page.click(`#journey-tasks a[href="/onboarding/products/${s.product.id}/plan"]`);
  await Promise.all([page.waitForURL(`${s.productUrl}/plan/edit`), page.click('a[href$="/plan/edit"]')]);
  for (const [id, v] of Object.entries(TIGHT)) await page.fill(`#${id}`, v);
  await page.check('input[name=deployment_model][value=single_instance]');
  await page.click('button[value=add_site]');
  await page.waitForSelector('#site_2_name');
  for (const [n, site] of SITES.entries()) {
    for (const [k, v] of Object.entries(site)) await page.fill(`#site_${n + 1}_${k}`, String(v));
  }
  await Promise.all([page.waitForURL(`${s.productUrl}/plan?saved=1`), page.click('button[value=save]')]);
  const warnings = await page.textContent('#warnings');
  for (const w of DURATION_WARNINGS) assert.match(warnings, w, `a warning: ${w}`);
  assert.ok(await page.$('#timeline-picture svg[role=img]'), 'the timeline picture');
  await axeWcag(page, 'plan with warnings and its timeline');
  await screenshot(page, 'onboarding-golive-journey-plan.png');
});

step('feedback: the CIS2 team comments on the plan, the team is e-mailed and saves a revised version', async () => {
  const page = s.cis2;
  await page.goto(`${s.productUrl}/plan`);
  assert.match(await page.textContent('#warnings'), /5 working days/, 'the CIS2 team sees the same checks');
  const feedback = `Allow 2 weeks for assurance and 5 working days for our review (${process.pid}).`;
  await page.fill('#comment', feedback);
  await page.click('form[action$="/plan/comments"] button[type=submit]');
  await page.waitForSelector(`#comment-list >> text=${feedback}`);
  await axeWcag(page, 'plan with the CIS2 team\'s comment');
  await mailTo(s.a.email, /comment/i, new RegExp(feedback.replace(/[().]/g, '\\$&')));

  const team = s.team;
  await team.goto(`${s.productUrl}/plan`);
  assert.match(await team.textContent('#comment-list'), /Allow 2 weeks for assurance/);
  await Promise.all([team.waitForURL(`${s.productUrl}/plan/edit`), team.click('a[href$="/plan/edit"]')]);
  for (const [id, v] of Object.entries(RELAXED)) await team.fill(`#${id}`, v);
  await Promise.all([team.waitForURL(`${s.productUrl}/plan?saved=2`), team.click('button[value=save]')]);
  const warnings = (await team.$('#warnings')) ? await team.textContent('#warnings') : '';
  assert.doesNotMatch(warnings, /5 working days/, 'the review has its 5 working days now');
  assert.match(await team.textContent('#plan-version'), /2/);
});

step('an INT client registered by the team on the environments page', async () => {
  const ep = receiver.endpoint('journey-int');
  const c = await registerOnPage(s.team, 'int', {
    name: 'WardView INT', redirectUris: [DEFAULT_REDIRECT_URI], backchannel: ep.url, postLogout: [POST_LOGOUT_URI],
  });
  s.int = { ep, client: { env: 'int', auth: 'client_secret_basic', ...c, redirectUri: DEFAULT_REDIRECT_URI, redirectUris: [DEFAULT_REDIRECT_URI], idTokenAlg: 'RS256' } };
  s.int.rp = await rpForClient(server, s.int.client);
  ep.expect({ issuer: server.issuer('int'), audience: c.clientId });
});

step('conformance in INT: a relying party performs the flows and the open checklist turns complete by itself', async () => {
  const page = s.team;
  await page.goto(`${s.productUrl}/conformance`);
  assert.match(await page.textContent('#conformance-count'), /^0 of 8$/);
  await axeWcag(page, 'conformance checklist, nothing done yet');

  let r = await server.cli(`user authenticators ${MULTI}`, ['--env', 'int', '--add-totp', '--name', 'Phone']);
  assert.equal(r.code, 0, describeCli(r));
  const secret = r.json.secret;
  const { rp } = s.int;
  const b = new Browser(server.url);
  while (Date.now() / 1000 % 30 > 20) await sleep(500); // two codes in a row: this step and the next
  const codeStep = currentStep();
  const first = await totpFlow(rp, b, { uid: MULTI, secret, codeStep });
  assert.ok(first.sawRole, 'the role page for a user with several roles, selectedrole asked');
  assert.deepEqual(first.claims.amr, ['pwd', 'TOTP'], 'an authenticator other than a smartcard');
  const info = await rp.userinfo(first.tokens.access_token, MULTI);
  assert.ok(Array.isArray(info.nhsid_nrbac_roles), 'userinfo with nationalrbacaccess');
  const again = await totpFlow(rp, b, { uid: MULTI, secret, codeStep: codeStep + 1, params: { prompt: 'login' } });
  assert.equal(again.claims.sid, first.claims.sid, 're-authenticated in the same session');

  // the two test logout tokens, sent from the page, judged by the validating receiver
  await page.click(`form[action$="/conformance/logout-test"]:has(input[value="${s.int.client.clientId}"]) button[type=submit]`);
  await s.int.ep.waitForCount(2, () => true);
  assert.equal(s.int.ep.valid[0]?.answered, 200, s.int.ep.describe());
  assert.equal(s.int.ep.invalid[0]?.answered, 400, s.int.ep.describe());

  const out = await endSession(rp, b, { id_token_hint: again.tokens.id_token, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'bye' });
  assert.ok([302, 303].includes(out.status) && out.location?.startsWith(POST_LOGOUT_URI), describeRes(out));

  // the page was not reloaded: its script reads the evidence as it arrives
  await page.waitForFunction(() => document.getElementById('conformance-count')?.textContent === '8 of 8', null, { timeout: 30000 });
  assert.equal(await page.$$eval('#conformance-checklist .nhsuk-task-list__status--completed', (els) => els.length), 8);
  await axeWcag(page, 'conformance checklist complete');
  await screenshot(page, 'onboarding-golive-journey-conformance.png');
  await page.reload();
  await Promise.all([page.waitForURL(`${s.productUrl}/conformance**`), page.click('form[action$="/conformance/submit"] button[type=submit]')]);
  assert.match(await page.textContent('#conformance-state-text'), /[Ss]ubmitted/);
  await mailTo(s.a.email, /Technical conformance submitted/);
});

step('assurance: the Non-functional requirements stage approved, technical conformance confirmed by the CIS2 team', async () => {
  await approvedStage(s.a, s.reviewer, s.product, 'non-functional', NFR);
  const open = (await s.reviewer.get('/api/v1/reviews')).json.open.filter((x) => x.kind === 'conformance' && x.subject_id === s.product.id);
  assert.equal(open.length, 1, 'the checklist is in the review queue');
  const page = s.cis2;
  await page.goto(`${server.url}/onboarding/review/${open[0].id}`);
  await axeWcag(page, 'technical conformance review');
  await page.check('input[name=decision][value=approve]');
  await Promise.all([page.waitForURL(`${server.url}/onboarding/review**`), page.click(`form[action$="/review/${open[0].id}"] button[type=submit]`)]);
  await mailTo(s.a.email, /technical conformance/i, /confirmed|achieved|approved/);
  const c = await s.a.api.get(`/api/v1/products/${s.product.id}/conformance`);
  assert.equal(c.json.state, 'achieved', c.body);
});

step('Live is refused until the agreement is accepted; the owner accepts the Connection Agreement', async () => {
  const page = s.team;
  let r = await s.a.api.post(`/api/v1/products/${s.product.id}/environments/live/clients`, { name: 'Too early', redirect_uris: ['https://wardview.example/cb'] });
  assert.equal(r.status, 403, r.body);
  assert.equal(r.json.error, 'live_not_allowed');
  assert.match(r.json.message, /Connection Agreement/);
  await page.goto(`${s.productUrl}/agreement`);
  await page.check('#accept');
  await page.fill('#full_name', 'Test Developer');
  await Promise.all([page.waitForURL(`${s.productUrl}/agreement**`), page.click('form[action$="/agreement"] button[type=submit]')]);
  await page.waitForSelector('#agreement-accepted');
  await axeWcag(page, 'Connection Agreement accepted');
  await mailTo(s.a.email, /Connection Agreement/);
});

step('Live credentials: a Live client registered on the page', async () => {
  const c = await registerOnPage(s.team, 'live', { name: 'WardView', redirectUris: [DEFAULT_REDIRECT_URI] });
  s.live = { client: { env: 'live', auth: 'client_secret_basic', ...c, redirectUri: DEFAULT_REDIRECT_URI, redirectUris: [DEFAULT_REDIRECT_URI], idTokenAlg: 'RS256' } };
  await s.team.goto(s.productUrl);
  assert.match(await s.team.textContent('#task-status-live'), /1 Live client/);
});

step('go-live: sign-ins in Live appear on the planned-against-actual chart; the first site marked live', async () => {
  let r = await server.cli('user add', ['--env', 'live', '--uid', LIVE_UID, '--given-name', 'Priya', '--family-name', 'Live'], { input: `${DEMO_PASSWORD}\n` });
  assert.equal(r.code, 0, describeCli(r));
  r = await server.cli(`user authenticators ${LIVE_UID}`, ['--env', 'live', '--add-totp', '--name', 'Phone']);
  assert.equal(r.code, 0, describeCli(r));
  const secret = r.json.secret;
  const rp = await rpForClient(server, s.live.client);
  while (Date.now() / 1000 % 30 > 20) await sleep(500);
  const now = currentStep();
  for (const codeStep of [now - 1, now]) {
    const { claims } = await totpFlow(rp, new Browser(server.url), { uid: LIVE_UID, secret, codeStep, scope: 'openid', params: { acr_values: 'AAL2_TOTP' } });
    assert.equal(claims.sub, LIVE_UID);
  }

  const page = s.team;
  await page.goto(`${s.productUrl}/golive`);
  await page.check('input[name=ods_code][value=RR801]');
  await Promise.all([page.waitForURL(`${s.productUrl}/golive**`), page.click('form[action$="/golive"] button[type=submit]')]);
  assert.match(await page.textContent('#sites'), /Leeds General Infirmary[\s\S]*[Ll]ive/);
  await axeWcag(page, 'go-live sites, the first one live');

  await page.goto(`${s.productUrl}/golive/dashboard`);
  const d = (await s.a.api.get(`/api/v1/products/${s.product.id}/golive/dashboard`)).json;
  const row = d.days.find((x) => x.date === d.today);
  assert.deepEqual([row.planned, row.actual], [300, 2], `today: the first site's 300 planned, 2 sign-ins: ${JSON.stringify(row)}`);
  assert.ok(await page.$('svg[role=img]'), 'the chart');
  const cells = await page.$$eval(`#day-${row.date} td`, (tds) => tds.map((td) => td.textContent.trim()));
  assert.deepEqual(cells, ['300', '2'], 'the same figures in the table');
  await axeWcag(page, 'planned against actual dashboard');
  await screenshot(page, 'onboarding-golive-journey-dashboard.png');
});

step('the CIS2 team\'s view lists the product rolling out', async () => {
  const page = s.cis2;
  await page.goto(`${server.url}/onboarding/cis2`);
  const row = await page.textContent(`tr:has(a[href="/onboarding/products/${s.product.id}"])`);
  assert.match(row, /Go live and roll out/);
  await axeWcag(page, 'the CIS2 team\'s view');
  await screenshot(page, 'onboarding-golive-journey-cis2.png');
  await s.team.goto(s.productUrl);
  await screenshot(s.team, 'onboarding-golive-journey-product.png');
});
