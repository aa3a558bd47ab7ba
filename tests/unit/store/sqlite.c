/* Tests src/store/store.c and src/store/sqlite.c against real database files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/embed.h"
#include "core/error.h"
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

static char tmpdir[PATH_MAX];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	const char *base = getenv("CAREID_TEST_TMP");

	(void)state;
	if (base && *base) {
		if (mkdir(base, 0700) != 0 && errno != EEXIST)
			return -1;
		snprintf(tmpdir, sizeof(tmpdir), "%s/store-XXXXXX", base);
	} else {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/careid-store-XXXXXX");
	}
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* "<prefix><tmpdir>/<name>" */
static const char *tmp_file(char *out, size_t size, const char *prefix, const char *name)
{
	int n = snprintf(out, size, "%s%s/%s", prefix, tmpdir, name);

	assert_true(n > 0 && (size_t)n < size);
	return out;
}

static const char *db_url(char *out, size_t size, const char *name)
{
	return tmp_file(out, size, "sqlite:", name);
}

static store *open_migrated(const char *name)
{
	char url[PATH_MAX + 16];
	store *s = NULL;
	int applied = -1;

	assert_int_equal(store_open(&s, db_url(url, sizeof(url), name)), 0);
	assert_non_null(s);
	assert_int_equal(store_migrate(s, &applied), 0);
	return s;
}

static int count_migrations(void)
{
	int n = 0;

	for (const struct embedded_file *f = embedded_files; f->name; f++)
		if (strncmp(f->name, "migrations/sqlite/", 18) == 0)
			n++;
	return n;
}

static int64_t query_int(store *s, const char *sql)
{
	store_stmt *st = NULL;
	int64_t v;

	assert_int_equal(store_query(s, &st, sql, ""), 0);
	assert_int_equal(store_next(st), 1);
	v = store_int(st, 0);
	store_done(st);
	return v;
}

static void test_open_migrate(void **state)
{
	char url[PATH_MAX + 16], path[PATH_MAX];
	int expected = count_migrations(), applied = -1;
	store_stmt *st = NULL;
	struct stat sb;
	store *s = NULL;

	(void)state;
	assert_true(expected >= 1);
	/* Nested directories that do not exist yet. */
	assert_int_equal(store_open(&s, db_url(url, sizeof(url), "a/b/c/migrate.db")), 0);
	tmp_file(path, sizeof(path), "", "a/b/c/migrate.db");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(store_migrate(s, &applied), 0);
	assert_int_equal(applied, expected);
	assert_int_equal(store_migrate(s, &applied), 0);
	assert_int_equal(applied, 0);
	assert_int_equal(store_migrate(s, NULL), 0);
	assert_int_equal(query_int(s, "SELECT COUNT(*) FROM schema_migrations"), expected);

	assert_int_equal(store_query(s, &st,
	                             "SELECT version, name, applied_at FROM schema_migrations "
	                             "ORDER BY version",
	                             ""),
	                 0);
	assert_int_equal(store_next(st), 1);
	assert_int_equal(store_int(st, 0), 1);
	assert_string_equal(store_text(st, 1), "init");
	assert_true(store_int(st, 2) > 1600000000);
	store_done(st);

	/* The schema's tables exist. */
	assert_int_equal(query_int(s, "SELECT COUNT(*) FROM tokens"), 0);

	/* Connection settings. */
	assert_int_equal(store_query(s, &st, "PRAGMA journal_mode", ""), 0);
	assert_int_equal(store_next(st), 1);
	assert_string_equal(store_text(st, 0), "wal");
	store_done(st);
	assert_int_equal(query_int(s, "PRAGMA foreign_keys"), 1);
	assert_int_equal(query_int(s, "PRAGMA synchronous"), 1); /* NORMAL */
	assert_int_equal(query_int(s, "PRAGMA busy_timeout"), 5000);
	store_free(s);

	/* Reopened: nothing to apply. */
	assert_int_equal(store_open(&s, url), 0);
	assert_int_equal(store_migrate(s, &applied), 0);
	assert_int_equal(applied, 0);
	store_free(s);
}

