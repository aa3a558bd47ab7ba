/* tests for src/authn/totp.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "authn/assurance.h"
#include "authn/totp.h"
#include "directory/directory.h"
#include "core/error.h"
#include "crypto/random.h"
#include "store/store.h"

/* RFC 6238 appendix B: the SHA-1 key "12345678901234567890". */
#define RFC_SECRET "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
#define T0         1111111111 /* step 37037037 */
#define UID        "555000000001"

struct fixture {
	char dir[PATH_MAX];
	store *s;
	uint8_t seal_key[32];
};

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void add_user(store *s, const char *env, const char *uid)
{
	static const char sql[] = "INSERT INTO users (env, uid, given_name, family_name, "
	                          "display_name, created_at) VALUES ($1, $2, 'Jane', 'Doe', "
	                          "'Jane Doe', 0)";

	assert_int_equal(store_exec(s, sql, "tt", env, uid), 1);
}

static int setup(void **state)
{
	const char *base = getenv("CAREID_TEST_TMP");
	struct fixture *f = calloc(1, sizeof(*f));
	char url[PATH_MAX + 16];

	assert_non_null(f);
	assert_int_equal(crypto_init(), 0);
	if (base && *base) {
		assert_true(mkdir(base, 0700) == 0 || errno == EEXIST);
		snprintf(f->dir, sizeof(f->dir), "%s/totp-XXXXXX", base);
	} else {
		snprintf(f->dir, sizeof(f->dir), "/tmp/careid-totp-XXXXXX");
	}
	assert_non_null(mkdtemp(f->dir));
	snprintf(url, sizeof(url), "sqlite:%s/t.db", f->dir);
	assert_int_equal(store_open(&f->s, url), 0);
	assert_int_equal(store_migrate(f->s, NULL), 0);
	crypto_random_bytes(f->seal_key, sizeof(f->seal_key));
	add_user(f->s, "int", UID);
	add_user(f->s, "int", "555000000002");
	add_user(f->s, "mock", UID);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_free(f->s);
	assert_int_equal(nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

static void code_at(char out[7], const char *b32, int64_t t)
{
	assert_int_equal(totp_code(out, b32, t), 0);
	assert_int_equal(strlen(out), 6);
}

/* A code that none of the three steps around `now` gives. */
static void wrong_code(char out[7], const char *b32, int64_t now)
{
	char c[3][7];

	for (int d = -1; d <= 1; d++)
		code_at(c[d + 1], b32, now + 30 * d);
	for (int n = 0;; n++) {
		snprintf(out, 7, "%06d", n % 1000000);
		if (strcmp(out, c[0]) && strcmp(out, c[1]) && strcmp(out, c[2]))
			return;
	}
}

static void test_rfc6238_vectors(void **state)
{
	/* The RFC's 8-digit values, of which a 6-digit code is the last six. */
	static const struct {
		int64_t t;
		const char *code;
	} v[] = {
	    {59, "287082"},         {1111111109, "081804"}, {1111111111, "050471"},
	    {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
	};
	char code[7];
	int64_t step = -1;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		code_at(code, RFC_SECRET, v[i].t);
		assert_string_equal(code, v[i].code);
		assert_int_equal(totp_check(&step, RFC_SECRET, v[i].code, v[i].t), 0);
		assert_int_equal(step, v[i].t / 30);
	}
	assert_int_equal(totp_code(code, "not base32!", 59), CAREID_EINVALID);
	assert_int_equal(totp_code(code, RFC_SECRET, -1), CAREID_EINVALID);
	/* 128 bits at least; a length no base32 text has is refused too. */
	assert_int_equal(totp_code(code, "GEZDGNBVGY3TQOJQGEZDGNBVGY", 59), 0);
	assert_int_equal(totp_code(code, "GEZDGNBVGY3TQOJQGEZDGNBVG", 59), CAREID_EINVALID);
	assert_int_equal(totp_code(code, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQG", 59), CAREID_EINVALID);
}

static void test_secret_new(void **state)
{
	char *a = NULL, *b = NULL, code[7];

	(void)state;
	assert_int_equal(totp_secret_new(&a), 0);
	assert_int_equal(totp_secret_new(&b), 0);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 32);
	assert_string_not_equal(a, b);
	code_at(code, a, T0);
	free(a);
	free(b);
}

static void test_uri(void **state)
{
	char *uri = NULL;

	(void)state;
	assert_int_equal(totp_uri(&uri, "careid", "555000000001", RFC_SECRET), 0);
	assert_string_equal(uri, "otpauth://totp/careid:555000000001?secret=" RFC_SECRET
	                         "&issuer=careid&algorithm=SHA1&digits=6&period=30");
	free(uri);

	assert_int_equal(totp_uri(&uri, "NHS careid (int) & co", "jane.doe+x@nhs.net", RFC_SECRET),
	                 0);
	assert_string_equal(uri, "otpauth://totp/NHS%20careid%20%28int%29%20%26%20co:"
	                         "jane.doe%2Bx%40nhs.net?secret=" RFC_SECRET
	                         "&issuer=NHS%20careid%20%28int%29%20%26%20co"
	                         "&algorithm=SHA1&digits=6&period=30");
	free(uri);

	assert_int_equal(totp_uri(&uri, "caf\xc3\xa9", "a/b?c#d", RFC_SECRET), 0);
	assert_string_equal(uri, "otpauth://totp/caf%C3%A9:a%2Fb%3Fc%23d?secret=" RFC_SECRET
	                         "&issuer=caf%C3%A9&algorithm=SHA1&digits=6&period=30");
	free(uri);

	assert_int_equal(totp_uri(&uri, "a:b", "x", RFC_SECRET), CAREID_EINVALID);
	assert_null(uri);
	assert_int_equal(totp_uri(&uri, "a", "x:y", RFC_SECRET), CAREID_EINVALID);
	assert_int_equal(totp_uri(&uri, "", "x", RFC_SECRET), CAREID_EINVALID);
	assert_int_equal(totp_uri(&uri, "a", NULL, RFC_SECRET), CAREID_EINVALID);
	assert_int_equal(totp_uri(&uri, "a", "x", "gezdgnbvgy3tqojqgezdgnbvgy3tqojq"),
	                 CAREID_EINVALID);
	assert_int_equal(totp_uri(&uri, "a", "x", RFC_SECRET "&x=1"), CAREID_EINVALID);
	assert_int_equal(totp_uri(&uri, "a", "x", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ="),
	                 CAREID_EINVALID);
	assert_null(uri);
}

static void test_check_window_and_format(void **state)
{
	const int64_t step = T0 / 30;
	char code[7];
	int64_t got = 0;

	(void)state;
	for (int d = -1; d <= 1; d++) {
		code_at(code, RFC_SECRET, T0 + 30 * d);
		assert_int_equal(totp_check(&got, RFC_SECRET, code, T0), 0);
		assert_int_equal(got, step + d);
	}
	for (int d = -3; d <= 3; d += 6) {
		code_at(code, RFC_SECRET, T0 + 30 * d);
		assert_int_equal(totp_check(&got, RFC_SECRET, code, T0), CAREID_EDENIED);
		assert_int_equal(got, 0);
	}
	code_at(code, RFC_SECRET, T0 + 60);
	assert_int_equal(totp_check(NULL, RFC_SECRET, code, T0), CAREID_EDENIED);
	assert_string_equal(careid_error_last()->message, "the code is not correct");

	/* Spaces are ignored; the rest must be exactly 6 ASCII digits. */
	assert_int_equal(totp_check(&got, RFC_SECRET, " 050 471 ", T0), 0);
	assert_int_equal(got, step);
	/* liboath would check the RFC's 8-digit code as an 8-digit TOTP. */
	assert_int_equal(totp_check(NULL, RFC_SECRET, "14050471", T0), CAREID_EINVALID);
	assert_int_equal(totp_check(NULL, RFC_SECRET, "50471", T0), CAREID_EINVALID);
	assert_int_equal(totp_check(NULL, RFC_SECRET, "0504710", T0), CAREID_EINVALID);
	assert_int_equal(totp_check(NULL, RFC_SECRET, "05047a", T0), CAREID_EINVALID);
	assert_int_equal(totp_check(NULL, RFC_SECRET, "-50471", T0), CAREID_EINVALID);
	assert_int_equal(totp_check(NULL, RFC_SECRET, "050\t471", T0), CAREID_EINVALID);
	assert_int_equal(totp_check(NULL, RFC_SECRET,
	                            "\xd9\xa0"
	                            "50471",
	                            T0),
	                 CAREID_EINVALID);
	assert_int_equal(totp_check(NULL, RFC_SECRET, "", T0), CAREID_EINVALID);
	assert_int_equal(totp_check(NULL, RFC_SECRET, NULL, T0), CAREID_EINVALID);
	assert_int_equal(totp_check(NULL, "short", "050471", T0), CAREID_EINVALID);
}

static int64_t count_rows(store *s, const char *sql)
{
	store_stmt *st = NULL;
	int64_t n = -1;

	assert_int_equal(store_query(s, &st, sql, ""), 0);
	assert_int_equal(store_next(st), 1);
	n = store_int(st, 0);
	store_done(st);
	return n;
}

static void test_enrol_stores_sealed_secret(void **state)
{
	struct fixture *f = *state;
	char *b32 = NULL, *id = NULL, code[7];
	int64_t step = 0;
	store_stmt *st = NULL;

	assert_int_equal(totp_secret_new(&b32), 0);
	code_at(code, b32, T0);
	assert_int_equal(totp_check(&step, b32, code, T0), 0);
	assert_int_equal(totp_enrol(&id, f->s, f->seal_key, "int", UID, "My phone", b32, step), 0);
	assert_non_null(id);
	assert_true(strlen(id) >= 20);

	assert_int_equal(store_query(f->s, &st,
	                             "SELECT uid, kind, method, name, credential_id, data, "
	                             "counter, revoked_at FROM authenticators WHERE env = $1 "
	                             "AND id = $2",
	                             "tt", "int", id),
	                 0);
	assert_int_equal(store_next(st), 1);
	assert_string_equal(store_text(st, 0), UID);
	assert_string_equal(store_text(st, 1), "totp");
	assert_int_equal(store_int(st, 2), AUTHN_TOTP);
	assert_string_equal(store_text(st, 3), "My phone");
	assert_true(store_null(st, 4));
	assert_non_null(strstr(store_text(st, 5), "{\"secret\":\""));
	assert_null(strstr(store_text(st, 5), b32));
	assert_int_equal(store_int(st, 6), step);
	assert_true(store_null(st, 7));
	store_done(st);

	/* The code that confirmed enrolment cannot sign in. */
	assert_int_equal(totp_verify(NULL, f->s, f->seal_key, "int", UID, code, T0), CAREID_EUSED);

	assert_int_equal(totp_enrol(NULL, f->s, f->seal_key, "int", UID, "", b32, step),
	                 CAREID_EINVALID);
	assert_int_equal(totp_enrol(NULL, f->s, f->seal_key, "int", UID, "x", "bad", step),
	                 CAREID_EINVALID);
	assert_int_equal(totp_enrol(NULL, f->s, f->seal_key, "int", "999999999999", "x", b32, step),
	                 CAREID_EINVALID);
	free(id);
	free(b32);
}

static void test_verify(void **state)
{
	struct fixture *f = *state;
	char *b32 = NULL, *id = NULL, *got = NULL, code[7], prev[7];
	uint8_t wrong_key[32];

	assert_int_equal(totp_verify(&got, f->s, f->seal_key, "int", UID, "123456", T0),
	                 CAREID_ENOTFOUND);
	assert_string_equal(careid_error_last()->message, "no authenticator app is set up");
	assert_null(got);

	assert_int_equal(totp_secret_new(&b32), 0);
	assert_int_equal(totp_enrol(&id, f->s, f->seal_key, "int", UID, "Phone", b32, T0 / 30), 0);

	/* The next step's code works once. */
	code_at(code, b32, T0 + 30);
	assert_int_equal(totp_verify(&got, f->s, f->seal_key, "int", UID, code, T0 + 30), 0);
	assert_string_equal(got, id);
	free(got);
	got = NULL;
	assert_int_equal(totp_verify(&got, f->s, f->seal_key, "int", UID, code, T0 + 40),
	                 CAREID_EUSED);
	assert_string_equal(careid_error_last()->message,
	                    "this code has already been used; wait for the next one");
	assert_null(got);

	/* A code earlier than the last one accepted, still in the window, is refused. */
	code_at(prev, b32, T0);
	assert_int_equal(totp_verify(NULL, f->s, f->seal_key, "int", UID, prev, T0 + 40),
	                 CAREID_EUSED);

	/* A wrong code; a malformed one. */
	wrong_code(code, b32, T0 + 60);
	assert_int_equal(totp_verify(NULL, f->s, f->seal_key, "int", UID, code, T0 + 60),
	                 CAREID_EDENIED);
	assert_string_equal(careid_error_last()->message, "the code is not correct");
	assert_int_equal(totp_verify(NULL, f->s, f->seal_key, "int", UID, "12345", T0 + 60),
	                 CAREID_EINVALID);

	/* Other users and environments see nothing. */
	code_at(code, b32, T0 + 60);
	assert_int_equal(totp_verify(NULL, f->s, f->seal_key, "int", "555000000002", code, T0 + 60),
	                 CAREID_ENOTFOUND);
	assert_int_equal(totp_verify(NULL, f->s, f->seal_key, "mock", UID, code, T0 + 60),
	                 CAREID_ENOTFOUND);

	/* A wrong seal key is a server fault, not a wrong code. */
	crypto_random_bytes(wrong_key, sizeof(wrong_key));
	assert_int_equal(totp_verify(NULL, f->s, wrong_key, "int", UID, code, T0 + 60),
	                 CAREID_ECRYPTO);

	/* Then the following step's code, with last_used_at recorded. */
	assert_int_equal(totp_verify(NULL, f->s, f->seal_key, "int", UID, code, T0 + 60), 0);
	assert_int_equal(count_rows(f->s, "SELECT COUNT(*) FROM authenticators WHERE "
	                                  "last_used_at = 1111111171"),
	                 1);

	/* A revoked app no longer counts. */
	assert_int_equal(
	    store_exec(f->s, "UPDATE authenticators SET revoked_at = 1 WHERE id = $1", "t", id), 1);
	code_at(code, b32, T0 + 90);
	assert_int_equal(totp_verify(NULL, f->s, f->seal_key, "int", UID, code, T0 + 90),
	                 CAREID_ENOTFOUND);
	free(id);
	free(b32);
}

/* The number a string of digits spells (atoi is banned). */
static int atoi_safe(const char *s)
{
	int v = 0;

	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (*s - '0');
	return v;
}

/* Wrong codes in a row lock the apps at TOTP_MAX_FAILURES (a right one before
 * that clears the count); an administrator unlocks them. */
static void test_lock_after_failures(void **state)
{
	struct fixture *f = *state;
	char *b32 = NULL, *id = NULL, code[TOTP_DIGITS + 1], wrong[16], near[TOTP_DIGITS + 1];
	int64_t now = T0;
	int n = 0, guess;
	bool clash;

	assert_int_equal(totp_secret_new(&b32), 0);
	assert_int_equal(totp_enrol(&id, f->s, f->seal_key, "int", UID, "Phone", b32, 0), 0);
	assert_int_equal(totp_code(code, b32, now), 0);
	/* a code no step this test uses would accept */
	for (guess = (atoi_safe(code) + 500000) % 1000000;; guess = (guess + 1) % 1000000) {
		snprintf(wrong, sizeof(wrong), "%06d", guess);
		clash = false;
		for (int64_t t = now - 60; t <= now + 120; t += 30) {
			assert_int_equal(totp_code(near, b32, t), 0);
			clash = clash || strcmp(near, wrong) == 0;
		}
		if (!clash)
			break;
	}
	for (int i = 0; i < TOTP_MAX_FAILURES - 1; i++)
		assert_int_equal(totp_verify(NULL, f->s, f->seal_key, "int", UID, wrong, now),
		                 CAREID_EDENIED);
	/* a right code clears the count */
	assert_int_equal(totp_verify(NULL, f->s, f->seal_key, "int", UID, code, now), 0);
	for (int i = 0; i < TOTP_MAX_FAILURES; i++)
		assert_int_equal(totp_verify(NULL, f->s, f->seal_key, "int", UID, wrong, now + 30),
		                 CAREID_EDENIED);
	/* locked: even the right code is refused */
	now += 60;
	assert_int_equal(totp_code(code, b32, now), 0);
	assert_int_equal(totp_verify(NULL, f->s, f->seal_key, "int", UID, code, now),
	                 CAREID_ELOCKED);
	assert_non_null(strstr(careid_error_last()->message, "locked"));
	assert_int_equal(directory_authenticator_unlock(&n, f->s, "int", UID), 0);
	assert_int_equal(n, 1);
	assert_int_equal(totp_verify(NULL, f->s, f->seal_key, "int", UID, code, now), 0);
	free(b32);
	free(id);
}

static void test_several_apps(void **state)
{
	struct fixture *f = *state;
	char *a = NULL, *b = NULL, *ida = NULL, *idb = NULL, *got = NULL, code[7];
	const char *uid = "555000000002";

	assert_int_equal(totp_secret_new(&a), 0);
	assert_int_equal(totp_secret_new(&b), 0);
	assert_int_equal(totp_enrol(&ida, f->s, f->seal_key, "int", uid, "Phone", a, 0), 0);
	assert_int_equal(totp_enrol(&idb, f->s, f->seal_key, "int", uid, "Tablet", b, 0), 0);
	assert_string_not_equal(ida, idb);

	code_at(code, b, T0);
	assert_int_equal(totp_verify(&got, f->s, f->seal_key, "int", uid, code, T0), 0);
	assert_string_equal(got, idb);
	free(got);
	got = NULL;
	/* Each app keeps its own counter: the first may still be used at this step. */
	code_at(code, a, T0);
	assert_int_equal(totp_verify(&got, f->s, f->seal_key, "int", uid, code, T0), 0);
	assert_string_equal(got, ida);
	free(got);
	free(ida);
	free(idb);
	free(a);
	free(b);
}

struct racer {
	store *s;
	const uint8_t *seal_key;
	const char *code;
	int64_t now;
	pthread_barrier_t *go;
	int rc;
};

static void *race(void *p)
{
	struct racer *r = p;

	pthread_barrier_wait(r->go);
	r->rc = totp_verify(NULL, r->s, r->seal_key, "mock", UID, r->code, r->now);
	return NULL;
}

/* Two requests with the same code, each on its own thread and so its own
 * connection: exactly one succeeds, however they interleave. */
static void test_concurrent_same_code(void **state)
{
	struct fixture *f = *state;
	char *b32 = NULL, code[7];

	assert_int_equal(totp_secret_new(&b32), 0);
	assert_int_equal(totp_enrol(NULL, f->s, f->seal_key, "mock", UID, "Phone", b32, 0), 0);
	for (int round = 0; round < 25; round++) {
		int64_t now = T0 + 30 * round;
		pthread_barrier_t go;
		pthread_t th[2];
		struct racer r[2];
		int ok = 0, used = 0;

		code_at(code, b32, now);
		assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
		for (int i = 0; i < 2; i++) {
			r[i] = (struct racer){f->s, f->seal_key, code, now, &go, 1};
			assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
		}
		for (int i = 0; i < 2; i++) {
			pthread_join(th[i], NULL);
			ok += r[i].rc == 0;
			used += r[i].rc == CAREID_EUSED;
		}
		pthread_barrier_destroy(&go);
		assert_int_equal(ok, 1);
		assert_int_equal(used, 1);
	}
	free(b32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc6238_vectors),
	    cmocka_unit_test(test_secret_new),
	    cmocka_unit_test(test_uri),
	    cmocka_unit_test(test_check_window_and_format),
	    cmocka_unit_test_setup_teardown(test_enrol_stores_sealed_secret, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_several_apps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock_after_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_same_code, setup, teardown),
	};

	assert_int_equal(crypto_init(), 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
