/* tests for src/authn/smartcard.c against a real SQLite store */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "authn/smartcard.h"
#include "core/clock.h"
#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "directory/directory.h"
#include "oidc/clients.h"
#include "store/store.h"

#define UID1      "910000000201"
#define UID2      "910000000202"
#define ORIGIN    "http://localhost:8080"
#define CHALLENGE "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6"
#define DAY       86400

struct fx {
	char dir[512];
	store *s;
	struct secrets sec;
};

static int add_user(store *s, const char *env, const char *uid, const char *given)
{
	struct dir_user_new u = {.uid = uid, .given_name = given, .family_name = "Card"};

	return directory_user_add(s, env, &u, NULL);
}

static int setup(void **state)
{
	const char *tmp = getenv("CAREID_TEST_TMP");
	struct fx *f = calloc(1, sizeof(*f));
	char url[600];

	if (!f || crypto_init())
		return -1;
	if (!tmp)
		tmp = "/tmp";
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/smartcard-XXXXXX", tmp);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(url, sizeof(url), "sqlite:%s/t.db", f->dir);
	if (store_open(&f->s, url) || store_migrate(f->s, NULL) || secrets_load(&f->sec, f->s) ||
	    add_user(f->s, "mock", UID1, "Ada") || add_user(f->s, "mock", UID2, "Bea") ||
	    add_user(f->s, "int", UID1, "Ada")) {
		fprintf(stderr, "setup: %s\n", careid_error_last()->message);
		return -1;
	}
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_free(f->s);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* What the agent would answer for `p12`: certificate and signature. */
struct answer {
	char *cert;
	char sig[X509_SIG_MAX * 2];
	struct buf text;
};

static void answer_make(struct answer *a, const uint8_t *p12, size_t len, const char *origin)
{
	uint8_t sig[X509_SIG_MAX];
	size_t sig_len = 0;
	x509_card *card = NULL;

	buf_init(&a->text, SMARTCARD_SIGNED_TEXT_MAX);
	assert_int_equal(smartcard_signed_text(&a->text, origin, CHALLENGE), 0);
	assert_int_equal(x509_card_load(&card, p12, len, ""), 0);
	assert_int_equal(x509_card_cert_b64url(card, &a->cert), 0);
	assert_int_equal(x509_card_sign(card, sig, sizeof(sig), &sig_len, a->text.ptr, a->text.len),
	                 0);
	assert_int_equal(crypto_b64url_encode(a->sig, sizeof(a->sig), sig, sig_len), 0);
	x509_card_free(card);
}

static void answer_release(struct answer *a)
{
	free(a->cert);
	buf_release(&a->text);
}

/* smartcard_verify() of `a` in `env`, against the text for ORIGIN. */
static int verify(struct smartcard_identity *id, store *s, const char *env, const struct answer *a)
{
	struct smartcard_answer in = {
	    .env = env,
	    .certificate = a->cert,
	    .signature = a->sig,
	    .alg = "RS256",
	    .now = clock_now(),
	};
	struct buf text;
	int rc;

	buf_init(&text, SMARTCARD_SIGNED_TEXT_MAX);
	assert_int_equal(smartcard_signed_text(&text, ORIGIN, CHALLENGE), 0);
	in.signed_text = text.ptr;
	in.signed_len = text.len;
	rc = smartcard_verify(id, s, &in);
	buf_release(&text);
	return rc;
}

static void issue(struct fx *f, struct smartcard_issued *out, const char *env, const char *uid)
{
	struct smartcard_new n = {
	    .env = env,
	    .uid = uid,
	    .not_before = clock_now() - DAY,
	    .not_after = clock_now() + 30 * DAY,
	    .passphrase = "",
	};

	assert_int_equal(smartcard_issue(out, f->s, &f->sec, &n), 0);
}

static void test_signed_text(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, SMARTCARD_SIGNED_TEXT_MAX);
	assert_int_equal(smartcard_signed_text(&b, "https://careid.example", CHALLENGE), 0);
	assert_string_equal(b.ptr, "careid-smartcard-v1\nhttps://careid.example\n" CHALLENGE);
	buf_reset(&b);
	assert_int_equal(smartcard_signed_text(&b, "https://a\nb", CHALLENGE), CAREID_EINVALID);
	assert_int_equal(smartcard_signed_text(&b, "", CHALLENGE), CAREID_EINVALID);
	assert_int_equal(smartcard_signed_text(&b, NULL, CHALLENGE), CAREID_EINVALID);
	assert_int_equal(smartcard_signed_text(&b, ORIGIN, "short"), CAREID_EINVALID);
	assert_int_equal(smartcard_signed_text(&b, ORIGIN, "not/base64url+0123456789"),
	                 CAREID_EINVALID);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void test_ca_ensure_idempotent(void **state)
{
	struct fx *f = *state;
	char *a = NULL, *b = NULL;

	assert_int_equal(smartcard_ca_ensure(&a, f->s, &f->sec, "mock"), 0);
	assert_int_equal(smartcard_ca_ensure(&b, f->s, &f->sec, "mock"), 0);
	assert_non_null(strstr(a, "-----BEGIN CERTIFICATE-----"));
	assert_string_equal(a, b);
	free(b);
	assert_int_equal(smartcard_ca_ensure(&b, f->s, &f->sec, "int"), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(smartcard_ca_ensure(NULL, f->s, &f->sec, "prod"), CAREID_EINVALID);
	free(a);
	free(b);
}

struct racer {
	struct fx *f;
	char *pem;
	int rc;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	r->rc = smartcard_ca_ensure(&r->pem, r->f->s, &r->f->sec, "dep");
	return NULL;
}

/* Several threads (each with its own connection) make dep's CA at once. */
static void test_ca_ensure_concurrent(void **state)
{
	struct racer r[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){.f = *state};
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(r[i].rc, 0);
		assert_string_equal(r[i].pem, r[0].pem);
	}
	for (int i = 0; i < 4; i++)
		free(r[i].pem);
}

static void test_issue_verify_revoke(void **state)
{
	struct fx *f = *state;
	struct smartcard_issued card;
	struct smartcard_identity id;
	struct answer a, other_origin;
	json_t *list = NULL, *revoked = NULL;

	issue(f, &card, "mock", UID1);
	assert_string_equal(card.cert.uid, UID1);
	assert_int_equal(strlen(card.id), SMARTCARD_ID_LEN);
	assert_non_null(strstr(card.cert.subject, "CN=Ada Card"));
	answer_make(&a, card.p12, card.p12_len, ORIGIN);

	assert_int_equal(verify(&id, f->s, "mock", &a), 0);
	assert_string_equal(id.uid, UID1);
	assert_string_equal(id.authenticator_id, card.id);
	assert_string_equal(id.serial, card.cert.serial);

	assert_int_equal(smartcard_list(&list, f->s, "mock", UID1), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "serial")),
	                    card.cert.serial);
	assert_true(json_is_integer(json_object_get(json_array_get(list, 0), "last_used_at")));
	assert_true(json_is_null(json_object_get(json_array_get(list, 0), "revoked_at")));
	json_decref(list);

	/* signed for another origin: refused */
	answer_make(&other_origin, card.p12, card.p12_len, "https://evil.example");
	assert_int_equal(verify(&id, f->s, "mock", &other_origin), CAREID_EDENIED);
	assert_string_equal(careid_error_last()->message,
	                    "the challenge was not signed by the card's key");
	answer_release(&other_origin);

	/* revoked (upper case and 0x accepted): refused by the CRL */
	{
		char upper[X509_SERIAL_HEX + 2] = "0x";

		for (size_t i = 0; card.cert.serial[i]; i++)
			upper[i + 2] = (char)(card.cert.serial[i] >= 'a' ? card.cert.serial[i] - 32
			                                                 : card.cert.serial[i]);
		assert_int_equal(smartcard_revoke(&revoked, f->s, &f->sec, "mock", upper), 0);
	}
	assert_int_equal(json_array_size(revoked), 1);
	assert_string_equal(json_string_value(json_array_get(revoked, 0)), card.cert.serial);
	json_decref(revoked);
	assert_int_equal(verify(&id, f->s, "mock", &a), CAREID_EDENIED);
	assert_string_equal(careid_error_last()->message,
	                    "the smartcard's certificate has been revoked");
	assert_string_equal(id.uid, "");
	/* once only */
	assert_int_equal(smartcard_revoke(NULL, f->s, &f->sec, "mock", card.cert.serial),
	                 CAREID_ENOTFOUND);
	assert_int_equal(smartcard_revoke(NULL, f->s, &f->sec, "mock", "xyz"), CAREID_EINVALID);

	answer_release(&a);
	smartcard_issued_release(&card);
	assert_null(card.p12);
}

