/* tests for src/oidc/keys.c and the server secrets of src/oidc/clients.c with
 * a key-encryption key: private keys sealed at rest, plain ones still read,
 * `careid keys seal`, and the rotation of the key-encryption key */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "crypto/random.h"
#include "crypto/seal.h"
#include "oidc/clients.h"
#include "oidc/keys.h"
#include "oidc/oidc_int.h"

#define KEY_A "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="
#define KEY_B "_-_-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw"

struct fixture {
	char dir[64];
	store *s;
	struct kek none, a, b, b_old_a;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char url[128];

	assert_non_null(f);
	assert_int_equal(crypto_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/careid-keyseal-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(url, sizeof(url), "sqlite:%s/t.db", f->dir);
	assert_int_equal(store_open(&f->s, url), 0);
	assert_int_equal(store_migrate(f->s, NULL), 0);
	assert_int_equal(kek_parse(&f->a, KEY_A, NULL), 0);
	assert_int_equal(kek_parse(&f->b, KEY_B, NULL), 0);
	assert_int_equal(kek_parse(&f->b_old_a, KEY_B, KEY_A), 0);
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
	kek_release(&f->a);
	kek_release(&f->b);
	kek_release(&f->b_old_a);
	free(f);
	return 0;
}

static long long count(store *s, const char *sql, const char *arg)
{
	store_stmt *st = NULL;
	long long n;

	assert_int_equal(arg ? store_query(s, &st, sql, "t", arg) : store_query(s, &st, sql, ""),
	                 0);
	assert_int_equal(store_next(st), 1);
	n = store_int(st, 0);
	store_done(st);
	return n;
}

/* Rows of `env` whose private_jwk starts with `prefix`. */
static long long rows_like(store *s, const char *env, const char *prefix)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	         "SELECT COUNT(*) FROM signing_keys WHERE env = $1 AND "
	         "substr(private_jwk, 1, %zu) = '%s'",
	         strlen(prefix), prefix);
	return count(s, sql, env);
}

static char *signer_kid(keyring *kr)
{
	const struct keyset *ks = keyring_get(kr);
	char *kid = strdup(signing_key_kid(ks->signer));
	static const char *const algs[] = {"RS256", NULL};
	json_t *claims = json_pack("{s:s}", "sub", "910000000001"), *back = NULL;
	char *jwt = NULL;

	/* the key opened is a working private key, in its own JWKS */
	assert_int_equal(jws_sign(&jwt, ks->signer, "RS256", "JWT", claims), 0);
	assert_int_equal(jws_verify_jwks(&back, jwt, ks->jwks, algs), 0);
	json_decref(claims);
	json_decref(back);
	free(jwt);
	keyset_release(ks);
	return kid;
}

static void test_sealed_at_rest(void **state)
{
	struct fixture *f = *state;
	keyring *kr = NULL, *again = NULL;
	char *kid, *kid2, prefix[64];
	store_stmt *st = NULL;

	assert_int_equal(keyring_new(&kr, f->s, "mock", &f->a), 0);
	kid = signer_kid(kr);
	snprintf(prefix, sizeof(prefix), "sealed:v1:%s:", f->a.id);
	assert_int_equal(rows_like(f->s, "mock", prefix), 1);
	/* nothing of the JWK is readable */
	assert_int_equal(store_query(f->s, &st, "SELECT private_jwk FROM signing_keys", ""), 0);
	assert_int_equal(store_next(st), 1);
	assert_null(strstr(store_text(st, 0), "\"d\""));
	assert_null(strstr(store_text(st, 0), "RSA"));
	store_done(st);
	/* another process with the same key loads the same signer */
	assert_int_equal(keyring_new(&again, f->s, "mock", &f->a), 0);
	kid2 = signer_kid(again);
	assert_string_equal(kid, kid2);
	keyring_free(again);
	free(kid2);
	/* without the key: a clear error, and no new key made in its place */
	assert_int_equal(keyring_new(&again, f->s, "mock", &f->none), CAREID_ELOCKED);
	assert_null(again);
	assert_non_null(
	    strstr(careid_error_last()->message, "is sealed; set CAREID_KEY_ENCRYPTION_KEY"));
	/* with another key: said so */
	assert_int_equal(keyring_new(&again, f->s, "mock", &f->b), CAREID_ELOCKED);
	assert_non_null(strstr(careid_error_last()->message, "sealed with another key"));
	assert_int_equal(count(f->s, "SELECT COUNT(*) FROM signing_keys WHERE env = $1", "mock"),
	                 1);
	keyring_free(kr);
	free(kid);
}

