/* tests for src/oidc/keys.c: rotation, the published keys, the keyring */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "crypto/random.h"
#include "oidc/keys.h"
#include "oidc/oidc_int.h"

/* keys stored plain (tests/unit/oidc/keys_sealed.c seals them) */
static const struct kek no_kek;

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
	snprintf(f->dir, sizeof(f->dir), "/tmp/careid-keys-XXXXXX");
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

static size_t nkeys(const struct keyset *ks)
{
	return json_array_size(json_object_get(ks->jwks, "keys"));
}

static const char *kid_at(const struct keyset *ks, size_t i)
{
	return json_string_value(
	    json_object_get(json_array_get(json_object_get(ks->jwks, "keys"), i), "kid"));
}

static bool published(const struct keyset *ks, const char *kid)
{
	for (size_t i = 0; i < nkeys(ks); i++)
		if (strcmp(kid_at(ks, i), kid) == 0)
			return true;
	return false;
}

/* Signs with the keyset's signer and verifies against `jwks`. */
static int sign_verify(const struct keyset *ks, const json_t *jwks)
{
	static const char *const algs[] = {"RS256", NULL};
	json_t *claims = json_pack("{s:s}", "sub", "910000000001"), *back = NULL;
	char *jwt = NULL;
	int rc = jws_sign(&jwt, ks->signer, "RS256", "JWT", claims);

	if (!rc)
		rc = jws_verify_jwks(&back, jwt, jwks, algs);
	json_decref(claims);
	json_decref(back);
	free(jwt);
	return rc;
}

static void test_first_key_generated(void **state)
{
	struct fixture *f = *state;
	const struct keyset *ks;
	keyring *kr = NULL, *again = NULL;
	json_t *list = NULL, *doc;
	char kid[128];

	assert_int_equal(keyring_new(&kr, f->s, "mock", &no_kek), 0);
	ks = keyring_get(kr);
	assert_non_null(ks->signer);
	assert_int_equal(nkeys(ks), 1);
	assert_string_equal(kid_at(ks, 0), signing_key_kid(ks->signer));
	snprintf(kid, sizeof(kid), "%s", signing_key_kid(ks->signer));
	/* the text is the JWKS, and holds no private part */
	doc = json_loads(ks->jwks_text, 0, NULL);
	assert_true(json_equal(doc, (json_t *)ks->jwks));
	assert_null(json_object_get(json_array_get(json_object_get(doc, "keys"), 0), "d"));
	json_decref(doc);
	assert_int_equal(sign_verify(ks, ks->jwks), 0);
	keyset_release(ks);
	/* a second process loads the same key */
	assert_int_equal(keyring_new(&again, f->s, "mock", &no_kek), 0);
	ks = keyring_get(again);
	assert_string_equal(signing_key_kid(ks->signer), kid);
	keyset_release(ks);
	assert_int_equal(keys_list(&list, f->s, "mock"), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "state")),
	                    "signing");
	json_decref(list);
	/* environments have keys apart */
	assert_int_equal(keys_list(&list, f->s, "int"), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	keyring_free(again);
	keyring_free(kr);
}

static void test_rotation(void **state)
{
	struct fixture *f = *state;
	const struct keyset *before, *after;
	json_t *rot = NULL, *list = NULL;
	keyring *kr = NULL;
	char old[128], stmt[256];

	assert_int_equal(keyring_new(&kr, f->s, "mock", &no_kek), 0);
	before = keyring_get(kr);
	snprintf(old, sizeof(old), "%s", signing_key_kid(before->signer));
	assert_int_equal(keys_rotate(&rot, f->s, &no_kek, "mock"), 0);
	assert_string_not_equal(json_string_value(json_object_get(rot, "kid")), old);
	assert_int_equal(json_array_size(json_object_get(rot, "retired")), 1);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(rot, "retired"), 0), "kid")),
	                    old);
	/* the running keyring follows */
	assert_int_equal(keyring_refresh(kr), 0);
	after = keyring_get(kr);
	assert_string_equal(signing_key_kid(after->signer),
	                    json_string_value(json_object_get(rot, "kid")));
	assert_int_equal(nkeys(after), 2);
	assert_string_equal(kid_at(after, 0), signing_key_kid(after->signer));
	assert_true(published(after, old));
	/* what the old key signed still verifies; the old snapshot is still usable */
	assert_int_equal(sign_verify(before, after->jwks), 0);
	assert_int_equal(sign_verify(after, after->jwks), 0);
	/* the new key was not in the old JWKS */
	assert_int_equal(sign_verify(after, before->jwks), CAREID_EDENIED);
	keyset_release(before);
	keyset_release(after);

	/* an hour and five minutes later the retired key drops out */
	snprintf(stmt, sizeof(stmt),
	         "UPDATE signing_keys SET retired_at = retired_at - %d WHERE kid = '%s'",
	         KEYS_RETIRED_PUBLISHED, old);
	assert_true(store_exec(f->s, stmt, "") == 1);
	assert_int_equal(keyring_refresh(kr), 0);
	after = keyring_get(kr);
	assert_int_equal(nkeys(after), 1);
	assert_false(published(after, old));
	keyset_release(after);
	assert_int_equal(keys_list(&list, f->s, "mock"), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "state")),
	                    "signing");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "state")),
	                    "expired");
	assert_true(json_is_integer(json_object_get(json_array_get(list, 1), "published_until")));
	json_decref(list);
	json_decref(rot);
	keyring_free(kr);
}

