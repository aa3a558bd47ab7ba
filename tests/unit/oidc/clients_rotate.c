/* tests for client_rotate_secret() and client_post_logout_list() in
 * src/oidc/clients.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "crypto/random.h"
#include "oidc/clients.h"

struct fixture {
	char dir[256];
	store *s;
	struct secrets sec;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char url[300];

	assert_non_null(f);
	assert_int_equal(crypto_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/careid-rotate-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(url, sizeof(url), "sqlite:%s/t.db", f->dir);
	assert_int_equal(store_open(&f->s, url), 0);
	assert_int_equal(store_migrate(f->s, NULL), 0);
	assert_int_equal(secrets_load(&f->sec, f->s), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[300];

	store_free(f->s);
	snprintf(path, sizeof(path), "rm -rf '%s'", f->dir);
	assert_int_equal(system(path), 0);
	free(f);
	return 0;
}

/* Registers a client in int; its id and secret (NULL for private_key_jwt)
 * stay in `*out`. */
static const char *add(struct fixture *f, const char *method, json_t **out)
{
	static const char *const uris[] = {"https://rp.example/cb"};
	struct client_new cn = {.env = "int",
	                        .name = "rotating",
	                        .auth_method = method,
	                        .redirect_uris = uris,
	                        .nredirect = 1};

	if (method && strcmp(method, "private_key_jwt") == 0)
		cn.jwks_uri = "https://rp.example/jwks.json";
	assert_int_equal(client_add(out, f->s, &f->sec, &cn), 0);
	return json_string_value(json_object_get(*out, "client_id"));
}

static void assert_hash_of(struct fixture *f, const char *id, const char *secret)
{
	struct client *c = NULL;
	char hash[CRYPTO_HASH_HEX];

	assert_int_equal(client_get(&c, f->s, "int", id), 0);
	crypto_keyed_hash(hash, f->sec.hash_key, secret);
	assert_string_equal(c->secret_hash, hash);
	client_free(c);
}

static void test_rotate_basic(void **state)
{
	struct fixture *f = *state;
	json_t *added = NULL, *rotated = NULL, *again = NULL;
	const char *id = add(f, NULL, &added);
	const char *old = json_string_value(json_object_get(added, "client_secret"));
	const char *fresh;
	struct client *c = NULL;

	assert_int_equal(client_rotate_secret(&rotated, f->s, &f->sec, "int", id), 0);
	assert_string_equal(json_string_value(json_object_get(rotated, "client_id")), id);
	fresh = json_string_value(json_object_get(rotated, "client_secret"));
	assert_non_null(fresh);
	assert_true(strlen(fresh) >= 43);
	assert_string_not_equal(fresh, old);
	/* only the new secret's hash is kept: the old one stops working */
	assert_hash_of(f, id, fresh);
	assert_int_equal(client_get(&c, f->s, "int", id), 0);
	assert_null(c->secret_sealed);
	assert_string_equal(c->auth_method, "client_secret_basic");
	assert_string_equal(c->name, "rotating");
	assert_int_equal(c->nredirect, 1);
	client_free(c);
	/* and again: every rotation gives a new secret */
	assert_int_equal(client_rotate_secret(&again, f->s, &f->sec, "int", id), 0);
	assert_string_not_equal(json_string_value(json_object_get(again, "client_secret")), fresh);
	assert_hash_of(f, id, json_string_value(json_object_get(again, "client_secret")));
	json_decref(again);
	json_decref(rotated);
	json_decref(added);
}

static void test_rotate_secret_jwt_reseals(void **state)
{
	struct fixture *f = *state;
	json_t *added = NULL, *rotated = NULL;
	const char *id = add(f, "client_secret_jwt", &added);
	struct client *c = NULL;
	char *opened = NULL;

	assert_int_equal(client_rotate_secret(&rotated, f->s, &f->sec, "int", id), 0);
	assert_int_equal(client_get(&c, f->s, "int", id), 0);
	assert_non_null(c->secret_sealed);
	assert_int_equal(crypto_open(&opened, f->sec.seal_key, c->secret_sealed), 0);
	assert_string_equal(opened, json_string_value(json_object_get(rotated, "client_secret")));
	free(opened);
	client_free(c);
	json_decref(rotated);
	json_decref(added);
}

static void test_rotate_refuses(void **state)
{
	struct fixture *f = *state;
	json_t *added = NULL, *out = NULL;
	const char *id = add(f, "private_key_jwt", &added);
	struct client *c = NULL;

	/* private_key_jwt has no secret: nothing is changed */
	assert_int_equal(client_rotate_secret(&out, f->s, &f->sec, "int", id), CAREID_EINVALID);
	assert_null(out);
	assert_int_equal(client_get(&c, f->s, "int", id), 0);
	assert_null(c->secret_hash);
	client_free(c);
	/* unknown clients, other environments */
	assert_int_equal(client_rotate_secret(&out, f->s, &f->sec, "int", "nope"),
	                 CAREID_ENOTFOUND);
	assert_int_equal(client_rotate_secret(&out, f->s, &f->sec, "dep", id), CAREID_ENOTFOUND);
	assert_int_equal(client_rotate_secret(&out, f->s, &f->sec, "int", NULL), CAREID_ENOTFOUND);
	assert_null(out);
	json_decref(added);
}

static void test_rotate_in_callers_transaction(void **state)
{
	struct fixture *f = *state;
	json_t *added = NULL, *rotated = NULL;
	const char *id = add(f, "client_secret_post", &added);
	const char *old = json_string_value(json_object_get(added, "client_secret"));

	/* rolled back with the caller's transaction: the old secret stays */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(client_rotate_secret(&rotated, f->s, &f->sec, "int", id), 0);
	assert_int_equal(store_rollback(f->s), 0);
	assert_hash_of(f, id, old);
	json_decref(rotated);
	/* committed with it: the new one */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(client_rotate_secret(&rotated, f->s, &f->sec, "int", id), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_hash_of(f, id, json_string_value(json_object_get(rotated, "client_secret")));
	json_decref(rotated);
	json_decref(added);
}

static void test_post_logout_list(void **state)
{
	struct fixture *f = *state;
	static const char *const uris[] = {"https://rp.example/cb"};
	static const char *const logout[] = {"https://rp.example/signed-out",
	                                     "http://127.0.0.1:3000/bye"};
	struct client_new cn = {.env = "int",
	                        .name = "logout",
	                        .redirect_uris = uris,
	                        .nredirect = 1,
	                        .post_logout_uris = logout,
	                        .npost_logout = 2};
	json_t *added = NULL, *list = NULL;
	const char *id;

	assert_int_equal(client_add(&added, f->s, &f->sec, &cn), 0);
	id = json_string_value(json_object_get(added, "client_id"));
	assert_int_equal(client_post_logout_list(&list, f->s, "int", id), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_array_get(list, 0)),
	                    "http://127.0.0.1:3000/bye");
	assert_string_equal(json_string_value(json_array_get(list, 1)),
	                    "https://rp.example/signed-out");
	json_decref(list);
	assert_int_equal(client_post_logout_list(&list, f->s, "dep", id), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	json_decref(added);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rotate_basic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_secret_jwt_reseals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotate_in_callers_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_post_logout_list, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
