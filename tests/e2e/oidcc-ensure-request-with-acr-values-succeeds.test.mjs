// oidcc-ensure-request-with-acr-values-succeeds: acr_values is voluntary: unknown values do not
// fail the request; a satisfiable value (AAL1_USERPASS in mock) is honoured.
import assert from 'node:assert/strict';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-ensure-request-with-acr-values-succeeds: acr_values="1 2"', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, params: { acr_values: '1 2' } });
  assert.equal(typeof r.claims.acr, 'string', 'acr is stated');
});

forVariants(h, 'oidcc-ensure-request-with-acr-values-succeeds: acr_values=AAL1_USERPASS', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, params: { acr_values: 'AAL1_USERPASS' } });
  assert.equal(r.claims.acr, 'AAL1_USERPASS');
});
