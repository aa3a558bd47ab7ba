// `careid session list|end`: administrators see the SSO sessions (their clients, acr, amr) and
// end one; the browser is then signed out.
import assert from 'node:assert/strict';
import { setupServer, USERS, describeCli } from './lib/careid.mjs';
import { Browser } from './lib/browser.mjs';
import { makeRp } from './lib/rp.mjs';
import { sessionAlive } from './lib/logout.mjs';

const h = setupServer();

h.test('session list and session end: an administrator ends a session', async (t, server) => {
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  const { claims } = await rp.codeFlow(b, { user: USERS.multi, role: { index: 0 } });
  let r = await server.cli('session list', ['--uid', USERS.multi]);
  assert.equal(r.code, 0, describeCli(r));
  const mine = r.json.find((s) => s.sid === claims.sid);
  assert.ok(mine, JSON.stringify(r.json));
  assert.deepEqual(mine.clients, [rp.client.clientId]);
  assert.equal(mine.acr, 'AAL1_USERPASS');
  assert.deepEqual(mine.amr, ['pwd']);
  r = await server.cli('session end', [claims.sid]);
  assert.equal(r.code, 0, describeCli(r));
  assert.equal(r.json.ended, true);
  assert.equal(await sessionAlive(rp, b), false);
  r = await server.cli('session end', [claims.sid]);
  assert.equal(r.json.ended, false, 'ending it again changes nothing');
  r = await server.cli('session end', ['no-such-session']);
  assert.equal(r.code, 1, describeCli(r));
  assert.match(r.stderr, /no such session/);
  r = await server.cli('session end', []);
  assert.equal(r.code, 2);
});
