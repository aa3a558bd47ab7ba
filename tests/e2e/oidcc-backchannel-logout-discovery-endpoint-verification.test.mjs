// oidcc-backchannel-logout-discovery-endpoint-verification: every environment's discovery
// document announces back-channel logout with sessions (backchannel_logout_supported and
// backchannel_logout_session_supported true: the certification requires sid in ID and logout
// tokens) and an end_session_endpoint under the issuer, with every endpoint on the issuer's
// own scheme and origin. openid-client reads the same document.
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { setupServer } from './lib/careid.mjs';
import { fetchDiscovery } from './lib/rp.mjs';

const h = setupServer();

for (const env of ['mock', 'int', 'dep', 'live']) {
  h.test(`oidcc-backchannel-logout-discovery-endpoint-verification [${env}]`, async (t, server) => {
    const d = await fetchDiscovery(server, env);
    assert.equal(d.status, 200, d.text);
    const doc = d.json;
    assert.equal(doc.issuer, server.issuer(env));
    assert.equal(doc.backchannel_logout_supported, true, 'backchannel_logout_supported (OIDCBCL-2.1)');
    assert.equal(doc.backchannel_logout_session_supported, true, 'backchannel_logout_session_supported (OIDCBCL-2.1)');
    assert.equal(doc.end_session_endpoint, `${server.issuer(env)}/connect/endSession`, 'end_session_endpoint as CIS2 names it');
    const issuer = new URL(doc.issuer);
    for (const [k, v] of Object.entries(doc)) {
      if (!k.endsWith('_endpoint') && k !== 'jwks_uri') continue;
      const u = new URL(v);
      assert.equal(u.protocol, issuer.protocol, `${k} on the issuer's scheme: ${v}`);
      assert.equal(u.origin, issuer.origin, `${k} on the issuer's origin: ${v}`);
    }
    // what a relying party library makes of it
    const config = await oidc.discovery(new URL(doc.issuer), 'any-client', {}, undefined, { execute: [oidc.allowInsecureRequests] });
    const meta = config.serverMetadata();
    assert.equal(meta.backchannel_logout_session_supported, true);
    assert.equal(meta.end_session_endpoint, doc.end_session_endpoint);
  });
}
