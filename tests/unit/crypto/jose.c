#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjose/cjose.h>

#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/jose.h"
#include "crypto/random.h"

/* Keys made once for the whole group (RSA generation is slow under ASan). */
struct fixture {
	signing_key *key;   /* RSA-2048, careid's own */
	signing_key *other; /* another RSA-2048 */
	json_t *jwks;       /* {"keys":[public of key]} */
	cjose_jwk_t *ec256;
	cjose_jwk_t *ec384;
	cjose_jwk_t *rsa1024;
};

static struct fixture fx;

static const char *const ALL_ASYM[] = {"RS256", "RS384", "RS512", "PS256",
                                       "PS384", "PS512", "ES256", NULL};
static const char *const RS256_ONLY[] = {"RS256", NULL};
static const char *const ALL_HS[] = {"HS256", "HS384", "HS512", NULL};

static json_t *jwks_of(json_t *jwk)
{
	return json_pack("{s:[o]}", "keys", jwk);
}

static json_t *cjose_public(const cjose_jwk_t *jwk, const char *kid)
{
	cjose_err err;
	char *text = cjose_jwk_to_json(jwk, false, &err);
	json_t *j;

	assert_non_null(text);
	j = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(j);
	if (kid)
		json_object_set_new(j, "kid", json_string(kid));
	return j;
}

/* Signs `payload` with cjose directly, under header {"alg", "kid"?}. */
static char *cjose_sign(const cjose_jwk_t *jwk, const char *alg, const char *kid,
                        const char *payload)
{
	cjose_err err;
	cjose_header_t *hdr = cjose_header_new(&err);
	cjose_jws_t *jws;
	const char *compact = NULL;
	char *out;

	assert_non_null(hdr);
	assert_true(cjose_header_set(hdr, CJOSE_HDR_ALG, alg, &err));
	if (kid)
		assert_true(cjose_header_set(hdr, CJOSE_HDR_KID, kid, &err));
	jws = cjose_jws_sign(jwk, hdr, (const uint8_t *)payload, strlen(payload), &err);
	assert_non_null(jws);
	assert_true(cjose_jws_export(jws, &compact, &err));
	out = strdup(compact);
	cjose_jws_release(jws);
	cjose_header_release(hdr);
	return out;
}

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * n / 3 + 2);

	assert_non_null(out);
	assert_int_equal(crypto_b64url_encode(out, 4 * n / 3 + 2, s, n), 0);
	return out;
}

/* "b64(header).b64(payload).sig" with the texts given. */
static char *make_token(const char *header, const char *payload, const char *sig)
{
	char *h = b64(header), *p = b64(payload);
	size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
	char *out = malloc(n);

	assert_non_null(out);
	snprintf(out, n, "%s.%s.%s", h, p, sig);
	free(h);
	free(p);
	return out;
}

static json_t *claims(void)
{
	return json_pack("{s:s, s:s, s:i}", "iss", "https://careid.test", "sub", "alice", "exp",
	                 2000000000);
}

static int setup(void **state)
{
	cjose_err err;

	(void)state;
	if (crypto_init() != 0)
		return -1;
	if (signing_key_generate_rsa(&fx.key) || signing_key_generate_rsa(&fx.other))
		return -1;
	fx.jwks = jwks_of(signing_key_public_jwk(fx.key, NULL));
	fx.ec256 = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
	fx.ec384 = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_384, &err);
	fx.rsa1024 = cjose_jwk_create_RSA_random(1024, NULL, 0, &err);
	return fx.jwks && fx.ec256 && fx.ec384 && fx.rsa1024 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	signing_key_free(fx.key);
	signing_key_free(fx.other);
	json_decref(fx.jwks);
	cjose_jwk_release(fx.ec256);
	cjose_jwk_release(fx.ec384);
	cjose_jwk_release(fx.rsa1024);
	return 0;
}

