// oidcc-idtoken-rs256: a client registered with --id-token-alg RS256 gets RS256 ID tokens that
// verify against the JWKS (jose) and with openid-client.
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-idtoken-rs256', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single });
  assert.equal(r.header.alg, 'RS256');
  const { payload } = await jose.jwtVerify(r.idToken, jose.createRemoteJWKSet(new URL(rp.meta.jwks_uri)), { algorithms: ['RS256'], issuer: rp.issuer, audience: rp.client.clientId });
  assert.equal(payload.sub, USERS.single);
}, { reg: { idTokenAlg: 'RS256' } });
