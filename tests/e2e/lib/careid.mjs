// careid end-to-end harness: start/stop a `careid serve` process, run CLI commands
// against the same store, register clients.
//
// One server per test file: call setupServer() at the top level of a test file; it
// registers before/after hooks and returns a handle whose `.server` is set once the
// before hook has run. Use `h.test(name, fn)` (instead of node:test's `test`) to get the
// server's log lines printed when that test fails.

import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir, stat, copyFile, rename, readdir, access, readFile, cp } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { before, after, test as nodeTest } from 'node:test';
import { generateKeyPair, exportJWK } from 'jose';
import * as pg from './pg.mjs';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = process.env.CAREID_BIN || join(REPO, 'build', 'careid');
export const E2E_TMP = join(REPO, 'tests', 'e2e', '.tmp');
/**
 * The store backend every server of this run uses: PostgreSQL when CAREID_TEST_PG names the
 * admin URL of a test server (scripts/pg-test-server; `make e2e-postgres`), else SQLite. On
 * PostgreSQL each server gets its own database, named in its directory's `db-url` file.
 */
export const BACKEND = pg.adminUrl() ? 'postgres' : 'sqlite';

/** Password of every demo user (mock and int directories). */
export const DEMO_PASSWORD = 'careid-demo';
/** Demo users (CIS2-PROFILE.md and the --demo data set). */
export const USERS = {
  single: '656005750108', // one role (R0260)
  clinical: '656005750107',
  admin: '656005750104',
  aal2gp: '656005750111',
  aal2clinical: '656005750109',
  multi: '910000000001', // three roles at two organisations
};

/** A redirect URI nobody listens on: tests read the Location header instead. */
export const DEFAULT_REDIRECT_URI = 'http://127.0.0.1:9/cb';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A timer that does not keep the process alive (for races against timeouts). */
const guard = (ms, value) => new Promise((r) => setTimeout(r, ms, value).unref());

const LISTEN_RE = /^careid listening on (https?:\/\/(?:127\.0\.0\.1|localhost):\d+)$/;

/**
 * A demo-seeded store made once per careid binary (seeding generates keys and hashes
 * passwords: ~2 s, against ~0.1 s to start on a seeded store). Each test file still gets its
 * own copy. Keyed on the binary's path, size and mtime; CAREID_E2E_FRESH=1 disables it.
 * Returns the template's directory (holding careid.db) or undefined.
 */
async function demoTemplate() {
  if (process.env.CAREID_E2E_FRESH) return undefined;
  const st = await stat(BIN);
  // a PostgreSQL template lives on one test server: its URL (port, password) is in the key
  const key = createHash('sha256').update(`${BIN}\0${st.size}\0${st.mtimeMs}\0${pg.adminUrl() || ''}`).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `careid-e2e-template-${key}`);
  const ready = join(dir, 'READY');
  const lock = `${dir}.lock`;
  const exists = (p) => access(p).then(() => true, () => false);
  const deadline = Date.now() + 60000;
  while (!(await exists(ready))) {
    let mine = false;
    try { await mkdir(lock); mine = true; } catch { /* someone else builds it */ }
    if (mine) {
      try {
        if (await exists(ready)) break;
        const s = await startCareid({ demo: true, useTemplate: false, readyTimeoutMs: 60000 });
        await s.stop({ keepDir: true });
        if (s.exitStatus.code !== 0) throw new Error(`template careid did not exit 0: ${JSON.stringify(s.exitStatus)}`);
        await rm(dir, { recursive: true, force: true });
        await rename(s.dir, dir);
        await writeFile(ready, templateOwner());
        await dropStaleTemplates(dir);
      } finally {
        await rm(lock, { recursive: true, force: true });
      }
      break;
    }
    if (Date.now() > deadline) return undefined; // give up: seed a fresh store
    try { // a lock left by a killed run
      if (Date.now() - (await stat(lock)).mtimeMs > 60000) await rm(lock, { recursive: true, force: true });
    } catch { /* gone */ }
    await sleep(100);
  }
  return dir;
}

/** What a template was made for: the binary's path and the PostgreSQL server (runs on other
 * servers, at the same time, keep their own). */
const templateOwner = () => `${BIN}\n${pg.adminUrl() || 'sqlite'}\n`;

/** Remove the templates of earlier builds of the same binary (they are never used again). */
async function dropStaleTemplates(current) {
  for (const name of await readdir(tmpdir())) {
    const d = join(tmpdir(), name);
    if (!name.startsWith('careid-e2e-template-') || name.endsWith('.lock') || d === current) continue;
    try {
      if ((await readFile(join(d, 'READY'), 'utf8')) === templateOwner()) await rm(d, { recursive: true, force: true });
    } catch { /* not ours or being built */ }
  }
}

