// The audit trail's hash chain: sign-ins (and failures) are audit events, `careid audit verify`
// passes on the untouched store, and names the row when one is edited or deleted behind careid's
// back (with SQL on the running server's store). Deleting the newest rows leaves a
// valid chain: only an anchor kept from an earlier verify reveals it.
import assert from 'node:assert/strict';
import { setupServer, USERS, DEMO_PASSWORD, describeCli } from './lib/careid.mjs';
import { makeRp } from './lib/rp.mjs';
import { Browser } from './lib/browser.mjs';

const h = setupServer();

/** The single value of a one-row, one-column query. */
async function scalar(server, statement) {
  const rows = await server.sql(statement);
  assert.equal(rows.length, 1, `one row from ${statement}: ${JSON.stringify(rows)}`);
  return Object.values(rows[0])[0];
}

async function verify(server, flags = []) {
  const r = await server.cli('audit verify', flags);
  assert.ok(r.json, `audit verify prints JSON: ${describeCli(r)}`);
  return r;
}

async function assertIntact(server, what, flags) {
  const r = await verify(server, flags);
  assert.equal(r.code, 0, `${what}: ${describeCli(r)}`);
  assert.equal(r.json.intact, true, `${what}: ${describeCli(r)}`);
  assert.deepEqual(r.json.breaks, []);
  return r;
}

async function assertBroken(server, what, { seq, problem, message }, flags) {
  const r = await verify(server, flags);
  assert.equal(r.code, 1, `${what}: exit 1: ${describeCli(r)}`);
  assert.equal(r.json.intact, false, `${what}: ${describeCli(r)}`);
  assert.equal(r.json.breaks[0].seq, seq, `${what}: names row ${seq}: ${describeCli(r)}`);
  assert.equal(r.json.breaks[0].problem, problem, `${what}: ${describeCli(r)}`);
  assert.equal(r.json.breaks[0].message, message, `${what}: ${describeCli(r)}`);
  // one clear line on stderr
  assert.equal(r.stderr.trim(), `careid: the audit chain is broken: ${message}`, `${what}: ${describeCli(r)}`);
  return r;
}

h.test('audit verify: sign-ins are chained events; an edited or deleted row is named', async (t, server) => {
  const rp = await makeRp(server, { name: 'client_secret_basic', auth: 'client_secret_basic' });
  const mark = Number(await scalar(server, 'SELECT COALESCE(MAX(seq), 0) AS n FROM audit_events'));
  for (let i = 0; i < 3; i++) await rp.codeFlow(new Browser(server.url), { user: USERS.single });
  const wrong = await new Browser(server.url).signIn((await rp.authorizationUrl()).url, { username: USERS.single, password: `not-${DEMO_PASSWORD}` });
  assert.equal(wrong.code, undefined, 'a wrong password gets no code');

  const events = (await server.sql(`SELECT seq, action FROM audit_events WHERE seq > ${mark} AND subject = 'user:${USERS.single}' ORDER BY seq`))
    .map((r) => ({ seq: Number(r.seq), action: r.action }));
  const ok = events.filter((e) => e.action === 'signin.succeeded');
  assert.equal(ok.length, 3, `every sign-in is an audit event: ${JSON.stringify(events)}`);
  assert.ok(events.some((e) => e.action === 'signin.failed'), `and the failure: ${JSON.stringify(events)}`);

  const total = Number(await scalar(server, 'SELECT COUNT(*) AS n FROM audit_events'));
  const clean = await assertIntact(server, 'the untouched store');
  assert.equal(clean.json.rows, total, 'every row walked');
  assert.equal(clean.json.head.seq, Number(await scalar(server, 'SELECT MAX(seq) AS n FROM audit_events')));
  assert.equal(clean.json.head.anchor, `${clean.json.head.seq}:${clean.json.head.hash}`);

  // an UPDATE of one row: verify names it; putting the value back mends the chain
  const m = ok[1].seq;
  const detail = await scalar(server, `SELECT detail FROM audit_events WHERE seq = ${m}`);
  await server.sql(`UPDATE audit_events SET detail = '{"forged":true}' WHERE seq = ${m}`);
  await assertBroken(server, 'an edited row', { seq: m, problem: 'edited', message: `row ${m} was edited (its columns no longer match its hash)` });
  await server.sql(`UPDATE audit_events SET detail = '${detail.replaceAll("'", "''")}' WHERE seq = ${m}`);
  await assertIntact(server, 'the row restored');
  await server.sql(`UPDATE audit_events SET at = at - 3600 WHERE seq = ${ok[0].seq}`);
  await assertBroken(server, 'a back-dated row', { seq: ok[0].seq, problem: 'edited', message: `row ${ok[0].seq} was edited (its columns no longer match its hash)` });
  await server.sql(`UPDATE audit_events SET at = at + 3600 WHERE seq = ${ok[0].seq}`);

  // the newest rows deleted: the chain left is valid, only an anchor reveals it
  const anchor = (await assertIntact(server, 'before the tail goes')).json.head;
  await rp.codeFlow(new Browser(server.url), { user: USERS.single });
  await assertIntact(server, 'rows after the anchor', ['--anchor', anchor.anchor]);
  assert.ok(anchor.seq - 1 > m, 'rows left after the middle one');
  await server.sql(`DELETE FROM audit_events WHERE seq >= ${anchor.seq}`);
  await assertIntact(server, 'a truncated chain without an anchor (cannot be detected)');
  await assertBroken(server, 'a truncated chain with the anchor', {
    seq: anchor.seq, problem: 'truncated', message: `rows after ${anchor.seq - 1} were deleted (the anchor names row ${anchor.seq})`,
  }, ['--anchor', anchor.anchor]);

  // a DELETE of a middle row
  await server.sql(`DELETE FROM audit_events WHERE seq = ${m}`);
  await assertBroken(server, 'a deleted row', { seq: m, problem: 'missing', message: `row ${m} is missing (the chain jumps from ${m - 1} to ${m + 1})` });
});

h.test('audit verify: usage', async (t, server) => {
  const bad = await server.cli('audit verify', ['--anchor', 'yesterday']);
  assert.equal(bad.code, 2, describeCli(bad));
  assert.match(bad.stderr, /SEQ:HASH/);
  const none = await server.cli('audit', []);
  assert.equal(none.code, 2, describeCli(none));
});