static void test_withdrawn_and_damaged_keys(void **state)
{
	struct fixture *f = *state;
	const struct keyset *ks;
	json_t *rot = NULL, *list = NULL;
	keyring *kr = NULL;
	char first[128], second[128], stmt[256];

	assert_int_equal(keyring_new(&kr, f->s, "int", &no_kek), 0);
	ks = keyring_get(kr);
	snprintf(first, sizeof(first), "%s", signing_key_kid(ks->signer));
	keyset_release(ks);
	assert_int_equal(keys_rotate(&rot, f->s, &no_kek, "int"), 0);
	snprintf(second, sizeof(second), "%s", json_string_value(json_object_get(rot, "kid")));
	json_decref(rot);
	assert_int_equal(keys_rotate(&rot, f->s, &no_kek, "int"), 0);
	json_decref(rot);
	assert_int_equal(keyring_refresh(kr), 0);
	ks = keyring_get(kr);
	assert_int_equal(nkeys(ks), 3);
	keyset_release(ks);
	/* a withdrawn key is never published */
	snprintf(stmt, sizeof(stmt), "UPDATE signing_keys SET active = 0 WHERE kid = '%s'", first);
	assert_true(store_exec(f->s, stmt, "") == 1);
	/* a damaged one is skipped, not fatal */
	snprintf(stmt, sizeof(stmt),
	         "UPDATE signing_keys SET private_jwk = '{\"kty\":\"RSA\"}' WHERE kid = '%s'",
	         second);
	assert_true(store_exec(f->s, stmt, "") == 1);
	assert_int_equal(keyring_refresh(kr), 0);
	ks = keyring_get(kr);
	assert_int_equal(nkeys(ks), 1);
	assert_false(published(ks, first));
	assert_false(published(ks, second));
	keyset_release(ks);
	assert_int_equal(keys_list(&list, f->s, "int"), 0);
	assert_int_equal(json_array_size(list), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *k = json_array_get(list, i);
		const char *kid = json_string_value(json_object_get(k, "kid"));

		assert_string_equal(json_string_value(json_object_get(k, "state")),
		                    strcmp(kid, first) == 0    ? "withdrawn"
		                    : strcmp(kid, second) == 0 ? "published"
		                                               : "signing");
	}
	json_decref(list);
	/* with no key left to sign, the keys in use stay */
	assert_true(store_exec(f->s, "UPDATE signing_keys SET active = 0 WHERE env = 'int'", "") ==
	            3);
	assert_int_equal(keyring_refresh(kr), CAREID_ENOTFOUND);
	ks = keyring_get(kr);
	assert_non_null(ks->signer);
	assert_int_equal(nkeys(ks), 1);
	keyset_release(ks);
	keyring_free(kr);
}

static void test_rotation_audited(void **state)
{
	struct fixture *f = *state;
	json_t *rot = NULL;
	store_stmt *st = NULL;

	assert_int_equal(keys_rotate(&rot, f->s, &no_kek, "dep"), 0);
	assert_int_equal(
	    store_query(f->s, &st, "SELECT actor, action, subject, detail FROM audit_events", ""),
	    0);
	assert_int_equal(store_next(st), 1);
	assert_string_equal(store_text(st, 0), "operator");
	assert_string_equal(store_text(st, 1), "keys.rotated");
	assert_string_equal(store_text(st, 2), "keys:dep");
	assert_non_null(strstr(store_text(st, 3), json_string_value(json_object_get(rot, "kid"))));
	assert_int_equal(store_next(st), 0);
	store_done(st);
	json_decref(rot);
}

/* Worker threads sign and verify with whatever snapshot they get while the
 * main thread rotates: a snapshot is never freed under a reader, and its
 * signer is always in its own JWKS. */
struct race {
	keyring *kr;
	atomic_bool stop;
	atomic_int signed_ok, failures;
};

static void *reader(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		const struct keyset *ks = keyring_get(r->kr);

		if (sign_verify(ks, ks->jwks))
			atomic_fetch_add(&r->failures, 1);
		else
			atomic_fetch_add(&r->signed_ok, 1);
		keyset_release(ks);
	}
	return NULL;
}

static void test_readers_during_rotations(void **state)
{
	struct fixture *f = *state;
	struct race *r = calloc(1, sizeof(*r));
	pthread_t th[4];
	const struct keyset *ks;
	json_t *rot = NULL;
	char last[128] = "";

	assert_non_null(r);
	assert_int_equal(keyring_new(&r->kr, f->s, "live", &no_kek), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, r), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(keys_rotate(&rot, f->s, &no_kek, "live"), 0);
		snprintf(last, sizeof(last), "%s", json_string_value(json_object_get(rot, "kid")));
		json_decref(rot);
		/* the readers notice within about a second */
		usleep(1100 * 1000);
	}
	atomic_store(&r->stop, true);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&r->failures), 0);
	assert_true(atomic_load(&r->signed_ok) > 0);
	ks = keyring_get(r->kr);
	assert_string_equal(signing_key_kid(ks->signer), last);
	assert_int_equal(nkeys(ks), 4);
	keyset_release(ks);
	keyring_free(r->kr);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_first_key_generated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_withdrawn_and_damaged_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation_audited, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readers_during_rotations, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