/**
 * Start `careid serve --listen 127.0.0.1:0 --db sqlite:<fresh tmpdir>/careid.db --demo`.
 * Resolves once the first stdout line announced the URL and /readyz answered 200.
 * useTemplate: start from a copy of an already seeded demo store (see demoTemplate).
 * dir: start on the store another server left in this directory (see kill()), not a fresh one.
 * listen: ADDR:PORT (default 127.0.0.1:0); a fixed port keeps the issuers across a restart.
 */
export async function startCareid({ demo = true, extraArgs = [], env = {}, readyTimeoutMs = 20000, useTemplate = demo, dir: reuseDir, listen = '127.0.0.1:0' } = {}) {
  const dir = reuseDir || await mkdtemp(join(tmpdir(), 'careid-e2e-'));
  const template = useTemplate && !reuseDir ? await demoTemplate() : undefined;
  const db = await storeFor(dir, { reuse: !!reuseDir, template });
  if (template) {
    if (BACKEND === 'sqlite') {
      for (const f of await readdir(template)) {
        if (f.startsWith('careid.db')) await copyFile(join(template, f), join(dir, f));
      }
    }
    // the demo smartcards the template's seeding wrote
    await cp(join(template, 'demo'), join(dir, 'demo'), { recursive: true }).catch(() => {});
  }
  const demoArgs = demo ? ['--demo', '--demo-dir', join(dir, 'demo')] : [];
  const args = ['serve', '--listen', listen, '--db', db, ...demoArgs, ...extraArgs];
  // e-mail goes to the test's own directory unless the test gave an SMTP receiver
  if (!extraArgs.includes('--smtp-url')) args.push('--mail-file', join(dir, 'mail.log'));
  // cwd = the repository: careid finds node_modules/nhsuk-frontend there by default
  const child = spawn(BIN, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });

  const logs = []; // every stderr line (JSON log lines)
  const stdoutLines = [];
  const exited = new Promise((res) => {
    child.on('exit', (code, signal) => res({ code, signal }));
  });
  const spawnError = new Promise((_, rej) => child.on('error', (e) => rej(new Error(`cannot start ${BIN}: ${e.message}`))));
  spawnError.catch(() => {});

  createInterface({ input: child.stderr }).on('line', (l) => logs.push(l));
  const out = createInterface({ input: child.stdout });
  const firstLine = new Promise((res) => {
    out.on('line', (l) => {
      stdoutLines.push(l);
      if (stdoutLines.length === 1) res(l);
    });
  });

  // never leave a server behind if the test process dies
  const killOnExit = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } };
  process.on('exit', killOnExit);

  const fail = async (msg) => {
    killOnExit();
    await exited;
    process.off('exit', killOnExit);
    // a store this call made goes with it (CAREID_E2E_KEEP=1 keeps it for a look)
    if (!reuseDir && !process.env.CAREID_E2E_KEEP) await dropStore(dir, db).catch(() => {});
    throw new Error(`${msg}\n--- careid ${args.join(' ')}\n--- stdout:\n${stdoutLines.join('\n')}\n--- stderr:\n${logs.join('\n')}`);
  };

  const deadline = Date.now() + readyTimeoutMs;
  const line = await Promise.race([firstLine, exited.then((e) => ({ exited: e })), spawnError, guard(readyTimeoutMs, 'timeout')]);
  if (line === 'timeout') await fail(`no "careid listening on" line within ${readyTimeoutMs} ms`);
  if (typeof line === 'object') await fail(`careid serve exited early (${JSON.stringify(line.exited)})`);
  const m = LISTEN_RE.exec(line);
  if (!m) await fail(`first stdout line should be "careid listening on http://127.0.0.1:PORT", saw ${JSON.stringify(line)}`);
  const url = m[1];

  let lastSeen = 'no answer';
  for (;;) {
    try {
      const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      lastSeen = `HTTP ${r.status}`;
      await r.arrayBuffer();
      if (r.status === 200) break;
    } catch (e) {
      lastSeen = e.cause?.code || e.message;
    }
    if (Date.now() > deadline) await fail(`GET ${url}/readyz did not answer 200 within ${readyTimeoutMs} ms (last: ${lastSeen})`);
    await sleep(100);
  }

  const server = {
    url,
    origin: new URL(url).origin,
    db,
    backend: BACKEND,
    dir,
    child,
    logs,
    fromTemplate: !!template,
    stdoutLines,
    /** Issuer of an environment: {url}/realms/{env}. */
    issuer: (envName = 'mock') => `${url}/realms/${envName}`,
    /** Run a CLI command against this server's store: cli('client add', [...flags]). */
    cli: (command, flags = [], opts) => runCli([...command.split(' '), '--db', db, ...flags], opts),
    /**
     * Rows of a query on this server's store, as objects (integers as numbers, NULL as null),
     * or [] for a statement that returns none. SQL both backends accept.
     */
    sql: (statement) => sqlRows(db, statement),
    /** Log lines since index `from` (use logs.length as a mark). */
    logsSince: (from) => logs.slice(from),
    exited,
    stopped: false,
    /** SIGTERM and wait; resolves {code, signal}. */
    async stop({ timeoutMs = 15000, keepDir = false } = {}) {
      if (server.stopped) return server.exitStatus;
      server.stopped = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const r = await Promise.race([exited, guard(timeoutMs, null)]);
      process.off('exit', killOnExit);
      if (!r) {
        child.kill('SIGKILL');
        await exited;
        server.exitStatus = { code: null, signal: 'SIGKILL', timedOut: true };
      } else {
        server.exitStatus = r;
      }
      if (!keepDir) await dropStore(dir, db);
      return server.exitStatus;
    },
    /** SIGKILL (no clean shutdown) and wait; the directory and its store stay (startCareid({dir})). */
    async kill() {
      server.stopped = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      server.exitStatus = await exited;
      process.off('exit', killOnExit);
      return server.exitStatus;
    },
  };
  return server;
}

