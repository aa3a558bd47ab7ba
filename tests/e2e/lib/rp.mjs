// Relying-party helpers built on openid-client v6 (the client library validates what careid
// issues: discovery, ID token signature/claims with non-repudiation checks, userinfo), plus
// jose for independent verification and raw requests for error cases.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import * as jose from 'jose';
import { registerClient, DEMO_PASSWORD, USERS } from './careid.mjs';
import { Browser, describePages, describeRes } from './browser.mjs';

/** The client authentication variants every conformance module runs with. */
export const VARIANTS = [
  { name: 'client_secret_basic', auth: 'client_secret_basic' },
  { name: 'client_secret_post', auth: 'client_secret_post' },
  { name: 'private_key_jwt RS256', auth: 'private_key_jwt', keyAlg: 'RS256' },
  { name: 'private_key_jwt RS512', auth: 'private_key_jwt', keyAlg: 'RS512' },
];
/** VARIANTS plus client_secret_jwt (advertised by careid, not in the conformance plans' variants). */
export const ALL_VARIANTS = [...VARIANTS, { name: 'client_secret_jwt', auth: 'client_secret_jwt' }];

export const CIS2_SCOPES = ['openid', 'profile', 'email', 'nhsperson', 'associatedorgs', 'nationalrbacaccess', 'selectedrole'];
export const ALL_SCOPES = 'openid profile email nhsperson associatedorgs nationalrbacaccess selectedrole';

const HASH_OF_ALG = { RS256: 'sha256', PS256: 'sha256', ES256: 'sha256', RS384: 'sha384', PS384: 'sha384', ES384: 'sha384', RS512: 'sha512', PS512: 'sha512', ES512: 'sha512' };

/** OIDC at_hash / c_hash: left half of the hash of the ASCII value, base64url. */
export function halfHash(value, alg) {
  const h = createHash(HASH_OF_ALG[alg] || 'sha256').update(value, 'ascii').digest();
  return h.subarray(0, h.length / 2).toString('base64url');
}

/** The OAuth error code carried by an openid-client error (body error or WWW-Authenticate error). */
export function oauthError(err) {
  if (!err) return undefined;
  if (err.error) return err.error;
  const ch = Array.isArray(err.cause) ? err.cause : undefined;
  if (ch) for (const c of ch) if (c.parameters?.error) return c.parameters.error;
  if (err.cause?.error) return err.cause.error;
  return undefined;
}

/** Fetch the discovery document directly (no client library), with its response. */
export async function fetchDiscovery(server, env = 'mock') {
  const url = `${server.issuer(env)}/.well-known/openid-configuration`;
  const r = await fetch(url, { signal: AbortSignal.timeout(10000) });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { /* reported by the caller */ }
  return { status: r.status, headers: r.headers, text, json, url };
}

/**
 * Register a client for `variant` (see VARIANTS) in careid and discover the issuer with
 * openid-client. regOpts go to registerClient (env, idTokenAlg, userinfoAlg, redirectUris…).
 * assertionAud: 'token_endpoint' (default, what CIS2 documents) or 'issuer' (openid-client's
 * default), for *_jwt client authentication.
 */
export async function makeRp(server, variant = VARIANTS[0], regOpts = {}, { assertionAud = 'token_endpoint', nonRepudiation = true } = {}) {
  const client = await registerClient(server, { auth: variant.auth, keyAlg: variant.keyAlg, ...regOpts });
  return rpForClient(server, client, { variant, assertionAud, nonRepudiation });
}

