// A relying party's back-channel logout endpoint (OpenID Connect Back-Channel Logout 1.0) for
// end-to-end tests: a real HTTP server on 127.0.0.1 (node:http) that receives careid's POSTs,
// validates each logout token with jose exactly as §2.6 says, answers as the test asks, and
// records everything it saw.
//
//   const rp = await startLogoutRp();
//   const ep = rp.endpoint();                       // one backchannel_logout_uri: ep.url
//   const client = await registerClient(server, { extraFlags: ['--backchannel-logout-uri', ep.url] });
//   ep.expect({ issuer: server.issuer('mock'), audience: client.clientId, algorithms: ['RS256'] });
//   ep.answers(503, 503);                           // the next two valid tokens get 503, then 200
//   const got = await ep.waitFor((r) => r.ok && r.answered === 200);
//   await rp.close();
//
// §2.6, step by step (each failure answers 400 {"error":"invalid_request", …} and is recorded):
//   1. encrypted tokens: none are registered, so a JWE is refused;
//   2–3. the signature, against the keys of the jwks_uri that the issuer's discovery document
//      names, with `alg` among the client's registered ID token algorithm(s) (never "none");
//   4. iss, aud (the client_id, string or array), iat and exp as for ID tokens;
//   5. a sub claim, a sid claim or both;
//   6. an events claim: a JSON object with the member
//      "http://schemas.openid.net/event/backchannel-logout" whose value is a JSON object;
//   7. no nonce claim;
//   8. a jti not received before (by this endpoint);
//   and §2.4's explicit typing: a typ header, when present, is "logout+jwt".
// The request itself must be a POST of application/x-www-form-urlencoded with one
// logout_token (other parameters are recorded as `extraParams`, as the conformance suite warns).
// A 200 carries Cache-Control: no-store (§2.8).

import http from 'node:http';
import * as jose from 'jose';

export const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class ValidationError extends Error {}

/** A JSON object (not an array, not null). */
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Start the RP's server. Resolves {url, endpoint(name?), all (every request of every endpoint),
 * close()}.
 */
