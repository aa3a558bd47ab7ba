// The 'Setup and eligibility' stage of a product: refused until CIS2 Authentication has been
// added, 3 sections saved as drafts one at a time (nothing lost), the use case's checklist
// required to submit, one review per submission, more information by section, resubmission,
// approval; the team e-mailed at each step (real SMTP receiver); the same journey through the
// pages in Chromium with axe-core's WCAG 2.2 A/AA rules. CAREID_SCREENSHOTS=1 saves
// docs/screenshots/onboarding-stage.png.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { setupServer } from './lib/careid.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { newAccount, approvedSaq } from './lib/portal.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';

let smtp;
const h = setupServer({
  extraArgs: [],
  async prepare(opts) {
    smtp = await startSmtp();
    opts.extraArgs.push('--smtp-url', smtp.url);
  },
});
after(async () => { await smtp?.stop(); });
const subjectOf = (m) => (m.headers?.subject || [])[0] || '';

const DETAILS = {
  product_name: 'WardView', product_version: '2.1', product_description: 'Bedside observations and handover for acute wards.',
  product_type: 'clinical', product_url: 'https://wardview.example', dtac_assessed: 'yes',
};
const CONFIRMS = { confirm_guidance: true, confirm_dependencies: true, confirm_volumes: true, confirm_dates: true };
const USE_CASE = {
  use_case_description: 'Nurses sign in at the start of a shift and record observations for their ward.',
  user_roles: 'R8000 Clinical Practitioner Access Role', needs_selected_role: 'yes', assurance_level: 'AAL3',
  auths_per_day: 12000, auths_peak_hour: 3000, deployment_model: 'single_instance',
  conformance_start: '2026-09-01', conformance_answers: '2026-10-01', testing_start: '2026-11-02',
  conformance_achieved: '2027-01-15', go_live: '2027-03-01', last_site_live: '2027-09-01',
  rollout_plan: 'One ward first, then one hospital a month.',
};
const ELIGIBILITY = {
  organisation_type: 'supplier', health_care_purpose: 'yes', legal_basis: 'UK GDPR Article 6(1)(e) and Article 9(2)(h).',
  dspt_status: 'standards_met', ico_registration: 'ZA123456', confirm_connection_agreement: true,
};

