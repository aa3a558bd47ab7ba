// Register for digital onboarding: an organisation (once, by ODS code) and its team, registered by
// an account whose SAQ was approved; members invited by e-mail (a real SMTP receiver), each
// invitation accepted once, by the account it was sent to; owners invite, members do not; other
// organisations see nothing. Pages and their API twins, bad input with its messages, audit events in
// the store, and axe-core's WCAG 2.2 A/AA rules on every page in Chromium.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after } from 'node:test';
import { setupServer, BACKEND } from './lib/careid.mjs';
import { Browser, decodeEntities, textOf } from './lib/browser.mjs';
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

const pid = process.pid;
const subjectOf = (m) => (m.headers?.subject || [])[0] || '';
const ODS_TAKEN = 'Organisation RBA is already registered in onboarding: ask a member of its team to invite you';
const SAQ_FIRST = 'Your Service Assessment Questionnaire must be approved first';

/** The invitation link of an invitation e-mailed to `email` that was not used yet by this file. */
async function invitationLink(email) {
  const mail = await smtp.waitFor((m) => m.rcpt_tos.includes(email.toLowerCase()) && /invited to join a team/.test(subjectOf(m))
    && !seenLinks.has(linkOf(m)), `invitation for ${email}`);
  const link = linkOf(mail);
  seenLinks.add(link);
  return { link, token: new URL(link).searchParams.get('token'), mail };
}
const seenLinks = new Set();
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const linkOf = (m) => (m.body.match(/https?:\/\/\S+\/onboarding\/invite\?token=[A-Za-z0-9_-]+/) || [])[0];

/** Fields of a page's form (hidden ones kept) with `values`. */
function fieldsOf(form, values) {
  return [...form.inputs.filter((i) => i.type === 'hidden').map((i) => [i.name, i.value]), ...Object.entries(values)];
}
const formOf = (res, action) => res.forms.find((f) => f.method === 'post' && new URL(f.action).pathname === action);

/** Rows of the store (server.sql), or undefined on SQLite when the sqlite3 CLI is not installed. */
function sql(query) {
  if (BACKEND === 'sqlite' && !existsSync('/usr/bin/sqlite3')) return Promise.resolve(undefined);
  return h.server.sql(query);
}

