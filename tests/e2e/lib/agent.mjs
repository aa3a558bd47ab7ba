// The smartcard identity agent in end-to-end tests: start/stop a real `careid agent` process
// holding a card file or a card on a SoftHSM token, and do over HTTP what web/static/signin.js
// does in a browser (ask the agent to sign the sign-in page's challenge, fill the smartcard
// form's hidden fields).

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BIN, REPO } from './careid.mjs';
export { freePort } from './net.mjs';

const LISTEN_RE = /^careid agent listening on (http:\/\/127\.0\.0\.1:(\d+))$/;
/** A timer that does not keep the process alive (for races against timeouts). */
const guard = (ms, value) => new Promise((r) => setTimeout(r, ms, value).unref());


/** SoftHSM v2's PKCS#11 module (Debian softhsm2, which scripts/install-deps installs). */
export function softhsmModule() {
  const known = ['/usr/lib/softhsm/libsofthsm2.so'];
  try {
    known.push(...execFileSync('dpkg', ['-L', 'libsofthsm2'], { encoding: 'utf8' }).split('\n').filter((l) => l.endsWith('/libsofthsm2.so')));
  } catch { /* not a Debian package here: the usual path or nothing */ }
  const found = known.find((p) => existsSync(p));
  assert.ok(found, `SoftHSM's PKCS#11 module is not installed (${known.join(', ')}): run scripts/install-deps (Debian softhsm2)`);
  return found;
}

/**
 * A SoftHSM token directory of its own under `dir` (SOFTHSM2_CONF names a configuration whose
 * directories.tokendir is it), with a PIN file. Returns {module, label, pin, pinFile, env
 * (for careid processes), init() (a new token of that label), remove() (`softhsm2-util
 * --delete-token`: the card taken out)}; nothing is initialised until init().
 */
export async function softhsmToken(dir, { label = 'careid-e2e', pin = '246810', soPin = '13579135' } = {}) {
  const tokens = join(dir, 'softhsm-tokens');
  const conf = join(dir, 'softhsm2.conf');
  const pinFile = join(dir, `${label}.pin`);
  await mkdir(tokens, { recursive: true });
  await writeFile(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  await writeFile(pinFile, `${pin}\n`, { mode: 0o600 });
  const env = { SOFTHSM2_CONF: conf };
  const util = (args) => execFileSync('softhsm2-util', args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  return {
    module: softhsmModule(),
    label,
    pin,
    pinFile,
    env,
    init: () => util(['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin]),
    remove: () => util(['--delete-token', '--token', label]),
  };
}

/**
 * Start `careid agent --card FILE --listen 127.0.0.1:PORT` (port 0: the agent picks one), or
 * with `token` (a softhsmToken()) `careid agent --pkcs11-module M --token-label L --pin-file F`.
 * Resolves once its first stdout line announced the URL: {url, port, child, logs (stderr
 * lines), stdoutLines, exited, stop()}. stop() sends SIGTERM and asserts exit status 0.
 */
export async function startAgent({ card, token, port = 0, passphraseFile, allowOrigins = [], readyTimeoutMs = 10000 } = {}) {
  assert.ok(card || token, 'startAgent: a card file or a token is required');
  const args = ['agent', ...(card ? ['--card', card] : ['--pkcs11-module', token.module, '--token-label', token.label, '--pin-file', token.pinFile]),
    '--listen', `127.0.0.1:${port}`];
  if (passphraseFile) args.push('--passphrase-file', passphraseFile);
  for (const o of allowOrigins) args.push('--allow-origin', o);
  const child = spawn(BIN, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(token?.env || {}) } });
  const logs = [];
  const stdoutLines = [];
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  const spawnError = new Promise((_, rej) => child.on('error', (e) => rej(new Error(`cannot start ${BIN}: ${e.message}`))));
  spawnError.catch(() => {});
  createInterface({ input: child.stderr }).on('line', (l) => logs.push(l));
  const firstLine = new Promise((res) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      stdoutLines.push(l);
      if (stdoutLines.length === 1) res(l);
    });
  });
  const killOnExit = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } };
  process.on('exit', killOnExit);
  const describe = () => `careid ${args.join(' ')}\n--- stdout:\n${stdoutLines.join('\n')}\n--- stderr:\n${logs.join('\n')}`;

  const line = await Promise.race([firstLine, exited.then((e) => ({ exited: e })), spawnError, guard(readyTimeoutMs, 'timeout')]);
  if (typeof line !== 'string' || !LISTEN_RE.test(line)) {
    killOnExit();
    const st = await exited;
    process.off('exit', killOnExit);
    const what = line === 'timeout' ? `no "careid agent listening on" line within ${readyTimeoutMs} ms`
      : typeof line === 'object' ? `careid agent exited early (${JSON.stringify(line.exited)})`
        : `unexpected first line ${JSON.stringify(line)} (exit ${JSON.stringify(st)})`;
    throw new Error(`${what}\n${describe()}`);
  }
  const m = LISTEN_RE.exec(line);
  const agent = {
    url: m[1],
    port: Number(m[2]),
    card,
    token,
    child,
    logs,
    stdoutLines,
    exited,
    describe,
    stopped: false,
    /** SIGTERM, wait (bounded) and assert exit 0. */
    async stop({ timeoutMs = 5000 } = {}) {
      if (agent.stopped) return agent.exitStatus;
      agent.stopped = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let st = await Promise.race([exited, guard(timeoutMs, null)]);
      process.off('exit', killOnExit);
      if (!st) {
        child.kill('SIGKILL');
        await exited;
        st = { code: null, signal: 'SIGKILL', timedOut: true };
      }
      agent.exitStatus = st;
      assert.deepEqual(st, { code: 0, signal: null }, `careid agent should exit 0 on SIGTERM\n${describe()}`);
      return st;
    },
  };
  return agent;
}

