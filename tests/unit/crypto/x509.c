/* tests for src/crypto/x509.c: CAs, cards, PKCS#12, CRLs and verification */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/x509.h"

#define NOW  1767225600LL /* 2026-01-01T00:00:00Z */
#define DAY  86400LL
#define UID1 "910000000001"

static const char SIGNED[] = "careid-smartcard-v1\nhttp://localhost:8080\nabcdefghijklmnop";

struct fx {
	char *ca_cert, *ca_key;   /* mock's CA */
	char *ca2_cert, *ca2_key; /* int's CA */
	uint8_t *p12;             /* a card of mock, no passphrase */
	size_t p12_len;
	struct x509_info info;
	x509_card *card;
	char *cert_b64;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct x509_card_new req = {
	    .env = "mock",
	    .display_name = "Jane Doe",
	    .uid = UID1,
	    .not_before = NOW - DAY,
	    .not_after = NOW + 365 * DAY,
	    .passphrase = "",
	};

	if (!f || crypto_init())
		return -1;
	if (x509_ca_create(&f->ca_cert, &f->ca_key, "mock", NOW) ||
	    x509_ca_create(&f->ca2_cert, &f->ca2_key, "int", NOW) ||
	    x509_card_issue(&f->p12, &f->p12_len, &f->info, f->ca_cert, f->ca_key, &req) ||
	    x509_card_load(&f->card, f->p12, f->p12_len, "") ||
	    x509_card_cert_b64url(f->card, &f->cert_b64)) {
		fprintf(stderr, "setup: %s\n", careid_error_last()->message);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->ca_cert);
	free(f->ca_key);
	free(f->ca2_cert);
	free(f->ca2_key);
	free(f->p12);
	free(f->cert_b64);
	x509_card_free(f->card);
	free(f);
	return 0;
}

/* A certificate from the card's base64url DER. */
static x509_cert *card_cert(struct fx *f)
{
	x509_cert *c = NULL;

	assert_int_equal(x509_cert_from_text(&c, f->cert_b64, strlen(f->cert_b64)), 0);
	return c;
}

static void test_card_shape(void **state)
{
	struct fx *f = *state;
	const struct x509_info *i = x509_card_info(f->card);

	assert_string_equal(i->uid, UID1);
	assert_string_equal(i->subject,
	                    "serialNumber=" UID1 ",CN=Jane Doe,OU=mock,O=careid test CA");
	assert_int_equal(strlen(i->serial), 32);
	assert_int_equal(strspn(i->serial, "0123456789abcdef"), 32);
	assert_int_equal(strlen(i->fingerprint), 64);
	assert_int_equal(i->not_before, NOW - DAY);
	assert_int_equal(i->not_after, NOW + 365 * DAY);
	assert_string_equal(x509_card_alg(f->card), "RS256");
	/* what issue reported is what the file holds */
	assert_memory_equal(i, &f->info, sizeof(*i));
}

static void test_chain_ok(void **state)
{
	struct fx *f = *state;
	x509_cert *c = card_cert(f);

	assert_memory_equal(x509_cert_info(c), &f->info, sizeof(f->info));
	assert_int_equal(x509_cert_verify(c, f->ca_cert, NULL, NOW), 0);
	x509_cert_free(c);
}

static void test_text_forms(void **state)
{
	struct fx *f = *state;
	char std[4096];
	x509_cert *c = NULL;
	size_t n = strlen(f->cert_b64), i;

	/* standard base64 with padding */
	for (i = 0; i < n; i++)
		std[i] = f->cert_b64[i] == '-' ? '+' : f->cert_b64[i] == '_' ? '/' : f->cert_b64[i];
	while (i % 4)
		std[i++] = '=';
	std[i] = '\0';
	assert_int_equal(x509_cert_from_text(&c, std, strlen(std)), 0);
	assert_string_equal(x509_cert_info(c)->fingerprint, f->info.fingerprint);
	x509_cert_free(c);
	/* PEM: the CA certificate */
	assert_int_equal(x509_cert_from_text(&c, f->ca_cert, strlen(f->ca_cert)), 0);
	assert_string_equal(x509_cert_info(c)->uid, "");
	assert_non_null(strstr(x509_cert_info(c)->subject, "CN=careid mock smartcard CA"));
	/* a CA certificate is not a card, even of its own CA */
	assert_int_equal(x509_cert_verify(c, f->ca_cert, NULL, NOW), CAREID_EDENIED);
	x509_cert_free(c);
}