/**
 * The store URL of a server in `dir`: SQLite's file in it, or on PostgreSQL a new database
 * (a copy of the demo template's, when there is one) whose URL `dir/db-url` keeps for a
 * restart on the same store.
 */
async function storeFor(dir, { reuse, template }) {
  if (BACKEND === 'sqlite') return `sqlite:${join(dir, 'careid.db')}`;
  const file = join(dir, 'db-url');
  if (reuse) return (await readFile(file, 'utf8')).trim();
  const name = `careid_e2e_${randomBytes(8).toString('hex')}`;
  const from = template ? new URL((await readFile(join(template, 'db-url'), 'utf8')).trim()).pathname.slice(1) : undefined;
  let url;
  for (let tries = 0; ; tries++) {
    try {
      url = await pg.createDatabase(name, { template: from });
      break;
    } catch (e) { // another copy of the template being made at this moment
      if (tries === 20 || !/being accessed by other users/.test(e.message)) throw e;
      await sleep(100 + 50 * tries);
    }
  }
  await writeFile(file, `${url}\n`, { mode: 0o600 });
  return url;
}

/** Removes a server's directory and, on PostgreSQL, its database. */
async function dropStore(dir, db) {
  if (BACKEND === 'postgres') await pg.dropDatabase(new URL(db).pathname.slice(1));
  await rm(dir, { recursive: true, force: true });
}