/** POST {agent}/sign as a page of `origin` would (Origin header). Resolves {status, headers, json, text}. */
export async function agentPost(agentUrl, body, { origin, headers = {} } = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (origin) h.origin = origin;
  const r = await fetch(`${agentUrl}/sign`, { method: 'POST', headers: h, body: typeof body === 'string' ? body : JSON.stringify(body), signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { /* reported by the caller */ }
  return { status: r.status, headers: r.headers, json, text };
}

/** The sign-in page's smartcard form (id smartcard-form) of a Browser response, or a failure. */
export function smartcardForm(page) {
  const form = page.forms?.find((f) => f.attrs.id === 'smartcard-form');
  assert.ok(form, `the page has a smartcard form: ${page.status} ${page.url} ${(page.body || '').replace(/\s+/g, ' ').slice(0, 300)}`);
  return form;
}

/**
 * What signin.js does for the cookie-jar Browser: read the smartcard form's data-agent,
 * data-origin, data-issuer and challenge, POST them to the agent with the page's Origin, and
 * return the fields the script fills in before it submits. opts.agentUrl: ask this agent
 * instead of the page's data-agent (a test's other card). Resolves {form, fields: {certificate,
 * signature, removal_token}, answer (the agent's JSON)}.
 */
export async function agentSign(page, { agentUrl } = {}) {
  const form = smartcardForm(page);
  const { 'data-agent': agent, 'data-origin': origin, 'data-issuer': issuer } = form.attrs;
  assert.ok(agent && origin && issuer, `the smartcard form names the agent, origin and issuer: ${JSON.stringify(form.attrs)}`);
  const challenge = form.hidden.challenge;
  assert.ok(challenge, 'the smartcard form carries a challenge');
  const r = await agentPost(agentUrl || agent, { challenge, origin, issuer }, { origin });
  assert.equal(r.status, 200, `the agent signs: HTTP ${r.status} ${r.text}`);
  assert.ok(r.json?.certificate && r.json?.signature && r.json?.removal_token, `the agent's answer: ${r.text}`);
  return {
    form,
    answer: r.json,
    fields: { certificate: r.json.certificate, signature: r.json.signature, removal_token: r.json.removal_token || '' },
  };
}
