// oidcc-rp-initiated-logout-modified-id-token-hint: an altered ID token (its signature no longer
// verifies), one from another environment's issuer, or one that is not a JWT at all, is refused —
// no logout, no redirect.
import assert from 'node:assert/strict';
import { SignJWT, generateKeyPair } from 'jose';
import { setupServer } from './lib/careid.mjs';
import { signedIn, endSession, sessionAlive, assertRefused, POST_LOGOUT_URI } from './lib/logout.mjs';

const h = setupServer();

h.test('oidcc-rp-initiated-logout-modified-id-token-hint: forged and foreign hints are refused', async (t, server) => {
  const { rp, browser, idToken } = await signedIn(server);
  const [head, body, sig] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(body, 'base64url'));
  const forged = `${head}.${Buffer.from(JSON.stringify({ ...claims, sub: '910000000001' })).toString('base64url')}.${sig}`;
  // another issuer's ID token (its own key), naming the same client and session
  const { privateKey } = await generateKeyPair('RS256');
  const foreign = await new SignJWT({ ...claims, iss: 'https://other-idp.example/realms/mock' })
    .setProtectedHeader({ alg: 'RS256', kid: 'other' }).sign(privateKey);
  // careid's own claims re-signed with another key
  const rekeyed = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: JSON.parse(Buffer.from(head, 'base64url')).kid }).sign(privateKey);
  for (const [what, hint] of [['a modified payload', forged], ['another issuer', foreign], ['another key', rekeyed], ['not a JWT', 'abc.def'], ['a bad signature', `${head}.${body}.${sig.slice(0, -4)}AAAA`]]) {
    const res = await endSession(rp, browser, { id_token_hint: hint, post_logout_redirect_uri: POST_LOGOUT_URI, state: 's' });
    assertRefused(res, /not an ID token from this service/, what);
  }
  assert.ok(await sessionAlive(rp, browser), 'the session lives on');
});
