/*
 * The store: careid's only door to its database.
 *
 * Modules own their tables and keep their SQL in their own files, written in
 * the portable subset both backends accept (SQLite and PostgreSQL; checked by
 * scripts/sql-check): `$1` … `$n` placeholders, each appearing at least once
 * (reuse is fine), one type letter per placeholder; BIGINT for times (Unix
 * seconds), TEXT, INTEGER; no backend-specific functions; ORDER BY total
 * where the order matters (ties and NULLs sort differently otherwise).
 * Nothing outside store/ knows which backend runs.
 *
 * Each thread gets its own connection, created on first use and closed when
 * the thread exits or the store is freed; prepared statements are cached per
 * connection, keyed by the address of the SQL string, so SQL must be a string
 * literal (or otherwise live as long as the store).
 *
 * Binding uses a type string, one letter per parameter:
 *   't' const char *   (NULL binds SQL NULL)
 *   'i' int64_t
 *   'b' const void *, size_t   (a blob)
 */
#ifndef CAREID_STORE_STORE_H
#define CAREID_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct store_stmt store_stmt;

/*
 * Opens the store at `url`: `sqlite:PATH` (or a bare path) for the embedded
 * backend, whose file and directory are created when missing; or
 * `postgres://…` (libpq's URI: several hosts, `target_session_attrs` and the
 * rest work) for PostgreSQL, whose database must exist. Migrations are not
 * applied; call store_migrate(). Error messages never hold the URL (it may
 * carry a password).
 */
int store_open(store **out, const char *url);

/* Closes every connection. Accepts NULL. No thread may use the store after. */
void store_free(store *s);

/* Applies pending migrations in order, each in its own transaction.
 * `applied_out` (may be NULL) receives how many were applied. */
int store_migrate(store *s, int *applied_out);

/* True when the store answers a trivial query (for /readyz). */
bool store_ping(store *s);

/*
 * Runs a statement that returns no rows. Returns the number of rows changed
 * (>= 0) or a negative code: CAREID_EEXISTS on a unique or primary key
 * violation, CAREID_EBUSY when the database stayed locked, CAREID_ESTORE else.
 */
int store_exec(store *s, const char *sql, const char *types, ...);

/*
 * Runs a query. `*out` is a cursor to read with store_next() and must be
 * given back with store_done() (also on error paths; it accepts NULL).
 */
int store_query(store *s, store_stmt **out, const char *sql, const char *types, ...);

/* 1 when a row is available, 0 at the end, a negative code on error. */
int store_next(store_stmt *st);

/* Column accessors for the current row (0-based). Text is NULL for SQL NULL
 * and valid until the next store_next()/store_done(). */
const char *store_text(store_stmt *st, int col);
int64_t store_int(store_stmt *st, int col);
const void *store_blob(store_stmt *st, int col, size_t *len_out);
bool store_null(store_stmt *st, int col);

/* Releases the cursor (the statement stays cached). Accepts NULL. */
void store_done(store_stmt *st);

/*
 * Transactions on this thread's connection. store_begin() takes the write lock
 * at once (BEGIN IMMEDIATE on SQLite; an advisory lock every process shares on
 * PostgreSQL), so a transaction never fails half-way on a lock upgrade and
 * sees no other writer's changes while it runs. A write that fails inside a
 * transaction (CAREID_EEXISTS, say) undoes only itself; after a failed read,
 * roll back (on PostgreSQL the transaction can no longer commit). Nesting is
 * not supported.
 */
int store_begin(store *s);
int store_commit(store *s);
int store_rollback(store *s);

#endif
