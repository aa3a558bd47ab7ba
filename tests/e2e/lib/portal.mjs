// Helpers for onboarding portal tests: accounts verified through the e-mail link, portal
// sign-in through careid's own sign-in page, the SAQ approved by the demo reviewer.
import assert from 'node:assert/strict';
import { Browser } from './browser.mjs';
import { DEMO_PASSWORD } from './careid.mjs';

export const REVIEWER = 'reviewer@cis2.example';

/** A complete, valid set of SAQ answers. */
export const SAQ_COMPLETE = {
  org_name: 'Okonkwo Clinical Systems Ltd', ods_code: '8JK22', contact_name: 'Alex Okonkwo', contact_email: 'alex@supplier.example',
  product_name: 'WardView', product_description: 'Bedside observations and handover for acute wards.', product_url: 'https://wardview.example',
  care_settings: ['acute', 'community'], use_case: 'Clinicians sign in at the start of a shift to record observations.',
  why_cis2: 'Users are NHS staff with smartcards and need role-based access to patient records.',
  user_groups: 'Nurses, healthcare assistants, doctors', user_count: '4000', auths_per_day: '12000', auths_peak_hour: '3000',
  authenticators: ['smartcard', 'fido2'], assurance_level: 'AAL3', national_apis: ['pds'], cis1_migration: 'no',
  deployment_model: 'single_instance', development_start: '2026-09-01', go_live: '2027-06-01',
};

/** Signs a browser in to the portal through careid's sign-in page; returns the landing page. */
export async function portalSignIn(browser, username, password) {
  let res = await browser.get('/onboarding/signin');
  ({ res } = await browser.follow(res));
  assert.equal(res.kind, 'login', `the portal sends people to careid's sign-in page: ${res.status} ${res.url}`);
  res = await browser.submit(res.form, { username, password });
  ({ res } = await browser.follow(res));
  return res;
}

/** JSON API calls with the session's CSRF token. */
export async function api(browser) {
  const me = await browser.get('/api/v1/me');
  assert.equal(me.status, 200, `signed in: ${me.body}`);
  const csrf = me.json.csrf_token;
  const call = (method, path, body) => browser.request(path, {
    method, headers: { 'x-csrf-token': csrf },
    ...(body === undefined ? {} : { body: JSON.stringify(body), contentType: 'application/json' }),
  });
  return { me: me.json, call, get: (p) => call('GET', p), post: (p, b) => call('POST', p, b ?? {}), put: (p, b) => call('PUT', p, b) };
}

/** Registers and verifies (through the e-mail at the SMTP receiver) an account; signs it in. */
export async function newAccount(server, smtp, { given = 'Test', family = 'Developer', email, password = 'a long enough password' } = {}) {
  const b = new Browser(server.url);
  const r = await b.request('/api/v1/accounts', { method: 'POST', contentType: 'application/json', body: JSON.stringify({ given_name: given, family_name: family, email, password }) });
  assert.equal(r.status, 202, `account for ${email}: ${r.body}`);
  const mail = await smtp.waitFor((m) => m.rcpt_tos.includes(email.toLowerCase()) && /verify\?token=/.test(m.body || ''), `verification for ${email}`);
  const link = mail.body.match(/https?:\/\/\S+\/onboarding\/verify\?token=\S+/)[0];
  const page = await b.get(link);
  await b.submit(page.form);
  await portalSignIn(b, email, password);
  return { browser: b, email, password, api: await api(b) };
}

/** The account submits a complete SAQ and the demo reviewer approves it. */
export async function approvedSaq(server, account) {
  let r = await account.api.put('/api/v1/saq', { answers: SAQ_COMPLETE });
  assert.equal(r.status, 200, r.body);
  r = await account.api.post('/api/v1/saq/submit');
  assert.equal(r.status, 200, r.body);
  const rev = new Browser(server.url);
  await portalSignIn(rev, REVIEWER, DEMO_PASSWORD);
  const ra = await api(rev);
  const q = await ra.get('/api/v1/reviews');
  const mine = q.json.open.find((x) => x.kind === 'saq' && x.email === account.email.toLowerCase());
  assert.ok(mine, `the SAQ of ${account.email} is in the queue`);
  r = await ra.post(`/api/v1/reviews/${mine.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);
  return ra;
}

/** Like approvedSaq, with SAQ_COMPLETE's answers changed by `overrides`; returns the reviewer's api. */
export async function approvedSaqWith(server, account, overrides = {}) {
  let r = await account.api.put('/api/v1/saq', { answers: { ...SAQ_COMPLETE, ...overrides } });
  assert.equal(r.status, 200, r.body);
  r = await account.api.post('/api/v1/saq/submit');
  assert.equal(r.status, 200, r.body);
  const rev = new Browser(server.url);
  await portalSignIn(rev, REVIEWER, DEMO_PASSWORD);
  const ra = await api(rev);
  const q = await ra.get('/api/v1/reviews');
  const mine = q.json.open.find((x) => x.kind === 'saq' && x.email === account.email.toLowerCase());
  assert.ok(mine, `the SAQ of ${account.email} is in the queue`);
  r = await ra.post(`/api/v1/reviews/${mine.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);
  return ra;
}

/** A new product of the account's team, with CIS2 Authentication granted by `reviewer` (an api()). */
export async function grantedProduct(account, reviewer, name) {
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
