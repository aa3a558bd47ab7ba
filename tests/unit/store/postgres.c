/*
 * Tests src/store/postgres.c through the store's interface, against the real
 * PostgreSQL server CAREID_TEST_PG names (its admin URL: `make test` starts
 * one with scripts/with-postgres). Without it every test is skipped.
 *
 * Each run makes its own database and drops it at the end. libpq is used
 * directly only for what the store does not do: making that database and
 * ending a session from outside, as a server restart would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/error.h"
#include "store/store.h"
#include "store/store_int.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pg_fixture {
	char admin[512]; /* the admin URL */
	char url[600];   /* this run's database */
	char name[64];
	store *s;
};

static struct pg_fixture fx;

static void admin_exec(const char *sql)
{
	PGconn *db = PQconnectdb(fx.admin);
	PGresult *res;

	assert_int_equal(PQstatus(db), CONNECTION_OK);
	res = PQexec(db, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(db));
	PQclear(res);
	PQfinish(db);
}

static int group_setup(void **state)
{
	const char *admin = getenv("CAREID_TEST_PG");
	char sql[128];
	const char *slash;

	(void)state;
	if (!admin || !*admin)
		return 0;
	snprintf(fx.admin, sizeof(fx.admin), "%s", admin);
	snprintf(fx.name, sizeof(fx.name), "careid_unit_%ld", (long)getpid());
	slash = strrchr(admin, '/');
	if (!slash || strchr(slash, '?'))
		return -1;
	snprintf(fx.url, sizeof(fx.url), "%.*s/%s", (int)(slash - admin), admin, fx.name);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", fx.name);
	admin_exec(sql);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", fx.name);
	admin_exec(sql);
	return 0;
}

static int group_teardown(void **state)
{
	char sql[128];

	(void)state;
	if (!fx.admin[0])
		return 0;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", fx.name);
	admin_exec(sql);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (!fx.admin[0])
		return 0;
	if (store_open(&fx.s, fx.url) < 0)
		return -1;
	return store_exec(fx.s, "DROP TABLE IF EXISTS t", "") < 0 ||
	               store_exec(fx.s,
	                          "CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT, b BYTEA, s TEXT)",
	                          "") < 0
	           ? -1
	           : 0;
}

static int teardown(void **state)
{
	(void)state;
	store_free(fx.s);
	fx.s = NULL;
	return 0;
}

#define NEED_SERVER()                                                                              \
	do {                                                                                       \
		if (!fx.admin[0])                                                                  \
			skip();                                                                    \
	} while (0)

static int64_t count_rows(const char *where_id)
{
	store_stmt *st = NULL;
	int64_t n = -1;

	assert_int_equal(
	    store_query(fx.s, &st, "SELECT COUNT(*) FROM t WHERE id LIKE $1", "t", where_id), 0);
	assert_int_equal(store_next(st), 1);
	n = store_int(st, 0);
	store_done(st);
	return n;
}

static void test_migrate(void **state)
{
	int applied = -1;

	(void)state;
	NEED_SERVER();
	assert_int_equal(store_migrate(fx.s, &applied), 0);
	assert_true(applied >= 11);
	assert_int_equal(store_migrate(fx.s, &applied), 0);
	assert_int_equal(applied, 0);
	assert_true(store_ping(fx.s));
}

static void test_types(void **state)
{
	static const unsigned char blob[] = {0, 1, 2, 0xff, 0, '\\', 'x'};
	store_stmt *st = NULL;
	const unsigned char *got;
	size_t len = 0;

	(void)state;
	NEED_SERVER();
	assert_int_equal(store_exec(fx.s, "INSERT INTO t (id, n, b, s) VALUES ($1, $2, $3, $4)",
	                            "tibt", "a", INT64_MIN, blob, sizeof(blob), "élan 'q'"),
	                 1);
	assert_int_equal(store_exec(fx.s, "INSERT INTO t (id, n, b, s) VALUES ($1, $2, $3, $4)",
	                            "tibt", "b", INT64_MAX, NULL, (size_t)0, NULL),
	                 1);
	/* Typed parameters: "$1 IS NULL" needs no cast. */
	assert_int_equal(store_query(fx.s, &st,
	                             "SELECT id, n, b, s FROM t WHERE ($1 IS NULL OR id = $2) "
	                             "ORDER BY id",
	                             "tt", NULL, "ignored"),
	                 0);
	assert_int_equal(store_next(st), 1);
	assert_string_equal(store_text(st, 0), "a");
	assert_true(store_int(st, 1) == INT64_MIN);
	got = store_blob(st, 2, &len);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(got, blob, sizeof(blob));
	assert_string_equal(store_text(st, 3), "élan 'q'");
	assert_int_equal(store_next(st), 1);
	assert_true(store_int(st, 1) == INT64_MAX);
	assert_true(store_null(st, 2));
	assert_null(store_blob(st, 2, &len));
	assert_int_equal(len, 0);
	assert_null(store_text(st, 3));
	assert_int_equal(store_next(st), 0);
	assert_int_equal(store_next(st), 0); /* stays at the end */
	assert_null(store_text(st, 0));
	store_done(st);

	/* Booleans and numerics read as integers, as SQLite gives them. */
	assert_int_equal(
	    store_query(fx.s, &st, "SELECT 1 = 1, 1 = 0, SUM(n) FROM t WHERE id = $1", "t", "a"),
	    0);
	assert_int_equal(store_next(st), 1);
	assert_int_equal(store_int(st, 0), 1);
	assert_int_equal(store_int(st, 1), 0);
	assert_true(store_int(st, 2) == INT64_MIN);
	store_done(st);
}