static void test_types(void **state)
{
	static const unsigned char blob[] = {0x00, 0xff, 0x10, 0x00, 0x7f};
	store *s = open_migrated("types.db");
	char param[32];
	const void *p;
	store_stmt *st = NULL;
	size_t len = 99;

	(void)state;
	assert_int_equal(store_exec(s,
	                            "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, n BIGINT, "
	                            "b BLOB)",
	                            NULL),
	                 0);
	assert_int_equal(store_exec(s, "INSERT INTO t (id, s, n, b) VALUES ($1, $2, $3, $4)",
	                            "itib", (int64_t)1, "h\xc3\xa9llo", INT64_MIN, blob,
	                            sizeof(blob)),
	                 1);
	assert_int_equal(store_exec(s, "INSERT INTO t (id, s, n, b) VALUES ($1, $2, $3, $4)",
	                            "itib", (int64_t)2, (const char *)NULL, INT64_MAX,
	                            (const void *)NULL, (size_t)0),
	                 1);
	assert_int_equal(store_exec(s, "INSERT INTO t (id, s, n, b) VALUES ($1, $2, $3, $4)",
	                            "itib", (int64_t)3, "", (int64_t)0, blob, (size_t)0),
	                 1);

	assert_int_equal(
	    store_query(s, &st, "SELECT s, n, b FROM t WHERE id = $1", "i", (int64_t)1), 0);
	assert_int_equal(store_next(st), 1);
	assert_string_equal(store_text(st, 0), "h\xc3\xa9llo");
	assert_int_equal(store_int(st, 1), INT64_MIN);
	p = store_blob(st, 2, &len);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(p, blob, sizeof(blob));
	assert_false(store_null(st, 0));
	/* Out of range columns read as NULL. */
	assert_true(store_null(st, 3));
	assert_null(store_text(st, 3));
	assert_int_equal(store_int(st, -1), 0);
	assert_int_equal(store_next(st), 0);
	/* Past the end the cursor stays at the end (SQLite would restart). */
	assert_int_equal(store_next(st), 0);
	assert_null(store_text(st, 0));
	store_done(st);

	assert_int_equal(
	    store_query(s, &st, "SELECT s, n, b FROM t WHERE id = $1", "i", (int64_t)2), 0);
	assert_int_equal(store_next(st), 1);
	assert_true(store_null(st, 0));
	assert_null(store_text(st, 0));
	assert_int_equal(store_int(st, 1), INT64_MAX);
	assert_true(store_null(st, 2));
	assert_null(store_blob(st, 2, &len));
	assert_int_equal(len, 0);
	store_done(st);

	/* An empty string is not NULL; an empty blob has length 0. */
	assert_int_equal(store_query(s, &st, "SELECT s, b FROM t WHERE id = $1", "i", (int64_t)3),
	                 0);
	assert_int_equal(store_next(st), 1);
	assert_false(store_null(st, 0));
	assert_string_equal(store_text(st, 0), "");
	assert_false(store_null(st, 1));
	store_blob(st, 1, &len);
	assert_int_equal(len, 0);
	store_done(st);

	/* Placeholders out of order bind by number, not by position. */
	assert_int_equal(
	    store_exec(s, "UPDATE t SET s = $2 WHERE id = $1", "it", (int64_t)2, "two"), 1);
	assert_int_equal(store_query(s, &st, "SELECT s FROM t WHERE id = 2", ""), 0);
	assert_int_equal(store_next(st), 1);
	assert_string_equal(store_text(st, 0), "two");
	store_done(st);
	/* A placeholder used twice binds one argument. */
	assert_int_equal(query_int(s, "SELECT COUNT(*) FROM t WHERE id = 1 OR id = 1"), 1);
	assert_int_equal(store_query(s, &st, "SELECT $1 + $1", "i", (int64_t)21), 0);
	assert_int_equal(store_next(st), 1);
	assert_int_equal(store_int(st, 0), 42);
	store_done(st);

	/* Rows changed; 0 for statements that change none, even after an
	 * UPDATE that did. */
	assert_int_equal(store_exec(s, "UPDATE t SET n = 5", ""), 3);
	assert_int_equal(store_exec(s, "UPDATE t SET n = 6 WHERE id = 99", ""), 0);
	assert_int_equal(store_exec(s, "UPDATE t SET n = 7", ""), 3);
	assert_int_equal(store_exec(s, "CREATE TABLE u (x TEXT)", ""), 0);
	assert_int_equal(store_exec(s, "SELECT * FROM t", ""), 0);
	assert_int_equal(store_exec(s, "DELETE FROM t WHERE id >= $1", "i", (int64_t)2), 2);

	/* Query arguments are copied: the caller's buffer may change before
	 * the rows are read. */
	snprintf(param, sizeof(param), "h\xc3\xa9llo");
	assert_int_equal(store_query(s, &st, "SELECT id FROM t WHERE s = $1", "t", param), 0);
	memset(param, 'x', sizeof(param) - 1);
	assert_int_equal(store_next(st), 1);
	assert_int_equal(store_int(st, 0), 1);
	store_done(st);

	/* RETURNING rather than a separate last-insert-id read. */
	assert_int_equal(
	    store_query(s, &st, "INSERT INTO t (s) VALUES ($1) RETURNING id", "t", "returned"), 0);
	assert_int_equal(store_next(st), 1);
	assert_true(store_int(st, 0) > 1);
	assert_int_equal(store_next(st), 0);
	store_done(st);
	store_free(s);
}

