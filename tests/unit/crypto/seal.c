/* tests for src/crypto/seal.c: private keys sealed with the key-encryption key */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "crypto/random.h"
#include "crypto/seal.h"

/* 32 bytes each; A in base64 with padding, B in base64url without, C too. */
#define KEY_A     "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="
#define KEY_A_URL "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA"
#define KEY_B     "_-_-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw"
#define KEY_C     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define AD        "careid-signing-key-v1|mock|kid-1"
#define SECRET    "{\"kty\":\"RSA\",\"d\":\"private\"}"

static int setup(void **state)
{
	(void)state;
	return crypto_init();
}

static void test_parse(void **state)
{
	struct kek a, b, none;

	(void)state;
	assert_int_equal(kek_parse(&a, KEY_A, NULL), 0);
	assert_true(a.set);
	assert_false(a.has_old);
	assert_int_equal(strlen(a.id), 16);
	/* the id names the key without being it */
	assert_null(strstr(KEY_A, a.id));
	/* the same key in base64url, and with a newline (from $(cat file)), is the same key */
	assert_int_equal(kek_parse(&b, KEY_A_URL "\n", NULL), 0);
	assert_string_equal(a.id, b.id);
	assert_memory_equal(a.key, b.key, KEK_BYTES);
	assert_int_equal(kek_parse(&b, KEY_B, KEY_A), 0);
	assert_true(b.has_old);
	assert_string_equal(b.old_id, a.id);
	assert_string_not_equal(b.id, a.id);
	/* unset or empty: no KEK */
	assert_int_equal(kek_parse(&none, NULL, NULL), 0);
	assert_false(none.set);
	assert_int_equal(kek_parse(&none, "", ""), 0);
	assert_false(none.set);
	kek_release(&a);
	kek_release(&b);
	assert_false(a.set);
}

static void test_parse_errors(void **state)
{
	struct kek k;

	(void)state;
	assert_int_equal(kek_parse(&k, "not base64!", NULL), CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, KEK_ENV));
	assert_null(strstr(careid_error_last()->message, "not base64!"));
	assert_false(k.set);
	/* 16 bytes */
	assert_int_equal(kek_parse(&k, "AAAAAAAAAAAAAAAAAAAAAA==", NULL), CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, "32 bytes, not 16"));
	/* 33 bytes */
	assert_int_equal(kek_parse(&k, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL),
	                 CAREID_EINVALID);
	/* a bad old key is reported as the old one */
	assert_int_equal(kek_parse(&k, KEY_A, "short"), CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, KEK_ENV_OLD));
	assert_false(k.set);
	/* an old key alone cannot seal anything */
	assert_int_equal(kek_parse(&k, NULL, KEY_A), CAREID_EINVALID);
	assert_false(k.has_old);
	/* very long values are refused without reading them all */
	{
		char *big = malloc(100001);

		assert_non_null(big);
		memset(big, 'A', 100000);
		big[100000] = '\0';
		assert_int_equal(kek_parse(&k, big, NULL), CAREID_EINVALID);
		free(big);
	}
}

static void test_roundtrip(void **state)
{
	struct kek k;
	char *sealed = NULL, *again = NULL, *plain = NULL;

	(void)state;
	assert_int_equal(kek_parse(&k, KEY_A, NULL), 0);
	assert_int_equal(kek_seal(&sealed, &k, AD, SECRET), 0);
	assert_int_equal(strncmp(sealed, "sealed:v1:", 10), 0);
	assert_int_equal(strncmp(sealed + 10, k.id, 16), 0);
	assert_int_equal(sealed[26], ':');
	assert_null(strstr(sealed, "private"));
	assert_int_equal(kek_state(&k, sealed), KEK_CURRENT);
	assert_int_equal(kek_open(&plain, &k, AD, sealed, "key"), 0);
	assert_string_equal(plain, SECRET);
	free(plain);
	/* a fresh nonce each time */
	assert_int_equal(kek_seal(&again, &k, AD, SECRET), 0);
	assert_string_not_equal(sealed, again);
	/* plain values (stores written before sealing) are read as they are */
	assert_int_equal(kek_state(&k, SECRET), KEK_PLAIN);
	assert_int_equal(kek_open(&plain, &k, AD, SECRET, "key"), 0);
	assert_string_equal(plain, SECRET);
	free(plain);
	/* empty plaintext */
	free(again);
	assert_int_equal(kek_seal(&again, &k, AD, ""), 0);
	assert_int_equal(kek_open(&plain, &k, AD, again, "key"), 0);
	assert_string_equal(plain, "");
	free(plain);
	free(again);
	free(sealed);
	kek_release(&k);
}

