#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/error.h"
#include "crypto/pubkey.h"

#define AAGUID_OID "1.3.6.1.4.1.45724.1.1.4"

static const uint8_t AAGUID[16] = {0x6c, 0x1a, 0x2e, 0x3f, 0x10, 0x22, 0x4b, 0x5d,
                                   0x9e, 0x8f, 0x77, 0x66, 0x55, 0x44, 0x33, 0x21};

/* Keys made once (RSA generation is slow under ASan). */
struct fixture {
	EVP_PKEY *ec;
	EVP_PKEY *ec2;
	EVP_PKEY *ec384;
	EVP_PKEY *rsa;
	EVP_PKEY *rsa1024;
};

static struct fixture fx;

static int setup(void **state)
{
	(void)state;
	fx.ec = EVP_EC_gen("P-256");
	fx.ec2 = EVP_EC_gen("P-256");
	fx.ec384 = EVP_EC_gen("P-384");
	fx.rsa = EVP_RSA_gen(2048);
	fx.rsa1024 = EVP_RSA_gen(1024);
	return fx.ec && fx.ec2 && fx.ec384 && fx.rsa && fx.rsa1024 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(fx.ec);
	EVP_PKEY_free(fx.ec2);
	EVP_PKEY_free(fx.ec384);
	EVP_PKEY_free(fx.rsa);
	EVP_PKEY_free(fx.rsa1024);
	return 0;
}

static void assert_error(int rc, int code, const char *substring)
{
	assert_int_equal(rc, code);
	assert_int_equal(careid_error_last()->code, code);
	if (!strstr(careid_error_last()->message, substring))
		fail_msg("message \"%s\" lacks \"%s\"", careid_error_last()->message, substring);
}

/* A big-endian parameter of `k`, left-padded to `len` bytes (0: its own length). */
static size_t bn_param(uint8_t *out, size_t len, const EVP_PKEY *k, const char *name)
{
	BIGNUM *bn = NULL;
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	n = len ? BN_bn2binpad(bn, out, (int)len) : BN_bn2bin(bn, out);
	BN_free(bn);
	assert_true(n > 0);
	return (size_t)n;
}

static pubkey *ec_pubkey(const EVP_PKEY *k)
{
	uint8_t x[32], y[32];
	pubkey *pk = NULL;

	bn_param(x, 32, k, OSSL_PKEY_PARAM_EC_PUB_X);
	bn_param(y, 32, k, OSSL_PKEY_PARAM_EC_PUB_Y);
	assert_int_equal(pubkey_from_ec2(&pk, PUBKEY_ES256, PUBKEY_CRV_P256, x, 32, y, 32), 0);
	return pk;
}

static pubkey *rsa_pubkey(const EVP_PKEY *k)
{
	uint8_t n[1024], e[16];
	size_t nlen, elen;
	pubkey *pk = NULL;

	nlen = bn_param(n, 0, k, OSSL_PKEY_PARAM_RSA_N);
	elen = bn_param(e, 0, k, OSSL_PKEY_PARAM_RSA_E);
	assert_int_equal(pubkey_from_rsa(&pk, PUBKEY_RS256, n, nlen, e, elen), 0);
	return pk;
}

/* SHA-256 signature of msg; ECDSA comes out DER-encoded. free() it. */
static uint8_t *sign(size_t *len, EVP_PKEY *k, const void *msg, size_t msglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *sig;

	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(md, NULL, len, msg, msglen), 1);
	sig = malloc(*len);
	assert_non_null(sig);
	assert_int_equal(EVP_DigestSign(md, sig, len, msg, msglen), 1);
	EVP_MD_CTX_free(md);
	return sig;
}

