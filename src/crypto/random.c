#include "crypto/random.h"

#include <openssl/crypto.h>
#include <sodium.h>

#include "core/error.h"
#include "crypto/hash.h"

#define RANDOM_TOKEN_MAX 64

int crypto_init(void)
{
	/* sodium_init() returns 1 when already done: calling it twice is fine. */
	if (sodium_init() < 0)
		return careid_error_set(CAREID_ECRYPTO, "libsodium failed to initialise");
	/* OpenSSL 3 initialises itself, but doing it here, before threads, keeps
	 * the first request from racing through lazy set-up. cjose needs nothing. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_ADD_ALL_DIGESTS,
	                        NULL) != 1)
		return careid_error_set(CAREID_ECRYPTO, "OpenSSL failed to initialise");
	return 0;
}

void crypto_random_bytes(void *out, size_t len)
{
	randombytes_buf(out, len);
}

int crypto_random_token(char *out, size_t outsz, size_t nbytes)
{
	uint8_t raw[RANDOM_TOKEN_MAX];
	int rc;

	if (nbytes == 0 || nbytes > RANDOM_TOKEN_MAX)
		return careid_error_set(CAREID_EINVALID, "random token of %zu bytes", nbytes);
	randombytes_buf(raw, nbytes);
	rc = crypto_b64url_encode(out, outsz, raw, nbytes);
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

void crypto_random_digits(char *out, size_t ndigits)
{
	size_t i;

	for (i = 0; i < ndigits; i++) {
		if (i == 0)
			out[i] = (char)('1' + randombytes_uniform(9));
		else
			out[i] = (char)('0' + randombytes_uniform(10));
	}
	out[ndigits] = '\0';
}
