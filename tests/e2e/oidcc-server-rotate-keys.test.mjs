// oidcc-server-rotate-keys: the conformance module fetches the JWKS, has the OP rotate its
// signing key, fetches the JWKS again and requires a new key (and, as a warning, the old one
// still there). Here `careid keys rotate` runs against the running server's store, and more is
// checked: the server follows without a restart, the next ID token carries the new kid,
// openid-client follows the rotation (it refetches the JWKS for an unknown kid), what the old
// key signed still verifies (ID tokens, id_token_hint) until the old key drops out of the JWKS
// an hour and five minutes after its retirement.
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { setupServer, USERS, describeCli, sleep } from './lib/careid.mjs';
import { makeRp } from './lib/rp.mjs';
import { Browser } from './lib/browser.mjs';

const h = setupServer();

/** How long a retired key stays published (src/oidc/keys.h KEYS_RETIRED_PUBLISHED). */
const RETIRED_PUBLISHED = 3600 + 300;

async function fetchJwks(rp) {
  const r = await fetch(rp.meta.jwks_uri, { signal: AbortSignal.timeout(10000) });
  assert.equal(r.status, 200, `GET ${rp.meta.jwks_uri}`);
  return r.json();
}

/** The conformance module's checks of a JWKS (FetchServerKeys and the conditions after it). */
function assertValidJwks(jwks, what) {
  const show = JSON.stringify(jwks);
  assert.ok(Array.isArray(jwks.keys) && jwks.keys.length > 0, `${what}: a keys array: ${show}`);
  const kids = jwks.keys.map((k) => k.kid);
  for (const k of jwks.keys) {
    assert.equal(typeof k.kid, 'string', `${what}: every key has a kid (OIDCC-10.1): ${show}`);
    assert.equal(k.kty, 'RSA', `${what}: RSA keys: ${show}`);
    assert.equal(k.use, 'sig', `${what}: use sig: ${show}`);
    for (const p of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
      assert.equal(k[p], undefined, `${what}: no private or symmetric key material (${p}): ${show}`);
    }
    for (const p of ['n', 'e']) assert.match(k[p], /^[A-Za-z0-9_-]+$/, `${what}: ${p} is base64url: ${show}`);
  }
  assert.equal(new Set(kids).size, kids.length, `${what}: distinct kids (RFC 7517 4.5): ${kids}`);
  return kids;
}

/**
 * careid looks at the store at most about once a second: poll the JWKS until `test(kids)`
 * holds (a bound, not a sleep: the answer usually comes at the first or second try).
 */
async function jwksUntil(rp, test, what) {
  const deadline = Date.now() + 5000;
  let kids;
  for (;;) {
    kids = (await fetchJwks(rp)).keys.map((k) => k.kid);
    if (test(kids)) return kids;
    if (Date.now() > deadline) assert.fail(`${what}: within 5 s; the JWKS still holds ${kids}`);
    await sleep(200);
  }
}

/** The rows of a one-column query, one a line (as the sqlite3 CLI printed them). */
async function sqlLines(server, statement) {
  return (await server.sql(statement)).map((r) => Object.values(r)[0]).join('\n');
}