static void test_bind_errors(void **state)
{
	store *s = open_migrated("errors.db");
	store_stmt *st = (store_stmt *)&st;

	(void)state;
	assert_int_equal(store_exec(s, "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)", ""), 0);
	/* Too few, too many arguments. */
	assert_int_equal(store_exec(s, "INSERT INTO t (id, s) VALUES ($1, $2)", "i", (int64_t)1),
	                 CAREID_EINVALID);
	assert_int_equal(store_exec(s, "INSERT INTO t (id) VALUES ($1)", "it", (int64_t)1, "x"),
	                 CAREID_EINVALID);
	/* A type letter that does not exist. */
	assert_int_equal(store_exec(s, "INSERT INTO t (id) VALUES ($1)", "x", (int64_t)1),
	                 CAREID_EINVALID);
	assert_int_equal(careid_error_last()->code, CAREID_EINVALID);
	/* "$1" and "$3" but no "$2". */
	assert_int_equal(
	    store_exec(s, "INSERT INTO t (id, s) VALUES ($1, $3)", "it", (int64_t)1, "x"),
	    CAREID_EINVALID);
	/* Bad SQL. */
	assert_int_equal(store_exec(s, "INSERT INTO nowhere VALUES (1)", ""), CAREID_ESTORE);
	assert_non_null(strstr(careid_error_last()->message, "no such table"));
	assert_int_equal(store_query(s, &st, "SELEC 1", ""), CAREID_ESTORE);
	assert_null(st);
	/* Only one statement per call. */
	assert_int_equal(store_exec(s, "DELETE FROM t; DROP TABLE t", ""), CAREID_EINVALID);
	assert_int_equal(query_int(s, "SELECT COUNT(*) FROM t"), 0);
	assert_int_equal(store_exec(s, "DELETE FROM t;\n", ""), 0);
	assert_int_equal(store_exec(s, "", ""), CAREID_EINVALID);
	assert_int_equal(store_exec(s, NULL, ""), CAREID_EINVALID);
	assert_int_equal(store_exec(NULL, "SELECT 1", ""), CAREID_EINVALID);
	/* NOT NULL is a store error, not a duplicate. */
	assert_int_equal(store_exec(s,
	                            "INSERT INTO server_secrets (name, value, created_at) "
	                            "VALUES ($1, $2, $3)",
	                            "tti", "k", (const char *)NULL, (int64_t)1),
	                 CAREID_ESTORE);
	/* After the errors, the cached statements still work. */
	assert_int_equal(
	    store_exec(s, "INSERT INTO t (id, s) VALUES ($1, $2)", "it", (int64_t)1, "ok"), 1);
	assert_int_equal(store_next(NULL), CAREID_EINVALID);
	assert_null(store_text(NULL, 0));
	store_done(NULL);
	store_free(NULL);
	store_free(s);
}

