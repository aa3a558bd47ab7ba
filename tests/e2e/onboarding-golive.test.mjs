// Go-live and rollout: a product with a journey plan and a Live client; a real openid-client
// relying party signs in several times in Live (password and an authenticator app, since Live
// offers no password alone) and the rollout dashboard's table shows those sign-ins today against
// the plan's figure (a sign-in through another Live client does not count); sites are marked live
// once, with each refusal (no Live client yet, a date in the future or before the Live client, a
// site not in the plan, twice, a reviewer); the CIS2 team's view lists every product with its
// stage, an overdue review and a slipping plan, and refuses everyone else; axe-core's WCAG 2.2
// A/AA rules on the go-live page, the dashboard and the CIS2 view.
//
// The overdue review needs a past: a first server runs with --review-date 2026-01-05, where a
// product's request for CIS2 Authentication is filed (due 2026-01-12) and left open; a second
// server then serves the same store on today's date.
//
// The plan and its comment go through the plan's API. A Live client exists only once technical
// conformance is achieved and the Connection Agreement accepted (walked through in other tests):
// here it is registered with `careid client add --env live` and linked to the product in
// ob_env_clients with SQL on the store, as envclients.c links the clients it registers.
// CAREID_SCREENSHOTS=1 saves docs/screenshots/onboarding-golive-*.png.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCareid, registerClient, DEMO_PASSWORD, describeCli, sleep } from './lib/careid.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { newAccount, approvedSaq, api, portalSignIn, REVIEWER } from './lib/portal.mjs';
import { Browser, describeRes, describePages, textOf, decodeEntities } from './lib/browser.mjs';
import { rpForClient } from './lib/rp.mjs';
import { totpAt, currentStep } from './lib/totp.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';

const PAST = '2026-01-05'; // a Monday: reviews filed then were due 2026-01-12
const LIVE_UID = '656005750111';
const EMAIL = `golive.team+${process.pid}@supplier.example`;
const SITE_NAME = 'Ward <b>7</b> & "Annexe"'; // escaped everywhere it is shown

let smtp;
let server; // the server of the moment
let failed = false;
const s = {}; // what the steps share

before(async () => {
  smtp = await startSmtp();
});
after(async () => {
  if (server) {
    const st = await server.stop({ keepDir: failed });
    if (failed) process.stderr.write(`careid store kept for inspection: ${server.dir}\n`);
    assert.equal(st.code, 0, `careid should exit 0 on SIGTERM, got ${JSON.stringify(st)}`);
  }
  await smtp?.stop();
});

/** node:test's test, printing the server's log lines when it fails. */
function step(name, fn) {
  test(name, async () => {
    const mark = server ? server.logs.length : 0;
    try {
      await fn();
    } catch (e) {
      failed = true;
      const lines = server ? server.logsSince(mark) : [];
      process.stderr.write(`\n--- careid log lines during "${name}":\n${lines.slice(-200).join('\n')}\n---\n`);
      throw e;
    }
  });
}

/** Rows of `text` on the store as the sqlite3 CLI printed them: columns joined by |, a line each. */
const sql = async (text) => (await server.sql(text)).map((r) => `${Object.values(r).map((v) => v ?? '').join('|')}\n`).join('');
const quote = (v) => `'${String(v).replace(/'/g, "''")}'`;
/** YYYY-MM-DD plus n days. */
const addDays = (date, n) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86400000).toISOString().slice(0, 10);

