// oidcc-ensure-request-object-with-redirect-uri: a request object carrying redirect_uri is
// refused (request_not_supported) at the registered redirect_uri of the query; a redirect_uri
// only inside the (unsupported, unverified) object is never used.
import assert from 'node:assert/strict';
import { setupServer } from './lib/careid.mjs';
import { forVariants, assertAuthzError } from './lib/rp.mjs';
import { unsignedRequestObject } from './lib/request-object.mjs';
import { describeRes } from './lib/browser.mjs';

const h = setupServer();

forVariants(h, 'oidcc-ensure-request-object-with-redirect-uri: request_not_supported to the registered URI', async ({ rp, browser }) => {
  const a = await rp.authorizationUrl({ scope: 'openid' });
  const ro = unsignedRequestObject({ ...a.params, client_id: rp.client.clientId, response_type: 'code', redirect_uri: rp.client.redirectUri });
  const u = new URL(a.url);
  u.searchParams.set('request', ro);
  const r = await browser.signIn(u.href, {});
  assertAuthzError(r, 'request_not_supported', a.state, `[${rp.name}] request object with redirect_uri`, rp.client.redirectUri);
});

forVariants(h, 'oidcc-ensure-request-object-with-redirect-uri: an unregistered redirect_uri inside the object is never followed', async ({ rp, browser }) => {
  const a = await rp.authorizationUrl({ scope: 'openid', redirect_uri: null });
  const evil = 'http://127.0.0.1:9/evil';
  const ro = unsignedRequestObject({ ...a.params, client_id: rp.client.clientId, response_type: 'code', redirect_uri: evil });
  const u = new URL(a.url);
  u.searchParams.set('request', ro);
  const res = await browser.get(u.href);
  const loc = res.location || '';
  assert.ok(!loc.startsWith(evil), `must never redirect to the redirect_uri of an unsupported request object: ${describeRes(res)}`);
  // either a 400 page (no usable redirect_uri) or request_not_supported at the registered URI
  if (res.status === 400) return;
  assert.ok(loc.startsWith(rp.client.redirectUri), `expected a 400 page or a redirect to the registered URI: ${describeRes(res)}`);
  assert.equal(new URL(loc).searchParams.get('error'), 'request_not_supported', describeRes(res));
});