static void test_rotate_and_legacy(void **state)
{
	struct fixture *f = *state;
	keyring *kr = NULL;
	json_t *rot = NULL;
	char *kid;

	/* a store written before sealing */
	assert_int_equal(keyring_new(&kr, f->s, "int", &f->none), 0);
	keyring_free(kr);
	assert_int_equal(rows_like(f->s, "int", "{"), 1);
	/* read with a key set, and rotated: the new key is sealed */
	assert_int_equal(keyring_new(&kr, f->s, "int", &f->a), 0);
	assert_int_equal(keys_rotate(&rot, f->s, &f->a, "int"), 0);
	assert_int_equal(rows_like(f->s, "int", "sealed:v1:"), 1);
	assert_int_equal(rows_like(f->s, "int", "{"), 1);
	/* the running keyring follows, plain and sealed keys side by side */
	assert_int_equal(keyring_refresh(kr), 0);
	kid = signer_kid(kr);
	assert_string_equal(kid, json_string_value(json_object_get(rot, "kid")));
	free(kid);
	json_decref(rot);
	/* rotating without the key would put a plain key among sealed ones */
	assert_int_equal(keys_rotate(&rot, f->s, &f->none, "int"), CAREID_EINVALID);
	assert_null(rot);
	assert_non_null(strstr(careid_error_last()->message, "CAREID_KEY_ENCRYPTION_KEY"));
	assert_int_equal(count(f->s, "SELECT COUNT(*) FROM signing_keys WHERE env = $1", "int"), 2);
	/* an environment with plain keys only rotates as before */
	assert_int_equal(keys_rotate(&rot, f->s, &f->none, "dep"), 0);
	assert_int_equal(rows_like(f->s, "dep", "{"), 1);
	json_decref(rot);
	keyring_free(kr);
}

static void test_seal_command(void **state)
{
	struct fixture *f = *state;
	struct secrets before = {0}, after = {0};
	keyring *kr = NULL;
	json_t *out = NULL, *rot = NULL;
	char *kid_mock, *kid_int, *kid;

	/* legacy: plain keys in two environments, plain server secrets */
	assert_int_equal(secrets_load_kek(&before, f->s, &f->none), 0);
	assert_int_equal(keyring_new(&kr, f->s, "mock", &f->none), 0);
	kid_mock = signer_kid(kr);
	keyring_free(kr);
	assert_int_equal(keyring_new(&kr, f->s, "int", &f->none), 0);
	kid_int = signer_kid(kr);
	keyring_free(kr);
	assert_int_equal(keys_rotate(&rot, f->s, &f->none, "int"), 0);
	json_decref(rot);
	/* no key, nothing to seal with */
	assert_int_equal(keys_seal(&out, f->s, &f->none, NULL), CAREID_EINVALID);
	/* one environment: only its keys */
	assert_int_equal(keys_seal(&out, f->s, &f->a, "mock"), 0);
	assert_string_equal(json_string_value(json_object_get(out, "key_id")), f->a.id);
	assert_int_equal(json_array_size(json_object_get(out, "sealed")), 1);
	assert_int_equal(json_array_size(json_object_get(out, "server_secrets")), 0);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(out, "sealed"), 0), "was")),
	                    "plain");
	json_decref(out);
	assert_int_equal(rows_like(f->s, "int", "{"), 2);
	assert_int_equal(count(f->s,
	                       "SELECT COUNT(*) FROM server_secrets WHERE "
	                       "substr(value, 1, 7) = 'sealed:'",
	                       NULL),
	                 0);
	/* every environment and the server secrets */
	assert_int_equal(keys_seal(&out, f->s, &f->a, NULL), 0);
	assert_int_equal(json_array_size(json_object_get(out, "sealed")), 2);
	assert_int_equal(json_array_size(json_object_get(out, "server_secrets")), 3);
	assert_int_equal(json_integer_value(json_object_get(out, "already_sealed")), 1);
	json_decref(out);
	assert_int_equal(count(f->s,
	                       "SELECT COUNT(*) FROM signing_keys WHERE "
	                       "substr(private_jwk, 1, 7) <> 'sealed:'",
	                       NULL),
	                 0);
	assert_int_equal(count(f->s,
	                       "SELECT COUNT(*) FROM server_secrets WHERE "
	                       "substr(value, 1, 7) <> 'sealed:'",
	                       NULL),
	                 0);
	/* idempotent: nothing more to do, nothing audited */
	assert_int_equal(keys_seal(&out, f->s, &f->a, NULL), 0);
	assert_int_equal(json_array_size(json_object_get(out, "sealed")), 0);
	assert_int_equal(json_array_size(json_object_get(out, "server_secrets")), 0);
	assert_int_equal(json_integer_value(json_object_get(out, "already_sealed")), 3 + 3);
	json_decref(out);
	assert_int_equal(
	    count(f->s, "SELECT COUNT(*) FROM audit_events WHERE action = 'keys.sealed'", NULL), 2);
	/* same kids, same keys, same server secrets */
	assert_int_equal(keyring_new(&kr, f->s, "mock", &f->a), 0);
	kid = signer_kid(kr);
	assert_string_equal(kid, kid_mock);
	free(kid);
	keyring_free(kr);
	assert_int_equal(secrets_load_kek(&after, f->s, &f->a), 0);
	assert_memory_equal(before.hash_key, after.hash_key, CRYPTO_KEY_BYTES);
	assert_memory_equal(before.seal_key, after.seal_key, CRYPTO_KEY_BYTES);
	assert_memory_equal(before.csrf_key, after.csrf_key, CRYPTO_KEY_BYTES);
	/* the server secrets need the key now too */
	assert_int_equal(secrets_load_kek(&after, f->s, &f->none), CAREID_ELOCKED);
	assert_non_null(strstr(careid_error_last()->message,
	                       "server secret hash_key is sealed; set CAREID_KEY_ENCRYPTION_KEY"));
	free(kid_mock);
	free(kid_int);
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
}

