/*
 * The SQLite backend: one sqlite3 handle per thread (store.c hands each
 * thread its own), with that handle's prepared statements cached by the
 * address of their SQL.
 */
#include "store/stmtcache.h"
#include "store/store_int.h"

#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SQLITE_BUSY_MS 5000

struct sqlite_conn;

/* A prepared statement, and the cursor handed out while it is in use. */
struct sqlite_stmt {
	struct store_stmt base; /* first: callers hold &base */
	struct sqlite_conn *conn;
	struct stmt_cache_entry ce; /* ce.key is NULL for a one-off */
	sqlite3_stmt *stmt;
	bool busy;     /* handed out, not yet given back */
	bool finished; /* stepped to the end or failed: `result` */
	int result;
};

struct sqlite_conn {
	struct store_conn base; /* first: store.c holds &base */
	sqlite3 *db;
	struct stmt_cache cache;
};

static int sqlite_code(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return CAREID_EEXISTS;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return CAREID_EINVALID;
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return CAREID_EBUSY;
	case SQLITE_NOMEM:
		return CAREID_ENOMEM;
	}
	return CAREID_ESTORE;
}

static int sqlite_fail(sqlite3 *db, int rc, const char *sql)
{
	return careid_error_set(sqlite_code(rc), "sqlite: %s (%d) in \"%.80s\"",
	                        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc, sql ? sql : "");
}

static int sqlite_mkdir(const char *dir)
{
	char err[128];

	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	return careid_error_set(CAREID_EIO, "sqlite: cannot create directory '%s': %s", dir,
	                        strerror_r(errno, err, sizeof(err)));
}

/* Creates the database's directories and the file itself. */
static int sqlite_setup(const char *path)
{
	char dir[PATH_MAX], err[128];
	size_t len = strlen(path);
	char *slash;
	int fd, rc;

	if (len >= sizeof(dir))
		return careid_error_set(CAREID_EINVALID, "sqlite: database path too long");
	memcpy(dir, path, len + 1);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1; *p; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			rc = sqlite_mkdir(dir);
			*p = '/';
			if (rc < 0)
				return rc;
		}
		rc = sqlite_mkdir(dir);
		if (rc < 0)
			return rc;
	}
	/* SQLite would create the file 0644 and gives its -wal and -shm files
	 * the database's mode; the database holds private keys and secrets. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return careid_error_set(CAREID_EIO, "sqlite: cannot create '%s': %s", path,
		                        strerror_r(errno, err, sizeof(err)));
	close(fd);
	return 0;
}

/*
 * Switching a database to WAL takes an exclusive lock and does not always
 * wait on the busy handler, so a process starting while another holds the
 * file retries here. The mode is persistent: usually only the first opener of
 * a new file switches it.
 */
static int sqlite_wal(sqlite3 *db)
{
	static const char sql[] = "PRAGMA journal_mode = WAL";
	int rc = SQLITE_OK;

	for (int tries = 0; tries < SQLITE_BUSY_MS / 10; tries++) {
		sqlite3_stmt *st = NULL;
		bool wal = false;

		rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
		if (rc == SQLITE_OK) {
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW) {
				const char *mode = (const char *)sqlite3_column_text(st, 0);

				wal = mode && strcmp(mode, "wal") == 0;
				rc = SQLITE_OK;
			}
		}
		sqlite3_finalize(st);
		if (wal)
			return 0;
		if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			return sqlite_fail(db, rc, sql);
		sqlite3_sleep(10);
	}
	if (rc != SQLITE_OK)
		return sqlite_fail(db, rc, sql);
	return careid_error_set(CAREID_ESTORE, "sqlite: the database cannot use WAL mode");
}

