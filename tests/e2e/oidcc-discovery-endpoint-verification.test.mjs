// oidcc-discovery-endpoint-verification: for every environment the discovery document is
// consistent: issuer, CIS2 endpoint names under the issuer, JWKS with RSA signing keys,
// scopes, response/subject/alg types, client auth methods, PKCE, request objects off.
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { setupServer } from './lib/careid.mjs';
import { fetchDiscovery, CIS2_SCOPES } from './lib/rp.mjs';

const h = setupServer();
const ENVS = ['mock', 'int', 'dep', 'live'];

for (const env of ENVS) {
  h.test(`oidcc-discovery-endpoint-verification [${env}]`, async (t, server) => {
    const issuer = server.issuer(env);
    const d = await fetchDiscovery(server, env);
    assert.equal(d.status, 200, `GET ${d.url}: ${d.status} ${d.text.slice(0, 300)}`);
    assert.match(d.headers.get('content-type') || '', /^application\/json/, 'discovery is JSON');
    const m = d.json;
    assert.ok(m && typeof m === 'object', `discovery must parse as JSON: ${d.text.slice(0, 300)}`);
    const show = JSON.stringify(m, null, 1).slice(0, 3000);
    assert.equal(m.issuer, issuer, `issuer must equal the URL it was fetched under minus the well-known path`);

    const endpoints = {
      authorization_endpoint: '/authorize',
      token_endpoint: '/access_token',
      userinfo_endpoint: '/userinfo',
      jwks_uri: '/connect/jwk_uri',
    };
    for (const [k, path] of Object.entries(endpoints)) {
      assert.equal(m[k], `${issuer}${path}`, `${k} must be the issuer + ${path} (CIS2 layout): ${show}`);
    }
    // logout, introspection and revocation carry CIS2's names, and exist
    const more = { end_session_endpoint: '/connect/endSession', introspection_endpoint: '/introspect', revocation_endpoint: '/token/revoke' };
    for (const [k, path] of Object.entries(more)) {
      assert.equal(m[k], `${issuer}${path}`, `${k} must be the issuer + ${path} (CIS2 layout): ${show}`);
      const probe = await fetch(m[k], { method: 'POST' });
      assert.notEqual(probe.status, 404, `${k} is advertised, so it must exist`);
    }
    assert.equal(m.backchannel_logout_supported, true);
    assert.equal(m.backchannel_logout_session_supported, true);

    const has = (k, v) => assert.ok(Array.isArray(m[k]) && m[k].includes(v), `${k} must contain ${JSON.stringify(v)}: ${JSON.stringify(m[k])}`);
    for (const s of CIS2_SCOPES) has('scopes_supported', s);
    assert.deepEqual(m.response_types_supported, ['code'], 'code flow only');
    has('subject_types_supported', 'public');
    has('id_token_signing_alg_values_supported', 'RS256');
    assert.ok(!m.id_token_signing_alg_values_supported.map((a) => a.toLowerCase()).includes('none'), 'alg none must not be offered');
    for (const a of ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt']) has('token_endpoint_auth_methods_supported', a);
    has('code_challenge_methods_supported', 'S256');
    assert.equal(m.request_parameter_supported, false, 'request objects are not supported');
    if (m.grant_types_supported !== undefined) {
      has('grant_types_supported', 'authorization_code');
      has('grant_types_supported', 'refresh_token');
      assert.ok(!m.grant_types_supported.includes('implicit'), 'no implicit grant');
    }
    if (m.response_modes_supported !== undefined) has('response_modes_supported', 'query');
    if (m.userinfo_signing_alg_values_supported !== undefined) has('userinfo_signing_alg_values_supported', 'RS256');
    if (m.token_endpoint_auth_signing_alg_values_supported !== undefined) {
      has('token_endpoint_auth_signing_alg_values_supported', 'RS256');
      assert.ok(!m.token_endpoint_auth_signing_alg_values_supported.map((a) => a.toLowerCase()).includes('none'), 'assertions signed with none are not accepted');
    }
    if (m.claims_supported !== undefined) has('claims_supported', 'sub');

    // JWKS: fetchable, RSA signing keys with kid/use/alg, no private parts
    const jr = await fetch(m.jwks_uri);
    assert.equal(jr.status, 200, `GET ${m.jwks_uri}`);
    assert.match(jr.headers.get('content-type') || '', /^application\/(jwk-set\+)?json/, 'JWKS content type');
    const jwks = await jr.json();
    assert.ok(Array.isArray(jwks.keys) && jwks.keys.length >= 1, `JWKS has keys: ${JSON.stringify(jwks)}`);
    const kids = new Set();
    for (const k of jwks.keys) {
      const ks = `kid ${k.kid}: ${JSON.stringify({ ...k, n: k.n && `${k.n.slice(0, 12)}…` })}`;
      assert.equal(k.kty, 'RSA', `kty RSA expected: ${ks}`);
      assert.ok(typeof k.kid === 'string' && k.kid.length > 0, `kid: ${ks}`);
      assert.ok(!kids.has(k.kid), `kids are unique: ${k.kid}`);
      kids.add(k.kid);
      assert.equal(k.use, 'sig', `use "sig" expected: ${ks}`);
      // One RSA key signs every advertised algorithm (the client's registered one), so it carries
      // no "alg": a JWK with "alg" may only be used with that algorithm (RFC 7517 §4.4), and
      // jose/openid-client would then refuse RS512 or PS256 tokens. When present it must fit.
      if (k.alg !== undefined) assert.ok(m.id_token_signing_alg_values_supported.includes(k.alg), `alg ${k.alg} is advertised: ${ks}`);
      for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(k[priv], undefined, `the JWKS must not publish private member ${priv}`);
      assert.ok(Buffer.from(k.n, 'base64url').length >= 256, `RSA modulus ≥ 2048 bits: ${k.kid}`);
    }

    // every advertised signing alg can be verified with a published key: an RSA key with no
    // "alg" (usable with any RSA algorithm) or one whose "alg" is that algorithm
    for (const alg of m.id_token_signing_alg_values_supported) {
      assert.ok(jwks.keys.some((k) => k.kty === 'RSA' && (k.alg === undefined || k.alg === alg)), `no JWKS key can verify ${alg}: ${JSON.stringify(jwks.keys.map((k) => ({ kid: k.kid, alg: k.alg })))}`);
    }

    // the client library accepts it too (issuer match etc.)
    const cfg = await oidc.discovery(new URL(issuer), 'discovery-check', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    assert.equal(cfg.serverMetadata().issuer, issuer);
  });
}

h.test('each environment has its own signing keys', async (t, server) => {
  const kidsByEnv = {};
  for (const env of ENVS) {
    const d = await fetchDiscovery(server, env);
    const jwks = await (await fetch(d.json.jwks_uri)).json();
    kidsByEnv[env] = new Set(jwks.keys.map((k) => k.kid));
  }
  const envs = ENVS;
  for (let i = 0; i < envs.length; i++) {
    for (let j = i + 1; j < envs.length; j++) {
      const shared = [...kidsByEnv[envs[i]]].filter((k) => kidsByEnv[envs[j]].has(k));
      assert.deepEqual(shared, [], `${envs[i]} and ${envs[j]} must not share signing keys`);
    }
  }
});

h.test('an unknown environment has no discovery document', async (t, server) => {
  const r = await fetch(`${server.url}/realms/nosuchenv/.well-known/openid-configuration`);
  assert.equal(r.status, 404, `unknown realm → 404, saw ${r.status}`);
});