static void test_other_env(void **state)
{
	struct fx *f = *state;
	struct smartcard_issued card;
	struct smartcard_identity id;
	struct answer a;

	/* the same UID exists in int; its card is not mock's */
	issue(f, &card, "int", UID1);
	answer_make(&a, card.p12, card.p12_len, ORIGIN);
	assert_int_equal(verify(&id, f->s, "mock", &a), CAREID_EDENIED);
	assert_non_null(strstr(careid_error_last()->message,
	                       "the smartcard was not issued by this environment's certificate "
	                       "authority"));
	/* live has no CA at all */
	assert_int_equal(verify(&id, f->s, "live", &a), CAREID_EDENIED);
	assert_int_equal(verify(&id, f->s, "int", &a), 0);
	answer_release(&a);
	smartcard_issued_release(&card);
}

static void test_issue_refused(void **state)
{
	struct fx *f = *state;
	struct smartcard_issued card;
	struct smartcard_new n = {
	    .env = "mock",
	    .uid = "910000000299",
	    .not_before = clock_now(),
	    .not_after = clock_now() + DAY,
	};

	assert_int_equal(smartcard_issue(&card, f->s, &f->sec, &n), CAREID_ENOTFOUND);
	assert_null(card.p12);
	n.uid = UID1;
	n.not_after = n.not_before;
	assert_int_equal(smartcard_issue(&card, f->s, &f->sec, &n), CAREID_EINVALID);
	n.not_after = n.not_before + SMARTCARD_VALIDITY_MAX_S + 1;
	assert_int_equal(smartcard_issue(&card, f->s, &f->sec, &n), CAREID_EINVALID);
	n.env = "nope";
	assert_int_equal(smartcard_issue(&card, f->s, &f->sec, &n), CAREID_EINVALID);
}