static void test_dates(void **state)
{
	struct fx *f = *state;
	x509_cert *c = card_cert(f);

	assert_int_equal(x509_cert_verify(c, f->ca_cert, NULL, NOW + 366 * DAY), CAREID_EEXPIRED);
	assert_string_equal(careid_error_last()->message,
	                    "the smartcard's certificate has expired");
	assert_int_equal(x509_cert_verify(c, f->ca_cert, NULL, NOW - 2 * DAY), CAREID_EEXPIRED);
	assert_string_equal(careid_error_last()->message,
	                    "the smartcard's certificate is not yet valid");
	x509_cert_free(c);
}

static void test_issued_dates(void **state)
{
	struct fx *f = *state;
	struct x509_card_new req = {
	    .env = "mock",
	    .display_name = "Old Card",
	    .uid = UID1,
	    .not_before = NOW - 400 * DAY,
	    .not_after = NOW - 30 * DAY,
	    .passphrase = "",
	};
	uint8_t *p12 = NULL;
	size_t len = 0;
	struct x509_info info;
	x509_cert *c = NULL;
	char *b64 = NULL;
	x509_card *card = NULL;

	assert_int_equal(x509_card_issue(&p12, &len, &info, f->ca_cert, f->ca_key, &req), 0);
	assert_int_equal(x509_card_load(&card, p12, len, ""), 0);
	assert_int_equal(x509_card_cert_b64url(card, &b64), 0);
	assert_int_equal(x509_cert_from_text(&c, b64, strlen(b64)), 0);
	assert_int_equal(x509_cert_verify(c, f->ca_cert, NULL, NOW), CAREID_EEXPIRED);
	/* when the card was valid, its CA (made at NOW) was not */
	assert_int_equal(x509_cert_verify(c, f->ca_cert, NULL, NOW - 100 * DAY), CAREID_EEXPIRED);
	assert_non_null(strstr(careid_error_last()->message, "certificate authority"));
	x509_cert_free(c);
	x509_card_free(card);
	free(b64);
	free(p12);
	/* nonsense requests */
	req.not_after = req.not_before;
	assert_int_equal(x509_card_issue(&p12, &len, NULL, f->ca_cert, f->ca_key, &req),
	                 CAREID_EINVALID);
	req.not_after = NOW;
	req.display_name = "";
	assert_int_equal(x509_card_issue(&p12, &len, NULL, f->ca_cert, f->ca_key, &req),
	                 CAREID_EINVALID);
	req.display_name = "x";
	assert_int_equal(x509_card_issue(&p12, &len, NULL, f->ca_cert, f->ca2_key, &req),
	                 CAREID_EINVALID); /* key of another CA */
	assert_null(p12);
}

static void test_foreign_ca(void **state)
{
	struct fx *f = *state;
	x509_cert *c = card_cert(f);

	assert_int_equal(x509_cert_verify(c, f->ca2_cert, NULL, NOW), CAREID_EDENIED);
	assert_non_null(strstr(careid_error_last()->message,
	                       "the smartcard was not issued by this environment's certificate "
	                       "authority"));
	x509_cert_free(c);
}

