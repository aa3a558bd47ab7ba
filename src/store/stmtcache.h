/*
 * A connection's prepared statements, found by the address of their SQL.
 * Shared by the backends (store-internal). Statements are keyed by address
 * because module SQL is string literals: a lookup is a hash of a pointer, not
 * of the text. The text is kept as well, so SQL that is not a literal and
 * reuses the address of other SQL is told apart (it then runs uncached).
 *
 * A backend embeds `struct stmt_cache_entry` as a member of its statement
 * and gets its own struct back with container_of-style arithmetic; the cache
 * never allocates or frees entries, only its table and the texts.
 */
#ifndef CAREID_STORE_STMTCACHE_H
#define CAREID_STORE_STMTCACHE_H

#include <stdbool.h>
#include <stddef.h>

/* Past this many distinct SQL strings on one connection, statements are
 * prepared per use: SQL that is not a literal must not grow the cache
 * without bound. */
#define STMT_CACHE_MAX 512

struct stmt_cache_entry {
	const char *key; /* the SQL's address */
	char *text;      /* a copy of the SQL */
};

struct stmt_cache {
	/* Open addressing with linear probing; `cap` is 0 or a power of two and
	 * entries are never removed one by one, so no tombstones. */
	struct stmt_cache_entry **slots;
	size_t cap, count;
};

/* The entry cached for `sql`'s address, or NULL. `*same_text` (may be NULL)
 * tells whether its text is `sql`'s. */
struct stmt_cache_entry *stmt_cache_find(const struct stmt_cache *c, const char *sql,
                                         bool *same_text);

/* True when a new entry for `sql` may be added (no entry at its address and
 * room left). */
bool stmt_cache_room(const struct stmt_cache *c, const char *sql);

/* Adds `e` under `sql` (copying the text). False when memory ran short: `e`
 * is then not cached and its fields are unchanged. */
bool stmt_cache_add(struct stmt_cache *c, struct stmt_cache_entry *e, const char *sql);

/* Calls `drop` on every entry (after freeing its text) and empties the
 * cache, keeping nothing allocated. */
void stmt_cache_clear(struct stmt_cache *c, void (*drop)(struct stmt_cache_entry *e));

#endif
