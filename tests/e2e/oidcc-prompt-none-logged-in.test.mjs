// oidcc-prompt-none-logged-in: with an SSO session, prompt=none answers with a code directly.
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-prompt-none-logged-in: code without interaction', async ({ rp, browser }) => {
  const first = await rp.codeFlow(browser, { user: USERS.single, expect: 'login' });
  const second = await rp.codeFlow(browser, { user: USERS.single, params: { prompt: 'none' }, expect: 'sso' });
  assert.equal(second.claims.sub, first.claims.sub);
  assert.equal(second.claims.auth_time, first.claims.auth_time, 'same authentication event');
  assert.equal(second.claims.sid, first.claims.sid, 'same session id');
  assert.notEqual(second.tokens.access_token, first.tokens.access_token);
});