static void test_wrap(void **state)
{
	struct kek k = {0};
	char *out = NULL;

	(void)state;
	/* no KEK: stored plain, and nothing seals */
	assert_int_equal(kek_wrap(&out, &k, AD, SECRET), 0);
	assert_string_equal(out, SECRET);
	free(out);
	assert_int_equal(kek_seal(&out, &k, AD, SECRET), CAREID_EINVALID);
	assert_null(out);
	assert_int_equal(kek_parse(&k, KEY_A, NULL), 0);
	assert_int_equal(kek_wrap(&out, &k, AD, SECRET), 0);
	assert_int_equal(kek_state(&k, out), KEK_CURRENT);
	free(out);
	kek_release(&k);
}

static void test_wrong_ad(void **state)
{
	struct kek k;
	char *sealed = NULL, *plain = NULL;

	(void)state;
	assert_int_equal(kek_parse(&k, KEY_A, NULL), 0);
	assert_int_equal(kek_seal(&sealed, &k, AD, SECRET), 0);
	/* moved to another row */
	assert_int_equal(kek_open(&plain, &k, "careid-signing-key-v1|live|kid-1", sealed, "key"),
	                 CAREID_ECRYPTO);
	assert_null(plain);
	assert_non_null(strstr(careid_error_last()->message, "another row"));
	free(sealed);
	kek_release(&k);
}

static void test_wrong_key_and_none(void **state)
{
	struct kek a, b, none = {0};
	char *sealed = NULL, *plain = NULL;

	(void)state;
	assert_int_equal(kek_parse(&a, KEY_A, NULL), 0);
	assert_int_equal(kek_parse(&b, KEY_B, NULL), 0);
	assert_int_equal(kek_seal(&sealed, &a, AD, SECRET), 0);
	assert_int_equal(kek_state(&b, sealed), KEK_OTHER);
	assert_int_equal(kek_open(&plain, &b, AD, sealed, "signing key mock/kid-1"),
	                 CAREID_ELOCKED);
	assert_null(plain);
	assert_non_null(strstr(careid_error_last()->message, "sealed with another key"));
	assert_non_null(strstr(careid_error_last()->message, a.id));
	assert_int_equal(kek_state(&none, sealed), KEK_OTHER);
	assert_int_equal(kek_open(&plain, &none, AD, sealed, "signing key mock/kid-1"),
	                 CAREID_ELOCKED);
	assert_non_null(strstr(careid_error_last()->message,
	                       "signing key mock/kid-1 is sealed; set CAREID_KEY_ENCRYPTION_KEY"));
	/* a forged key id naming b over a's ciphertext fails authentication, not parsing */
	memcpy(sealed + 10, b.id, 16);
	assert_int_equal(kek_open(&plain, &b, AD, sealed, "key"), CAREID_ECRYPTO);
	free(sealed);
	kek_release(&a);
	kek_release(&b);
}

static void test_check(void **state)
{
	struct kek a, b, b_old_a, none = {0};
	char *sealed = NULL;
	const char *msg;

	(void)state;
	assert_int_equal(kek_parse(&a, KEY_A, NULL), 0);
	assert_int_equal(kek_parse(&b, KEY_B, NULL), 0);
	assert_int_equal(kek_parse(&b_old_a, KEY_B, KEY_A), 0);
	assert_int_equal(kek_seal(&sealed, &a, AD, SECRET), 0);
	/* readable: plain, the current key, the old key */
	assert_int_equal(kek_check(&none, SECRET, "key"), 0);
	assert_int_equal(kek_check(&b, SECRET, "key"), 0);
	assert_int_equal(kek_check(&a, sealed, "key"), 0);
	assert_int_equal(kek_check(&b_old_a, sealed, "key"), 0);
	/* another key: both ids named, and the way out */
	assert_int_equal(kek_check(&b, sealed, "signing key mock/kid-1"), CAREID_ELOCKED);
	msg = careid_error_last()->message;
	assert_non_null(strstr(msg, "signing key mock/kid-1 is sealed with another key"));
	assert_non_null(strstr(msg, a.id));
	assert_non_null(strstr(msg, b.id));
	assert_non_null(strstr(msg, "CAREID_KEY_ENCRYPTION_KEY_OLD"));
	assert_int_equal(kek_check(&none, sealed, "key"), CAREID_ELOCKED);
	assert_int_equal(kek_check(&b, "sealed:v1:nothex!", "key"), CAREID_EINVALID);
	assert_int_equal(kek_check(&b, "sealed:v9:0123456789abcdef:AAAA", "key"), CAREID_EINVALID);
	free(sealed);
	kek_release(&a);
	kek_release(&b);
	kek_release(&b_old_a);
}

static void test_message_fits(void **state)
{
	/* the longest: a 43-character kid in "portal", both KEKs named in full */
	static const char what[] = "signing key portal/"
	                           "0123456789012345678901234567890123456789012";
	struct kek a, c_old_b;
	char *sealed = NULL;

	(void)state;
	assert_int_equal(kek_parse(&a, KEY_A, NULL), 0);
	assert_int_equal(kek_parse(&c_old_b, KEY_C, KEY_B), 0);
	assert_int_equal(kek_seal(&sealed, &a, AD, SECRET), 0);
	assert_int_equal(kek_check(&c_old_b, sealed, what), CAREID_ELOCKED);
	assert_non_null(
	    strstr(careid_error_last()->message, "give it as CAREID_KEY_ENCRYPTION_KEY_OLD"));
	free(sealed);
	kek_release(&a);
	kek_release(&c_old_b);
}

