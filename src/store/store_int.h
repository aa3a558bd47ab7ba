/*
 * Internals shared by the store's own files: the backend table and the base
 * structs a backend embeds. Nothing outside src/store/ includes this header
 * (the store's unit tests excepted, for the counters at the end).
 *
 * store.c owns everything that is the same for every backend: parsing the
 * URL, one connection per thread (a pthread key per store, a list of all
 * connections under a mutex so store_free() can close them), migrations, and
 * forwarding the public calls. A backend (sqlite.c, postgres.c) only
 * knows how to drive one connection from one thread at a time.
 */
#ifndef CAREID_STORE_STORE_INT_H
#define CAREID_STORE_STORE_INT_H

#include "store/store.h"

#include <stdarg.h>

/*
 * One backend connection. A backend embeds this as the FIRST member of its
 * own connection struct and returns a pointer to it from `open`; store.c fills
 * in the fields below and never looks further.
 */
struct store_conn {
	struct store *store;
	struct store_conn *prev, *next; /* in the store's list, under its lock */
};

/*
 * A cursor handed to callers as `store_stmt *`. A backend embeds this as the
 * FIRST member of its statement struct; `ops` lets the public column
 * accessors dispatch without knowing the store.
 */
struct store_stmt {
	const struct store_ops *ops;
};

/*
 * A backend. Every function that takes a connection runs on the thread that
 * owns it; errors are negative CAREID_E* codes with careid_error_set() called.
 * `types` is never NULL here (store.c passes "" for no parameters).
 */
struct store_ops {
	/* Names the folder of embedded migrations: "migrations/<dialect>/". */
	const char *dialect;

	/* Called once by store_open() before the first connection: create what
	 * the target needs (SQLite: the file's directory). May be NULL. */
	int (*setup)(const char *target);

	/* A new connection to `target` (the URL without the backend's scheme). */
	int (*open)(struct store_conn **out, const char *target);
	/* Closes a connection, finalising what it cached. Accepts NULL. */
	void (*close)(struct store_conn *c);

	/* store_exec() and store_query() for one connection; `ap` holds the
	 * arguments described by `types` and is consumed. */
	int (*exec)(struct store_conn *c, const char *sql, const char *types, va_list ap);
	int (*query)(struct store_conn *c, struct store_stmt **out, const char *sql,
	             const char *types, va_list ap);

	/* Runs SQL that may hold several statements and no parameters
	 * (migrations). */
	int (*script)(struct store_conn *c, const char *sql);

	int (*next)(struct store_stmt *st);
	const char *(*text)(struct store_stmt *st, int col);
	int64_t (*integer)(struct store_stmt *st, int col);
	const void *(*blob)(struct store_stmt *st, int col, size_t *len_out);
	bool (*null)(struct store_stmt *st, int col);
	void (*done)(struct store_stmt *st);

	int (*begin)(struct store_conn *c);
	int (*commit)(struct store_conn *c);
	/* Succeeds when no transaction is open, so error paths may always call it. */
	int (*rollback)(struct store_conn *c);

	bool (*ping)(struct store_conn *c);

	/* How many prepared statements the connection caches (for tests). */
	size_t (*cached)(struct store_conn *c);
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_postgres_ops;

/* Counters for tests and diagnostics. */

/* How many connections the store holds open (one per thread that used it). */
size_t store_conn_count(store *s);

/* How many statements the calling thread's connection caches (0 when the
 * thread has none yet). */
size_t store_cached_statements(store *s);

#endif
