/*
 * Internals shared by the files of crypto/ (not part of the module's API).
 */
#ifndef CAREID_CRYPTO_INT_H
#define CAREID_CRYPTO_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Bytes needed to base64url-encode `len` bytes without padding, NUL included. */
static inline size_t crypto_b64url_encoded_size(size_t len)
{
	return (len / 3) * 4 + ((len % 3) ? (len % 3) + 1 : 0) + 1;
}

/*
 * Decodes the base64url text `s` (`slen` bytes, no padding, nothing but the
 * URL-safe alphabet) into a new buffer with a NUL after the data, so JSON text
 * can be handed to parsers that want one. `*out` is free()d by the caller.
 * EINVALID on a bad character or length, ENOMEM.
 */
int crypto_b64url_decode_alloc(uint8_t **out, size_t *len_out, const char *s, size_t slen);

/* Number of significant bits of a big-endian unsigned integer. */
size_t crypto_bignum_bits(const uint8_t *be, size_t len);

#endif
