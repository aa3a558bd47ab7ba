// oidcc-max-age-1: max_age=1 after more than a second forces the sign-in form again, and the
// new auth_time satisfies max_age (checked by openid-client's maxAge check too).
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { setupServer, USERS, sleep } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';

const h = setupServer();

// the variants wait in parallel (each sleeps past a one-second boundary)
describe('oidcc-max-age-1', { concurrency: true }, () => {
  forVariants(h, 'oidcc-max-age-1: re-authentication after max_age', async ({ rp, browser }) => {
    const first = await rp.codeFlow(browser, { user: USERS.single, expect: 'login' });
    await sleep(2100);
    const second = await rp.codeFlow(browser, { user: USERS.single, params: { max_age: '1' }, maxAge: 1, expect: 'login' });
    assert.equal(second.claims.sub, first.claims.sub);
    assert.ok(second.claims.auth_time > first.claims.auth_time, `auth_time must be newer: ${first.claims.auth_time} then ${second.claims.auth_time}`);
    assert.ok(second.claims.auth_time >= Math.floor(Date.now() / 1000) - 5, `auth_time is recent: ${second.claims.auth_time}`);
  });
});
