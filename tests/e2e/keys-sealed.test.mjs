// Private keys sealed at rest with CAREID_KEY_ENCRYPTION_KEY (docs/operations-keys.md):
//   1. a store seeded under the key holds no private key in the clear (signing keys and the
//      server secrets, whose seal key protects the smartcard CAs' keys), ID tokens verify
//      against the JWKS with openid-client and jose, rotation writes sealed keys (and refuses,
//      writing nothing, with another deployment's key), and careid refuses to start without
//      the key or with another one, saying so;
//   2. a store written before sealing (plain keys) still serves; `careid keys seal` seals it in
//      place (same kids, idempotent, audited), and rotating the key-encryption key with
//      CAREID_KEY_ENCRYPTION_KEY_OLD and `keys seal` re-seals everything under the new key.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, test } from 'node:test';
import * as jose from 'jose';
import { startCareid, runCli, describeCli, USERS } from './lib/careid.mjs';
import { Browser } from './lib/browser.mjs';
import { makeRp } from './lib/rp.mjs';

const KEK = 'CAREID_KEY_ENCRYPTION_KEY';
const KEK_OLD = 'CAREID_KEY_ENCRYPTION_KEY_OLD';
const SEALED = /^sealed:v1:([0-9a-f]{16}):[A-Za-z0-9_-]+$/;
/** An empty value counts as unset (as in a compose file's `CAREID_KEY_ENCRYPTION_KEY=`). */
const UNSET = { [KEK]: '', [KEK_OLD]: '' };

