// oidcc-max-age-10000: max_age=10000 with a fresh session reuses it (no form), auth_time unchanged.
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-max-age-10000: the SSO session satisfies max_age', async ({ rp, browser }) => {
  const first = await rp.codeFlow(browser, { user: USERS.single, params: { max_age: '10000' }, maxAge: 10000, expect: 'login' });
  const second = await rp.codeFlow(browser, { user: USERS.single, params: { max_age: '10000' }, maxAge: 10000, expect: 'sso' });
  assert.equal(second.claims.sub, first.claims.sub);
  assert.equal(second.claims.auth_time, first.claims.auth_time, 'auth_time is the time of the original sign-in');
});
