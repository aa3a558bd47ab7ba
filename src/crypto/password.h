/*
 * Password hashing: argon2id (libsodium) with t=2 and 19 MiB (OWASP), about
 * 40 ms per hash. Each hash holds 19 MiB while it runs, so at most
 * PASSWORD_MAX_CONCURRENT run at once; further callers wait.
 */
#ifndef CAREID_CRYPTO_PASSWORD_H
#define CAREID_CRYPTO_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_HASH_MAX       128 /* crypto_pwhash_STRBYTES */
#define PASSWORD_MAX_CONCURRENT 4
#define PASSWORD_MAX_LEN        1024

/* Hashes `password` (1..PASSWORD_MAX_LEN bytes) into out (a PHC string). */
int password_hash(char out[PASSWORD_HASH_MAX], const char *password);

/* 0 when `password` matches `stored`, CAREID_EDENIED when it does not,
 * CAREID_EINVALID when `stored` is not a hash this module understands. */
int password_verify(const char *stored, const char *password);

/*
 * Spends the time of one verification without a stored hash, so that a
 * sign-in for an unknown user takes as long as one for a known user.
 */
void password_verify_dummy(const char *password);

#endif