static void test_unique(void **state)
{
	static const char *const ins = "INSERT INTO server_secrets (name, value, created_at) "
	                               "VALUES ($1, $2, $3)";
	store *s = open_migrated("unique.db");

	(void)state;
	assert_int_equal(store_exec(s, ins, "tti", "cookie", "v1", (int64_t)1), 1);
	assert_int_equal(store_exec(s, ins, "tti", "cookie", "v2", (int64_t)2), CAREID_EEXISTS);
	assert_int_equal(careid_error_last()->code, CAREID_EEXISTS);
	/* Composite primary key. */
	assert_int_equal(store_exec(s,
	                            "INSERT INTO organisations (env, code, name, created_at) "
	                            "VALUES ($1, $2, $3, $4)",
	                            "ttti", "mock", "X26", "NHS", (int64_t)1),
	                 1);
	assert_int_equal(store_exec(s,
	                            "INSERT INTO organisations (env, code, name, created_at) "
	                            "VALUES ($1, $2, $3, $4)",
	                            "ttti", "int", "X26", "NHS", (int64_t)1),
	                 1);
	assert_int_equal(store_exec(s,
	                            "INSERT INTO organisations (env, code, name, created_at) "
	                            "VALUES ($1, $2, $3, $4)",
	                            "ttti", "mock", "X26", "Other", (int64_t)1),
	                 CAREID_EEXISTS);
	/* A UNIQUE index, not a key. */
	assert_int_equal(
	    store_exec(s, "CREATE TABLE e (id INTEGER PRIMARY KEY, mail TEXT UNIQUE)", ""), 0);
	assert_int_equal(store_exec(s, "INSERT INTO e (mail) VALUES ($1)", "t", "a@b"), 1);
	assert_int_equal(store_exec(s, "INSERT INTO e (mail) VALUES ($1)", "t", "a@b"),
	                 CAREID_EEXISTS);
	/* The first value stayed. */
	assert_int_equal(query_int(s, "SELECT COUNT(*) FROM server_secrets WHERE value = 'v1'"), 1);
	store_free(s);
}

static void test_foreign_key(void **state)
{
	static const char *const role = "INSERT INTO role_profiles (env, person_roleid, uid, "
	                                "person_orgid, org_code, role_code, role_name, created_at) "
	                                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
	store *s = open_migrated("fk.db");

	(void)state;
	assert_int_equal(store_exec(s, role, "ttttttti", "mock", "r1", "u1", "o1", "X26", "R0260",
	                            "GP", (int64_t)1),
	                 CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, "FOREIGN KEY"));
	assert_int_equal(store_exec(s,
	                            "INSERT INTO users (env, uid, given_name, family_name, "
	                            "display_name, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
	                            "ttttti", "mock", "u1", "Ann", "Smith", "Ann Smith",
	                            (int64_t)1),
	                 1);
	assert_int_equal(store_exec(s,
	                            "INSERT INTO organisations (env, code, name, created_at) "
	                            "VALUES ($1, $2, $3, $4)",
	                            "ttti", "mock", "X26", "NHS", (int64_t)1),
	                 1);
	assert_int_equal(store_exec(s, role, "ttttttti", "mock", "r1", "u1", "o1", "X26", "R0260",
	                            "GP", (int64_t)1),
	                 1);
	/* Environments are part of the key. */
	assert_int_equal(store_exec(s, role, "ttttttti", "int", "r1", "u1", "o1", "X26", "R0260",
	                            "GP", (int64_t)1),
	                 CAREID_EINVALID);
	/* A parent still referenced cannot go. */
	assert_int_equal(store_exec(s, "DELETE FROM users WHERE uid = $1", "t", "u1"),
	                 CAREID_EINVALID);
	store_free(s);
}

struct peek {
	store *s;
	int64_t count;
	int rc;
};

/* Counts the rows of `t` from another thread (another connection). */
static void *peek_run(void *arg)
{
	struct peek *p = arg;
	store_stmt *st = NULL;

	p->rc = store_query(p->s, &st, "SELECT COUNT(*) FROM t", "");
	if (p->rc == 0 && (p->rc = store_next(st)) == 1)
		p->count = store_int(st, 0);
	store_done(st);
	return NULL;
}

static int64_t peek_count(store *s)
{
	struct peek p = {.s = s, .count = -1};
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, peek_run, &p), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(p.rc, 1);
	return p.count;
}

