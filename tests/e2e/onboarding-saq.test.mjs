// Onboarding, part 1, end to end through the portal's pages as a browser would drive them
// (plain forms, cookies, redirects): a developer registers (e-mail verified through a real SMTP
// receiver), signs in through careid's portal environment, drafts and submits the SAQ; the CIS2
// team asks for more information; the developer resubmits; the team approves. Bad input and
// authorisation cases alongside.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after } from 'node:test';
import { setupServer, REPO, DEMO_PASSWORD } from './lib/careid.mjs';
import { Browser } from './lib/browser.mjs';
import { startSmtp } from './lib/smtp.mjs';

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
const REVIEWER = 'reviewer@cis2.example';
const DEV = { given: 'Alex', family: 'Okonkwo', email: `alex.okonkwo+${process.pid}@supplier.example`, password: 'correct horse battery staple' };

/** The date n working days after today in England (weekends and bank holidays excluded). */
async function workingDaysFromToday(n) {
  const data = JSON.parse(await readFile(join(REPO, 'etc/bank-holidays-england-and-wales.json'), 'utf8'));
  const holidays = new Set(data.events.map((e) => e.date));
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date());
  const d = new Date(`${today}T12:00:00Z`);
  let left = n;
  while (left > 0) {
    d.setUTCDate(d.getUTCDate() + 1);
    const iso = d.toISOString().slice(0, 10);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6 && !holidays.has(iso)) left -= 1;
  }
  return d.toISOString().slice(0, 10);
}

/** Signs a browser in to the portal through careid's sign-in page. */
async function portalSignIn(browser, username, password) {
  let res = await browser.get('/onboarding/signin');
  ({ res } = await browser.follow(res));
  assert.equal(res.kind, 'login', `the portal sends people to careid's sign-in page: ${res.status} ${res.url}`);
  res = await browser.submit(res.form, { username, password });
  ({ res } = await browser.follow(res));
  return res;
}

const COMPLETE = {
  org_name: 'Okonkwo Clinical Systems Ltd', ods_code: '8JK22', contact_name: 'Alex Okonkwo', contact_email: 'alex@supplier.example',
  product_name: 'WardView', product_description: 'Bedside observations and handover for acute wards.', product_url: 'https://wardview.example',
  care_settings: ['acute', 'community'], use_case: 'Clinicians sign in at the start of a shift to record observations.',
  why_cis2: 'Users are NHS staff with smartcards and need role-based access to patient records.',
  user_groups: 'Nurses, healthcare assistants, doctors', user_count: '4000', auths_per_day: '12000', auths_peak_hour: '3000',
  authenticators: ['smartcard', 'fido2'], assurance_level: 'AAL3', national_apis: ['pds'], cis1_migration: 'no',
  deployment_model: 'single_instance', development_start: '2026-09-01', go_live: '2027-06-01',
};

/** Form fields for the SAQ page: hidden inputs kept, answers as repeated fields for checkboxes. */
function saqFields(form, answers, action) {
  const fields = form.inputs.filter((i) => i.type === 'hidden').map((i) => [i.name, i.value]);
  for (const [k, v] of Object.entries(answers)) for (const one of [].concat(v)) fields.push([k, one]);
  fields.push(['action', action]);
  return fields;
}