static void test_es256_verify(void **state)
{
	static const char msg[] = "authenticator data || client data hash";
	pubkey *pk = ec_pubkey(fx.ec), *other = ec_pubkey(fx.ec2);
	uint8_t *sig, *long_sig;
	size_t len;

	(void)state;
	assert_int_equal(pubkey_alg(pk), PUBKEY_ES256);
	sig = sign(&len, fx.ec, msg, sizeof(msg));
	assert_int_equal(pubkey_verify(pk, msg, sizeof(msg), sig, len), 0);
	assert_error(pubkey_verify(other, msg, sizeof(msg), sig, len), CAREID_EDENIED,
	             "the signature does not verify");
	assert_error(pubkey_verify(pk, msg, sizeof(msg) - 1, sig, len), CAREID_EDENIED,
	             "does not verify");
	/* a byte after the DER signature is refused (strict DER) */
	long_sig = malloc(len + 1);
	assert_non_null(long_sig);
	memcpy(long_sig, sig, len);
	long_sig[len] = 0;
	assert_error(pubkey_verify(pk, msg, sizeof(msg), long_sig, len + 1), CAREID_EDENIED,
	             "does not verify");
	sig[len - 1] ^= 1;
	assert_error(pubkey_verify(pk, msg, sizeof(msg), sig, len), CAREID_EDENIED,
	             "does not verify");
	assert_error(pubkey_verify(pk, msg, sizeof(msg), sig, 0), CAREID_EDENIED,
	             "does not verify");
	/* a raw r||s signature (JOSE form) is not what WebAuthn sends */
	memset(long_sig, 0x11, len);
	assert_error(pubkey_verify(pk, msg, sizeof(msg), long_sig, 64), CAREID_EDENIED,
	             "does not verify");
	free(long_sig);
	free(sig);
	pubkey_free(pk);
	pubkey_free(other);
}

static void test_ec2_refused(void **state)
{
	uint8_t x[32], y[32];
	pubkey *pk = NULL;

	(void)state;
	bn_param(x, 32, fx.ec, OSSL_PKEY_PARAM_EC_PUB_X);
	bn_param(y, 32, fx.ec, OSSL_PKEY_PARAM_EC_PUB_Y);
	assert_error(pubkey_from_ec2(&pk, PUBKEY_RS256, PUBKEY_CRV_P256, x, 32, y, 32),
	             CAREID_EUNSUPPORTED, "not for EC2");
	assert_error(pubkey_from_ec2(&pk, PUBKEY_ES256, 2, x, 32, y, 32), CAREID_EUNSUPPORTED,
	             "only P-256");
	assert_error(pubkey_from_ec2(&pk, PUBKEY_ES256, PUBKEY_CRV_P256, x, 31, y, 32),
	             CAREID_EINVALID, "32-byte");
	/* a point off the curve */
	y[31] ^= 1;
	assert_error(pubkey_from_ec2(&pk, PUBKEY_ES256, PUBKEY_CRV_P256, x, 32, y, 32),
	             CAREID_EINVALID, "not a point on P-256");
	memset(x, 0, 32);
	memset(y, 0, 32);
	assert_error(pubkey_from_ec2(&pk, PUBKEY_ES256, PUBKEY_CRV_P256, x, 32, y, 32),
	             CAREID_EINVALID, "not a point on P-256");
	assert_null(pk);
}

static void test_rs256_verify(void **state)
{
	static const char msg[] = "signed bytes";
	pubkey *pk = rsa_pubkey(fx.rsa);
	uint8_t *sig;
	size_t len;

	(void)state;
	assert_int_equal(pubkey_alg(pk), PUBKEY_RS256);
	sig = sign(&len, fx.rsa, msg, sizeof(msg));
	assert_int_equal(len, 256);
	assert_int_equal(pubkey_verify(pk, msg, sizeof(msg), sig, len), 0);
	assert_error(pubkey_verify(pk, msg, sizeof(msg), sig, len - 1), CAREID_EDENIED,
	             "the signature does not verify");
	sig[10] ^= 0x40;
	assert_error(pubkey_verify(pk, msg, sizeof(msg), sig, len), CAREID_EDENIED,
	             "the signature does not verify");
	free(sig);
	pubkey_free(pk);
}