static void test_crl(void **state)
{
	struct fx *f = *state;
	const char *other[] = {"0123abcd", "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"};
	const char *both[] = {"0123abcd", f->info.serial};
	const int64_t when[] = {NOW - DAY, NOW};
	const char *bad[] = {"xyz"};
	x509_cert *c = card_cert(f);
	char *empty = NULL, *crl_other = NULL, *crl_both = NULL, *crl = NULL;

	assert_int_equal(x509_crl_create(&empty, f->ca_cert, f->ca_key, 1, NULL, NULL, 0, NOW), 0);
	assert_int_equal(x509_crl_create(&crl_other, f->ca_cert, f->ca_key, 2, other, when, 2, NOW),
	                 0);
	assert_int_equal(x509_crl_create(&crl_both, f->ca_cert, f->ca_key, 3, both, when, 2, NOW),
	                 0);
	assert_non_null(strstr(empty, "-----BEGIN X509 CRL-----"));
	assert_int_equal(x509_cert_verify(c, f->ca_cert, empty, NOW), 0);
	assert_int_equal(x509_cert_verify(c, f->ca_cert, crl_other, NOW), 0);
	assert_int_equal(x509_cert_verify(c, f->ca_cert, crl_both, NOW), CAREID_EDENIED);
	assert_string_equal(careid_error_last()->message,
	                    "the smartcard's certificate has been revoked");
	/* the CRL's own dates do not matter: it is the CA's current list */
	assert_int_equal(x509_cert_verify(c, f->ca_cert, crl_both, NOW + 60 * DAY), CAREID_EDENIED);
	assert_int_equal(x509_cert_verify(c, f->ca_cert, empty, NOW + 60 * DAY), 0);
	/* a CRL of another CA does not vouch for this one */
	assert_int_equal(x509_crl_create(&crl, f->ca2_cert, f->ca2_key, 1, NULL, NULL, 0, NOW), 0);
	assert_int_equal(x509_cert_verify(c, f->ca_cert, crl, NOW), CAREID_EDENIED);
	assert_int_equal(x509_cert_verify(c, f->ca_cert, "not a CRL", NOW), CAREID_EINVALID);
	free(crl_other);
	assert_int_equal(x509_crl_create(&crl_other, f->ca_cert, f->ca_key, 4, bad, when, 1, NOW),
	                 CAREID_EINVALID);
	assert_null(crl_other);
	assert_int_equal(x509_crl_create(&crl_other, f->ca_cert, f->ca_key, 0, NULL, NULL, 0, NOW),
	                 CAREID_EINVALID);
	free(empty);
	free(crl_both);
	free(crl);
	x509_cert_free(c);
}

static void test_signature(void **state)
{
	struct fx *f = *state;
	struct x509_card_new req = {
	    .env = "mock",
	    .display_name = "Other Person",
	    .uid = "910000000002",
	    .not_before = NOW - DAY,
	    .not_after = NOW + DAY,
	    .passphrase = "",
	};
	uint8_t sig[X509_SIG_MAX], *p12 = NULL;
	size_t sig_len = 0, len = 0;
	x509_card *other = NULL;
	x509_cert *c = card_cert(f);

	assert_int_equal(
	    x509_card_sign(f->card, sig, sizeof(sig), &sig_len, SIGNED, strlen(SIGNED)), 0);
	assert_int_equal(sig_len, 256);
	assert_int_equal(
	    x509_cert_verify_signature(c, "RS256", sig, sig_len, SIGNED, strlen(SIGNED)), 0);
	/* other bytes */
	assert_int_equal(
	    x509_cert_verify_signature(c, "RS256", sig, sig_len, SIGNED, strlen(SIGNED) - 1),
	    CAREID_EDENIED);
	assert_string_equal(careid_error_last()->message,
	                    "the challenge was not signed by the card's key");
	/* the wrong algorithm for the key, or an unknown one */
	assert_int_equal(x509_cert_verify_signature(c, "ES256", sig, 64, SIGNED, strlen(SIGNED)),
	                 CAREID_EDENIED);
	assert_int_equal(
	    x509_cert_verify_signature(c, "PS256", sig, sig_len, SIGNED, strlen(SIGNED)),
	    CAREID_EUNSUPPORTED);
	assert_int_equal(x509_cert_verify_signature(c, NULL, sig, sig_len, SIGNED, strlen(SIGNED)),
	                 CAREID_EUNSUPPORTED);
	assert_int_equal(x509_cert_verify_signature(c, "RS256", sig, 0, SIGNED, strlen(SIGNED)),
	                 CAREID_EDENIED);
	/* signed by another card's key */
	assert_int_equal(x509_card_issue(&p12, &len, NULL, f->ca_cert, f->ca_key, &req), 0);
	assert_int_equal(x509_card_load(&other, p12, len, ""), 0);
	assert_int_equal(x509_card_sign(other, sig, sizeof(sig), &sig_len, SIGNED, strlen(SIGNED)),
	                 0);
	assert_int_equal(
	    x509_cert_verify_signature(c, "RS256", sig, sig_len, SIGNED, strlen(SIGNED)),
	    CAREID_EDENIED);
	x509_card_free(other);
	free(p12);
	x509_cert_free(c);
}