h.test('the whole SAQ journey: register, verify, draft, submit, more information, resubmit, approval', async () => {
  const dev = new Browser(h.server.url);

  // register
  let res = await dev.get('/onboarding/register');
  assert.equal(res.status, 200);
  res = await dev.submit(res.form, { given_name: DEV.given, family_name: DEV.family, email: DEV.email, password: DEV.password, password_confirm: DEV.password });
  assert.equal(res.status, 200, res.body.slice(0, 500));
  assert.match(res.body, /Check your e-mail/);
  // registering the same address again says so
  res = await dev.get('/onboarding/register');
  res = await dev.submit(res.form, { given_name: DEV.given, family_name: DEV.family, email: DEV.email.toUpperCase(), password: DEV.password, password_confirm: DEV.password });
  assert.equal(res.status, 400);
  assert.match(res.body, /already exists/);
  // signing in before verifying is refused
  res = await portalSignIn(new Browser(h.server.url), DEV.email, DEV.password);
  assert.equal(res.status, 403);
  assert.match(res.body, /Verify your e-mail/);

  // the verification e-mail, from the SMTP receiver
  const verify = await smtp.waitFor((m) => m.rcpt_tos.includes(DEV.email) && /Confirm your e-mail/.test(subjectOf(m)), 'verification');
  const link = verify.body.match(/https?:\/\/\S+\/onboarding\/verify\?token=\S+/)[0];
  res = await dev.get(link);
  assert.equal(res.status, 200, 'GET shows a button (mail scanners follow links)');
  res = await dev.submit(res.form);
  assert.match(res.body, /E-mail address confirmed/);
  res = await dev.get(link);
  assert.equal(res.status, 400, 'a verification link works once');

  // sign in and open the SAQ
  res = await portalSignIn(dev, DEV.email, DEV.password);
  assert.equal(res.status, 200);
  assert.match(res.body, /Service Assessment Questionnaire/);
  res = await dev.get('/onboarding/saq');
  assert.equal(res.status, 200);
  const form = res.forms.find((f) => f.action.endsWith('/onboarding/saq'));
  assert.ok(form, 'the SAQ form');

  // a draft with a bad answer keeps what was typed and says what is wrong
  const partial = { org_name: COMPLETE.org_name, ods_code: 'not an ODS code', user_count: 'lots' };
  res = await dev.request(form.action, { method: 'POST', form: saqFields(form, partial, 'save') });
  assert.equal(res.status, 400);
  assert.match(res.body, /nhsuk-error-summary/);
  assert.match(res.body, /value="not an ODS code"/, 'the bad answer is shown back, not lost');
  assert.match(res.body, /value="Okonkwo Clinical Systems Ltd"/);
  // submitting an incomplete SAQ: errors for the missing answers, nothing lost, nothing submitted
  res = await dev.request(form.action, { method: 'POST', form: saqFields(form, { org_name: COMPLETE.org_name }, 'submit') });
  assert.equal(res.status, 400);
  assert.match(res.body, /Status: <strong>draft<\/strong>/);
  // an oversized answer is refused with a message
  res = await dev.request(form.action, { method: 'POST', form: saqFields(form, { ...COMPLETE, org_name: 'x'.repeat(5000) }, 'submit') });
  assert.equal(res.status, 400);
  assert.match(res.body, /value="x{100}/, 'even the oversized answer is kept for correction');

  // submit
  const due = await workingDaysFromToday(5);
  res = await dev.request(form.action, { method: 'POST', form: saqFields(form, COMPLETE, 'submit') });
  assert.equal(res.status, 303, res.body.slice(0, 400));
  ({ res } = await dev.follow(res));
  assert.match(res.body, /Status: <strong>submitted<\/strong>/);
  assert.match(res.body, new RegExp(`response due by ${due}`), `due ${due}, 5 working days in England`);
  // a second submission records nothing
  res = await dev.request(form.action, { method: 'POST', form: saqFields(form, COMPLETE, 'submit') });
  assert.equal(res.status, 409);
  const confirm = await smtp.waitFor((m) => m.rcpt_tos.includes(DEV.email) && /application/.test(subjectOf(m)), 'submission confirmation');
  assert.match(confirm.body, new RegExp(due), 'the confirmation gives the date a response is due');
  const welcome = await smtp.waitFor((m) => m.rcpt_tos.includes(DEV.email) && /service updates/.test(subjectOf(m)), 'distribution list');
  assert.ok(welcome.headers['list-unsubscribe'], 'List-Unsubscribe header');

  // the developer cannot see the queue
  res = await dev.get('/onboarding/review');
  assert.equal(res.status, 403);
  res = await dev.get('/api/v1/reviews', { headers: { accept: 'application/json' } });
  assert.equal(res.status, 403);

  // the reviewer asks for more information on one section
  const rev = new Browser(h.server.url);
  res = await portalSignIn(rev, REVIEWER, DEMO_PASSWORD);
  res = await rev.get('/onboarding/review');
  assert.equal(res.status, 200);
  const href = res.body.match(/href="(\/onboarding\/review\/[^"]+)">Service Assessment Questionnaire, submission 1/)[1];
  res = await rev.get(href);
  assert.match(res.body, /WardView/);
  assert.match(res.body, new RegExp(`Due by <strong>${due}`));
  let dform = res.forms.find((f) => f.method === 'post' && f.action.includes('/onboarding/review/'));
  res = await rev.submit(dform, { decision: 'more_info' });
  assert.equal(res.status, 400, 'more information needs a comment');
  dform = res.forms.find((f) => f.method === 'post' && f.action.includes('/onboarding/review/'));
  res = await rev.submit(dform, { decision: 'more_info', comment_users: 'How many authentications at the morning peak?' });
  assert.equal(res.status, 303);
  res = await rev.request(dform.action, { method: 'POST', form: formFieldsOf(dform, { decision: 'approve' }) });
  assert.equal(res.status, 409, 'one decision per submission');
  await smtp.waitFor((m) => m.rcpt_tos.includes(DEV.email) && /More information/.test(subjectOf(m)) && /morning peak/.test(m.body), 'more-information e-mail');

  // the developer sees the comment, corrects and resubmits: a new review, the clock restarts
  res = await dev.get('/onboarding/saq');
  assert.match(res.body, /Status: <strong>more_info<\/strong>/);
  assert.match(res.body, /morning peak/);
  const form2 = res.forms.find((f) => f.action.endsWith('/onboarding/saq'));
  res = await dev.request(form2.action, { method: 'POST', form: saqFields(form2, { ...COMPLETE, auths_peak_hour: '3500' }, 'submit') });
  assert.equal(res.status, 303);

  // the reviewer approves the second submission
  res = await rev.get('/onboarding/review');
  const href2 = res.body.match(/href="(\/onboarding\/review\/[^"]+)">Service Assessment Questionnaire, submission 2/)[1];
  res = await rev.get(href2);
  assert.match(res.body, /3,500/, 'the resubmitted answer, formatted');
  dform = res.forms.find((f) => f.method === 'post' && f.action.includes('/onboarding/review/'));
  res = await rev.submit(dform, { decision: 'approve' });
  assert.equal(res.status, 303);
  await smtp.waitFor((m) => m.rcpt_tos.includes(DEV.email) && /Decision/.test(subjectOf(m)) && /approved/.test(m.body), 'approval e-mail');
  res = await dev.get('/onboarding/saq');
  assert.match(res.body, /Status: <strong>approved<\/strong>/);

  // the API twin says the same
  res = await dev.get('/api/v1/saq');
  assert.equal(res.status, 200);
  assert.equal(res.json.state, 'approved');
  assert.equal(res.json.submissions, 2);
  assert.equal(res.json.answers.auths_peak_hour, 3500, 'a valid whole number is stored as a number');
  // a write without the CSRF header is refused
  res = await dev.request('/api/v1/saq', { method: 'PUT', body: JSON.stringify({ answers: {} }), contentType: 'application/json' });
  assert.equal(res.status, 403);

  // unsubscribe from the distribution list with the e-mail's link
  const unsub = welcome.body.match(/https?:\/\/\S+\/onboarding\/unsubscribe\?token=\S+/)[0];
  res = await dev.get(unsub);
  assert.match(res.body, /Leave the distribution list/);
  res = await dev.submit(res.forms.find((f) => f.action.includes('unsubscribe')));
  assert.match(res.body, /You have left/);
  res = await dev.get(unsub);
  assert.match(res.body, /already left/);
});

