// Products and CIS2 Authentication: registered by a team whose SAQ was approved, named once
// across onboarding (a second registration says whether CIS2 was added), CIS2 Authentication by
// request only, decided by the CIS2 team, the team told by e-mail; other organisations see nothing.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { setupServer } from './lib/careid.mjs';
import { startSmtp } from './lib/smtp.mjs';
import { newAccount, approvedSaq } from './lib/portal.mjs';

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

h.test('products: registration, uniqueness, CIS2 access by request, isolation between organisations', async () => {
  const a = await newAccount(h.server, smtp, { email: `prod.a+${process.pid}@supplier.example` });
  const b = await newAccount(h.server, smtp, { email: `prod.b+${process.pid}@other.example` });

  // nothing before the SAQ is approved
  let r = await a.api.post('/api/v1/products', { name: 'WardView' });
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'saq_not_approved');
  const reviewer = await approvedSaq(h.server, a);
  await approvedSaq(h.server, b);

  // a team first
  r = await a.api.post('/api/v1/products', { name: 'WardView' });
  assert.equal(r.status, 403);
  assert.equal(r.json.error, 'no_team');
  r = await a.api.post('/api/v1/organisation', { ods_code: 'RW1', name: 'Ward Systems Ltd', team_name: 'Ward team' });
  assert.equal(r.status, 201, r.body);
  r = await b.api.post('/api/v1/organisation', { ods_code: 'OT9', name: 'Other Health Ltd', team_name: 'Other team' });
  assert.equal(r.status, 201, r.body);

  // register
  r = await a.api.post('/api/v1/products', { name: 'WardView', description: 'Observations' });
  assert.equal(r.status, 201, r.body);
  const product = r.json;
  assert.equal(product.cis2_access, 'none');
  r = await a.api.post('/api/v1/products', { name: 'wardview ' });
  assert.equal(r.status, 409);
  assert.match(r.json.errors.name, /already registered, and CIS2 Authentication has not been added/);
  r = await a.api.post('/api/v1/products', { name: '' });
  assert.equal(r.status, 400);
  r = await a.api.post('/api/v1/products', { name: 'x'.repeat(101) });
  assert.equal(r.status, 400);

  // another organisation cannot see or act on it
  r = await b.api.get(`/api/v1/products/${product.id}`);
  assert.equal(r.status, 404);
  r = await b.api.post(`/api/v1/products/${product.id}/access`);
  assert.equal(r.status, 404);
  assert.deepEqual((await b.api.get('/api/v1/products')).json, []);

  // CIS2 access by request
  r = await a.api.post(`/api/v1/products/${product.id}/access`);
  assert.equal(r.status, 202, r.body);
  assert.equal(r.json.product.cis2_access, 'requested');
  assert.match(r.json.due_date, /^\d{4}-\d{2}-\d{2}$/);
  r = await a.api.post(`/api/v1/products/${product.id}/access`);
  assert.equal(r.status, 409, 'one request at a time');

  // the CIS2 team adds it; the team is told
  const q = await reviewer.get('/api/v1/reviews');
  const req = q.json.open.find((x) => x.kind === 'access' && x.subject_id === product.id);
  assert.ok(req, 'the access request is in the queue');
  r = await reviewer.post(`/api/v1/reviews/${req.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);
  await smtp.waitFor((m) => m.rcpt_tos.includes(a.email) && /CIS2 Authentication for your product/.test(subjectOf(m)) && /added it/.test(m.body), 'access granted e-mail');
  r = await a.api.get(`/api/v1/products/${product.id}`);
  assert.equal(r.json.cis2_access, 'granted');
  r = await a.api.post(`/api/v1/products/${product.id}/access`);
  assert.equal(r.status, 409, 'already added');

  // registering it again elsewhere says CIS2 has been added
  r = await b.api.post('/api/v1/products', { name: 'WARDVIEW' });
  assert.equal(r.status, 409);
  assert.match(r.json.errors.name, /CIS2 Authentication has been added/);
});

h.test('lists hold every row: two products, two open reviews', async () => {
  const a = await newAccount(h.server, smtp, { email: `list.a+${process.pid}@supplier.example` });
  const reviewer = await approvedSaq(h.server, a);
  let r = await a.api.post('/api/v1/organisation', { ods_code: 'LS1', name: 'List Systems Ltd', team_name: 'List team' });
  assert.equal(r.status, 201, r.body);
  const names = [`Alpha ${process.pid}`, `Beta ${process.pid}`];
  const ids = [];
  for (const name of names) {
    r = await a.api.post('/api/v1/products', { name });
    assert.equal(r.status, 201, r.body);
    ids.push(r.json.id);
  }
  r = await a.api.get('/api/v1/products');
  assert.deepEqual(r.json.map((p) => p.name).sort(), names.sort(), 'both products are listed');
  for (const id of ids) assert.equal((await a.api.post(`/api/v1/products/${id}/access`)).status, 202);
  const q = await reviewer.get('/api/v1/reviews');
  const mine = q.json.open.filter((x) => x.kind === 'access' && ids.includes(x.subject_id));
  assert.equal(mine.length, 2, 'both access requests are in the queue');
});
