// oidcc-ensure-request-with-unknown-parameter-succeeds: unknown parameters are ignored.
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants, assertIdTokenClaims } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-ensure-request-with-unknown-parameter-succeeds', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, params: { extra: 'foobar', 'x-unknown': 'a b c' } });
  assertIdTokenClaims(rp, r.claims, { user: USERS.single, nonce: r.authz.nonce });
});