/* RFC 7638, section 3.1. */
static void test_thumbprint_rfc7638(void **state)
{
	char tp[44];
	json_t *jwk = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "n",
	    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhD"
	    "R1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6C"
	    "f0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1"
	    "n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1j"
	    "F44-csFCur-kEgU8awapJzKnqDKgw",
	    "e", "AQAB", "alg", "RS256", "kid", "2011-04-29");

	(void)state;
	assert_int_equal(crypto_jwk_thumbprint(tp, jwk), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	json_object_del(jwk, "e");
	assert_int_equal(crypto_jwk_thumbprint(tp, jwk), CAREID_EINVALID);
	json_object_set_new(jwk, "kty", json_string("OKP"));
	assert_int_equal(crypto_jwk_thumbprint(tp, jwk), CAREID_EUNSUPPORTED);
	json_decref(jwk);
}

static void test_generate(void **state)
{
	json_t *pub;
	char tp[44];

	(void)state;
	assert_int_equal(strlen(signing_key_kid(fx.key)), 43);
	assert_string_not_equal(signing_key_kid(fx.key), signing_key_kid(fx.other));
	pub = signing_key_public_jwk(fx.key, "RS256");
	assert_non_null(pub);
	assert_string_equal(json_string_value(json_object_get(pub, "kty")), "RSA");
	assert_string_equal(json_string_value(json_object_get(pub, "kid")),
	                    signing_key_kid(fx.key));
	assert_string_equal(json_string_value(json_object_get(pub, "use")), "sig");
	assert_string_equal(json_string_value(json_object_get(pub, "alg")), "RS256");
	assert_string_equal(json_string_value(json_object_get(pub, "e")), "AQAB");
	assert_null(json_object_get(pub, "d"));
	assert_null(json_object_get(pub, "p"));
	/* The kid is the thumbprint of the public key. */
	assert_int_equal(crypto_jwk_thumbprint(tp, pub), 0);
	assert_string_equal(tp, signing_key_kid(fx.key));
	json_decref(pub);
	pub = signing_key_public_jwk(fx.key, NULL);
	assert_null(json_object_get(pub, "alg"));
	json_decref(pub);

	assert_true(signing_key_supports(fx.key, "RS256"));
	assert_true(signing_key_supports(fx.key, "PS512"));
	assert_false(signing_key_supports(fx.key, "ES256"));
	assert_false(signing_key_supports(fx.key, "HS256"));
	assert_false(signing_key_supports(fx.key, "rs256"));
	assert_false(signing_key_supports(fx.key, NULL));
}

static void test_json_round_trip(void **state)
{
	char *text = NULL, *tok = NULL;
	signing_key *back = NULL;
	json_t *j, *c = claims(), *got = NULL;

	(void)state;
	assert_int_equal(signing_key_to_json(fx.key, &text), 0);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "kid")), signing_key_kid(fx.key));
	assert_non_null(json_object_get(j, "d"));
	assert_non_null(json_object_get(j, "qi"));
	assert_int_equal(signing_key_from_json(&back, text), 0);
	assert_string_equal(signing_key_kid(back), signing_key_kid(fx.key));
	/* The restored key signs what the original's public key verifies. */
	assert_int_equal(jws_sign(&tok, back, "RS256", "JWT", c), 0);
	assert_int_equal(jws_verify_jwks(&got, tok, fx.jwks, RS256_ONLY), 0);
	assert_true(json_equal(got, c));
	json_decref(got);
	free(tok);
	signing_key_free(back);
	back = NULL;

	/* A given kid is kept; without one the thumbprint is used. */
	json_object_set_new(j, "kid", json_string("my-key-2024"));
	free(text);
	text = json_dumps(j, 0);
	assert_int_equal(signing_key_from_json(&back, text), 0);
	assert_string_equal(signing_key_kid(back), "my-key-2024");
	signing_key_free(back);
	back = NULL;
	json_object_del(j, "kid");
	free(text);
	text = json_dumps(j, 0);
	assert_int_equal(signing_key_from_json(&back, text), 0);
	assert_string_equal(signing_key_kid(back), signing_key_kid(fx.key));
	signing_key_free(back);

	free(text);
	json_decref(j);
	json_decref(c);
	signing_key_free(NULL);
}

