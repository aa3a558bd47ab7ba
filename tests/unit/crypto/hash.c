#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

static void test_sha256_abc(void **state)
{
	uint8_t md[32];
	char hex[65];

	(void)state;
	crypto_sha256(md, "abc", 3);
	crypto_hex(hex, md, sizeof(md));
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	crypto_sha256(md, "", 0);
	crypto_hex(hex, md, sizeof(md));
	assert_string_equal(hex,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_hex(void **state)
{
	char hex[7];

	(void)state;
	crypto_hex(hex, "\x00\xab\xff", 3);
	assert_string_equal(hex, "00abff");
}

/* OpenID Connect Core 1.0, appendix A.3 (at_hash) and A.4 (c_hash), RS256. */
static void test_left_hash_oidc_examples(void **state)
{
	char out[64];
	const char *at = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
	const char *code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk";

	(void)state;
	assert_int_equal(crypto_left_hash(out, sizeof(out), "RS256", at, strlen(at)), 0);
	assert_string_equal(out, "77QmUPtjPfzWtF2AnpK9RQ");
	assert_int_equal(crypto_left_hash(out, sizeof(out), "RS256", code, strlen(code)), 0);
	assert_string_equal(out, "LDktKdoQak3Pk0cnXxCltA");
}

static void test_left_hash_lengths(void **state)
{
	char out[64], small[8];

	(void)state;
	/* 16, 24 and 32 bytes of digest → 22, 32 and 43 characters. */
	assert_int_equal(crypto_left_hash(out, sizeof(out), "ES256", "x", 1), 0);
	assert_int_equal(strlen(out), 22);
	assert_int_equal(crypto_left_hash(out, sizeof(out), "PS384", "x", 1), 0);
	assert_int_equal(strlen(out), 32);
	assert_int_equal(crypto_left_hash(out, sizeof(out), "HS512", "x", 1), 0);
	assert_int_equal(strlen(out), 43);
	assert_int_equal(crypto_left_hash(out, sizeof(out), "EdDSA", "x", 1), CAREID_EUNSUPPORTED);
	assert_int_equal(crypto_left_hash(out, sizeof(out), "rs256", "x", 1), CAREID_EUNSUPPORTED);
	assert_int_equal(crypto_left_hash(out, sizeof(out), "none", "x", 1), CAREID_EUNSUPPORTED);
	assert_int_equal(crypto_left_hash(small, sizeof(small), "RS256", "x", 1), CAREID_ETOOBIG);
}

/* RFC 7636, appendix B. */
static void test_pkce_rfc7636(void **state)
{
	char out[44];

	(void)state;
	crypto_pkce_s256(out, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
	assert_string_equal(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

static void test_b64url_vectors(void **state)
{
	/* RFC 4648 section 10, in the URL-safe alphabet without padding. */
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	char out[16];
	uint8_t dec[16];
	size_t len;

	(void)state;
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(crypto_b64url_encode(out, sizeof(out), plain[i], strlen(plain[i])),
		                 0);
		assert_string_equal(out, enc[i]);
		assert_int_equal(
		    crypto_b64url_decode(dec, sizeof(dec), &len, enc[i], strlen(enc[i])), 0);
		assert_int_equal(len, strlen(plain[i]));
		assert_memory_equal(dec, plain[i], len);
	}
	/* URL-safe alphabet: 0xfb 0xff → "-_8". */
	assert_int_equal(crypto_b64url_encode(out, sizeof(out), "\xfb\xff", 2), 0);
	assert_string_equal(out, "-_8");
}

static void test_b64url_padding_tolerated(void **state)
{
	uint8_t dec[16];
	size_t len;

	(void)state;
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zg==", 4), 0);
	assert_int_equal(len, 1);
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zm8=", 4), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(dec, "fo", 2);
	/* Wrong amount of padding. */
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zg=", 3), CAREID_EINVALID);
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zm8==", 5), CAREID_EINVALID);
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zm9v=", 5), CAREID_EINVALID);
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "====", 4), CAREID_EINVALID);
}

static void test_b64url_bad_input(void **state)
{
	uint8_t dec[16];
	size_t len = 99;

	(void)state;
	/* Standard-alphabet characters, spaces, dots, NUL. */
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zm+v", 4), CAREID_EINVALID);
	assert_int_equal(len, 0);
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zm/v", 4), CAREID_EINVALID);
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zm 9v", 5), CAREID_EINVALID);
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zm.v", 4), CAREID_EINVALID);
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zm\0v", 4), CAREID_EINVALID);
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zm9v\n", 5),
	                 CAREID_EINVALID);
	/* A length of 1 mod 4 cannot be base64. */
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zm9vY", 5), CAREID_EINVALID);
	/* Non-zero trailing bits: "Zh" would also decode to "f" if tolerated. */
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zh", 2), CAREID_EINVALID);
	/* Too small an output. */
	assert_int_equal(crypto_b64url_decode(dec, 2, &len, "Zm9v", 4), CAREID_ETOOBIG);
	/* Only `slen` bytes are read. */
	assert_int_equal(crypto_b64url_decode(dec, sizeof(dec), &len, "Zm9v!!!", 4), 0);
	assert_int_equal(len, 3);
}

static void test_b64url_encode_bounds(void **state)
{
	char out[8];
	uint8_t data[32] = {0};

	(void)state;
	assert_int_equal(crypto_b64url_encode(out, 3, data, 2), CAREID_ETOOBIG);
	assert_int_equal(crypto_b64url_encode(out, 4, data, 2), 0);
	assert_int_equal(crypto_b64url_encode(out, 0, data, 0), CAREID_ETOOBIG);
	assert_int_equal(crypto_b64url_encode(out, 1, data, 0), 0);
	assert_string_equal(out, "");
}

static void test_b64url_round_trip_random(void **state)
{
	uint8_t data[100], dec[100];
	char enc[4 * 100 / 3 + 2];
	size_t len;

	(void)state;
	for (size_t n = 0; n <= sizeof(data); n++) {
		crypto_random_bytes(data, n);
		assert_int_equal(crypto_b64url_encode(enc, 4 * n / 3 + 2, data, n), 0);
		assert_null(strchr(enc, '='));
		assert_int_equal(crypto_b64url_decode(dec, n, &len, enc, strlen(enc)), 0);
		assert_int_equal(len, n);
		assert_memory_equal(dec, data, n);
	}
}

static void test_keyed_hash(void **state)
{
	uint8_t k1[CRYPTO_KEY_BYTES], k2[CRYPTO_KEY_BYTES];
	char a[CRYPTO_HASH_HEX], b[CRYPTO_HASH_HEX], c[CRYPTO_HASH_HEX], d[CRYPTO_HASH_HEX];

	(void)state;
	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	crypto_keyed_hash(a, k1, "secret");
	crypto_keyed_hash(b, k1, "secret");
	crypto_keyed_hash(c, k2, "secret");
	crypto_keyed_hash(d, k1, "secreT");
	assert_int_equal(strlen(a), 64);
	for (size_t i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
}

static void test_equal(void **state)
{
	(void)state;
	assert_true(crypto_equal("abc", "abc", 3));
	assert_false(crypto_equal("abc", "abd", 3));
	assert_true(crypto_equal("a", "b", 0));
	assert_true(crypto_streq("token", "token"));
	assert_false(crypto_streq("token", "tokeN"));
	assert_false(crypto_streq("token", "token2"));
	assert_false(crypto_streq("", "x"));
	assert_true(crypto_streq("", ""));
	assert_false(crypto_streq(NULL, "x"));
	assert_false(crypto_streq(NULL, NULL));
}

static void test_seal_open(void **state)
{
	uint8_t key[CRYPTO_KEY_BYTES], other[CRYPTO_KEY_BYTES];
	char *s1 = NULL, *s2 = NULL, *p = NULL;

	(void)state;
	crypto_random_bytes(key, sizeof(key));
	crypto_random_bytes(other, sizeof(other));
	assert_int_equal(crypto_seal(&s1, key, "client secret"), 0);
	assert_int_equal(crypto_seal(&s2, key, "client secret"), 0);
	/* A random nonce: the same secret seals differently each time. */
	assert_string_not_equal(s1, s2);
	assert_null(strchr(s1, '='));
	assert_int_equal(crypto_open(&p, key, s1), 0);
	assert_string_equal(p, "client secret");
	free(p);
	p = NULL;
	assert_int_equal(crypto_open(&p, other, s1), CAREID_ECRYPTO);
	assert_null(p);
	free(s1);
	free(s2);

	assert_int_equal(crypto_seal(&s1, key, ""), 0);
	assert_int_equal(crypto_open(&p, key, s1), 0);
	assert_string_equal(p, "");
	free(p);
	free(s1);
}

static void test_seal_tamper(void **state)
{
	uint8_t key[CRYPTO_KEY_BYTES];
	char *s = NULL, *p = NULL;
	size_t len;

	(void)state;
	crypto_random_bytes(key, sizeof(key));
	assert_int_equal(crypto_seal(&s, key, "client secret"), 0);
	len = strlen(s);
	/* Flip one character in the nonce, the MAC and the ciphertext in turn. */
	size_t positions[] = {0, 40, len - 2};
	for (size_t i = 0; i < 3; i++) {
		char saved = s[positions[i]];

		s[positions[i]] = saved == 'A' ? 'B' : 'A';
		assert_int_equal(crypto_open(&p, key, s), CAREID_ECRYPTO);
		assert_null(p);
		s[positions[i]] = saved;
	}
	/* Truncated, garbage and empty text. */
	s[len - 5] = '\0';
	assert_int_not_equal(crypto_open(&p, key, s), 0);
	assert_int_equal(crypto_open(&p, key, "not base64!"), CAREID_EINVALID);
	assert_int_equal(crypto_open(&p, key, "AAAA"), CAREID_EINVALID);
	assert_int_equal(crypto_open(&p, key, ""), CAREID_EINVALID);
	assert_null(p);
	free(s);
}

static void test_seal_too_big(void **state)
{
	uint8_t key[CRYPTO_KEY_BYTES] = {0};
	char *big = malloc(5000), *s = NULL;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	assert_int_equal(crypto_seal(&s, key, big), CAREID_ETOOBIG);
	assert_null(s);
	big[4096] = '\0';
	assert_int_equal(crypto_seal(&s, key, big), 0);
	free(s);
	free(big);
}

/* SipHash-2-4's reference vectors (key 00..0f; messages 00, 00 01 .. ),
 * read as the little-endian 64-bit words the paper's appendix gives. */
static void test_short_hash_vectors(void **state)
{
	uint8_t key[CRYPTO_SHORT_HASH_KEY], msg[15];

	(void)state;
	for (int i = 0; i < CRYPTO_SHORT_HASH_KEY; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	assert_true(crypto_short_hash(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
	assert_true(crypto_short_hash(key, msg, 1) == 0x74f839c593dc67fdULL);
	assert_true(crypto_short_hash(key, msg, 15) == 0xa129ca6149be45e5ULL);
	key[0] ^= 1; /* another key, another hash */
	assert_true(crypto_short_hash(key, msg, 0) != 0x726fdb47dd0e0e31ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_short_hash_vectors),
	    cmocka_unit_test(test_sha256_abc),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_left_hash_oidc_examples),
	    cmocka_unit_test(test_left_hash_lengths),
	    cmocka_unit_test(test_pkce_rfc7636),
	    cmocka_unit_test(test_b64url_vectors),
	    cmocka_unit_test(test_b64url_padding_tolerated),
	    cmocka_unit_test(test_b64url_bad_input),
	    cmocka_unit_test(test_b64url_encode_bounds),
	    cmocka_unit_test(test_b64url_round_trip_random),
	    cmocka_unit_test(test_keyed_hash),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_seal_open),
	    cmocka_unit_test(test_seal_tamper),
	    cmocka_unit_test(test_seal_too_big),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
