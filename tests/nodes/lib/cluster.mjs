// Two (or more) careid nodes behind HAProxy on one PostgreSQL server of the test's own, for
// tests/nodes/*.test.mjs (issue 8).
//
// The PostgreSQL server is started here (scripts/pg-test-server in a temporary directory), not
// taken from scripts/with-postgres: the tests stop and start it. Its admin URL goes into
// CAREID_TEST_PG before tests/e2e/lib/careid.mjs is loaded (it picks its backend when loaded),
// so a test file imports that library, and everything that imports it (rp.mjs…), dynamically
// after `await startPg()`.
//
// Order of a cluster's start: HAProxy first (its port is every node's --public-url, so the
// issuers match), then node A (which seeds the demo store), then node B on A's store.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { startHaproxy, freePort } from './haproxy.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PG_SCRIPT = join(REPO, 'scripts', 'pg-test-server');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(cmd, args, timeoutMs = 60000) {
  return new Promise((res, rej) => execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' },
    (err, stdout, stderr) => (err ? rej(new Error(`${cmd} ${args.join(' ')}: ${(stderr || '').trim() || err.message}`)) : res(stdout))));
}

/**
 * A PostgreSQL server of this test file's own: {url, dir, stop(), start(), destroy()}.
 * stop() and start() keep the directory, the port and the password (a restart); destroy()
 * stops it and removes the directory. Sets process.env.CAREID_TEST_PG to its admin URL.
 */
export async function startPg() {
  // /tmp: pg-test-server runs PostgreSQL as `nobody` under root, and needs the path short
  const dir = await mkdtemp(join('/tmp', 'careid-nodes-pg-'));
  let url;
  try {
    url = (await run(PG_SCRIPT, ['start', dir])).trim();
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  process.env.CAREID_TEST_PG = url;
  // never leave a server behind when the test process ends without its after hooks
  const onExit = () => {
    try { execFileSync(PG_SCRIPT, ['stop', dir], { stdio: 'ignore', timeout: 30000 }); } catch { /* gone */ }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  const pg = {
    url,
    dir,
    async stop() { await run(PG_SCRIPT, ['stop', dir]); },
    async start() {
      const again = (await run(PG_SCRIPT, ['start', dir])).trim();
      if (again !== url) throw new Error(`PostgreSQL came back with another URL: ${again}`);
    },
    async destroy() {
      process.off('exit', onExit);
      await run(PG_SCRIPT, ['stop', dir]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
  return pg;
}

/** GET url, never throwing: {status} or {error}. */
export async function probe(url, timeoutMs = 2000) {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await r.arrayBuffer();
    return { status: r.status };
  } catch (e) {
    return { error: e.cause?.code || e.name || e.message };
  }
}

/** Poll fn() until it returns a truthy value; rejects with what(last) after timeoutMs. */
export async function until(what, fn, { timeoutMs = 10000, every = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last && last.ok !== false) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await sleep(every);
  }
}

/**
 * HAProxy plus `count` careid nodes on one store (a fresh database on the current
 * CAREID_TEST_PG server, demo-seeded by the first node). `careid` is the loaded
 * tests/e2e/lib/careid.mjs. Resolves {hap, publicUrl, nodes: [{name, port, origin, server}],
 * startNode(i), stop()} once HAProxy sees every node UP.
 */
export async function startCluster(careid, { count = 2, extraArgs = [] } = {}) {
  const names = 'abcdefgh'.slice(0, count).split('');
  const ports = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  const hap = await startHaproxy({ servers: names.map((name, i) => ({ name, port: ports[i] })) });
  const publicUrl = hap.url;
  const nodes = names.map((name, i) => ({ name, port: ports[i], origin: `http://127.0.0.1:${ports[i]}`, server: undefined }));
  const cluster = {
    hap,
    publicUrl,
    nodes,
    dir: undefined,
    /** (Re)start node i on the cluster's store and port; resolves once it is ready and UP. */
    async startNode(i) {
      const n = nodes[i];
      n.server = await careid.startCareid({
        useTemplate: false, // a template database would outlive this file's PostgreSQL server
        readyTimeoutMs: cluster.dir ? 60000 : 120000, // the first one seeds the demo store: slow on a busy machine
        dir: cluster.dir,
        listen: `127.0.0.1:${n.port}`,
        extraArgs: ['--public-url', publicUrl, ...extraArgs],
      });
      cluster.dir ||= n.server.dir;
      // startCareid waited for /readyz at the public URL, which another node may answer
      await until(`node ${n.name} /readyz`, async () => (await probe(`${n.origin}/readyz`)).status === 200);
      await hap.waitStates({ [n.name]: 'UP' });
      return n.server;
    },
    /** Every node's log lines and HAProxy's own lines, for a failure. */
    describe() {
      return nodes.map((n) => `--- careid node ${n.name} (${n.origin}), last lines:\n${(n.server?.logs || []).slice(-80).join('\n')}`).join('\n')
        + `\n--- haproxy:\n${hap.raw.slice(-40).join('\n')}`;
    },
    /** Stops the nodes (SIGTERM), drops the store, stops HAProxy. Resolves the nodes' exit statuses. */
    async stop() {
      const st = {};
      // every node but the one whose directory holds the store keeps it; the last drops it
      for (const n of nodes.slice(1)) if (n.server) st[n.name] = await n.server.stop({ keepDir: true });
      if (nodes[0].server) st[nodes[0].name] = await nodes[0].server.stop();
      await hap.stop();
      return st;
    },
  };
  try {
    for (let i = 0; i < count; i++) await cluster.startNode(i);
  } catch (e) {
    await cluster.stop().catch(() => {});
    throw e;
  }
  return cluster;
}

/**
 * A test file's ending around its cluster: `parts()` gives {cl, lrp} as the file's before hook
 * left them, `pg` is the file's PostgreSQL. Registers the after hook that stops the cluster
 * (every node must exit 0 on SIGTERM when no test failed), the logout receiver and PostgreSQL,
 * and returns node:test's `test` printing the nodes' and HAProxy's last log lines on a failure.
 */
export function clusterTests(parts, pg) {
  let failures = 0;
  after(async () => {
    const { cl, lrp } = parts();
    try {
      const st = cl ? await cl.stop() : {};
      if (failures === 0) {
        for (const [name, s] of Object.entries(st)) assert.deepEqual(s, { code: 0, signal: null }, `node ${name} exits 0 on SIGTERM`);
      }
    } finally {
      await lrp?.close();
      await pg.destroy();
    }
  });
  return (name, fn) => test(name, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      failures++;
      process.stderr.write(`\n--- test "${name}" failed; logs:\n${parts().cl?.describe()}\n`);
      throw e;
    }
  });
}
