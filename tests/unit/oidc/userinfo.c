/*
 * tests for src/oidc/userinfo.c: answers come from the cache only while
 * nothing they were computed from has changed, also when the change is made
 * through another connection to the store (another careid process).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "crypto/random.h"
#include "directory/directory.h"
#include "oidc/oidc_int.h"

#define USER "656005750108" /* demo user with one role */

struct fixture {
	char dir[256];
	char url[300];
	store *s;
	store *other; /* a second process's view of the same file */
	provider *p;
	char client_id[64];
};

struct answer {
	int status;
	char body[8192];
	char www_authenticate[256];
};

static int group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct provider_opts po = {0};
	const char *uris[] = {"https://rp.example/cb"};
	struct client_new cn = {
	    .env = "mock", .name = "userinfo test", .redirect_uris = uris, .nredirect = 1};
	json_t *j = NULL;

	assert_non_null(f);
	assert_int_equal(crypto_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/careid-userinfo-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->url, sizeof(f->url), "sqlite:%s/t.db", f->dir);
	assert_int_equal(store_open(&f->s, f->url), 0);
	assert_int_equal(store_migrate(f->s, NULL), 0);
	assert_int_equal(store_open(&f->other, f->url), 0);
	assert_int_equal(directory_seed_demo(f->s, NULL), 0);
	po.store = f->s;
	po.public_url = "http://127.0.0.1:9";
	assert_int_equal(provider_new(&f->p, &po), 0);
	assert_int_equal(client_add(&j, f->s, provider_secrets(f->p), &cn), 0);
	snprintf(f->client_id, sizeof(f->client_id), "%s",
	         json_string_value(json_object_get(j, "client_id")));
	json_decref(j);
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[300];

	provider_free(f->p);
	store_free(f->other);
	store_free(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Stores a new access token for USER as the token endpoint would. */
static void new_token(struct fixture *f, char token[64], const char *client_id, const char *scope)
{
	json_t *amr = json_pack("[s]", "pwd");
	struct grant g = {.uid = USER,
	                  .client_id = client_id,
	                  .scope = scope,
	                  .sid = "sid-1",
	                  .acr = "AAL1_USERPASS",
	                  .amr = amr,
	                  .aal = 1,
	                  .auth_time = clock_now()};
	json_t *gj = grant_to_json(&g);
	char *text = json_dumps(gj, JSON_COMPACT);
	char hash[CRYPTO_HASH_HEX];

	assert_non_null(text);
	assert_int_equal(crypto_random_token(token, 64, 32), 0);
	crypto_keyed_hash(hash, provider_secrets(f->p)->hash_key, token);
	assert_int_equal(store_exec(f->s,
	                            "INSERT INTO tokens (token_hash, env, kind, client_id, uid, "
	                            "grant_data, created_at, expires_at) VALUES ($1, 'mock', "
	                            "'access', $2, $3, $4, $5, $6)",
	                            "ttttii", hash, client_id, USER, text, clock_now(),
	                            clock_now() + 3600),
	                 1);
	free(text);
	json_decref(gj);
	json_decref(amr);
}

static void call(struct fixture *f, const char *token, struct answer *out)
{
	arena *a = arena_new();
	char authz[128];
	struct http_header h = {"Authorization", authz};
	struct http_request req = {.arena = a,
	                           .method = "GET",
	                           .path = "/realms/mock/userinfo",
	                           .headers = &h,
	                           .nheaders = 1,
	                           .body = ""};
	struct http_response res;

	assert_non_null(a);
	snprintf(authz, sizeof(authz), "Bearer %s", token);
	http_response_init(&res, a);
	assert_int_equal(provider_handle(f->p, &req, &res), 1);
	memset(out, 0, sizeof(*out));
	out->status = res.status;
	assert_true(res.body.len < sizeof(out->body));
	if (res.body.len)
		memcpy(out->body, res.body.ptr, res.body.len);
	for (size_t i = 0; i < res.nheaders; i++)
		if (strcmp(res.headers[i].name, "WWW-Authenticate") == 0)
			snprintf(out->www_authenticate, sizeof(out->www_authenticate), "%s",
			         res.headers[i].value);
	http_response_release(&res);
	arena_free(a);
}

static int64_t count(store *s, const char *sql)
{
	store_stmt *st = NULL;
	int64_t n = -1;

	if (store_query(s, &st, sql, "") == 0 && store_next(st) == 1)
		n = store_int(st, 0);
	store_done(st);
	return n;
}

static struct oidc_cache_stats stats(struct fixture *f)
{
	struct oidc_cache_stats st;

	oidc_cache_stats(f->p->userinfo, &st);
	return st;
}

static void test_cached_answer_is_the_same_and_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct answer first, again;
	char token[64];
	int64_t audit0, served0;
	uint64_t hits0 = stats(f).hits;

	new_token(f, token, f->client_id, "openid profile email nationalrbacaccess");
	served0 = count(f->s, "SELECT COUNT(*) FROM audit_events WHERE action = 'userinfo.served'");
	call(f, token, &first);
	assert_int_equal(first.status, 200);
	assert_non_null(strstr(first.body, "\"sub\":\"" USER "\""));
	assert_non_null(strstr(first.body, "\"nhsid_nrbac_roles\""));
	assert_int_equal(
	    count(f->s, "SELECT COUNT(*) FROM audit_events WHERE action = 'userinfo.served'"),
	    served0 + 1);
	audit0 = count(f->s, "SELECT COUNT(*) FROM audit_events");
	for (int i = 0; i < 3; i++) {
		call(f, token, &again);
		assert_int_equal(again.status, 200);
		assert_string_equal(again.body, first.body);
	}
	assert_int_equal(stats(f).hits, hits0 + 3);
	assert_int_equal(count(f->s, "SELECT COUNT(*) FROM audit_events"), audit0);
}