step('phase 1 (review date 2026-01-05): a team, a product with CIS2 Authentication, another whose request stays open', async () => {
  server = await startCareid({ extraArgs: ['--review-date', PAST, '--smtp-url', smtp.url] });
  const a = await newAccount(server, smtp, { email: EMAIL });
  const reviewer = await approvedSaq(server, a);
  let r = await a.api.post('/api/v1/organisation', { ods_code: 'GL1', name: 'Golive Systems Ltd', team_name: 'Rollout team' });
  assert.equal(r.status, 201, r.body);
  r = await a.api.post('/api/v1/products', { name: `WardView Live ${process.pid}` });
  assert.equal(r.status, 201, r.body);
  s.product = r.json;
  r = await a.api.post(`/api/v1/products/${s.product.id}/access`);
  assert.equal(r.status, 202, r.body);
  const q = await reviewer.get('/api/v1/reviews');
  const req = q.json.open.find((x) => x.kind === 'access' && x.subject_id === s.product.id);
  r = await reviewer.post(`/api/v1/reviews/${req.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);
  // the second product's request is never decided
  r = await a.api.post('/api/v1/products', { name: `BedBoard ${process.pid}` });
  assert.equal(r.status, 201, r.body);
  s.waiting = r.json;
  r = await a.api.post(`/api/v1/products/${s.waiting.id}/access`);
  assert.equal(r.status, 202, r.body);
  assert.equal(r.json.due_date, '2026-01-12');
  s.uid = a.api.me.uid;
  const st = await server.stop({ keepDir: true });
  assert.equal(st.code, 0);
});

step('phase 2 (today): the same store, signed in again; no plan and no Live client yet', async () => {
  server = await startCareid({ dir: server.dir, extraArgs: ['--smtp-url', smtp.url] });
  s.team = new Browser(server.url);
  await portalSignIn(s.team, EMAIL, 'a long enough password');
  s.teamApi = await api(s.team);
  s.rev = new Browser(server.url);
  await portalSignIn(s.rev, REVIEWER, DEMO_PASSWORD);
  s.revApi = await api(s.rev);
  let r = await s.teamApi.get(`/api/v1/products/${s.waiting.id}/golive`);
  assert.equal(r.status, 403, r.body);
  assert.equal(r.json.error, 'cis2_not_granted');
  r = await s.teamApi.get(`/api/v1/products/${s.product.id}/golive`);
  assert.equal(r.status, 200, r.body);
  s.today = r.json.today;
  assert.match(s.today, /^\d{4}-\d{2}-\d{2}$/);
  assert.ok(s.today > PAST, 'the second server runs on the real date');
  assert.equal(r.json.sites_planned, 0);
  assert.equal(r.json.can_mark, false);
  assert.deepEqual(r.json.live_clients, []);
  assert.match(r.json.refusal, /once the product has a Live client/);
});

step('the plan: three rollout sites and its dates (some passed), a team comment on it', async () => {
  const t = s.today;
  s.plan = {
    dates: {
      testing_start: addDays(t, -100), testing_end: addDays(t, -60), conformance_start: addDays(t, -90), conformance_answers: addDays(t, -50),
      conformance_achieved: addDays(t, -30), first_site_live: addDays(t, -10), last_site_live: addDays(t, 60),
    },
    deployment_model: 'single_instance',
    sites: [
      { name: 'St Elsewhere General', ods_code: 'RXX01', planned_date: addDays(t, -10), users: 100, auths_per_day: 40, auths_peak_hour: 10 },
      { name: SITE_NAME, ods_code: 'RXX02', planned_date: t, users: 50, auths_per_day: 25, auths_peak_hour: 6 },
      { name: 'Northgate Clinic', ods_code: 'RXX03', planned_date: addDays(t, 30), users: 300, auths_per_day: 100, auths_peak_hour: 30 },
    ],
  };
  let p = await s.teamApi.put(`/api/v1/products/${s.product.id}/plan`, s.plan);
  assert.ok([200, 201].includes(p.status), p.body);
  p = await s.teamApi.post(`/api/v1/products/${s.product.id}/plan/comments`, { body: 'Can Northgate go earlier?', version: 1 });
  assert.ok([200, 201].includes(p.status), p.body);
  const r = await s.teamApi.get(`/api/v1/products/${s.product.id}/golive`);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.plan_version, 1, 'plan_current() reads the plan');
  assert.equal(r.json.sites_planned, 3);
  assert.deepEqual(r.json.sites.map((x) => [x.ods_code, x.planned_date, x.auths_per_day, x.live, x.overdue]),
    [['RXX01', addDays(t, -10), 40, false, true], ['RXX02', t, 25, false, false], ['RXX03', addDays(t, 30), 100, false, false]]);
  assert.equal(r.json.sites_due, 2);
  assert.equal(r.json.sites_overdue, 1);
});

step('no site can be marked live before the product has a Live client', async () => {
  let r = await s.teamApi.post(`/api/v1/products/${s.product.id}/golive/sites`, { ods_code: 'RXX02' });
  assert.equal(r.status, 409, r.body);
  assert.equal(r.json.error, 'no_live_client');
  assert.match(r.json.message, /A site can be marked live once the product has a Live client/);
  r = await s.team.get(`/onboarding/products/${s.product.id}/golive`);
  assert.equal(r.status, 200);
  assert.match(textOf(r.body), /A site can be marked live once the product has a Live client/);
  assert.ok(!r.forms.some((f) => f.action.endsWith('/golive')), 'no form to mark a site live');
  assert.match(r.body, /Ward &lt;b&gt;7&lt;&#x2F;b&gt; &amp; &quot;Annexe&quot;/, 'the site name is escaped');
  assert.equal((await sql(`SELECT COUNT(*) AS n FROM ob_sites_live`)).trim(), '0');
});

step('a Live client for the product (and one for nobody), and a Live user with an authenticator app', async () => {
  s.client = await registerClient(server, { env: 'live' });
  s.other = await registerClient(server, { env: 'live' });
  await sql(`INSERT INTO ob_env_clients (env, client_id, product_id, created_by, created_at) VALUES ('live', ${quote(s.client.clientId)}, ${quote(s.product.id)}, ${quote(s.uid)}, ${Math.floor(Date.now() / 1000)})`);
  let r = await server.cli('user add', ['--env', 'live', '--uid', LIVE_UID, '--given-name', 'Priya', '--family-name', 'Live'], { input: `${DEMO_PASSWORD}\n` });
  assert.equal(r.code, 0, describeCli(r));
  r = await server.cli(`user authenticators ${LIVE_UID}`, ['--env', 'live', '--add-totp', '--name', 'Phone']);
  assert.equal(r.code, 0, describeCli(r));
  s.secret = r.json.secret;
  r = await s.teamApi.get(`/api/v1/products/${s.product.id}/golive`);
  assert.deepEqual(r.json.live_clients, [s.client.clientId]);
  assert.equal(r.json.live_since, s.today);
  assert.equal(r.json.can_mark, true);
});

/** One sign-in in Live: password, then the app's code of `step`; the code exchanged by openid-client. */
async function signInLive(rp, codeStep) {
  const b = new Browser(server.url);
  const authz = await rp.authorizationUrl({ scope: 'openid', acr_values: 'AAL2_TOTP' });
  const si = await b.signIn(authz.url, { username: LIVE_UID, password: DEMO_PASSWORD });
  const trail = `${describePages(si.pages)}\n    last: ${describeRes(si.page)}`;
  assert.ok(si.page.form && si.page.form.inputs.some((i) => i.name === 'code'), `a code page after the password: ${trail}`);
  const res = await b.submit(si.page.form, { code: totpAt(s.secret, codeStep) });
  assert.ok([302, 303].includes(res.status), `the code signs in: ${describeRes(res)}`);
  const tokens = await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
  assert.equal(tokens.claims().sub, LIVE_UID);
}

step('a relying party signs in 2 times in Live through the product\'s client, once through another client', async () => {
  const rp = await rpForClient(server, s.client);
  const otherRp = await rpForClient(server, s.other);
  // three codes in a row: the previous, current and next time steps (one step of skew is
  // accepted, each step once); start early in a step so that the previous one stays valid
  while (Date.now() / 1000 % 30 > 20) await sleep(500);
  const now = currentStep();
  await signInLive(rp, now - 1);
  await signInLive(rp, now);
  await signInLive(otherRp, now + 1);
  s.signins = 2;
});

step('the dashboard: today\'s sign-ins against the plan\'s figure, in the API and as an accessible chart and table', async () => {
  const t = s.today;
  let r = await s.teamApi.get(`/api/v1/products/${s.product.id}/golive/dashboard`);
  assert.equal(r.status, 200, r.body);
  const d = r.json;
  assert.equal(d.from, addDays(t, -10), 'from the first planned site');
  assert.equal(d.to, addDays(t, 60), 'to the last site\'s planned date');
  assert.equal(d.capped, false);
  assert.equal(d.days.length, 71);
  const day = (date) => d.days.find((x) => x.date === date);
  assert.deepEqual(day(t), { date: t, planned: 65, actual: s.signins }, 'planned: 40 + 25; actual: the product\'s client only');
  assert.deepEqual(day(addDays(t, -10)), { date: addDays(t, -10), planned: 40, actual: 0 });
  assert.deepEqual(day(addDays(t, 30)), { date: addDays(t, 30), planned: 165, actual: null }, 'no actual figure for days to come');
  assert.equal(d.totals.actual_today, s.signins);
  assert.equal(d.totals.planned_today, 65);
  assert.equal(d.totals.planned_to_date, 40 * 10 + 65);
  assert.equal(d.totals.actual_to_date, s.signins);

  r = await s.team.get(`/onboarding/products/${s.product.id}/golive/dashboard`);
  assert.equal(r.status, 200, r.body);
  const row = r.body.match(new RegExp(`<tr class="nhsuk-table__row" id="day-${t}">([\\s\\S]*?)</tr>`));
  assert.ok(row, 'a table row for today');
  assert.deepEqual([...row[1].matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]), ['65', String(s.signins)]);
  assert.match(row[1], /\(today\)/);
  assert.match(r.body, /<svg[^>]* role="img" aria-labelledby="golive-chart-title golive-chart-desc"/);
  assert.match(r.body, /<desc id="golive-chart-desc">[^<]*Today: 2 actual against 65 planned\./);
  assert.match(r.body, /<caption class="nhsuk-table__caption">Sign-ins per day in Live/);
  assert.match(r.body, /Hatched bars: actual sign-ins/);
  // the chart comes first, then its table
  assert.ok(r.body.indexOf('id="golive-chart"') < r.body.indexOf('id="golive-days"'));
});

step('marking sites live: refusals (future, before the Live client, not a real date, not in the plan, twice, a reviewer), then once', async () => {
  const t = s.today;
  const base = `/api/v1/products/${s.product.id}/golive/sites`;
  const refused = async (body, status, error, field, pattern) => {
    const r = await s.teamApi.post(base, body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.body}`);
    assert.equal(r.json.error, error, r.body);
    assert.match(r.json.errors[field], pattern, r.body);
  };
  await refused({ ods_code: 'RXX02', live_on: addDays(t, 1) }, 400, 'invalid_site', 'live_on', /cannot be in the future/);
  await refused({ ods_code: 'RXX02', live_on: addDays(t, -1) }, 400, 'invalid_site', 'live_on', /before the product's first Live client was registered/);
  await refused({ ods_code: 'RXX02', live_on: '2026-02-30' }, 400, 'invalid_site', 'live_on', /as a real date/);
  await refused({ ods_code: 'NOPE1' }, 400, 'invalid_site', 'ods_code', /NOPE1 is not the ODS code of a rollout site in the journey plan \(version 1\)/);
  await refused({}, 400, 'invalid_site', 'ods_code', /Choose the site that went live/);
  let r = await s.teamApi.post(base, { ods_code: 'RXX02', live_on: 20261128 });
  assert.equal(r.status, 400, r.body);
  assert.equal(r.json.error, 'invalid_request');
  r = await s.revApi.post(base, { ods_code: 'RXX02' });
  assert.equal(r.status, 403, r.body);
  assert.match(r.json.message, /the CIS2 onboarding team can only view/);
  assert.equal((await sql(`SELECT COUNT(*) AS n FROM ob_sites_live`)).trim(), '0', 'nothing saved');

  r = await s.teamApi.post(base, { ods_code: 'RXX02' });
  assert.equal(r.status, 201, r.body);
  assert.equal(r.json.site.live_on, t, 'today by default');
  assert.equal(r.json.golive.sites_live, 1);
  await refused({ ods_code: 'RXX02', live_on: t }, 409, 'already_live', 'ods_code', /was marked live on .* already/);

  // through the page: a bad date keeps the choice and says why, then a good one
  let page = await s.team.get(`/onboarding/products/${s.product.id}/golive`);
  let form = page.forms.find((f) => f.action.endsWith('/golive'));
  assert.ok(form, 'the form to mark a site live');
  assert.ok(!form.inputs.some((i) => i.value === 'RXX02'), 'a live site is not offered again');
  r = await s.team.submit(form, { ods_code: 'RXX03', live_on: addDays(t, 2) });
  assert.equal(r.status, 400);
  assert.match(r.body, /<a href="#live_on">The date the site went live cannot be in the future/);
  assert.match(r.body, /id="live_on-error"/);
  form = r.forms.find((f) => f.action.endsWith('/golive'));
  r = await s.team.submit(form, { ods_code: 'RXX03', live_on: t });
  assert.equal(r.status, 303, describeRes(r));
  page = await s.team.get(r.location);
  assert.match(textOf(page.body), /Northgate Clinic \(RXX03\) is marked live from/);

  const events = (await sql(`SELECT actor || '|' || subject || '|' || detail AS line FROM audit_events WHERE action = 'site.live' ORDER BY seq`)).trim().split('\n');
  assert.equal(events.length, 2);
  assert.equal(events[0], `${s.uid}|product:${s.product.id}|${JSON.stringify({ live_on: t, name: SITE_NAME, ods_code: 'RXX02', plan_version: 1 })}`);
  r = await s.teamApi.get(`/api/v1/products/${s.product.id}/golive`);
  assert.deepEqual(r.json.sites.map((x) => [x.ods_code, x.live, x.live_on ?? null]), [['RXX01', false, null], ['RXX02', true, t], ['RXX03', true, t]]);
});