/* mock's CA key, as the module keeps it (sealed). */
static char *ca_key(struct fx *f, char **cert)
{
	store_stmt *st = NULL;
	char *key = NULL;

	assert_int_equal(store_query(f->s, &st,
	                             "SELECT certificate, private_key FROM card_authorities "
	                             "WHERE env = $1",
	                             "t", "mock"),
	                 0);
	assert_int_equal(store_next(st), 1);
	*cert = strdup(store_text(st, 0));
	assert_int_equal(crypto_open(&key, f->sec.seal_key, store_text(st, 1)), 0);
	store_done(st);
	return key;
}

static void test_unregistered_and_other_user(void **state)
{
	struct fx *f = *state;
	struct x509_card_new req = {
	    .env = "mock",
	    .display_name = "Ada Card",
	    .uid = UID1,
	    .not_before = clock_now() - DAY,
	    .not_after = clock_now() + DAY,
	    .passphrase = "",
	};
	struct smartcard_identity id;
	struct smartcard_issued card;
	struct answer a;
	char *cert = NULL, *key = ca_key(f, &cert);
	uint8_t *p12 = NULL;
	size_t len = 0;

	/* a card of the right CA that was never registered */
	assert_int_equal(x509_card_issue(&p12, &len, NULL, cert, key, &req), 0);
	answer_make(&a, p12, len, ORIGIN);
	assert_int_equal(verify(&id, f->s, "mock", &a), CAREID_EDENIED);
	assert_string_equal(careid_error_last()->message,
	                    "this smartcard is not registered in mock");
	answer_release(&a);
	free(p12);

	/* a registered card whose row says another user */
	issue(f, &card, "mock", UID2);
	assert_int_equal(store_exec(f->s,
	                            "UPDATE authenticators SET uid = $1 WHERE env = $2 AND id = $3",
	                            "ttt", UID1, "mock", card.id),
	                 1);
	answer_make(&a, card.p12, card.p12_len, ORIGIN);
	assert_int_equal(verify(&id, f->s, "mock", &a), CAREID_EDENIED);
	answer_release(&a);
	smartcard_issued_release(&card);
	explicit_bzero(key, strlen(key));
	free(key);
	free(cert);
}

static void test_revoke_user(void **state)
{
	struct fx *f = *state;
	struct smartcard_issued c1, c2;
	struct smartcard_identity id;
	json_t *revoked = NULL, *list = NULL;
	struct answer a;

	issue(f, &c1, "int", UID1);
	issue(f, &c2, "int", UID1);
	answer_make(&a, c2.p12, c2.p12_len, ORIGIN);
	assert_int_equal(verify(&id, f->s, "int", &a), 0);
	assert_int_equal(smartcard_revoke_user(&revoked, f->s, &f->sec, "int", UID1), 0);
	assert_true(json_array_size(revoked) >= 2);
	assert_int_equal(verify(&id, f->s, "int", &a), CAREID_EDENIED);
	assert_int_equal(smartcard_revoke_user(NULL, f->s, &f->sec, "int", UID1), CAREID_ENOTFOUND);
	assert_int_equal(smartcard_list(&list, f->s, "int", NULL), 0);
	for (size_t i = 0; i < json_array_size(list); i++)
		assert_true(
		    json_is_integer(json_object_get(json_array_get(list, i), "revoked_at")));
	json_decref(list);
	json_decref(revoked);
	answer_release(&a);
	smartcard_issued_release(&c1);
	smartcard_issued_release(&c2);
}

static void test_malformed_answer(void **state)
{
	struct fx *f = *state;
	struct smartcard_identity id;
	struct smartcard_answer in = {
	    .env = "mock",
	    .certificate = "MIIB",
	    .signature = "AAAA",
	    .signed_text = "x",
	    .signed_len = 1,
	    .now = clock_now(),
	};

	assert_int_equal(smartcard_verify(&id, f->s, &in), CAREID_EINVALID);
	in.signature = "***";
	assert_int_equal(smartcard_verify(&id, f->s, &in), CAREID_EINVALID);
	in.signature = NULL;
	assert_int_equal(smartcard_verify(&id, f->s, &in), CAREID_EINVALID);
	in.signature = "AAAA";
	in.certificate = NULL;
	assert_int_equal(smartcard_verify(&id, f->s, &in), CAREID_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signed_text),
	    cmocka_unit_test(test_ca_ensure_idempotent),
	    cmocka_unit_test(test_ca_ensure_concurrent),
	    cmocka_unit_test(test_issue_verify_revoke),
	    cmocka_unit_test(test_other_env),
	    cmocka_unit_test(test_issue_refused),
	    cmocka_unit_test(test_unregistered_and_other_user),
	    cmocka_unit_test(test_revoke_user),
	    cmocka_unit_test(test_malformed_answer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
