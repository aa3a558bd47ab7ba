// What a benchmark run reports: medians over the runs, careid's ratios to every
// peer and to the ceilings, the issue's targets checked, as Markdown and as an
// SVG plot of the ratios.

const median = (xs) => {
	const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
	if (!v.length)
		return NaN;
	const h = v.length >> 1;
	return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
};

const CAREID = 'careid';
// careid in another topology (careid-haproxy: several nodes on PostgreSQL) is
// not a peer: careid is not compared with it, it is compared with careid.
const isVariant = (s) => s !== CAREID && s.startsWith(`${CAREID} `);
const isGlewlwyd = (s) => s.startsWith('glewlwyd');
const SIGNING = /^(D|E|F) /;

// One line per scenario, connections and server: medians of the runs and the
// failures summed over them.
function medians(rows) {
	const groups = new Map();
	for (const r of rows) {
		const k = `${r.scenario}\u0000${r.connections}\u0000${r.server}`;
		if (!groups.has(k))
			groups.set(k, []);
		groups.get(k).push(r);
	}
	return [...groups.values()].map((g) => ({
		scenario: g[0].scenario,
		connections: g[0].connections,
		server: g[0].server,
		runs: g.length,
		rps: median(g.map((r) => r.rps)),
		p50_ms: median(g.map((r) => r.p50_ms)),
		p99_ms: median(g.map((r) => r.p99_ms)),
		failures: g.reduce((t, r) => t + r.non2xx + r.socket_errors + (r.ran_out ?? 0) + (r.setup_failures ?? 0), 0),
		cpu_ms_per_req: median(g.map((r) => r.cpu_ms_per_req)),
		peak_rss_mb: median(g.map((r) => r.peak_rss_mb)),
		rps_runs: g.map((r) => r.rps),
		errors: g.flatMap((r) => [
			...(r.errors ?? []),
			...(r.socket_errors && r.socket_errors_detail ? [`run ${r.run}: wrk ${r.socket_errors_detail}`] : []),
			...(r.ran_out ? [`run ${r.run}: the ${r.scenario.startsWith('D') ? 'codes' : 'refresh tokens'} ran out`] : []),
			...(r.non2xx && !r.scenario.startsWith('E') ? [`run ${r.run}: ${r.non2xx} non-2xx answers`] : []),
		]).slice(0, 4),
		audit_rows_during_load: g.some((r) => 'audit_rows_during_load' in r) ? g.map((r) => r.audit_rows_during_load) : undefined,
	}));
}

export function summarise(res) {
	const lines = medians(res.rows);
	const find = (scenario, server, conns) => lines.find((l) => l.scenario === scenario && l.server === server && l.connections === conns);
	const sign = res.openssl_speed?.ms_per_sign;
	const hash = res.password_hash?.cpu_ms_per_verify;
	const peers = [...new Set(lines.map((l) => l.server))].filter((s) => s !== CAREID && !isVariant(s));
	for (const l of lines.filter((x) => isVariant(x.server))) {
		const o = find(l.scenario, CAREID, l.connections);
		if (o)
			l.vs_careid = { throughput: l.rps / o.rps, cpu_per_req: l.cpu_ms_per_req / o.cpu_ms_per_req };
	}
	for (const l of lines.filter((x) => x.server === CAREID)) {
		l.ratios = {};
		for (const peer of peers) {
			// nginx has no userinfo: C is held against its A (a static GET).
			const against = peer === 'nginx' && l.scenario === 'C userinfo' ? 'A discovery' : l.scenario.replace(/ \((password|security key)\)$/, '');
			const o = find(against, peer, l.connections) ?? find(l.scenario, peer, l.connections);
			if (o)
				l.ratios[peer] = { against: o.scenario, throughput: l.rps / o.rps, cpu_per_req: l.cpu_ms_per_req / o.cpu_ms_per_req };
		}
		if (SIGNING.test(l.scenario) && sign)
			l.signatures = l.cpu_ms_per_req / sign;
		if (l.scenario === 'E sign-in (password)' && hash)
			l.hashes = l.cpu_ms_per_req / hash;
		if (l.scenario.startsWith('E '))
			l.per_core_s = 1000 / l.cpu_ms_per_req;
	}
	return { lines, targets: targets(res, lines, find) };
}

