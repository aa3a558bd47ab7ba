// Processes the benchmark starts, and the servers' own accounting of what they
// used (CPU time and peak memory from /proc), independent of the load generator.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { freePort } from '../../tests/e2e/lib/net.mjs';

export { freePort };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const log = (...a) => console.error('bench:', ...a);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());


// Every child started through a Procs stops on any exit of the harness, and
// the temporary directory goes with them.
export class Procs {
	constructor(tmp) {
		this.tmp = tmp;
		this.children = new Set();
	}

	spawn(name, cmd, args, { env, cwd, dir = this.tmp } = {}) {
		const out = fs.openSync(path.join(dir, `${name}.log`), 'a');
		const c = spawn(cmd, args, { cwd, env: env ? { ...process.env, ...env } : process.env, stdio: ['ignore', out, out] });
		fs.closeSync(out);
		c.logFile = path.join(dir, `${name}.log`);
		this.children.add(c);
		c.exited = new Promise((r) => c.on('exit', (code, sig) => { this.children.delete(c); r(code ?? sig); }));
		return c;
	}

	async stop(c) {
		if (!this.children.has(c))
			return;
		process.kill(c.pid, 'SIGTERM');
		const t = setTimeout(() => { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }, 10000);
		await c.exited;
		clearTimeout(t);
	}

	killAll() {
		for (const c of this.children) {
			try { process.kill(c.pid, 'SIGTERM'); } catch { /* already gone */ }
		}
	}

	// Polls url until it answers 200; returns milliseconds since `since`
	// (process.hrtime.bigint()).
	async waitReady(c, url, since, name) {
		for (;;) {
			if (!this.children.has(c))
				throw new Error(`${name} exited before ready; log: ${fs.readFileSync(c.logFile, 'utf8').slice(-3000)}`);
			try {
				const r = await fetch(url);
				await r.arrayBuffer();
				if (r.status === 200)
					return Number(process.hrtime.bigint() - since) / 1e6;
			} catch { /* not listening yet */ }
			if (Number(process.hrtime.bigint() - since) > 60e9)
				throw new Error(`${name} not ready after 60 s`);
			await sleep(2);
		}
	}

	// The context a provider module gets (bench/peers/README.md).
	context(name) {
		const dir = path.join(this.tmp, name);
		fs.mkdirSync(dir, { recursive: true });
		return {
			dir,
			freePort,
			spawn: (n, cmd, args, o = {}) => this.spawn(n, cmd, args, { dir, ...o }),
			waitReady: (c, url, t0, n) => this.waitReady(c, url, t0, n),
			log: (...a) => log(`${name}:`, ...a),
		};
	}
}

function procStat(pid) {
	// The command name may hold spaces: fields count from after its ')'.
	const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
	const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
	return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), // utime + stime
		reaped: Number(f[13]) + Number(f[14]) }; // cutime + cstime: children it has waited for
}

// A server is its main process plus its direct children (nginx's workers).
function pids(main) {
	const all = [main];
	for (const d of fs.readdirSync('/proc')) {
		if (!/^\d+$/.test(d))
			continue;
		try {
			if (procStat(d).ppid === main)
				all.push(Number(d));
		} catch { /* exited meanwhile */ }
	}
	return all;
}

// A provider of several processes (bench/peers/README.md: cpuPids, rssPids)
// is accounted by its main pid as the processes it names, each with its direct
// children: CPU over every one of them (a PostgreSQL server's postmaster and
// its backends), memory over its own (careid's nodes).
const groups = new Map();
export function accountAs(p) {
	if (p.cpuPids || p.rssPids)
		groups.set(p.pid, { cpu: p.cpuPids ?? [p.pid], rss: p.rssPids ?? [p.pid] });
}
export const forget = (main) => groups.delete(main);
const rssPids = (main) => (groups.has(main) ? groups.get(main).rss.flatMap(pids) : pids(main));

// A named process's CPU ticks with its children's, those still running and
// those it has reaped (cutime + cstime), so short-lived children (PostgreSQL
// backends, autovacuum workers) count after they exit too and an exit between
// two readings never subtracts.
const familyTicks = (main) => procStat(main).reaped + pids(main).reduce((t, p) => t + procStat(p).ticks, 0);

// The same for one named process alone, in milliseconds (a provider's own
// breakdown of where its CPU went).
export const familyCpuMs = (main) => familyTicks(main) * 1000 / CLK_TCK;

// CPU milliseconds (user + system, every thread) the server has used so far.
export const cpuMs = (main) => (groups.has(main)
	? groups.get(main).cpu.reduce((t, p) => t + familyTicks(p), 0) * 1000 / CLK_TCK
	: pids(main).reduce((t, p) => t + procStat(p).ticks, 0) * 1000 / CLK_TCK);

export function statusKb(pid, field, file = `/proc/${pid}/status`) {
	const m = fs.readFileSync(file, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
	return m ? Number(m[1]) : 0;
}

// Peak RSS per load: writing 5 to clear_refs resets VmHWM to the current RSS.
export function resetPeak(main) {
	let ok = true;
	for (const p of rssPids(main)) {
		try { fs.writeFileSync(`/proc/${p}/clear_refs`, '5'); } catch { ok = false; }
	}
	return ok;
}

// Summed over the main process and its children (shared pages count once per
// process, so for nginx it errs high).
export const peakRssMb = (main) => rssPids(main).reduce((t, p) => t + statusKb(p, 'VmHWM'), 0) / 1024;
export const rssMb = (main) => rssPids(main).reduce((t, p) => t + statusKb(p, 'VmRSS'), 0) / 1024;