function formFieldsOf(form, values) {
  const fields = form.inputs.filter((i) => i.type === 'hidden').map((i) => [i.name, i.value]);
  for (const [k, v] of Object.entries(values)) fields.push([k, v]);
  return fields;
}

h.test('the SAQ API: draft, validation errors as data, submit, double submission', async () => {
  const b = new Browser(h.server.url);
  const email = `api.dev+${process.pid}@supplier.example`;
  let res = await b.request('/api/v1/accounts', { method: 'POST', contentType: 'application/json', body: JSON.stringify({ given_name: 'Api', family_name: 'Dev', email, password: 'a long enough password' }) });
  assert.equal(res.status, 202, res.body);
  res = await b.request('/api/v1/accounts', { method: 'POST', contentType: 'application/json', body: JSON.stringify({ given_name: 'Api', family_name: 'Dev', email, password: 'a long enough password' }) });
  assert.equal(res.status, 409, 'a duplicate account says so');
  const mail = await smtp.waitFor((m) => m.rcpt_tos.includes(email), 'api verification');
  const link = mail.body.match(/https?:\/\/\S+\/onboarding\/verify\?token=\S+/)[0];
  res = await b.get(link);
  await b.submit(res.form);
  await portalSignIn(b, email, 'a long enough password');
  res = await b.get('/api/v1/me');
  assert.equal(res.status, 200);
  const csrf = res.json.csrf_token;
  const put = (answers) => b.request('/api/v1/saq', { method: 'PUT', contentType: 'application/json', headers: { 'x-csrf-token': csrf }, body: JSON.stringify({ answers }) });
  res = await put({ ods_code: '!!', user_count: '-5' });
  assert.equal(res.status, 400);
  assert.ok(res.json.errors.ods_code && res.json.errors.user_count, JSON.stringify(res.json));
  res = await put({ org_name: 'Partial Ltd' });
  assert.equal(res.status, 200);
  res = await b.request('/api/v1/saq/submit', { method: 'POST', headers: { 'x-csrf-token': csrf } });
  assert.equal(res.status, 422);
  assert.ok(res.json.errors.ods_code, 'missing answers are listed');
  assert.equal((await b.get('/api/v1/saq')).json.answers.org_name, 'Partial Ltd', 'nothing lost');
  res = await put(COMPLETE);
  assert.equal(res.status, 200, res.body);
  const [a1, a2] = await Promise.all([0, 1].map(() => b.request('/api/v1/saq/submit', { method: 'POST', headers: { 'x-csrf-token': csrf } })));
  assert.deepEqual([a1.status, a2.status].sort(), [200, 409], 'two concurrent submissions record one');
  res = await b.get('/api/v1/saq');
  assert.equal(res.json.state, 'submitted');
  assert.equal(res.json.submissions, 1);
});
