/* Randomness from the operating system's CSPRNG (libsodium). */
#ifndef CAREID_CRYPTO_RANDOM_H
#define CAREID_CRYPTO_RANDOM_H

#include <stddef.h>

/* Must be called once at start, before threads (sodium_init()). */
int crypto_init(void);

void crypto_random_bytes(void *out, size_t len);

/*
 * Writes a random token of `nbytes` bytes (at most 64), base64url without
 * padding, NUL-terminated, into `out` (which needs 4*nbytes/3 + 2 bytes).
 * Returns CAREID_ETOOBIG when `outsz` is too small, CAREID_EINVALID when
 * `nbytes` is 0 or over 64.
 */
int crypto_random_token(char *out, size_t outsz, size_t nbytes);

/* Writes `ndigits` random decimal digits (the first is never 0) and a NUL. */
void crypto_random_digits(char *out, size_t ndigits);

#endif
