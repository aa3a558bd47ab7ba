// oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: careid does not
// support request objects: request_parameter_supported false and error request_not_supported.
import assert from 'node:assert/strict';
import { setupServer } from './lib/careid.mjs';
import { forVariants, fetchDiscovery, assertAuthzError } from './lib/rp.mjs';
import { unsignedRequestObject } from './lib/request-object.mjs';

const h = setupServer();

h.test('discovery: request_parameter_supported is false', async (t, server) => {
  const d = await fetchDiscovery(server, 'mock');
  assert.equal(d.json?.request_parameter_supported, false, `request_parameter_supported: ${d.text.slice(0, 2000)}`);
});

forVariants(h, 'oidcc-unsigned-request-object: request → request_not_supported', async ({ rp, browser }) => {
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const ro = unsignedRequestObject({ ...a.params, client_id: rp.client.clientId, response_type: 'code', iss: rp.client.clientId, aud: rp.issuer });
  const u = new URL(a.url);
  u.searchParams.set('request', ro);
  const r = await browser.signIn(u.href, {});
  assertAuthzError(r, 'request_not_supported', a.state, `[${rp.name}] unsigned request object`, rp.client.redirectUri);
  assert.equal(r.sawLogin, 0, 'rejected before any sign-in');
});