// The issue's targets, each with careid's figure and whether it holds.
function targets(res, lines, find) {
	const out = [];
	const add = (target, figure, met) => out.push({ target, figure, met });
	const f2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : '–');
	const c = res.providers[CAREID] ?? {};
	for (const conns of res.connections) {
		const d = find('D code exchange', CAREID, conns);
		if (d && d.signatures !== undefined)
			add(`D c${conns}: CPU per exchange ≤ 1.25 × one RSA-2048 signature`, `${f2(d.signatures)} ×`, d.signatures <= 1.25);
		if (d) {
			const best = Object.entries(d.ratios).filter(([p]) => p !== 'nginx').sort((a, b) => a[1].throughput - b[1].throughput)[0];
			if (best)
				add(`D c${conns}: throughput ≥ 1.5 × the best peer`, `${f2(best[1].throughput)} × ${best[0]}`, best[1].throughput >= 1.5);
		}
		for (const [sc, min] of [['A discovery', 0.9], ['B JWKS', 0.9], ['C userinfo', 0.5]]) {
			const l = find(sc, CAREID, conns);
			if (!l)
				continue;
			if (l.ratios.nginx)
				add(`${sc.split(' ')[0]} c${conns}: ≥ ${min} × nginx${sc.startsWith('C') ? ' (A)' : ''}`, `${f2(l.ratios.nginx.throughput)} ×`, l.ratios.nginx.throughput >= min);
			for (const [peer, r] of Object.entries(l.ratios)) {
				const want = isGlewlwyd(peer) ? 3 : peer === 'node-oidc-provider' ? 5 : null;
				if (want)
					add(`${sc.split(' ')[0]} c${conns}: ≥ ${want} × ${peer}`, `${f2(r.throughput)} ×`, r.throughput >= want);
			}
		}
		const k = find('E sign-in (security key)', CAREID, conns);
		if (k)
			add(`E c${conns} without password hashing: ≥ 500 sign-ins/s per core of server CPU`, `${Math.round(k.per_core_s)} /s`, k.per_core_s >= 500);
		const pw = find('E sign-in (password)', CAREID, conns);
		if (pw && pw.hashes !== undefined)
			add(`E c${conns} with a password: CPU per sign-in ≤ 1.1 × one argon2id hash`, `${f2(pw.hashes)} ×`, pw.hashes <= 1.1);
	}
	const idle = median(c.idle_rss_mb ?? []);
	if (Number.isFinite(idle))
		add('idle RSS ≤ 20 MB', `${idle.toFixed(1)} MB`, idle <= 20);
	const ready = median(c.ready_ms ?? []);
	if (Number.isFinite(ready))
		add('ready ≤ 100 ms after start on an existing store', `${ready.toFixed(0)} ms`, ready <= 100);
	const growth = median(c.rss_growth_mb_per_10k_sessions ?? []);
	if (Number.isFinite(growth))
		add('RSS growth per 10,000 live sessions (reported)', `${growth.toFixed(1)} MB`, null);
	// The peers' failures are listed under "Failures seen", not judged here.
	const failed = lines.filter((l) => l.server === CAREID && l.failures > 0);
	add('zero failures (non-2xx, socket errors, failed sign-ins) in every run', failed.length ? failed.map((l) => `${l.scenario} c${l.connections}: ${l.failures}`).join('; ') : '0', failed.length === 0);
	return out;
}

const fmt = (v, d) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const fmtInt = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-GB') : '–');

function ratioText(l) {
	if (l.vs_careid)
		return `÷ careid: ${fmt(l.vs_careid.throughput, 2)}× / ${fmt(l.vs_careid.cpu_per_req, 2)}×`;
	const parts = Object.entries(l.ratios ?? {}).map(([peer, r]) =>
		`${peer}${r.against !== l.scenario && peer === 'nginx' ? ' (A)' : ''} ${fmt(r.throughput, 2)}× / ${fmt(r.cpu_per_req, 2)}×`);
	if (l.signatures !== undefined)
		parts.push(`${fmt(l.signatures, 2)} RSA signatures`);
	if (l.hashes !== undefined)
		parts.push(`${fmt(l.hashes, 2)} argon2id hashes`);
	return parts.join('; ');
}

