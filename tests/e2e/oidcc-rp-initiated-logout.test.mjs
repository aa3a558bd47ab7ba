// oidcc-rp-initiated-logout: with a current id_token_hint, a registered post_logout_redirect_uri
// and state, the session ends at once and the browser goes back to the client with state; the
// session cookie is deleted and prompt=none no longer answers.
import assert from 'node:assert/strict';
import { setupServer } from './lib/careid.mjs';
import { signedIn, endSession, sessionAlive, POST_LOGOUT_URI } from './lib/logout.mjs';

const h = setupServer();

h.test('oidcc-rp-initiated-logout: logout ends the session and redirects with state', async (t, server) => {
  const { rp, browser, idToken } = await signedIn(server);
  assert.ok(await sessionAlive(rp, browser), 'signed in first');
  const res = await endSession(rp, browser, { id_token_hint: idToken, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'st-123' });
  assert.equal(res.status, 303, `a redirect: ${res.status}`);
  const back = new URL(res.location);
  assert.equal(`${back.origin}${back.pathname}`, POST_LOGOUT_URI);
  assert.equal(back.searchParams.get('state'), 'st-123');
  assert.ok(res.setCookies.some((c) => c.name === 'careid_session_mock' && c.deleted), 'the session cookie is deleted');
  assert.equal(await sessionAlive(rp, browser), false, 'the session has ended');
  const list = await server.cli('session list', ['--env', 'mock', '--all']);
  const ended = list.json.filter((s) => s.end_reason === 'logout');
  assert.equal(ended.length, 1, JSON.stringify(list.json));
  assert.deepEqual(ended[0].clients, [rp.client.clientId]);
});
