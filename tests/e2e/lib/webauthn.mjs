// A software WebAuthn authenticator and client for HTTP-level tests, written from the
// WebAuthn Level 2 specification (§5.8.1 clientDataJSON, §6.1 authenticator data, §6.5
// attestation objects, §8.2 packed and §8.7 none attestation), RFC 8949 (CBOR) and RFC 9053
// (COSE keys) — independently of careid's C code, so the tests check careid against another
// reading of the spec.
//
//   const a = new SoftAuthenticator({ backupEligible: true });
//   const cred = a.create(creationOptions, { origin });   // PublicKeyCredential JSON
//   const assertion = a.get(requestOptions, { origin });
//
// Both return the object careid's page scripts post (web/static/signin.js credentialJson():
// {id, rawId, type, response: {...}} with every binary member base64url without padding).
// Every part can be overridden to build a bad response: origin, rpId, challenge, type, flags,
// counter, signature, attestation object bytes.

import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto';

// --- CBOR (RFC 8949), the subset CTAP2 uses: definite lengths, shortest heads ---------------

/** Bytes to put into an encoding as they are (for malformed inputs). */
export class RawCbor {
  constructor(bytes) { this.bytes = Buffer.from(bytes); }
}

function head(major, n) {
  if (typeof n === 'bigint' ? n < 0n : n < 0) throw new Error('CBOR head: negative argument');
  const big = BigInt(n);
  const m = major << 5;
  if (big < 24n) return Buffer.from([m | Number(big)]);
  if (big < 0x100n) return Buffer.from([m | 24, Number(big)]);
  if (big < 0x10000n) { const b = Buffer.alloc(3); b[0] = m | 25; b.writeUInt16BE(Number(big), 1); return b; }
  if (big < 0x100000000n) { const b = Buffer.alloc(5); b[0] = m | 26; b.writeUInt32BE(Number(big), 1); return b; }
  if (big < 0x10000000000000000n) { const b = Buffer.alloc(9); b[0] = m | 27; b.writeBigUInt64BE(big, 1); return b; }
  throw new Error('CBOR head: argument over 64 bits');
}

/**
 * Encode a value: integers (number or bigint, negative too), Buffer/Uint8Array (byte string),
 * string (text string), Array, Map (keys in insertion order) or plain object (text keys),
 * true/false/null, RawCbor (copied as is).
 */
export function cborEncode(v) {
  if (v instanceof RawCbor) return v.bytes;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error(`CBOR: only integers are supported, not ${v}`);
    return v >= 0 ? head(0, v) : head(1, -1 - v);
  }
  if (typeof v === 'bigint') return v >= 0n ? head(0, v) : head(1, -1n - v);
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), Buffer.from(v)]);
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([head(3, b.length), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cborEncode)]);
  if (v instanceof Map) {
    const parts = [head(5, v.size)];
    for (const [k, val] of v) parts.push(cborEncode(k), cborEncode(val));
    return Buffer.concat(parts);
  }
  if (v === false) return Buffer.from([0xf4]);
  if (v === true) return Buffer.from([0xf5]);
  if (v === null) return Buffer.from([0xf6]);
  if (typeof v === 'object') return cborEncode(new Map(Object.entries(v)));
  throw new Error(`CBOR: cannot encode ${typeof v}`);
}

// --- keys (COSE, RFC 9053) -------------------------------------------------------------------

export const ES256 = -7;
export const RS256 = -257;

const b64u = (b) => Buffer.from(b).toString('base64url');
const unb64u = (s) => Buffer.from(s, 'base64url');
const sha256 = (...parts) => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest(); };

/** A credential key pair: {alg, privateKey, publicKey, cose (COSE_Key bytes)}. */
export function newKey(alg = ES256) {
  if (alg === ES256) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    // kty 2 (EC2), alg, crv 1 (P-256), x, y
    const cose = cborEncode(new Map([[1, 2], [3, ES256], [-1, 1], [-2, unb64u(jwk.x)], [-3, unb64u(jwk.y)]]));
    return { alg, privateKey, publicKey, cose };
  }
  if (alg === RS256) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    // kty 3 (RSA), alg, n, e
    const cose = cborEncode(new Map([[1, 3], [3, RS256], [-1, unb64u(jwk.n)], [-2, unb64u(jwk.e)]]));
    return { alg, privateKey, publicKey, cose };
  }
  throw new Error(`unsupported COSE alg ${alg}`);
}