static void test_role_change_is_seen_at_once(void **state)
{
	struct fixture *f = *state;
	static const char *const codes[] = {"B0401"};
	static const char *const names[] = {"View Patient Medication"};
	struct dir_role_new rn = {.uid = USER,
	                          .org_code = "A81001",
	                          .role_code = "S8000:G8000:R8001",
	                          .role_name = "\"Clinical\":\"Clinical Provision\":\"Nurse\"",
	                          .activity_codes = codes,
	                          .activity_names = names,
	                          .nactivities = 1};
	struct answer before, after;
	char token[64];

	new_token(f, token, f->client_id, "openid nationalrbacaccess");
	call(f, token, &before);
	call(f, token, &before); /* now from the cache */
	assert_int_equal(before.status, 200);
	assert_null(strstr(before.body, "S8000:G8000:R8001"));
	/* through the other connection: another process's change */
	assert_int_equal(directory_role_add(NULL, f->other, "mock", &rn), 0);
	call(f, token, &after);
	assert_int_equal(after.status, 200);
	assert_non_null(strstr(after.body, "S8000:G8000:R8001"));
	/* and a changed name, by plain SQL on the other connection */
	assert_int_equal(store_exec(f->other,
	                            "UPDATE role_profiles SET role_name = 'Renamed' WHERE "
	                            "env = 'mock' AND uid = '" USER "' AND role_code = "
	                            "'S8000:G8000:R8001'",
	                            ""),
	                 1);
	call(f, token, &after);
	assert_non_null(strstr(after.body, "\"role_name\":\"Renamed\""));
	/* removed again: the answer is what it was */
	assert_int_equal(store_exec(f->other,
	                            "DELETE FROM role_profiles WHERE env = 'mock' AND "
	                            "uid = '" USER "' AND role_code = 'S8000:G8000:R8001'",
	                            ""),
	                 1);
	call(f, token, &after);
	assert_string_equal(after.body, before.body);
}