static int sqlite_open(struct store_conn **out, const char *path)
{
	struct sqlite_conn *c;
	char *msg = NULL;
	int rc;

	*out = NULL;
	if (!sqlite3_threadsafe())
		return careid_error_set(CAREID_ESTORE, "sqlite: library built without threads");
	c = calloc(1, sizeof(*c));
	if (!c)
		return careid_error_set(CAREID_ENOMEM, "sqlite: out of memory");
	/* NOMUTEX: a connection is only ever used by the thread that owns it. */
	rc = sqlite3_open_v2(
	    path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = careid_error_set(CAREID_ESTORE, "sqlite: cannot open '%s': %s", path,
		                      c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, SQLITE_BUSY_MS);
	rc = sqlite_wal(c->db);
	if (rc < 0)
		goto fail;
	rc = sqlite3_exec(c->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL", NULL,
	                  NULL, &msg);
	if (rc != SQLITE_OK) {
		rc = careid_error_set(sqlite_code(rc), "sqlite: pragmas on '%s': %s", path,
		                      msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		goto fail;
	}
	*out = &c->base;
	return 0;
fail:
	sqlite3_close(c->db);
	free(c);
	return rc;
}

static struct sqlite_stmt *sqlite_entry(struct stmt_cache_entry *ce)
{
	return (struct sqlite_stmt *)((char *)ce - offsetof(struct sqlite_stmt, ce));
}

static void sqlite_drop(struct stmt_cache_entry *ce)
{
	struct sqlite_stmt *e = sqlite_entry(ce);

	sqlite3_finalize(e->stmt);
	free(e);
}

static void sqlite_close(struct store_conn *base)
{
	struct sqlite_conn *c = (struct sqlite_conn *)base;
	sqlite3_stmt *st;

	if (!c)
		return;
	stmt_cache_clear(&c->cache, sqlite_drop);
	/* Left are one-off statements a caller never gave back with
	 * store_done(); finalising them lets the file close. */
	while ((st = sqlite3_next_stmt(c->db, NULL)))
		sqlite3_finalize(st);
	sqlite3_close(c->db);
	free(c);
}

static int sqlite_prepare(struct sqlite_conn *c, const char *sql, bool persistent,
                          sqlite3_stmt **out)
{
	const char *tail = NULL;
	int rc;

	rc = sqlite3_prepare_v3(c->db, sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0, out,
	                        &tail);
	if (rc != SQLITE_OK)
		return sqlite_fail(c->db, rc, sql);
	if (!*out)
		return careid_error_set(CAREID_EINVALID, "sqlite: no statement in \"%.80s\"", sql);
	/* SQLite would silently ignore every statement after the first. */
	for (; tail && *tail; tail++) {
		if (!strchr(" \t\r\n;", *tail)) {
			sqlite3_finalize(*out);
			*out = NULL;
			return careid_error_set(
			    CAREID_EINVALID, "sqlite: more than one statement in \"%.80s\"", sql);
		}
	}
	return 0;
}

/* A statement for `sql`, marked busy: the cached one when it is free, else a
 * one-off that sqlite_release() finalises. */
static int sqlite_acquire(struct sqlite_conn *c, const char *sql, struct sqlite_stmt **out)
{
	struct stmt_cache_entry *ce;
	struct sqlite_stmt *e = NULL;
	bool same, cache;
	int rc;

	*out = NULL;
	ce = stmt_cache_find(&c->cache, sql, &same);
	if (ce && same && !(e = sqlite_entry(ce))->busy)
		goto ready;
	/* A busy statement (a cursor still open on it) or another SQL text at
	 * the same address: this use gets a one-off. */
	cache = stmt_cache_room(&c->cache, sql);
	e = calloc(1, sizeof(*e));
	if (!e)
		return careid_error_set(CAREID_ENOMEM, "sqlite: out of memory");
	e->base.ops = &store_sqlite_ops;
	e->conn = c;
	rc = sqlite_prepare(c, sql, cache, &e->stmt);
	if (rc < 0) {
		free(e);
		return rc;
	}
	/* Short of memory, it runs uncached. */
	if (cache)
		stmt_cache_add(&c->cache, &e->ce, sql);
ready:
	e->busy = true;
	e->finished = false;
	e->result = 0;
	*out = e;
	return 0;
}

static void sqlite_release(struct sqlite_stmt *e)
{
	sqlite3_reset(e->stmt);
	sqlite3_clear_bindings(e->stmt);
	if (e->ce.key) {
		e->busy = false;
		return;
	}
	sqlite3_finalize(e->stmt);
	free(e);
}

/*
 * Binds the arguments by name, "$1" to the first: SQLite numbers named
 * parameters in order of first appearance, so binding by position would
 * silently swap values in "... a = $2 WHERE b = $1".
 */
static int sqlite_bind(struct sqlite_stmt *e, const char *types, va_list ap,
                       sqlite3_destructor_type lifetime)
{
	int n = (int)strlen(types), rc = SQLITE_OK;
	const char *sql = sqlite3_sql(e->stmt);

	if (sqlite3_bind_parameter_count(e->stmt) != n)
		return careid_error_set(CAREID_EINVALID,
		                        "sqlite: %d parameters for %d placeholders in \"%.80s\"", n,
		                        sqlite3_bind_parameter_count(e->stmt), sql);
	for (int i = 0; i < n; i++) {
		char name[16];
		int idx;

		snprintf(name, sizeof(name), "$%d", i + 1);
		idx = sqlite3_bind_parameter_index(e->stmt, name);
		if (idx == 0)
			return careid_error_set(CAREID_EINVALID, "sqlite: no %s in \"%.80s\"", name,
			                        sql);
		switch (types[i]) {
		case 't': {
			const char *v = va_arg(ap, const char *);

			/* A NULL pointer binds SQL NULL. */
			rc = sqlite3_bind_text(e->stmt, idx, v, -1, lifetime);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int64(e->stmt, idx, va_arg(ap, int64_t));
			break;
		case 'b': {
			const void *v = va_arg(ap, const void *);
			size_t len = va_arg(ap, size_t);

			rc = sqlite3_bind_blob64(e->stmt, idx, v, len, lifetime);
			break;
		}
		default:
			return careid_error_set(CAREID_EINVALID, "sqlite: bad type '%c' in \"%s\"",
			                        types[i], types);
		}
		if (rc != SQLITE_OK)
			return sqlite_fail(e->conn->db, rc, sql);
	}
	return 0;
}

/* Steps `e` to its end and gives it back: rows changed or a negative code. */
static int sqlite_finish(struct sqlite_stmt *e)
{
	sqlite3 *db = e->conn->db;
	int before = sqlite3_total_changes(db), rc;

	for (int tries = 0;; tries++) {
		while ((rc = sqlite3_step(e->stmt)) == SQLITE_ROW)
			;
		/* A write outside a transaction reads first and then takes the
		 * write lock; when another connection committed in between, WAL
		 * answers SQLITE_BUSY_SNAPSHOT at once, without the busy handler.
		 * Such a statement has changed nothing yet: run it again. */
		if ((rc & 0xff) != SQLITE_BUSY || !sqlite3_get_autocommit(db) ||
		    sqlite3_stmt_readonly(e->stmt) || tries == 100)
			break;
		sqlite3_reset(e->stmt);
		sqlite3_sleep(1 + tries % 10);
	}
	if (rc != SQLITE_DONE)
		rc = sqlite_fail(db, rc, sqlite3_sql(e->stmt));
	else /* sqlite3_changes() keeps the count of the last INSERT, UPDATE or
	      * DELETE, which is stale after any other statement. */
		rc = sqlite3_total_changes(db) == before ? 0 : sqlite3_changes(db);
	sqlite_release(e);
	return rc;
}

static int sqlite_run(struct sqlite_conn *c, const char *sql)
{
	struct sqlite_stmt *e;
	int rc = sqlite_acquire(c, sql, &e);

	if (rc < 0)
		return rc;
	rc = sqlite_finish(e);
	return rc < 0 ? rc : 0;
}

static int sqlite_exec(struct store_conn *base, const char *sql, const char *types, va_list ap)
{
	struct sqlite_stmt *e;
	int rc;

	rc = sqlite_acquire((struct sqlite_conn *)base, sql, &e);
	if (rc < 0)
		return rc;
	/* The statement runs to its end before this returns: no copies. */
	rc = sqlite_bind(e, types, ap, SQLITE_STATIC);
	if (rc < 0) {
		sqlite_release(e);
		return rc;
	}
	return sqlite_finish(e);
}

static int sqlite_query(struct store_conn *base, struct store_stmt **out, const char *sql,
                        const char *types, va_list ap)
{
	struct sqlite_stmt *e;
	int rc;

	rc = sqlite_acquire((struct sqlite_conn *)base, sql, &e);
	if (rc < 0)
		return rc;
	/* Rows are read after this returns, when the caller's arguments may be
	 * gone: SQLite copies them. */
	rc = sqlite_bind(e, types, ap, SQLITE_TRANSIENT);
	if (rc < 0) {
		sqlite_release(e);
		return rc;
	}
	*out = &e->base;
	return 0;
}

static int sqlite_script(struct store_conn *base, const char *sql)
{
	struct sqlite_conn *c = (struct sqlite_conn *)base;
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return 0;
	rc = careid_error_set(sqlite_code(rc), "sqlite: %s", msg ? msg : sqlite3_errmsg(c->db));
	sqlite3_free(msg);
	return rc;
}

static int sqlite_next(struct store_stmt *st)
{
	struct sqlite_stmt *e = (struct sqlite_stmt *)st;
	int rc;

	/* SQLite would start the query over after its end. */
	if (e->finished)
		return e->result;
	rc = sqlite3_step(e->stmt);
	if (rc == SQLITE_ROW)
		return 1;
	e->finished = true;
	e->result = rc == SQLITE_DONE ? 0 : sqlite_fail(e->conn->db, rc, sqlite3_sql(e->stmt));
	return e->result;
}

/* SQLite leaves column reads off a row undefined. */
static bool sqlite_on_row(struct sqlite_stmt *e, int col)
{
	return !e->finished && col >= 0 && col < sqlite3_data_count(e->stmt);
}

static const char *sqlite_text(struct store_stmt *st, int col)
{
	struct sqlite_stmt *e = (struct sqlite_stmt *)st;

	if (!sqlite_on_row(e, col))
		return NULL;
	return (const char *)sqlite3_column_text(e->stmt, col);
}

static int64_t sqlite_integer(struct store_stmt *st, int col)
{
	struct sqlite_stmt *e = (struct sqlite_stmt *)st;

	return sqlite_on_row(e, col) ? sqlite3_column_int64(e->stmt, col) : 0;
}

static const void *sqlite_blob(struct store_stmt *st, int col, size_t *len_out)
{
	struct sqlite_stmt *e = (struct sqlite_stmt *)st;
	const void *p = NULL;
	size_t len = 0;

	if (sqlite_on_row(e, col)) {
		/* In this order: asking for the length first may convert. */
		p = sqlite3_column_blob(e->stmt, col);
		len = (size_t)sqlite3_column_bytes(e->stmt, col);
	}
	if (len_out)
		*len_out = len;
	return p;
}

static bool sqlite_null(struct store_stmt *st, int col)
{
	struct sqlite_stmt *e = (struct sqlite_stmt *)st;

	return !sqlite_on_row(e, col) || sqlite3_column_type(e->stmt, col) == SQLITE_NULL;
}

static void sqlite_done(struct store_stmt *st)
{
	sqlite_release((struct sqlite_stmt *)st);
}

static int sqlite_begin(struct store_conn *base)
{
	return sqlite_run((struct sqlite_conn *)base, "BEGIN IMMEDIATE");
}

static int sqlite_commit(struct store_conn *base)
{
	return sqlite_run((struct sqlite_conn *)base, "COMMIT");
}

static int sqlite_rollback(struct store_conn *base)
{
	struct sqlite_conn *c = (struct sqlite_conn *)base;

	/* SQLite may already have rolled back (after SQLITE_FULL, IOERR...). */
	if (sqlite3_get_autocommit(c->db))
		return 0;
	return sqlite_run(c, "ROLLBACK");
}

static bool sqlite_ping(struct store_conn *base)
{
	struct sqlite_stmt *e;
	bool ok;

	if (sqlite_acquire((struct sqlite_conn *)base, "SELECT 1", &e) < 0)
		return false;
	ok = sqlite3_step(e->stmt) == SQLITE_ROW && sqlite3_column_int(e->stmt, 0) == 1;
	sqlite_release(e);
	return ok;
}

static size_t sqlite_cached(struct store_conn *base)
{
	return ((struct sqlite_conn *)base)->cache.count;
}

const struct store_ops store_sqlite_ops = {
    .dialect = "sqlite",
    .setup = sqlite_setup,
    .open = sqlite_open,
    .close = sqlite_close,
    .exec = sqlite_exec,
    .query = sqlite_query,
    .script = sqlite_script,
    .next = sqlite_next,
    .text = sqlite_text,
    .integer = sqlite_integer,
    .blob = sqlite_blob,
    .null = sqlite_null,
    .done = sqlite_done,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .ping = sqlite_ping,
    .cached = sqlite_cached,
};
