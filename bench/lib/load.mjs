// The load: wrk for every scenario it can drive (A–D, F), a small driver for
// the full sign-in (E), which is several pages per iteration. Each measured
// load is bounded and read against the server's own CPU and memory accounting.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { cpuMs, peakRssMb, resetPeak } from './proc.mjs';

export const THREADS = 2; // wrk threads; never more than connections

function toMs(v) {
	const m = v.match(/^([\d.]+)(us|ms|s|m)$/);
	if (!m)
		return NaN;
	return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60000 }[m[2]];
}

export function parseWrk(out) {
	const num = (re) => { const m = out.match(re); return m ? Number(m[1]) : 0; };
	const lat = (pct) => { const m = out.match(new RegExp(`^\\s+${pct}%\\s+(\\S+)`, 'm')); return m ? toMs(m[1]) : NaN; };
	const sock = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
	const errors = sock ? sock.slice(1).reduce((t, n) => t + Number(n), 0) : 0;
	return {
		requests: num(/^\s+(\d+) requests in/m),
		rps: num(/^Requests\/sec:\s+([\d.]+)/m),
		p50_ms: lat(50),
		p99_ms: lat(99),
		non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
		socket_errors: errors,
		socket_errors_detail: sock ? sock[0] : undefined,
		ran_out: num(/^(?:codes|tokens) ran out: (\d+)/m),
	};
}

// load: {script, env} for scenarios that need a wrk Lua script (a file in bench/).
// Asynchronous on purpose: a harness blocked in a synchronous child for
// seconds cannot notice the servers closing its idle keep-alive connections,
// and its next fetch() would reuse a closed one.
export function wrk(url, conns, duration, load = {}) {
	const threads = Math.min(THREADS, conns);
	const script = load.script ? ['-s', path.join(import.meta.dirname, '..', load.script)] : [];
	return new Promise((resolve, reject) => {
		const c = spawn('wrk', [`-t${threads}`, `-c${conns}`, `-d${duration}`, '--latency', ...script, url],
			{ env: { ...process.env, BENCH_THREADS: String(threads), ...load.env }, stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '', err = '';
		c.stdout.on('data', (d) => { out += d; });
		c.stderr.on('data', (d) => { err += d; });
		c.on('error', reject);
		c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk failed (${code}): ${err || out}`))));
	});
}

// One measured load on the server whose main process is `pid`: its CPU time
// before and after, its peak RSS during. `warmup` (default a 1 s wrk run of the
// same load) is skipped for loads that consume what they send (codes).
export async function measure(pid, url, conns, duration, load = {}, { warmup = true } = {}) {
	if (warmup)
		await wrk(url, conns, '1s', load);
	const peakReset = resetPeak(pid);
	const cpu0 = cpuMs(pid);
	const out = await wrk(url, conns, duration, load);
	const cpu = cpuMs(pid) - cpu0;
	const w = parseWrk(out);
	return {
		...w,
		cpu_ms_per_req: w.requests ? cpu / w.requests : NaN,
		server_cpu_ms: cpu,
		peak_rss_mb: peakReset ? peakRssMb(pid) : NaN,
		wrk_output: out,
	};
}

function percentile(sorted, p) {
	if (!sorted.length)
		return NaN;
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// E: `conns` sign-ins in flight for `seconds`, each a whole fresh-state sign-in
// (`once()`, several requests). Only completed sign-ins count; a sign-in that
// throws is a failure, and its message is kept (the first few).
export async function measureSignIns(pid, once, conns, seconds) {
	const run = async (s, record) => {
		const end = performance.now() + s * 1000;
		const lat = [], errors = [];
		let failures = 0, done = 0;
		await Promise.all(Array.from({ length: conns }, async () => {
			while (performance.now() < end) {
				const t0 = performance.now();
				try {
					await once();
					done++;
					if (record)
						lat.push(performance.now() - t0);
				} catch (e) {
					failures++;
					if (errors.length < 5)
						errors.push(String(e.message ?? e).slice(0, 300));
				}
			}
		}));
		return { lat, failures, errors, done };
	};
	const warm = await run(1, false);
	const peakReset = resetPeak(pid);
	const cpu0 = cpuMs(pid);
	const t0 = performance.now();
	const { lat, failures, errors, done } = await run(seconds, true);
	const elapsed = (performance.now() - t0) / 1000;
	const cpu = cpuMs(pid) - cpu0;
	lat.sort((a, b) => a - b);
	return {
		requests: lat.length,
		rps: lat.length / elapsed,
		p50_ms: percentile(lat, 50),
		p99_ms: percentile(lat, 99),
		non2xx: failures,
		socket_errors: 0,
		errors,
		total_sign_ins: warm.done + done, // sessions left behind, warm-up included
		cpu_ms_per_req: lat.length ? cpu / lat.length : NaN,
		server_cpu_ms: cpu,
		peak_rss_mb: peakReset ? peakRssMb(pid) : NaN,
	};
}