/** An RP object for an already registered client (see makeRp). */
export async function rpForClient(server, client, { variant, assertionAud = 'token_endpoint', nonRepudiation = true } = {}) {
  const issuer = server.issuer(client.env);
  const holder = {};
  const modify = {
    [oidc.modifyAssertion]: (_header, payload) => {
      if (assertionAud === 'token_endpoint') payload.aud = holder.tokenEndpoint;
      else if (assertionAud === 'issuer') payload.aud = issuer;
      else payload.aud = assertionAud;
    },
  };
  let auth;
  switch (client.auth) {
    case 'client_secret_basic': auth = oidc.ClientSecretBasic(client.clientSecret); break;
    case 'client_secret_post': auth = oidc.ClientSecretPost(client.clientSecret); break;
    case 'client_secret_jwt': auth = oidc.ClientSecretJwt(client.clientSecret, modify); break;
    case 'private_key_jwt': auth = oidc.PrivateKeyJwt({ key: client.privateKey, kid: client.kid }, modify); break;
    default: throw new Error(`unknown auth ${client.auth}`);
  }
  const metadata = { redirect_uris: client.redirectUris, id_token_signed_response_alg: client.idTokenAlg || 'RS256' };
  if (client.userinfoAlg) metadata.userinfo_signed_response_alg = client.userinfoAlg;
  const execute = [oidc.allowInsecureRequests];
  if (nonRepudiation) execute.push(oidc.enableNonRepudiationChecks);
  // keep the last answers openid-client saw, so a failure can say what careid actually sent
  const trace = [];
  const recordingFetch = async (url, options) => {
    const r = await fetch(url, options);
    let text = '';
    try { text = await r.clone().text(); } catch { /* unreadable */ }
    trace.push(`${options?.method || 'GET'} ${url} → ${r.status} ${r.headers.get('www-authenticate') ? `WWW-Authenticate: ${r.headers.get('www-authenticate')} ` : ''}${text.slice(0, 400)}`);
    if (trace.length > 6) trace.shift();
    return r;
  };
  const config = await oidc.discovery(new URL(issuer), client.clientId, metadata, auth, { execute, timeout: 15, [oidc.customFetch]: recordingFetch });
  /** Run an openid-client call; on failure add the HTTP exchanges to the error message. */
  const explain = async (what, p) => {
    const mark = trace.length;
    try {
      return await p();
    } catch (e) {
      const recent = trace.slice(Math.max(0, mark - 1));
      e.message = `[${variant?.name || client.auth}] ${what}: ${e.message}${e.code ? ` (${e.code})` : ''}${oauthError(e) ? ` error=${oauthError(e)}` : ''}\n    HTTP seen by openid-client:\n    ${recent.join('\n    ')}`;
      throw e;
    }
  };
  const meta = config.serverMetadata();
  holder.tokenEndpoint = meta.token_endpoint;
  const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri), { cacheMaxAge: 0, cooldownDuration: 0 });
  const rp = {
    server, client, config, meta, issuer, auth, jwks,
    variant: variant || { name: client.auth, auth: client.auth },
    name: variant?.name || client.auth,

    /** Build an authorization URL; returns {url, state, nonce, verifier, params}. */
    async authorizationUrl(params = {}, { nonce = true, pkce = true, state = true } = {}) {
      const p = { redirect_uri: client.redirectUri, scope: 'openid', ...params };
      const out = {};
      if (state) { out.state = oidc.randomState(); p.state ??= out.state; out.state = p.state; }
      if (nonce) { out.nonce = oidc.randomNonce(); p.nonce ??= out.nonce; out.nonce = p.nonce; }
      if (pkce) {
        out.verifier = oidc.randomPKCECodeVerifier();
        p.code_challenge = await oidc.calculatePKCECodeChallenge(out.verifier);
        p.code_challenge_method = 'S256';
      }
      // null removes a parameter (even response_type/client_id, which openid-client would add)
      const omitted = Object.keys(p).filter((k) => p[k] === null);
      for (const [k, v] of Object.entries(p)) if (v === undefined || v === null) delete p[k];
      out.params = p;
      if (omitted.length === 0) {
        out.url = oidc.buildAuthorizationUrl(config, p).href;
      } else {
        const u = new URL(meta.authorization_endpoint);
        if (!('client_id' in p) && !omitted.includes('client_id')) u.searchParams.set('client_id', client.clientId);
        if (!('response_type' in p) && !omitted.includes('response_type')) u.searchParams.set('response_type', 'code');
        for (const [k, v] of Object.entries(p)) u.searchParams.append(k, v);
        out.url = u.href;
      }
      return out;
    },

    /** Exchange the code of an authorization response URL with openid-client. */
    exchange(location, checks = {}) {
      return explain('authorization code grant', () => oidc.authorizationCodeGrant(config, new URL(location), checks));
    },

    /**
     * Full code flow through the sign-in pages. opts: {browser, user, password, scope, params,
     * nonce, pkce, role, maxAge, expect: 'login'|'sso'}. Returns {authz, signin, tokens, claims,
     * idToken, header, verified}.
     */
    async codeFlow(browser, { user = USERS.single, password = DEMO_PASSWORD, scope = 'openid', params = {}, nonce = true, pkce = true, role, maxAge, expect } = {}) {
      const authz = await rp.authorizationUrl({ scope, ...params }, { nonce, pkce });
      const signin = await browser.signIn(authz.url, { username: user ?? undefined, password, role });
      const trail = `\n    ${describePages(signin.pages)}\n    last page: ${describeRes(signin.page)}`;
      assert.ok(signin.code, `[${rp.name}] expected a redirect to ${client.redirectUri} with a code; saw:${trail}`);
      assert.equal(signin.state, authz.state, `[${rp.name}] state must be echoed`);
      assert.ok(signin.location.startsWith(client.redirectUri), `[${rp.name}] redirected to ${signin.location}, expected the registered ${client.redirectUri}`);
      if (expect === 'login') assert.ok(signin.sawLogin >= 1, `[${rp.name}] expected the sign-in form to be shown (re-authentication); pages:${trail}`);
      if (expect === 'sso') assert.equal(signin.sawLogin, 0, `[${rp.name}] expected no sign-in form (SSO session); pages:${trail}`);
      const checks = { expectedState: authz.state, pkceCodeVerifier: authz.verifier };
      if (nonce) checks.expectedNonce = authz.nonce; else checks.idTokenExpected = true;
      if (maxAge !== undefined) checks.maxAge = maxAge;
      const tokens = await rp.exchange(signin.location, checks);
      const claims = tokens.claims();
      const verified = await rp.verifyIdToken(tokens.id_token, { accessToken: tokens.access_token });
      return { authz, signin, tokens, claims, idToken: tokens.id_token, header: verified.protectedHeader, verified };
    },

    /**
     * Verify an ID token independently with jose against the JWKS: signature, alg (the
     * client's registered alg), kid, typ JWT, iss, aud, and at_hash when accessToken given.
     */
    async verifyIdToken(idToken, { accessToken, expectedAlg = client.idTokenAlg || 'RS256' } = {}) {
      const header = jose.decodeProtectedHeader(idToken);
      assert.equal(header.alg, expectedAlg, `[${rp.name}] ID token alg: expected ${expectedAlg} (registered), saw ${header.alg}`);
      assert.ok(header.kid, `[${rp.name}] ID token header must carry kid: ${JSON.stringify(header)}`);
      assert.equal(header.typ, 'JWT', `[${rp.name}] ID token header typ: expected "JWT", saw ${JSON.stringify(header)}`);
      const v = await jose.jwtVerify(idToken, jwks, { issuer, audience: client.clientId, algorithms: [expectedAlg] });
      if (accessToken !== undefined) {
        assert.equal(v.payload.at_hash, halfHash(accessToken, header.alg), `[${rp.name}] at_hash must be the left half of ${HASH_OF_ALG[header.alg]}(access_token)`);
      }
      return v;
    },

    /** openid-client userinfo (GET with Authorization header). */
    userinfo(accessToken, expectedSub) {
      return explain('userinfo', () => oidc.fetchUserInfo(config, accessToken, expectedSub));
    },

    /** openid-client refresh grant. */
    refresh(refreshToken) {
      return explain('refresh token grant', () => oidc.refreshTokenGrant(config, refreshToken));
    },

    /**
     * Raw token endpoint request authenticated exactly as this client's openid-client
     * auth does (auth: false → no client authentication). Resolves {status, headers, json, text}.
     */
    async tokenRequest(params, { auth: withAuth = true, headers: extraHeaders = {} } = {}) {
      const body = params instanceof URLSearchParams ? new URLSearchParams(params) : new URLSearchParams(Object.entries(params));
      const headers = new Headers(extraHeaders);
      if (withAuth) await auth(meta, { client_id: client.clientId }, body, headers);
      headers.set('content-type', 'application/x-www-form-urlencoded');
      return postRaw(meta.token_endpoint, body.toString(), headers);
    },
  };
  return rp;
}

