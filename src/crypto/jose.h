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
#include <stddef.h>

/* A private signing key with its key id. Read-only once made; may be shared
 * between threads (take it before threads start or under the owner's lock). */
typedef struct signing_key signing_key;

/* Generates an RSA-2048 key; the kid is the RFC 7638 thumbprint. */
int signing_key_generate_rsa(signing_key **out);

/* From/to a private JWK as JSON text (for the store). to_json: free() it. */
int signing_key_from_json(signing_key **out, const char *private_jwk);
int signing_key_to_json(const signing_key *k, char **out);

const char *signing_key_kid(const signing_key *k);

/* True when this key can sign with `alg` (RS256/384/512, PS256/384/512 for RSA). */
bool signing_key_supports(const signing_key *k, const char *alg);

/* The public JWK with "kid", "use":"sig" and, when alg is not NULL, "alg". New reference. */
json_t *signing_key_public_jwk(const signing_key *k, const char *alg);

void signing_key_free(signing_key *k);

/*
 * Signs `claims` as a compact JWS with header {"alg", "kid", "typ"} (typ may be
 * NULL to omit it). `*out` is free()d by the caller.
 */
int jws_sign(char **out, const signing_key *k, const char *alg, const char *typ,
	     const json_t *claims);

/*
 * Decodes a compact JWS without verifying it, to learn its header and claims
 * (e.g. the client id before looking up its keys). Refuses "alg":"none",
 * anything that is not three base64url parts of JSON objects, and input over
 * JWS_MAX_LEN. Both outputs are new references (either pointer may be NULL).
 */
#define JWS_MAX_LEN 16384
int jws_peek(const char *compact, json_t **header_out, json_t **claims_out);

/*
 * Verifies a compact JWS whose header "alg" is in `algs` (NULL-terminated)
 * against the keys of `jwks` ({"keys":[…]}): a key with the header's "kid"
 * when it has one, else each key of a fitting type in turn. On success
 * `*claims_out` (may be NULL) is a new reference to the payload object.
 * CAREID_EDENIED when no key verifies it, CAREID_EINVALID when malformed.
 */
int jws_verify_jwks(json_t **claims_out, const char *compact, const json_t *jwks,
		    const char *const *algs);

/* Same with a shared secret for HS256/HS384/HS512 (client_secret_jwt). */
int jws_verify_hmac(json_t **claims_out, const char *compact, const char *secret,
		    const char *const *algs);

#endif
