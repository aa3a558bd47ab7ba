// Nobody on the CIS2 onboarding team decides on their own submission or on one of their own
// supplier team's (a member of the CIS2 team may also belong to a supplier's team): refused with
// 403 and a message naming the rule, in the API and on the review page, and nothing decided;
// another member of the CIS2 team decides as usual.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { setupServer, describeCli } from './lib/careid.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { newAccount, approvedSaq, api, portalSignIn, SAQ_COMPLETE } from './lib/portal.mjs';
import { Browser, textOf } from './lib/browser.mjs';

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
const OWN = 'You made this submission: another member of the CIS2 onboarding team must decide on it.';
const TEAM = 'This is a submission of your own team: another member of the CIS2 onboarding team must decide on it.';

const openOf = async (reviewer, pred) => (await reviewer.get('/api/v1/reviews')).json.open.find(pred);

h.test('reviews: a CIS2 team member cannot decide their own submission or their own team\'s', async (t, server) => {
  // a second member of the CIS2 team, who also joins a supplier's team
  const email = `second.reviewer+${pid}@cis2.example`;
  const password = 'a long enough password';
  const r0 = await server.cli('onboarding account add', ['--email', email, '--name', 'Robin Second', '--reviewer'], { input: `${password}\n` });
  assert.equal(r0.code, 0, describeCli(r0));
  const rb = new Browser(server.url);
  await portalSignIn(rb, email, password);
  const second = { email, browser: rb, api: await api(rb) };
  assert.equal(second.api.me.reviewer, true);

  // their own SAQ: refused to them, decided by the demo reviewer
  const owner = await newAccount(server, smtp, { email: `conflict.owner+${pid}@supplier.example` });
  const demo = await approvedSaq(server, owner);
  let r = await second.api.put('/api/v1/saq', { answers: SAQ_COMPLETE });
  assert.equal(r.status, 200, r.body);
  r = await second.api.post('/api/v1/saq/submit');
  assert.equal(r.status, 200, r.body);
  const saq = await openOf(demo, (x) => x.kind === 'saq' && x.email === email);
  r = await second.api.post(`/api/v1/reviews/${saq.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 403, r.body);
  assert.equal(r.json.error, 'conflict_of_interest');
  assert.equal(r.json.message, OWN);
  const page = await second.browser.get(`/onboarding/review/${saq.id}`);
  const form = page.forms.find((f) => f.action.endsWith(`/review/${saq.id}`));
  const res = await second.browser.request(form.action, { method: 'POST', form: { csrf: form.inputs.find((i) => i.name === 'csrf').value, decision: 'approve' } });
  assert.equal(res.status, 403);
  assert.match(textOf(res.body), new RegExp(OWN.replace(/[.:]/g, '\\$&')));
  assert.ok(await openOf(demo, (x) => x.id === saq.id), 'still open: nothing decided');
  r = await demo.post(`/api/v1/reviews/${saq.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);

  // the owner's team, which the second reviewer joins
  r = await owner.api.post('/api/v1/organisation', { ods_code: 'CI1', name: 'Conflict Systems Ltd', team_name: 'Conflict team' });
  assert.equal(r.status, 201, r.body);
  r = await owner.api.post('/api/v1/invitations', { email, role: 'member' });
  assert.equal(r.status, 201, r.body);
  const mail = await smtp.waitFor((m) => m.rcpt_tos.includes(email) && /invite\?token=/.test(m.body || ''), 'the invitation');
  const token = mail.body.match(/invite\?token=([A-Za-z0-9_-]+)/)[1];
  r = await second.api.post('/api/v1/invitations/accept', { token });
  assert.equal(r.status, 200, r.body);

  // the team's access request, made by the owner: refused to the second reviewer as their team's
  r = await owner.api.post('/api/v1/products', { name: `Conflicted ${pid}` });
  assert.equal(r.status, 201, r.body);
  const product = r.json;
  r = await owner.api.post(`/api/v1/products/${product.id}/access`);
  assert.equal(r.status, 202, r.body);
  const access = await openOf(demo, (x) => x.kind === 'access' && x.subject_id === product.id);
  r = await second.api.post(`/api/v1/reviews/${access.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 403, r.body);
  assert.equal(r.json.error, 'conflict_of_interest');
  assert.equal(r.json.message, TEAM);
  r = await owner.api.get(`/api/v1/products/${product.id}`);
  assert.equal(r.json.cis2_access, 'requested', 'not granted');

  // and another supplier's request is theirs to decide
  const other = await newAccount(server, smtp, { email: `conflict.other+${pid}@elsewhere.example` });
  await approvedSaq(server, other);
  r = await other.api.post('/api/v1/organisation', { ods_code: 'CI2', name: 'Elsewhere Ltd', team_name: 'Elsewhere team' });
  assert.equal(r.status, 201, r.body);
  r = await other.api.post('/api/v1/products', { name: `Unrelated ${pid}` });
  r = await other.api.post(`/api/v1/products/${r.json.id}/access`);
  assert.equal(r.status, 202, r.body);
  const theirs = await openOf(demo, (x) => x.kind === 'access' && x.subject_id === r.json.product.id);
  r = await second.api.post(`/api/v1/reviews/${theirs.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);
});
