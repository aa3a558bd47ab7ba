// oidcc-scope-email: scope email releases email.
import assert from 'node:assert/strict';
import { setupServer, USERS, userShow } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';
import { assertScopeClaims, assertMatchesUserShow } from './lib/claims.mjs';

const h = setupServer();

forVariants(h, 'oidcc-scope-email: email claim in userinfo', async ({ rp, browser, server }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: 'openid email' });
  const ui = await rp.userinfo(r.tokens.access_token, r.claims.sub);
  assertScopeClaims(ui, ['email'], `[${rp.name}] userinfo`);
  assert.match(ui.email, /^[^@\s]+@[^@\s]+$/, `email looks like an e-mail address: ${ui.email}`);
  assertMatchesUserShow(ui, await userShow(server, USERS.single), ['email'], `[${rp.name}] userinfo`);
});