const servers = [];
const dirs = [];
after(async () => {
  delete process.env[KEK];
  delete process.env[KEK_OLD];
  for (const s of servers) await s.stop().catch(() => {});
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** `openssl rand -base64 32`, as the docs say. */
const newKek = () => randomBytes(32).toString('base64');

/** Starts careid with `kek` in its environment (and in this process's, for the CLI calls
 * registerClient makes): the CLI reads the same variable. */
async function start(opts, kek) {
  if (kek) process.env[KEK] = kek;
  else delete process.env[KEK];
  const s = await startCareid({ ...opts, env: kek ? { [KEK]: kek } : UNSET });
  servers.push(s);
  if (!dirs.includes(s.dir)) dirs.push(s.dir);
  return s;
}

async function stopKeep(s) {
  const st = await s.stop({ keepDir: true });
  assert.equal(st.code, 0, `careid exits 0 on SIGTERM: ${JSON.stringify(st)}`);
}

async function jwksKids(server, env = 'mock') {
  const r = await fetch(`${server.issuer(env)}/connect/jwk_uri`, { signal: AbortSignal.timeout(10000) });
  assert.equal(r.status, 200);
  const jwks = await r.json();
  for (const k of jwks.keys) assert.equal(k.d, undefined, 'no private part in the JWKS');
  return { jwks, kids: jwks.keys.map((k) => k.kid) };
}

/** A sign-in whose ID token openid-client verified (non-repudiation checks on) and jose too. */
async function signInVerified(server) {
  const rp = await makeRp(server, { name: 'client_secret_basic', auth: 'client_secret_basic' });
  const res = await rp.codeFlow(new Browser(server.url), { user: USERS.single });
  const { jwks, kids } = await jwksKids(server);
  assert.ok(kids.includes(res.header.kid), `the ID token's kid ${res.header.kid} is published: ${kids}`);
  await jose.jwtVerify(res.idToken, jose.createLocalJWKSet(jwks), { issuer: rp.issuer, audience: rp.client.clientId, algorithms: ['RS256'] });
  return res;
}

/** Every private key and server secret in the store, as stored. */
async function storedSecrets(server) {
  const keys = await server.sql('SELECT env, kid, private_jwk AS value FROM signing_keys ORDER BY env, kid');
  const secrets = await server.sql('SELECT name, value FROM server_secrets ORDER BY name');
  return { keys, secrets };
}

/** Asserts everything is sealed under one key id; returns it. */
function assertAllSealed({ keys, secrets }, what) {
  const ids = new Set();
  assert.ok(keys.length > 0 && secrets.length === 3, `${what}: keys and the three server secrets`);
  for (const r of [...keys, ...secrets]) {
    const name = r.kid ? `signing key ${r.env}/${r.kid}` : `server secret ${r.name}`;
    const m = SEALED.exec(r.value);
    assert.ok(m, `${what}: ${name} is sealed: ${r.value.slice(0, 60)}`);
    assert.ok(!/[{}"]/.test(r.value), `${what}: no JSON shows in ${name}`);
    ids.add(m[1]);
  }
  assert.equal(ids.size, 1, `${what}: one key id: ${[...ids]}`);
  return [...ids][0];
}

test('a store seeded under the key holds no plain private key; tokens verify; no key, no start', async () => {
  const kek = newKek();
  const server = await start({ demo: true, useTemplate: false }, kek);
  const stored = await storedSecrets(server);
  const keyId = assertAllSealed(stored, 'fresh store');
  // the smartcard test CAs' keys are sealed with the (now sealed) seal key, never PEM
  const cas = await server.sql('SELECT env, private_key FROM card_authorities');
  assert.ok(cas.length > 0, 'the demo made smartcard CAs');
  for (const ca of cas) assert.ok(!/BEGIN|PRIVATE/.test(ca.private_key), `CA key of ${ca.env} is not PEM`);

  const first = await signInVerified(server);
  const { kids: before } = await jwksKids(server);

  // rotation writes a sealed key, and the server follows
  const rot = await server.cli('keys rotate', ['--env', 'mock'], { env: { [KEK]: kek } });
  assert.equal(rot.code, 0, describeCli(rot));
  const [row] = await server.sql(`SELECT private_jwk FROM signing_keys WHERE kid = '${rot.json.kid}'`);
  assert.equal(SEALED.exec(row.private_jwk)?.[1], keyId, `the rotated key is sealed: ${row.private_jwk.slice(0, 40)}`);
  // rotating without the key would add a plain key among sealed ones: refused
  const plainRot = await server.cli('keys rotate', ['--env', 'mock'], { env: UNSET });
  assert.equal(plainRot.code, 1, describeCli(plainRot));
  assert.match(plainRot.stderr, /sealed; set CAREID_KEY_ENCRYPTION_KEY/);
  // rotating with another deployment's (or a stale) key would seal the new key with a key the
  // servers do not have: refused, naming both key ids, and nothing written
  const keysBefore = await server.sql('SELECT kid, private_jwk, retired_at FROM signing_keys ORDER BY kid');
  const wrongRot = await server.cli('keys rotate', ['--env', 'mock'], { env: { [KEK]: newKek(), [KEK_OLD]: '' } });
  assert.equal(wrongRot.code, 1, describeCli(wrongRot));
  assert.match(wrongRot.stderr, /signing key mock\/\S+ is sealed with another key/, describeCli(wrongRot));
  const ids = new Set(wrongRot.stderr.match(/\b[0-9a-f]{16}\b/g));
  assert.ok(ids.has(keyId) && ids.size === 2, `both key ids named: ${wrongRot.stderr}`);
  assert.match(wrongRot.stderr, /CAREID_KEY_ENCRYPTION_KEY_OLD/);
  assert.match(wrongRot.stderr, /nothing was written/);
  assert.deepEqual(await server.sql('SELECT kid, private_jwk, retired_at FROM signing_keys ORDER BY kid'), keysBefore,
    'the store\'s keys are unchanged');
  // `keys seal` on a sealed store has nothing to do
  const noop = await server.cli('keys seal', [], { env: { [KEK]: kek } });
  assert.equal(noop.code, 0, describeCli(noop));
  assert.deepEqual([noop.json.sealed, noop.json.server_secrets], [[], []], describeCli(noop));
  const deadline = Date.now() + 5000;
  for (;;) {
    const { kids } = await jwksKids(server);
    if (kids[0] === rot.json.kid) break;
    assert.ok(Date.now() < deadline, `the running server publishes the rotated key: ${kids}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const second = await signInVerified(server);
  assert.equal(second.header.kid, rot.json.kid, 'signed with the rotated, sealed key');
  assert.notEqual(second.header.kid, first.header.kid);
  await stopKeep(server);

  const rows = async () => (await storedSecrets(server)).keys.map((k) => `${k.env}/${k.kid} ${k.value}`);
  const kept = await rows();
  // without the key: careid refuses to start, saying what to set
  await assert.rejects(start({ dir: server.dir }, undefined), /is sealed; set CAREID_KEY_ENCRYPTION_KEY/);
  // with another key: said so
  await assert.rejects(start({ dir: server.dir }, newKek()), /sealed with another key/);
  // a malformed key: said so, without echoing it
  await assert.rejects(start({ dir: server.dir }, 'not a key!'),
    (e) => /CAREID_KEY_ENCRYPTION_KEY is not base64/.test(e.message) && !e.message.includes('not a key!'));
  assert.deepEqual(await rows(), kept, 'no key made or changed by the failed starts');

  // with the key again: the same keys
  const again = await start({ dir: server.dir }, kek);
  const { kids: after } = await jwksKids(again);
  assert.ok(before.every((k) => after.includes(k)) && after.includes(rot.json.kid), `same keys: ${before} / ${after}`);
  await signInVerified(again);
  await again.stop();
});

test('a plain store keeps working; keys seal seals it in place; the encryption key rotates', async () => {
  // a store written before sealing (the demo template: plain keys and secrets)
  const legacy = await start({ demo: true }, undefined);
  const plain = await storedSecrets(legacy);
  assert.ok(plain.keys.every((k) => k.value.startsWith('{')), 'the template holds plain JWKs');
  const { kids: before } = await jwksKids(legacy);
  await stopKeep(legacy);
  const db = legacy.db;
  const seal = (env, flags = []) => runCli(['keys', 'seal', '--db', db, ...flags], { env });

  const none = await seal(UNSET);
  assert.equal(none.code, 1, describeCli(none));
  assert.match(none.stderr, /CAREID_KEY_ENCRYPTION_KEY is not set/);
  const bad = await seal(UNSET, ['--env', 'nowhere']);
  assert.equal(bad.code, 2, describeCli(bad));

  const k1 = newKek();
  const r1 = await seal({ [KEK]: k1 });
  assert.equal(r1.code, 0, describeCli(r1));
  assert.match(r1.json.key_id, /^[0-9a-f]{16}$/);
  assert.equal(r1.json.env, null);
  assert.equal(r1.json.sealed.length, plain.keys.length, describeCli(r1));
  assert.ok(r1.json.sealed.every((k) => k.was === 'plain'), describeCli(r1));
  assert.deepEqual(r1.json.server_secrets.map((s) => s.name).sort(), ['csrf_key', 'hash_key', 'seal_key']);
  assert.equal(r1.json.already_sealed, 0);
  const sealed = await storedSecrets(legacy);
  assert.equal(assertAllSealed(sealed, 'after keys seal'), r1.json.key_id);
  assert.deepEqual(sealed.keys.map((k) => `${k.env}/${k.kid}`), plain.keys.map((k) => `${k.env}/${k.kid}`), 'the same kids');
  // idempotent, and audited once
  const r2 = await seal({ [KEK]: k1 });
  assert.equal(r2.code, 0, describeCli(r2));
  assert.deepEqual([r2.json.sealed, r2.json.server_secrets, r2.json.already_sealed], [[], [], plain.keys.length + 3]);
  const audit = await legacy.sql("SELECT actor, subject FROM audit_events WHERE action = 'keys.sealed'");
  assert.deepEqual(audit, [{ actor: 'operator', subject: 'keys:*' }]);

  // the sealed store serves the same keys, and sign-in works
  const s1 = await start({ dir: legacy.dir }, k1);
  assert.deepEqual((await jwksKids(s1)).kids, before, 'same JWKS after sealing');
  await signInVerified(s1);
  await stopKeep(s1);

  // rotating the key-encryption key: the new one with the old one beside it, keys seal, then
  // the old one can go
  const k2 = newKek();
  const r3 = await seal({ [KEK]: k2, [KEK_OLD]: k1 });
  assert.equal(r3.code, 0, describeCli(r3));
  assert.notEqual(r3.json.key_id, r1.json.key_id);
  assert.equal(r3.json.sealed.length, plain.keys.length);
  assert.ok([...r3.json.sealed, ...r3.json.server_secrets].every((k) => k.was === 'old_key'), describeCli(r3));
  assert.equal(assertAllSealed(await storedSecrets(legacy), 'after re-sealing'), r3.json.key_id);
  await assert.rejects(start({ dir: legacy.dir }, k1), /sealed with another key/);
  const s2 = await start({ dir: legacy.dir }, k2);
  assert.deepEqual((await jwksKids(s2)).kids, before, 'same JWKS after re-sealing');
  await signInVerified(s2);
  await s2.stop();
});