static void test_from_json_refused(void **state)
{
	signing_key *k = NULL;
	cjose_err err;
	char *text, *other_text;
	json_t *j, *o;

	(void)state;
	assert_int_equal(signing_key_from_json(&k, NULL), CAREID_EINVALID);
	assert_int_equal(signing_key_from_json(&k, "not json"), CAREID_EINVALID);
	assert_int_equal(signing_key_from_json(&k, "[]"), CAREID_EINVALID);
	assert_int_equal(signing_key_from_json(&k, "{\"kty\":\"oct\",\"k\":\"AAAA\"}"),
	                 CAREID_EUNSUPPORTED);

	/* RSA-1024 is too small. */
	text = cjose_jwk_to_json(fx.rsa1024, true, &err);
	assert_non_null(text);
	assert_int_equal(signing_key_from_json(&k, text), CAREID_EINVALID);
	assert_null(k);
	free(text);

	/* EC keys are not signing keys here. */
	text = cjose_jwk_to_json(fx.ec256, true, &err);
	assert_int_equal(signing_key_from_json(&k, text), CAREID_EUNSUPPORTED);
	free(text);

	/* A public key only. */
	j = signing_key_public_jwk(fx.key, NULL);
	text = json_dumps(j, 0);
	assert_int_equal(signing_key_from_json(&k, text), CAREID_EINVALID);
	free(text);
	json_decref(j);

	/* Private parts of another key. */
	assert_int_equal(signing_key_to_json(fx.key, &text), 0);
	assert_int_equal(signing_key_to_json(fx.other, &other_text), 0);
	j = json_loads(text, 0, NULL);
	o = json_loads(other_text, 0, NULL);
	const char *priv[] = {"d", "p", "q", "dp", "dq", "qi"};
	for (size_t i = 0; i < 6; i++)
		json_object_set(j, priv[i], json_object_get(o, priv[i]));
	free(text);
	text = json_dumps(j, 0);
	assert_int_equal(signing_key_from_json(&k, text), CAREID_EINVALID);
	assert_null(k);
	free(text);
	free(other_text);
	json_decref(j);
	json_decref(o);

	/* A kid that is not a string. */
	assert_int_equal(signing_key_to_json(fx.key, &text), 0);
	j = json_loads(text, 0, NULL);
	json_object_set_new(j, "kid", json_integer(7));
	free(text);
	text = json_dumps(j, 0);
	assert_int_equal(signing_key_from_json(&k, text), CAREID_EINVALID);
	free(text);
	json_decref(j);
}

static void test_sign_verify_each_rsa_alg(void **state)
{
	static const char *const algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"};
	json_t *c = claims();

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		const char *only[] = {algs[i], NULL};
		char *tok = NULL;
		json_t *hdr = NULL, *got = NULL;

		assert_int_equal(jws_sign(&tok, fx.key, algs[i], "JWT", c), 0);
		assert_int_equal(jws_peek(tok, &hdr, NULL), 0);
		assert_string_equal(json_string_value(json_object_get(hdr, "alg")), algs[i]);
		assert_string_equal(json_string_value(json_object_get(hdr, "kid")),
		                    signing_key_kid(fx.key));
		assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "JWT");
		json_decref(hdr);
		assert_int_equal(jws_verify_jwks(&got, tok, fx.jwks, only), 0);
		assert_true(json_equal(got, c));
		json_decref(got);
		assert_int_equal(jws_verify_jwks(NULL, tok, fx.jwks, ALL_ASYM), 0);
		free(tok);
	}
	json_decref(c);
}

static void test_sign_refused(void **state)
{
	char *tok = (char *)"unchanged";
	json_t *c = claims(), *arr = json_array();

	(void)state;
	assert_int_equal(jws_sign(&tok, fx.key, "ES256", NULL, c), CAREID_EUNSUPPORTED);
	assert_null(tok);
	assert_int_equal(jws_sign(&tok, fx.key, "HS256", NULL, c), CAREID_EUNSUPPORTED);
	assert_int_equal(jws_sign(&tok, fx.key, "none", NULL, c), CAREID_EUNSUPPORTED);
	assert_int_equal(jws_sign(&tok, fx.key, "RS256", NULL, arr), CAREID_EINVALID);
	assert_int_equal(jws_sign(&tok, fx.key, "RS256", NULL, NULL), CAREID_EINVALID);
	/* typ omitted */
	assert_int_equal(jws_sign(&tok, fx.key, "RS256", NULL, c), 0);
	json_t *hdr = NULL;
	assert_int_equal(jws_peek(tok, &hdr, NULL), 0);
	assert_null(json_object_get(hdr, "typ"));
	json_decref(hdr);
	free(tok);
	json_decref(c);
	json_decref(arr);
}

