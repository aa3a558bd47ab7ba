/*
 * Prepared statements by the address of their SQL (see stmtcache.h).
 */
#include "store/stmtcache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t stmt_cache_slot(const struct stmt_cache *c, const char *key)
{
	/* Fibonacci hashing: string literals are aligned, so the low bits of
	 * their addresses alone would cluster. */
	uint64_t h = (uint64_t)(uintptr_t)key * UINT64_C(0x9E3779B97F4A7C15);
	size_t i = (size_t)(h >> 32) & (c->cap - 1);

	while (c->slots[i] && c->slots[i]->key != key)
		i = (i + 1) & (c->cap - 1);
	return i;
}

static bool stmt_cache_grow(struct stmt_cache *c)
{
	struct stmt_cache_entry **old = c->slots;
	size_t old_cap = c->cap, cap = c->cap ? c->cap * 2 : 32;
	struct stmt_cache_entry **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return false;
	c->slots = slots;
	c->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			c->slots[stmt_cache_slot(c, old[i]->key)] = old[i];
	free(old);
	return true;
}

struct stmt_cache_entry *stmt_cache_find(const struct stmt_cache *c, const char *sql,
                                         bool *same_text)
{
	struct stmt_cache_entry *e = c->cap ? c->slots[stmt_cache_slot(c, sql)] : NULL;

	if (same_text)
		*same_text = e && strcmp(e->text, sql) == 0;
	return e;
}

bool stmt_cache_room(const struct stmt_cache *c, const char *sql)
{
	return c->count < STMT_CACHE_MAX && !stmt_cache_find(c, sql, NULL);
}

bool stmt_cache_add(struct stmt_cache *c, struct stmt_cache_entry *e, const char *sql)
{
	char *text;

	/* Keep the load under 3/4. */
	if ((c->count + 1) * 4 > c->cap * 3 && !stmt_cache_grow(c))
		return false;
	text = strdup(sql);
	if (!text)
		return false;
	e->key = sql;
	e->text = text;
	c->slots[stmt_cache_slot(c, sql)] = e;
	c->count++;
	return true;
}

void stmt_cache_clear(struct stmt_cache *c, void (*drop)(struct stmt_cache_entry *e))
{
	for (size_t i = 0; i < c->cap; i++) {
		struct stmt_cache_entry *e = c->slots[i];

		if (!e)
			continue;
		free(e->text);
		e->text = NULL;
		e->key = NULL;
		drop(e);
	}
	free(c->slots);
	c->slots = NULL;
	c->cap = c->count = 0;
}
