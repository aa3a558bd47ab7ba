// The 'Non-functional requirements' stage of a product (4 sections: data and information security,
// clinical risk management, service and incident management, medical device status) and the
// Connection Agreement. The stage can be drafted as soon as CIS2 Authentication has been added,
// but is submitted only once 'Setup and eligibility' has been approved; it is reviewed like the
// first stage (more information by section, resubmission, approval), with e-mails to the team
// (real SMTP receiver). The agreement is refused to a member who is not an owner and before
// technical conformance is achieved, with exact messages. The pages run in Chromium with
// axe-core's WCAG 2.2 A/AA rules: the task list (blocked and open), a section with errors, a
// submitted stage, the review page and the agreement. CAREID_SCREENSHOTS=1 saves
// docs/screenshots/onboarding-nfr*.png.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after } from 'node:test';
import { setupServer, BACKEND, DEMO_PASSWORD } from './lib/careid.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { newAccount, approvedSaq, REVIEWER } from './lib/portal.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';
import { decodeEntities } from './lib/browser.mjs';
import { SETUP, NFR, approvedStage } from './lib/stages.mjs';

let smtp;
const h = setupServer({
  extraArgs: [],
  async prepare(opts) {
    smtp = await startSmtp();
    opts.extraArgs.push('--smtp-url', smtp.url);
  },
});
after(async () => { await smtp?.stop(); });
const pid = process.pid;
const subjectOf = (m) => (m.headers?.subject || [])[0] || '';
const mailTo = (email, subject, body = /./) => smtp.waitFor(
  (m) => m.rcpt_tos.includes(email.toLowerCase()) && subject.test(subjectOf(m)) && body.test(m.body || ''), `${subject.source} to ${email}`);

const BLOCKED = 'The Setup and eligibility stage must be approved before you submit the Non-functional requirements stage. You can save your answers as a draft until then.';
const CONFORMANCE_FIRST = 'The Connection Agreement can be accepted once technical conformance is achieved: the CIS2 team confirms it from your product\'s tests in the integration (INT) environment.';
const notOwner = (team) => `Only an owner of your team can accept the Connection Agreement. Ask an owner of ${team} to accept it.`;
const SECTIONS = ['information_security', 'clinical_risk', 'service_management', 'medical_device'];
const TITLES = ['Data and information security', 'Clinical risk management process', 'Service and incident management', 'Medical device status'];

/** An organisation and team for `account`. */
async function organisation(account, ods, name) {
  const r = await account.api.post('/api/v1/organisation', { ods_code: ods, name, team_name: `${name} team` });
  assert.equal(r.status, 201, r.body);
  return `${name} team`;
}

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

/** The product's 'Setup and eligibility' stage submitted through the API and approved. */
const approvedSetup = (account, reviewer, product) => approvedStage(account, reviewer, product, 'setup', SETUP);

/** Runs SQL on the test's store (rows as objects; server.sql, either store backend). */
const sql = (server, query) => server.sql(query);

const openReviews = async (reviewer, stageId) =>
  (await reviewer.get('/api/v1/reviews')).json.open.filter((x) => x.kind === 'stage' && x.subject_id === stageId);

