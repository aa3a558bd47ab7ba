// careid as several nodes (issue 8) for bench/run (contract: bench/peers/README.md):
// two `careid serve` processes on one PostgreSQL database, behind HAProxy,
// everything on loopback. The sign-in driving is careid.mjs's, through HAProxy.
//
// PostgreSQL is scripts/pg-test-server's throwaway server (127.0.0.1, a random
// password, run as `nobody` when root) with durability put back as a
// production server has it (fsync, synchronous_commit, full_page_writes on, by
// ALTER SYSTEM in its own data directory); BENCH_PG_FSYNC=off keeps the test
// server's settings (no flush at commit: cheaper writes than any production
// server). HAProxy is Debian's, in the foreground, with a generated
// configuration (haproxy/ beside this file explains it).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SCOPE, addClient, demoKeyFile, driver } from './careid.mjs';
import { haproxyConfig } from './haproxy/config.mjs';
import { familyCpuMs, statusKb } from '../lib/proc.mjs';

export const describe = 'careid-haproxy';

const repo = path.resolve(import.meta.dirname, '..', '..');
const PG_TEST_SERVER = path.join(repo, 'scripts', 'pg-test-server');
const NODES = 2;
const DATABASE = 'careid';

// PostgreSQL runs as `nobody` when we are root: it must reach its directory
// through every directory above it. The harness's temporary directory is made
// 0700 (mkdtemp); it and this provider's directory are opened to search (not
// read) by others; anything higher that is closed is an error worth saying.
function openPath(dir) {
	for (const d of [path.dirname(dir), dir])
		fs.chmodSync(d, fs.statSync(d).mode & 0o7777 | 0o711);
	for (let d = path.dirname(path.dirname(dir)); d !== path.dirname(d); d = path.dirname(d)) {
		if (!(fs.statSync(d).mode & 0o001))
			throw new Error(`${d} is not searchable by others (o+x): PostgreSQL, run as nobody, could not reach ${dir}`);
	}
}

// One psql statement as the admin user, its output unaligned; throws with
// psql's message. The password goes in PGPASSWORD, never on a command line.
function psql(pg, db, sql) {
	const r = spawnSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', pg.url(db), '-c', sql],
		{ encoding: 'utf8', env: { ...process.env, ...pg.env }, timeout: 60000 });
	if (r.status !== 0)
		throw new Error(`psql ${JSON.stringify(sql)}: ${r.stderr || r.error?.message}`);
	return r.stdout.trim();
}

// scripts/pg-test-server in ctx.dir/pg. It starts PostgreSQL as a daemon
// (pg_ctl), which the harness's stop-everything-on-exit does not know: a
// listener put before the harness's own stops it on any exit of the harness.
function startPostgres(ctx) {
	const dir = path.join(ctx.dir, 'pg');
	const r = spawnSync(PG_TEST_SERVER, ['start', dir], { encoding: 'utf8', timeout: 120000 });
	const stop = () => spawnSync(PG_TEST_SERVER, ['stop', dir], { encoding: 'utf8', timeout: 60000 });
	if (r.status !== 0) {
		stop();
		throw new Error(`scripts/pg-test-server start failed: ${r.stderr}${r.stdout}`);
	}
	process.prependListener('exit', stop);
	const admin = new URL(r.stdout.trim().split('\n').pop());
	const env = { PGPASSWORD: decodeURIComponent(admin.password), PGCONNECT_TIMEOUT: '10' };
	admin.password = '';
	return {
		dir,
		env,
		// A database's URL without the password (libpq takes it from PGPASSWORD).
		url: (db) => Object.assign(new URL(admin), { pathname: `/${db}` }).toString(),
		// The postmaster: the process running `postgres -D <a directory under
		// dir>`, found in /proc (root reads nothing under the server's own
		// directory: pg-test-server keeps it the server user's alone).
		postmaster() {
			for (const d of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
				let argv;
				try { argv = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0'); } catch { continue; }
				const at = argv.indexOf('-D');
				if (path.basename(argv[0]) === 'postgres' && at > 0 && argv[at + 1]?.startsWith(`${dir}/`))
					return Number(d);
			}
			throw new Error(`no postmaster for ${dir} in /proc`);
		},
		stop() {
			const s = stop();
			process.removeListener('exit', stop);
			if (s.status !== 0)
				throw new Error(`scripts/pg-test-server stop failed: ${s.stderr}${s.stdout}`);
		},
	};
}

// HAProxy's statistics (`show stat` on its socket): one object per proxy and
// server, keyed by the CSV's own column names.
function haproxyStat(socket) {
	return new Promise((resolve, reject) => {
		const c = net.createConnection(socket);
		let out = '';
		c.setEncoding('utf8');
		c.setTimeout(5000, () => c.destroy(new Error('haproxy stats socket: no answer in 5 s')));
		c.on('connect', () => c.write('show stat\n'));
		c.on('data', (d) => { out += d; });
		c.on('error', reject);
		c.on('end', () => {
			const [head, ...rows] = out.trim().split('\n');
			const cols = head.replace(/^# /, '').split(',');
			resolve(rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i], v]))));
		});
	});
}

