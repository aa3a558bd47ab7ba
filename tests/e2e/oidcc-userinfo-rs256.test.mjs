// oidcc-userinfo-rs256: a client registered with --userinfo-signed-response-alg RS256 gets
// userinfo as application/jwt, signed RS256 with a JWKS key, iss and aud set.
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { setupServer, USERS } from './lib/careid.mjs';
import { forVariants, userinfoRaw } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-userinfo-rs256: signed userinfo', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single, scope: 'openid profile email' });
  const raw = await userinfoRaw(rp, r.tokens.access_token, 'get');
  assert.equal(raw.status, 200, `userinfo: ${raw.status} ${raw.text.slice(0, 300)}`);
  assert.match(raw.headers.get('content-type') || '', /^application\/jwt/, `signed userinfo is application/jwt, saw ${raw.headers.get('content-type')}`);
  const jwt = raw.text.trim();
  const header = jose.decodeProtectedHeader(jwt);
  assert.equal(header.alg, 'RS256');
  assert.ok(header.kid, 'kid in the header');
  const { payload } = await jose.jwtVerify(jwt, jose.createRemoteJWKSet(new URL(rp.meta.jwks_uri)), { algorithms: ['RS256'], issuer: rp.issuer, audience: rp.client.clientId });
  assert.equal(payload.sub, USERS.single);
  for (const k of ['name', 'email']) assert.ok(payload[k] !== undefined, `claim ${k} in signed userinfo: ${JSON.stringify(payload)}`);
  // openid-client (userinfo_signed_response_alg RS256 + non-repudiation checks) accepts it
  const lib = await rp.userinfo(r.tokens.access_token, USERS.single);
  assert.equal(lib.sub, USERS.single);
  assert.equal(lib.email, payload.email);
  // POST too
  const post = await userinfoRaw(rp, r.tokens.access_token, 'post-header');
  assert.match(post.headers.get('content-type') || '', /^application\/jwt/);
}, { reg: { userinfoAlg: 'RS256' } });
