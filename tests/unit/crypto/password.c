#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "core/error.h"
#include "crypto/password.h"
#include "crypto/random.h"

static int setup(void **state)
{
	(void)state;
	return crypto_init();
}

static void test_hash_verify(void **state)
{
	char h[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];

	(void)state;
	assert_int_equal(password_hash(h, "correct horse battery staple"), 0);
	assert_true(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
	assert_int_equal(password_verify(h, "correct horse battery staple"), 0);
	assert_int_equal(password_verify(h, "correct horse battery stapler"), CAREID_EDENIED);
	assert_int_equal(password_verify(h, "Correct horse battery staple"), CAREID_EDENIED);
	assert_int_equal(password_verify(h, ""), CAREID_EDENIED);
	/* A random salt: the same password hashes differently. */
	assert_int_equal(password_hash(h2, "correct horse battery staple"), 0);
	assert_string_not_equal(h, h2);
	assert_int_equal(password_verify(h2, "correct horse battery staple"), 0);
}

static void test_hash_lengths(void **state)
{
	char h[PASSWORD_HASH_MAX];
	char *long_pw = malloc(PASSWORD_MAX_LEN + 2);

	(void)state;
	assert_non_null(long_pw);
	assert_int_equal(password_hash(h, ""), CAREID_EINVALID);
	assert_int_equal(password_hash(h, NULL), CAREID_EINVALID);
	memset(long_pw, 'p', PASSWORD_MAX_LEN + 1);
	long_pw[PASSWORD_MAX_LEN + 1] = '\0';
	assert_int_equal(password_hash(h, long_pw), CAREID_EINVALID);
	long_pw[PASSWORD_MAX_LEN] = '\0';
	assert_int_equal(password_hash(h, long_pw), 0);
	assert_int_equal(password_verify(h, long_pw), 0);
	free(long_pw);
}

static void test_garbage_stored(void **state)
{
	char h[PASSWORD_HASH_MAX];

	(void)state;
	assert_int_equal(password_verify("", "pw"), CAREID_EINVALID);
	assert_int_equal(password_verify(NULL, "pw"), CAREID_EINVALID);
	assert_int_equal(password_verify("plaintext", "plaintext"), CAREID_EINVALID);
	assert_int_equal(password_verify("$2b$12$abcdefghijklmnopqrstuv", "pw"), CAREID_EINVALID);
	assert_int_equal(password_verify("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA", "pw"),
	                 CAREID_EINVALID);
	assert_int_equal(password_verify("$argon2id$", "pw"), CAREID_EINVALID);
	assert_int_equal(password_verify("$argon2id$v=19$m=19456,t=2,p=1$!!$!!", "pw"),
	                 CAREID_EINVALID);
	/* Parameters beyond what we agree to spend. */
	assert_int_equal(password_hash(h, "pw"), 0);
	char *p = strstr(h, "$m=19456,t=2");
	assert_non_null(p);
	char planted[PASSWORD_HASH_MAX];
	snprintf(planted, sizeof(planted), "$argon2id$v=19$m=4194304,t=2,p=1%s",
	         strchr(p + 1, '$'));
	assert_int_equal(password_verify(planted, "pw"), CAREID_EINVALID);
	snprintf(planted, sizeof(planted), "$argon2id$v=19$m=19456,t=99,p=1%s", strchr(p + 1, '$'));
	assert_int_equal(password_verify(planted, "pw"), CAREID_EINVALID);
	/* A truncated hash is not understood either. */
	h[strlen(h) - 10] = '\0';
	assert_int_equal(password_verify(h, "pw"), CAREID_EINVALID);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_dummy_spends_time(void **state)
{
	char h[PASSWORD_HASH_MAX];
	double t0, t_real = 1e9, t_dummy = 1e9, t;

	(void)state;
	assert_int_equal(password_hash(h, "pw"), 0);
	password_verify_dummy("warm-up"); /* makes the dummy hash once */
	/* The fastest of three runs each, to keep a busy machine out of it. */
	for (int i = 0; i < 3; i++) {
		t0 = now();
		assert_int_equal(password_verify(h, "wrong"), CAREID_EDENIED);
		t = now() - t0;
		t_real = t < t_real ? t : t_real;
		t0 = now();
		password_verify_dummy("wrong");
		t = now() - t0;
		t_dummy = t < t_dummy ? t : t_dummy;
	}
	/* Same work: within a generous factor (sanitizers, loaded machines). */
	assert_true(t_dummy > t_real / 4);
	assert_true(t_dummy < t_real * 4);
	password_verify_dummy(NULL);
}

struct worker {
	char hash[PASSWORD_HASH_MAX];
	int rc;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	w->rc = password_hash(w->hash, "concurrent");
	if (w->rc == 0)
		w->rc = password_verify(w->hash, "concurrent");
	return NULL;
}

static void test_concurrent(void **state)
{
	enum { N = PASSWORD_MAX_CONCURRENT + 3 };
	pthread_t th[N];
	struct worker w[N];

	(void)state;
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].rc, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_verify),    cmocka_unit_test(test_hash_lengths),
	    cmocka_unit_test(test_garbage_stored), cmocka_unit_test(test_dummy_spends_time),
	    cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
