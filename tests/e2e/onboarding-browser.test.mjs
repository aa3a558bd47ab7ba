// The onboarding portal in a real browser: every page of the SAQ journey, for the applicant and
// the reviewer, with axe-core's WCAG 2.2 A/AA rules finding nothing. CAREID_SCREENSHOTS=1 saves
// the main pages to docs/screenshots/.
import assert from 'node:assert/strict';
import { setupServer, DEMO_PASSWORD } from './lib/careid.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';

const h = setupServer();

async function signIn(page, base, username, password) {
  await page.goto(`${base}/onboarding/signin`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/onboarding/**`), page.click('button[type=submit]')]);
}

h.test('onboarding pages pass WCAG 2.2 A/AA checks', { timeout: 120000 }, async (t, server) => {
  const b = await launch();
  try {
    const page = await b.ctx.newPage();
    const base = server.url;

    await page.goto(`${base}/onboarding/`);
    await axeWcag(page, 'portal start page');
    await screenshot(page, 'onboarding-start.png');

    await page.goto(`${base}/onboarding/register`);
    await axeWcag(page, 'register page');
    await page.fill('#email', 'not an address');
    await page.click('button[type=submit]');
    await page.waitForSelector('.nhsuk-error-summary');
    await axeWcag(page, 'register page with errors');

    await signIn(page, base, 'developer@supplier.example', DEMO_PASSWORD);
    await axeWcag(page, 'applicant home');
    await page.goto(`${base}/onboarding/saq`);
    await axeWcag(page, 'SAQ form');
    await screenshot(page, 'onboarding-saq.png');
    await page.fill('#q-ods_code', '!!');
    await page.click('button[value=save]');
    await page.waitForSelector('.nhsuk-error-summary');
    await axeWcag(page, 'SAQ form with errors');
    assert.equal(await page.inputValue('#q-ods_code'), '!!', 'the bad answer is kept');

    // complete and submit through the form
    const answers = {
      '#q-org_name': 'Browser Health Ltd', '#q-ods_code': 'X1Y2Z', '#q-contact_name': 'Sam Developer',
      '#q-contact_email': 'sam@supplier.example', '#q-product_name': 'ClinicBoard',
      '#q-product_description': 'Clinic lists and outcomes.', '#q-use_case': 'Outpatient clinicians sign in per clinic.',
      '#q-why_cis2': 'NHS staff, NHS roles.', '#q-user_groups': 'Consultants, nurses', '#q-user_count': '300',
      '#q-auths_per_day': '900', '#q-auths_peak_hour': '200', '#q-development_start': '2026-10-01', '#q-go_live': '2027-04-01',
    };
    for (const [sel, v] of Object.entries(answers)) await page.fill(sel, v);
    for (const v of ['acute', 'smartcard', 'pds']) await page.check(`input[type=checkbox][value=${v}]`);
    for (const v of ['AAL3', 'single_instance']) await page.check(`input[type=radio][value=${v}]`);
    await page.check('input[name=cis1_migration][value=no]');
    await page.click('button[value=submit]');
    await page.waitForSelector('#saq-state');
    assert.match(await page.textContent('#saq-state'), /submitted/);
    await axeWcag(page, 'SAQ submitted');

    // the reviewer's pages
    const rpage = await (await launch()).ctx.newPage();
    await signIn(rpage, base, 'reviewer@cis2.example', DEMO_PASSWORD);
    await rpage.goto(`${base}/onboarding/review`);
    await axeWcag(rpage, 'review queue');
    await screenshot(rpage, 'onboarding-review-queue.png');
    await rpage.click('#open-reviews a');
    await axeWcag(rpage, 'review page');
    await screenshot(rpage, 'onboarding-review.png');
    await rpage.click('form[action*="/onboarding/review/"] button[type=submit]');
    await rpage.waitForSelector('.nhsuk-error-summary');
    await axeWcag(rpage, 'review page with a problem');
    await rpage.context().close();
  } finally {
    await b.close();
  }
});
