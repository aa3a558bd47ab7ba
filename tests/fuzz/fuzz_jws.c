/*
 * Fuzz target for compact JWS parsing and verification: jws_peek(),
 * jws_verify_jwks() against a fixed JWKS (an RSA-2048 and an EC P-256 public
 * key whose private halves signed some corpus files) and jws_verify_hmac()
 * with a fixed secret. Any input must come back with a code, never a crash or
 * a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto/jose.h"
#include "crypto/random.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HMAC_SECRET "fuzz-hmac-secret-0123456789abcdef"

static const char FUZZ_JWKS[] =
    "{\"keys\":["
    "{\"kty\":\"RSA\",\"kid\":\"fuzz-rsa\",\"use\":\"sig\",\"e\":\"AQAB\",\"n\":"
    "\"q0kyHzImGP9ko3CHRvIoAQt7VmbiFrehe_YDYXQrzjx8CshlM0Dmhm3Zof5IDHyFLYgS9p_IaSacu9ZX9g"
    "IyZLz8xpF46sVZa6cERqbkcZPk8NePSJ96zIvKOs-XI3I85cZXW79b3ZryeB3HKc_1GlUmOIKbuOtJt2Qj_"
    "9CbNnL1aock5WUS5oDoQKx4ajwGtxZjGH-kGSSatrW3BtwNS5b3p6IeRHln7LA5ehrZyYXhVOFCD2Ho7_Ez"
    "oTkMSqSjIuirRSjPjVtz4yAPgsXoGp_5LK3Jz2JOTnvNYLZ60Q3FxzBVbGJcfmd8V3hDBvomZEzIMT-LMWe9"
    "T0OSOQEvmw\"},"
    "{\"kty\":\"EC\",\"kid\":\"fuzz-ec\",\"crv\":\"P-256\","
    "\"x\":\"oMG1NNgL6MZqRzirFa4G0ky0LPzHO5fRp-QluqtuCGs\","
    "\"y\":\"itnMl6OonpajhO7yXPxmpoMGpEqeXTW3lL6Rbj8aeqk\"},"
    "{\"kty\":\"RSA\",\"kid\":\"fuzz-small\",\"e\":\"AQAB\",\"n\":\"AQAB\"},"
    "{\"kty\":\"oct\",\"kid\":\"fuzz-oct\",\"k\":\"c2VjcmV0\"}"
    "]}";

static const char *const FUZZ_ASYM_ALGS[] = {"RS256", "RS384", "RS512", "PS256",
                                             "PS384", "PS512", "ES256", NULL};
static const char *const FUZZ_HMAC_ALGS[] = {"HS256", "HS384", "HS512", NULL};

/* Made on the first call and kept for the life of the process (reachable,
 * so not a leak). */
static json_t *fuzz_jwks;

static void fuzz_init(void)
{
	if (crypto_init() != 0)
		abort();
	fuzz_jwks = json_loads(FUZZ_JWKS, 0, NULL);
	if (!fuzz_jwks)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *header = NULL, *claims = NULL;
	char *text;

	if (!fuzz_jwks)
		fuzz_init();
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (jws_peek(text, &header, &claims) == 0) {
		if (!json_is_object(header) || !json_is_object(claims))
			abort();
	}
	json_decref(header);
	json_decref(claims);
	claims = NULL;

	if (jws_verify_jwks(&claims, text, fuzz_jwks, FUZZ_ASYM_ALGS) == 0 &&
	    !json_is_object(claims))
		abort();
	json_decref(claims);
	claims = NULL;

	if (jws_verify_hmac(&claims, text, FUZZ_HMAC_SECRET, FUZZ_HMAC_ALGS) == 0 &&
	    !json_is_object(claims))
		abort();
	json_decref(claims);

	free(text);
	return 0;
}
