// Service updates to the distribution list: everyone subscribed (by submitting an SAQ) gets the
// update with their own working unsubscribe link; whoever left gets nothing; only the CIS2 team
// can send one.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { setupServer, DEMO_PASSWORD } from './lib/careid.mjs';
import { Browser } from './lib/browser.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { newAccount, portalSignIn, api, SAQ_COMPLETE, REVIEWER } from './lib/portal.mjs';

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

async function subscribed(email) {
  const a = await newAccount(h.server, smtp, { email });
  assert.equal((await a.api.put('/api/v1/saq', { answers: SAQ_COMPLETE })).status, 200);
  assert.equal((await a.api.post('/api/v1/saq/submit')).status, 200);
  const welcome = await smtp.waitFor((m) => m.rcpt_tos.includes(email) && /service updates/.test(subjectOf(m)), `welcome for ${email}`);
  return { ...a, unsubscribe: welcome.body.match(/https?:\/\/\S+\/onboarding\/unsubscribe\?token=\S+/)[0] };
}

h.test('a service update reaches the list, each with a working unsubscribe link', async () => {
  const stay = await subscribed(`stay+${process.pid}@supplier.example`);
  const leave = await subscribed(`leave+${process.pid}@supplier.example`);
  // one leaves with the link from the welcome e-mail
  let res = await leave.browser.get(leave.unsubscribe);
  res = await leave.browser.submit(res.forms.find((f) => f.action.includes('unsubscribe')));
  assert.match(res.body, /You have left/);

  // a supplier cannot send updates
  let r = await stay.api.post('/api/v1/updates', { subject: 'x', text: 'y' });
  assert.equal(r.status, 403);

  const rev = new Browser(h.server.url);
  await portalSignIn(rev, REVIEWER, DEMO_PASSWORD);
  const ra = await api(rev);
  r = await ra.post('/api/v1/updates', { subject: 'Bad\nsubject', text: 'y' });
  assert.equal(r.status, 400);
  r = await ra.post('/api/v1/updates', { subject: `Release 2.1 (${process.pid})`, text: 'FIDO2 keys are supported in INT.' });
  assert.equal(r.status, 202, r.body);
  assert.ok(r.json.sent >= 1);

  const got = await smtp.waitFor((m) => m.rcpt_tos.includes(stay.email) && subjectOf(m).includes(`Release 2.1 (${process.pid})`), 'the update');
  assert.match(got.body, /FIDO2 keys are supported/);
  assert.ok(got.headers['list-unsubscribe'], 'List-Unsubscribe');
  const link = got.body.match(/https?:\/\/\S+\/onboarding\/unsubscribe\?token=\S+/)[0];
  assert.equal(link, stay.unsubscribe, 'the same working link as in the welcome e-mail');
  await new Promise((res2) => setTimeout(res2, 1500));
  const toLeaver = (await smtp.messages()).filter((m) => m.rcpt_tos.includes(leave.email) && subjectOf(m).includes('Release 2.1'));
  assert.equal(toLeaver.length, 0, 'nothing for an address that left the list');

  // the update's link works too
  res = await stay.browser.get(link);
  res = await stay.browser.submit(res.forms.find((f) => f.action.includes('unsubscribe')));
  assert.match(res.body, /You have left/);
});
