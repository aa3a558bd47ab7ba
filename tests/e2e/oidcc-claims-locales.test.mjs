// oidcc-claims-locales: claims_locales is accepted (careid speaks English; the parameter is a preference).
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants, assertIdTokenClaims } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-claims-locales: claims_locales=se succeeds', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: 'openid profile', params: { claims_locales: 'se' } });
  assertIdTokenClaims(rp, r.claims, { user: USERS.single, nonce: r.authz.nonce });
  await rp.userinfo(r.tokens.access_token, r.claims.sub);
});
