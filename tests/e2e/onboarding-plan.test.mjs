// The journey plan (issue 6, "Journey plan"): refused until CIS2 Authentication has been added;
// dates out of order and a plan with no sites each get a clear message and save nothing; a tight
// plan saves with the CIS2 team's warnings and advice drawn from the team's approved SAQ; every
// save is a new version, old versions are kept and read-only; the CIS2 onboarding team reads the
// plan, its checks and timeline and comments (the team is e-mailed through a real SMTP receiver),
// but cannot change it; the team's comments e-mail nobody; other organisations see nothing; audit
// events plan.saved and plan.commented. The same through the pages in Chromium, each checked with
// axe-core's WCAG 2.2 A/AA rules: the form with errors, a plan with warnings and its timeline
// (SVG with a text equivalent), an old version, the comments. The server's day is fixed
// (--review-date 2026-06-01). CAREID_SCREENSHOTS=1 saves docs/screenshots/onboarding-plan*.png.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { setupServer, sleep, DEMO_PASSWORD } from './lib/careid.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { newAccount, approvedSaq, approvedSaqWith, grantedProduct, REVIEWER } from './lib/portal.mjs';
import { decodeEntities } from './lib/browser.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';

let smtp;
const h = setupServer({
  extraArgs: ['--review-date', '2026-06-01'],
  async prepare(opts) {
    smtp = await startSmtp();
    opts.extraArgs.push('--smtp-url', smtp.url);
  },
});
after(async () => { await smtp?.stop(); });
const subjectOf = (m) => (m.headers?.subject || [])[0] || '';
/** The single value of a one-row, one-column query, as text. */
async function sqlValue(server, statement) {
  const rows = await server.sql(statement);
  assert.equal(rows.length, 1, `one row from ${statement}: ${JSON.stringify(rows)}`);
  return String(Object.values(rows[0])[0]);
}

// The team's SAQ: a CIS1 migration, smartcard-only users, national APIs, 12,000 sign-ins a day.
const SAQ = { cis1_migration: 'yes', authenticators: ['smartcard'], national_apis: ['pds', 'eps'], auths_per_day: '12000', auths_peak_hour: '3000' };

const SITES = [
  { name: 'Leeds General Infirmary', ods_code: 'rr8', planned_date: '2026-11-09', users: 400, auths_per_day: 1200, auths_peak_hour: 300 },
  { name: "St James's University Hospital", ods_code: 'RR801', planned_date: '2027-03-01', users: 600, auths_per_day: 1800, auths_peak_hour: 450 },
];
/** A plan the CIS2 team would query: every duration too short, live the day conformance is achieved. */
const TIGHT = {
  dates: {
    testing_start: '2026-11-02', testing_end: '2026-11-04', conformance_start: '2026-11-02', conformance_answers: '2026-11-05',
    conformance_achieved: '2026-11-09', first_site_live: '2026-11-09', last_site_live: '2027-03-01',
  },
  deployment_model: 'single_instance',
  sites: SITES,
};
/** The same plan with room for every step. */
const RELAXED = {
  dates: {
    testing_start: '2026-11-02', testing_end: '2026-11-27', conformance_start: '2026-11-16', conformance_answers: '2026-12-01',
    conformance_achieved: '2027-01-15', first_site_live: '2027-02-01', last_site_live: '2027-02-26',
  },
  deployment_model: 'single_instance',
  sites: [{ ...SITES[0], planned_date: '2027-02-01' }, { ...SITES[1], planned_date: '2027-02-26' }],
  rollout_notes: 'Leeds first, one ward at a time.\nThen St James\'s.',
};
const ORDER_MSG = 'The date testing ends must be on or after the date testing starts (2 November 2026)';
const NO_SITES_MSG = 'Add at least one rollout site, with its name, ODS code and the date it goes live';

async function team(server, who, ods, saq) {
  const a = await newAccount(server, smtp, { email: `plan.${who}+${process.pid}@supplier.example` });
  const reviewer = saq ? await approvedSaqWith(server, a, saq) : await approvedSaq(server, a);
  const r = await a.api.post('/api/v1/organisation', { ods_code: ods, name: `Plan ${who} Ltd`, team_name: `${who} team` });
  assert.equal(r.status, 201, r.body);
  return { a, reviewer };
}

