// The demo data's authenticators (careid serve --demo): every way of signing in works out of
// the box. The demo security key file loads into Chromium's virtual authenticator over the
// DevTools protocol (WebAuthn.addCredential) and signs in at AAL3 with no registration; the
// demo card and the published authenticator-app secret are used by authn-classes.test.mjs.
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { createServer } from 'node:http';
import { readFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { setupServer } from './lib/careid.mjs';
import { makeRp } from './lib/rp.mjs';
import { launch } from './lib/a11y.mjs';
import { DEMO_TOTP } from './lib/totp.mjs';

const h = setupServer({ extraArgs: ['--public-url', 'http://localhost:0'] });
const KEY_UID = '656005750107';

let chromium;
let callback;
before(async () => {
  chromium = await launch();
  callback = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>Relying party</title><p>Signed in.</p></html>');
  });
  await new Promise((resolve) => callback.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await chromium?.close();
  await new Promise((resolve) => (callback ? callback.close(resolve) : resolve()));
});

h.test('demo data: an app, a card and a security key for each of mock and int, listed by the CLI', async (t, server) => {
  for (const env of ['mock', 'int']) {
    await access(join(server.dir, 'demo', `card-656005750108-${env}.p12`));
    const key = JSON.parse(await readFile(join(server.dir, 'demo', `security-key-${KEY_UID}-${env}.json`), 'utf8'));
    assert.deepEqual(Object.keys(key).sort(), ['credentialId', 'env', 'isResidentCredential', 'privateKey', 'rpId', 'signCount', 'uid', 'userHandle']);
    assert.equal(key.uid, KEY_UID);
    assert.equal(Buffer.from(key.userHandle, 'base64').toString(), KEY_UID);
    const kinds = async (uid) => (await server.cli(`user authenticators ${uid}`, ['--env', env])).json.map((a) => `${a.kind}:${a.method}`);
    assert.deepEqual(await kinds(DEMO_TOTP.uid), ['totp:TOTP']);
    assert.deepEqual(await kinds('656005750108'), ['smartcard:N3_SMARTCARD']);
    assert.deepEqual(await kinds(KEY_UID), ['webauthn:FIDO2']);
  }
});

h.test('demo data: the demo security key, loaded into Chromium\'s virtual authenticator, signs in at AAL3_FIDO2', { timeout: 60000 }, async (t, server) => {
  const key = JSON.parse(await readFile(join(server.dir, 'demo', `security-key-${KEY_UID}-mock.json`), 'utf8'));
  const page = await chromium.ctx.newPage();
  await page.route((u) => !['localhost', '127.0.0.1'].includes(u.hostname), (route) => route.abort());
  page.setDefaultTimeout(15000);
  try {
    const cdp = await chromium.ctx.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    // the file names the relying party ID of the public URL the store was seeded with; this
    // server answers on localhost
    const { credentialId, userHandle, privateKey, signCount, isResidentCredential } = key;
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { credentialId, rpId: 'localhost', userHandle, privateKey, signCount, isResidentCredential } });

    const rp = await makeRp(server, undefined, { redirectUris: [`http://127.0.0.1:${callback.address().port}/cb`] });
    const authz = await rp.authorizationUrl({ scope: 'openid', acr_values: 'AAL3_FIDO2' });
    await page.goto(authz.url);
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(rp.client.redirectUri)),
      page.getByRole('button', { name: 'Use a security key or Windows Hello' }).click(),
    ]);
    const claims = (await rp.exchange(page.url(), { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier })).claims();
    assert.equal(claims.sub, KEY_UID);
    assert.equal(claims.acr, 'AAL3_FIDO2');
    assert.deepEqual(claims.amr, ['FIDO2']);
    assert.equal(claims.authentication_assurance_level, '3');
  } catch (e) {
    process.stderr.write(`chromium failure at ${page.url()}\n${(await page.locator('body').innerText().catch(() => '')).slice(0, 1500)}\n`);
    throw e;
  } finally {
    await page.close();
  }
});