export function markdown(res) {
	const m = res.machine, v = res.versions, s = res.openssl_speed, h = res.password_hash;
	const { lines, targets: t } = res.summary;
	const prov = Object.entries(res.providers).map(([name, p]) => `${name} ${p.version}`).join('; ');
	const out = [
		`# careid benchmark, ${res.date}`,
		'',
		`Machine: ${m.nproc} CPUs (${m.cpu}), ${m.memory_mb} MB, Linux ${m.kernel}; load generator on the same cores.`,
		`Versions: ${prov}; ${v.wrk}; ${v.openssl}; node ${v.node}. careid commit ${v.careid}.`,
		`Load: wrk -t${res.wrk_threads} -cN -d${res.duration} --latency after a 1 s warm-up (D and F: a 1 s trial with their own codes/tokens), ` +
			`E: a node driver with N sign-ins in flight for ${res.duration}; loopback; each provider alone on the machine in turn; ` +
			`medians of ${res.runs} run${res.runs > 1 ? 's' : ''}.`,
	];
	if (s)
		out.push(`RSA-2048 ceiling (openssl speed): ${fmtInt(s.sign_per_s)} signs/s on one core = ${fmt(s.ms_per_sign, 3)} ms per signature; ` +
			`${fmtInt(s.all_cores?.sign_per_s)} signs/s on all ${s.all_cores?.cores} cores.`);
	if (h)
		out.push(`Password hash (careid-hashcost: careid's own verification): argon2id m=${h.m_kib} KiB, t=${h.t}, p=${h.p}: ${fmt(h.cpu_ms_per_verify, 1)} CPU ms per verification.`);
	const c = res.providers.careid;
	if (c)
		out.push(`careid ready: ${fmt(median(c.ready_fresh_ms ?? []), 0)} ms on a fresh store (migrations + demo seed), ` +
			`${fmt(median(c.ready_ms), 0)} ms on the existing store; idle RSS after ready ${fmt(median(c.idle_rss_mb), 1)} MB; ` +
			`RSS growth ${fmt(median(c.rss_growth_mb_per_10k_sessions ?? []), 1)} MB per 10,000 sessions left by E's sign-ins.`);
	for (const [name, v] of Object.entries(res.providers).filter(([n]) => isVariant(n)))
		out.push(`${name} ready: ${fmt(median(v.ready_fresh_ms ?? []), 0)} ms for the first node on an empty database (migrations + demo seed), ` +
			`${fmt(median(v.ready_ms), 0)} ms for the next on the seeded one; idle RSS after ready ${fmt(median(v.idle_rss_mb), 1)} MB (the nodes summed); ` +
			`RSS growth ${fmt(median(v.rss_growth_mb_per_10k_sessions ?? []), 1)} MB per 10,000 sessions left by E's sign-ins (the nodes summed).`);
	if (res.missing?.length)
		out.push(`Not measured (no provider module): ${res.missing.join(', ')}.`);
	out.push('', '| scenario | server | conns | req/s | p50 ms | p99 ms | failures | CPU ms/req | peak RSS MB | careid ÷ peer (req/s, CPU/req); ceiling |',
		'|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
	const order = (l) => `${l.scenario}\u0000${String(l.connections).padStart(4, '0')}\u0000${l.server === CAREID ? '' : l.server}`;
	for (const l of [...lines].sort((a, b) => order(a).localeCompare(order(b))))
		out.push(`| ${l.scenario} | ${l.server} | ${l.connections} | ${fmtInt(l.rps)} | ${fmt(l.p50_ms, 2)} | ${fmt(l.p99_ms, 2)} | ${l.failures} | ` +
			`${fmt(l.cpu_ms_per_req, l.cpu_ms_per_req < 0.1 ? 4 : 3)} | ${fmt(l.peak_rss_mb, 1)} | ${l.server === CAREID || l.vs_careid ? ratioText(l) : ''} |`);
	out.push('', '## Targets (issue 7)', '', '| target | careid | met |', '|---|---|---|');
	for (const x of t)
		out.push(`| ${x.target} | ${x.figure} | ${x.met === null ? 'reported' : x.met ? 'yes' : '**no**'} |`);
	const errs = lines.filter((l) => l.errors.length);
	if (errs.length) {
		out.push('', '## Failures seen', '');
		for (const l of errs)
			out.push(`- ${l.server}, ${l.scenario}, c${l.connections}: ${l.errors.map((e) => e.replace(/\s+/g, ' ')).join(' | ')}`);
	}
	const audit = lines.find((l) => l.server === CAREID && l.audit_rows_during_load);
	out.push('', '## How each provider was set up', '');
	for (const [name, p] of Object.entries(res.providers))
		for (const n of p.notes ?? [])
			out.push(`- ${n}`);
	if (audit)
		out.push(`- C (careid): audit rows written during the userinfo loads: ${lines.filter((l) => l.server === CAREID && l.scenario === 'C userinfo').map((l) => (l.audit_rows_during_load ?? []).join('/')).join(', ')} (each token's one \`userinfo.served\` row is written by its first call, before the load).`);
	if (Object.keys(res.providers).some(isVariant))
		out.push('', 'A careid row in another topology (several nodes on PostgreSQL) is not a peer: its last column is that row ÷ careid\'s (req/s, CPU/req) in the same run.');
	out.push('', 'Ratios are careid ÷ peer in the same run (medians): throughput above 1 and CPU per request below 1 favour careid. ' +
		'"RSA signatures": careid\'s server CPU per request in units of one RSA-2048 signature on one core; "argon2id hashes" likewise in units of one password verification. ' +
		'Figures move by up to ~40 % between runs on a shared machine: compare within one run.', '');
	return out.join('\n');
}

// The ratio plot: careid's throughput ÷ each peer's, per scenario and
// connection count, on a log scale with 1 (parity) marked; the target lines
// for nginx (0.9 for A and B, 0.5 for C) drawn as short ticks.
export function ratioSvg(res) {
	const lines = res.summary.lines.filter((l) => l.server === CAREID && Object.keys(l.ratios ?? {}).length);
	const peers = [...new Set(lines.flatMap((l) => Object.keys(l.ratios)))];
	const colours = ['#005eb8', '#ffb81c', '#da291c', '#007f3b', '#330072', '#768692'];
	const W = 960, H = 470, left = 70, right = 70, top = 80, bottom = 120;
	const lo = 0.1, hi = Math.max(10, ...lines.flatMap((l) => Object.values(l.ratios).map((r) => r.throughput)).filter(Number.isFinite)) * 1.2;
	const y = (v) => top + (H - top - bottom) * (1 - (Math.log10(Math.max(lo, v)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)));
	const groupW = (W - left - right) / Math.max(1, lines.length);
	const barW = Math.max(3, (groupW - 8) / Math.max(1, peers.length));
	const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
	const parts = [
		`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="t d" font-family="Arial, sans-serif" font-size="12">`,
		'<title id="t">careid throughput as a multiple of each peer\'s, per scenario</title>',
		`<desc id="d">${esc(lines.map((l) => `${l.scenario} at ${l.connections} connections: ` +
			Object.entries(l.ratios).map(([p, r]) => `${fmt(r.throughput, 2)} times ${p}`).join(', ')).join('. '))}.</desc>`,
		`<rect width="${W}" height="${H}" fill="#fff"/>`,
		`<text x="${left}" y="22" font-size="15" font-weight="bold">careid's requests/s ÷ each peer's (log scale; above 1 favours careid)</text>`,
		`<text x="${left}" y="40">Medians of ${res.runs} run${res.runs > 1 ? 's' : ''}, ${esc(res.date.slice(0, 10))}; dashed lines: the targets against nginx (0.9 for A and B, 0.5 for C).</text>`,
	];
	for (const v of [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].filter((v) => v <= hi)) {
		parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${v === 1 ? '#212b32' : '#d8dde0'}" stroke-width="${v === 1 ? 1.5 : 1}"/>`,
			`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}×</text>`);
	}
	lines.forEach((l, i) => {
		const x0 = left + i * groupW + 4;
		peers.forEach((p, j) => {
			const r = l.ratios[p];
			if (!r || !Number.isFinite(r.throughput))
				return;
			const yv = y(r.throughput), y1 = y(1);
			parts.push(`<rect x="${(x0 + j * barW).toFixed(1)}" y="${Math.min(yv, y1).toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${Math.max(1, Math.abs(y1 - yv)).toFixed(1)}" fill="${colours[j % colours.length]}"><title>${esc(`${l.scenario} c${l.connections}: ${fmt(r.throughput, 2)} × ${p}`)}</title></rect>`);
		});
		const want = l.scenario.startsWith('C') ? 0.5 : /^[AB] /.test(l.scenario) ? 0.9 : null;
		if (want && l.ratios.nginx)
			parts.push(`<line x1="${x0.toFixed(1)}" x2="${(x0 + groupW - 8).toFixed(1)}" y1="${y(want).toFixed(1)}" y2="${y(want).toFixed(1)}" stroke="#212b32" stroke-dasharray="3 2"/>`);
		const label = `${l.scenario.replace(/ \(security key\)/, ' (key)').replace(/ \(password\)/, ' (pw)')} c${l.connections}`;
		const lx = x0 + groupW / 2 - 4, ly = H - bottom + 12;
		parts.push(`<text x="${lx.toFixed(1)}" y="${ly}" transform="rotate(45 ${lx.toFixed(1)} ${ly})">${esc(label)}</text>`);
	});
	peers.forEach((p, j) => {
		const x = left + j * 200;
		parts.push(`<rect x="${x}" y="52" width="10" height="10" fill="${colours[j % colours.length]}"/>`, `<text x="${x + 14}" y="61">${esc(p)}</text>`);
	});
	parts.push('</svg>', '');
	return parts.join('\n');
}