static void test_es256(void **state)
{
	json_t *jwks = jwks_of(cjose_public(fx.ec256, "ec1")), *got = NULL;
	char *tok = cjose_sign(fx.ec256, "ES256", "ec1", "{\"sub\":\"bob\"}");

	(void)state;
	assert_int_equal(jws_verify_jwks(&got, tok, jwks, ALL_ASYM), 0);
	assert_string_equal(json_string_value(json_object_get(got, "sub")), "bob");
	json_decref(got);
	/* ES256 against RSA keys only: no usable key. */
	assert_int_equal(jws_verify_jwks(NULL, tok, fx.jwks, ALL_ASYM), CAREID_EDENIED);
	free(tok);
	json_decref(jwks);
}

static void test_es256_wrong_curve(void **state)
{
	json_t *jwks384 = jwks_of(cjose_public(fx.ec384, NULL));
	char *tok;

	(void)state;
	/* cjose signs "ES256" with a P-384 key and would verify it too. */
	tok = cjose_sign(fx.ec384, "ES256", NULL, "{\"sub\":\"bob\"}");
	assert_int_equal(jws_verify_jwks(NULL, tok, jwks384, ALL_ASYM), CAREID_EDENIED);
	free(tok);
	/* A proper ES256 token, but the JWKS holds only a P-384 key. */
	tok = cjose_sign(fx.ec256, "ES256", NULL, "{\"sub\":\"bob\"}");
	assert_int_equal(jws_verify_jwks(NULL, tok, jwks384, ALL_ASYM), CAREID_EDENIED);
	assert_non_null(strstr(careid_error_last()->message, "no usable key"));
	free(tok);
	json_decref(jwks384);
}

static void test_alg_not_allowed(void **state)
{
	static const char *const ps_only[] = {"PS256", NULL};
	static const char *const lower[] = {"rs256", NULL};
	static const char *const none[] = {NULL};
	json_t *c = claims();
	char *tok = NULL;

	(void)state;
	assert_int_equal(jws_sign(&tok, fx.key, "RS256", NULL, c), 0);
	assert_int_equal(jws_verify_jwks(NULL, tok, fx.jwks, ps_only), CAREID_EDENIED);
	assert_non_null(strstr(careid_error_last()->message, "alg not allowed"));
	assert_int_equal(jws_verify_jwks(NULL, tok, fx.jwks, lower), CAREID_EDENIED);
	assert_int_equal(jws_verify_jwks(NULL, tok, fx.jwks, none), CAREID_EDENIED);
	assert_int_equal(jws_verify_jwks(NULL, tok, fx.jwks, NULL), CAREID_EDENIED);
	free(tok);

	/* PS512 is not RS256 even with the same key (no cjose alg pinning). */
	assert_int_equal(jws_sign(&tok, fx.key, "PS512", NULL, c), 0);
	assert_int_equal(jws_verify_jwks(NULL, tok, fx.jwks, RS256_ONLY), CAREID_EDENIED);
	free(tok);
	json_decref(c);
}

static void test_key_alg_and_use(void **state)
{
	json_t *c = claims(), *jwks;
	char *tok = NULL;

	(void)state;
	assert_int_equal(jws_sign(&tok, fx.key, "PS256", NULL, c), 0);
	/* The key is published for RS256 only. */
	jwks = jwks_of(signing_key_public_jwk(fx.key, "RS256"));
	assert_int_equal(jws_verify_jwks(NULL, tok, jwks, ALL_ASYM), CAREID_EDENIED);
	json_decref(jwks);
	/* An encryption key. */
	jwks = jwks_of(signing_key_public_jwk(fx.key, NULL));
	json_object_set_new(json_array_get(json_object_get(jwks, "keys"), 0), "use",
	                    json_string("enc"));
	assert_int_equal(jws_verify_jwks(NULL, tok, jwks, ALL_ASYM), CAREID_EDENIED);
	json_decref(jwks);
	free(tok);
	json_decref(c);
}

