/* tests for src/oidc/clients.c */
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

static void test_redirect_uri_rules(void **state)
{
	static const char *const ok[] = {
	    "https://rp.example.nhs.uk/callback",
	    "https://rp.example.nhs.uk:8443/cb?tenant=a",
	    "http://127.0.0.1:3000/callback",
	    "http://localhost:8080/cb",
	    "http://[::1]:9000/cb",
	    "http://127.0.0.1/cb",
	};
	static const char *const bad[] = {
	    "",
	    "http://example.com/cb",           /* plain http off loopback */
	    "http://127.0.0.1.example.com/cb", /* not loopback */
	    "http://localhost.evil/cb",
	    "https://rp.example/cb#frag", /* fragment */
	    "ftp://rp.example/cb",
	    "javascript:alert(1)",
	    "https:///nohost",
	    "https://user@rp.example/cb", /* userinfo */
	    "https://rp.example/c b",     /* unencoded space */
	    "https://rp.example/<script>",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(client_check_redirect_uri(ok[i]), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(client_check_redirect_uri(bad[i]), CAREID_EINVALID);
	assert_int_equal(client_check_redirect_uri(NULL), CAREID_EINVALID);
}

static void test_algs(void **state)
{
	(void)state;
	assert_true(client_alg_supported("RS256"));
	assert_true(client_alg_supported("PS512"));
	assert_false(client_alg_supported("none"));
	assert_false(client_alg_supported("HS256"));
	assert_false(client_alg_supported("rs256"));
	assert_false(client_alg_supported(NULL));
}

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
	snprintf(f->dir, sizeof(f->dir), "/tmp/careid-clients-XXXXXX");
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

static void test_secrets_stable(void **state)
{
	struct fixture *f = *state;
	struct secrets again;

	assert_int_equal(secrets_load(&again, f->s), 0);
	assert_memory_equal(&again, &f->sec, sizeof(again));
	assert_memory_not_equal(f->sec.hash_key, f->sec.seal_key, CRYPTO_KEY_BYTES);
}

static void test_add_and_get(void **state)
{
	struct fixture *f = *state;
	const char *uris[] = {"https://rp.example/cb", "http://127.0.0.1:3000/cb",
	                      "https://rp.example/cb"};
	struct client_new cn = {.env = "int",
	                        .name = "Ward app",
	                        .redirect_uris = uris,
	                        .nredirect = 3,
	                        .id_token_alg = "RS512"};
	struct client *c = NULL;
	char hash[CRYPTO_HASH_HEX];
	json_t *out = NULL;
	const char *id, *secret;

	assert_int_equal(client_add(&out, f->s, &f->sec, &cn), 0);
	id = json_string_value(json_object_get(out, "client_id"));
	secret = json_string_value(json_object_get(out, "client_secret"));
	assert_non_null(id);
	assert_non_null(secret);
	assert_true(strlen(secret) >= 43);
	assert_non_null(strstr(id, ".apps.supplier"));
	assert_int_equal(client_get(&c, f->s, "int", id), 0);
	assert_string_equal(c->auth_method, "client_secret_basic");
	assert_string_equal(c->id_token_alg, "RS512");
	assert_int_equal(c->nredirect, 2); /* the repeated URI is kept once */
	assert_true(client_redirect_registered(c, "https://rp.example/cb"));
	assert_false(client_redirect_registered(c, "https://rp.example/cb?x=1"));
	assert_false(client_redirect_registered(c, "https://rp.example/cb/"));
	/* the secret is stored as its keyed hash only */
	crypto_keyed_hash(hash, f->sec.hash_key, secret);
	assert_string_equal(c->secret_hash, hash);
	assert_null(c->secret_sealed);
	client_free(c);
	/* environments are separate */
	assert_int_equal(client_get(&c, f->s, "mock", id), CAREID_ENOTFOUND);
	assert_null(c);
	json_decref(out);
}

static void test_add_refuses(void **state)
{
	struct fixture *f = *state;
	const char *uris[] = {"https://rp.example/cb"};
	const char *http_uri[] = {"http://rp.example/cb"};
	struct client_new base = {
	    .env = "mock", .name = "x", .redirect_uris = uris, .nredirect = 1};
	struct client_new cn;
	json_t *out = NULL;

	cn = base, cn.id_token_alg = "none";
	assert_int_equal(client_add(&out, f->s, &f->sec, &cn), CAREID_EINVALID);
	cn = base, cn.env = "prod";
	assert_int_equal(client_add(&out, f->s, &f->sec, &cn), CAREID_EINVALID);
	cn = base, cn.redirect_uris = http_uri;
	assert_int_equal(client_add(&out, f->s, &f->sec, &cn), CAREID_EINVALID);
	cn = base, cn.nredirect = 0;
	assert_int_equal(client_add(&out, f->s, &f->sec, &cn), CAREID_EINVALID);
	cn = base, cn.auth_method = "none";
	assert_int_equal(client_add(&out, f->s, &f->sec, &cn), CAREID_EINVALID);
	cn = base, cn.auth_method = "private_key_jwt";
	assert_int_equal(client_add(&out, f->s, &f->sec, &cn), CAREID_EINVALID); /* no keys */
	cn.jwks = "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"x\",\"e\":\"AQAB\",\"d\":\"secret\"}]}";
	assert_int_equal(client_add(&out, f->s, &f->sec, &cn), CAREID_EINVALID); /* private */
	cn.jwks = "{\"keys\":[]}";
	assert_int_equal(client_add(&out, f->s, &f->sec, &cn), CAREID_EINVALID);
	cn = base, cn.jwks = "{\"keys\":[{\"kty\":\"RSA\"}]}";
	assert_int_equal(client_add(&out, f->s, &f->sec, &cn), CAREID_EINVALID); /* not pkjwt */
	cn = base, cn.default_acr = "AAL9";
	assert_int_equal(client_add(&out, f->s, &f->sec, &cn), CAREID_EINVALID);
	assert_null(out);
}

static void test_secret_jwt_sealed(void **state)
{
	struct fixture *f = *state;
	const char *uris[] = {"https://rp.example/cb"};
	struct client_new cn = {.env = "mock",
	                        .name = "jwt",
	                        .redirect_uris = uris,
	                        .nredirect = 1,
	                        .auth_method = "client_secret_jwt"};
	struct client *c = NULL;
	json_t *out = NULL;
	char *opened = NULL;

	assert_int_equal(client_add(&out, f->s, &f->sec, &cn), 0);
	assert_int_equal(
	    client_get(&c, f->s, "mock", json_string_value(json_object_get(out, "client_id"))), 0);
	assert_non_null(c->secret_sealed);
	assert_int_equal(crypto_open(&opened, f->sec.seal_key, c->secret_sealed), 0);
	assert_string_equal(opened, json_string_value(json_object_get(out, "client_secret")));
	free(opened);
	client_free(c);
	json_decref(out);
}

static void test_delete(void **state)
{
	struct fixture *f = *state;
	const char *uris[] = {"https://rp.example/cb"};
	struct client_new cn = {
	    .env = "mock", .name = "gone", .redirect_uris = uris, .nredirect = 1};
	struct client *c = NULL;
	json_t *out = NULL;
	const char *id;

	assert_int_equal(client_add(&out, f->s, &f->sec, &cn), 0);
	id = json_string_value(json_object_get(out, "client_id"));
	assert_int_equal(client_delete(f->s, "int", id), CAREID_ENOTFOUND); /* other env */
	assert_int_equal(client_get(&c, f->s, "mock", id), 0);
	client_free(c);
	assert_int_equal(client_delete(f->s, "mock", id), 0);
	assert_int_equal(client_get(&c, f->s, "mock", id), CAREID_ENOTFOUND);
	assert_int_equal(client_delete(f->s, "mock", id), CAREID_ENOTFOUND);
	json_decref(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redirect_uri_rules),
	    cmocka_unit_test(test_algs),
	    cmocka_unit_test_setup_teardown(test_secrets_stable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_add_and_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_add_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secret_jwt_sealed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
