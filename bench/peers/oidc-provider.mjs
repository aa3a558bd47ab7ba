// node-oidc-provider (npm oidc-provider) as a provider for bench/run (contract:
// bench/peers/README.md). The server is oidc-provider-server.mjs in its own node
// process, so its CPU and RSS are its own and not the harness's; its sign-in page
// is driven as a browser drives it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Browser, describePages, describeRes } from '../../tests/e2e/lib/browser.mjs';

export const describe = 'oidc-provider';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const REDIRECT_URI = 'http://127.0.0.1:9/cb'; // nobody listens: the code is read from Location
const SCOPE = 'openid profile email'; // refresh tokens without offline_access: see the server
const USERNAME = 'bench.user';

const random = () => randomBytes(12).toString('base64url');

function basicAuth(id, secret) {
	return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

function codeFrom(res) {
	return res.location?.startsWith(REDIRECT_URI) ? new URL(res.location).searchParams.get('code') : null;
}

export async function start(ctx, { codesPerSession = 100 } = {}) {
	const version = JSON.parse(fs.readFileSync(path.join(repo, 'node_modules/oidc-provider/package.json'), 'utf8')).version;
	const port = await ctx.freePort();
	const issuer = `http://127.0.0.1:${port}`;
	const discovery = `${issuer}/.well-known/openid-configuration`;
	const client = { id: 'bench-client', secret: random(), auth: 'client_secret_basic', redirectUri: REDIRECT_URI };
	const password = random();

	const t0 = process.hrtime.bigint();
	const c = ctx.spawn('oidc-provider', process.execPath, [path.join(here, 'oidc-provider-server.mjs'), String(port)], {
		cwd: repo,
		env: {
			...process.env,
			NODE_ENV: 'production',
			OP_CLIENT_ID: client.id,
			OP_CLIENT_SECRET: client.secret,
			OP_REDIRECT_URI: REDIRECT_URI,
			OP_USERNAME: USERNAME,
			OP_PASSWORD: password,
		},
	});
	const exited = c.exited ?? new Promise((r) => c.once('exit', r));
	const readyMs = await ctx.waitReady(c, discovery, t0, 'oidc-provider');
	const conf = await (await fetch(discovery)).json();
	ctx.log(`oidc-provider ${version} ready in ${readyMs.toFixed(0)} ms at ${issuer}`);

	const authorizeUrl = () => `${conf.authorization_endpoint}?${new URLSearchParams({ response_type: 'code',
		client_id: client.id, redirect_uri: REDIRECT_URI, scope: SCOPE, state: random(), nonce: random() })}`;

	// authorize → sign-in page → form → /auth/:uid → redirect_uri; anything else throws.
	async function browserSignIn(b) {
		const s = await b.signIn(authorizeUrl(), { username: USERNAME, password });
		if (!s.code || s.sawLogin !== 1)
			throw new Error(`sign-in gave no code: ${describePages(s.pages)}\n  last: ${describeRes(s.page)}`);
		if (s.iss !== undefined && s.iss !== issuer)
			throw new Error(`authorization response from iss ${s.iss}, expected ${issuer}`);
		return s;
	}

	async function exchange(code) {
		const r = await fetch(conf.token_endpoint, {
			method: 'POST',
			headers: { authorization: basicAuth(client.id, client.secret), 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }),
		});
		const t = await r.json();
		if (r.status !== 200 || !t.access_token || !t.id_token || !t.refresh_token)
			throw new Error(`token endpoint: ${r.status} ${JSON.stringify(t)}`);
		return t;
	}

	return {
		name: 'node-oidc-provider',
		pid: c.pid,
		readyMs,
		version,
		discovery,
		conf,
		client,
		scope: SCOPE,
		notes: [
			`node-oidc-provider ${version} on node ${process.versions.node} (the library asks for node 22 LTS and warns on 20; it runs), one process, NODE_ENV=production, plain http on loopback (cookies not Secure, proxy off).`,
			'Store: the library\'s in-memory adapter (nothing persists across restarts), with its LRU raised from 1,000 to 10,000,000 entries: at 1,000 a run evicts codes, sessions and tokens it still needs.',
			'ID tokens RS256 with one RSA-2048 key generated at start (node:crypto); access tokens opaque (the default); no rate limiting (the library has none); everything not named here at the library\'s defaults (code lifetime 60 s).',
			'Client secret compared as stored, in plain text (the library does not hash client secrets).',
			'Sign-in: devInteractions off; a minimal login page of our own (an HTML form posting username and password) whose handler compares both, as plain strings, with one configured user: no password hashing, so E measures protocol cost only.',
			'No consent page: the login handler saves a Grant for the requested scope and finishes the interaction with login and consent together; /authorize requests riding the session then find that Grant through the default loadExistingGrant and show no page.',
			'Refresh tokens: issueRefreshToken issues one whenever the client has the refresh_token grant (the default wants offline_access, which needs prompt=consent), so the scope stays openid profile email; they do not rotate for this confidential client (the default rotateRefreshToken).',
			`Codes for D: /authorize riding a signed-in session, a new session every ${codesPerSession} codes (with thousands of codes on one Grant the library's in-memory adapter spends about 1.8 times the CPU per exchange walking the Grant's list of codes and tokens).`,
			'PKCE: pkce.required returns false for this client (already v9\'s default for a confidential client outside FAPI), so codes are exchanged without a code_verifier.',
		],
		// Each session signs in afresh after codesPerSession codes: the library's in-memory
		// adapter lists every code and token under its Grant and walks that whole list on
		// each save, so thousands of codes on one session (which no user makes) cost about
		// 1.8 times the CPU per exchange of codes spread over sessions.
		async session() {
			const fresh = () => {
				const b = new Browser(issuer);
				return { ready: browserSignIn(b).then(() => b), used: 0 };
			};
			let current = fresh();
			await current.ready;
			return {
				async mint() {
					if (current.used >= codesPerSession)
						current = fresh();
					current.used += 1; // counted before any await: concurrent mint() calls share it
					const b = await current.ready;
					const res = await b.get(authorizeUrl());
					const code = codeFrom(res);
					if (!code)
						throw new Error(`authorize with a session gave no code: ${describeRes(res)}`);
					return code;
				},
			};
		},
		async signIn() {
			const s = await browserSignIn(new Browser(issuer));
			return exchange(s.code);
		},
		async stop() {
			if (c.exitCode === null && c.signalCode === null) {
				process.kill(c.pid, 'SIGTERM');
				await exited;
			}
		},
	};
}