h.test('organisation and team: SAQ first, one registration per ODS code, invitations accepted once by their addressee', async () => {
  const owner = await newAccount(h.server, smtp, { given: 'Olu', family: 'Owner', email: `olu.owner+${pid}@supplier.example` });
  const rival = await newAccount(h.server, smtp, { given: 'Rae', family: 'Rival', email: `rae.rival+${pid}@elsewhere.example` });
  const invitee = await newAccount(h.server, smtp, { given: 'Ines', family: 'Invitee', email: `ines.invitee+${pid}@supplier.example` });
  const stranger = await newAccount(h.server, smtp, { given: 'Sol', family: 'Stranger', email: `sol.stranger+${pid}@supplier.example` });

  // before the SAQ is approved: nothing to register, nothing registered
  let res = await owner.browser.get('/onboarding/organisation');
  assert.equal(res.status, 403);
  assert.match(textOf(res.body), new RegExp(SAQ_FIRST));
  res = await owner.api.post('/api/v1/organisation', { ods_code: 'RBA', name: 'Okonkwo Clinical Systems Ltd', team_name: 'WardView team' });
  assert.equal(res.status, 403);
  assert.deepEqual(res.json, { error: 'saq_not_approved', message: SAQ_FIRST });
  res = await owner.api.get('/api/v1/organisation');
  assert.equal(res.status, 404);
  assert.equal(res.json.error, 'not_in_team');
  await approvedSaq(h.server, owner);
  await approvedSaq(h.server, rival);

  // the form; bad input is refused with a message per field, the form shown again with the values
  res = await owner.browser.get('/onboarding/organisation');
  assert.equal(res.status, 200);
  let form = formOf(res, '/onboarding/organisation');
  assert.ok(form, 'the registration form');
  res = await owner.browser.request(form.action, { method: 'POST', form: fieldsOf(form, { ods_code: 'R!A', name: '', team_name: 'x'.repeat(101) }) });
  assert.equal(res.status, 400);
  assert.match(res.body, /nhsuk-error-summary/);
  assert.match(res.body, /<a href="#ods_code">Enter an ODS code of 3 to 6 letters and digits, like RBA or 8JK22<\/a>/);
  assert.match(res.body, /<a href="#name">Enter your organisation&#39;s name<\/a>|<a href="#name">Enter your organisation's name<\/a>/);
  assert.match(res.body, /<a href="#team_name">Team name must be 100 characters or fewer<\/a>/);
  assert.match(res.body, /value="R!A"/, 'what was typed is shown back');
  assert.match(res.body, /id="ods_code"/);
  const bad = [
    [{ name: 'Okonkwo Ltd', team_name: 'T' }, 'ods_code', /Enter your organisation's ODS code/],
    [{ ods_code: 'AB', name: 'Okonkwo Ltd', team_name: 'T' }, 'ods_code', /3 to 6 letters and digits/],
    [{ ods_code: 'ABCDEFG', name: 'Okonkwo Ltd', team_name: 'T' }, 'ods_code', /3 to 6 letters and digits/],
    [{ ods_code: 'RB A', name: 'Okonkwo Ltd', team_name: 'T' }, 'ods_code', /3 to 6 letters and digits/],
    [{ ods_code: 'RBA', name: 'x'.repeat(201), team_name: 'T' }, 'name', /Organisation name must be 200 characters or fewer/],
    [{ ods_code: 'RBA', name: '   ', team_name: 'T' }, 'name', /Enter your organisation's name/],
    [{ ods_code: 'RBA', name: 'Okonkwo Ltd' }, 'team_name', /Enter a name for your team/],
    [{ ods_code: 'RBA', name: 'Okonkwo Ltd', team_name: 'Ward\nteam' }, 'team_name', /must not contain line breaks/],
    [{ ods_code: 42, name: 'Okonkwo Ltd', team_name: 'T' }, 'ods_code', /Enter your organisation's ODS code/],
  ];
  for (const [body, field, message] of bad) {
    res = await owner.api.post('/api/v1/organisation', body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.json.error, 'invalid_request');
    assert.match(res.json.errors[field], message, JSON.stringify(res.json));
  }
  res = await owner.api.post('/api/v1/organisation', {});
  assert.equal(res.status, 400);
  assert.deepEqual(Object.keys(res.json.errors).sort(), ['name', 'ods_code', 'team_name']);
  res = await owner.api.post('/api/v1/organisation', { ods_code: '!', name: 'é'.repeat(200), team_name: 'T'.repeat(100) });
  assert.deepEqual(Object.keys(res.json.errors), ['ods_code'], 'limits count characters, not bytes');
  res = await owner.browser.request('/api/v1/organisation', { method: 'POST', contentType: 'application/json', body: JSON.stringify({ ods_code: 'RBA' }) });
  assert.equal(res.status, 403, 'a write without the CSRF header is refused');
  assert.equal((await owner.api.get('/api/v1/organisation')).status, 404, 'nothing was created by any of these');

  // register through the page: the ODS code is upper-cased, the account is the team's owner
  res = await owner.browser.request(form.action, { method: 'POST', form: fieldsOf(form, { ods_code: ' rba ', name: 'Okonkwo Clinical Systems Ltd', team_name: 'WardView team' }) });
  assert.equal(res.status, 303, res.body.slice(0, 400));
  assert.equal(new URL(res.location).pathname, '/onboarding/team');
  ({ res } = await owner.browser.follow(res));
  assert.equal(res.status, 200);
  assert.match(res.body, /Team WardView team/);
  assert.match(res.body, /Okonkwo Clinical Systems Ltd \(RBA\)/);
  assert.match(res.body, new RegExp(`${esc(owner.email)}</td>\\s*<td class="nhsuk-table__cell">owner`));
  res = await owner.api.get('/api/v1/organisation');
  assert.equal(res.status, 200);
  assert.equal(res.json.organisation.ods_code, 'RBA');
  assert.equal(res.json.organisation.name, 'Okonkwo Clinical Systems Ltd');
  assert.equal(res.json.team.name, 'WardView team');
  assert.equal(res.json.team.role, 'owner');
  const rbaTeamId = res.json.team.id;
  res = await owner.browser.get('/onboarding/organisation');
  assert.equal(res.status, 200);
  assert.match(res.body, /Your organisation and team/);
  assert.ok(!formOf(res, '/onboarding/organisation'), 'no form once registered');

  // the same account again: already in a team
  res = await owner.browser.request(form.action, { method: 'POST', form: fieldsOf(form, { ods_code: 'XYZ1', name: 'Second Ltd', team_name: 'Second' }) });
  assert.equal(res.status, 409);
  assert.match(textOf(res.body), /You are already in team WardView team/);
  res = await owner.api.post('/api/v1/organisation', { ods_code: 'XYZ1', name: 'Second Ltd', team_name: 'Second' });
  assert.equal(res.status, 409);
  assert.equal(res.json.message, 'You are already in team WardView team');

  // another approved account, the same ODS code: refused, nothing created, no member revealed
  res = await rival.api.post('/api/v1/organisation', { ods_code: 'rba', name: 'Impostor Ltd', team_name: 'Impostors' });
  assert.equal(res.status, 409);
  assert.equal(res.json.error, 'organisation_exists');
  assert.equal(res.json.message, ODS_TAKEN);
  assert.ok(!res.body.includes(owner.email) && !res.body.includes('WardView'), 'its team is not revealed');
  res = await rival.browser.get('/onboarding/organisation');
  const rform = formOf(res, '/onboarding/organisation');
  res = await rival.browser.request(rform.action, { method: 'POST', form: fieldsOf(rform, { ods_code: 'RBA', name: 'Impostor Ltd', team_name: 'Impostors' }) });
  assert.equal(res.status, 409);
  assert.match(textOf(res.body), new RegExp(ODS_TAKEN));
  assert.match(res.body, /<a href="#ods_code">/);
  assert.equal((await rival.api.get('/api/v1/organisation')).status, 404, 'the rival is in no team');
  assert.equal((await rival.api.get('/api/v1/team')).status, 404);
  const orgs = await sql("SELECT ods_code, name FROM ob_organisations WHERE ods_code = 'RBA'");
  if (orgs) assert.deepEqual(orgs, [{ ods_code: 'RBA', name: 'Okonkwo Clinical Systems Ltd' }]);

  // invite by e-mail through the team page
  res = await owner.browser.get('/onboarding/team');
  const tform = formOf(res, '/onboarding/team');
  assert.ok(tform, 'owners see the invite form');
  assert.ok(tform.radios.role.every((r) => r.label), 'labelled role radios');
  res = await owner.browser.request(tform.action, { method: 'POST', form: fieldsOf(tform, { email: invitee.email.toUpperCase(), role: 'member' }) });
  assert.equal(res.status, 303, res.body.slice(0, 400));
  ({ res } = await owner.browser.follow(res));
  assert.match(res.body, /The invitation has been sent/);
  assert.match(res.body, new RegExp(`id="invitations"[\\s\\S]*${esc(invitee.email)}`), 'a pending invitation, address lower-cased');
  const inv = await invitationLink(invitee.email);
  assert.match(inv.mail.body, /Olu Owner/);
  assert.match(inv.mail.body, /WardView team/);
  const stored = await sql('SELECT token_hash FROM ob_invitations');
  if (stored) assert.ok(stored.length > 0 && stored.every((r) => r.token_hash !== inv.token && /^[0-9a-f]{64}$/.test(r.token_hash)), 'only a keyed hash of the token is stored');

  // the invitation page, then accepting it: a member, once
  res = await invitee.browser.get(inv.link);
  assert.equal(res.status, 200);
  assert.match(res.body, /Join team WardView team/);
  assert.match(res.body, /Okonkwo Clinical Systems Ltd/);
  const aform = formOf(res, '/onboarding/invite');
  assert.ok(aform, 'an Accept button');
  res = await invitee.browser.request(aform.action, { method: 'POST', form: fieldsOf(aform, {}) });
  assert.equal(res.status, 303, res.body.slice(0, 400));
  ({ res } = await invitee.browser.follow(res));
  assert.match(res.body, /You have joined team WardView team/);
  assert.match(res.body, new RegExp(`${esc(invitee.email)}</td>\\s*<td class="nhsuk-table__cell">member`));
  res = await invitee.browser.request(aform.action, { method: 'POST', form: fieldsOf(aform, {}) });
  assert.equal(res.status, 400, 'an invitation works once');
  assert.match(textOf(res.body), /already been used/);
  res = await invitee.api.post('/api/v1/invitations/accept', { token: inv.token });
  assert.equal(res.status, 400);
  assert.equal(res.json.error, 'already_used');
  res = await invitee.browser.get(inv.link);
  assert.equal(res.status, 400);
  assert.match(textOf(res.body), /already been used/);
  res = await invitee.api.get('/api/v1/organisation');
  assert.equal(res.status, 200);
  assert.equal(res.json.team.id, rbaTeamId);
  assert.equal(res.json.team.role, 'member', 'the invitee needed no SAQ of their own');
  res = await invitee.api.get('/api/v1/team');
  assert.equal(res.status, 200);
  assert.deepEqual(res.json.members.map((m) => [m.email, m.role]), [[owner.email, 'owner'], [invitee.email, 'member']]);
  assert.deepEqual(res.json.invitations, []);

  // a member cannot invite
  res = await invitee.browser.get('/onboarding/team');
  assert.ok(!formOf(res, '/onboarding/team'), 'no invite form for members');
  assert.match(res.body, /Only the team&#39;s owners can invite|Only the team's owners can invite/);
  res = await invitee.browser.request('/onboarding/team', { method: 'POST', form: fieldsOf(aform, { email: `friend+${pid}@supplier.example`, role: 'member' }) });
  assert.equal(res.status, 403);
  res = await invitee.api.post('/api/v1/invitations', { email: `friend+${pid}@supplier.example`, role: 'owner' });
  assert.equal(res.status, 403);
  assert.equal(res.json.error, 'forbidden');

  // inviting a member again, or with bad input: refused with a message
  res = await owner.api.post('/api/v1/invitations', { email: invitee.email, role: 'member' });
  assert.equal(res.status, 409);
  assert.equal(res.json.message, `${invitee.email} is already a member of team WardView team`);
  res = await owner.browser.request(tform.action, { method: 'POST', form: fieldsOf(tform, { email: invitee.email, role: 'owner' }) });
  assert.equal(res.status, 409);
  assert.match(textOf(res.body), /is already a member of team WardView team/);
  for (const [body, field, message] of [
    [{ email: 'not an address', role: 'member' }, 'email', /Enter an e-mail address in the correct format/],
    [{ email: 'a@b', role: 'member' }, 'email', /correct format/],
    [{ email: `${'x'.repeat(300)}@supplier.example`, role: 'member' }, 'email', /correct format/],
    [{ role: 'member' }, 'email', /Enter the e-mail address of the person to invite/],
    [{ email: `friend+${pid}@supplier.example`, role: 'admin' }, 'role', /owner or a member/],
    [{ email: `friend+${pid}@supplier.example` }, 'role', /owner or a member/],
  ]) {
    res = await owner.api.post('/api/v1/invitations', body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(res.json.errors[field], message);
  }
  res = await owner.browser.request(tform.action, { method: 'POST', form: fieldsOf(tform, { email: 'not an address' }) });
  assert.equal(res.status, 400);
  assert.match(res.body, /<a href="#email">Enter an e-mail address in the correct format/);
  assert.match(res.body, /<a href="#role">Choose whether they will be an owner or a member<\/a>/);
  assert.match(res.body, /value="not an address"/);

  // an invitation sent to one address cannot be accepted by another account
  res = await owner.api.post('/api/v1/invitations', { email: `someone.else+${pid}@supplier.example`, role: 'owner' });
  assert.equal(res.status, 201, res.body);
  assert.equal(res.json.role, 'owner');
  const other = await invitationLink(`someone.else+${pid}@supplier.example`);
  res = await stranger.browser.get(other.link);
  assert.equal(res.status, 200);
  assert.match(textOf(res.body), /This invitation was sent to someone\.else/);
  assert.ok(!formOf(res, '/onboarding/invite'), 'no Accept button for another account');
  res = await stranger.browser.request('/onboarding/invite', { method: 'POST', form: fieldsOf(aform, { token: other.token }) });
  assert.equal(res.status, 403);
  res = await stranger.api.post('/api/v1/invitations/accept', { token: other.token });
  assert.equal(res.status, 403);
  assert.equal(res.json.error, 'wrong_account');
  assert.equal((await stranger.api.get('/api/v1/organisation')).status, 404, 'the stranger joined nothing');
  res = await owner.api.get('/api/v1/team');
  assert.deepEqual(res.json.invitations.map((i) => [i.email, i.role]), [[`someone.else+${pid}@supplier.example`, 'owner']], 'still pending');
  res = await stranger.api.get(`/api/v1/invitations/accept?token=${other.token}`);
  assert.equal(res.status, 200, 'the API twin of the invitation page');
  assert.equal(res.json.team.name, 'WardView team');
  assert.equal(res.json.can_accept, false);
  assert.match(res.json.problem, /was sent to someone\.else/);

  // tokens that are not invitations
  res = await stranger.browser.get('/onboarding/invite?token=not-a-real-token');
  assert.equal(res.status, 400);
  assert.match(textOf(res.body), /not valid/);
  res = await stranger.browser.get('/onboarding/invite?token=%3Cscript%3E');
  assert.equal(res.status, 400);
  res = await stranger.api.post('/api/v1/invitations/accept', {});
  assert.equal(res.status, 400);
  assert.equal(res.json.error, 'invalid_invitation');

  // signed out: the invitation page asks to sign in and comes back to itself; owners invite
  const second = { given: 'Kai', family: 'Second', email: `kai.second+${pid}@supplier.example`, password: 'another long password' };
  res = await new Browser(h.server.url).request('/api/v1/accounts', { method: 'POST', contentType: 'application/json', body: JSON.stringify({ given_name: second.given, family_name: second.family, email: second.email, password: second.password }) });
  assert.equal(res.status, 202);
  const vmail = await smtp.waitFor((m) => m.rcpt_tos.includes(second.email) && /verify\?token=/.test(m.body), 'verification');
  const fresh = new Browser(h.server.url);
  res = await fresh.get(vmail.body.match(/https?:\/\/\S+\/onboarding\/verify\?token=\S+/)[0]);
  await fresh.submit(res.form);
  res = await owner.api.post('/api/v1/invitations', { email: second.email, role: 'owner' });
  assert.equal(res.status, 201);
  const inv2 = await invitationLink(second.email);
  res = await fresh.get(inv2.link);
  assert.equal(res.status, 200);
  assert.ok(!formOf(res, '/onboarding/invite'), 'no Accept button before signing in');
  const signinHref = decodeEntities(res.body).match(/href="(\/onboarding\/signin\?return_to=[^"]+)"/)[1];
  res = await fresh.request('/onboarding/invite', { method: 'POST', form: { token: inv2.token } });
  assert.equal(res.status, 303, 'accepting signed out: sign in first');
  assert.equal(new URL(res.location).searchParams.get('return_to'), `/onboarding/invite?token=${inv2.token}`);
  res = await fresh.get(signinHref);
  ({ res } = await fresh.follow(res));
  assert.equal(res.kind, 'login');
  res = await fresh.submit(res.form, { username: second.email, password: second.password });
  ({ res } = await fresh.follow(res));
  assert.equal(res.status, 200);
  assert.equal(new URL(res.url).pathname + new URL(res.url).search, `/onboarding/invite?token=${inv2.token}`, 'back on the invitation');
  const a2 = formOf(res, '/onboarding/invite');
  const twice = await Promise.all([0, 1].map(() => fresh.request(a2.action, { method: 'POST', form: fieldsOf(a2, {}) })));
  assert.deepEqual(twice.map((x) => x.status).sort(), [303, 400], 'two concurrent acceptances: one recorded');
  res = await fresh.get('/onboarding/team');
  assert.ok(formOf(res, '/onboarding/team'), 'an owner by invitation can invite');

  // isolation: another organisation's team sees only itself
  const both = await Promise.all([0, 1].map(() => rival.api.post('/api/v1/organisation', { ods_code: 'OT1', name: 'Elsewhere Health Ltd', team_name: 'Elsewhere' })));
  assert.deepEqual(both.map((x) => x.status).sort(), [201, 409], 'two concurrent registrations: one recorded');
  res = both.find((x) => x.status === 201);
  assert.notEqual(res.json.team.id, rbaTeamId);
  res = await rival.api.get('/api/v1/team');
  assert.deepEqual(res.json.members.map((m) => m.email), [rival.email]);
  res = await rival.browser.get('/onboarding/team');
  assert.ok(!res.body.includes(owner.email) && !res.body.includes('WardView'), 'nothing of the other organisation');
  res = await rival.api.get(`/api/v1/team?team_id=${rbaTeamId}`);
  assert.deepEqual(res.json.members.map((m) => m.email), [rival.email], 'a team id in the query changes nothing');
  assert.equal((await rival.api.get(`/api/v1/teams/${rbaTeamId}`)).status, 404, 'no team is addressed by id');
  res = await rival.api.post('/api/v1/invitations/accept', { token: other.token });
  assert.equal(res.status, 403, 'nor can another organisation take an invitation');

  // audit events, each with its change
  const events = await sql("SELECT action, subject, actor FROM audit_events WHERE action LIKE 'org.%' OR action LIKE 'team.%' ORDER BY seq");
  if (events) {
    const actions = events.map((e) => e.action);
    assert.deepEqual(actions.filter((a) => a === 'org.registered').length, 2);
    assert.deepEqual(actions.filter((a) => a === 'team.created').length, 2);
    assert.deepEqual(actions.filter((a) => a === 'team.invited').length, 3);
    assert.deepEqual(actions.filter((a) => a === 'team.joined').length, 2);
    const members = await sql(`SELECT COUNT(*) AS n FROM ob_team_members WHERE team_id = '${rbaTeamId}'`);
    assert.deepEqual(members, [{ n: 3 }]);
    assert.ok(events.filter((e) => e.action === 'team.joined').every((e) => e.subject === `team:${rbaTeamId}`));
  }
});

h.test('organisation, team and invitation pages pass WCAG 2.2 A/AA checks', { timeout: 120000 }, async () => {
  const base = h.server.url;
  const dev = await newAccount(h.server, smtp, { given: 'Ada', family: 'Access', email: `ada.access+${pid}@supplier.example` });
  const mate = await newAccount(h.server, smtp, { given: 'Mo', family: 'Mate', email: `mo.mate+${pid}@supplier.example` });
  await approvedSaq(h.server, dev);
  const b = await launch();
  const b2 = await launch();
  try {
    const page = await b.ctx.newPage();
    const signIn = async (p, email, password) => {
      await p.goto(`${base}/onboarding/signin`);
      await p.fill('#username', email);
      await p.fill('#password', password);
      await Promise.all([p.waitForURL(`${base}/onboarding/**`), p.click('button[type=submit]')]);
    };
    await signIn(page, dev.email, dev.password);
    await page.goto(`${base}/onboarding/organisation`);
    await axeWcag(page, 'organisation form');
    await screenshot(page, 'onboarding-organisation.png');
    await page.fill('#ods_code', 'no!');
    await page.click('form[action="/onboarding/organisation"] button[type=submit]');
    await page.waitForSelector('.nhsuk-error-summary');
    await axeWcag(page, 'organisation form with errors');
    assert.equal(await page.inputValue('#ods_code'), 'no!');
    await page.fill('#ods_code', 'A11Y');
    await page.fill('#name', 'Accessible Health Ltd');
    await page.fill('#team_name', 'Access team');
    await Promise.all([page.waitForURL(`${base}/onboarding/team`), page.click('form[action="/onboarding/organisation"] button[type=submit]')]);
    await axeWcag(page, 'team page (owner)');
    await page.fill('#email', 'not an address');
    await page.click('form[action="/onboarding/team"] button[type=submit]');
    await page.waitForSelector('.nhsuk-error-summary');
    await axeWcag(page, 'team page with errors');
    await page.fill('#email', mate.email);
    await page.check('#role');
    await Promise.all([page.waitForURL(`${base}/onboarding/team?sent=1`), page.click('form[action="/onboarding/team"] button[type=submit]')]);
    await axeWcag(page, 'team page with a pending invitation');
    await screenshot(page, 'onboarding-team.png');
    await page.goto(`${base}/onboarding/organisation`);
    await axeWcag(page, 'organisation registered');

    const { link } = await invitationLink(mate.email);
    const p2 = await b2.ctx.newPage();
    await p2.goto(link);
    await axeWcag(p2, 'invitation (signed out)');
    await Promise.all([p2.waitForURL(/\/realms\/portal\//), p2.click('a[href^="/onboarding/signin"]')]);
    await p2.fill('#username', mate.email);
    await p2.fill('#password', mate.password);
    await Promise.all([p2.waitForURL(`${base}/onboarding/invite?token=**`), p2.click('button[type=submit]')]);
    await axeWcag(p2, 'invitation (signed in)');
    await screenshot(p2, 'onboarding-invitation.png');
    await Promise.all([p2.waitForURL(`${base}/onboarding/team?joined=1`), p2.click('form[action="/onboarding/invite"] button[type=submit]')]);
    await axeWcag(p2, 'team page (member)');
    assert.match(await p2.textContent('#members'), /Ada Access/);
  } finally {
    await b.close();
    await b2.close();
  }
});

h.test('the portal session is needed: signed-out API calls and pages', async () => {
  const anon = new Browser(h.server.url);
  for (const path of ['/api/v1/organisation', '/api/v1/team', '/api/v1/invitations/accept?token=abc']) {
    const res = await anon.get(path);
    assert.equal(res.status, 401, path);
  }
  let res = await anon.get('/onboarding/team');
  assert.equal(res.status, 303);
  assert.match(res.location, /\/onboarding\/signin\?return_to=%2Fonboarding%2Fteam/);
  res = await anon.get('/onboarding/organisation');
  assert.equal(res.status, 303);
  // a signed-in account with no team sees where to start
  const lone = await newAccount(h.server, smtp, { email: `lone+${pid}@supplier.example` });
  res = await lone.browser.get('/onboarding/team');
  assert.equal(res.status, 200);
  assert.match(res.body, /You are not in a team yet/);
  res = await lone.api.get('/api/v1/team');
  assert.equal(res.status, 404);
  res = await lone.api.post('/api/v1/invitations', { email: `x+${pid}@supplier.example`, role: 'member' });
  assert.equal(res.status, 404);
  assert.equal(res.json.error, 'not_in_team');
});