static void test_kek_rotation(void **state)
{
	struct fixture *f = *state;
	struct secrets sec = {0};
	keyring *kr = NULL;
	json_t *out = NULL;
	char *kid, *kid2, prefix[64];

	assert_int_equal(secrets_load_kek(&sec, f->s, &f->a), 0);
	assert_int_equal(keyring_new(&kr, f->s, "live", &f->a), 0);
	kid = signer_kid(kr);
	keyring_free(kr);
	/* the new key, with the old one for reading */
	assert_int_equal(keyring_new(&kr, f->s, "live", &f->b_old_a), 0);
	keyring_free(kr);
	assert_int_equal(secrets_load_kek(&sec, f->s, &f->b_old_a), 0);
	/* the new key alone cannot read yet */
	assert_int_equal(keyring_new(&kr, f->s, "live", &f->b), CAREID_ELOCKED);
	assert_int_equal(keys_seal(&out, f->s, &f->b_old_a, NULL), 0);
	assert_int_equal(json_array_size(json_object_get(out, "sealed")), 1);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(out, "sealed"), 0), "was")),
	                    "old_key");
	assert_int_equal(json_array_size(json_object_get(out, "server_secrets")), 3);
	json_decref(out);
	snprintf(prefix, sizeof(prefix), "sealed:v1:%s:", f->b.id);
	assert_int_equal(rows_like(f->s, "live", prefix), 1);
	/* now the old key can go */
	assert_int_equal(keyring_new(&kr, f->s, "live", &f->b), 0);
	kid2 = signer_kid(kr);
	assert_string_equal(kid, kid2);
	keyring_free(kr);
	assert_int_equal(secrets_load_kek(&sec, f->s, &f->b), 0);
	free(kid);
	free(kid2);
	memset(&sec, 0, sizeof(sec));
}

/* Rows of signing_keys and audit_events, as a fingerprint of what a refused
 * rotation must leave alone. */
static long long writes(store *s)
{
	return count(s, "SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NULL", NULL) * 1000 +
	       count(s, "SELECT COUNT(*) FROM signing_keys", NULL) * 100 +
	       count(s, "SELECT COUNT(*) FROM audit_events", NULL);
}