h.test('plan API: errors save nothing, warnings and advice, versions kept, the CIS2 team comments and the team is e-mailed', async (t, server) => {
  const { a, reviewer } = await team(server, 'api', 'PL1', SAQ);
  const { a: other } = await team(server, 'other', 'PL2');

  // refused until CIS2 Authentication has been added
  let r = await a.api.post('/api/v1/products', { name: `Ungranted ${process.pid}` });
  assert.equal(r.status, 201, r.body);
  r = await a.api.put(`/api/v1/products/${r.json.id}/plan`, RELAXED);
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'cis2_not_granted');

  const product = await grantedProduct(a, reviewer, `WardPlan ${process.pid}`);
  const base = `/api/v1/products/${product.id}/plan`;
  r = await a.api.get(base);
  assert.equal(r.status, 404);
  assert.equal(r.json.error, 'no_plan');

  // dates out of order: a clear message by field, nothing saved
  r = await a.api.put(base, { ...TIGHT, dates: { ...TIGHT.dates, testing_end: '2026-10-30' } });
  assert.equal(r.status, 400, r.body);
  assert.equal(r.json.error, 'invalid_plan');
  assert.equal(r.json.message, 'The plan has errors; nothing was saved.');
  assert.deepEqual(r.json.errors, { 'dates.testing_end': ORDER_MSG });
  // a plan with no sites
  r = await a.api.put(base, { ...TIGHT, sites: [] });
  assert.equal(r.status, 400, r.body);
  assert.deepEqual(r.json.errors, { sites: NO_SITES_MSG });
  // site by site, each field with its message
  r = await a.api.put(base, { ...TIGHT, sites: [SITES[0], { ...SITES[1], ods_code: 'RR8', auths_peak_hour: 5000 }, { name: 'Otley', ods_code: 'R-1', planned_date: '2027-03-02' }] });
  assert.equal(r.status, 400, r.body);
  assert.deepEqual(r.json.errors, {
    'sites[1].ods_code': 'Site 2: ODS code RR8 is already used by site 1',
    'sites[1].auths_peak_hour': 'Site 2: the authentications at the peak hour cannot be more than the authentications per day (1,800)',
    'sites[2].ods_code': 'Site 3: the ODS code must be 3 to 10 letters or numbers, like RR8 or Y12345',
    'sites[2].planned_date': 'Site 3: the date the site goes live must be between the dates the first and last sites go live (9 November 2026 and 1 March 2027)',
    'sites[2].users': 'Site 3: enter the number of users',
    'sites[2].auths_per_day': 'Site 3: enter the expected authentications per day',
    'sites[2].auths_peak_hour': 'Site 3: enter the expected authentications at the peak hour',
  });
  r = await a.api.put(base, { ...TIGHT, sites: [{ ...SITES[0], planned_date: '2026-11-10' }, SITES[1]] });
  assert.equal(r.status, 400, r.body);
  assert.deepEqual(r.json.errors, { sites: 'No site goes live on the date the first site goes live (9 November 2026): plan your first site for that date, or change the date' });
  r = await a.api.put(base, 'not a plan');
  assert.equal(r.status, 400);
  assert.equal((await a.api.get(base)).status, 404, 'nothing was saved');
  assert.equal((await a.api.get(`${base}/versions`)).json.versions.length, 0);

  // a tight plan saves, with the CIS2 team's warnings and advice from the approved SAQ
  r = await a.api.put(base, TIGHT);
  assert.equal(r.status, 201, r.body);
  assert.equal(r.json.version, 1);
  assert.equal(r.json.plan.sites[0].ods_code, 'RR8', 'ODS codes upper-cased');
  assert.equal(r.json.checked_on, '2026-06-01');
  assert.deepEqual(r.json.warnings.map((w) => w.code), ['review_sla', 'testing_short', 'assurance_short', 'go_live_same_day', 'cis1_retirement']);
  assert.equal(r.json.warnings[1].message, 'Testing in INT usually takes 1 to 4 weeks (5 to 20 working days); the plan allows 3 working days, from 2 November 2026 to 4 November 2026');
  assert.equal(r.json.warnings[0].message, 'The CIS2 team takes up to 5 working days to review conformance answers: answers submitted on 5 November 2026 may not be reviewed until 12 November 2026, after the date you achieve conformance (9 November 2026)');
  assert.deepEqual(r.json.advice.map((x) => x.code), ['national_apis', 'cis1_migration', 'smartcard_only', 'volume_less', 'peak_less']);
  assert.match(r.json.advice[0].message, /Personal Demographics Service \(PDS\) and Electronic Prescription Service \(EPS\)\): they can only be tested in the INT environment/);
  assert.match(r.json.advice[1].message, /^Your product is migrating from CIS1: technical conformance must be shown in INT with an authenticator other than a smartcard/);
  // the timeline's facts
  assert.equal(r.json.timeline.review_due, '2026-11-12');
  assert.deepEqual(r.json.timeline.critical_path.first_site.steps.map((s) => s.id),
    ['testing_start', 'conformance_start', 'conformance_answers', 'review_due', 'conformance_achieved', 'first_site_live']);
  assert.deepEqual(r.json.timeline.windows.map((w) => [w.id, w.from, w.to]),
    [['testing', '2026-11-02', '2026-11-04'], ['assurance', '2026-11-02', '2026-11-09'], ['review', '2026-11-05', '2026-11-12'], ['rollout', '2026-11-09', '2027-03-01']]);
  assert.equal(r.json.events.at(-1).text, 'Last site live');

  // a second version; the first is kept, read-only, with its own checks
  r = await a.api.put(base, { ...RELAXED, base_version: 1 });
  assert.equal(r.status, 201, r.body);
  assert.equal(r.json.version, 2);
  assert.deepEqual(r.json.warnings, [], 'the relaxed plan leaves the published durations');
  assert.equal(r.json.plan.rollout_notes, RELAXED.rollout_notes);
  r = await a.api.put(base, { ...RELAXED, base_version: 1 });
  assert.equal(r.status, 409, 'a change made from version 1 would undo version 2');
  assert.equal(r.json.error, 'plan_changed');
  r = await a.api.get(`${base}/versions`);
  assert.deepEqual(r.json.versions.map((v) => [v.version, v.created_by]), [[2, 'Test Developer'], [1, 'Test Developer']]);
  r = await a.api.get(`${base}/versions/1`);
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(r.json.plan.dates, TIGHT.dates);
  assert.equal(r.json.warnings.length, 5);
  assert.equal((await a.api.get(`${base}/versions/3`)).status, 404);
  assert.equal((await a.api.get(`${base}/versions/x`)).status, 404);
  assert.equal((await a.api.get(base)).json.version, 2);

  // another organisation never sees it
  assert.equal((await other.api.get(base)).status, 404);
  assert.equal((await other.api.post(`${base}/comments`, { body: 'Hello' })).status, 404);

  // the CIS2 team reads it but cannot change it
  r = await reviewer.get(base);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.version, 2);
  r = await reviewer.put(base, TIGHT);
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'read_only');
  assert.equal((await a.api.get(`${base}/versions`)).json.versions.length, 2);

  // comments: bad input, then the CIS2 team's (e-mailed to the team) and the team's (to nobody)
  r = await reviewer.post(`${base}/comments`, { body: '   ' });
  assert.equal(r.status, 400);
  assert.equal(r.json.message, 'Enter your comment');
  r = await reviewer.post(`${base}/comments`, { body: 'x'.repeat(2001) });
  assert.equal(r.json.message, 'Your comment must be 2,000 characters or fewer');
  r = await reviewer.post(`${base}/comments`, { body: 'Why so little testing?', version: 9 });
  assert.equal(r.status, 404);
  const cis2Text = `Testing in version 1 looks too short: two days cannot cover the national APIs (${process.pid}).`;
  r = await reviewer.post(`${base}/comments`, { body: cis2Text, version: 1 });
  assert.equal(r.status, 201, r.body);
  assert.equal(r.json.version, 1);
  assert.equal(r.json.by, 'cis2');
  const mail = await smtp.waitFor((m) => m.rcpt_tos.includes(a.email) && /The CIS2 team commented on your plan/.test(subjectOf(m)), 'comment e-mail');
  assert.ok(mail.body.includes(cis2Text), mail.body);
  assert.ok(mail.body.includes(`/onboarding/products/${product.id}/plan`), 'the e-mail links to the plan');
  const teamText = `Version 2 gives testing four weeks (${process.pid}).`;
  r = await a.api.post(`${base}/comments`, { body: teamText });
  assert.equal(r.status, 201, r.body);
  assert.equal(r.json.version, 2, 'a comment without a version is on the newest');
  assert.equal(r.json.by, 'team');
  r = await reviewer.post(`${base}/comments`, { body: `Thanks (${process.pid}).` });
  assert.equal(r.status, 201, r.body);
  await smtp.waitFor((m) => m.rcpt_tos.includes(a.email) && m.body.includes(`Thanks (${process.pid}).`), 'second comment e-mail');
  assert.ok(!(await smtp.messages()).some((m) => (m.body || '').includes(teamText)), "the team's own comment e-mails nobody");
  r = await reviewer.get(`${base}/comments`);
  assert.deepEqual(r.json.comments.map((c) => [c.version, c.by, c.body]),
    [[2, 'cis2', `Thanks (${process.pid}).`], [2, 'team', teamText], [1, 'cis2', cis2Text]], 'newest first, each on its version');

  // audit: one event per version and per comment
  assert.equal(await sqlValue(server, `SELECT COUNT(*) AS n FROM audit_events WHERE action = 'plan.saved' AND subject = 'product:${product.id}'`), '2');
  assert.equal(await sqlValue(server, `SELECT COUNT(*) AS n FROM audit_events WHERE action = 'plan.commented' AND subject = 'product:${product.id}'`), '3');
});

