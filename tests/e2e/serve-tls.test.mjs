// careid serve --tls-cert/--tls-key: HTTPS from careid itself. A throwaway CA (root →
// intermediate → leaf for 127.0.0.1, made with the openssl CLI) signs the certificate; the
// certificate file holds the chain (leaf + intermediate) and the client trusts only the root.
// Checked: the announced URL and discovery are https; a whole code flow through openid-client over
// TLS; Strict-Transport-Security on every answer (without includeSubDomains); Secure cookies;
// no-store and Pragma on the token endpoint's answers; TLS 1.2 and 1.3 served, 1.1 refused; under
// TLS 1.2 only forward-secret AEAD suites (ECDHE with GCM or ChaCha20-Poly1305), with an ECDSA and
// with an RSA certificate: no static RSA, no CBC; plain HTTP to the TLS port gets no answer; bad
// certificate/key combinations stop careid at start.
//
// node's fetch cannot be given a CA, so this file routes https:// requests through node:https
// with the test root (globalThis.fetch is replaced in this test process only).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import https from 'node:https';
import http from 'node:http';
import tls from 'node:tls';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after } from 'node:test';
import { setupServer, startCareid, runCli, USERS } from './lib/careid.mjs';
import { makeRp } from './lib/rp.mjs';
import { Browser } from './lib/browser.mjs';

const run = promisify(execFile);
const HSTS = 'max-age=31536000';
const pki = { dir: undefined, root: undefined };

/** root CA → intermediate CA → leaf for 127.0.0.1/localhost; and a key that matches nothing. */
async function makePki() {
  const dir = await mkdtemp(join(tmpdir(), 'careid-tls-'));
  const f = (n) => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const ossl = (...args) => run('openssl', args, { timeout: 20000 });
  await ossl('req', '-x509', ...ec, '-keyout', f('root.key'), '-out', f('root.pem'), '-days', '2',
    '-subj', '/CN=careid e2e root', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  await writeFile(f('int.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
  await ossl('req', ...ec, '-keyout', f('int.key'), '-out', f('int.csr'), '-subj', '/CN=careid e2e intermediate');
  await ossl('x509', '-req', '-in', f('int.csr'), '-CA', f('root.pem'), '-CAkey', f('root.key'), '-CAcreateserial',
    '-days', '2', '-out', f('int.pem'), '-extfile', f('int.ext'));
  await writeFile(f('leaf.ext'), 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await ossl('req', ...ec, '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', '/CN=127.0.0.1');
  await ossl('x509', '-req', '-in', f('leaf.csr'), '-CA', f('int.pem'), '-CAkey', f('int.key'), '-CAcreateserial',
    '-days', '2', '-out', f('leaf.pem'), '-extfile', f('leaf.ext'));
  await writeFile(f('chain.pem'), (await readFile(f('leaf.pem'), 'utf8')) + (await readFile(f('int.pem'), 'utf8')));
  await ossl('genpkey', '-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f('other.key'));
  // an RSA leaf too: static RSA key exchange is only possible with one
  await ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('rsa.key'), '-out', f('rsa.csr'), '-subj', '/CN=127.0.0.1');
  await ossl('x509', '-req', '-in', f('rsa.csr'), '-CA', f('int.pem'), '-CAkey', f('int.key'), '-CAcreateserial',
    '-days', '2', '-out', f('rsa.pem'), '-extfile', f('leaf.ext'));
  await writeFile(f('rsa-chain.pem'), (await readFile(f('rsa.pem'), 'utf8')) + (await readFile(f('int.pem'), 'utf8')));
  pki.dir = dir;
  pki.root = await readFile(f('root.pem'), 'utf8');
  pki.chain = f('chain.pem');
  pki.leaf = f('leaf.pem');
  pki.key = f('leaf.key');
  pki.other = f('other.key');
  pki.rsaChain = f('rsa-chain.pem');
  pki.rsaKey = f('rsa.key');
}

/** Every https exchange this file made: {method, url, status, headers}. */
const exchanges = [];

/** fetch() for https:// URLs through node:https trusting the test root (no redirects followed). */
async function tlsFetch(input, init = {}) {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
  const method = (init.method || (input instanceof Request ? input.method : 'GET')).toUpperCase();
  let body = init.body;
  if (body instanceof URLSearchParams) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    body = body.toString();
  } else if (body instanceof ArrayBuffer) {
    body = Buffer.from(body);
  }
  const res = await new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers: Object.fromEntries(headers), ca: pki.root, agent: false, signal: init.signal }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => resolve({ r, buf: Buffer.concat(chunks) }));
      r.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(15000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.end(body ?? undefined);
  });
  const h = new Headers();
  for (let i = 0; i < res.r.rawHeaders.length; i += 2) h.append(res.r.rawHeaders[i], res.r.rawHeaders[i + 1]);
  exchanges.push({ method, url: url.href, status: res.r.statusCode, headers: h, tls: res.r.socket?.getProtocol?.() });
  const empty = method === 'HEAD' || [204, 205, 304].includes(res.r.statusCode);
  const out = new Response(empty ? null : res.buf, { status: res.r.statusCode, statusText: res.r.statusMessage, headers: h });
  Object.defineProperty(out, 'url', { value: url.href });
  return out;
}

const plainFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const u = input instanceof Request ? input.url : String(input);
  return u.startsWith('https:') ? tlsFetch(input, init) : plainFetch(input, init);
};

const h = setupServer({
  async prepare(opts) {
    await makePki();
    opts.extraArgs = ['--tls-cert', pki.chain, '--tls-key', pki.key];
  },
});

after(async () => {
  if (pki.dir) await rm(pki.dir, { recursive: true, force: true });
});

/** A TLS handshake with the given versions: resolves the protocol (or, with `suite`, the
 * protocol and the suite's OpenSSL name), or rejects with the error. */
function handshake(server, { minVersion, maxVersion, ciphers, suite = false }) {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: hostname, port: Number(port), ca: pki.root, minVersion, maxVersion, ciphers, servername: undefined }, () => {
      const p = s.getProtocol();
      const c = s.getCipher()?.name;
      s.end();
      resolve(suite ? `${p} ${c}` : p);
    });
    s.setTimeout(10000, () => s.destroy(new Error('handshake timeout')));
    s.on('error', reject);
  });
}

h.test('the announced URL, discovery and every endpoint are https, with HSTS', async (t, server) => {
  assert.match(server.stdoutLines[0], /^careid listening on https:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(server.url.startsWith('https://127.0.0.1:'), server.url);
  const r = await fetch(`${server.issuer('mock')}/.well-known/openid-configuration`);
  assert.equal(r.status, 200);
  const d = await r.json();
  assert.equal(d.issuer, `${server.url}/realms/mock`);
  for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint']) {
    assert.ok(d[k].startsWith(`${server.url}/`), `${k}: ${d[k]}`);
  }
  assert.equal(r.headers.get('strict-transport-security'), HSTS, 'HSTS, a year, no includeSubDomains');
  for (const path of ['/healthz', '/no-such-page', '/realms/mock/connect/jwk_uri', '/onboarding/']) {
    const x = await fetch(`${server.url}${path}`, { redirect: 'manual' });
    assert.equal(x.headers.get('strict-transport-security'), HSTS, `HSTS on ${path} (${x.status})`);
  }
});

h.test('a code flow over TLS: Secure cookies, no-store token answers, the certificate chain', async (t, server) => {
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  const mark = exchanges.length;
  const { claims, tokens } = await rp.codeFlow(b, { user: USERS.single });
  assert.equal(claims.sub, USERS.single);
  assert.equal(claims.iss, `${server.url}/realms/mock`);
  const cookies = [...b.cookies.values()];
  assert.ok(cookies.length > 0, 'the sign-in set cookies');
  for (const c of cookies) assert.ok('secure' in c.attrs, `cookie ${c.name} is Secure: ${c.raw}`);
  const seen = exchanges.slice(mark);
  assert.ok(seen.every((e) => e.headers.get('strict-transport-security') === HSTS),
    `HSTS on every answer: ${seen.filter((e) => !e.headers.get('strict-transport-security')).map((e) => `${e.method} ${e.url}`).join(', ')}`);
  const token = seen.filter((e) => e.url === rp.meta.token_endpoint);
  assert.equal(token.length, 1, 'one token request');
  assert.equal(token[0].status, 200);
  assert.equal(token[0].headers.get('cache-control'), 'no-store');
  assert.equal(token[0].headers.get('pragma'), 'no-cache');
  // userinfo answers with the user's claims: not kept either
  const u = await fetch(rp.meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(u.status, 200);
  assert.equal(u.headers.get('cache-control'), 'no-store');
  assert.equal(u.headers.get('pragma'), 'no-cache');
  // an error from the token endpoint too
  const bad = await rp.tokenRequest({ grant_type: 'authorization_code', code: 'nope', redirect_uri: rp.client.redirectUri });
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get('cache-control'), 'no-store');
  assert.equal(bad.headers.get('pragma'), 'no-cache');
  assert.equal(bad.headers.get('strict-transport-security'), HSTS);
});