/** A product of the account's team, with CIS2 Authentication granted by the reviewer. */
async function grantedProduct(account, reviewer, name) {
  let r = await account.api.post('/api/v1/products', { name });
  assert.equal(r.status, 201, r.body);
  const product = r.json;
  r = await account.api.post(`/api/v1/products/${product.id}/access`);
  assert.equal(r.status, 202, r.body);
  const q = await reviewer.get('/api/v1/reviews');
  const req = q.json.open.find((x) => x.kind === 'access' && x.subject_id === product.id);
  assert.ok(req, 'the access request is in the queue');
  r = await reviewer.post(`/api/v1/reviews/${req.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);
  return product;
}

const openStageReviews = async (reviewer, stageId) =>
  (await reviewer.get('/api/v1/reviews')).json.open.filter((x) => x.kind === 'stage' && x.subject_id === stageId);

h.test('stage: refused before CIS2 access, drafts per section, checklist, one review per submission, more information, approval', async () => {
  const a = await newAccount(h.server, smtp, { email: `stage.a+${process.pid}@supplier.example` });
  const b = await newAccount(h.server, smtp, { email: `stage.b+${process.pid}@other.example` });
  const reviewer = await approvedSaq(h.server, a);
  await approvedSaq(h.server, b);
  let r = await a.api.post('/api/v1/organisation', { ods_code: 'ST1', name: 'Stage Systems Ltd', team_name: 'Stage team' });
  assert.equal(r.status, 201, r.body);
  r = await b.api.post('/api/v1/organisation', { ods_code: 'ST2', name: 'Other Stage Ltd', team_name: 'Other team' });
  assert.equal(r.status, 201, r.body);

  // refused before CIS2 Authentication has been added
  r = await a.api.post('/api/v1/products', { name: `WardView ${process.pid}` });
  assert.equal(r.status, 201, r.body);
  const product = r.json;
  const base = `/api/v1/products/${product.id}/setup`;
  r = await a.api.get(base);
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'cis2_not_granted');
  assert.match(r.json.message, /CIS2 Authentication must be added to this product first/);
  r = await a.api.put(`${base}/product_details`, { answers: DETAILS });
  assert.equal(r.status, 403);
  r = await a.browser.get(`/onboarding/products/${product.id}/setup`);
  assert.equal(r.status, 403);
  assert.match(r.body, /CIS2 Authentication must be added to this product first/);
  r = await a.api.post(`/api/v1/products/${product.id}/access`);
  assert.equal(r.status, 202, r.body);
  const access = (await reviewer.get('/api/v1/reviews')).json.open.find((x) => x.kind === 'access' && x.subject_id === product.id);
  r = await reviewer.post(`/api/v1/reviews/${access.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);

  // not started
  r = await a.api.get(base);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.state, 'not_started');
  assert.deepEqual(r.json.sections.map((s) => [s.id, s.status]),
    [['product_details', 'not_started'], ['use_case', 'not_started'], ['eligibility', 'not_started']]);

  // another organisation never reaches it
  r = await b.api.get(base);
  assert.equal(r.status, 404);
  r = await b.api.put(`${base}/product_details`, { answers: { product_name: 'Hijack' } });
  assert.equal(r.status, 404);
  r = await b.api.post(`${base}/submit`);
  assert.equal(r.status, 404);

  // drafts, one section at a time; the others are kept
  r = await a.api.put(`${base}/product_details`, { answers: DETAILS });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.state, 'draft');
  const stageId = r.json.id;
  r = await a.api.put(`${base}/use_case`, { answers: { ...USE_CASE, product_name: 'ignored: not of this section' } });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.answers.product_name, DETAILS.product_name, 'product details kept');
  assert.equal(r.json.answers.use_case_description, USE_CASE.use_case_description);
  r = await a.api.put(`${base}/eligibility`, { answers: { legal_basis: 'To be confirmed' } });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(r.json.sections.map((s) => s.status), ['completed', 'in_progress', 'in_progress']);
  r = await a.api.put(`${base}/eligibility`, { answers: ELIGIBILITY });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.answers.use_case_description, USE_CASE.use_case_description, 'use case kept');
  assert.deepEqual(r.json.sections.map((s) => s.status), ['completed', 'in_progress', 'completed']);

  // a malformed draft from the API: nothing saved
  r = await a.api.put(`${base}/use_case`, { answers: { ...USE_CASE, auths_per_day: 'lots' } });
  assert.equal(r.status, 400);
  assert.ok(r.json.errors.auths_per_day, r.body);
  r = await a.api.put(`${base}/use_case`, { answers: 'nope' });
  assert.equal(r.status, 400);
  r = await a.api.put(`${base}/nosuch`, { answers: {} });
  assert.equal(r.status, 404);
  r = await a.api.get(base);
  assert.equal(r.json.answers.auths_per_day, 12000, 'the stored draft is unchanged');

  // the use case cannot be submitted without its checklist
  r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 422, r.body);
  assert.deepEqual(Object.keys(r.json.errors).sort(), Object.keys(CONFIRMS).sort(), r.body);
  assert.match(r.json.errors.confirm_guidance, /developer guidance/);
  assert.equal((await a.api.get(base)).json.state, 'draft');
  assert.equal((await openStageReviews(reviewer, stageId)).length, 0, 'nothing filed');

  // ticked: submitted, with a due date, the team told
  r = await a.api.put(`${base}/use_case`, { answers: { ...CONFIRMS, ...USE_CASE } });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(r.json.sections.map((s) => s.status), ['completed', 'completed', 'completed']);
  r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 200, r.body);
  const due = r.json.due_date;
  assert.match(due, /^\d{4}-\d{2}-\d{2}$/);
  assert.equal(r.json.stage.state, 'submitted');
  assert.equal(r.json.stage.review.due_date, due);
  const sent = await smtp.waitFor((m) => m.rcpt_tos.includes(a.email) && /Setup and eligibility submitted/.test(subjectOf(m)), 'submission e-mail');
  assert.ok(sent.body.includes(due), 'the e-mail gives the due date');

  // double submission: one review; no more drafts
  r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 409);
  r = await a.api.put(`${base}/use_case`, { answers: USE_CASE });
  assert.equal(r.status, 409);
  let reviews = await openStageReviews(reviewer, stageId);
  assert.equal(reviews.length, 1, 'one review for one submission');

  // the reviewer asks for more information on the use case
  r = await reviewer.post(`/api/v1/reviews/${reviews[0].id}/decision`, { decision: 'more_info', comments: { use_case: 'Tell us the peak hour of the night shift too.' } });
  assert.equal(r.status, 200, r.body);
  r = await a.api.get(base);
  assert.equal(r.json.state, 'more_info');
  assert.equal(r.json.review.comments.use_case, 'Tell us the peak hour of the night shift too.');
  const more = await smtp.waitFor((m) => m.rcpt_tos.includes(a.email) && /More information needed/.test(subjectOf(m)), 'more information e-mail');
  assert.match(more.body, /Use case:\s*\nTell us the peak hour of the night shift too\./);
  r = await a.browser.get(`/onboarding/products/${product.id}/setup`);
  assert.equal(r.status, 200);
  assert.match(r.body, /More information needed/);
  assert.match(r.body, /Tell us the peak hour of the night shift too\./);

  // resubmission: a new review
  r = await a.api.put(`${base}/use_case`, { answers: { ...CONFIRMS, ...USE_CASE, auths_peak_hour: 3500 } });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.answers.product_name, DETAILS.product_name, 'nothing lost');
  r = await a.api.post(`${base}/submit`);
  assert.equal(r.status, 200, r.body);
  reviews = await openStageReviews(reviewer, stageId);
  assert.equal(reviews.length, 1);
  assert.notEqual(reviews[0].id, access.id);
  r = await reviewer.get(`/api/v1/reviews/${reviews[0].id}`);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.submission, 2);
  assert.equal(r.json.answers.auths_peak_hour, 3500);

  // approval
  r = await reviewer.post(`/api/v1/reviews/${reviews[0].id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);
  r = await a.api.get(base);
  assert.equal(r.json.state, 'approved');
  await smtp.waitFor((m) => m.rcpt_tos.includes(a.email) && /Decision on your Setup and eligibility/.test(subjectOf(m)) && /approved/.test(m.body), 'approval e-mail');
  r = await a.api.put(`${base}/product_details`, { answers: DETAILS });
  assert.equal(r.status, 409, 'an approved stage is not changed');
});

async function signIn(page, base, username, password) {
  await page.goto(`${base}/onboarding/signin`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/onboarding/**`), page.click('button[type=submit]')]);
}