static void test_alg_none(void **state)
{
	static const char *const with_none[] = {"none", "RS256", NULL};
	static const char *const hdrs[] = {"{\"alg\":\"none\"}", "{\"alg\":\"NONE\"}",
	                                   "{\"alg\":\"nOnE\",\"kid\":\"x\"}"};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		char *tok = make_token(hdrs[i], "{\"sub\":\"eve\"}", "AAAA");
		char *unsigned_tok = make_token(hdrs[i], "{\"sub\":\"eve\"}", "");

		/* make_token leaves a trailing dot for the empty signature */
		assert_int_equal(jws_peek(tok, NULL, NULL), CAREID_EINVALID);
		assert_non_null(strstr(careid_error_last()->message, "none"));
		assert_int_equal(jws_verify_jwks(NULL, tok, fx.jwks, with_none), CAREID_EINVALID);
		assert_int_equal(jws_verify_hmac(NULL, tok, "secret", with_none), CAREID_EINVALID);
		assert_int_equal(jws_peek(unsigned_tok, NULL, NULL), CAREID_EINVALID);
		assert_int_equal(jws_verify_jwks(NULL, unsigned_tok, fx.jwks, with_none),
		                 CAREID_EINVALID);
		free(tok);
		free(unsigned_tok);
	}
}

static void test_wrong_key(void **state)
{
	json_t *c = claims(), *jwks_other = jwks_of(signing_key_public_jwk(fx.other, NULL));
	char *tok = NULL;

	(void)state;
	assert_int_equal(jws_sign(&tok, fx.key, "RS256", NULL, c), 0);
	/* The other key has another kid: no key with the token's kid. */
	assert_int_equal(jws_verify_jwks(NULL, tok, jwks_other, RS256_ONLY), CAREID_EDENIED);
	/* Same kid, different key material. */
	json_object_set_new(json_array_get(json_object_get(jwks_other, "keys"), 0), "kid",
	                    json_string(signing_key_kid(fx.key)));
	assert_int_equal(jws_verify_jwks(NULL, tok, jwks_other, RS256_ONLY), CAREID_EDENIED);
	assert_non_null(strstr(careid_error_last()->message, "does not verify"));
	free(tok);
	json_decref(jwks_other);
	json_decref(c);
}

static void test_kid_selection(void **state)
{
	json_t *c = claims(), *got = NULL;
	json_t *both = json_pack("{s:[o,o]}", "keys", signing_key_public_jwk(fx.other, NULL),
	                         signing_key_public_jwk(fx.key, NULL));
	char *tok = NULL, *nokid;

	(void)state;
	assert_int_equal(jws_sign(&tok, fx.key, "RS256", NULL, c), 0);
	assert_int_equal(jws_verify_jwks(&got, tok, both, RS256_ONLY), 0);
	json_decref(got);
	free(tok);

	/* A kid no key has. */
	tok = cjose_sign(fx.rsa1024, "RS256", "nope", "{}");
	assert_int_equal(jws_verify_jwks(NULL, tok, both, RS256_ONLY), CAREID_EDENIED);
	assert_non_null(strstr(careid_error_last()->message, "kid"));
	free(tok);

	/* No kid: each key is tried. Re-sign through a JWS without kid. */
	char *text = NULL;
	cjose_err err;
	assert_int_equal(signing_key_to_json(fx.key, &text), 0);
	cjose_jwk_t *raw = cjose_jwk_import(text, strlen(text), &err);
	assert_non_null(raw);
	nokid = cjose_sign(raw, "RS256", NULL, "{\"sub\":\"alice\"}");
	assert_int_equal(jws_verify_jwks(&got, nokid, both, RS256_ONLY), 0);
	assert_string_equal(json_string_value(json_object_get(got, "sub")), "alice");
	json_decref(got);
	free(nokid);
	/* A non-string kid is malformed. */
	char *bad = make_token("{\"alg\":\"RS256\",\"kid\":5}", "{}", "AAAA");
	assert_int_equal(jws_verify_jwks(NULL, bad, both, RS256_ONLY), CAREID_EINVALID);
	free(bad);
	cjose_jwk_release(raw);
	free(text);
	json_decref(both);
	json_decref(c);
}