step('the CIS2 team\'s view: every product, its stage, an overdue review, a slipping plan, a comment to answer; nobody else', async () => {
  let r = await s.teamApi.get('/api/v1/cis2/products');
  assert.equal(r.status, 403, r.body);
  assert.match(r.json.message, /Only the CIS2 onboarding team/);
  r = await s.team.get('/onboarding/cis2');
  assert.equal(r.status, 403);
  assert.match(textOf(r.body), /Only the CIS2 onboarding team can see every product's progress/);

  r = await s.revApi.get('/api/v1/cis2/products');
  assert.equal(r.status, 200, r.body);
  const o = r.json;
  const p = o.products.find((x) => x.id === s.product.id);
  const w = o.products.find((x) => x.id === s.waiting.id);
  assert.ok(p && w, 'both products are listed');
  assert.equal(p.organisation, 'Golive Systems Ltd');
  assert.equal(p.team, 'Rollout team');
  assert.equal(p.stage.id, 'setup', 'the first task not completed');
  assert.equal(p.stage.title, 'Setup and eligibility');
  assert.equal(w.stage.id, 'access');
  assert.equal(w.stage.status_text, 'Requested');
  assert.equal(w.reviews.length, 1);
  assert.equal(w.reviews[0].kind, 'access');
  assert.equal(w.reviews[0].due_date, '2026-01-12');
  assert.equal(w.reviews[0].overdue, true);
  assert.equal(w.overdue_reviews, 1);
  assert.ok(o.counts.overdue_reviews >= 1);
  const milestones = p.slipping.map((x) => x.milestone);
  assert.ok(milestones.includes('conformance_achieved'), JSON.stringify(p.slipping));
  assert.ok(milestones.includes('site'), JSON.stringify(p.slipping));
  assert.ok(!milestones.includes('first_site_live'), 'a site is live');
  assert.ok(!milestones.includes('last_site_live'), 'the last site\'s date has not come');
  assert.match(p.slipping.find((x) => x.milestone === 'site').text, /St Elsewhere General \(RXX01\) was planned to go live on/);
  assert.equal(p.unanswered_comments, 1);
  assert.equal(w.has_plan, false);
  assert.deepEqual(w.slipping, []);

  r = await s.rev.get('/onboarding/cis2');
  assert.equal(r.status, 200);
  const row = (id) => r.body.match(new RegExp(`<tr class="nhsuk-table__row" id="product-${id}">([\\s\\S]*?)</tr>`))?.[1] || '';
  assert.match(row(s.waiting.id), /CIS2 Authentication request<\/a>, due 12 January 2026 <strong class="nhsuk-tag nhsuk-tag--red">Overdue<\/strong>/);
  assert.match(row(s.product.id), /Slipping/);
  assert.match(textOf(row(s.product.id)), /Technical conformance was planned by .* and is not achieved/);
  assert.ok(decodeEntities(row(s.product.id)).includes(`href="/onboarding/products/${s.product.id}"`), 'a link to the product');
  // reviewers open any product's pages, read only
  r = await s.rev.get(`/onboarding/products/${s.product.id}/golive/dashboard`);
  assert.equal(r.status, 200);
  r = await s.rev.get(`/onboarding/products/${s.product.id}/golive`);
  assert.equal(r.status, 200);
  assert.ok(!r.forms.some((f) => f.action.endsWith('/golive')), 'no form for a reviewer');
});

step('axe-core: the go-live page, the dashboard and the CIS2 view have no WCAG 2.2 A/AA violations', async () => {
  const b = await launch();
  try {
    const page = await b.ctx.newPage();
    const signIn = async (user, password) => {
      await page.goto(`${server.url}/onboarding/signin`);
      await page.fill('#username', user);
      await page.fill('#password', password);
      await Promise.all([page.waitForURL(`${server.url}/onboarding/**`), page.click('form:has(#password) button[type=submit]')]);
    };
    await signIn(EMAIL, 'a long enough password');
    await page.goto(`${server.url}/onboarding/products/${s.product.id}/golive`);
    await axeWcag(page, 'go-live page');
    await screenshot(page, 'onboarding-golive-sites.png');
    await page.goto(`${server.url}/onboarding/products/${s.product.id}/golive/dashboard`);
    assert.equal(await page.getAttribute('#golive-chart svg', 'role'), 'img');
    assert.match(await page.textContent(`#day-${s.today}`), /65\s*2/);
    await axeWcag(page, 'rollout dashboard');
    await screenshot(page, 'onboarding-golive-dashboard.png');
    await b.ctx.clearCookies();
    await signIn(REVIEWER, DEMO_PASSWORD);
    await page.goto(`${server.url}/onboarding/cis2`);
    assert.ok(await page.$(`#product-${s.waiting.id}`));
    await axeWcag(page, 'CIS2 team view');
    await screenshot(page, 'onboarding-golive-cis2.png');
  } finally {
    await b.close();
  }
});

step('a rollout longer than 120 days: the dashboard shows 120 of its days and says so; a live site the plan dropped', async () => {
  const t = s.today;
  // version 2: Northgate (live already) is no longer in the plan
  const plan = { ...s.plan, dates: { ...s.plan.dates, last_site_live: addDays(t, 200) }, sites: s.plan.sites.slice(0, 2) };
  let r = await s.teamApi.put(`/api/v1/products/${s.product.id}/plan`, { ...plan, base_version: 1 });
  assert.ok([200, 201].includes(r.status), r.body);
  r = await s.teamApi.get(`/api/v1/products/${s.product.id}/golive/dashboard`);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.capped, true);
  assert.equal(r.json.span, 211);
  assert.equal(r.json.days.length, 120);
  assert.equal(r.json.from, addDays(t, -10));
  assert.equal(r.json.to, addDays(t, 109));
  assert.deepEqual(r.json.days.find((x) => x.date === t), { date: t, planned: 65, actual: s.signins });
  r = await s.team.get(`/onboarding/products/${s.product.id}/golive/dashboard`);
  assert.match(textOf(r.body), /The rollout spans 211 days; the chart shows at most 120, from/);
  assert.match(r.body, /<desc id="golive-chart-desc">[^<]*Only 120 of the rollout&#39;s 211 days are shown\./);
  r = await s.teamApi.get(`/api/v1/products/${s.product.id}/golive`);
  assert.equal(r.json.plan_version, 2);
  assert.deepEqual(r.json.sites.map((x) => [x.ods_code, x.in_plan, x.live]), [['RXX01', true, false], ['RXX02', true, true], ['RXX03', false, true]]);
  assert.equal(r.json.sites_planned, 2);
  assert.equal(r.json.sites_live, 1);
  r = await s.teamApi.post(`/api/v1/products/${s.product.id}/golive/sites`, { ods_code: 'RXX03' });
  assert.equal(r.status, 400, 'only sites in the current plan');
  r = await s.team.get(`/onboarding/products/${s.product.id}/golive`);
  assert.match(textOf(r.body), /RXX03 \(no longer in the plan\)/);
});