static void test_rsa_refused(void **state)
{
	uint8_t n[1024], e[16];
	static const uint8_t even[] = {0x01, 0x00, 0x00}, one[] = {0x01},
	                     nine_bytes[] = {1, 0, 0, 0, 0, 0, 0, 0, 1};
	size_t nlen, elen;
	pubkey *pk = NULL;

	(void)state;
	nlen = bn_param(n, 0, fx.rsa1024, OSSL_PKEY_PARAM_RSA_N);
	elen = bn_param(e, 0, fx.rsa1024, OSSL_PKEY_PARAM_RSA_E);
	assert_error(pubkey_from_rsa(&pk, PUBKEY_RS256, n, nlen, e, elen), CAREID_EINVALID,
	             "has 1024 bits");
	nlen = bn_param(n, 0, fx.rsa, OSSL_PKEY_PARAM_RSA_N);
	assert_error(pubkey_from_rsa(&pk, PUBKEY_ES256, n, nlen, e, elen), CAREID_EUNSUPPORTED,
	             "not for RSA");
	assert_error(pubkey_from_rsa(&pk, PUBKEY_RS256, n, nlen, even, sizeof(even)),
	             CAREID_EINVALID, "exponent");
	assert_error(pubkey_from_rsa(&pk, PUBKEY_RS256, n, nlen, one, sizeof(one)), CAREID_EINVALID,
	             "exponent");
	assert_error(pubkey_from_rsa(&pk, PUBKEY_RS256, n, nlen, nine_bytes, sizeof(nine_bytes)),
	             CAREID_EINVALID, "exponent");
	assert_error(pubkey_from_rsa(&pk, PUBKEY_RS256, n, nlen, e, 0), CAREID_EINVALID,
	             "exponent");
	assert_null(pk);
	/* leading zero bytes do not count as bits */
	memmove(n + 1, n, nlen);
	n[0] = 0;
	assert_int_equal(pubkey_from_rsa(&pk, PUBKEY_RS256, n, nlen + 1, e, elen), 0);
	pubkey_free(pk);
}

/* --- certificates --------------------------------------------------------- */

struct cert_spec {
	long version;                /* 0 (v1) or 2 (v3) */
	const char *c, *o, *ou, *cn; /* NULL: leave out */
	int basic;                   /* -1 none, 0 CA:FALSE, 1 CA:TRUE */
	const uint8_t *aaguid;       /* NULL: no extension */
	size_t aaguid_len;
	bool aaguid_critical;
	bool aaguid_twice;
};

static const struct cert_spec GOOD = {
    .version = 2,
    .c = "GB",
    .o = "careid test",
    .ou = "Authenticator Attestation",
    .cn = "careid test attestation",
    .basic = 0,
    .aaguid = AAGUID,
    .aaguid_len = 16,
};

static void add_aaguid(X509 *x, const struct cert_spec *s)
{
	ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new(), *outer = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *oid = OBJ_txt2obj(AAGUID_OID, 1);
	unsigned char *der = NULL;
	X509_EXTENSION *ext;
	int n;

	assert_true(inner && outer && oid);
	assert_int_equal(ASN1_OCTET_STRING_set(inner, s->aaguid, (int)s->aaguid_len), 1);
	n = i2d_ASN1_OCTET_STRING(inner, &der);
	assert_true(n > 0);
	assert_int_equal(ASN1_OCTET_STRING_set(outer, der, n), 1);
	ext = X509_EXTENSION_create_by_OBJ(NULL, oid, s->aaguid_critical, outer);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	if (s->aaguid_twice)
		assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	OPENSSL_free(der);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(inner);
	ASN1_OCTET_STRING_free(outer);
}

/* A certificate for `key` signed by `ca` (self-signed when the same), DER. */
static uint8_t *make_cert(size_t *len, EVP_PKEY *key, EVP_PKEY *ca, const struct cert_spec *s)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new(), *issuer = X509_NAME_new();
	uint8_t *der = NULL;
	int n;

	assert_true(x && name && issuer);
	assert_int_equal(X509_set_version(x, s->version), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 42), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