/** Rows of `statement` on store `db` (see server.sql). */
export async function sqlRows(db, statement) {
  // rows come back from a query, or from a write with RETURNING
  const query = /^\s*(SELECT|WITH)\b/i.test(statement) || /\bRETURNING\b/i.test(statement);
  if (BACKEND === 'sqlite') {
    const out = await new Promise((res, rej) => execFile('sqlite3', ['-json', '-cmd', '.timeout 5000', db.replace(/^sqlite:/, ''), statement],
      { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => (err ? rej(new Error(`sqlite3: ${stderr || err.message}`)) : res(stdout))));
    return out.trim() ? JSON.parse(out) : [];
  }
  return query ? pg.sqlJson(db, statement) : pg.sql(db, statement);
}

/**
 * Run the careid CLI. Resolves {code, stdout, stderr, json} (json: stdout parsed, or
 * undefined when it is not JSON). Never rejects for a non-zero exit.
 */
export function runCli(args, { timeoutMs = 20000, env = {}, input = '' } = {}) {
  return new Promise((res) => {
    const child = execFile(BIN, args, { cwd: REPO, timeout: timeoutMs, env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      let code = 0;
      if (err) code = typeof err.code === 'number' ? err.code : (err.signal ? `signal ${err.signal}` : err.code ?? 1);
      let json;
      try { json = JSON.parse(stdout); } catch { /* not JSON */ }
      res({ code, stdout, stderr, json, args });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input); // never leave a command waiting for a password on stdin
  });
}

/** Human summary of a CLI result, for assertion messages. */
export function describeCli(r) {
  return `careid ${r.args.join(' ')}\n  exit ${r.code}\n  stdout: ${r.stdout.trim()}\n  stderr: ${r.stderr.trim()}`;
}

let clientSeq = 0;

/**
 * Register a client with `careid client add`.
 *   env           mock | int | dep | live
 *   auth          client_secret_basic | client_secret_post | client_secret_jwt | private_key_jwt
 *   keyAlg        for private_key_jwt: the JWS alg of the generated key pair (RS256, RS512, PS256…)
 *   idTokenAlg    --id-token-alg
 *   userinfoAlg   --userinfo-signed-response-alg
 *   redirectUris  default [DEFAULT_REDIRECT_URI]
 * Returns {clientId, clientSecret, redirectUri, redirectUris, auth, env, privateKey?, publicJwk?, kid?, keyAlg?}.
 */
export async function registerClient(server, {
  env = 'mock', auth = 'client_secret_basic', keyAlg = 'RS256', idTokenAlg, userinfoAlg,
  redirectUris = [DEFAULT_REDIRECT_URI], name, jwksUri, extraFlags = [],
} = {}) {
  // one number per call, captured before any await: calls run concurrently
  const seq = ++clientSeq;
  const clientName = name || `e2e-${auth}-${keyAlg}-${process.pid}-${seq}`;
  const flags = ['--env', env, '--name', clientName, '--auth', auth];
  for (const u of redirectUris) flags.push('--redirect-uri', u);
  if (idTokenAlg) flags.push('--id-token-alg', idTokenAlg);
  if (userinfoAlg) flags.push('--userinfo-signed-response-alg', userinfoAlg);
  const out = { auth, env, redirectUris, redirectUri: redirectUris[0], idTokenAlg: idTokenAlg || 'RS256', userinfoAlg, name: clientName };
  if (auth === 'private_key_jwt') {
    const kid = `e2e-${keyAlg}-${seq}`;
    const { publicKey, privateKey } = await generateKeyPair(keyAlg, { modulusLength: 2048 });
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: keyAlg, use: 'sig' };
    Object.assign(out, { privateKey, publicJwk, kid, keyAlg });
    if (jwksUri) {
      flags.push('--jwks-uri', jwksUri);
    } else {
      const file = join(server.dir, `jwks-${seq}.json`);
      await writeFile(file, JSON.stringify({ keys: [publicJwk] }));
      flags.push('--jwks-file', file);
    }
  }
  flags.push(...extraFlags);
  const r = await server.cli('client add', flags);
  if (r.code !== 0 || !r.json?.client_id) {
    throw new Error(`client registration failed\n${describeCli(r)}`);
  }
  out.clientId = r.json.client_id;
  out.clientSecret = r.json.client_secret ?? undefined;
  if (auth.startsWith('client_secret') && !out.clientSecret) {
    throw new Error(`client add for ${auth} printed no client_secret\n${describeCli(r)}`);
  }
  return out;
}

/** `careid user show` → parsed JSON (throws with the CLI output on failure). */
export async function userShow(server, uid, env = 'mock') {
  const r = await server.cli('user show', ['--env', env, '--uid', uid]);
  if (r.code !== 0 || !r.json) throw new Error(`user show failed\n${describeCli(r)}`);
  return r.json;
}

/**
 * Per-file server lifecycle. Returns a handle {server, test}. The server starts in a
 * before hook and is stopped (SIGTERM, expecting exit 0) in an after hook.
 */
export function setupServer(opts = {}) {
  const h = { server: undefined, failures: 0 };
  // node:test runs top-level hooks concurrently: anything the server needs first (an SMTP
  // receiver, say) is started by opts.prepare(opts) here, in order.
  before(async () => {
    if (opts.prepare) await opts.prepare(opts);
    h.server = await startCareid(opts);
  });
  after(async () => {
    if (!h.server) return;
    const st = await h.server.stop({ keepDir: h.failures > 0 });
    if (h.failures > 0) process.stderr.write(`careid store kept for inspection: ${h.server.dir}\n`);
    if (st.code !== 0) {
      process.stderr.write(`--- careid stderr (exit ${JSON.stringify(st)}):\n${h.server.logs.slice(-200).join('\n')}\n`);
      throw new Error(`careid should exit 0 on SIGTERM, got ${JSON.stringify(st)}`);
    }
  });
  /** node:test `test` that prints the server's log lines of the test when it fails. */
  h.test = (name, optsOrFn, maybeFn) => {
    const fn = typeof optsOrFn === 'function' ? optsOrFn : maybeFn;
    const topts = typeof optsOrFn === 'function' ? {} : optsOrFn;
    return nodeTest(name, topts, async (t) => {
      const mark = h.server ? h.server.logs.length : 0;
      try {
        await fn(t, h.server);
      } catch (e) {
        h.failures += 1;
        const lines = h.server ? h.server.logsSince(mark) : [];
        process.stderr.write(`\n--- careid log lines during failed test "${name}" (${lines.length}):\n${lines.slice(-300).join('\n')}\n--- end of careid log\n`);
        throw e;
      }
    });
  };
  return h;
}

/** Write a file under tests/e2e/.tmp (gitignored). */
export async function writeTmpFile(name, content) {
  await mkdir(E2E_TMP, { recursive: true });
  const p = join(E2E_TMP, name);
  await writeFile(p, content);
  return p;
}