/** A WebAuthn signature: ES256 as an ASN.1 DER ECDSA signature (§6.5.5), RS256 PKCS#1 v1.5. */
export function signWith(key, data) {
  if (key.alg === ES256) return cryptoSign('sha256', data, { key: key.privateKey, dsaEncoding: 'der' });
  return cryptoSign('sha256', data, key.privateKey);
}

// --- authenticator data, client data, attestation --------------------------------------------

export const FLAGS = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40, ED: 0x80 };

/**
 * Authenticator data (§6.1): SHA-256(rpId) ‖ flags ‖ signCount (32-bit big-endian)
 * [‖ aaguid ‖ credentialIdLength (16-bit) ‖ credentialId ‖ COSE key] [‖ extensions].
 */
export function authenticatorData({ rpId, flags, counter = 0, attested, extensions }) {
  const parts = [sha256(rpId), Buffer.from([flags])];
  const c = Buffer.alloc(4);
  c.writeUInt32BE(counter >>> 0);
  parts.push(c);
  if (attested) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(attested.credentialId.length);
    parts.push(Buffer.from(attested.aaguid), len, Buffer.from(attested.credentialId), attested.cose);
  }
  if (extensions) parts.push(cborEncode(extensions));
  return Buffer.concat(parts);
}

/** clientDataJSON (§5.8.1) as the browser serialises it. */
export function clientDataJSON({ type, challenge, origin, crossOrigin = false }) {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin }), 'utf8');
}

/** An attestation object (§6.5): CBOR map {fmt, attStmt, authData}. */
export function attestationObject({ fmt, attStmt = {}, authData }) {
  return cborEncode(new Map([['fmt', fmt], ['attStmt', attStmt instanceof Map ? attStmt : new Map(Object.entries(attStmt))], ['authData', authData]]));
}

// --- the authenticator ------------------------------------------------------------------------

/**
 * A software authenticator holding discoverable credentials. Options:
 *   alg             ES256 (default) or RS256 for new credentials
 *   fmt             'none' (default) or 'packed' (self attestation, §8.2)
 *   backupEligible  BE flag: a synced passkey; backupState: BS flag
 *   uv              set UV (default true: a PIN or biometric was checked)
 *   counterStep     how much the signature counter moves per use (default 1; 0 keeps it at 0)
 *   aaguid          16 bytes (default zero for 'none', random for 'packed')
 */
export class SoftAuthenticator {
  constructor({ alg = ES256, fmt = 'none', backupEligible = false, backupState = false, uv = true, counterStep = 1, aaguid } = {}) {
    Object.assign(this, { alg, fmt, backupEligible, backupState, uv, counterStep });
    this.aaguid = aaguid ? Buffer.from(aaguid) : (fmt === 'none' ? Buffer.alloc(16) : randomBytes(16));
    this.credentials = new Map(); // base64url id → {id, key, counter, rpId, userHandle}
  }

  /**
   * Holds a credential made elsewhere: the demo data's security key file (careid serve --demo
   * writes it in the DevTools protocol's WebAuthn.Credential shape: credentialId, userHandle
   * and a PKCS#8 privateKey, all standard base64).
   */
  importCredential({ credentialId, rpId, userHandle, privateKey, signCount = 0 }) {
    const key = { alg: ES256, privateKey: createPrivateKey({ key: Buffer.from(privateKey, 'base64'), format: 'der', type: 'pkcs8' }) };
    const id = b64u(Buffer.from(credentialId, 'base64'));
    this.credentials.set(id, { id, key, counter: signCount, rpId, userHandle: b64u(Buffer.from(userHandle, 'base64')) });
    return id;
  }

  flags(extra = 0) {
    let f = FLAGS.UP | extra;
    if (this.uv) f |= FLAGS.UV;
    if (this.backupEligible) f |= FLAGS.BE;
    if (this.backupState) f |= FLAGS.BS;
    return f;
  }

