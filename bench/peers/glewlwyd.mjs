// Glewlwyd 2.7.5 (the Debian package) as a benchmark peer: SQLite store, a
// database user backend and client backend whose PBKDF2 iteration count is
// options.pbkdf2Iterations (the package default, 150,000, when not given), the
// OpenID Connect plugin signing RS256 with an RSA-2048 key. See README.md here.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Browser } from '../../tests/e2e/lib/browser.mjs';

export const describe = 'glewlwyd';

const BIN = '/usr/bin/glewlwyd';
const SCHEMA = '/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3';
const TEMPLATE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'glewlwyd', 'glewlwyd.conf.in');
// What libusermoddatabase.so and libclientmoddatabase.so use when their
// parameters have no "pbkdf2-iterations" (G_PBKDF2_ITERATOR_DEFAULT; the admin
// app's form shows the same value).
const DEFAULT_ITERATIONS = 150000;
// The administrator the package's install script creates (password "password").
const ADMIN = { username: 'admin', password: 'password' };
const PLUGIN = 'oidc'; // the plugin instance's name: its endpoints live under /api/oidc/
const SCOPES = ['openid', 'profile', 'email'];
const USER = { username: 'bench', password: 'bench-Password-1', name: 'Bench User', email: 'bench@example.org' };
const REDIRECT_URI = 'http://127.0.0.1:9/cb';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function version() {
	const bin = execFileSync(BIN, ['--version'], { encoding: 'utf8' }).trim().split('\n').pop().trim();
	let deb = '';
	try {
		deb = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'glewlwyd'], { encoding: 'utf8' }).trim();
	} catch { /* not from a package */ }
	return deb ? `${bin} (Debian ${deb})` : bin;
}

// One JSON call to Glewlwyd's REST API with the browser's cookies; throws
// unless the status is the expected one.
async function api(b, method, url, body, expect = 200) {
	const res = await b.request(url, {
		method,
		body: body === undefined ? undefined : JSON.stringify(body),
		contentType: body === undefined ? undefined : 'application/json',
		headers: { accept: 'application/json' },
	});
	if (res.status !== expect)
		throw new Error(`glewlwyd: ${method} ${url} → ${res.status} ${res.body.slice(0, 400)}`);
	return res;
}

