/*
 * JOSE: signing keys, JWKS and JWS (cjose, OpenSSL).
 *
 * cjose does not pin algorithms, accepts "alg":"none" at import, and does not
 * check key sizes or curves: this module does all of that, so callers only
 * ever see tokens whose "alg" was one they allowed and whose signature
 * verified with a key of the right type and size (RSA >= 2048 bits, EC P-256
 * for ES256).
 */
#ifndef CAREID_CRYPTO_JOSE_H
#define CAREID_CRYPTO_JOSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A private signing key with its key id. Read-only once made; may be shared
 * between threads (take it before threads start or under the owner's lock). */
typedef struct signing_key signing_key;

/* Generates an RSA-2048 key (e = 65537); the kid is the RFC 7638 thumbprint. */
int signing_key_generate_rsa(signing_key **out);

/*
 * From/to a private JWK as JSON text (for the store). to_json: free() it; it
 * holds the private parts and "kid". from_json requires an RSA key of 2048 to
 * 8192 bits with its private parts (checked by a test signature); it keeps a
 * "kid" member (a string of 1..127 bytes) or, without one, uses the RFC 7638
 * thumbprint. EINVALID for a bad key, EUNSUPPORTED for a non-RSA one.
 */
int signing_key_from_json(signing_key **out, const char *private_jwk);
int signing_key_to_json(const signing_key *k, char **out);

const char *signing_key_kid(const signing_key *k);

/* True when this key can sign with `alg` (RS256/384/512, PS256/384/512 for RSA). */
bool signing_key_supports(const signing_key *k, const char *alg);

/* The public JWK with "kid", "use":"sig" and, when alg is not NULL, "alg". New reference. */
json_t *signing_key_public_jwk(const signing_key *k, const char *alg);

void signing_key_free(signing_key *k);

/*
 * Signs `claims` (a JSON object) as a compact JWS with header {"alg", "kid",
 * "typ"} (typ may be NULL to omit it). `*out` is free()d by the caller.
 * EUNSUPPORTED when the key cannot sign with `alg`.
 */
int jws_sign(char **out, const signing_key *k, const char *alg, const char *typ,
             const json_t *claims);

/*
 * Decodes a compact JWS without verifying it, to learn its header and claims
 * (e.g. the client id before looking up its keys). Refuses with EINVALID
 * "alg":"none" in any case, a header without a string "alg", a "crit" header
 * (no extension is understood), JSON with duplicate members, anything that is
 * not three non-empty unpadded base64url parts (header and payload JSON
 * objects), and input over JWS_MAX_LEN. Both outputs are new references
 * (either pointer may be NULL).
 */
#define JWS_MAX_LEN 16384
int jws_peek(const char *compact, json_t **header_out, json_t **claims_out);

/*
 * Verifies a compact JWS whose header "alg" is in `algs` (NULL-terminated,
 * compared exactly) against the keys of `jwks` ({"keys":[…]}): a key with the
 * header's "kid" when it has one, else each key of a fitting type in turn.
 * Algs: RS256/384/512, PS256/384/512 (RSA keys of 2048..8192 bits) and ES256
 * (EC P-256 keys). A key is skipped when its "use" is not "sig", its "alg"
 * differs from the header's, its "key_ops" lack "verify", or cjose cannot
 * import it; only the first 32 keys are considered. On success `*claims_out`
 * (may be NULL) is a new reference to the payload object.
 * CAREID_EDENIED when the alg is not allowed or no key verifies it,
 * CAREID_EINVALID when the token or the JWKS is malformed.
 */
int jws_verify_jwks(json_t **claims_out, const char *compact, const json_t *jwks,
                    const char *const *algs);

/* Same with a shared secret (NUL-terminated, not empty; its bytes are the
 * key) for HS256/HS384/HS512 (client_secret_jwt). */
int jws_verify_hmac(json_t **claims_out, const char *compact, const char *secret,
                    const char *const *algs);

/*
 * The RFC 7638 thumbprint of a public JWK (RSA, EC or oct) as base64url of
 * its SHA-256, 43 characters and a NUL (e.g. a DPoP "jkt" or a default kid).
 * EINVALID when a required member is missing, EUNSUPPORTED for another kty.
 */
int crypto_jwk_thumbprint(char out[44], const json_t *jwk);

#endif