  /**
   * navigator.credentials.create() for the creation options careid puts in data-options
   * (challenge and user.id base64url). o: {origin (required), rpId, challenge, type, flags,
   * counter, fmt, attestationObject (raw bytes to send instead), transports}.
   * Returns the PublicKeyCredential JSON object; the new credential is kept for get().
   */
  create(options, o = {}) {
    if (!o.origin) throw new Error('create: origin is required');
    const rpId = o.rpId ?? options.rp?.id;
    const key = newKey(o.alg ?? this.alg);
    const id = randomBytes(o.idLength ?? 32);
    const counter = o.counter ?? 0;
    const cdj = clientDataJSON({ type: o.type ?? 'webauthn.create', challenge: o.challenge ?? options.challenge, origin: o.origin });
    const authData = authenticatorData({ rpId, flags: o.flags ?? this.flags(FLAGS.AT), counter, attested: { aaguid: this.aaguid, credentialId: id, cose: key.cose } });
    const fmt = o.fmt ?? this.fmt;
    let attStmt = new Map();
    if (fmt === 'packed') {
      // self attestation: the credential key signs authData ‖ SHA-256(clientDataJSON)
      attStmt = new Map([['alg', key.alg], ['sig', signWith(key, Buffer.concat([authData, sha256(cdj)]))]]);
    }
    const ao = o.attestationObject ?? attestationObject({ fmt, attStmt, authData });
    const cred = { id: b64u(id), key, counter, rpId, userHandle: options.user?.id };
    if (!o.attestationObject) this.credentials.set(cred.id, cred);
    const response = { clientDataJSON: b64u(cdj), attestationObject: b64u(ao), transports: o.transports ?? ['usb'] };
    return { id: b64u(id), rawId: b64u(id), type: 'public-key', response, credential: cred };
  }

  /**
   * navigator.credentials.get() for careid's request options (challenge base64url). Uses the
   * credential `o.credentialId` (base64url), else the first in allowCredentials it holds, else
   * the first it holds for the rpId (a discoverable credential). o: {origin (required), rpId,
   * challenge, type, flags, counter (absolute value to send; default: the next one),
   * tamper (flip a signature byte), key (sign with another key)}.
   */
  get(options, o = {}) {
    if (!o.origin) throw new Error('get: origin is required');
    const rpId = o.rpId ?? options.rpId;
    let cred = o.credentialId ? this.credentials.get(o.credentialId) : undefined;
    if (!cred) cred = (options.allowCredentials || []).map((c) => this.credentials.get(c.id)).find(Boolean);
    if (!cred) cred = [...this.credentials.values()].find((c) => c.rpId === options.rpId);
    if (!cred) throw new Error('get: no credential for this relying party');
    let counter = o.counter;
    if (counter === undefined) {
      cred.counter += this.counterStep;
      counter = cred.counter;
    }
    const cdj = clientDataJSON({ type: o.type ?? 'webauthn.get', challenge: o.challenge ?? options.challenge, origin: o.origin });
    const authData = authenticatorData({ rpId, flags: o.flags ?? this.flags(), counter });
    const sig = signWith(o.key ?? cred.key, Buffer.concat([authData, sha256(cdj)]));
    if (o.tamper) sig[sig.length - 1] ^= 0x01;
    const response = { clientDataJSON: b64u(cdj), authenticatorData: b64u(authData), signature: b64u(sig) };
    if (cred.userHandle) response.userHandle = cred.userHandle;
    return { id: cred.id, rawId: cred.id, type: 'public-key', response };
  }
}

// --- careid's pages ----------------------------------------------------------------------------

/** The navigator.credentials options of a form's data-options attribute (a parsed form). */
export function formOptions(form) {
  const text = form?.attrs?.['data-options'];
  if (!text) throw new Error(`the form has no data-options: ${form?.html?.slice(0, 300)}`);
  return JSON.parse(text);
}

/** The JSON text the page scripts post in the hidden `credential` field. */
export function credentialField(cred) {
  const { id, rawId, type, response } = cred;
  return JSON.stringify({ id, rawId, type, response });
}