h.test('stage pages: task list, a section through its form, errors kept, submission; WCAG 2.2 A/AA', { timeout: 180000 }, async (t, server) => {
  const a = await newAccount(server, smtp, { email: `stage.pages+${process.pid}@supplier.example` });
  const reviewer = await approvedSaq(server, a);
  let r = await a.api.post('/api/v1/organisation', { ods_code: 'ST3', name: 'Page Stage Ltd', team_name: 'Page team' });
  assert.equal(r.status, 201, r.body);
  const product = await grantedProduct(a, reviewer, `ClinicBoard ${process.pid}`);
  const api = `/api/v1/products/${product.id}/setup`;
  r = await a.api.put(`${api}/product_details`, { answers: DETAILS });
  assert.equal(r.status, 200, r.body);

  const b = await launch();
  try {
    const page = await b.ctx.newPage();
    const base = server.url;
    const list = `${base}/onboarding/products/${product.id}/setup`;
    await signIn(page, base, a.email, a.password);

    await page.goto(list);
    await axeWcag(page, 'stage task list');
    assert.match(await page.textContent('#status-product_details'), /Completed/);
    assert.match(await page.textContent('#status-use_case'), /Not started/);

    // submitting an incomplete stage: the task list lists what is missing, linked to its section
    await page.click('button[value=submit]');
    await page.waitForSelector('.nhsuk-error-summary');
    await axeWcag(page, 'stage task list with errors');
    assert.ok(await page.$(`.nhsuk-error-summary a[href="/onboarding/products/${product.id}/setup/use_case#q-confirm_guidance"]`), 'links to the checklist');

    // the use case through its form: a draft without the checklist is fine
    await page.goto(`${list}/use_case`);
    await axeWcag(page, 'stage section page');
    const fill = {
      '#q-use_case_description': USE_CASE.use_case_description, '#q-user_roles': USE_CASE.user_roles,
      '#q-auths_per_day': 'about a thousand', '#q-auths_peak_hour': '300', '#q-conformance_start': '2026-09-01',
      '#q-conformance_answers': '2026-10-01', '#q-testing_start': '2026-11-02', '#q-conformance_achieved': '2027-01-15',
      '#q-go_live': '2027-03-01', '#q-last_site_live': '2027-09-01', '#q-rollout_plan': USE_CASE.rollout_plan,
    };
    for (const [sel, v] of Object.entries(fill)) await page.fill(sel, v);
    await page.check('input[name=needs_selected_role][value=no]');
    await page.check('input[name=assurance_level][value=AAL2]');
    await page.check('input[name=deployment_model][value=instance_per_customer]');
    await page.click('form[action*="/setup/"] button[type=submit]');
    await page.waitForSelector('.nhsuk-error-summary');
    await axeWcag(page, 'stage section page with errors');
    assert.equal(await page.inputValue('#q-auths_per_day'), 'about a thousand', 'the bad answer is kept');
    r = await a.api.get(api);
    assert.equal(r.json.answers.auths_per_day, 'about a thousand', 'the typed answer is in the draft');
    assert.equal(r.json.answers.product_name, DETAILS.product_name, 'the other section is untouched');
    assert.equal(r.json.answers.conformance_start, '2026-09-01');

    await page.fill('#q-auths_per_day', '1,000');
    await Promise.all([page.waitForURL(`${list}?saved=1`), page.click('form[action*="/setup/"] button[type=submit]')]);
    assert.match(await page.textContent('#status-use_case'), /In progress/, 'the checklist is not ticked yet');

    // the eligibility section through its form
    await page.goto(`${list}/eligibility`);
    await page.check('input[name=organisation_type][value=supplier]');
    await page.check('input[name=health_care_purpose][value=yes]');
    await page.fill('#q-legal_basis', ELIGIBILITY.legal_basis);
    await page.check('input[name=dspt_status][value=standards_met]');
    await page.fill('#q-ico_registration', 'ZA123456');
    await page.check('#q-confirm_connection_agreement');
    await Promise.all([page.waitForURL(`${list}?saved=1`), page.click('form[action*="/setup/"] button[type=submit]')]);
    assert.match(await page.textContent('#status-eligibility'), /Completed/);

    // tick the checklist, then submit
    await page.goto(`${list}/use_case`);
    for (const id of Object.keys(CONFIRMS)) await page.check(`#q-${id}`);
    await Promise.all([page.waitForURL(`${list}?saved=1`), page.click('form[action*="/setup/"] button[type=submit]')]);
    assert.match(await page.textContent('#status-use_case'), /Completed/);
    await screenshot(page, 'onboarding-stage.png');
    await Promise.all([page.waitForURL(list), page.click('button[value=submit]')]);
    const state = await page.textContent('#stage-state');
    assert.match(state, /Submitted for review/);
    assert.match(state, /\d{4}-\d{2}-\d{2}/, 'the due date is shown');
    await axeWcag(page, 'stage submitted');
    assert.equal(await page.$('button[value=submit]'), null, 'no second submission from the page');

    r = await a.api.get(api);
    assert.equal(r.json.state, 'submitted');
    assert.equal(r.json.answers.auths_per_day, 1000);
    await smtp.waitFor((m) => m.rcpt_tos.includes(a.email) && /Setup and eligibility submitted/.test(subjectOf(m)) && m.body.includes(product.id), 'submission e-mail');

    // a double submission through the form records one
    r = await a.browser.post(`/onboarding/products/${product.id}/setup`, { csrf: a.api.me.csrf_token, action: 'submit' });
    assert.equal(r.status, 409);
    assert.match(r.body, /already been submitted/);
    assert.equal((await openStageReviews(reviewer, (await a.api.get(api)).json.id)).length, 1, 'one review');
    // a section page of a submitted stage shows the answers, without a form
    await page.goto(`${list}/use_case`);
    assert.equal(await page.$('form[action*="/setup/"] textarea'), null);
    await axeWcag(page, 'stage section, submitted');
  } finally {
    await b.close();
  }
});
