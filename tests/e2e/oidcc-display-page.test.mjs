// oidcc-display-page: display=page is accepted (the pages render the same).
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants, assertIdTokenClaims } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-display-page: display=page succeeds', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, params: { display: 'page' }, expect: 'login' });
  assertIdTokenClaims(rp, r.claims, { user: USERS.single, nonce: r.authz.nonce });
});