const basic = (client) =>
	`Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;

// g_continue is what the login app appends when it sends the browser back
// (its "continue" button, or after a sign-in): without it Glewlwyd answers
// every /authorize, signed in or not, with a redirect to the login app.
function authorizeUrl(base, client, scope, resume = false) {
	const u = new URL(`${base}/api/${PLUGIN}/auth`);
	u.search = new URLSearchParams({
		response_type: 'code',
		client_id: client.id,
		redirect_uri: client.redirectUri,
		scope,
		state: randomBytes(8).toString('hex'),
		nonce: randomBytes(8).toString('hex'),
	}).toString();
	return resume ? `${u.href}&g_continue` : u.href;
}

// The code from an /authorize answer that went back to the client; anything
// else (the login app, an error redirect) is an unexpected page.
// The message names the error but not the request's state, so that failures
// of one kind read the same.
function codeFrom(res, client, step) {
	const loc = res.location ?? '';
	if (res.status === 302 && loc.startsWith(`${client.redirectUri}?`)) {
		const p = new URL(loc).searchParams;
		if (p.get('code'))
			return p.get('code');
		throw new Error(`glewlwyd ${step}: redirected to the client with error=${p.get('error')}${p.get('error_description') ? ` (${p.get('error_description')})` : ''}`);
	}
	throw new Error(`glewlwyd ${step}: expected a redirect with a code, got ${res.status} ${loc.split('?')[0] || res.body.slice(0, 300)}`);
}

async function tokenRequest(conf, client, form) {
	const r = await fetch(conf.token_endpoint, {
		method: 'POST',
		headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
		body: new URLSearchParams(form).toString(),
		signal: AbortSignal.timeout(30000),
	});
	const text = await r.text();
	if (r.status !== 200)
		throw new Error(`glewlwyd token: ${r.status} ${text.slice(0, 300)}`);
	return JSON.parse(text);
}

// Signs a fresh browser in the way Glewlwyd's login app does: /authorize sends
// it to login.html; the app posts the user's password to /api/auth/ (the
// session cookie is set) and sends the browser back to the callback_url it was
// given (the /authorize request) with g_continue, which answers with the code.
// The app's static files and its other XHRs (config, profile list, scope and
// grant checks) are not replayed. Resolves the signed-in browser and the code.
async function signInBrowser(base, client, scope) {
	const b = new Browser(base);
	const first = await b.get(authorizeUrl(base, client, scope));
	const loc = first.location ?? '';
	if (first.status !== 302 || !loc.startsWith(`${base}/login.html?`))
		throw new Error(`glewlwyd authorize: expected the login app, got ${first.status} ${loc || first.body.slice(0, 300)}`);
	const callback = new URL(loc).searchParams.get('callback_url');
	if (!callback?.startsWith(`${base}/api/${PLUGIN}/auth?`))
		throw new Error(`glewlwyd authorize: unexpected callback_url in ${loc}`);
	await api(b, 'POST', '/api/auth/', { username: USER.username, password: USER.password });
	return { b, code: codeFrom(await b.get(`${callback}&g_continue`), client, 'authorize after sign-in') };
}

function writeConfig(dir, port) {
	const text = fs.readFileSync(TEMPLATE, 'utf8').replaceAll('@PORT@', String(port)).replaceAll('@DIR@', dir);
	const file = path.join(dir, 'glewlwyd.conf');
	fs.writeFileSync(file, text);
	return file;
}

// The OIDC plugin instance: RS256 with the key made in ctx.dir, the code and
// refresh grants only, name and email as claims of the profile and email scopes.
function pluginParameters(base, dir) {
	return {
		iss: `${base}/api/${PLUGIN}`,
		'jwt-type': 'rsa',
		'jwt-key-size': '256',
		key: fs.readFileSync(path.join(dir, 'sign-key.pem'), 'utf8'),
		cert: fs.readFileSync(path.join(dir, 'sign-pub.pem'), 'utf8'),
		'jwks-show': true,
		'subject-type': 'public',
		'access-token-duration': 3600,
		'refresh-token-duration': 1209600,
		'code-duration': 600,
		'refresh-token-rolling': true,
		'refresh-token-one-use': 'never',
		'allow-non-oidc': false,
		'auth-type-code-enabled': true,
		'auth-type-code-revoke-replayed': false,
		'auth-type-token-enabled': false,
		'auth-type-none-enabled': false,
		'auth-type-password-enabled': false,
		'auth-type-client-enabled': false,
		'auth-type-device-enabled': false,
		'auth-type-refresh-enabled': true,
		'allowed-scope': SCOPES,
		'name-claim': 'on-demand',
		'name-claim-scope': ['profile'],
		'email-claim': 'on-demand',
		'email-claim-scope': ['email'],
		'scope-claim': 'no',
		'address-claim': { type: 'no' },
		claims: [],
		'additional-parameters': [],
		'pkce-allowed': false,
		'introspection-revocation-allowed': false,
		'register-client-allowed': false,
		'session-management-allowed': false,
		'request-parameter-allow': false,
		'encrypt-out-token-allow': false,
		'oauth-dpop-allowed': false,
		'resource-allowed': false,
	};
}

// Everything through the admin REST API, signed in as the install script's
// administrator: backends' iteration count, scopes, user, client, plugin, and
// the user's consent to the client (Glewlwyd keeps a grant per user and client,
// so later sign-ins show no consent step).
async function configure(base, dir, iterations, client) {
	const admin = new Browser(base);
	// The administrator's stored hash was made at the default count, so sign in
	// before changing it: the session stays signed in afterwards.
	await api(admin, 'POST', '/api/auth/', ADMIN);
	for (const kind of ['user', 'client']) {
		const mod = (await api(admin, 'GET', `/api/mod/${kind}/database`)).json;
		const parameters = { ...mod.parameters, 'pbkdf2-iterations': iterations };
		await api(admin, 'PUT', `/api/mod/${kind}/database`,
			{ display_name: mod.display_name, order_rank: mod.order_rank, readonly: mod.readonly, parameters });
		// The update is stored but the running instance keeps hashing at the
		// count it started with; "reset" restarts it with the new parameters.
		await api(admin, 'PUT', `/api/mod/${kind}/database/reset`);
	}
	// The password is the only factor: no additional scheme, no maximum age.
	const scope = (name, display) => ({ name, display_name: display, description: display, password_required: true, password_max_age: 0, scheme: {} });
	await api(admin, 'PUT', '/api/scope/openid', scope('openid', 'Open ID'));
	await api(admin, 'POST', '/api/scope/', scope('profile', 'Name'));
	await api(admin, 'POST', '/api/scope/', scope('email', 'E-mail'));
	await api(admin, 'POST', '/api/user/', { ...USER, scope: SCOPES, enabled: true });
	// "password", not "client_secret": Glewlwyd stores a client secret as is and
	// hashes only a client password (through the client backend, PBKDF2 here).
	await api(admin, 'POST', '/api/client/', {
		client_id: client.id,
		name: 'careid bench',
		confidential: true,
		password: client.secret,
		redirect_uri: [client.redirectUri],
		authorization_type: ['code', 'refresh_token'],
		token_endpoint_auth_method: ['client_secret_basic'],
		scope: [],
		enabled: true,
	});
	await api(admin, 'POST', '/api/mod/plugin/',
		{ module: 'oidc', name: PLUGIN, display_name: 'OpenID Connect', parameters: pluginParameters(base, dir) });

	const user = new Browser(base);
	await api(user, 'POST', '/api/auth/', { username: USER.username, password: USER.password });
	await api(user, 'PUT', `/api/auth/grant/${encodeURIComponent(client.id)}`, { scope: SCOPES.join(' ') });
}

// Glewlwyd stores the iteration count with each hash ("digest,count"): check
// the user's password and the client's were hashed at the count asked for.
function checkHashes(dir, client, iterations) {
	const q = (sql) => execFileSync('sqlite3', ['-readonly', path.join(dir, 'glewlwyd.db'), sql], { encoding: 'utf8' }).trim();
	const user = q(`SELECT guw_password FROM g_user_password JOIN g_user USING (gu_id) WHERE gu_username = '${USER.username}'`);
	const cli = q(`SELECT gc_password FROM g_client WHERE gc_client_id = '${client.id}'`);
	for (const [what, hash] of [['user password', user], ['client password', cli]]) {
		if (hash.split(',')[1] !== String(iterations))
			throw new Error(`glewlwyd: the ${what} was hashed with ${hash.split(',')[1] ?? 'an unknown count'} iterations, not ${iterations}`);
	}
}

export async function start(ctx, options = {}) {
	const iterations = options.pbkdf2Iterations ?? DEFAULT_ITERATIONS;
	const dir = ctx.dir;
	execFileSync('sqlite3', [path.join(dir, 'glewlwyd.db')], { input: fs.readFileSync(SCHEMA) });
	execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', path.join(dir, 'sign-key.pem')], { stdio: 'ignore' });
	execFileSync('openssl', ['pkey', '-in', path.join(dir, 'sign-key.pem'), '-pubout', '-out', path.join(dir, 'sign-pub.pem')], { stdio: 'ignore' });

	const port = await ctx.freePort();
	const base = `http://127.0.0.1:${port}`;
	const confFile = writeConfig(dir, port);
	const discovery = `${base}/api/${PLUGIN}/.well-known/openid-configuration`;
	const client = { id: 'bench-client', secret: randomBytes(24).toString('base64url'), auth: 'client_secret_basic', redirectUri: REDIRECT_URI };

	// First start: a fresh store, configured through the admin API.
	ctx.log(`glewlwyd: configuring (PBKDF2 ${iterations})`);
	let child = ctx.spawn('glewlwyd-setup', BIN, ['-c', confFile]);
	await ctx.waitReady(child, `${base}/config`, process.hrtime.bigint(), 'glewlwyd-setup');
	await configure(base, dir, iterations, client);
	await stopChild(child);
	checkHashes(dir, client, iterations);

	// Second start, on that store: the ready time is until the plugin serves discovery.
	const t0 = process.hrtime.bigint();
	child = ctx.spawn('glewlwyd', BIN, ['-c', confFile]);
	const readyMs = await ctx.waitReady(child, discovery, t0, 'glewlwyd');
	const conf = await (await fetch(discovery)).json();
	const scope = SCOPES.join(' ');
	const count = iterations.toLocaleString('en-GB');
	const ver = version();

	return {
		name: `glewlwyd (PBKDF2 ${count})`,
		pid: child.pid,
		readyMs,
		version: ver,
		discovery,
		conf,
		client,
		scope,
		notes: [
			`Glewlwyd ${ver} from the Debian package, one process; SQLite store created by the package's install script (SQLite's defaults, a rollback journal: Glewlwyd sets no pragma but foreign_keys); configured through its admin REST API as the administrator that script creates.`,
			`Database user and client backends with PBKDF2-HMAC-SHA256 at ${count} iterations${options.pbkdf2Iterations === undefined ? ' (the package default)' : ''}, checked in the store after setup: the user's password and the client's password (Glewlwyd's hashed client credential; a "client secret" would be stored in clear) are hashed and checked with it.`,
			'Sign-in as its login app does it: /authorize redirects to the login app (not served; its static files and its status requests are not replayed), POST /api/auth/ with the user name and password (Glewlwyd\'s password factor: one PBKDF2), then the /authorize request again with g_continue, which returns the code; the token exchange authenticates the client (another PBKDF2). The scopes (openid profile email) require the password and nothing else; consent was granted once at setup (Glewlwyd keeps it per user and client).',
			'Codes for the exchange scenario come from /authorize with g_continue on a signed-in session: without it Glewlwyd sends even a signed-in user to the login app.',
			'ID and access tokens are JWTs signed RS256 with an RSA-2048 key; name and email come with the profile and email scopes; refresh tokens are not rotated (rolling expiry, Glewlwyd\'s default).',
			'Ready time is the second start, on the configured store, until discovery answers 200.',
		],
		async session() {
			const { b } = await signInBrowser(base, client, scope);
			return {
				async mint() {
					return codeFrom(await b.get(authorizeUrl(base, client, scope, true)), client, 'authorize in session');
				},
			};
		},
		async signIn() {
			const { code } = await signInBrowser(base, client, scope);
			const tokens = await tokenRequest(conf, client, { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri });
			if (!tokens.access_token || !tokens.id_token)
				throw new Error(`glewlwyd token: no access_token or id_token in ${JSON.stringify(tokens).slice(0, 300)}`);
			return tokens;
		},
		async stop() {
			await stopChild(child);
		},
	};
}

// SIGTERM, and wait for the exit (Glewlwyd closes its store on the way out).
async function stopChild(c) {
	if (c.exitCode !== null || c.signalCode !== null)
		return;
	const gone = new Promise((r) => c.once('exit', r));
	c.kill('SIGTERM');
	await Promise.race([gone, sleep(5000)]);
	if (c.exitCode === null && c.signalCode === null) {
		c.kill('SIGKILL');
		await gone;
	}
}