const nodeStats = async (socket) => (await haproxyStat(socket)).filter((s) => s.pxname === 'careid' && /^node\d$/.test(s.svname));

async function distinctPorts(ctx, n) {
	const ports = new Set();
	for (let i = 0; ports.size < n && i < 100; i++)
		ports.add(await ctx.freePort());
	if (ports.size < n)
		throw new Error('no distinct free ports');
	return [...ports];
}

// On a failure part-way, what was started is stopped before the error goes
// on: the harness stops its children only when it exits, and it does not exit
// while they run.
export async function start(ctx, options) {
	const started = { pg: null, children: [] };
	try {
		return await launch(ctx, options, started);
	} catch (e) {
		for (const c of started.children.reverse()) {
			try { process.kill(c.pid, 'SIGTERM'); } catch { /* gone */ }
			await c.exited;
		}
		try { started.pg?.stop(); } catch (e2) { ctx.log(e2.message); }
		throw e;
	}
}

async function launch(ctx, { bin }, started) {
	openPath(ctx.dir);
	const durable = process.env.BENCH_PG_FSYNC !== 'off';
	const pg = started.pg = startPostgres(ctx);
	if (durable) {
		// The test server runs with fsync, synchronous_commit and
		// full_page_writes off; a production server has all three on (every
		// commit waits for its WAL to reach the disk). All three take a reload.
		psql(pg, 'postgres', 'ALTER SYSTEM SET fsync = on');
		psql(pg, 'postgres', 'ALTER SYSTEM SET synchronous_commit = on');
		psql(pg, 'postgres', 'ALTER SYSTEM SET full_page_writes = on');
		psql(pg, 'postgres', 'SELECT pg_reload_conf()');
		for (let i = 0; psql(pg, 'postgres', 'SHOW fsync') !== 'on'; i++) {
			if (i === 100)
				throw new Error('PostgreSQL did not take fsync = on');
			await new Promise((r) => setTimeout(r, 20));
		}
		psql(pg, 'postgres', 'CHECKPOINT'); // what initdb --no-sync left, flushed
	}
	const pgVersion = psql(pg, 'postgres', 'SHOW server_version').replace(/ .*/, '');
	const pgSettings = psql(pg, 'postgres', "SELECT string_agg(name || ' = ' || current_setting(name), ', ' ORDER BY name) FROM pg_settings " +
		"WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_connections')");
	psql(pg, 'postgres', `CREATE DATABASE ${DATABASE}`);
	const db = pg.url(DATABASE);

	// HAProxy's port first: it is the public URL every node is told.
	const [haPort, ...nodePorts] = await distinctPorts(ctx, NODES + 1);
	const base = `http://127.0.0.1:${haPort}`;
	const demoDir = path.join(ctx.dir, 'demo');
	// HAProxy adds X-Forwarded-For; careid believes it from a trusted proxy
	// (binaries older than that option just do not read it).
	const help = spawnSync(bin, ['serve', '--help'], { encoding: 'utf8' });
	const trusts = `${help.stdout}${help.stderr}`.includes('--trusted-proxy');
	// Node 1 migrates and seeds the empty database (--demo); node 2 starts on the
	// seeded store with the same flags, as a fleet's nodes share one
	// configuration: its --demo seeds nothing (the directory has users) and
	// makes no demo authenticator (their files are in the same --demo-dir).
	const nodes = [];
	for (let i = 0; i < NODES; i++) {
		const port = nodePorts[i];
		const args = ['serve', '--listen', `127.0.0.1:${port}`, '--db', db, '--demo', '--demo-dir', demoDir,
			'--mail-file', path.join(ctx.dir, `mail-node${i + 1}.log`), '--log-level', 'warn', '--public-url', base,
			...(trusts ? ['--trusted-proxy', '127.0.0.1'] : [])];
		const t0 = process.hrtime.bigint();
		const c = ctx.spawn(`careid-node${i + 1}`, bin, args, { cwd: repo, env: pg.env });
		started.children.push(c);
		const ms = await ctx.waitReady(c, `http://127.0.0.1:${port}/readyz`, t0, `careid node ${i + 1}`);
		nodes.push({ c, port, ms, key: fs.readFileSync(demoKeyFile(demoDir), 'utf8') });
	}
	if (nodes.some((n) => n.key !== nodes[0].key))
		throw new Error('a later node\'s --demo remade the demo security key');
	const idleRss = nodes.reduce((t, n) => t + statusKb(n.c.pid, 'VmRSS'), 0) / 1024;

	const socket = path.join(ctx.dir, 'haproxy.sock');
	const cfg = path.join(ctx.dir, 'haproxy.cfg');
	fs.writeFileSync(cfg, haproxyConfig({ port: haPort, nodes: nodePorts, socket }));
	const t0 = process.hrtime.bigint();
	const ha = ctx.spawn('haproxy', 'haproxy', ['-f', cfg, '-db']);
	started.children.push(ha);
	await ctx.waitReady(ha, `${base}/readyz`, t0, 'haproxy');
	// HAProxy counts a server up until its checks say otherwise: wait for the
	// checks to have passed on every node (rise 2, inter 1 s).
	for (let i = 0; ; i++) {
		const s = await nodeStats(socket);
		if (s.length === NODES && s.every((x) => x.status === 'UP' && /L7OK$/.test(x.check_status))) // "* L7OK": checking again
			break;
		if (i === 100)
			throw new Error(`HAProxy does not see every node up: ${s.map((x) => `${x.svname} ${x.status} ${x.check_status}`).join(', ')}`);
		await new Promise((r) => setTimeout(r, 100));
	}

	const postmaster = pg.postmaster();
	const client = addClient(bin, db, pg.env);
	const { discovery, conf, session, signIn, signInKey } = await driver(base, client, demoKeyFile(demoDir));
	const haVersion = spawnSync('haproxy', ['-v'], { encoding: 'utf8' }).stdout.match(/version (\S+)/)?.[1] ?? '?';
	const commit = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', cwd: repo }).stdout.trim();

	return {
		name: `careid ×${NODES} + HAProxy (PostgreSQL)`,
		pid: ha.pid,
		// CPU: both nodes, HAProxy, and the PostgreSQL server (the postmaster
		// and its children: backends, checkpointer, WAL writer, autovacuum);
		// memory: the careid nodes (bench/peers/README.md).
		cpuPids: [...nodes.map((n) => n.c.pid), ha.pid, postmaster],
		rssPids: nodes.map((n) => n.c.pid),
		readyMs: nodes[NODES - 1].ms,
		readyFreshMs: nodes[0].ms,
		idleRssMb: idleRss,
		version: `${commit} (PostgreSQL ${pgVersion}, HAProxy ${haVersion})`,
		discovery,
		conf,
		client,
		scope: SCOPE,
		notes: [
			`careid ×${NODES} + HAProxy (PostgreSQL): ${NODES} \`careid serve\` nodes (default worker threads, each thread its own PostgreSQL session) on one ` +
				`PostgreSQL ${pgVersion} database, behind HAProxy ${haVersion} (deploy/haproxy.cfg.example on loopback without TLS, but balance roundrobin; health check GET /readyz expecting 200, every 1 s; ` +
				`keep-alive on both sides, http-reuse safe; retries only on connection failures; X-Forwarded-For set${trusts ? ' and believed by careid, --trusted-proxy 127.0.0.1' : ' (this careid binary has no --trusted-proxy: not read)'}). ` +
				'Node 1 starts on the empty database (migrations and demo seed: the "fresh" ready time), node 2 on the seeded one (the ready time); both with --demo and one --demo-dir, so node 2 seeds nothing. ' +
				'Client added with `careid client add --db postgres://…`; sign-ins driven as for careid, through HAProxy (a sign-in\'s requests alternate between the nodes).',
			durable
				? `PostgreSQL: scripts/pg-test-server's throwaway server (127.0.0.1, scram-sha-256, ${pgSettings}) with durability put back as a production server has it: ` +
					'fsync, synchronous_commit and full_page_writes on, so every commit waits for its WAL flush on this machine\'s disk (the test server turns all three off).'
				: `PostgreSQL: scripts/pg-test-server's throwaway server as tests run it (${pgSettings}): fsync and synchronous_commit off, so a commit never waits for the disk, ` +
					'which makes writes cheaper than on any production server (BENCH_PG_FSYNC=off).',
			`Everything shares the machine's 2 cores with the load generator: both careid nodes, HAProxy (its default of one thread per CPU) and PostgreSQL; ` +
				'so this row shows what the topology costs on one machine, not what two machines give. Its CPU ms/req is summed over both nodes, HAProxy and the whole PostgreSQL server ' +
				'(the postmaster and every child, including backends that ended during a load); its peak and idle RSS are the two careid nodes summed (PostgreSQL\'s shared buffers ' +
				'appear in the RSS of every backend that touched them, so a sum over its processes would mislead; HAProxy\'s is left out).',
			`careid ×${NODES}: C, D, E and F as for careid (the same demo users, password and security key, and the same client settings), every request through HAProxy.`,
		],
		session,
		signIn,
		signInKey,
		auditRows(action) {
			const where = action ? ` WHERE action = '${action.replace(/'/g, "''")}'` : '';
			try {
				return Number(psql(pg, DATABASE, `SELECT count(*) FROM audit_events${where}`));
			} catch {
				return null;
			}
		},
		async stop() {
			try {
				// How the load spread, and what HAProxy saw go wrong.
				for (const s of await nodeStats(socket))
					ctx.log(`${s.svname}: ${s.stot} requests, ${s.hrsp_2xx} 2xx, ${s.hrsp_3xx} 3xx, ${s.hrsp_4xx} 4xx, ${s.hrsp_5xx} 5xx, ` +
						`${s.eresp} response errors, ${s.econ} connection errors, check ${s.check_status}`);
			} catch (e) {
				ctx.log(`haproxy stats: ${e.message}`);
			}
			// Where the CPU went, over the whole of this provider's run (setup included).
			const parts = [...nodes.map((n, i) => [`node ${i + 1}`, n.c.pid]), ['HAProxy', ha.pid], ['PostgreSQL', postmaster]];
			ctx.log(`CPU s since start: ${parts.map(([what, pid]) => `${what} ${(familyCpuMs(pid) / 1000).toFixed(1)}`).join(', ')}`);
			for (const c of [ha, ...nodes.map((n) => n.c)]) {
				process.kill(c.pid, 'SIGTERM');
				await c.exited;
			}
			// careid's own warnings and errors (--log-level warn), for the lead to see.
			for (let i = 0; i < NODES; i++) {
				const lines = fs.readFileSync(path.join(ctx.dir, `careid-node${i + 1}.log`), 'utf8').split('\n')
					.filter((l) => l.startsWith('{'));
				if (lines.length)
					ctx.log(`node ${i + 1} logged ${lines.length} warnings or errors; the first: ${lines.slice(0, 3).join(' | ').slice(0, 1500)}`);
			}
			pg.stop();
		},
	};
}
