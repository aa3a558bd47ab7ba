// oidcc-idtoken-unsigned: careid never issues unsigned ID tokens: a client cannot register
// alg none, discovery does not offer it, every ID token is signed.
import assert from 'node:assert/strict';
import { setupServer, USERS, DEFAULT_REDIRECT_URI, describeCli } from './lib/careid.mjs';
import { forVariants, fetchDiscovery } from './lib/rp.mjs';

const h = setupServer();

h.test('oidcc-idtoken-unsigned: client add --id-token-alg none is refused (exit 2)', async (t, server) => {
  const r = await server.cli('client add', ['--env', 'mock', '--name', 'unsigned', '--redirect-uri', DEFAULT_REDIRECT_URI, '--auth', 'client_secret_basic', '--id-token-alg', 'none']);
  assert.equal(r.code, 2, `expected usage error exit 2\n${describeCli(r)}`);
  assert.ok(!r.json?.client_id, 'no client is created');
  assert.ok(r.stderr.trim().length > 0, 'an explanation on stderr');
});

h.test('oidcc-idtoken-unsigned: discovery does not offer alg none', async (t, server) => {
  for (const env of ['mock', 'int', 'dep', 'live']) {
    const d = await fetchDiscovery(server, env);
    const algs = d.json?.id_token_signing_alg_values_supported;
    assert.ok(Array.isArray(algs), `${env}: id_token_signing_alg_values_supported: ${d.text.slice(0, 200)}`);
    assert.ok(!algs.map((a) => a.toLowerCase()).includes('none'), `${env}: "none" must not be offered: ${algs}`);
  }
});

forVariants(h, 'oidcc-idtoken-unsigned: the ID token is signed', async ({ rp, browser }) => {
  const r = await rp.codeFlow(browser, { user: USERS.single });
  assert.notEqual(r.header.alg.toLowerCase(), 'none');
  assert.ok(r.idToken.split('.')[2].length > 0, 'a signature part is present');
});