h.test('non-functional requirements: drafted early, submitted once Setup and eligibility is approved, more information, resubmission, approval; e-mails', async () => {
  const a = await newAccount(h.server, smtp, { email: `nfr.a+${pid}@supplier.example` });
  const b = await newAccount(h.server, smtp, { email: `nfr.b+${pid}@other.example` });
  const reviewer = await approvedSaq(h.server, a);
  await approvedSaq(h.server, b);
  await organisation(a, 'NF1', 'Assured Systems Ltd');
  await organisation(b, 'NF2', 'Other Assured Ltd');

  // like every stage: CIS2 Authentication first
  let r = await a.api.post('/api/v1/products', { name: `Waiting ${pid}` });
  assert.equal(r.status, 201, r.body);
  r = await a.api.get(`/api/v1/products/${r.json.id}/non-functional`);
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'cis2_not_granted');

  const product = await grantedProduct(a, reviewer, `WardView ${pid}`);
  const base = `/api/v1/products/${product.id}/non-functional`;

  // not started; its sections, in order; not submittable yet, and why
  r = await a.api.get(base);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.stage, 'non_functional');
  assert.equal(r.json.title, 'Non-functional requirements');
  assert.equal(r.json.state, 'not_started');
  assert.deepEqual(r.json.sections.map((s) => [s.id, s.title, s.status]),
    SECTIONS.map((id, i) => [id, TITLES[i], 'not_started']));
  assert.equal(r.json.can_submit, false);
  assert.equal(r.json.blocked, BLOCKED);

  // another organisation never reaches it
  r = await b.api.get(base);
  assert.equal(r.status, 404);
  r = await b.api.put(`${base}/clinical_risk`, { answers: NFR.clinical_risk });
  assert.equal(r.status, 404);

  // drafts, one section at a time, before the use case is approved
  r = await a.api.put(`${base}/information_security`, { answers: NFR.information_security });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.state, 'draft');
  const stageId = r.json.id;
  r = await a.api.put(`${base}/clinical_risk`, { answers: { cso_name: 'Dr Sam Patel', dspt_ods_code: 'ignored: not of this section' } });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.answers.dspt_ods_code, '8JK22', 'the other section is kept');
  assert.deepEqual(r.json.sections.map((s) => s.status), ['completed', 'in_progress', 'not_started', 'not_started']);

  // a malformed draft from the API: nothing saved, every problem named
  r = await a.api.put(`${base}/service_management`, {
    answers: { ...NFR.service_management, major_incident_phone: 'call us', availability_target: '100', major_incident_email: 'nobody' },
  });
  assert.equal(r.status, 400, r.body);
  assert.equal(r.json.errors.major_incident_phone, 'Major incident phone number must be a UK or international number, like 0300 123 4567');
  assert.ok(r.json.errors.availability_target, r.body);
  assert.ok(r.json.errors.major_incident_email, r.body);
  r = await a.api.put(`${base}/nosuch`, { answers: {} });
  assert.equal(r.status, 404);
  r = await a.api.put(`${base}/setup`, { answers: {} });
  assert.equal(r.status, 404, 'the other stage\'s name is not a section');
  r = await a.api.get(base);
  assert.equal(r.json.answers.major_incident_phone, undefined, 'nothing saved');

  for (const section of SECTIONS.slice(1)) {
    r = await a.api.put(`${base}/${section}`, { answers: NFR[section] });
    assert.equal(r.status, 200, r.body);
  }
  assert.deepEqual(r.json.sections.map((s) => s.status), ['completed', 'completed', 'completed', 'completed']);

  // complete, but Setup and eligibility is not approved: refused, nothing filed
  r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 403, r.body);
  assert.equal(r.json.error, 'prerequisite_not_approved');
  assert.equal(r.json.message, BLOCKED);
  r = await a.browser.post(`/onboarding/products/${product.id}/non-functional`, { csrf: a.api.me.csrf_token, action: 'submit' });
  assert.equal(r.status, 403);
  assert.ok(decodeEntities(r.body).includes(BLOCKED), 'the page says why');
  assert.ok(decodeEntities(r.body).includes(`href="/onboarding/products/${product.id}/setup"`), 'and links to the stage it waits for');
  assert.equal((await a.api.get(base)).json.state, 'draft');
  assert.equal((await openReviews(reviewer, stageId)).length, 0, 'nothing filed');

  await approvedSetup(a, reviewer, product);
  r = await a.api.get(base);
  assert.equal(r.json.can_submit, true);
  assert.equal(r.json.blocked, null);

  // the checklist of service management must be ticked
  r = await a.api.put(`${base}/service_management`, { answers: { ...NFR.service_management, confirm_change_notice: undefined, confirm_incident_reporting: undefined } });
  assert.equal(r.status, 200, r.body);
  r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 422, r.body);
  assert.deepEqual(Object.keys(r.json.errors).sort(), ['confirm_change_notice', 'confirm_incident_reporting']);

  // submitted: a due date, the team told
  r = await a.api.put(`${base}/service_management`, { answers: NFR.service_management });
  assert.equal(r.status, 200, r.body);
  r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 200, r.body);
  const due = r.json.due_date;
  assert.match(due, /^\d{4}-\d{2}-\d{2}$/);
  assert.equal(r.json.stage.state, 'submitted');
  const sent = await mailTo(a.email, /^Non-functional requirements submitted for review$/);
  assert.ok(sent.body.includes(due), 'the e-mail gives the due date');
  assert.ok(sent.body.includes(`/onboarding/products/${product.id}/non-functional`), 'and links to the stage');
  assert.match(sent.body, /submitted the Non-functional requirements stage of WardView/);
  r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 409);

  // the queue names the stage and the product
  let reviews = await openReviews(reviewer, stageId);
  assert.equal(reviews.length, 1);
  assert.equal(reviews[0].kind_label, 'Non-functional requirements');
  assert.equal(reviews[0].stage, 'non_functional');
  assert.equal(reviews[0].product.name, product.name);
  r = await reviewer.get(`/api/v1/reviews/${reviews[0].id}`);
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(r.json.summary.map((s) => s.title), TITLES, 'the reviewer reads the answers by section');
  assert.equal(r.json.answers.cso_name, 'Dr Sam Patel');

  // more information on the clinical risk management process
  const ask = 'Send the hazard log entries for role selection.';
  r = await reviewer.post(`/api/v1/reviews/${reviews[0].id}/decision`, { decision: 'more_info', comments: { clinical_risk: ask } });
  assert.equal(r.status, 200, r.body);
  r = await a.api.get(base);
  assert.equal(r.json.state, 'more_info');
  assert.equal(r.json.review.comments.clinical_risk, ask);
  const more = await mailTo(a.email, /^More information needed: Non-functional requirements$/);
  assert.match(more.body, /Clinical risk management process:\s*\nSend the hazard log entries for role selection\./);
  assert.ok(more.body.includes(`/onboarding/products/${product.id}/non-functional`));

  // resubmitted: a new review with the new answers
  r = await a.api.put(`${base}/clinical_risk`, { answers: { ...NFR.clinical_risk, safety_case_version: '2.2' } });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.answers.dspt_ods_code, '8JK22', 'nothing lost');
  r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 200, r.body);
  reviews = await openReviews(reviewer, stageId);
  assert.equal(reviews.length, 1);
  assert.equal(reviews[0].submission, 2);
  r = await reviewer.get(`/api/v1/reviews/${reviews[0].id}`);
  assert.equal(r.json.answers.safety_case_version, '2.2');

  // approved
  r = await reviewer.post(`/api/v1/reviews/${reviews[0].id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);
  assert.equal((await a.api.get(base)).json.state, 'approved');
  await mailTo(a.email, /^Decision on your Non-functional requirements stage$/, /has been approved/);
  r = await a.api.put(`${base}/medical_device`, { answers: NFR.medical_device });
  assert.equal(r.status, 409, 'an approved stage is not changed');
  assert.equal((await a.api.get(`/api/v1/products/${product.id}/setup`)).json.state, 'approved', 'the other stage is untouched');
});

h.test('Connection Agreement: the text, refused to a member who is not an owner and before technical conformance, exact messages', async () => {
  const owner = await newAccount(h.server, smtp, { given: 'Alex', family: 'Owner', email: `agr.owner+${pid}@supplier.example` });
  const member = await newAccount(h.server, smtp, { given: 'Mo', family: 'Member', email: `agr.member+${pid}@supplier.example` });
  const outsider = await newAccount(h.server, smtp, { email: `agr.out+${pid}@other.example` });
  const reviewer = await approvedSaq(h.server, owner);
  await approvedSaq(h.server, member);
  await approvedSaq(h.server, outsider);
  const team = await organisation(owner, 'AG1', 'Agreeable Systems Ltd');
  await organisation(outsider, 'AG2', 'Outside Ltd');
  let r = await owner.api.post('/api/v1/invitations', { email: member.email, role: 'member' });
  assert.ok(r.status === 201 || r.status === 202, r.body);
  const inv = await mailTo(member.email, /invited to join a team/);
  const token = new URL(inv.body.match(/https?:\/\/\S+\/onboarding\/invite\?token=[A-Za-z0-9_-]+/)[0]).searchParams.get('token');
  r = await member.api.post('/api/v1/invitations/accept', { token });
  assert.equal(r.status, 200, r.body);

  const product = await grantedProduct(owner, reviewer, `Agreeable ${pid}`);
  const api = `/api/v1/products/${product.id}/agreement`;

  // the text, and why it cannot be accepted yet
  r = await owner.api.get(api);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.agreement.version, 1);
  assert.equal(r.json.agreement.title, 'CIS2 Authentication Connection Agreement');
  assert.match(r.json.agreement.notice, /careid's sample text/);
  assert.match(r.json.agreement.notice, /not NHS England's Connection Agreement/);
  assert.deepEqual(r.json.agreement.clauses.map((c) => c.heading).slice(0, 6),
    ['Conditions of use', 'Protecting credentials and keys', 'Security incident reporting', 'Change notification', 'Clinical safety', 'Audit']);
  assert.equal(r.json.accepted, false);
  assert.equal(r.json.owner, true);
  assert.equal(r.json.conformance_achieved, false);
  assert.equal(r.json.can_accept, false);
  assert.equal(r.json.refusal, 'conformance_not_achieved');

  // the owner, before technical conformance is achieved
  r = await owner.api.post(api, { accept: true, full_name: 'Alex Owner' });
  assert.equal(r.status, 403, r.body);
  assert.equal(r.json.error, 'conformance_not_achieved');
  assert.equal(r.json.message, CONFORMANCE_FIRST);
  r = await owner.browser.post(`/onboarding/products/${product.id}/agreement`, { csrf: owner.api.me.csrf_token, accept: 'yes', full_name: 'Alex Owner' });
  assert.equal(r.status, 403);
  assert.ok(decodeEntities(r.body).includes(CONFORMANCE_FIRST), r.body);

  // a member of the team who is not an owner
  r = await member.api.get(api);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.owner, false);
  assert.equal(r.json.refusal, 'not_owner');
  r = await member.api.post(api, { accept: true, full_name: 'Mo Member' });
  assert.equal(r.status, 403, r.body);
  assert.equal(r.json.error, 'not_owner');
  assert.equal(r.json.message, notOwner(team));

  // the CIS2 team sees whether it was accepted, and cannot accept it
  r = await reviewer.get(api);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.accepted, false);
  assert.equal(r.json.acceptance, undefined);
  r = await reviewer.post(api, { accept: true, full_name: 'Reviewer' });
  assert.equal(r.status, 403, r.body);
  assert.equal(r.json.error, 'not_in_team');

  // another organisation never reaches it
  r = await outsider.api.get(api);
  assert.equal(r.status, 404);
  r = await outsider.api.post(api, { accept: true, full_name: 'Out Sider' });
  assert.equal(r.status, 404);

  // nothing was recorded
  r = await owner.api.get(api);
  assert.equal(r.json.accepted, false);
});

async function signIn(page, base, username, password) {
  await page.goto(`${base}/onboarding/signin`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/onboarding/**`), page.click('form:has(#password) button[type=submit]')]);
}