/** POST a body and read {status, headers, text, json}. */
export async function postRaw(url, body, headers = {}) {
  const r = await fetch(url, { method: 'POST', body, headers, redirect: 'manual', signal: AbortSignal.timeout(15000) });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json };
}

/** GET/POST userinfo the raw way. mode: 'get' | 'post-header' | 'post-body'. */
export async function userinfoRaw(rp, accessToken, mode = 'get') {
  const url = rp.meta.userinfo_endpoint;
  let r;
  if (mode === 'get') {
    r = await fetch(url, { headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {}, signal: AbortSignal.timeout(10000) });
  } else if (mode === 'post-header') {
    r = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/x-www-form-urlencoded' }, body: '', signal: AbortSignal.timeout(10000) });
  } else {
    r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ access_token: accessToken }).toString(), signal: AbortSignal.timeout(10000) });
  }
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { /* maybe a JWT */ }
  return { status: r.status, headers: r.headers, text, json };
}

/** Parse a WWW-Authenticate Bearer challenge → {scheme, params}. */
export function parseChallenge(header) {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z][\w-]*)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  let p;
  while ((p = re.exec(m[2]))) params[p[1].toLowerCase()] = (p[2] ?? p[3]).replace(/\\(.)/g, '$1');
  return { scheme: m[1], params };
}

/** Assert a userinfo answer is 401 with a Bearer challenge (error=invalid_token when given). */
export function assertInvalidToken(r, what, { errorRequired = true } = {}) {
  assert.equal(r.status, 401, `${what}: userinfo should answer 401, saw ${r.status} ${r.text.slice(0, 200)}`);
  const wa = r.headers.get('www-authenticate');
  const ch = parseChallenge(wa);
  assert.ok(ch && /^bearer$/i.test(ch.scheme), `${what}: expected WWW-Authenticate: Bearer …, saw ${JSON.stringify(wa)}`);
  if (errorRequired || ch.params.error !== undefined) {
    assert.equal(ch.params.error, 'invalid_token', `${what}: WWW-Authenticate error, saw ${JSON.stringify(wa)}`);
  }
}

