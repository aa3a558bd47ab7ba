// Sessions end by themselves: careid runs with --session-idle-mock 3 (seconds); the periodic
// sweep ends a session that was not used for longer than that, records why, and prompt=none
// then asks for a sign-in.
import assert from 'node:assert/strict';
import { setupServer, sleep, USERS } from './lib/careid.mjs';
import { Browser } from './lib/browser.mjs';
import { makeRp } from './lib/rp.mjs';
import { sessionAlive } from './lib/logout.mjs';

const h = setupServer({ extraArgs: ['--session-idle-mock', '3'] });

async function until(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(250);
  }
}

h.test('session idle timeout: the sweep ends an unused session and records why', async (t, server) => {
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  const { claims } = await rp.codeFlow(b, { user: USERS.single });
  const ended = async () => (await server.cli('session list', ['--env', 'mock', '--uid', USERS.single, '--all'])).json.find((s) => s.sid === claims.sid)?.end_reason;
  await until('the idle session ends', async () => (await ended()) === 'idle');
  assert.equal(await sessionAlive(rp, b), false, 'prompt=none: login_required');
});