static void test_transactions(void **state)
{
	static const char *const ins = "INSERT INTO t (id) VALUES ($1)";
	store *s = open_migrated("tx.db");

	(void)state;
	assert_int_equal(store_exec(s, "CREATE TABLE t (id INTEGER PRIMARY KEY)", ""), 0);

	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_exec(s, ins, "i", (int64_t)1), 1);
	assert_int_equal(store_exec(s, ins, "i", (int64_t)2), 1);
	/* Seen inside, not from another connection. */
	assert_int_equal(query_int(s, "SELECT COUNT(*) FROM t"), 2);
	assert_int_equal(peek_count(s), 0);
	assert_int_equal(store_rollback(s), 0);
	assert_int_equal(query_int(s, "SELECT COUNT(*) FROM t"), 0);

	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_exec(s, ins, "i", (int64_t)3), 1);
	/* A failed statement does not end the transaction. */
	assert_int_equal(store_exec(s, ins, "i", (int64_t)3), CAREID_EEXISTS);
	assert_int_equal(store_exec(s, ins, "i", (int64_t)4), 1);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(peek_count(s), 2);

	/* Nesting is refused and leaves the outer transaction alone. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_exec(s, ins, "i", (int64_t)5), 1);
	assert_int_equal(store_begin(s), CAREID_ESTORE);
	assert_int_equal(store_rollback(s), 0);
	assert_int_equal(query_int(s, "SELECT COUNT(*) FROM t"), 2);

	/* Rollback outside a transaction is harmless; commit is not. */
	assert_int_equal(store_rollback(s), 0);
	assert_int_equal(store_commit(s), CAREID_ESTORE);
	store_free(s);
}

static void test_cache(void **state)
{
	static const char *const sql_a = "SELECT id FROM t WHERE id >= $1 ORDER BY id";
	static const char *const sql_b = "SELECT id * 10 FROM t ORDER BY id DESC";
	store *s = open_migrated("cache.db");
	store_stmt *a1 = NULL, *a2 = NULL, *b = NULL;
	char copy[128];
	size_t base;

	(void)state;
	assert_int_equal(store_exec(s, "CREATE TABLE t (id INTEGER PRIMARY KEY)", ""), 0);
	for (int64_t i = 1; i <= 3; i++)
		assert_int_equal(store_exec(s, "INSERT INTO t (id) VALUES ($1)", "i", i), 1);

	base = store_cached_statements(s);
	assert_true(base > 0);
	/* The same SQL twice: prepared once. */
	for (int round = 0; round < 2; round++) {
		assert_int_equal(store_query(s, &a1, sql_a, "i", (int64_t)2), 0);
		assert_int_equal(store_next(a1), 1);
		assert_int_equal(store_int(a1, 0), 2);
		store_done(a1);
		assert_int_equal(store_cached_statements(s), base + 1);
	}
	/* Bindings are cleared by store_done(); a new one takes effect. */
	assert_int_equal(store_query(s, &a1, sql_a, "i", (int64_t)3), 0);
	assert_int_equal(store_next(a1), 1);
	assert_int_equal(store_int(a1, 0), 3);
	assert_int_equal(store_next(a1), 0);
	store_done(a1);

	/* Interleaved cursors: two with different SQL, and a second one on
	 * SQL whose cached statement is in use. */
	assert_int_equal(store_query(s, &a1, sql_a, "i", (int64_t)1), 0);
	assert_int_equal(store_query(s, &b, sql_b, ""), 0);
	assert_int_equal(store_query(s, &a2, sql_a, "i", (int64_t)2), 0);
	assert_ptr_not_equal(a1, a2);
	for (int64_t i = 1; i <= 3; i++) {
		assert_int_equal(store_next(a1), 1);
		assert_int_equal(store_int(a1, 0), i);
		assert_int_equal(store_next(b), 1);
		assert_int_equal(store_int(b, 0), (4 - i) * 10);
		if (i < 3) {
			assert_int_equal(store_next(a2), 1);
			assert_int_equal(store_int(a2, 0), i + 1);
		}
	}
	assert_int_equal(store_next(a2), 0);
	assert_int_equal(store_next(a1), 0);
	assert_int_equal(store_next(b), 0);
	/* Given back out of order. */
	store_done(a1);
	store_done(a2);
	store_done(b);
	assert_int_equal(store_cached_statements(s), base + 2);

	/* The same text at another address runs correctly too. */
	snprintf(copy, sizeof(copy), "%s", sql_a);
	assert_int_equal(store_query(s, &a1, copy, "i", (int64_t)3), 0);
	assert_int_equal(store_next(a1), 1);
	assert_int_equal(store_int(a1, 0), 3);
	store_done(a1);
	/* Different text at an address already cached (SQL that is not a
	 * literal): run as what it says, not as the cached statement. */
	snprintf(copy, sizeof(copy), "SELECT COUNT(*) FROM t WHERE id < $1");
	assert_int_equal(store_query(s, &a1, copy, "i", (int64_t)3), 0);
	assert_int_equal(store_next(a1), 1);
	assert_int_equal(store_int(a1, 0), 2);
	store_done(a1);

	/* A cursor given back half-read releases its statement. */
	assert_int_equal(store_query(s, &a1, sql_a, "i", (int64_t)1), 0);
	assert_int_equal(store_next(a1), 1);
	store_done(a1);
	assert_int_equal(store_exec(s, "DELETE FROM t WHERE id = $1", "i", (int64_t)1), 1);
	store_free(s);
}

