// careid as a provider for bench/run (contract: bench/peers/README.md): its
// demo store, a client registered with the CLI as an operator would, and its
// own sign-in pages driven as a browser drives them (password, or the demo
// user's security key with a software WebAuthn authenticator).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Browser, describePages, describeRes } from '../../tests/e2e/lib/browser.mjs';
import { SoftAuthenticator, credentialField, formOptions } from '../../tests/e2e/lib/webauthn.mjs';
import { statusKb } from '../lib/proc.mjs';

export const describe = 'careid';

const repo = path.resolve(import.meta.dirname, '..', '..');

const REDIRECT_URI = 'http://127.0.0.1:9/cb'; // nobody listens: the code is read from Location
export const SCOPE = 'openid profile email nationalrbacaccess';
const DEMO_PASSWORD = 'careid-demo'; // tests/e2e/lib/careid.mjs
// 656005750108 (C, D, F) and 656005750107 (E: it has the demo security key)
// each have one role, so no role page is shown (CIS2 shows one for scope
// selectedrole or several roles).
const ONE_ROLE = '656005750108';
const KEY_USER = '656005750107';

// The demo security key file that --demo writes in its --demo-dir.
export const demoKeyFile = (demoDir) => path.join(demoDir, `security-key-${KEY_USER}-mock.json`);

const state = () => randomBytes(8).toString('hex');

function basicAuth(id, secret) {
	return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export async function exchange(conf, client, code) {
	const r = await fetch(conf.token_endpoint, {
		method: 'POST',
		headers: { authorization: basicAuth(client.id, client.secret), 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUri }),
	});
	const t = await r.json();
	if (r.status !== 200 || !t.access_token || !t.id_token)
		throw new Error(`token endpoint: ${r.status} ${JSON.stringify(t)}`);
	return t;
}