export async function startLogoutRp({ host = '127.0.0.1', port = 0 } = {}) {
  const endpoints = new Map();
  const all = [];
  const held = new Set();
  const jwksByUri = new Map();
  let seq = 0;

  /** jwks_uri from the issuer's discovery document (once per issuer), then a jose remote key set. */
  const discovered = new Map();
  async function keySet(issuer) {
    let uri = discovered.get(issuer);
    if (!uri) {
      const r = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
      if (r.status !== 200) throw new ValidationError(`discovery of ${issuer} answered ${r.status}`);
      const doc = await r.json();
      if (doc.issuer !== issuer) throw new ValidationError(`discovery names issuer ${doc.issuer}, expected ${issuer}`);
      if (typeof doc.jwks_uri !== 'string') throw new ValidationError('discovery has no jwks_uri');
      uri = doc.jwks_uri;
      discovered.set(issuer, uri);
    }
    if (!jwksByUri.has(uri)) jwksByUri.set(uri, jose.createRemoteJWKSet(new URL(uri), { timeoutDuration: 5000, cooldownDuration: 0 }));
    return jwksByUri.get(uri);
  }

  /** §2.6 on one logout token for endpoint `ep`. Resolves {header, claims} or throws ValidationError. */
  async function validate(ep, token) {
    const exp = ep.expected;
    if (!exp) throw new ValidationError('this endpoint expects no logout token yet (expect() not called)');
    if (typeof token !== 'string' || token.split('.').length === 5) throw new ValidationError('an encrypted (JWE) logout token, and none was registered');
    let header;
    try { header = jose.decodeProtectedHeader(token); } catch (e) { throw new ValidationError(`not a JWS: ${e.message}`); }
    if (header.alg === 'none') throw new ValidationError('alg none');
    if (header.typ !== undefined && !/^(application\/)?logout\+jwt$/i.test(header.typ)) {
      throw new ValidationError(`typ ${JSON.stringify(header.typ)} is not logout+jwt`);
    }
    let verified;
    try {
      verified = await jose.jwtVerify(token, await keySet(exp.issuer), {
        issuer: exp.issuer,
        audience: exp.audience,
        algorithms: exp.algorithms,
        requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti', 'events'],
        clockTolerance: 5,
      });
    } catch (e) {
      if (e instanceof ValidationError) throw e;
      throw new ValidationError(`${e.code || e.name}: ${e.message}`);
    }
    const c = verified.payload;
    if (typeof c.iat !== 'number' || c.iat > Date.now() / 1000 + 5) throw new ValidationError(`iat ${c.iat} is not a time in the past`);
    if (typeof c.sub !== 'string' && typeof c.sid !== 'string') throw new ValidationError('neither sub nor sid');
    if (c.sub !== undefined && typeof c.sub !== 'string') throw new ValidationError('sub is not a string');
    if (c.sid !== undefined && typeof c.sid !== 'string') throw new ValidationError('sid is not a string');
    if (!isObject(c.events) || !isObject(c.events[LOGOUT_EVENT])) throw new ValidationError(`events must hold ${LOGOUT_EVENT} as an object: ${JSON.stringify(c.events)}`);
    if ('nonce' in c) throw new ValidationError('a logout token must not carry a nonce');
    if (typeof c.jti !== 'string' || !c.jti) throw new ValidationError('jti is not a string');
    if (ep.jtis.has(c.jti)) throw new ValidationError(`jti ${c.jti} was received before (replay)`);
    ep.jtis.add(c.jti);
    return { header: verified.protectedHeader, claims: c };
  }

  function answer(res, entry, status, body, headers = {}) {
    entry.answered = status;
    if (res.destroyed) { entry.answered = 'gone'; return; }
    res.writeHead(status, { 'cache-control': 'no-store', ...headers });
    res.end(body);
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://rp');
    const ep = endpoints.get(url.pathname);
    const chunks = [];
    let size = 0;
    for await (const c of req) {
      size += c.length;
      if (size > 64 * 1024) { res.writeHead(413).end(); return; }
      chunks.push(c);
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const entry = {
      n: ++seq, at: Date.now(), endpoint: ep?.name, method: req.method,
      contentType: req.headers['content-type'], userAgent: req.headers['user-agent'], body,
      ok: false, error: undefined, answered: undefined,
    };
    all.push(entry);
    if (!ep) { answer(res, entry, 404, 'no such endpoint'); return; }
    ep.received.push(entry);
    const refuse = (why) => {
      entry.error = why;
      answer(res, entry, 400, JSON.stringify({ error: 'invalid_request', error_description: why }), { 'content-type': 'application/json' });
      ep.notify();
    };
    if (req.method !== 'POST') return refuse(`method ${req.method}`);
    if (!/^application\/x-www-form-urlencoded\b/i.test(entry.contentType || '')) return refuse(`content type ${entry.contentType}`);
    const params = new URLSearchParams(body);
    const tokens = params.getAll('logout_token');
    entry.extraParams = [...params.keys()].filter((k) => k !== 'logout_token');
    if (tokens.length !== 1) return refuse(`${tokens.length} logout_token parameters`);
    entry.token = tokens[0];
    try {
      Object.assign(entry, await validate(ep, entry.token));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      return refuse(e.message);
    }
    entry.ok = true;
    const mode = ep.queue.length ? ep.queue.shift() : ep.mode;
    if (mode === 'hold') {
      // keep the connection open without an answer until the sender gives up or close()
      entry.answered = 'held';
      held.add(res);
      res.on('close', () => { held.delete(res); entry.released = Date.now(); ep.notify(); });
      ep.notify();
      return;
    }
    if (mode === 200) answer(res, entry, 200, '');
    else answer(res, entry, mode, JSON.stringify({ error: mode === 400 ? 'invalid_request' : 'temporarily_unavailable' }), { 'content-type': 'application/json' });
    ep.notify();
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      all.push({ at: Date.now(), error: `RP crashed: ${e.stack}` });
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const base = `http://${host}:${server.address().port}`;
  let next = 0;

  const rp = {
    url: base,
    all,
    /**
     * A new endpoint at {url}/backchannel/{name}. Its answers: `mode` for every valid token
     * (200 by default; 400, 503, any status, or 'hold'), after `answers(...)` queued ones.
     * An invalid token is always answered 400. Its records: `received` (every request),
     * `accepted` (valid tokens answered 2xx), `valid` (valid tokens, whatever the answer).
     */
    endpoint(name = `ep${++next}`) {
      const waiters = new Set();
      const ep = {
        name,
        url: `${base}/backchannel/${name}`,
        expected: undefined,
        mode: 200,
        queue: [],
        received: [],
        jtis: new Set(),
        get valid() { return ep.received.filter((r) => r.ok); },
        get accepted() { return ep.received.filter((r) => r.ok && r.answered >= 200 && r.answered < 300); },
        get invalid() { return ep.received.filter((r) => !r.ok); },
        /** What a valid token must say: {issuer, audience (client_id), algorithms (default ['RS256'])}. */
        expect({ issuer, audience, algorithms = ['RS256'] }) {
          ep.expected = { issuer, audience, algorithms };
          return ep;
        },
        /** The answer to every valid token from now on (after any queued answers). */
        answer(mode) { ep.mode = mode; return ep; },
        /** Answers for the next valid tokens, in order. */
        answers(...modes) { ep.queue.push(...modes); return ep; },
        notify() { for (const w of waiters) w(); },
        /** The records answered (or held): a request is in `received` as soon as it arrived,
         * and judged only once its token was checked. */
        judged() { return ep.received.filter((r) => r.answered !== undefined); },
        /**
         * Resolves the first judged record matching `pred`, waiting up to timeoutMs; rejects
         * with everything the endpoint saw when none comes.
         */
        async waitFor(pred = (r) => r.ok, { timeoutMs = 10000, what = 'a logout token' } = {}) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const hit = ep.judged().find(pred);
            if (hit) return hit;
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`${what} did not arrive at ${ep.url} within ${timeoutMs} ms; received: ${ep.describe()}`);
            await new Promise((r) => {
              const w = () => { waiters.delete(w); clearTimeout(t); r(); };
              const t = setTimeout(w, Math.min(left, 250));
              waiters.add(w);
            });
          }
        },
        /** Resolves once `count` judged records match `pred` (see waitFor). */
        async waitForCount(count, pred = (r) => r.ok, opts = {}) {
          await ep.waitFor(() => ep.judged().filter(pred).length >= count, { what: `${count} matching request(s)`, ...opts });
          return ep.judged().filter(pred);
        },
        /** One line per request, for assertion messages. */
        describe() {
          if (!ep.received.length) return '(nothing)';
          return ep.received.map((r) => `\n  #${r.n} ${new Date(r.at).toISOString()} ${r.method} ${r.ok ? 'valid' : `INVALID (${r.error})`} → ${r.answered}${r.claims ? ` sid=${r.claims.sid} sub=${r.claims.sub} jti=${r.claims.jti}` : ''}`).join('');
        },
      };
      endpoints.set(`/backchannel/${name}`, ep);
      return ep;
    },
    /** Stop listening, drop held connections. */
    async close() {
      for (const res of held) res.destroy();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(() => r()));
    },
  };
  return rp;
}

/** Wait `ms` and assert nothing new arrived at `ep` meanwhile (for "never retried"). */
export async function quietFor(ep, ms) {
  const before = ep.received.length;
  await sleep(ms);
  return ep.received.slice(before);
}