static void test_user_change_and_deletion(void **state)
{
	struct fixture *f = *state;
	struct answer a;
	char token[64];

	new_token(f, token, f->client_id, "openid profile");
	call(f, token, &a);
	call(f, token, &a);
	assert_non_null(strstr(a.body, "\"given_name\":\"Amara\""));
	assert_int_equal(store_exec(f->other,
	                            "UPDATE users SET given_name = 'Ama' WHERE env = 'mock' AND "
	                            "uid = '" USER "'",
	                            ""),
	                 1);
	call(f, token, &a);
	assert_int_equal(a.status, 200);
	assert_non_null(strstr(a.body, "\"given_name\":\"Ama\""));
	/* deleted (with its roles): the token no longer speaks for anyone */
	assert_int_equal(store_begin(f->other), 0);
	assert_true(store_exec(f->other,
	                       "CREATE TEMP TABLE saved_roles AS SELECT * FROM role_profiles "
	                       "WHERE env = 'mock' AND uid = '" USER "'",
	                       "") >= 0);
	assert_true(store_exec(f->other,
	                       "DELETE FROM role_profiles WHERE env = 'mock' AND uid = '" USER "'",
	                       "") > 0);
	assert_int_equal(store_exec(f->other,
	                            "CREATE TEMP TABLE saved_user AS SELECT * FROM users WHERE "
	                            "env = 'mock' AND uid = '" USER "'",
	                            ""),
	                 0);
	assert_int_equal(
	    store_exec(f->other, "DELETE FROM users WHERE env = 'mock' AND uid = '" USER "'", ""),
	    1);
	assert_int_equal(store_commit(f->other), 0);
	call(f, token, &a);
	assert_int_equal(a.status, 401);
	assert_non_null(strstr(a.www_authenticate, "invalid_token"));
	/* put back for the other tests */
	assert_int_equal(store_begin(f->other), 0);
	assert_int_equal(
	    store_exec(f->other, "UPDATE temp.saved_user SET given_name = 'Amara'", ""), 1);
	assert_int_equal(
	    store_exec(f->other, "INSERT INTO users SELECT * FROM temp.saved_user", ""), 1);
	assert_true(store_exec(f->other, "INSERT INTO role_profiles SELECT * FROM temp.saved_roles",
	                       "") > 0);
	assert_int_equal(store_commit(f->other), 0);
	call(f, token, &a);
	assert_int_equal(a.status, 200);
}

static void test_revoked_and_expired_tokens(void **state)
{
	struct fixture *f = *state;
	struct answer a;
	char token[64], hash[CRYPTO_HASH_HEX];

	new_token(f, token, f->client_id, "openid profile");
	call(f, token, &a);
	call(f, token, &a);
	assert_int_equal(a.status, 200);
	crypto_keyed_hash(hash, provider_secrets(f->p)->hash_key, token);
	assert_int_equal(store_exec(f->other,
	                            "UPDATE tokens SET revoked_at = $1 WHERE token_hash = $2", "it",
	                            clock_now(), hash),
	                 1);
	call(f, token, &a);
	assert_int_equal(a.status, 401);
	assert_non_null(strstr(a.body, "the access token is not valid"));

	new_token(f, token, f->client_id, "openid profile");
	call(f, token, &a);
	call(f, token, &a);
	assert_int_equal(a.status, 200);
	crypto_keyed_hash(hash, provider_secrets(f->p)->hash_key, token);
	assert_int_equal(store_exec(f->other,
	                            "UPDATE tokens SET expires_at = $1 WHERE token_hash = $2", "it",
	                            clock_now(), hash),
	                 1);
	call(f, token, &a);
	assert_int_equal(a.status, 401);
}