static void test_rotate_wrong_kek(void **state)
{
	struct fixture *f = *state;
	struct secrets sec = {0};
	keyring *kr = NULL;
	json_t *rot = NULL;
	const char *msg;
	char prefix[64];
	long long before;

	/* a deployment under key A: server secrets and mock's key sealed with it,
	 * int's key still plain */
	assert_int_equal(secrets_load_kek(&sec, f->s, &f->a), 0);
	assert_int_equal(keyring_new(&kr, f->s, "int", &f->none), 0);
	keyring_free(kr);
	before = writes(f->s);
	/* int has no sealed key, but the server secrets say B is not the key */
	assert_int_equal(keys_rotate(&rot, f->s, &f->b, "int"), CAREID_ELOCKED);
	assert_null(rot);
	msg = careid_error_last()->message;
	assert_non_null(strstr(msg, "server secret csrf_key is sealed with another key"));
	assert_non_null(strstr(msg, f->a.id));
	assert_non_null(strstr(msg, f->b.id));
	assert_int_equal(writes(f->s), before);
	assert_int_equal(keyring_new(&kr, f->s, "mock", &f->a), 0);
	keyring_free(kr);
	before = writes(f->s);
	/* mock's own key sealed with A: named first */
	assert_int_equal(keys_rotate(&rot, f->s, &f->b, "mock"), CAREID_ELOCKED);
	assert_null(rot);
	msg = careid_error_last()->message;
	assert_non_null(strstr(msg, "signing key mock/"));
	assert_non_null(strstr(msg, "is sealed with another key"));
	assert_non_null(strstr(msg, f->a.id));
	assert_non_null(strstr(msg, f->b.id));
	assert_int_equal(writes(f->s), before);
	/* the right key still rotates, plain int too */
	assert_int_equal(keys_rotate(&rot, f->s, &f->a, "mock"), 0);
	json_decref(rot);
	assert_int_equal(keys_rotate(&rot, f->s, &f->a, "int"), 0);
	json_decref(rot);
	/* the KEK's own rotation: B with A as the old key */
	assert_int_equal(keys_rotate(&rot, f->s, &f->b_old_a, "mock"), 0);
	snprintf(prefix, sizeof(prefix), "sealed:v1:%s:", f->b.id);
	assert_int_equal(rows_like(f->s, "mock", prefix), 1);
	json_decref(rot);
	/* a key out of the JWKS no server opens: it does not stand in the way */
	assert_true(
	    store_exec(f->s, "UPDATE signing_keys SET retired_at = 1 WHERE retired_at IS NOT NULL",
	               "") >= 1);
	assert_int_equal(keys_seal(&rot, f->s, &f->b_old_a, NULL), 0);
	json_decref(rot);
	assert_true(
	    store_exec(f->s,
	               "UPDATE signing_keys SET private_jwk = 'sealed:v1:0123456789abcdef:AAAA' "
	               "WHERE retired_at = 1",
	               "") >= 1);
	assert_int_equal(keys_rotate(&rot, f->s, &f->b, "mock"), 0);
	json_decref(rot);
	explicit_bzero(&sec, sizeof(sec));
}

static void test_seal_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	keyring *kr = NULL;
	json_t *out = NULL;

	/* mock sealed with a key that is not given, int plain */
	assert_int_equal(keyring_new(&kr, f->s, "mock", &f->b), 0);
	keyring_free(kr);
	assert_int_equal(keyring_new(&kr, f->s, "int", &f->none), 0);
	keyring_free(kr);
	assert_int_equal(keys_seal(&out, f->s, &f->a, NULL), CAREID_ELOCKED);
	assert_null(out);
	assert_int_equal(rows_like(f->s, "int", "{"), 1);
	assert_int_equal(
	    count(f->s, "SELECT COUNT(*) FROM audit_events WHERE action = 'keys.sealed'", NULL), 0);
}

static void test_moved_row_is_damage(void **state)
{
	struct fixture *f = *state;
	keyring *kr = NULL;
	json_t *rot = NULL;
	const struct keyset *ks;
	char stmt[512], old[128];

	assert_int_equal(keyring_new(&kr, f->s, "dep", &f->a), 0);
	ks = keyring_get(kr);
	snprintf(old, sizeof(old), "%s", signing_key_kid(ks->signer));
	keyset_release(ks);
	assert_int_equal(keys_rotate(&rot, f->s, &f->a, "dep"), 0);
	/* the retired key's row gets the signer's sealed value: it does not open
	 * there, so it drops out (logged), while the signer goes on */
	snprintf(stmt, sizeof(stmt),
	         "UPDATE signing_keys SET private_jwk = (SELECT private_jwk FROM signing_keys "
	         "WHERE kid = '%s') WHERE kid = '%s'",
	         json_string_value(json_object_get(rot, "kid")), old);
	assert_true(store_exec(f->s, stmt, "") == 1);
	assert_int_equal(keyring_refresh(kr), 0);
	/* the refresh only reloads on a change of kids: start afresh */
	keyring_free(kr);
	assert_int_equal(keyring_new(&kr, f->s, "dep", &f->a), 0);
	ks = keyring_get(kr);
	assert_string_equal(signing_key_kid(ks->signer),
	                    json_string_value(json_object_get(rot, "kid")));
	assert_int_equal(json_array_size(json_object_get(ks->jwks, "keys")), 1);
	keyset_release(ks);
	keyring_free(kr);
	json_decref(rot);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sealed_at_rest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_and_legacy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seal_command, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kek_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_wrong_kek, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seal_all_or_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_moved_row_is_damage, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