h.test('TLS 1.2 and 1.3 are served; TLS 1.1 is refused', async (t, server) => {
  assert.equal(await handshake(server, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }), 'TLSv1.3');
  assert.equal(await handshake(server, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), 'TLSv1.2');
  // the client offers only TLS 1.0/1.1 (security level 0 so that node's OpenSSL will)
  await assert.rejects(handshake(server, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    (e) => {
      // the server's alert (protocol_version), not a client that refused to try
      assert.match(`${e.code} ${e.message}`, /PROTOCOL_VERSION|protocol version|UNSUPPORTED_PROTOCOL|ECONNRESET|socket disconnected/i, `${e.code}: ${e.message}`);
      assert.doesNotMatch(`${e.code}`, /NO_PROTOCOLS_AVAILABLE/, 'the client must have offered TLS 1.1');
      return true;
    });
});

/** TLS 1.2 offering only `suite` must fail with the server's alert (not a client that could not
 * offer it). */
async function refused(server, suite) {
  await assert.rejects(handshake(server, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: `${suite}@SECLEVEL=0` }),
    (e) => {
      assert.match(`${e.code} ${e.message}`, /HANDSHAKE_FAILURE|handshake failure|INSUFFICIENT_SECURITY|ECONNRESET|socket disconnected/i, `${suite}: ${e.code}: ${e.message}`);
      assert.doesNotMatch(`${e.code} ${e.message}`, /NO_CIPHER|no cipher match/i, `the client must have offered ${suite}`);
      return true;
    }, `TLS 1.2 with ${suite} only must be refused`);
}

h.test('TLS 1.2 suites are forward-secret AEAD only (an ECDSA certificate)', async (t, server) => {
  for (const suite of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
    assert.equal(await handshake(server, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: suite, suite: true }), `TLSv1.2 ${suite}`);
  }
  // CBC with SHA-1 or SHA-256, and CCM: once in GnuTLS's NORMAL, no longer
  for (const suite of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-CCM']) await refused(server, suite);
});

h.test('TLS 1.2 suites with an RSA certificate: ECDHE-RSA AEAD only, no static RSA', async () => {
  const server = await startCareid({ extraArgs: ['--tls-cert', pki.rsaChain, '--tls-key', pki.rsaKey] });
  try {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal(await handshake(server, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }), 'TLSv1.3');
    for (const suite of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
      assert.equal(await handshake(server, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: suite, suite: true }), `TLSv1.2 ${suite}`);
    }
    // static RSA (no forward secrecy), CBC, finite-field DHE
    for (const suite of ['AES128-SHA', 'AES256-SHA', 'AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-SHA', 'DHE-RSA-AES128-GCM-SHA256']) {
      await refused(server, suite);
    }
  } finally {
    const st = await server.stop();
    assert.equal(st.code, 0, `careid exits 0: ${JSON.stringify(st)}`);
  }
});

h.test('plain HTTP to the TLS port gets no HTTP answer', async (t, server) => {
  const { port } = new URL(server.url);
  const r = await new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: Number(port), path: '/healthz', agent: false, timeout: 10000 }, (res) => {
      res.resume();
      resolve({ status: res.statusCode });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e }));
  });
  assert.ok(r.error, `expected a failed exchange, got HTTP ${r.status}`);
  // and the server is still fine
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});

/** `careid serve` that must not start: resolves {code, stderr}. */
async function serveFails(args, env = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'careid-tls-fail-'));
  try {
    return await runCli(['serve', '--listen', '127.0.0.1:0', '--db', `sqlite:${join(dir, 'careid.db')}`, ...args], { env, timeoutMs: 30000 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

h.test('bad certificate and key combinations stop careid at start with a clear message', async () => {
  let r = await serveFails(['--tls-cert', pki.chain]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--tls-cert and --tls-key go together/);
  r = await serveFails(['--tls-cert', pki.chain, '--tls-key', join(pki.dir, 'missing.key')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot read the TLS private key .*missing\.key/);
  r = await serveFails(['--tls-cert', pki.chain, '--tls-key', pki.other]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot serve HTTPS with the certificate .*chain\.pem and the key .*other\.key/);
  // the variables are read as the flags are (CAREID_TLS_CERT / CAREID_TLS_KEY)
  r = await serveFails([], { CAREID_TLS_CERT: pki.key, CAREID_TLS_KEY: pki.key });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot serve HTTPS with the certificate .*leaf\.key/);
  r = await serveFails([], { CAREID_TLS_CERT: pki.leaf });
  assert.equal(r.code, 2, r.stderr);
});

h.test('serve --help documents the TLS and proxy options', async () => {
  const r = await runCli(['serve', '--help']);
  assert.equal(r.code, 0);
  for (const o of ['--tls-cert FILE', '--tls-key FILE', '--trusted-proxy CIDR', '--trusted-proxies', '--proxy-header HEADER']) assert.ok(r.stdout.includes(o), o);
  assert.match(r.stdout, /x-forwarded-for/);
  assert.match(r.stdout, /passphrase/);
});
