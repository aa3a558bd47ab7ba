// oidcc-ensure-client-assertion-with-iss-aud-succeeds: a private_key_jwt assertion whose aud is
// the issuer (not the token endpoint) is accepted; so is aud = [token endpoint].
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { setupServer, USERS, DEMO_PASSWORD } from './lib/careid.mjs';
import { forVariants, assertIdTokenClaims } from './lib/rp.mjs';

const h = setupServer();
const PKJ = [
  { name: 'private_key_jwt RS256', auth: 'private_key_jwt', keyAlg: 'RS256' },
  { name: 'private_key_jwt RS512', auth: 'private_key_jwt', keyAlg: 'RS512' },
];

forVariants(h, 'oidcc-ensure-client-assertion-with-iss-aud-succeeds: aud = issuer', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single });
  assertIdTokenClaims(rp, r.claims, { user: USERS.single, nonce: r.authz.nonce });
}, { variants: PKJ, rpOpts: { assertionAud: 'issuer' } });

forVariants(h, 'client assertion with aud = [token endpoint] (array) succeeds', async ({ rp, browser }) => {
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const s = await browser.signIn(a.url, { username: USERS.single, password: DEMO_PASSWORD });
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new jose.SignJWT({ jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: rp.client.keyAlg, kid: rp.client.kid, typ: 'JWT' })
    .setIssuer(rp.client.clientId).setSubject(rp.client.clientId).setAudience([rp.meta.token_endpoint])
    .setIssuedAt(now).setExpirationTime(now + 300).sign(rp.client.privateKey);
  const t = await rp.tokenRequest({
    grant_type: 'authorization_code', code: s.code, redirect_uri: rp.client.redirectUri, code_verifier: a.verifier,
    client_id: rp.client.clientId, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
  }, { auth: false });
  assert.equal(t.status, 200, `aud as an array with the token endpoint: ${t.status} ${t.text}`);
}, { variants: PKJ });