static void test_errors(void **state)
{
	(void)state;
	NEED_SERVER();
	assert_int_equal(store_exec(fx.s, "INSERT INTO t (id) VALUES ($1)", "t", "dup"), 1);
	assert_int_equal(store_exec(fx.s, "INSERT INTO t (id) VALUES ($1)", "t", "dup"),
	                 CAREID_EEXISTS);
	assert_int_equal(
	    store_exec(fx.s, "INSERT INTO t (id) VALUES ($1) ON CONFLICT DO NOTHING", "t", "dup"),
	    0);
	/* One type letter per placeholder. */
	assert_int_equal(store_exec(fx.s, "UPDATE t SET n = $1 WHERE id = $2", "i", (int64_t)1),
	                 CAREID_EINVALID);
	assert_int_equal(store_exec(fx.s, "SELEC nonsense", ""), CAREID_ESTORE);
	assert_int_equal(store_exec(fx.s, "UPDATE t SET n = 1 WHERE id = $1", "x", "a"),
	                 CAREID_EINVALID);
	/* Rows changed, none for a SELECT. */
	assert_int_equal(store_exec(fx.s, "INSERT INTO t (id, n) VALUES ('r1', 1), ('r2', 1)", ""),
	                 2);
	assert_int_equal(store_exec(fx.s, "UPDATE t SET n = n + 1 WHERE id LIKE 'r%'", ""), 2);
	assert_int_equal(store_exec(fx.s, "SELECT id FROM t", ""), 0);
}

static void test_transactions(void **state)
{
	(void)state;
	NEED_SERVER();
	/* A failed statement undoes only itself, as on SQLite. */
	assert_int_equal(store_begin(fx.s), 0);
	assert_int_equal(store_begin(fx.s), CAREID_EINVALID); /* no nesting */
	assert_int_equal(store_exec(fx.s, "INSERT INTO t (id) VALUES ($1)", "t", "tx-a"), 1);
	assert_int_equal(store_exec(fx.s, "INSERT INTO t (id) VALUES ($1)", "t", "tx-a"),
	                 CAREID_EEXISTS);
	assert_int_equal(store_exec(fx.s, "INSERT INTO t (id) VALUES ($1)", "t", "tx-b"), 1);
	assert_int_equal(store_commit(fx.s), 0);
	assert_int_equal(count_rows("tx-%"), 2);

	assert_int_equal(store_begin(fx.s), 0);
	assert_int_equal(store_exec(fx.s, "INSERT INTO t (id) VALUES ($1)", "t", "tx-c"), 1);
	assert_int_equal(store_rollback(fx.s), 0);
	assert_int_equal(store_rollback(fx.s), 0); /* none open: still fine */
	assert_int_equal(count_rows("tx-%"), 2);
	assert_int_equal(store_commit(fx.s), CAREID_EINVALID);
}

static void test_cursors(void **state)
{
	store_stmt *a = NULL, *b = NULL;
	int rows = 0;

	(void)state;
	NEED_SERVER();
	for (int i = 0; i < 3; i++) {
		char id[16];

		snprintf(id, sizeof(id), "c%d", i);
		assert_int_equal(
		    store_exec(fx.s, "INSERT INTO t (id, n) VALUES ($1, $2)", "ti", id, (int64_t)i),
		    1);
	}
	/* The same SQL twice at once, and writes while both are open. */
	assert_int_equal(
	    store_query(fx.s, &a, "SELECT id, n FROM t WHERE id LIKE $1 ORDER BY id", "t", "c%"),
	    0);
	assert_int_equal(
	    store_query(fx.s, &b, "SELECT id, n FROM t WHERE id LIKE $1 ORDER BY id", "t", "c%"),
	    0);
	while (store_next(a) == 1) {
		assert_int_equal(store_next(b), 1);
		assert_string_equal(store_text(a, 0), store_text(b, 0));
		assert_int_equal(store_exec(fx.s, "UPDATE t SET n = n + 10 WHERE id = $1", "t",
		                            store_text(a, 0)),
		                 1);
		rows++;
	}
	assert_int_equal(rows, 3);
	store_done(a);
	store_done(b);
	store_done(NULL);
	assert_int_equal(count_rows("c%"), 3);
	assert_true(store_cached_statements(fx.s) > 0);
}

