// oidcc-prompt-login: with an SSO session, prompt=login shows the sign-in form again and the
// new ID token has a later auth_time.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { setupServer, USERS, sleep } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';

const h = setupServer();

// the variants wait in parallel (each sleeps past a one-second boundary)
describe('oidcc-prompt-login', { concurrency: true }, () => {
  forVariants(h, 'oidcc-prompt-login: re-authentication is forced', async ({ rp, browser }) => {
    const first = await rp.codeFlow(browser, { user: USERS.single, expect: 'login' });
    await sleep(1100); // auth_time has a one-second resolution
    const sso = await rp.codeFlow(browser, { user: USERS.single, expect: 'sso' });
    assert.equal(sso.claims.auth_time, first.claims.auth_time, 'without prompt=login the SSO session is reused (same auth_time)');
    const again = await rp.codeFlow(browser, { user: USERS.single, params: { prompt: 'login' }, expect: 'login' });
    assert.equal(again.claims.sub, first.claims.sub);
    assert.ok(again.claims.auth_time > first.claims.auth_time, `auth_time must move forward after prompt=login: first ${first.claims.auth_time}, second ${again.claims.auth_time}`);
  });
});
