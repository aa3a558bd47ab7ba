// The whole of onboarding part 1 in a real browser (Chromium), as an applicant, a CIS2 reviewer and
// an invited colleague, each in their own browser: register and verify an account, draft and
// submit the SAQ, more information, resubmission, approval; organisation, team, invitation,
// product; CIS2 Authentication requested and granted; the Setup and eligibility stage's 3 sections
// with the use case checklist, submitted and approved. E-mail goes to a real SMTP receiver. careid
// runs with --review-date 2026-12-22 (a Tuesday): 5 working days in England skip Christmas Day
// (Friday 25) and Boxing Day's substitute (Monday 28), so every review is due 2026-12-31. axe-core's
// WCAG 2.2 A/AA rules run on every page type; CAREID_SCREENSHOTS=1 saves the main pages to
// docs/screenshots/onboarding-journey-*.png.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { setupServer, DEMO_PASSWORD } from './lib/careid.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';

let smtp;
const h = setupServer({
  extraArgs: ['--review-date', '2026-12-22'],
  async prepare(opts) {
    smtp = await startSmtp();
    opts.extraArgs.push('--smtp-url', smtp.url);
  },
});
after(async () => { await smtp?.stop(); });

const DUE = '2026-12-31';
const REVIEWER = 'reviewer@cis2.example';
const APPLICANT = { given: 'Alex', family: 'Okonkwo', email: 'alex.okonkwo@supplier.example', password: 'correct horse battery staple' };
const COLLEAGUE = { given: 'Ines', family: 'Invitee', email: 'ines.invitee@supplier.example', password: 'another long enough password' };
const PRODUCT = 'WardView'; // fixed names (each run has a fresh store): stable screenshots

const subjectOf = (m) => (m.headers?.subject || [])[0] || '';
/** The e-mail to `email` whose subject matches `subject` (and body `body`), from the SMTP receiver. */
const mailTo = (email, subject, body = /./, what = subject.source) =>
  smtp.waitFor((m) => m.rcpt_tos.includes(email.toLowerCase()) && subject.test(subjectOf(m)) && body.test(m.body || ''), `${what} to ${email}`);

/** Clicks a submit button (or link) and waits for the page it leads to (after any redirect). */
async function go(page, selector) {
  const [res] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
  return res;
}