static void test_old_key(void **state)
{
	struct kek old, rotated;
	char *sealed = NULL, *plain = NULL, *resealed = NULL;

	(void)state;
	assert_int_equal(kek_parse(&old, KEY_A, NULL), 0);
	assert_int_equal(kek_seal(&sealed, &old, AD, SECRET), 0);
	assert_int_equal(kek_parse(&rotated, KEY_C, KEY_A), 0);
	assert_int_equal(kek_state(&rotated, sealed), KEK_OLD);
	assert_int_equal(kek_open(&plain, &rotated, AD, sealed, "key"), 0);
	assert_string_equal(plain, SECRET);
	/* new writes use the current key */
	assert_int_equal(kek_seal(&resealed, &rotated, AD, plain), 0);
	assert_int_equal(kek_state(&rotated, resealed), KEK_CURRENT);
	assert_int_equal(strncmp(resealed + 10, rotated.id, 16), 0);
	/* ... which the old key alone cannot open */
	free(plain);
	assert_int_equal(kek_open(&plain, &old, AD, resealed, "key"), CAREID_ELOCKED);
	free(resealed);
	free(sealed);
	kek_release(&old);
	kek_release(&rotated);
}

static void test_tampered(void **state)
{
	struct kek k;
	char *sealed = NULL, *plain = NULL, *copy;
	size_t n, body = 27;

	(void)state;
	assert_int_equal(kek_parse(&k, KEY_A, NULL), 0);
	assert_int_equal(kek_seal(&sealed, &k, AD, SECRET), 0);
	n = strlen(sealed);
	/* each character of the nonce and of the ciphertext */
	for (size_t i = body; i < n; i++) {
		copy = strdup(sealed);
		assert_non_null(copy);
		copy[i] = copy[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(kek_open(&plain, &k, AD, copy, "key"), 0);
		assert_null(plain);
		free(copy);
	}
	/* truncated: too short for a nonce and a tag */
	copy = strndup(sealed, body + 20);
	assert_int_equal(kek_open(&plain, &k, AD, copy, "key"), CAREID_EINVALID);
	free(copy);
	/* shortened by one byte of ciphertext */
	copy = strndup(sealed, n - 4);
	assert_int_not_equal(kek_open(&plain, &k, AD, copy, "key"), 0);
	free(copy);
	free(sealed);
	kek_release(&k);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "sealed:",
	    "sealed:v1:",
	    "sealed:v1:0123456789abcdef",
	    "sealed:v1:0123456789ABCDEF:AAAA",
	    "sealed:v1:0123456789abcde:AAAA",
	    "sealed:x",
	};
	struct kek k;
	char *plain = NULL, *sealed = NULL, *copy;

	(void)state;
	assert_int_equal(kek_parse(&k, KEY_A, NULL), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(kek_open(&plain, &k, AD, bad[i], "key"), CAREID_EINVALID);
		assert_int_equal(kek_state(&k, bad[i]), KEK_OTHER);
	}
	assert_int_equal(kek_open(&plain, &k, AD, "sealed:v2:0123456789abcdef:AAAA", "key"),
	                 CAREID_EUNSUPPORTED);
	/* bad base64url in the body */
	assert_int_equal(kek_seal(&sealed, &k, AD, SECRET), 0);
	copy = strdup(sealed);
	assert_non_null(copy);
	copy[30] = '+';
	assert_int_equal(kek_open(&plain, &k, AD, copy, "key"), CAREID_EINVALID);
	copy[30] = '=';
	assert_int_equal(kek_open(&plain, &k, AD, copy, "key"), CAREID_EINVALID);
	assert_null(plain);
	free(copy);
	free(sealed);
	kek_release(&k);
}

static void test_size_cap(void **state)
{
	struct kek k;
	char *big = malloc(16 * 1024 + 2), *out = NULL;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 16 * 1024 + 1);
	big[16 * 1024 + 1] = '\0';
	assert_int_equal(kek_parse(&k, KEY_A, NULL), 0);
	assert_int_equal(kek_seal(&out, &k, AD, big), CAREID_ETOOBIG);
	big[16 * 1024] = '\0';
	assert_int_equal(kek_seal(&out, &k, AD, big), 0);
	free(out);
	free(big);
	kek_release(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),     cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_wrap),
	    cmocka_unit_test(test_wrong_ad),  cmocka_unit_test(test_wrong_key_and_none),
	    cmocka_unit_test(test_check),     cmocka_unit_test(test_message_fits),
	    cmocka_unit_test(test_old_key),   cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_malformed), cmocka_unit_test(test_size_cap),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