#define ENTRY(field, value)                                                                        \
	if (value)                                                                                 \
		assert_int_equal(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,            \
		                                            (const unsigned char *)(value), -1,    \
		                                            -1, 0),                                \
		                 1);
	ENTRY("C", s->c);
	ENTRY("O", s->o);
	ENTRY("OU", s->ou);
	ENTRY("CN", s->cn);
#undef ENTRY
	assert_int_equal(X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_UTF8,
	                                            (const unsigned char *)"careid test CA", -1, -1,
	                                            0),
	                 1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer), 1);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (s->basic >= 0) {
		X509_EXTENSION *bc =
		    X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
		                        s->basic ? "critical,CA:TRUE" : "critical,CA:FALSE");

		assert_non_null(bc);
		assert_int_equal(X509_add_ext(x, bc, -1), 1);
		X509_EXTENSION_free(bc);
	}
	if (s->aaguid)
		add_aaguid(x, s);
	assert_true(X509_sign(x, ca, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	X509_NAME_free(name);
	X509_NAME_free(issuer);
	X509_free(x);
	return der;
}

static int check_spec(const struct cert_spec *s, const uint8_t *aaguid)
{
	pubkey_cert *c = NULL;
	size_t len;
	uint8_t *der = make_cert(&len, fx.ec2, fx.ec, s);
	int rc;

	assert_int_equal(pubkey_cert_parse(&c, der, len), 0);
	rc = pubkey_cert_check_packed(c, aaguid);
	pubkey_cert_free(c);
	OPENSSL_free(der);
	return rc;
}

static void test_cert_packed_requirements(void **state)
{
	static const uint8_t other[16] = {1};
	struct cert_spec s;

	(void)state;
	assert_int_equal(check_spec(&GOOD, AAGUID), 0);
	s = GOOD;
	s.aaguid = NULL; /* the extension is optional */
	assert_int_equal(check_spec(&s, other), 0);
	s = GOOD;
	s.basic = -1; /* absent basic constraints: not a CA */
	assert_int_equal(check_spec(&s, AAGUID), 0);

	assert_error(check_spec(&GOOD, other), CAREID_EINVALID, "AAGUID differs");
	s = GOOD;
	s.version = 0;
	s.basic = -1;
	s.aaguid = NULL;
	assert_error(check_spec(&s, AAGUID), CAREID_EINVALID, "not X.509 version 3");
	s = GOOD;
	s.c = NULL;
	assert_error(check_spec(&s, AAGUID), CAREID_EINVALID, "subject has no C");
	s = GOOD;
	s.o = NULL;
	assert_error(check_spec(&s, AAGUID), CAREID_EINVALID, "subject has no O");
	s = GOOD;
	s.cn = NULL;
	assert_error(check_spec(&s, AAGUID), CAREID_EINVALID, "subject has no CN");
	s = GOOD;
	s.ou = NULL;
	assert_error(check_spec(&s, AAGUID), CAREID_EINVALID, "subject has no OU");
	s = GOOD;
	s.ou = "Authenticator Attestation CA";
	assert_error(check_spec(&s, AAGUID), CAREID_EINVALID,
	             "OU is not \"Authenticator Attestation\"");
	s = GOOD;
	s.basic = 1;
	assert_error(check_spec(&s, AAGUID), CAREID_EINVALID, "CA certificate");
	s = GOOD;
	s.aaguid_critical = true;
	assert_error(check_spec(&s, AAGUID), CAREID_EINVALID, "critical");
	s = GOOD;
	s.aaguid_len = 15;
	assert_error(check_spec(&s, AAGUID), CAREID_EINVALID, "16-byte OCTET STRING");
	s = GOOD;
	s.aaguid_twice = true;
	assert_int_not_equal(check_spec(&s, AAGUID), 0);
}

static void test_cert_key(void **state)
{
	static const char msg[] = "attested";
	pubkey_cert *c = NULL, *crsa = NULL;
	pubkey *pk = NULL;
	uint8_t *der, *sig, *der_rsa;
	size_t len, siglen, len_rsa;

	(void)state;
	der = make_cert(&len, fx.ec2, fx.ec, &GOOD);
	assert_int_equal(pubkey_cert_parse(&c, der, len), 0);
	assert_int_equal(pubkey_from_cert(&pk, c, PUBKEY_ES256), 0);
	pubkey_cert_free(c); /* the key outlives the certificate */
	sig = sign(&siglen, fx.ec2, msg, sizeof(msg));
	assert_int_equal(pubkey_verify(pk, msg, sizeof(msg), sig, siglen), 0);
	pubkey_free(pk);
	pk = NULL;
	free(sig);

	/* the certificate's key must fit the statement's alg */
	assert_int_equal(pubkey_cert_parse(&c, der, len), 0);
	assert_error(pubkey_from_cert(&pk, c, PUBKEY_RS256), CAREID_EINVALID, "RS256 needs");
	assert_error(pubkey_from_cert(&pk, c, -8), CAREID_EUNSUPPORTED, "-8");
	pubkey_cert_free(c);
	c = NULL;

	der_rsa = make_cert(&len_rsa, fx.rsa, fx.ec, &GOOD);
	assert_int_equal(pubkey_cert_parse(&crsa, der_rsa, len_rsa), 0);
	assert_error(pubkey_from_cert(&pk, crsa, PUBKEY_ES256), CAREID_EINVALID, "ES256 needs");
	assert_int_equal(pubkey_from_cert(&pk, crsa, PUBKEY_RS256), 0);
	pubkey_free(pk);
	pk = NULL;
	pubkey_cert_free(crsa);
	OPENSSL_free(der_rsa);

	der_rsa = make_cert(&len_rsa, fx.ec384, fx.ec, &GOOD);
	assert_int_equal(pubkey_cert_parse(&crsa, der_rsa, len_rsa), 0);
	assert_error(pubkey_from_cert(&pk, crsa, PUBKEY_ES256), CAREID_EINVALID, "P-256");
	pubkey_cert_free(crsa);
	OPENSSL_free(der_rsa);

	der_rsa = make_cert(&len_rsa, fx.rsa1024, fx.ec, &GOOD);
	assert_int_equal(pubkey_cert_parse(&crsa, der_rsa, len_rsa), 0);
	assert_error(pubkey_from_cert(&pk, crsa, PUBKEY_RS256), CAREID_EINVALID, "2048");
	pubkey_cert_free(crsa);
	OPENSSL_free(der_rsa);
	OPENSSL_free(der);
}

static void test_cert_parse_refused(void **state)
{
	static const uint8_t garbage[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	pubkey_cert *c = NULL;
	uint8_t *der, *longer;
	size_t len;

	(void)state;
	der = make_cert(&len, fx.ec2, fx.ec, &GOOD);
	assert_error(pubkey_cert_parse(&c, der, len - 1), CAREID_EINVALID, "not valid DER");
	longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, der, len);
	longer[len] = 0;
	assert_error(pubkey_cert_parse(&c, longer, len + 1), CAREID_EINVALID, "not valid DER");
	assert_error(pubkey_cert_parse(&c, garbage, sizeof(garbage)), CAREID_EINVALID,
	             "not valid DER");
	assert_error(pubkey_cert_parse(&c, der, 0), CAREID_EINVALID, "empty");
	assert_error(pubkey_cert_parse(&c, der, PUBKEY_CERT_MAX + 1), CAREID_EINVALID, "over");
	assert_null(c);
	pubkey_free(NULL);
	pubkey_cert_free(NULL);
	free(longer);
	OPENSSL_free(der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_es256_verify),
	    cmocka_unit_test(test_ec2_refused),
	    cmocka_unit_test(test_rs256_verify),
	    cmocka_unit_test(test_rsa_refused),
	    cmocka_unit_test(test_cert_packed_requirements),
	    cmocka_unit_test(test_cert_key),
	    cmocka_unit_test(test_cert_parse_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
