// oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported: careid does not
// support request_uri: it says so in discovery and answers request_uri_not_supported.
import assert from 'node:assert/strict';
import { setupServer } from './lib/careid.mjs';
import { forVariants, fetchDiscovery, assertAuthzError } from './lib/rp.mjs';

const h = setupServer();

h.test('discovery: request_uri_parameter_supported is false (its default is true)', async (t, server) => {
  const d = await fetchDiscovery(server, 'mock');
  assert.equal(d.json?.request_uri_parameter_supported, false, `request_uri_parameter_supported must be explicitly false: ${d.text.slice(0, 2000)}`);
});

forVariants(h, 'oidcc-request-uri-unsigned: request_uri → request_uri_not_supported', async ({ rp, browser }) => {
  const a = await rp.authorizationUrl({ scope: 'openid', request_uri: 'https://127.0.0.1:9/request.jwt' });
  const r = await browser.signIn(a.url, {});
  assertAuthzError(r, 'request_uri_not_supported', a.state, `[${rp.name}] request_uri`, rp.client.redirectUri);
  assert.equal(r.sawLogin, 0, 'rejected before any sign-in');
});