/* Writers wait for each other across sessions, as on SQLite. */
struct writer {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool inserted;
	int changed;
};

static void *late_writer(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->inserted)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	/* Outside a transaction: it still waits for the open one to end, and
	 * then sees its row. */
	w->changed = store_exec(fx.s, "UPDATE t SET n = 7 WHERE id = $1", "t", "locked");
	return NULL;
}

static void test_write_lock(void **state)
{
	struct writer w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	store_stmt *st = NULL;
	pthread_t th;

	(void)state;
	NEED_SERVER();
	assert_int_equal(pthread_create(&th, NULL, late_writer, &w), 0);
	assert_int_equal(store_begin(fx.s), 0);
	assert_int_equal(store_exec(fx.s, "INSERT INTO t (id, n) VALUES ($1, 1)", "t", "locked"),
	                 1);
	pthread_mutex_lock(&w.lock);
	w.inserted = true;
	pthread_cond_signal(&w.cond);
	pthread_mutex_unlock(&w.lock);
	/* Wide enough for the other thread's UPDATE to be sent: without the
	 * lock it would find no row (uncommitted) and change nothing. */
	usleep(300 * 1000);
	assert_int_equal(store_commit(fx.s), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.changed, 1);
	assert_int_equal(store_query(fx.s, &st, "SELECT n FROM t WHERE id = $1", "t", "locked"), 0);
	assert_int_equal(store_next(st), 1);
	assert_int_equal(store_int(st, 0), 7);
	store_done(st);
	/* The other thread's session closed when it exited. */
	assert_int_equal(store_conn_count(fx.s), 1);
}

static int64_t backend_pid(void)
{
	store_stmt *st = NULL;
	int64_t pid;

	assert_int_equal(store_query(fx.s, &st, "SELECT pg_backend_pid()", ""), 0);
	assert_int_equal(store_next(st), 1);
	pid = store_int(st, 0);
	store_done(st);
	return pid;
}

static void end_session(int64_t pid)
{
	char sql[96];

	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)", (long long)pid);
	admin_exec(sql);
}

/* A session the server ended (a restart, a failover) is opened again. */
static void test_reconnect(void **state)
{
	int64_t pid, again;

	(void)state;
	NEED_SERVER();
	pid = backend_pid();
	end_session(pid);
	/* A read and a write outside a transaction just work. */
	again = backend_pid();
	assert_true(again != pid);
	end_session(again);
	assert_int_equal(store_exec(fx.s, "INSERT INTO t (id) VALUES ($1)", "t", "after-restart"),
	                 1);
	assert_int_equal(count_rows("after-restart"), 1);
	assert_true(store_ping(fx.s));

	/* Inside a transaction the work is gone: an error, then a clean start. */
	assert_int_equal(store_begin(fx.s), 0);
	assert_int_equal(store_exec(fx.s, "INSERT INTO t (id) VALUES ($1)", "t", "lost"), 1);
	end_session(backend_pid());
	assert_int_equal(store_exec(fx.s, "INSERT INTO t (id) VALUES ($1)", "t", "lost-2"),
	                 CAREID_ESTORE);
	assert_int_equal(store_rollback(fx.s), 0);
	assert_int_equal(count_rows("lost%"), 0);
	assert_true(store_ping(fx.s));
}

static const char *const bad_urls[] = {
    "postgres://careid:S3cr%zzet@127.0.0.1:1/db",     /* a bad %-escape */
    "postgres://careid:p@ssw0rd@127.0.0.1:1/careid",  /* an '@' not encoded */
    "postgres://careid:Secr3t/Pw@127.0.0.1:1/careid", /* a '/': port "Secr3t" */
    "postgres://careid:Secr3t@[::1:5432/careid",      /* a broken bracket */
};

static void test_unreachable(void **state)
{
	store *s = NULL;

	(void)state;
	/* Nothing listens on port 1: refused at once, never a hang. */
	assert_int_equal(store_open(&s, "postgres://careid:pw@127.0.0.1:1/careid"), CAREID_ESTORE);
	assert_null(s);
	assert_non_null(careid_error_last());
	/* The password never reaches an error message. */
	assert_null(strstr(careid_error_last()->message, ":pw@"));

	/* Passwords that break the URL: careid's own message, none of it quoted
	 * (libpq's would quote the URL, and look the host up in the DNS). */
	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		assert_int_equal(store_open(&s, bad_urls[i]), CAREID_EINVALID);
		assert_null(s);
		assert_null(strstr(careid_error_last()->message, "S3cr"));
		assert_null(strstr(careid_error_last()->message, "ssw0rd"));
		assert_null(strstr(careid_error_last()->message, "Secr3t"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_types, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cursors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
	    cmocka_unit_test(test_unreachable),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
