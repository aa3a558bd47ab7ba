// oidcc-rp-initiated-logout-no-id-token-hint: without a hint careid cannot tell the client speaks
// for the person, so it asks them: a confirmation page (CSRF-protected); confirming ends the
// session and goes back to the client named by client_id, with state. Without client_id a
// post_logout_redirect_uri cannot be checked and is refused. A hint for a session that is not this
// browser's is stale: it asks too.
import assert from 'node:assert/strict';
import { setupServer } from './lib/careid.mjs';
import { signedIn, endSession, sessionAlive, assertConfirmPage, assertRefused, POST_LOGOUT_URI } from './lib/logout.mjs';

const h = setupServer();

h.test('oidcc-rp-initiated-logout-no-id-token-hint: a confirmation page, then logout and the redirect', async (t, server) => {
  const { rp, browser } = await signedIn(server);
  let res = await endSession(rp, browser, { client_id: rp.client.clientId, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'st-9' });
  const form = assertConfirmPage(res, 'no hint');
  assert.ok(await sessionAlive(rp, browser), 'not signed out before confirming');
  // a forged confirmation (another page's form: a wrong CSRF token) does nothing
  const forged = await browser.submit(form, { csrf: 'x'.repeat(64) });
  assert.equal(forged.status, 403);
  assert.ok(await sessionAlive(rp, browser), 'still signed in');
  res = await endSession(rp, browser, { client_id: rp.client.clientId, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'st-9' });
  res = await browser.submit(assertConfirmPage(res, 'again'));
  assert.equal(res.status, 303);
  assert.equal(new URL(res.location).searchParams.get('state'), 'st-9');
  assert.equal(await sessionAlive(rp, browser), false, 'signed out');
});

h.test('oidcc-rp-initiated-logout-no-id-token-hint: a post_logout_redirect_uri without any client is refused', async (t, server) => {
  const { rp, browser } = await signedIn(server);
  const res = await endSession(rp, browser, { post_logout_redirect_uri: POST_LOGOUT_URI });
  assertRefused(res, /not registered/, 'no client to check the URI against');
  assert.ok(await sessionAlive(rp, browser));
});

h.test('rp-initiated logout: a hint for another (ended) session is stale — confirmation first', async (t, server) => {
  const first = await signedIn(server);
  let res = await endSession(first.rp, first.browser, { id_token_hint: first.idToken });
  assert.equal(res.status, 200, 'a current hint signs out at once');
  const again = await signedIn(server);
  res = await endSession(again.rp, again.browser, { id_token_hint: first.idToken, client_id: first.rp.client.clientId });
  assertConfirmPage(res, 'a stale hint (another session)');
  assert.ok(await sessionAlive(again.rp, again.browser), 'not signed out by a stale hint');
});

h.test('rp-initiated logout without a hint: an unknown client_id is refused; a known one is not named, nor recorded as the actor', async (t, server) => {
  const { rp, browser } = await signedIn(server);
  let res = await endSession(rp, browser, { client_id: 'admin' });
  assertRefused(res, /not an application registered/, 'an unknown client_id');
  res = await endSession(rp, browser, { client_id: rp.client.clientId });
  const form = assertConfirmPage(res, 'a known client_id, no hint');
  assert.doesNotMatch(res.body, new RegExp(rp.client.name), 'the page does not name a client nobody vouched for');
  await browser.submit(form);
  const [ended] = await server.sql("SELECT actor FROM audit_events WHERE action = 'session.ended' ORDER BY seq DESC LIMIT 1");
  const actor = ended?.actor;
  assert.equal(actor, (await server.cli('session list', ['--env', 'mock', '--all'])).json[0].uid, 'the person who confirmed is the actor');
});
