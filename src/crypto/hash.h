/*
 * Digests, encodings and keyed hashes (OpenSSL and libsodium).
 */
#ifndef CAREID_CRYPTO_HASH_H
#define CAREID_CRYPTO_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_BYTES 32
#define CRYPTO_HASH_HEX  65 /* 64 hex digits and a NUL */

/* base64url without padding. `outsz` must be >= 4*len/3 + 2 (else ETOOBIG). */
int crypto_b64url_encode(char *out, size_t outsz, const void *data, size_t len);
/* Decodes base64url (padding tolerated); `*len_out` gets the length. EINVALID
 * on a bad character, ETOOBIG when `outsz` is too small. */
int crypto_b64url_decode(void *out, size_t outsz, size_t *len_out, const char *s, size_t slen);

/* SHA-256 of data into out[32]. */
void crypto_sha256(uint8_t out[32], const void *data, size_t len);

/*
 * The OIDC "left half" hash (at_hash, c_hash) and PKCE S256 helper:
 * hashes `data` with the digest of the JWS algorithm `alg` (RS256/PS256/ES256/
 * HS256 → SHA-256, *384 → SHA-384, *512 → SHA-512), takes the left half and
 * writes it base64url-encoded into `out`. EUNSUPPORTED for another alg.
 */
int crypto_left_hash(char *out, size_t outsz, const char *alg, const void *data, size_t len);

/* PKCE S256: base64url(SHA-256(verifier)) into out (>= 44 bytes). */
void crypto_pkce_s256(char out[44], const char *verifier);

/*
 * Keyed hash for storing high-entropy secrets (client secrets, tokens, codes,
 * session ids): BLAKE2b-256 keyed with `key`, as 64 lowercase hex digits.
 * Fast by design: the inputs are random, so a slow hash buys nothing.
 */
void crypto_keyed_hash(char out[CRYPTO_HASH_HEX], const uint8_t key[CRYPTO_KEY_BYTES],
                       const char *secret);

/*
 * SipHash-2-4 (libsodium's crypto_shorthash) of `len` bytes under a random
 * 16-byte key: the bucket hash of an in-memory table whose keys outsiders
 * influence, so they cannot pick keys that collide.
 */
#define CRYPTO_SHORT_HASH_KEY 16
uint64_t crypto_short_hash(const uint8_t key[CRYPTO_SHORT_HASH_KEY], const void *data, size_t len);

/* Constant-time comparison of two equally long buffers. */
bool crypto_equal(const void *a, const void *b, size_t len);
/* Constant-time comparison of two NUL-terminated strings (length may leak). */
bool crypto_streq(const char *a, const char *b);

/*
 * Authenticated encryption (XSalsa20-Poly1305, libsodium secretbox) of a
 * short secret that must be recoverable (client_secret_jwt keys). The result
 * is base64url text of a random 24-byte nonce followed by the box; free() it.
 * seal: ETOOBIG over 4096 bytes of plaintext. open: EINVALID when `sealed` is
 * not such text, ECRYPTO when it fails authentication (wrong key or altered).
 */
int crypto_seal(char **out, const uint8_t key[CRYPTO_KEY_BYTES], const char *plaintext);
int crypto_open(char **out, const uint8_t key[CRYPTO_KEY_BYTES], const char *sealed);

/* Lowercase hex of data. `out` needs 2*len+1 bytes. */
void crypto_hex(char *out, const void *data, size_t len);

#endif