/** Portal sign-in through careid's own sign-in page (the portal environment). */
async function signIn(page, base, email, password, { check = false } = {}) {
  await page.goto(`${base}/onboarding/signin`);
  assert.match(new URL(page.url()).pathname, /^\/realms\/portal\//, 'the portal sends people to careid\'s sign-in page');
  if (check) {
    await axeWcag(page, 'careid sign-in page (portal environment)');
    await screenshot(page, 'onboarding-journey-signin.png');
  }
  await page.fill('#username', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/onboarding/**`), page.click('form:has(#password) button[type=submit]')]);
}

/** Registers an account through /onboarding/register and confirms it with the e-mailed link. */
async function registerAndVerify(page, base, who, { check = false } = {}) {
  await page.goto(`${base}/onboarding/register`);
  if (check) await axeWcag(page, 'register page');
  await page.fill('#given_name', who.given);
  await page.fill('#family_name', who.family);
  await page.fill('#email', who.email);
  await page.fill('#password', who.password);
  await page.fill('#password_confirm', who.password);
  await go(page, 'form[action="/onboarding/register"] button[type=submit]');
  assert.match(await page.textContent('h1'), /Check your e-mail/);
  if (check) await axeWcag(page, 'check your e-mail page');
  const mail = await mailTo(who.email, /Confirm your e-mail/);
  const link = mail.body.match(/https?:\/\/\S+\/onboarding\/verify\?token=\S+/)[0];
  await page.goto(link);
  if (check) await axeWcag(page, 'confirm e-mail page');
  await go(page, 'form[action="/onboarding/verify"] button[type=submit]');
  assert.match(await page.textContent('h1'), /E-mail address confirmed/);
  if (check) await axeWcag(page, 'e-mail confirmed page');
}

/** The reviewer's queue row of `email`'s open `kind` review: asserts its due date, opens it. */
async function openReview(rpage, base, email, kindLabel, submission, shot) {
  await rpage.goto(`${base}/onboarding/review`);
  const row = rpage.locator('#open-reviews tbody tr').filter({ hasText: email.toLowerCase() }).filter({ hasText: `${kindLabel}, submission ${submission}` });
  assert.equal(await row.count(), 1, `one open ${kindLabel} review (submission ${submission}) of ${email} in the queue`);
  assert.equal((await row.locator('td').first().textContent()).trim(), DUE, `the queue says ${kindLabel} is due ${DUE}`);
  if (shot) {
    await axeWcag(rpage, 'review queue');
    await screenshot(rpage, shot);
  }
  await Promise.all([rpage.waitForURL(`${base}/onboarding/review/*`), row.locator('a').click()]);
  assert.match(await rpage.textContent('body'), new RegExp(`Due by ${DUE}`));
}

/** Records a decision on the open review page; back on the queue. */
async function decide(rpage, base, decision, comments = {}) {
  const form = 'form[action^="/onboarding/review/"]';
  await rpage.check(`${form} input[name=decision][value=${decision}]`);
  for (const [section, text] of Object.entries(comments)) await rpage.fill(`${form} #comment_${section}`, text);
  await Promise.all([rpage.waitForURL(`${base}/onboarding/review`), rpage.click(`${form} button[type=submit]`)]);
}

h.test('onboarding journey in Chromium: SAQ to approved Setup and eligibility stage', { timeout: 240000 }, async (t, server) => {
  const base = server.url;
  const applicant = await launch();
  const reviewer = await launch();
  const colleague = await launch();
  try {
    const page = await applicant.ctx.newPage();
    const rpage = await reviewer.ctx.newPage();
    const cpage = await colleague.ctx.newPage();

    // --- 1. Account: the start page, register, confirm the e-mail, sign in ---------------------
    await page.goto(`${base}/onboarding/`);
    await axeWcag(page, 'portal start page');
    await screenshot(page, 'onboarding-journey-start.png');
    await registerAndVerify(page, base, APPLICANT, { check: true });
    await signIn(page, base, APPLICANT.email, APPLICANT.password, { check: true });
    assert.match(await page.textContent('#saq-state'), /Status:/);
    await axeWcag(page, 'applicant home');

    // --- 2. SAQ: a partial draft is saved and kept --------------------------------------------
    const saqForm = 'form[action="/onboarding/saq"]';
    await page.goto(`${base}/onboarding/saq`);
    await axeWcag(page, 'SAQ form');
    await screenshot(page, 'onboarding-journey-saq.png');
    await page.fill('#q-org_name', 'Okonkwo Clinical Systems Ltd');
    await page.fill('#q-ods_code', '8JK22');
    await page.fill('#q-contact_name', 'Alex Okonkwo');
    await page.fill('#q-contact_email', APPLICANT.email);
    await page.fill('#q-product_name', PRODUCT);
    await go(page, `${saqForm} button[value=save]`);
    assert.match(await page.textContent('#notice'), /saved as a draft/);
    assert.match(await page.textContent('#saq-state'), /draft/);
    await axeWcag(page, 'SAQ draft saved');
    await page.goto(`${base}/onboarding/saq`);
    assert.equal(await page.inputValue('#q-org_name'), 'Okonkwo Clinical Systems Ltd', 'the draft is kept');
    assert.equal(await page.inputValue('#q-product_name'), PRODUCT);

    // --- 3. SAQ: completed and submitted; due date across Christmas; the e-mail says so --------
    const rest = {
      '#q-product_description': 'Bedside observations and handover for acute wards.', '#q-product_url': 'https://wardview.example',
      '#q-use_case': 'Clinicians sign in at the start of a shift to record observations.',
      '#q-why_cis2': 'Users are NHS staff with smartcards and need role-based access to patient records.',
      '#q-user_groups': 'Nurses, healthcare assistants, doctors', '#q-user_count': '4000', '#q-auths_per_day': '12000',
      '#q-auths_peak_hour': '3000', '#q-development_start': '2026-09-01', '#q-go_live': '2027-06-01',
    };
    for (const [sel, v] of Object.entries(rest)) await page.fill(`${saqForm} ${sel}`, v);
    for (const [name, v] of [['care_settings', 'acute'], ['authenticators', 'smartcard'], ['authenticators', 'fido2'], ['national_apis', 'pds']]) {
      await page.check(`${saqForm} input[name=${name}][value=${v}]`);
    }
    for (const [name, v] of [['assurance_level', 'AAL3'], ['cis1_migration', 'no'], ['deployment_model', 'single_instance']]) {
      await page.check(`${saqForm} input[name=${name}][value=${v}]`);
    }
    await go(page, `${saqForm} button[value=submit]`);
    assert.equal(new URL(page.url()).pathname, '/onboarding/saq');
    let state = await page.textContent('#saq-state');
    assert.match(state, /submitted/);
    assert.match(state, new RegExp(`response due by ${DUE}`), `5 working days from 2026-12-22 skip 25 and 28 December: ${state}`);
    await axeWcag(page, 'SAQ submitted');
    await screenshot(page, 'onboarding-journey-saq-submitted.png');
    const confirmation = await mailTo(APPLICANT.email, /Your CIS2 Authentication application/);
    assert.match(confirmation.body, new RegExp(`respond by ${DUE}`), 'the confirmation e-mail gives the due date');
    await mailTo(APPLICANT.email, /service updates/, /./, 'distribution list welcome');

    // --- 4. Reviewer: the queue (due 2026-12-31), more information on one section -------------
    await signIn(rpage, base, REVIEWER, DEMO_PASSWORD);
    await axeWcag(rpage, 'reviewer home');
    await openReview(rpage, base, APPLICANT.email, 'Service Assessment Questionnaire', 1, 'onboarding-journey-review-queue.png');
    await axeWcag(rpage, 'SAQ review page');
    await screenshot(rpage, 'onboarding-journey-review.png');
    const COMMENT = 'How many authentications at the morning peak, when the night shift hands over?';
    await decide(rpage, base, 'more_info', { users: COMMENT });
    await mailTo(APPLICANT.email, /More information needed/, /morning peak/);

    // --- 5. Applicant: sees the comment, corrects the answer, resubmits -----------------------
    await page.goto(`${base}/onboarding/saq`);
    assert.match(await page.textContent('#saq-state'), /more_info/);
    assert.match(await page.textContent('.nhsuk-warning-callout'), /morning peak/);
    await axeWcag(page, 'SAQ with the reviewer\'s comments');
    await screenshot(page, 'onboarding-journey-saq-more-info.png');
    assert.equal(await page.inputValue('#q-auths_peak_hour'), '3000', 'the answers are still there');
    await page.fill(`${saqForm} #q-auths_peak_hour`, '3500');
    await go(page, `${saqForm} button[value=submit]`);
    state = await page.textContent('#saq-state');
    assert.match(state, /submitted/);
    assert.match(state, new RegExp(`response due by ${DUE}`));
    await smtp.waitFor((m) => m.rcpt_tos.includes(APPLICANT.email) && /Your CIS2 Authentication application/.test(subjectOf(m)) && /submission 2/.test(m.body) && m.body.includes(DUE), 'resubmission confirmation');

    // --- 6. Reviewer approves the resubmission ------------------------------------------------
    await openReview(rpage, base, APPLICANT.email, 'Service Assessment Questionnaire', 2);
    assert.match(await rpage.textContent('body'), /3,500/, 'the corrected answer');
    await decide(rpage, base, 'approve');
    await mailTo(APPLICANT.email, /Decision on your CIS2 application/, /approved/);
    await page.goto(`${base}/onboarding/saq`);
    assert.match(await page.textContent('#saq-state'), /approved/);
    await axeWcag(page, 'SAQ approved');

    // --- 7. Organisation and team -------------------------------------------------------------
    await page.goto(`${base}/onboarding/organisation`);
    await axeWcag(page, 'organisation form');
    await screenshot(page, 'onboarding-journey-organisation.png');
    await page.fill('#ods_code', '8JK22');
    await page.fill('#name', 'Okonkwo Clinical Systems Ltd');
    await page.fill('#team_name', 'WardView team');
    await Promise.all([page.waitForURL(`${base}/onboarding/team`), page.click('form[action="/onboarding/organisation"] button[type=submit]')]);
    assert.match(await page.textContent('h1'), /Team WardView team/);
    assert.match(await page.textContent('#members'), /owner/);
    await axeWcag(page, 'team page (owner)');

    // --- 8. Invite a colleague by e-mail ------------------------------------------------------
    await page.fill('form[action="/onboarding/team"] #email', COLLEAGUE.email);
    await page.check('form[action="/onboarding/team"] input[name=role][value=member]');
    await Promise.all([page.waitForURL(`${base}/onboarding/team?sent=1`), page.click('form[action="/onboarding/team"] button[type=submit]')]);
    assert.match(await page.textContent('#notice'), /invitation has been sent/);
    assert.match(await page.textContent('#invitations'), new RegExp(COLLEAGUE.email.replace(/[.+]/g, '\\$&')));
    await axeWcag(page, 'team page with a pending invitation');
    await screenshot(page, 'onboarding-journey-team.png');
    const invitation = await mailTo(COLLEAGUE.email, /invited to join a team/, /Alex Okonkwo/);
    const inviteLink = invitation.body.match(/https?:\/\/\S+\/onboarding\/invite\?token=[A-Za-z0-9_-]+/)[0];

    // --- 9. The colleague registers, confirms, signs in and accepts the invitation ------------
    await registerAndVerify(cpage, base, COLLEAGUE);
    await signIn(cpage, base, COLLEAGUE.email, COLLEAGUE.password);
    await cpage.goto(inviteLink);
    assert.match(await cpage.textContent('h1'), /Join team WardView team/);
    await axeWcag(cpage, 'invitation page');
    await screenshot(cpage, 'onboarding-journey-invitation.png');
    await Promise.all([cpage.waitForURL(`${base}/onboarding/team?joined=1`), cpage.click('form[action="/onboarding/invite"] button[type=submit]')]);
    assert.match(await cpage.textContent('#notice'), /You have joined team WardView team/);
    assert.match(await cpage.textContent('#members'), /Alex Okonkwo/);
    await axeWcag(cpage, 'team page (member)');
    await page.goto(`${base}/onboarding/team`);
    assert.match(await page.textContent('#members'), /Ines Invitee/, 'the owner sees the new member');

    // --- 10. Add a product --------------------------------------------------------------------
    await page.goto(`${base}/onboarding/products`);
    await axeWcag(page, 'products page');
    await page.fill('form[action="/onboarding/products"] #name', PRODUCT);
    await page.fill('form[action="/onboarding/products"] #description', 'Bedside observations and handover for acute wards.');
    await Promise.all([page.waitForURL(`${base}/onboarding/products/*`), page.click('form[action="/onboarding/products"] button[type=submit]')]);
    const productPath = new URL(page.url()).pathname;
    const productId = productPath.split('/').pop();
    assert.match(await page.textContent('h1'), new RegExp(PRODUCT));
    assert.match(await page.textContent('#cis2-access'), /none/);
    await axeWcag(page, 'product page');
    await screenshot(page, 'onboarding-journey-product.png');

    // --- 11. Request CIS2 Authentication --------------------------------------------------------
    await Promise.all([page.waitForURL(`${base}${productPath}`), page.click(`form[action="${productPath}/access"] button[type=submit]`)]);
    assert.match(await page.textContent('#cis2-access'), /requested/);
    assert.equal(await page.$(`form[action="${productPath}/access"]`), null, 'no second request from the page');
    await axeWcag(page, 'product page, access requested');
    await mailTo(APPLICANT.email, /CIS2 Authentication requested/, new RegExp(`respond by ${DUE}`));

    // --- 12. Reviewer grants it; the whole team is told -----------------------------------------
    await openReview(rpage, base, APPLICANT.email, 'CIS2 Authentication request', 1);
    await axeWcag(rpage, 'access request review page');
    await decide(rpage, base, 'approve');
    for (const who of [APPLICANT, COLLEAGUE]) {
      await mailTo(who.email, /CIS2 Authentication for your product/, /added it/, 'access granted');
    }
    await page.goto(`${base}${productPath}`);
    assert.match(await page.textContent('#cis2-access'), /granted/);
    await axeWcag(page, 'product page, access granted');

    // --- 13. Setup and eligibility: the task list --------------------------------------------
    const list = `${base}${productPath}/setup`;
    await Promise.all([page.waitForURL(list), page.click(`a[href="${productPath}/setup"]`)]);
    assert.match(await page.textContent('#stage-state'), /Not started/);
    await axeWcag(page, 'stage task list');
    const sectionForm = `form[action="${productPath}/setup/`;
    const saveSection = async (id) => {
      await Promise.all([page.waitForURL(`${list}?saved=1`), page.click(`${sectionForm}${id}"] button[type=submit]`)]);
      assert.match(await page.textContent(`#status-${id}`), /Completed/, `section ${id} completed`);
    };

    // section 1: product details
    await page.click(`#stage-sections a[href="${productPath}/setup/product_details"]`);
    await page.waitForURL(`${list}/product_details`);
    await axeWcag(page, 'stage section: product details');
    let f = `${sectionForm}product_details"]`;
    await page.fill(`${f} #q-product_name`, PRODUCT);
    await page.fill(`${f} #q-product_version`, '2.1');
    await page.fill(`${f} #q-product_description`, 'Bedside observations and handover for acute wards.');
    await page.check(`${f} input[name=product_type][value=clinical]`);
    await page.fill(`${f} #q-product_url`, 'https://wardview.example');
    await page.check(`${f} input[name=dtac_assessed][value=yes]`);
    await saveSection('product_details');

    // section 2: use case, with the 4 checklist confirmations
    await page.goto(`${list}/use_case`);
    await axeWcag(page, 'stage section: use case');
    f = `${sectionForm}use_case"]`;
    for (const id of ['confirm_guidance', 'confirm_dependencies', 'confirm_volumes', 'confirm_dates']) await page.check(`${f} #q-${id}`);
    const useCase = {
      '#q-use_case_description': 'Nurses sign in at the start of a shift and record observations for their ward.',
      '#q-user_roles': 'R8000 Clinical Practitioner Access Role', '#q-auths_per_day': '12000', '#q-auths_peak_hour': '3500',
      '#q-conformance_start': '2026-09-01', '#q-conformance_answers': '2026-10-01', '#q-testing_start': '2026-11-02',
      '#q-conformance_achieved': '2027-01-15', '#q-go_live': '2027-03-01', '#q-last_site_live': '2027-09-01',
      '#q-rollout_plan': 'One ward first, then one hospital a month.',
    };
    for (const [sel, v] of Object.entries(useCase)) await page.fill(`${f} ${sel}`, v);
    await page.check(`${f} input[name=needs_selected_role][value=yes]`);
    await page.check(`${f} input[name=assurance_level][value=AAL3]`);
    await page.check(`${f} input[name=deployment_model][value=single_instance]`);
    await screenshot(page, 'onboarding-journey-stage-use-case.png');
    await saveSection('use_case');

    // section 3: eligibility and legal basis
    await page.goto(`${list}/eligibility`);
    await axeWcag(page, 'stage section: eligibility');
    f = `${sectionForm}eligibility"]`;
    await page.check(`${f} input[name=organisation_type][value=supplier]`);
    await page.check(`${f} input[name=health_care_purpose][value=yes]`);
    await page.fill(`${f} #q-legal_basis`, 'UK GDPR Article 6(1)(e) and Article 9(2)(h).');
    await page.check(`${f} input[name=dspt_status][value=standards_met]`);
    await page.fill(`${f} #q-ico_registration`, 'ZA123456');
    await page.check(`${f} #q-confirm_connection_agreement`);
    await saveSection('eligibility');
    await axeWcag(page, 'stage task list, all sections completed');
    await screenshot(page, 'onboarding-journey-stage.png');

    // --- 14. Submit the stage: due 2026-12-31 on the page and in the team's e-mail ------------
    await Promise.all([page.waitForURL(list), page.click(`form[action="${productPath}/setup"] button[value=submit]`)]);
    state = await page.textContent('#stage-state');
    assert.match(state, /Submitted for review/);
    assert.match(state, new RegExp(`respond by ${DUE}`), state);
    assert.equal(await page.$(`form[action="${productPath}/setup"] button[value=submit]`), null, 'no second submission from the page');
    await axeWcag(page, 'stage submitted');
    await screenshot(page, 'onboarding-journey-stage-submitted.png');
    for (const who of [APPLICANT, COLLEAGUE]) {
      const m = await mailTo(who.email, /Setup and eligibility submitted/, new RegExp(productId), 'stage submission');
      assert.ok(m.body.includes(DUE), `the stage submission e-mail to ${who.email} gives the due date ${DUE}`);
    }

    // --- 15. Reviewer approves the stage ------------------------------------------------------
    await openReview(rpage, base, APPLICANT.email, 'Setup and eligibility', 1);
    await axeWcag(rpage, 'stage review page');
    await screenshot(rpage, 'onboarding-journey-stage-review.png');
    await decide(rpage, base, 'approve');
    await rpage.goto(`${base}/onboarding/review`);
    assert.equal(await rpage.locator('#open-reviews tbody tr').filter({ hasText: APPLICANT.email }).count(), 0, 'nothing of the applicant is waiting');
    await mailTo(APPLICANT.email, /Decision on your Setup and eligibility stage/, /approved/);

    // --- 16. Applicant sees the stage approved ------------------------------------------------
    await page.goto(list);
    assert.match(await page.textContent('#stage-state'), /Approved/);
    assert.match(await page.textContent('body'), /The CIS2 onboarding team has approved this stage/);
    assert.equal(await page.$(`form[action="${productPath}/setup"]`), null, 'an approved stage cannot be submitted again');
    await axeWcag(page, 'stage approved');
    await screenshot(page, 'onboarding-journey-stage-approved.png');
  } finally {
    await applicant.close();
    await reviewer.close();
    await colleague.close();
  }
});