h.test('non-functional requirements pages: blocked task list, a section with errors, submission, the review page, the agreement; WCAG 2.2 A/AA', { timeout: 240000 }, async (t, server) => {
  const a = await newAccount(server, smtp, { given: 'Pat', family: 'Pages', email: `nfr.pages+${pid}@supplier.example` });
  const reviewer = await approvedSaq(server, a);
  await organisation(a, 'NF3', 'Page Assured Ltd');
  const early = await grantedProduct(a, reviewer, `EarlyBird ${pid}`);
  const product = await grantedProduct(a, reviewer, `ClinicBoard ${pid}`);
  await approvedSetup(a, reviewer, product);
  const api = `/api/v1/products/${product.id}/non-functional`;
  let r = await a.api.put(`${api}/information_security`, { answers: NFR.information_security });
  assert.equal(r.status, 200, r.body);

  const applicant = await launch();
  const rev = await launch();
  try {
    const page = await applicant.ctx.newPage();
    const rpage = await rev.ctx.newPage();
    const base = server.url;
    await signIn(page, base, a.email, a.password);

    // a product whose use case is not approved yet: drafting is open, submitting is not
    await page.goto(`${base}/onboarding/products/${early.id}/non-functional`);
    assert.match(await page.textContent('h1'), /Non-functional requirements/);
    assert.match(await page.textContent('#stage-blocked'), /The Setup and eligibility stage must be approved before you submit/);
    assert.equal(await page.$('button[value=submit]'), null, 'no submit button while blocked');
    await axeWcag(page, 'NFR task list, blocked');

    // from the product's journey task list
    const list = `${base}/onboarding/products/${product.id}/non-functional`;
    await page.goto(`${base}/onboarding/products/${product.id}`);
    await Promise.all([page.waitForURL(list), page.click(`a[href="/onboarding/products/${product.id}/non-functional"]`)]);
    await axeWcag(page, 'NFR task list');
    await screenshot(page, 'onboarding-nfr.png');
    assert.match(await page.textContent('#status-information_security'), /Completed/);
    assert.match(await page.textContent('#status-clinical_risk'), /Not started/);
    assert.equal(await page.$('#stage-blocked'), null);

    // clinical risk through its form: a bad e-mail address is kept and explained
    await page.click(`#stage-sections a[href="/onboarding/products/${product.id}/non-functional/clinical_risk"]`);
    await page.waitForURL(`${list}/clinical_risk`);
    assert.match(await page.textContent('h1'), /Non-functional requirements/);
    const c = NFR.clinical_risk;
    await page.fill('#q-cso_name', c.cso_name);
    await page.fill('#q-cso_registration', c.cso_registration);
    await page.fill('#q-cso_email', 'sam.patel at supplier');
    await page.check('input[name=dcb0129_compliant][value=yes]');
    await page.fill('#q-hazard_log_reviewed', c.hazard_log_reviewed);
    await page.fill('#q-safety_case_version', c.safety_case_version);
    await page.fill('#q-authentication_hazards', c.authentication_hazards);
    await page.check('input[name=dcb0160_support][value=yes]');
    await page.click('form[action*="/non-functional/"] button[type=submit]');
    await page.waitForSelector('.nhsuk-error-summary');
    assert.match(await page.title(), /^Error: Clinical risk management process – Non-functional requirements/);
    await axeWcag(page, 'NFR section with errors');
    await screenshot(page, 'onboarding-nfr-section-errors.png');
    assert.ok(await page.$('.nhsuk-error-summary a[href="#q-cso_email"]'), 'the summary links to the field');
    assert.equal(await page.inputValue('#q-cso_email'), 'sam.patel at supplier', 'the bad answer is kept');
    r = await a.api.get(api);
    assert.equal(r.json.answers.hazard_log_reviewed, '2026-05-01', 'the draft keeps the other answers');
    await page.fill('#q-cso_email', c.cso_email);
    await Promise.all([page.waitForURL(`${list}?saved=1`), page.click('form[action*="/non-functional/"] button[type=submit]')]);
    assert.match(await page.textContent('#status-clinical_risk'), /Completed/);

    // the other two sections through the API, then submitted from the page
    for (const section of ['service_management', 'medical_device']) {
      r = await a.api.put(`${api}/${section}`, { answers: NFR[section] });
      assert.equal(r.status, 200, r.body);
    }
    await page.goto(list);
    await Promise.all([page.waitForURL(list), page.click(`form[action="/onboarding/products/${product.id}/non-functional"] button[value=submit]`)]);
    const state = await page.textContent('#stage-state');
    assert.match(state, /Submitted for review/);
    assert.match(state, /\d{4}-\d{2}-\d{2}/, 'the due date is shown');
    assert.equal(await page.$('button[value=submit]'), null, 'no second submission from the page');
    await axeWcag(page, 'NFR submitted');
    await mailTo(a.email, /^Non-functional requirements submitted for review$/, new RegExp(product.id));
    await page.goto(`${list}/medical_device`);
    assert.equal(await page.$('form[action*="/non-functional/"] textarea'), null, 'a submitted section is shown, not a form');
    assert.match(await page.textContent('body'), /It records and displays observations/);
    await axeWcag(page, 'NFR section, submitted');

    // the CIS2 team asks for more information on service management, through the review queue
    await signIn(rpage, base, REVIEWER, DEMO_PASSWORD);
    await rpage.goto(`${base}/onboarding/review`);
    const row = rpage.locator('#open-reviews tbody tr').filter({ hasText: 'Non-functional requirements, submission 1' }).filter({ hasText: product.name });
    assert.equal(await row.count(), 1, 'the queue names the stage and the product');
    await Promise.all([rpage.waitForURL(`${base}/onboarding/review/*`), row.locator('a').first().click()]);
    for (const title of TITLES) assert.match(await rpage.textContent('body'), new RegExp(title));
    assert.match(await rpage.textContent('#review-product'), new RegExp(product.name));
    await axeWcag(rpage, 'NFR review page');
    const ask = 'Give the target resolution time of a P1 incident.';
    const form = 'form[action^="/onboarding/review/"]';
    await rpage.check(`${form} input[name=decision][value=more_info]`);
    await rpage.fill(`${form} #comment_service_management`, ask);
    await Promise.all([rpage.waitForURL(`${base}/onboarding/review`), rpage.click(`${form} button[type=submit]`)]);
    await mailTo(a.email, /^More information needed: Non-functional requirements$/, /Service and incident management:\s*\nGive the target resolution time/);

    await page.goto(list);
    assert.match(await page.textContent('#stage-state'), /More information needed/);
    assert.match(await page.textContent('#review-comments'), /Service and incident management: Give the target resolution time of a P1 incident\./);
    assert.ok(await page.$('button[value=submit]'), 'it can be submitted again');
    await axeWcag(page, 'NFR more information');

    // the Connection Agreement: its text, and why it cannot be accepted yet
    await page.goto(`${base}/onboarding/products/${product.id}/agreement`);
    assert.match(await page.textContent('h1'), /CIS2 Authentication Connection Agreement/);
    assert.match(await page.textContent('#agreement-notice'), /careid's sample text/);
    assert.match(await page.textContent('#agreement-refusal'), /once technical conformance is achieved/);
    assert.equal(await page.$('form[action$="/agreement"]'), null, 'no form before conformance');
    await axeWcag(page, 'Connection Agreement');
    await screenshot(page, 'onboarding-nfr-agreement.png');
    await rpage.goto(`${base}/onboarding/products/${product.id}/agreement`);
    assert.match(await rpage.textContent('#agreement-status'), /Not accepted yet/);
  } finally {
    await applicant.close();
    await rev.close();
  }
});

// Technical conformance is proven end to end in onboarding-conformance.test.mjs (a relying party
// running every flow in INT, the CIS2 team confirming it). Here the store is put in the state that
// confirmation leaves (conformance.c's 'technical_conformance' stage approved), so this test can
// concentrate on the agreement: the form's errors, the acceptance, the e-mail, the audit event,
// what the CIS2 team sees, and a second acceptance refused.
h.test('Connection Agreement accepted by an owner once conformance is achieved: errors, e-mail, audit, 409; WCAG 2.2 A/AA', { timeout: 180000, skip: BACKEND === 'sqlite' && !existsSync('/usr/bin/sqlite3') && 'needs the sqlite3 CLI' }, async (t, server) => {
  const owner = await newAccount(server, smtp, { given: 'Alex', family: 'Owner', email: `acc.owner+${pid}@supplier.example` });
  const member = await newAccount(server, smtp, { given: 'Mo', family: 'Member', email: `acc.member+${pid}@supplier.example` });
  const reviewer = await approvedSaq(server, owner);
  await approvedSaq(server, member);
  await organisation(owner, 'AG3', 'Accepting Systems Ltd');
  let r = await owner.api.post('/api/v1/invitations', { email: member.email, role: 'member' });
  assert.ok(r.status === 201 || r.status === 202, r.body);
  const inv = await mailTo(member.email, /invited to join a team/);
  const token = new URL(inv.body.match(/https?:\/\/\S+\/onboarding\/invite\?token=[A-Za-z0-9_-]+/)[0]).searchParams.get('token');
  assert.equal((await member.api.post('/api/v1/invitations/accept', { token })).status, 200);
  const product = await grantedProduct(owner, reviewer, `Accepting ${pid}`);
  const api = `/api/v1/products/${product.id}/agreement`;

  const now = Math.floor(Date.now() / 1000);
  await sql(server, `INSERT INTO ob_stages (id, product_id, stage, questionnaire_version, answers, state, submissions, created_at, updated_at) VALUES ('conf-${pid}', '${product.id}', 'technical_conformance', 1, '{}', 'approved', 1, ${now}, ${now})`);
  r = await owner.api.get(api);
  assert.equal(r.json.conformance_achieved, true, 'conformance.c reads the approved confirmation');
  assert.equal(r.json.can_accept, true);

  // still only an owner
  r = await member.api.post(api, { accept: true, full_name: 'Mo Member' });
  assert.equal(r.status, 403);
  assert.equal(r.json.message, `Only an owner of your team can accept the Connection Agreement. Ask an owner of Accepting Systems Ltd team to accept it.`);

  // the API: the box and the name, each explained; nothing recorded
  r = await owner.api.post(api, { full_name: '   ' });
  assert.equal(r.status, 400, r.body);
  assert.equal(r.json.error, 'invalid_acceptance');
  assert.deepEqual(r.json.errors, {
    accept: 'Tick the box to accept the Connection Agreement on behalf of your organisation',
    full_name: 'Enter your full name',
  });
  r = await owner.api.post(api, { accept: 'yes', full_name: 'Alex Owner' });
  assert.equal(r.status, 400, 'only true ticks the box');
  r = await owner.api.post(api, { accept: true, full_name: 'x'.repeat(201) });
  assert.equal(r.json.errors.full_name, 'Full name must be 200 characters or fewer');
  assert.equal((await owner.api.get(api)).json.accepted, false);

  const b = await launch();
  try {
    const page = await b.ctx.newPage();
    const base = server.url;
    await signIn(page, base, owner.email, owner.password);
    const url = `${base}/onboarding/products/${product.id}/agreement`;
    await page.goto(url);
    const form = `form[action="/onboarding/products/${product.id}/agreement"]`;
    assert.ok(await page.$(form), 'an owner sees the form once conformance is achieved');
    assert.match(await page.textContent(`${form} label[for=accept]`), /accept it on behalf of Accepting Systems Ltd/);
    await axeWcag(page, 'Connection Agreement form');

    // neither ticked nor signed
    await page.click(`${form} button[type=submit]`);
    await page.waitForSelector('.nhsuk-error-summary');
    assert.match(await page.title(), /^Error: Connection Agreement/);
    assert.ok(await page.$('.nhsuk-error-summary a[href="#accept"]'));
    assert.ok(await page.$('.nhsuk-error-summary a[href="#full_name"]'));
    assert.match(await page.textContent('#accept-error'), /Tick the box to accept the Connection Agreement/);
    assert.match(await page.textContent('#full_name-error'), /Enter your full name/);
    await axeWcag(page, 'Connection Agreement with errors');
    await screenshot(page, 'onboarding-nfr-agreement-errors.png');

    // signed, not ticked: the name is kept
    await page.fill('#full_name', '  Alex Owner ');
    await page.click(`${form} button[type=submit]`);
    await page.waitForSelector('#accept-error');
    assert.equal(await page.$('#full_name-error'), null);
    assert.equal(await page.inputValue('#full_name'), 'Alex Owner');

    // accepted
    await page.check('#accept');
    await Promise.all([page.waitForURL(`${url}?accepted=1`), page.click(`${form} button[type=submit]`)]);
    assert.match(await page.textContent('#notice'), /You have accepted the Connection Agreement/);
    const accepted = await page.textContent('#agreement-accepted');
    assert.match(accepted, /Alex Owner/);
    assert.ok(accepted.includes(owner.email.toLowerCase()));
    assert.match(accepted, /\d{4}-\d{2}-\d{2}/);
    assert.equal(await page.$(form), null, 'no second acceptance from the page');
    await axeWcag(page, 'Connection Agreement accepted');
    await page.goto(`${base}/onboarding/products/${product.id}`);
    assert.match(await page.textContent('#task-status-agreement'), /Accepted/, 'the journey says so');
  } finally {
    await b.close();
  }

  // the team told; the audit trail has it
  for (const who of [owner, member]) {
    const m = await mailTo(who.email, new RegExp(`^Connection Agreement accepted: ${product.name}$`));
    assert.match(m.body, /accepted the CIS2 Authentication Connection Agreement \(version 1\)/);
    assert.match(m.body, /signing as "Alex Owner"/);
  }
  const events = await sql(server, `SELECT actor, subject, detail FROM audit_events WHERE action = 'agreement.accepted' AND subject = 'product:${product.id}' ORDER BY seq`);
  assert.equal(events.length, 1);
  assert.deepEqual(JSON.parse(events[0].detail), { version: 1, name: 'Alex Owner' });
  assert.equal(events[0].actor, owner.api.me.uid);

  // whether, when and by whom: the team and the CIS2 team
  r = await reviewer.get(api);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.accepted, true);
  assert.equal(r.json.acceptance.full_name, 'Alex Owner');
  assert.equal(r.json.acceptance.version, 1);
  assert.equal(r.json.acceptance.accepted_by.email, owner.email.toLowerCase());
  assert.match(r.json.acceptance.accepted_on, /^\d{4}-\d{2}-\d{2}$/);
  assert.ok(Math.abs(r.json.acceptance.accepted_at - Date.now() / 1000) < 600);

  // once only
  const again = `The Connection Agreement has already been accepted for ${product.name}, by Alex Owner on ${r.json.acceptance.accepted_on}.`;
  r = await owner.api.post(api, { accept: true, full_name: 'Alex Owner' });
  assert.equal(r.status, 409, r.body);
  assert.equal(r.json.error, 'already_accepted');
  assert.equal(r.json.message, again);
  r = await owner.browser.post(`/onboarding/products/${product.id}/agreement`, { csrf: owner.api.me.csrf_token, accept: 'yes', full_name: 'Alex Owner' });
  assert.equal(r.status, 409);
  assert.ok(decodeEntities(r.body).includes(again));
  assert.equal((await sql(server, `SELECT COUNT(*) AS n FROM ob_agreements WHERE product_id = '${product.id}'`))[0].n, 1);
});