#define WORKERS 8
#define INSERTS 200

struct worker {
	store *s;
	int index;
	pthread_barrier_t *start;
	char ids[INSERTS][33];
	int failures;
	int last_error;
};

static void random_hex(char out[33])
{
	unsigned char raw[16];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		abort();
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

static void *worker_run(void *arg)
{
	static const char *const ins = "INSERT INTO items (id, worker, n) VALUES ($1, $2, $3)";
	struct worker *w = arg;

	pthread_barrier_wait(w->start);
	for (int i = 0; i < INSERTS; i++) {
		int rc;

		random_hex(w->ids[i]);
		/* Every fourth insert inside a write transaction, with a read. */
		if (i % 4 == 0) {
			rc = store_begin(w->s);
			if (rc == 0)
				rc = store_exec(w->s, ins, "tii", w->ids[i], (int64_t)w->index,
				                (int64_t)i);
			if (rc == 1 && query_int(w->s, "SELECT COUNT(*) FROM items") < i + 1)
				rc = -100;
			if (rc == 1)
				rc = store_commit(w->s) == 0 ? 1 : careid_error_last()->code;
			else
				store_rollback(w->s);
		} else {
			rc = store_exec(w->s, ins, "tii", w->ids[i], (int64_t)w->index, (int64_t)i);
		}
		if (rc != 1) {
			w->failures++;
			w->last_error = rc;
		}
	}
	if (!store_ping(w->s))
		w->failures++;
	return NULL;
}

static void test_threads(void **state)
{
	static struct worker workers[WORKERS];
	store *s = open_migrated("threads.db");
	pthread_t threads[WORKERS];
	pthread_barrier_t start;

	(void)state;
	assert_int_equal(store_exec(s,
	                            "CREATE TABLE items (id TEXT PRIMARY KEY, worker INTEGER NOT "
	                            "NULL, n INTEGER NOT NULL)",
	                            ""),
	                 0);
	assert_int_equal(store_conn_count(s), 1);
	pthread_barrier_init(&start, NULL, WORKERS);
	for (int i = 0; i < WORKERS; i++) {
		workers[i] = (struct worker){.s = s, .index = i, .start = &start};
		assert_int_equal(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
	}
	for (int i = 0; i < WORKERS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	pthread_barrier_destroy(&start);
	/* Each thread's connection closed when it exited. */
	assert_int_equal(store_conn_count(s), 1);

	for (int i = 0; i < WORKERS; i++) {
		if (workers[i].failures)
			print_error("worker %d: %d failures, last %d: %s\n", i, workers[i].failures,
			            workers[i].last_error, careid_code_name(workers[i].last_error));
		assert_int_equal(workers[i].failures, 0);
	}
	assert_int_equal(query_int(s, "SELECT COUNT(*) FROM items"), WORKERS * INSERTS);
	for (int i = 0; i < WORKERS; i++) {
		for (int j = 0; j < INSERTS; j++) {
			store_stmt *st = NULL;

			assert_int_equal(store_query(s, &st,
			                             "SELECT worker, n FROM items WHERE id = $1",
			                             "t", workers[i].ids[j]),
			                 0);
			assert_int_equal(store_next(st), 1);
			assert_int_equal(store_int(st, 0), i);
			assert_int_equal(store_int(st, 1), j);
			store_done(st);
		}
	}
	store_free(s);
}

struct migrator {
	const char *url;
	pthread_barrier_t *start;
	int rc;
	int applied;
};

/* Each with its own store, as separate processes would be. */
static void *migrator_run(void *arg)
{
	struct migrator *m = arg;
	store *s = NULL;

	m->rc = store_open(&s, m->url);
	pthread_barrier_wait(m->start);
	if (m->rc == 0)
		m->rc = store_migrate(s, &m->applied);
	store_free(s);
	return NULL;
}

static void test_concurrent_migrate(void **state)
{
	struct migrator ms[6];
	pthread_t threads[6];
	pthread_barrier_t start;
	char url[PATH_MAX + 16];
	int total = 0;
	store *s;

	(void)state;
	db_url(url, sizeof(url), "race.db");
	pthread_barrier_init(&start, NULL, 6);
	for (int i = 0; i < 6; i++) {
		ms[i] = (struct migrator){.url = url, .start = &start, .rc = -100};
		assert_int_equal(pthread_create(&threads[i], NULL, migrator_run, &ms[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(ms[i].rc, 0);
		total += ms[i].applied;
	}
	pthread_barrier_destroy(&start);
	assert_int_equal(total, count_migrations());
	assert_int_equal(store_open(&s, url), 0);
	assert_int_equal(query_int(s, "SELECT COUNT(*) FROM schema_migrations"),
	                 count_migrations());
	store_free(s);
}

static void test_ping(void **state)
{
	store *s = open_migrated("ping.db");

	(void)state;
	assert_true(store_ping(s));
	assert_true(store_ping(s));
	assert_false(store_ping(NULL));
	store_free(s);
}

static void test_urls(void **state)
{
	char url[PATH_MAX + 16], path[PATH_MAX];
	store *s = (store *)&s;
	FILE *f;

	(void)state;
	assert_int_equal(store_open(&s, NULL), CAREID_EINVALID);
	assert_null(s);
	assert_int_equal(store_open(&s, ""), CAREID_EINVALID);
	assert_int_equal(store_open(&s, "sqlite:"), CAREID_EINVALID);
	assert_int_equal(store_open(&s, "sqlite://"), CAREID_EINVALID);
	assert_int_equal(store_open(&s, ":memory:"), CAREID_EINVALID);
	assert_int_equal(store_open(&s, "sqlite::memory:"), CAREID_EINVALID);
	/* PostgreSQL URLs go to libpq: nothing listens on port 1. */
	assert_int_equal(store_open(&s, "postgres://careid@127.0.0.1:1/careid"), CAREID_ESTORE);
	assert_int_equal(store_open(&s, "postgresql://127.0.0.1:1/careid?connect_timeout=2"),
	                 CAREID_ESTORE);
	assert_int_equal(store_open(&s, "mysql://localhost/careid"), CAREID_EINVALID);
	assert_null(s);
	/* A directory cannot be made under a file. */
	assert_int_equal(store_open(&s, "sqlite:/dev/null/careid.db"), CAREID_EIO);
	assert_null(s);
	/* A file that is not a database. */
	tmp_file(path, sizeof(path), "", "garbage.db");
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", f);
	fclose(f);
	assert_int_equal(store_open(&s, path), CAREID_ESTORE);
	assert_null(s);

	/* A bare path, and sqlite:// with an absolute path. */
	tmp_file(path, sizeof(path), "", "bare/bare.db");
	assert_int_equal(store_open(&s, path), 0);
	assert_true(store_ping(s));
	store_free(s);
	tmp_file(url, sizeof(url), "sqlite://", "slashes.db");
	assert_int_equal(store_open(&s, url), 0);
	assert_true(store_ping(s));
	store_free(s);
	tmp_file(path, sizeof(path), "", "slashes.db");
	f = fopen(path, "r");
	assert_non_null(f);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_migrate),
	    cmocka_unit_test(test_types),
	    cmocka_unit_test(test_bind_errors),
	    cmocka_unit_test(test_unique),
	    cmocka_unit_test(test_foreign_key),
	    cmocka_unit_test(test_transactions),
	    cmocka_unit_test(test_cache),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_concurrent_migrate),
	    cmocka_unit_test(test_ping),
	    cmocka_unit_test(test_urls),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