// The CLI's `client add`, as an operator registers a client: the harness's
// confidential client. `env` is added to the environment (a database password).
export function addClient(bin, db, env = {}) {
	const r = spawnSync(bin, ['client', 'add', '--db', db, '--env', 'mock', '--name', 'careid bench',
		'--redirect-uri', REDIRECT_URI, '--auth', 'client_secret_basic'],
	{ encoding: 'utf8', input: '', cwd: repo, env: { ...process.env, ...env } });
	let added;
	try { added = JSON.parse(r.stdout); } catch { /* reported below */ }
	if (r.status !== 0 || !added?.client_id || !added?.client_secret)
		throw new Error(`careid client add failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
	return { id: added.client_id, secret: added.client_secret, auth: 'client_secret_basic', redirectUri: REDIRECT_URI };
}

// careid's own sign-in pages at `base` (mock environment) driven as a browser
// drives them, for `client`: the contract's session(), signIn() and
// signInKey() (keyFile: the demo security key --demo wrote), with the
// discovery URL and document.
export async function driver(base, client, keyFile) {
	const issuer = `${base}/realms/mock`;
	const discovery = `${issuer}/.well-known/openid-configuration`;
	const conf = await (await fetch(discovery)).json();
	const authorizeUrl = () => `${conf.authorization_endpoint}?${new URLSearchParams({ response_type: 'code',
		client_id: client.id, redirect_uri: REDIRECT_URI, scope: SCOPE, state: state(), nonce: state() })}`;

	async function passwordSignIn(b, user) {
		const s = await b.signIn(authorizeUrl(), { username: user, password: DEMO_PASSWORD });
		if (!s.code)
			throw new Error(`sign-in gave no code: ${describePages(s.pages)}\n  last: ${describeRes(s.page)}`);
		return s;
	}

	// The demo security key (written by --demo), held by a software
	// authenticator whose counter stays 0 (as a synced passkey's does), so
	// concurrent sign-ins with it cannot race on the counter.
	const key = new SoftAuthenticator({ counterStep: 0 });
	key.importCredential(JSON.parse(fs.readFileSync(keyFile, 'utf8')));

	// authorize → sign-in page (its #webauthn-form carries the request options)
	// → the assertion posted → role page if shown → code → token.
	async function keySignIn() {
		const b = new Browser(base);
		const pages = [];
		let { res } = await b.follow(await b.get(authorizeUrl()), pages);
		const form = res.forms?.find((f) => f.attrs.id === 'webauthn-form');
		if (!form)
			throw new Error(`no security key form: ${describePages(pages)}\n  last: ${describeRes(res)}`);
		const assertion = key.get(formOptions(form), { origin: base });
		({ res } = await b.follow(await b.submit(form, { credential: credentialField(assertion) }), pages));
		if (res.status === 200 && res.kind === 'role')
			({ res } = await b.follow(await b.submit(res.form, { role: res.form.radios.role[0].value }), pages));
		const code = res.location?.startsWith(REDIRECT_URI) ? new URL(res.location).searchParams.get('code') : null;
		if (!code)
			throw new Error(`security key sign-in gave no code: ${describePages(pages)}\n  last: ${describeRes(res)}`);
		return exchange(conf, client, code);
	}

	async function session() {
		const b = new Browser(base);
		await passwordSignIn(b, ONE_ROLE);
		return {
			async mint() {
				const res = await b.get(authorizeUrl());
				const code = res.location?.startsWith(REDIRECT_URI) ? new URL(res.location).searchParams.get('code') : null;
				if (!code)
					throw new Error(`authorize with a session gave no code: ${describeRes(res)}`);
				return code;
			},
		};
	}
	async function signIn() {
		const s = await passwordSignIn(new Browser(base), KEY_USER);
		return exchange(conf, client, s.code);
	}
	return { discovery, conf, session, signIn, signInKey: keySignIn };
}

export async function start(ctx, { bin }) {
	const db = `sqlite:${ctx.dir}/careid.db`;
	const port = await ctx.freePort();
	const base = `http://127.0.0.1:${port}`;
	const args = ['serve', '--listen', `127.0.0.1:${port}`, '--db', db, '--demo', '--demo-dir', `${ctx.dir}/demo`,
		'--mail-file', `${ctx.dir}/mail.log`, '--log-level', 'warn', '--public-url', base];
	const launch = async () => {
		const t0 = process.hrtime.bigint();
		// careid reads etc/ (questionnaires, agreements) from its working directory.
		const c = ctx.spawn('careid', bin, args, { cwd: repo });
		return { c, ms: await ctx.waitReady(c, `${base}/readyz`, t0, 'careid') };
	};
	// The first start makes and seeds the store; the second, on that store, is
	// the ready time that counts (a restart).
	let { c, ms: readyFresh } = await launch();
	process.kill(c.pid, 'SIGTERM');
	await c.exited;
	let readyMs;
	({ c, ms: readyMs } = await launch());
	const idleRss = statusKb(c.pid, 'VmRSS') / 1024;

	const client = addClient(bin, db);
	const { discovery, conf, session, signIn, signInKey } =
		await driver(base, client, demoKeyFile(`${ctx.dir}/demo`));

	return {
		name: 'careid',
		pid: c.pid,
		readyMs,
		readyFreshMs: readyFresh,
		idleRssMb: idleRss,
		version: spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
		discovery,
		conf,
		client,
		scope: SCOPE,
		notes: [
			'careid: SQLite store (WAL) with the demo directory, environment "mock"; client secret checked against a keyed BLAKE2b hash (a high-entropy secret needs no slow hash); ' +
				'passwords argon2id t=2, m=19 MiB, p=1 (libsodium).',
			`E (password): demo user ${KEY_USER} with username and password (authorize, the sign-in page, the form posted, the redirect with a code, the token exchange); ` +
				`E (security key): the same user with the demo security key (ES256; a software authenticator answers WebAuthn as a browser would; the server verifies one ECDSA signature, no slow hash).`,
		],
		session,
		signIn,
		signInKey,
		auditRows(action) {
			const where = action ? ` WHERE action = '${action}'` : '';
			const q = spawnSync('sqlite3', ['-readonly', `${ctx.dir}/careid.db`, `SELECT count(*) FROM audit_events${where}`], { encoding: 'utf8' });
			return q.status === 0 ? Number(q.stdout.trim()) : null;
		},
		async stop() {
			process.kill(c.pid, 'SIGTERM');
			await c.exited;
		},
	};
}