/** Assert a token endpoint error answer: JSON {error, error_description}. */
export function assertTokenError(r, error, what, { status } = {}) {
  assert.ok(r.json && typeof r.json === 'object', `${what}: expected a JSON error body, saw HTTP ${r.status} ${r.text.slice(0, 300)}`);
  assert.equal(r.json.error, error, `${what}: expected error=${error}, saw HTTP ${r.status} ${r.text.slice(0, 300)}`);
  if (status !== undefined) {
    const ok = Array.isArray(status) ? status.includes(r.status) : r.status === status;
    assert.ok(ok, `${what}: expected HTTP ${status}, saw ${r.status} ${r.text.slice(0, 300)}`);
  }
  assert.ok(r.status >= 400 && r.status < 500, `${what}: an error must be 4xx, saw ${r.status}`);
}

/** Assert the authorization endpoint redirected to the RP with `error` (and state echoed). */
export function assertAuthzError(signin, error, state, what, redirectUri) {
  const trail = `\n    ${describePages(signin.pages)}\n    last page: ${describeRes(signin.page)}`;
  assert.ok(signin.location, `${what}: expected a redirect to the client with error=${error}; saw:${trail}`);
  if (redirectUri) assert.ok(signin.location.startsWith(redirectUri), `${what}: redirect must go to the registered ${redirectUri}, saw ${signin.location}`);
  assert.equal(signin.error, error, `${what}: expected error=${error}, saw ${signin.location}`);
  assert.equal(signin.code, undefined, `${what}: an error response must carry no code: ${signin.location}`);
  if (state !== undefined) assert.equal(signin.state, state, `${what}: state must be echoed in the error response: ${signin.location}`);
}

/** Assert a 400 HTML error page with no redirect (bad client_id / redirect_uri). */
export function assertErrorPage(res, what) {
  assert.equal(res.status, 400, `${what}: expected a 400 error page and no redirect, saw ${describeRes(res)}`);
  assert.equal(res.headers.get('location'), null, `${what}: an error page must not redirect, saw Location ${res.headers.get('location')}`);
  assert.match(res.headers.get('content-type') || '', /text\/html/, `${what}: error page should be HTML`);
}

/** Standard claims every careid ID token carries (CIS2 openid scope). */
export function assertIdTokenClaims(rp, claims, { user, nonce, sid = true } = {}) {
  const w = `[${rp.name}] ID token`;
  const show = JSON.stringify(claims);
  assert.equal(claims.iss, rp.issuer, `${w} iss`);
  assert.equal(claims.sub, user, `${w} sub should be the user's UID: ${show}`);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  assert.ok(aud.includes(rp.client.clientId), `${w} aud must contain the client_id: ${show}`);
  assert.equal(claims.azp, rp.client.clientId, `${w} azp: ${show}`);
  for (const k of ['exp', 'iat', 'auth_time']) assert.equal(typeof claims[k], 'number', `${w} ${k} must be a number: ${show}`);
  assert.ok(claims.exp > claims.iat, `${w} exp after iat: ${show}`);
  if (nonce !== undefined) assert.equal(claims.nonce, nonce, `${w} nonce`);
  assert.equal(claims.acr, 'AAL1_USERPASS', `${w} acr for a password sign-in in mock: ${show}`);
  assert.deepEqual(claims.amr, ['pwd'], `${w} amr for a password sign-in: ${show}`);
  if (sid) assert.ok(typeof claims.sid === 'string' && claims.sid.length > 0, `${w} sid: ${show}`);
  assert.ok(typeof claims.at_hash === 'string', `${w} at_hash: ${show}`);
  for (const k of ['id_assurance_level', 'authentication_assurance_level']) {
    assert.ok(['string', 'number'].includes(typeof claims[k]), `${w} ${k} must be present: ${show}`);
  }
}

/**
 * One top-level test per client authentication variant: registers a client for the variant
 * (reg: registerClient options), discovers it, and calls fn({t, server, v, rp, browser}).
 * h is the handle from setupServer().
 */
export function forVariants(h, title, fn, { variants = VARIANTS, reg = {}, rpOpts = {}, testOpts = {} } = {}) {
  for (const v of variants) {
    h.test(`${title} [${v.name}]`, testOpts, async (t, server) => {
      const rp = await makeRp(server, v, reg, rpOpts);
      const browser = new Browser(server.url);
      await fn({ t, server, v, rp, browser });
    });
  }
}