static void test_tampered_payload(void **state)
{
	json_t *c = claims();
	char *tok = NULL, *evil_payload, *forged;
	char *d1, *d2;

	(void)state;
	assert_int_equal(jws_sign(&tok, fx.key, "RS256", NULL, c), 0);
	d1 = strchr(tok, '.');
	d2 = strchr(d1 + 1, '.');
	evil_payload =
	    b64("{\"iss\":\"https://careid.test\",\"sub\":\"admin\",\"exp\":2000000000}");
	size_t n = (size_t)(d1 - tok) + strlen(evil_payload) + strlen(d2) + 2;
	forged = malloc(n);
	snprintf(forged, n, "%.*s.%s%s", (int)(d1 - tok), tok, evil_payload, d2);
	assert_int_equal(jws_peek(forged, NULL, NULL), 0);
	assert_int_equal(jws_verify_jwks(NULL, forged, fx.jwks, RS256_ONLY), CAREID_EDENIED);
	/* A flipped signature character. */
	char *last = tok + strlen(tok) - 3;
	*last = *last == 'A' ? 'B' : 'A';
	assert_int_equal(jws_verify_jwks(NULL, tok, fx.jwks, RS256_ONLY), CAREID_EDENIED);
	free(forged);
	free(evil_payload);
	free(tok);
	json_decref(c);
}

static void test_small_rsa_refused(void **state)
{
	json_t *jwks = jwks_of(cjose_public(fx.rsa1024, "small"));
	char *tok = cjose_sign(fx.rsa1024, "RS256", "small", "{\"sub\":\"eve\"}");

	(void)state;
	assert_int_equal(jws_verify_jwks(NULL, tok, jwks, ALL_ASYM), CAREID_EDENIED);
	assert_non_null(strstr(careid_error_last()->message, "no usable key"));
	free(tok);
	json_decref(jwks);
}

static void test_hmac(void **state)
{
	static const char *const algs[] = {"HS256", "HS384", "HS512"};
	const char *secret = "a-client-secret-of-some-length-0123456789";
	cjose_err err;
	cjose_jwk_t *oct = cjose_jwk_create_oct_spec((const uint8_t *)secret, strlen(secret), &err);

	(void)state;
	assert_non_null(oct);
	for (size_t i = 0; i < 3; i++) {
		const char *only[] = {algs[i], NULL};
		char *tok = cjose_sign(oct, algs[i], NULL, "{\"iss\":\"client1\"}");
		json_t *got = NULL;

		assert_int_equal(jws_verify_hmac(&got, tok, secret, only), 0);
		assert_string_equal(json_string_value(json_object_get(got, "iss")), "client1");
		json_decref(got);
		assert_int_equal(jws_verify_hmac(NULL, tok, "another secret", ALL_HS),
		                 CAREID_EDENIED);
		assert_int_equal(jws_verify_hmac(NULL, tok, secret, RS256_ONLY), CAREID_EDENIED);
		assert_int_equal(jws_verify_hmac(NULL, tok, "", ALL_HS), CAREID_EINVALID);
		assert_int_equal(jws_verify_hmac(NULL, tok, NULL, ALL_HS), CAREID_EINVALID);
		/* HMAC tokens are never checked against a JWKS. */
		assert_int_equal(jws_verify_jwks(NULL, tok, fx.jwks, ALL_HS), CAREID_EDENIED);
		free(tok);
	}
	/* HS384 is not HS256. */
	char *tok = cjose_sign(oct, "HS384", NULL, "{}");
	assert_int_equal(jws_verify_hmac(NULL, tok, secret, (const char *const[]){"HS256", NULL}),
	                 CAREID_EDENIED);
	free(tok);
	cjose_jwk_release(oct);
}

/* The classic confusion: an HS256 token keyed with the RSA public key's text. */
static void test_hmac_with_public_key_confusion(void **state)
{
	json_t *pub = signing_key_public_jwk(fx.key, NULL);
	char *pub_text = json_dumps(pub, JSON_COMPACT);
	cjose_err err;
	cjose_jwk_t *oct =
	    cjose_jwk_create_oct_spec((const uint8_t *)pub_text, strlen(pub_text), &err);
	char *tok = cjose_sign(oct, "HS256", signing_key_kid(fx.key), "{\"sub\":\"admin\"}");
	static const char *const everything[] = {"RS256", "HS256", NULL};

	(void)state;
	assert_int_equal(jws_verify_jwks(NULL, tok, fx.jwks, everything), CAREID_EDENIED);
	/* And an RSA token is never verified as HMAC. */
	char *rs = NULL;
	json_t *c = claims();
	assert_int_equal(jws_sign(&rs, fx.key, "RS256", NULL, c), 0);
	assert_int_equal(jws_verify_hmac(NULL, rs, pub_text, everything), CAREID_EDENIED);
	free(rs);
	json_decref(c);
	free(tok);
	cjose_jwk_release(oct);
	free(pub_text);
	json_decref(pub);
}

