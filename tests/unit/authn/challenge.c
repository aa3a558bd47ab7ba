/* tests for src/authn/challenge.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/challenge.h"
#include "core/error.h"
#include "crypto/random.h"

static const uint8_t key[CRYPTO_KEY_BYTES] = {1, 2, 3};

struct fixture {
	char dir[64];
	store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char url[128];

	assert_non_null(f);
	assert_int_equal(crypto_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/careid-challenge-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(url, sizeof(url), "sqlite:%s/t.db", f->dir);
	assert_int_equal(store_open(&f->s, url), 0);
	assert_int_equal(store_migrate(f->s, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	store_free(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void test_once(void **state)
{
	struct fixture *f = *state;
	char c[CHALLENGE_MAX];

	assert_int_equal(
	    challenge_new(c, f->s, key, "mock", CHALLENGE_SMARTCARD, "tx1", NULL, 1000), 0);
	assert_true(strlen(c) >= 43);
	assert_int_equal(
	    challenge_use(NULL, f->s, key, "mock", CHALLENGE_SMARTCARD, "tx1", c, 1001), 0);
	/* a replay finds it used */
	assert_int_equal(
	    challenge_use(NULL, f->s, key, "mock", CHALLENGE_SMARTCARD, "tx1", c, 1002),
	    CAREID_EUSED);
}

static void test_bound(void **state)
{
	struct fixture *f = *state;
	char c[CHALLENGE_MAX];

	assert_int_equal(
	    challenge_new(c, f->s, key, "mock", CHALLENGE_WEBAUTHN_GET, "tx1", NULL, 1000), 0);
	/* another transaction, purpose or environment: never issued there */
	assert_int_equal(
	    challenge_use(NULL, f->s, key, "mock", CHALLENGE_WEBAUTHN_GET, "tx2", c, 1001),
	    CAREID_ENOTFOUND);
	assert_int_equal(
	    challenge_use(NULL, f->s, key, "mock", CHALLENGE_SMARTCARD, "tx1", c, 1001),
	    CAREID_ENOTFOUND);
	assert_int_equal(
	    challenge_use(NULL, f->s, key, "int", CHALLENGE_WEBAUTHN_GET, "tx1", c, 1001),
	    CAREID_ENOTFOUND);
	assert_int_equal(challenge_use(NULL, f->s, key, "mock", CHALLENGE_WEBAUTHN_GET, "tx1",
	                               "not-a-challenge", 1001),
	                 CAREID_ENOTFOUND);
	/* none of that used it up */
	assert_int_equal(
	    challenge_use(NULL, f->s, key, "mock", CHALLENGE_WEBAUTHN_GET, "tx1", c, 1001), 0);
}

static void test_expiry_and_uid(void **state)
{
	struct fixture *f = *state;
	char c[CHALLENGE_MAX], *uid = NULL;

	assert_int_equal(challenge_new(c, f->s, key, "mock", CHALLENGE_WEBAUTHN_CREATE, "s1",
	                               "656005750108", 1000),
	                 0);
	assert_int_equal(challenge_use(&uid, f->s, key, "mock", CHALLENGE_WEBAUTHN_CREATE, "s1", c,
	                               1000 + CHALLENGE_TTL + 1),
	                 CAREID_ENOTFOUND);
	assert_null(uid);
	assert_int_equal(challenge_new(c, f->s, key, "mock", CHALLENGE_WEBAUTHN_CREATE, "s1",
	                               "656005750108", 2000),
	                 0);
	assert_int_equal(
	    challenge_use(&uid, f->s, key, "mock", CHALLENGE_WEBAUTHN_CREATE, "s1", c, 2001), 0);
	assert_string_equal(uid, "656005750108");
	free(uid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expiry_and_uid, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