async function signIn(page, base, username, password) {
  await page.goto(`${base}/onboarding/signin`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/onboarding/**`), page.click('button[type=submit]')]);
}

async function fillSite(page, n, s) {
  await page.fill(`#site_${n}_name`, s.name);
  await page.fill(`#site_${n}_ods_code`, s.ods_code);
  await page.fill(`#site_${n}_planned_date`, s.planned_date);
  await page.fill(`#site_${n}_users`, String(s.users));
  await page.fill(`#site_${n}_auths_per_day`, String(s.auths_per_day));
  await page.fill(`#site_${n}_auths_peak_hour`, String(s.auths_peak_hour));
}

h.test('plan pages: the form with errors, warnings and the timeline, an old version, comments by both teams; WCAG 2.2 A/AA', { timeout: 240000 }, async (t, server) => {
  const { a, reviewer } = await team(server, 'pages', 'PL3', SAQ);
  const product = await grantedProduct(a, reviewer, `ClinicPlan ${process.pid}`);
  const api = `/api/v1/products/${product.id}/plan`;
  let r;
  const b = await launch();
  try {
    const page = await b.ctx.newPage();
    const base = server.url;
    const planUrl = `${base}/onboarding/products/${product.id}/plan`;
    await signIn(page, base, a.email, a.password);

    await page.goto(planUrl);
    await axeWcag(page, 'plan, none yet');
    await Promise.all([page.waitForURL(`${planUrl}/edit`), page.click('a[href$="/plan/edit"]')]);
    await axeWcag(page, 'plan form');
    assert.equal(await page.isChecked('#deployment_model'), true, "the SAQ's deployment model is the first plan's");

    // dates out of order: the message, the typed values kept, nothing saved
    for (const [id, v] of Object.entries({ ...TIGHT.dates, testing_end: '2026-10-30' })) await page.fill(`#${id}`, v);
    await fillSite(page, 1, SITES[0]);
    await page.click('button[value=save]');
    await page.waitForSelector('.nhsuk-error-summary');
    assert.equal(decodeEntities((await page.textContent('.nhsuk-error-summary a')).trim()), ORDER_MSG);
    assert.ok(await page.$('.nhsuk-error-summary a[href="#testing_end"]'), 'linked to the field');
    assert.match(await page.textContent('#testing_end-error'), /must be on or after the date testing starts/);
    assert.equal(await page.inputValue('#testing_end'), '2026-10-30');
    assert.equal(await page.inputValue('#site_1_ods_code'), 'rr8');
    await axeWcag(page, 'plan form with errors');
    await screenshot(page, 'onboarding-plan-errors.png');
    assert.equal((await a.api.get(api)).status, 404, 'nothing saved');

    // a plan with no sites
    await page.fill('#testing_end', TIGHT.dates.testing_end);
    for (const f of ['name', 'ods_code', 'planned_date', 'users', 'auths_per_day', 'auths_peak_hour']) await page.fill(`#site_1_${f}`, '');
    await page.click('button[value=save]');
    await page.waitForSelector('.nhsuk-error-summary');
    assert.equal(decodeEntities((await page.textContent('.nhsuk-error-summary a')).trim()), NO_SITES_MSG);
    assert.match(await page.textContent('#sites-error'), /Add at least one rollout site/);
    assert.equal((await a.api.get(api)).status, 404, 'nothing saved');

    // add another site (saves nothing), then the tight plan
    await fillSite(page, 1, SITES[0]);
    await page.click('button[value=add_site]');
    await page.waitForSelector('#site_2_name');
    assert.equal(await page.inputValue('#site_1_name'), SITES[0].name, 'the first site is kept');
    assert.equal((await a.api.get(api)).status, 404, 'adding a row saves nothing');
    await fillSite(page, 2, { ...SITES[1], users: '600', auths_per_day: '1,800' });
    await Promise.all([page.waitForURL(`${planUrl}?saved=1`), page.click('button[value=save]')]);
    assert.match(await page.textContent('#notice'), /Version 1 of the plan has been saved/);
    const warnings = await page.textContent('#warnings');
    assert.match(warnings, /Testing in INT usually takes 1 to 4 weeks \(5 to 20 working days\); the plan allows 3 working days/);
    assert.match(warnings, /takes up to 5 working days to review conformance answers/);
    assert.match(warnings, /CIS1 retires at the end of February 2027/);
    assert.match(await page.textContent('#advice'), /can only be tested in the INT environment/);
    // the timeline: an SVG named by its title and description, and the same facts as text
    const svg = await page.$('#timeline-picture svg[role=img]');
    assert.ok(svg, 'an inline SVG with role img');
    assert.equal(await svg.getAttribute('aria-labelledby'), 'timeline-title timeline-desc');
    assert.match(await page.textContent('#timeline-title'), new RegExp(`ClinicPlan ${process.pid}, version 1`));
    assert.ok((await page.$$('#timeline-picture polygon')).length === 7, 'a diamond per milestone');
    const rows = await page.$$eval('#timeline-events tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim()).join(' ')));
    assert.equal(rows[0], '2 November 2026 Testing in INT starts (critical path)');
    assert.ok(rows.includes("1 March 2027 Site goes live: St James's University Hospital (RR801)"), rows.join('\n'));
    assert.match(await page.textContent('#critical-first'), /Critical path to the first site \(\d+ working days\): Testing in INT starts \(2 November 2026\), then/);
    await axeWcag(page, 'plan with warnings and its timeline');
    await screenshot(page, 'onboarding-plan.png');
    r = await page.request.get(`${planUrl}/timeline.svg`);
    assert.equal(r.status(), 200);
    assert.match(r.headers()['content-type'], /^image\/svg\+xml/);
    assert.match(await r.text(), /<title id="timeline-title">Timeline of the journey plan for ClinicPlan \d+, version 1<\/title>/);

    // a second version through the form; the first stays readable
    await page.click('a[href$="/plan/edit"]');
    await page.waitForSelector('#testing_end');
    assert.equal(await page.inputValue('#site_2_auths_per_day'), '1800', 'the form reads the newest version');
    await page.fill('#testing_end', '2026-11-06');
    await Promise.all([page.waitForURL(`${planUrl}?saved=2`), page.click('button[value=save]')]);
    assert.match(await page.textContent('#plan-versions'), /Version 2 \(current\)/);
    await Promise.all([page.waitForURL(`${planUrl}/versions/1`), page.click('#plan-versions a[href$="/versions/1"]')]);
    assert.match(await page.textContent('#old-version'), /no longer the current plan/);
    assert.equal(await page.$('a[href$="/plan/edit"]'), null, 'an old version cannot be changed');
    assert.match(await page.textContent('#plan-dates'), /4 November 2026/);
    await axeWcag(page, 'an old version of the plan');
    r = await a.api.get(`${api}/versions`);
    assert.deepEqual(r.json.versions.map((v) => v.version), [2, 1]);

    // a form saved from a stale version is refused, the changes kept
    r = await a.browser.post(`/onboarding/products/${product.id}/plan/edit`, {
      csrf: a.api.me.csrf_token, base_version: '1', action: 'save', ...RELAXED.dates, deployment_model: 'single_instance',
      site_1_name: 'Leeds', site_1_ods_code: 'RR8', site_1_planned_date: '2027-02-01', site_1_users: '1', site_1_auths_per_day: '1', site_1_auths_peak_hour: '1',
    });
    assert.equal(r.status, 409);
    assert.match(decodeEntities(r.body), /Someone saved version 2 of the plan while you were changing it/);
    assert.equal((await a.api.get(`${api}/versions`)).json.versions.length, 2);

    // the CIS2 team: reads, comments (an empty comment first), cannot change
    const rctx = await launch();
    try {
      const rp = await rctx.ctx.newPage();
      await signIn(rp, base, REVIEWER, DEMO_PASSWORD);
      await rp.goto(planUrl);
      assert.match(await rp.textContent('main'), /you can comment on it, but only the product's team can change it/);
      assert.equal(await rp.$('a[href$="/plan/edit"]'), null, 'no way to change it');
      await rp.click('form[action$="/plan/comments"] button[type=submit]');
      await rp.waitForSelector('.nhsuk-error-summary');
      assert.match(await rp.textContent('#comment-error'), /Enter your comment/);
      await axeWcag(rp, 'plan comment with an error');
      const text = `Version 2 still tests for under two weeks (${process.pid}).\nPlease allow for the national APIs.`;
      await rp.fill('#comment', text);
      await Promise.all([rp.waitForURL(`${planUrl}?commented=1#comments`), rp.click('form[action$="/plan/comments"] button[type=submit]')]);
      assert.match(await rp.textContent('#comment-list'), /CIS2 onboarding team\) on version 2/);
      assert.match(await rp.textContent('#comment-list'), /Please allow for the national APIs\./);
      await axeWcag(rp, 'plan comments');
      r = await rp.request.get(`${planUrl}/edit`);
      assert.equal(r.status(), 403);
      const mail = await smtp.waitFor((m) => m.rcpt_tos.includes(a.email) && (m.body || '').includes(`under two weeks (${process.pid})`), 'comment e-mail');
      assert.match(subjectOf(mail), /The CIS2 team commented on your plan for ClinicPlan/);
    } finally {
      await rctx.close();
    }

    // the team answers on its page; it shows newest first
    await page.goto(planUrl);
    await page.fill('#comment', `We will extend testing (${process.pid}).`);
    await Promise.all([page.waitForURL(`${planUrl}?commented=1#comments`), page.click('form[action$="/plan/comments"] button[type=submit]')]);
    const comments = await page.$$eval('#comment-list li', (lis) => lis.map((li) => li.textContent.replace(/\s+/g, ' ').trim()));
    assert.equal(comments.length, 2);
    assert.match(comments[0], /We will extend testing/);
    assert.match(comments[1], /CIS2 onboarding team/);
    await axeWcag(page, 'plan comments (team)');
    await screenshot(page, 'onboarding-plan-comments.png');
    await sleep(300);
    assert.ok(!(await smtp.messages()).some((m) => (m.body || '').includes(`We will extend testing (${process.pid})`)), 'the team is not e-mailed its own comment');
  } finally {
    await b.close();
  }
});