static void test_peek(void **state)
{
	json_t *c = claims(), *hdr = NULL, *got = NULL;
	char *tok = NULL;

	(void)state;
	assert_int_equal(jws_sign(&tok, fx.key, "RS256", "at+jwt", c), 0);
	assert_int_equal(jws_peek(tok, &hdr, &got), 0);
	assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "at+jwt");
	assert_true(json_equal(got, c));
	json_decref(hdr);
	json_decref(got);
	assert_int_equal(jws_peek(tok, NULL, NULL), 0);
	free(tok);
	json_decref(c);
}

static void test_malformed(void **state)
{
	char *t;
	json_t *hdr = (json_t *)1, *cl = (json_t *)1;

	(void)state;
	/* Outputs are NULL after a failure. */
	assert_int_equal(jws_peek("a.b", &hdr, &cl), CAREID_EINVALID);
	assert_null(hdr);
	assert_null(cl);
	assert_int_equal(jws_peek(NULL, NULL, NULL), CAREID_EINVALID);
	assert_int_equal(jws_peek("", NULL, NULL), CAREID_EINVALID);
	assert_int_equal(jws_peek("..", NULL, NULL), CAREID_EINVALID);
	assert_int_equal(jws_peek("a.b.c.d", NULL, NULL), CAREID_EINVALID);
	assert_int_equal(jws_peek("!!!!.e30.AAAA", NULL, NULL), CAREID_EINVALID);
	assert_int_equal(jws_verify_jwks(NULL, "a.b", fx.jwks, ALL_ASYM), CAREID_EINVALID);
	assert_int_equal(jws_verify_hmac(NULL, "a.b", "s", ALL_HS), CAREID_EINVALID);

	struct {
		const char *h, *p, *sig;
	} cases[] = {
	    {"[1]", "{}", "AAAA"},                                  /* header not an object */
	    {"\"RS256\"", "{}", "AAAA"},                            /* header a string */
	    {"{\"alg\":\"RS256\"}", "[]", "AAAA"},                  /* payload not an object */
	    {"{\"alg\":\"RS256\"}", "not json", "AAAA"},            /* payload not JSON */
	    {"{\"typ\":\"JWT\"}", "{}", "AAAA"},                    /* no alg */
	    {"{\"alg\":256}", "{}", "AAAA"},                        /* alg not a string */
	    {"{\"alg\":\"RS256\"}", "{}", "AA+A"},                  /* signature not base64url */
	    {"{\"alg\":\"RS256\"}", "{}", "AAAAA"},                 /* signature of bad length */
	    {"{\"alg\":\"RS256\"}", "{}", "AAA="},                  /* padding */
	    {"{\"alg\":\"RS256\",\"alg\":\"none\"}", "{}", "AAAA"}, /* duplicate member */
	    {"{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}", "{}", "AAAA"}, /* crit */
	    {"{\"alg\":\"RS256\"}", "{\"a\":{\"b\":[[[[[[{}]]]]]]}}", ""}, /* empty signature */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = make_token(cases[i].h, cases[i].p, cases[i].sig);
		assert_int_equal(jws_peek(t, NULL, NULL), CAREID_EINVALID);
		assert_int_equal(jws_verify_jwks(NULL, t, fx.jwks, ALL_ASYM), CAREID_EINVALID);
		free(t);
	}
	/* Padding inside the header part. */
	assert_int_equal(jws_peek("eyJhbGciOiJSUzI1NiJ9=.e30.AAAA", NULL, NULL), CAREID_EINVALID);
	/* Nested JSON passes peek (only the signature is wrong). */
	t = make_token("{\"alg\":\"RS256\"}", "{\"a\":{\"b\":[[[[[[{}]]]]]]}}", "AAAA");
	assert_int_equal(jws_peek(t, NULL, NULL), 0);
	assert_int_equal(jws_verify_jwks(NULL, t, fx.jwks, ALL_ASYM), CAREID_EDENIED);
	free(t);
}