static void test_deleted_and_changed_client(void **state)
{
	struct fixture *f = *state;
	const char *uris[] = {"https://rp2.example/cb"};
	struct client_new cn = {
	    .env = "mock", .name = "doomed", .redirect_uris = uris, .nredirect = 1};
	struct answer a;
	char token[64], token2[64], client[64];
	json_t *j = NULL;

	assert_int_equal(client_add(&j, f->s, provider_secrets(f->p), &cn), 0);
	snprintf(client, sizeof(client), "%s", json_string_value(json_object_get(j, "client_id")));
	json_decref(j);
	new_token(f, token, client, "openid profile");
	new_token(f, token2, client, "openid profile");
	call(f, token, &a);
	call(f, token, &a);
	assert_int_equal(a.status, 200);
	/* signed userinfo now: no JSON from the cache */
	assert_int_equal(store_exec(f->other,
	                            "UPDATE clients SET userinfo_alg = 'RS256' WHERE env = "
	                            "'mock' AND client_id = $1",
	                            "t", client),
	                 1);
	{
		arena *ar = arena_new();
		char authz[128];
		struct http_header h = {"Authorization", authz};
		struct http_request req = {.arena = ar,
		                           .method = "GET",
		                           .path = "/realms/mock/userinfo",
		                           .headers = &h,
		                           .nheaders = 1,
		                           .body = ""};
		struct http_response res;

		snprintf(authz, sizeof(authz), "Bearer %s", token);
		http_response_init(&res, ar);
		assert_int_equal(provider_handle(f->p, &req, &res), 1);
		assert_int_equal(res.status, 200);
		assert_string_equal(res.content_type, "application/jwt");
		http_response_release(&res);
		arena_free(ar);
	}
	assert_int_equal(client_delete(f->other, "mock", client), 0);
	call(f, token, &a);
	assert_int_equal(a.status, 401);
	assert_non_null(strstr(a.body, "the client no longer exists"));
	call(f, token2, &a);
	assert_int_equal(a.status, 401);
}

/* Every table the answer is computed from bumps its counter on every kind
 * of write: a migration that rebuilt one without its triggers fails here. */
static void test_every_source_table_has_its_triggers(void **state)
{
	static const char *const tables[] = {
	    "users",   "role_profiles",        "organisations",
	    "clients", "client_redirect_uris", "client_post_logout_uris"};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char sql[256];

		snprintf(sql, sizeof(sql),
		         "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = "
		         "'%s' AND sql LIKE '%%generations%%' AND (sql LIKE '%%AFTER INSERT%%' OR "
		         "sql LIKE '%%AFTER UPDATE%%' OR sql LIKE '%%AFTER DELETE%%')",
		         tables[i]);
		assert_int_equal(count(f->s, sql), 3);
	}
}

/* Without a counter row nothing could move, so nothing is kept: every call
 * computes the answer (and sees a change made meanwhile). */
static void test_no_counter_row_keeps_nothing(void **state)
{
	struct fixture *f = *state;
	struct answer a, b;
	char token[64];
	uint64_t hits0;

	new_token(f, token, f->client_id, "openid profile");
	call(f, token, &a); /* first use: computed, audited */
	assert_int_equal(a.status, 200);
	assert_int_equal(
	    store_exec(f->other, "DELETE FROM generations WHERE kind = 'directory:mock'", ""), 1);
	hits0 = stats(f).hits;
	call(f, token, &a);
	call(f, token, &b);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, b.body);
	assert_int_equal(stats(f).hits, hits0);
	/* the next directory write in mock makes the row again */
	assert_int_equal(
	    store_exec(f->other,
	               "UPDATE users SET given_name = given_name WHERE env = 'mock' AND "
	               "uid = '" USER "'",
	               ""),
	    1);
	assert_int_equal(
	    count(f->s, "SELECT COUNT(*) FROM generations WHERE kind = 'directory:mock'"), 1);
	call(f, token, &a);
	call(f, token, &b);
	assert_int_equal(stats(f).hits, hits0 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cached_answer_is_the_same_and_writes_nothing),
	    cmocka_unit_test(test_role_change_is_seen_at_once),
	    cmocka_unit_test(test_user_change_and_deletion),
	    cmocka_unit_test(test_revoked_and_expired_tokens),
	    cmocka_unit_test(test_deleted_and_changed_client),
	    cmocka_unit_test(test_every_source_table_has_its_triggers),
	    cmocka_unit_test(test_no_counter_row_keeps_nothing),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