// The project README's section (between its bench markers): careid's figure
// and every peer's per scenario, the plot, and the targets.
export function readmeSection(res, stamp) {
	const { lines, targets: t } = res.summary;
	const peers = [...new Set(lines.map((l) => l.server))].filter((s) => s !== CAREID);
	const rows = lines.filter((l) => l.server === CAREID);
	const cell = (l) => (l ? `${fmtInt(l.rps)} /s · ${fmt(l.cpu_ms_per_req, l.cpu_ms_per_req < 0.1 ? 3 : 2)} ms` : '–');
	const out = [
		`Latest \`make bench\` (${res.date.slice(0, 10)}, ${res.machine.nproc} CPUs shared with the load generator, medians of ${res.runs} runs; ` +
			`full table, setup and failures in [bench/results/${stamp}.md](bench/results/${stamp}.md), method in [bench/README.md](bench/README.md)). ` +
			'Each cell: requests (or sign-ins) per second · server CPU milliseconds per request.',
		'',
		`| scenario | conns | careid | ${peers.join(' | ')} |`,
		`|---|---:|---:|${peers.map(() => '---:').join('|')}|`,
	];
	for (const l of rows) {
		const other = peers.map((p) => {
			const against = p === 'nginx' && l.scenario === 'C userinfo' ? 'A discovery' : l.scenario.replace(/ \((password|security key)\)$/, '');
			const at = (sc) => lines.find((x) => x.server === p && x.connections === l.connections && x.scenario === sc);
			const o = at(against) ?? at(l.scenario); // careid ×2 has careid's two E rows
			return o ? `${cell(o)}${against !== l.scenario && p === 'nginx' ? ' (A)' : ''}` : '–';
		});
		out.push(`| ${l.scenario} | ${l.connections} | **${cell(l)}** | ${other.join(' | ')} |`);
	}
	out.push('', `![careid's throughput as a multiple of each peer's, per scenario (log scale)](bench/results/${stamp}.svg)`, '',
		'| target (issue 7) | careid | met |', '|---|---|---|');
	for (const x of t)
		out.push(`| ${x.target} | ${x.figure} | ${x.met === null ? 'reported' : x.met ? 'yes' : '**no**'} |`);
	return out.join('\n');
}
