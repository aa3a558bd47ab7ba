// node-oidc-provider as a benchmark peer: one Provider on loopback http, the library's
// in-memory store, one confidential client, one user, and the smallest real sign-in page
// (devInteractions is a development aid, not something anyone deploys).
// Usage: node bench/peers/oidc-provider-server.mjs PORT   (or PORT in the environment)
// Client and user come from the environment (set by oidc-provider.mjs); the defaults let
// it be run by hand.
import http from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';
// The library's own in-memory adapter and LRU: the Provider's default store is exactly
// these, but capped at 1,000 entries (codes, tokens, sessions, grants and interactions
// together), which a benchmark run outgrows in a second and then loses codes and sessions
// it still needs. Only the cap is changed.
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const port = Number(process.argv[2] ?? process.env.PORT);
if (!Number.isInteger(port) || port <= 0) {
	console.error('usage: oidc-provider-server.mjs PORT');
	process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const env = process.env;
const CLIENT = {
	id: env.OP_CLIENT_ID ?? 'bench-client',
	secret: env.OP_CLIENT_SECRET ?? 'bench-secret',
	redirectUri: env.OP_REDIRECT_URI ?? 'http://127.0.0.1:9/cb',
};
const USER = {
	username: env.OP_USERNAME ?? 'bench.user',
	password: env.OP_PASSWORD ?? 'bench-password',
	sub: 'bench-user-1',
	name: 'Bench User',
	email: 'bench.user@example.test',
};
const STORE_ENTRIES = 10_000_000;

// A fresh RSA-2048 key each start, as a private JWK: ID tokens are RS256.
function signingKey() {
	const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
	return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

const store = new LRU({ maxSize: STORE_ENTRIES });

const configuration = {
	adapter: (model) => new MemoryAdapter(model, store),
	clients: [{
		client_id: CLIENT.id,
		client_secret: CLIENT.secret,
		token_endpoint_auth_method: 'client_secret_basic',
		redirect_uris: [CLIENT.redirectUri],
		grant_types: ['authorization_code', 'refresh_token'],
		response_types: ['code'],
	}],
	jwks: { keys: [signingKey()] },
	// v9 defines no scope but openid by default: profile and email release these claims.
	claims: {
		openid: ['sub'],
		profile: ['name'],
		email: ['email', 'email_verified'],
	},
	// One account, with the claims those scopes release.
	async findAccount(ctx, sub) {
		if (sub !== USER.sub) return undefined;
		return {
			accountId: USER.sub,
			async claims() {
				return { sub: USER.sub, name: USER.name, email: USER.email, email_verified: true };
			},
		};
	},
	features: {
		devInteractions: { enabled: false },
		userinfo: { enabled: true },
	},
	// v9 issues refresh tokens only for offline_access (which needs prompt=consent); the
	// benchmark asks for openid profile email, so: one whenever the client may refresh.
	async issueRefreshToken(ctx, client) {
		return client.grantTypeAllowed('refresh_token');
	},
	// The contract exchanges codes without PKCE; v9's default already spares confidential
	// clients outside FAPI, stated here so it does not hang on a default.
	pkce: { required: () => false },
	// Codes live 120 s, as careid's do (the library's default is 60 s): D mints
	// its codes before the load, and minting thousands takes a while here.
	ttl: { AuthorizationCode: 120 },
};

const provider = new Provider(issuer, configuration);
const callback = provider.callback();

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, title, body) {
	const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
	res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
	res.end(html);
}

function loginPage(res, uid, message) {
	const error = message ? `<p role="alert">${escapeHtml(message)}</p>` : '';
	page(res, 200, 'Sign in', `${error}<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="username">Username</label><input id="username" name="username" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button></form>`);
}

function readForm(req) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		let size = 0;
		req.on('data', (d) => {
			size += d.length;
			if (size > 16384) { reject(new Error('form too large')); req.destroy(); return; }
			chunks.push(d);
		});
		req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
		req.on('error', reject);
	});
}

// GET /interaction/:uid shows the sign-in form; POST /interaction/:uid/login checks it.
// No consent page: the login handler also saves a Grant for exactly the scope asked for
// and finishes with login and consent together, the way the library's example consent
// handler does it; later /authorize requests on the session find that Grant through the
// default loadExistingGrant and need no interaction at all.
async function interaction(req, res, uid, action) {
	const details = await provider.interactionDetails(req, res);
	if (details.uid !== uid) return page(res, 400, 'Wrong interaction', '');
	if (details.prompt.name !== 'login') {
		// cannot happen with the grant saved at login; an error page the driver will report
		return page(res, 500, `Unexpected prompt ${escapeHtml(details.prompt.name)}`, '');
	}
	if (req.method === 'GET' && !action) return loginPage(res, uid);
	if (req.method !== 'POST' || action !== 'login') return page(res, 405, 'Method not allowed', '');
	const form = await readForm(req);
	// A plain string comparison of username and password: no hashing, no lockout.
	if (form.get('username') !== USER.username || form.get('password') !== USER.password)
		return loginPage(res, uid, 'Username or password incorrect.');
	const grant = new provider.Grant({ accountId: USER.sub, clientId: details.params.client_id });
	grant.addOIDCScope(details.params.scope);
	const grantId = await grant.save();
	await provider.interactionFinished(req, res, {
		login: { accountId: USER.sub },
		consent: { grantId },
	}, { mergeWithLastSubmission: false });
}

const server = http.createServer((req, res) => {
	const m = /^\/interaction\/([^/?]+)(?:\/([a-z]+))?(?:\?|$)/.exec(req.url);
	if (!m) return callback(req, res);
	interaction(req, res, m[1], m[2]).catch((err) => {
		console.error('interaction:', err);
		if (!res.headersSent) page(res, err.statusCode ?? 500, escapeHtml(err.name ?? 'Error'), escapeHtml(err.error_description ?? err.message));
		else res.destroy();
	});
});
server.listen(port, '127.0.0.1', () => console.log(`oidc-provider ${issuer} ready`));
// Stop at once: the store is in memory, nothing to flush.
for (const sig of ['SIGTERM', 'SIGINT'])
	process.on(sig, () => process.exit(0));