h.test('oidcc-server-rotate-keys: keys rotate on a running server; the old key stays published', async (t, server) => {
  const rp = await makeRp(server, { name: 'client_secret_basic', auth: 'client_secret_basic' });
  const original = await fetchJwks(rp);
  const originalKids = assertValidJwks(original, 'JWKS before the rotation');
  // openid-client (oauth4webapi) refetches a JWKS for an unknown kid only when its copy is at
  // least 60 s old (a guard against fetching on every forged kid). Start it with a copy made 61 s
  // ago, as if this RP had been running for a minute, instead of waiting.
  oidc.setJwksCache(rp.config, { jwks: original, uat: Math.floor(Date.now() / 1000) - 61 });

  const browser = new Browser(server.url);
  const first = await rp.codeFlow(browser, { user: USERS.single });
  const oldKid = first.header.kid;
  assert.ok(originalKids.includes(oldKid), `the ID token's kid ${oldKid} is in the JWKS ${originalKids}`);

  const rot = await server.cli('keys rotate', ['--env', 'mock']);
  assert.equal(rot.code, 0, describeCli(rot));
  const newKid = rot.json.kid;
  assert.ok(newKid && !originalKids.includes(newKid), `a new kid: ${describeCli(rot)}`);
  assert.deepEqual(rot.json.retired.map((k) => k.kid), [oldKid], `the key that signed is retired: ${describeCli(rot)}`);
  const retired = rot.json.retired[0];
  assert.equal(retired.published_until, retired.retired_at + RETIRED_PUBLISHED, 'published for an hour and five minutes after');

  const list = await server.cli('keys list', ['--env', 'mock']);
  assert.equal(list.code, 0, describeCli(list));
  const state = Object.fromEntries(list.json.map((k) => [k.kid, k.state]));
  assert.equal(state[newKid], 'signing', describeCli(list));
  assert.equal(state[oldKid], 'published', describeCli(list));
  assert.equal(list.json[0].kid, newKid, 'newest first');
  // the rotation is in the audit trail, in the same transaction
  assert.match(await sqlLines(server, "SELECT actor || ' ' || subject || ' ' || detail AS line FROM audit_events WHERE action = 'keys.rotated' ORDER BY seq"),
    new RegExp(`^operator keys:mock .*"kid":"${newKid}".*"retired":\\["${oldKid}"\\]`));

  // the running server follows: the new JWKS has the new key (VerifyNewJwksHasNewSigningKey) and
  // still the old one (VerifyNewJwksStillHasOldSigningKey)
  await jwksUntil(rp, (kids) => kids.includes(newKid), 'the running server publishes the new key');
  const rotated = await fetchJwks(rp);
  const rotatedKids = assertValidJwks(rotated, 'JWKS after the rotation');
  assert.equal(rotatedKids[0], newKid, 'the signing key comes first');
  assert.ok(rotatedKids.includes(oldKid), `the old key stays published: ${rotatedKids}`);

  // the next ID token carries the new kid, and openid-client, whose copy holds only the old key,
  // refetches the JWKS to verify it
  assert.deepEqual(oidc.getJwksCache(rp.config).jwks.keys.map((k) => k.kid), originalKids);
  const second = await rp.codeFlow(new Browser(server.url), { user: USERS.single });
  assert.equal(second.header.kid, newKid, 'signed with the new key');
  assert.ok(oidc.getJwksCache(rp.config).jwks.keys.some((k) => k.kid === newKid), 'openid-client refetched the JWKS');

  // what the old key signed still verifies against the JWKS
  const local = jose.createLocalJWKSet(rotated);
  const old = await jose.jwtVerify(first.idToken, local, { issuer: rp.issuer, audience: rp.client.clientId, algorithms: ['RS256'] });
  assert.equal(old.protectedHeader.kid, oldKid);
  await jose.jwtVerify(second.idToken, local, { issuer: rp.issuer, audience: rp.client.clientId, algorithms: ['RS256'] });
  // ... and careid itself still takes the old ID token as an id_token_hint
  const hinted = await rp.codeFlow(browser, { user: USERS.single, params: { prompt: 'none', id_token_hint: first.idToken }, expect: 'sso' });
  assert.equal(hinted.header.kid, newKid);
  assert.equal(hinted.claims.sub, first.claims.sub);
  // a refresh token issued before the rotation gets an ID token from the new key
  const refreshed = await rp.refresh(first.tokens.refresh_token);
  assert.equal(jose.decodeProtectedHeader(refreshed.id_token).kid, newKid);

  // An hour and five minutes later the old key drops out; the store's clock is moved instead
  // of waiting.
  await server.sql(`UPDATE signing_keys SET retired_at = retired_at - ${RETIRED_PUBLISHED} WHERE env = 'mock' AND kid = '${oldKid}'`);
  const after = await jwksUntil(rp, (kids) => !kids.includes(oldKid), 'the old key drops out of the JWKS');
  assert.deepEqual(after, [newKid], 'only the signing key is left');
  const expired = await server.cli('keys list', ['--env', 'mock']);
  assert.equal(expired.json.find((k) => k.kid === oldKid).state, 'expired', describeCli(expired));
  const now = jose.createLocalJWKSet(await fetchJwks(rp));
  await assert.rejects(jose.jwtVerify(first.idToken, now, { algorithms: ['RS256'] }), /no applicable key|JWKSNoMatchingKey|matching/i,
    'a token of the dropped key no longer verifies');
  await jose.jwtVerify(second.idToken, now, { algorithms: ['RS256'] });
});

h.test('keys rotate: usage errors', async (t, server) => {
  const noEnv = await server.cli('keys rotate', []);
  assert.equal(noEnv.code, 2, describeCli(noEnv));
  assert.match(noEnv.stderr, /--env is required/);
  const bad = await server.cli('keys rotate', ['--env', 'nowhere']);
  assert.equal(bad.code, 2, describeCli(bad));
  const other = await server.cli('keys list', ['--env', 'int']);
  assert.equal(other.code, 0, describeCli(other));
  assert.equal(other.json.filter((k) => k.state === 'signing').length, 1, `one signing key in int: ${describeCli(other)}`);
});