static void test_p12_passphrase(void **state)
{
	struct fx *f = *state;
	struct x509_card_new req = {
	    .env = "dep",
	    /* 70 characters, some of two bytes: cut to 64 characters */
	    .display_name =
	        "Zoë Ångström-Øverby Ångström-Øverby Ångström-Øverby Ångström-Øverby xyz",
	    .uid = "910000000003",
	    .not_before = NOW - DAY,
	    .not_after = NOW + DAY,
	    .passphrase = "correct horse",
	};
	uint8_t *p12 = NULL;
	size_t len = 0;
	x509_card *card = NULL;
	const char *cn;

	assert_int_equal(x509_card_issue(&p12, &len, NULL, f->ca_cert, f->ca_key, &req), 0);
	assert_int_equal(x509_card_load(&card, p12, len, "wrong"), CAREID_EDENIED);
	assert_null(card);
	assert_int_equal(x509_card_load(&card, p12, len, ""), CAREID_EDENIED);
	assert_int_equal(x509_card_load(&card, p12, len, "correct horse"), 0);
	assert_string_equal(x509_card_info(card)->uid, "910000000003");
	cn = strstr(x509_card_info(card)->subject, "CN=");
	assert_non_null(cn);
	assert_memory_equal(cn,
	                    "CN=Zoë Ångström-Øverby Ångström-Øverby Ångström-Øverby "
	                    "Ångström-Øve,OU=dep",
	                    strlen("CN=Zoë Ångström-Øverby Ångström-Øverby Ångström-Øverby "
	                           "Ångström-Øve,OU=dep"));
	x509_card_free(card);
	free(p12);
	/* a file without passphrase reads with "" */
	assert_int_equal(x509_card_load(&card, f->p12, f->p12_len, "x"), CAREID_EDENIED);
	assert_int_equal(x509_card_load(&card, f->p12, f->p12_len, ""), 0);
	x509_card_free(card);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	static const char *const texts[] = {"",
	                                    "!!!!",
	                                    "AAAA",
	                                    "MIIC2zCCAoGgAwIBAgIQ",
	                                    "a",
	                                    "-----BEGIN CERTIFICATE-----\nAAAA\n"
	                                    "-----END CERTIFICATE-----\n"};
	uint8_t der[4096];
	size_t der_len = 0;
	x509_cert *c = NULL;
	x509_card *card = NULL;
	char *big;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_int_equal(x509_cert_from_text(&c, texts[i], strlen(texts[i])),
		                 CAREID_EINVALID);
		assert_null(c);
	}
	/* truncated DER, and DER followed by a byte */
	assert_int_equal(
	    crypto_b64url_decode(der, sizeof(der) - 1, &der_len, f->cert_b64, strlen(f->cert_b64)),
	    0);
	assert_int_equal(x509_cert_from_der(&c, der, der_len - 1), CAREID_EINVALID);
	assert_int_equal(x509_cert_from_der(&c, der, der_len + 1), CAREID_EINVALID);
	assert_int_equal(x509_cert_from_der(&c, der, der_len), 0);
	x509_cert_free(c);
	/* too big */
	big = malloc(X509_TEXT_MAX + 2);
	assert_non_null(big);
	memset(big, 'A', X509_TEXT_MAX + 1);
	big[X509_TEXT_MAX + 1] = '\0';
	assert_int_equal(x509_cert_from_text(&c, big, X509_TEXT_MAX + 1), CAREID_ETOOBIG);
	free(big);
	/* not PKCS#12 */
	assert_int_equal(x509_card_load(&card, der, der_len, ""), CAREID_EINVALID);
	assert_int_equal(x509_card_load(&card, f->p12, f->p12_len / 2, ""), CAREID_EINVALID);
	assert_null(card);
	/* unusable CA material */
	c = card_cert(f);
	assert_int_equal(x509_cert_verify(c, "junk", NULL, NOW), CAREID_EINVALID);
	x509_cert_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_card_shape),
	    cmocka_unit_test(test_chain_ok),
	    cmocka_unit_test(test_text_forms),
	    cmocka_unit_test(test_dates),
	    cmocka_unit_test(test_issued_dates),
	    cmocka_unit_test(test_foreign_ca),
	    cmocka_unit_test(test_crl),
	    cmocka_unit_test(test_signature),
	    cmocka_unit_test(test_p12_passphrase),
	    cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