static void test_oversized(void **state)
{
	size_t n = JWS_MAX_LEN + 1;
	char *big = malloc(n + 1), *pad = malloc(JWS_MAX_LEN);
	char *ok;

	(void)state;
	memset(big, 'A', n);
	big[n] = '\0';
	big[10] = '.';
	big[20] = '.';
	assert_int_equal(jws_peek(big, NULL, NULL), CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, "longer"));
	assert_int_equal(jws_verify_jwks(NULL, big, fx.jwks, ALL_ASYM), CAREID_EINVALID);
	assert_int_equal(jws_verify_hmac(NULL, big, "s", ALL_HS), CAREID_EINVALID);

	/* A claim of some 10 KiB still fits. */
	memset(pad, 'x', 10000);
	pad[10000] = '\0';
	json_t *c = json_pack("{s:s}", "pad", pad);
	assert_int_equal(jws_sign(&ok, fx.key, "RS256", NULL, c), 0);
	assert_true(strlen(ok) <= JWS_MAX_LEN);
	assert_int_equal(jws_verify_jwks(NULL, ok, fx.jwks, RS256_ONLY), 0);
	free(ok);
	json_decref(c);
	free(pad);
	free(big);
}

static void test_bad_jwks(void **state)
{
	json_t *c = claims(), *j;
	char *tok = NULL;

	(void)state;
	assert_int_equal(jws_sign(&tok, fx.key, "RS256", NULL, c), 0);
	assert_int_equal(jws_verify_jwks(NULL, tok, NULL, RS256_ONLY), CAREID_EINVALID);
	j = json_pack("{s:s}", "keys", "nope");
	assert_int_equal(jws_verify_jwks(NULL, tok, j, RS256_ONLY), CAREID_EINVALID);
	json_decref(j);
	/* Garbage keys with the token's kid are skipped; the good one verifies. */
	const char *kid = signing_key_kid(fx.key);
	j = json_pack("{s:[i, s, {}, {s:s}, {s:s, s:s}, {s:s, s:s, s:s, s:s}, "
	              "{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}, o]}",
	              "keys", 1, "x", "kty", "RSA", "kty", "RSA", "kid", kid, "kty", "RSA", "kid",
	              kid, "n", "!!", "e", "AQAB", "kty", "RSA", "kid", kid, "n", "AQAB", "e",
	              "AQAB", "kty", "EC", "kid", kid, "crv", "P-256", "x", "AAAA",
	              signing_key_public_jwk(fx.key, NULL));
	assert_non_null(j);
	assert_int_equal(jws_verify_jwks(NULL, tok, j, RS256_ONLY), 0);
	json_decref(j);
	/* Beyond the 32 keys considered. */
	j = json_array();
	for (int i = 0; i < 32; i++)
		json_array_append_new(j, signing_key_public_jwk(fx.other, NULL));
	json_array_append_new(j, signing_key_public_jwk(fx.key, NULL));
	json_t *jwks = json_pack("{s:o}", "keys", j);
	assert_int_equal(jws_verify_jwks(NULL, tok, jwks, RS256_ONLY), CAREID_EDENIED);
	json_decref(jwks);
	free(tok);
	json_decref(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_thumbprint_rfc7638),
	    cmocka_unit_test(test_generate),
	    cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_from_json_refused),
	    cmocka_unit_test(test_sign_verify_each_rsa_alg),
	    cmocka_unit_test(test_sign_refused),
	    cmocka_unit_test(test_es256),
	    cmocka_unit_test(test_es256_wrong_curve),
	    cmocka_unit_test(test_alg_not_allowed),
	    cmocka_unit_test(test_key_alg_and_use),
	    cmocka_unit_test(test_alg_none),
	    cmocka_unit_test(test_wrong_key),
	    cmocka_unit_test(test_kid_selection),
	    cmocka_unit_test(test_tampered_payload),
	    cmocka_unit_test(test_small_rsa_refused),
	    cmocka_unit_test(test_hmac),
	    cmocka_unit_test(test_hmac_with_public_key_confusion),
	    cmocka_unit_test(test_peek),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_bad_jwks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
