// oidcc-idtoken-signature: ID tokens are signed with a key from the JWKS; the client library
// (openid-client with non-repudiation checks) and jose both verify them; a tampered token fails.
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants, assertIdTokenClaims } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-idtoken-signature: RS256 ID token verifies against the JWKS', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single });
  assert.equal(r.header.alg, 'RS256', 'default alg RS256');
  const jwks = await (await fetch(rp.meta.jwks_uri)).json();
  const key = jwks.keys.find((k) => k.kid === r.header.kid);
  assert.ok(key, `kid ${r.header.kid} must be in the JWKS ${rp.meta.jwks_uri}: ${JSON.stringify(jwks.keys.map((k) => k.kid))}`);
  assert.equal(key.kty, 'RSA');
  const local = await jose.importJWK(key, 'RS256');
  await jose.jwtVerify(r.idToken, local, { algorithms: ['RS256'] });
  // tamper: change the payload (sub) keeping the signature → must fail
  const [hdr, , sig] = r.idToken.split('.');
  const forged = `${hdr}.${Buffer.from(JSON.stringify({ ...r.claims, sub: '999999999999' })).toString('base64url')}.${sig}`;
  await assert.rejects(jose.jwtVerify(forged, local, { algorithms: ['RS256'] }), /signature/i, 'a modified ID token must not verify');
  assertIdTokenClaims(rp, r.claims, { user: USERS.single, nonce: r.authz.nonce });
});

for (const alg of ['RS384', 'RS512', 'PS256', 'PS384', 'PS512']) {
  forVariants(h, `oidcc-idtoken-signature: registered --id-token-alg ${alg} is used`, async ({ rp, browser }) => {
    // codeFlow → openid-client checks alg = id_token_signed_response_alg, jose verifies with algorithms [alg]
    const r = await rp.codeFlow(browser, { user: USERS.single });
    assert.equal(r.header.alg, alg);
    assert.equal(r.verified.payload.at_hash.length, { RS384: 32, PS384: 32, RS512: 43, PS512: 43 }[alg] ?? 22, 'at_hash uses the hash of the signing alg');
  }, { variants: [{ name: 'client_secret_basic', auth: 'client_secret_basic' }], reg: { idTokenAlg: alg } });
}
