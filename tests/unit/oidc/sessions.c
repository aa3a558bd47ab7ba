/*
 * Tests src/oidc/sessions.c: what "session.ended" records
 * (docs/conformance-evidence.md): env, sid, reason, logout_tokens, the
 * clients the session signed in to and, for RP-initiated logout, the client
 * that asked; a session ends once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/error.h"
#include "oidc/sessions.h"

#define UID "910000000001"

struct fixture {
	char dir[256];
	store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char url[300];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/careid-sessions-XXXXXX");
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
	char cmd[300];

	store_free(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A live session `sid` in mock, signed in to each of `clients`. */
static void session(struct fixture *f, const char *sid, const char *const *clients, size_t n)
{
	int64_t now = clock_now();
	char id_hash[80];

	snprintf(id_hash, sizeof(id_hash), "hash-%s", sid);
	assert_int_equal(store_exec(f->s,
	                            "INSERT INTO sessions (id_hash, env, sid, uid, auth_time, acr, "
	                            "amr, aal, created_at, last_seen, expires_at) VALUES ($1, $2, "
	                            "$3, $4, $5, $6, $7, $8, $9, $10, $11)",
	                            "ttttittiiii", id_hash, "mock", sid, UID, now, "AAL1_USERPASS",
	                            "[\"pwd\"]", (int64_t)1, now, now, now + 3600),
	                 1);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(store_exec(f->s,
		                            "INSERT INTO session_clients (env, sid, client_id, "
		                            "first_at, last_at) VALUES ($1, $2, $3, $4, $5)",
		                            "tttii", "mock", sid, clients[i], now + (int64_t)i,
		                            now + (int64_t)i),
		                 1);
}

/* The actor and detail of the only "session.ended" event of the user so far
 * (the newest); `*n_out` counts them. */
static json_t *ended_event(struct fixture *f, char actor[64], int *n_out)
{
	store_stmt *st = NULL;
	json_t *detail = NULL;
	int n = 0;

	assert_int_equal(store_query(f->s, &st,
	                             "SELECT actor, subject, detail FROM audit_events WHERE "
	                             "action = 'session.ended' ORDER BY seq",
	                             ""),
	                 0);
	while (store_next(st) == 1) {
		n++;
		snprintf(actor, 64, "%s", store_text(st, 0));
		assert_string_equal(store_text(st, 1), "user:" UID);
		json_decref(detail);
		detail = json_loads(store_text(st, 2), 0, NULL);
	}
	store_done(st);
	*n_out = n;
	return detail;
}

static void test_logout_records_the_client_that_asked(void **state)
{
	struct fixture *f = *state;
	static const char *const clients[] = {"client-a", "client-b"};
	struct session_end e = {.env = "mock",
	                        .sid = "sid-1",
	                        .reason = SESSION_END_LOGOUT,
	                        .actor = "client-b",
	                        .client_id = "client-b"};
	char actor[64];
	json_t *d, *list;
	int ended = -1, notified = -1, n;

	session(f, "sid-1", clients, 2);
	assert_int_equal(sessions_end_for(&ended, &notified, f->s, &e), 0);
	assert_int_equal(ended, 1);
	assert_int_equal(notified, 0); /* no client registered a back-channel URI */
	d = ended_event(f, actor, &n);
	assert_int_equal(n, 1);
	assert_string_equal(actor, "client-b");
	assert_string_equal(json_string_value(json_object_get(d, "env")), "mock");
	assert_string_equal(json_string_value(json_object_get(d, "sid")), "sid-1");
	assert_string_equal(json_string_value(json_object_get(d, "reason")), "logout");
	assert_string_equal(json_string_value(json_object_get(d, "client_id")), "client-b");
	assert_int_equal(json_integer_value(json_object_get(d, "logout_tokens")), 0);
	list = json_object_get(d, "clients");
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_array_get(list, 0)), "client-a");
	assert_string_equal(json_string_value(json_array_get(list, 1)), "client-b");
	json_decref(d);
	/* ended already: not an error, nothing more recorded */
	assert_int_equal(sessions_end_for(&ended, NULL, f->s, &e), 0);
	assert_int_equal(ended, 0);
	json_decref(ended_event(f, actor, &n));
	assert_int_equal(n, 1);
}

static void test_other_ends_name_no_client(void **state)
{
	struct fixture *f = *state;
	char actor[64];
	json_t *d;
	int ended = -1, n;

	session(f, "sid-2", NULL, 0);
	assert_int_equal(
	    sessions_end(&ended, NULL, f->s, NULL, "sid-2", SESSION_END_IDLE, "system"), 0);
	assert_int_equal(ended, 1);
	d = ended_event(f, actor, &n);
	assert_int_equal(n, 1);
	assert_string_equal(actor, "system");
	assert_string_equal(json_string_value(json_object_get(d, "reason")), "idle");
	assert_null(json_object_get(d, "client_id"));
	assert_true(json_is_array(json_object_get(d, "clients")));
	assert_int_equal(json_array_size(json_object_get(d, "clients")), 0);
	json_decref(d);
	assert_int_equal(
	    sessions_end(NULL, NULL, f->s, "mock", "sid-none", SESSION_END_ADMIN, "admin"),
	    CAREID_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_logout_records_the_client_that_asked, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_other_ends_name_no_client, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
