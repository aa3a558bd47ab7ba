#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/random.h"

static int setup(void **state)
{
	(void)state;
	return crypto_init();
}

static void test_init_twice(void **state)
{
	(void)state;
	assert_int_equal(crypto_init(), 0);
}

static void test_random_bytes_differ(void **state)
{
	uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};

	(void)state;
	crypto_random_bytes(a, sizeof(a));
	crypto_random_bytes(b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
}

static void test_token(void **state)
{
	char tok[4 * 32 / 3 + 2], tok2[sizeof(tok)];
	uint8_t raw[64];
	size_t i, len = 0;

	(void)state;
	assert_int_equal(crypto_random_token(tok, sizeof(tok), 32), 0);
	assert_int_equal(strlen(tok), 43);
	for (i = 0; tok[i]; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                       "0123456789-_",
		                       tok[i]));
	assert_int_equal(crypto_b64url_decode(raw, sizeof(raw), &len, tok, strlen(tok)), 0);
	assert_int_equal(len, 32);
	assert_int_equal(crypto_random_token(tok2, sizeof(tok2), 32), 0);
	assert_string_not_equal(tok, tok2);
}

static void test_token_sizes(void **state)
{
	char big[4 * 64 / 3 + 2], small[8];

	(void)state;
	assert_int_equal(crypto_random_token(big, sizeof(big), 64), 0);
	assert_int_equal(strlen(big), 86);
	assert_int_equal(crypto_random_token(big, sizeof(big), 65), CAREID_EINVALID);
	assert_int_equal(crypto_random_token(big, sizeof(big), 0), CAREID_EINVALID);
	assert_int_equal(crypto_random_token(small, sizeof(small), 16), CAREID_ETOOBIG);
	/* The documented bound is enough for every size. */
	for (size_t n = 1; n <= 64; n++)
		assert_int_equal(crypto_random_token(big, 4 * n / 3 + 2, n), 0);
}

static void test_digits(void **state)
{
	char d[9];
	int seen_first[10] = {0};

	(void)state;
	for (int round = 0; round < 200; round++) {
		crypto_random_digits(d, 8);
		assert_int_equal(strlen(d), 8);
		assert_true(d[0] >= '1' && d[0] <= '9');
		for (int i = 0; i < 8; i++)
			assert_true(d[i] >= '0' && d[i] <= '9');
		seen_first[d[0] - '0']++;
	}
	assert_int_equal(seen_first[0], 0);
	crypto_random_digits(d, 0);
	assert_string_equal(d, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_twice), cmocka_unit_test(test_random_bytes_differ),
	    cmocka_unit_test(test_token),      cmocka_unit_test(test_token_sizes),
	    cmocka_unit_test(test_digits),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
