/*
 * Answers computed from the store, kept in memory while the store says that
 * nothing they were computed from has changed (oidc_int.h). The store keeps a
 * generation counter per kind of data (table `generations`, migration 010),
 * bumped by triggers on every write, so a change made by any careid process
 * on the same store is seen by the next lookup that reads the counters.
 *
 * A chained hash table (twice as many buckets as entries, so chains stay
 * short) with a least-recently-used list for eviction; one mutex guards both.
 * The bucket hash is SipHash under a random key per cache, so the grant text
 * a client influences (nonce, claims) cannot be chosen to make long chains.
 * The byte cap counts keys and values, not the entries' fixed headers. An
 * entry's bytes (personal data) are wiped when it goes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "oidc/oidc_int.h"

struct cache_entry {
	struct cache_entry *chain; /* next in the bucket */
	struct cache_entry *newer; /* LRU neighbours: towards the head */
	struct cache_entry *older; /* towards the tail */
	uint64_t hash;
	int64_t gen[OIDC_CACHE_GENS];
	size_t key_len, value_len;
	char data[]; /* key, then value */
};

struct oidc_cache {
	pthread_mutex_t lock;
	size_t max_entries, max_bytes; /* read-only after oidc_cache_new() */
	uint8_t seed[CRYPTO_SHORT_HASH_KEY];
	struct cache_entry **buckets;
	size_t nbuckets; /* a power of two */
	struct cache_entry *head, *tail;
	size_t count, bytes;
	uint64_t hits, misses, evictions, stale;
};

/* Personal data does not outlive its entry in freed memory. */
static void entry_free(struct cache_entry *e)
{
	explicit_bzero(e->data, e->key_len + e->value_len);
	free(e);
}

oidc_cache *oidc_cache_new(size_t max_entries, size_t max_bytes)
{
	oidc_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (max_entries > OIDC_CACHE_MAX_ENTRIES) {
		free(c);
		return NULL;
	}
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	c->nbuckets = 16;
	while (c->nbuckets < 2 * max_entries)
		c->nbuckets *= 2;
	crypto_random_bytes(c->seed, sizeof(c->seed));
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets || pthread_mutex_init(&c->lock, NULL)) {
		free(c->buckets);
		free(c);
		return NULL;
	}
	return c;
}

void oidc_cache_free(oidc_cache *c)
{
	struct cache_entry *e, *next;

	if (!c)
		return;
	for (e = c->head; e; e = next) {
		next = e->older;
		entry_free(e);
	}
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static uint64_t key_hash(const oidc_cache *c, const char *key, size_t len)
{
	return crypto_short_hash(c->seed, key, len);
}


static struct cache_entry **find(oidc_cache *c, uint64_t hash, const char *key, size_t len)
{
	struct cache_entry **pp = &c->buckets[hash & (c->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->chain)
		if ((*pp)->hash == hash && (*pp)->key_len == len &&
		    memcmp((*pp)->data, key, len) == 0)
			break;
	return pp;
}

static void lru_unlink(oidc_cache *c, struct cache_entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->head = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->tail = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push(oidc_cache *c, struct cache_entry *e)
{
	e->newer = NULL;
	e->older = c->head;
	if (c->head)
		c->head->newer = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

/* Removes the entry `*pp` points to (its bucket link). */
static void drop(oidc_cache *c, struct cache_entry **pp)
{
	struct cache_entry *e = *pp;

	*pp = e->chain;
	lru_unlink(c, e);
	c->count--;
	c->bytes -= e->key_len + e->value_len;
	entry_free(e);
}

static bool same_gen(const struct cache_entry *e, const int64_t gen[OIDC_CACHE_GENS])
{
	return memcmp(e->gen, gen, sizeof(e->gen)) == 0;
}

/* True when `e` was computed from data at least as new as `gen` says
 * (counters only grow). */
static bool newer_or_same(const struct cache_entry *e, const int64_t gen[OIDC_CACHE_GENS])
{
	for (int i = 0; i < OIDC_CACHE_GENS; i++)
		if (e->gen[i] < gen[i])
			return false;
	return true;
}

int oidc_cache_get(oidc_cache *c, arena *a, const char *key, size_t key_len,
                   const int64_t gen[OIDC_CACHE_GENS], char **out, size_t *len_out)
{
	uint64_t hash = key_hash(c, key, key_len);
	struct cache_entry **pp;
	int rc = 0;

	*out = NULL;
	*len_out = 0;
	pthread_mutex_lock(&c->lock);
	pp = find(c, hash, key, key_len);
	if (*pp && !same_gen(*pp, gen)) {
		drop(c, pp); /* computed from data that has changed since */
		c->stale++;
	} else if (*pp) {
		struct cache_entry *e = *pp;

		*out = arena_alloc(a, e->value_len + 1);
		if (*out) {
			memcpy(*out, e->data + e->key_len, e->value_len);
			(*out)[e->value_len] = '\0';
			*len_out = e->value_len;
			lru_unlink(c, e);
			lru_push(c, e);
			c->hits++;
			rc = 1;
		} else {
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		}
	}
	if (rc == 0)
		c->misses++;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int oidc_cache_put(oidc_cache *c, const char *key, size_t key_len,
                   const int64_t gen[OIDC_CACHE_GENS], const char *value, size_t len)
{
	uint64_t hash = key_hash(c, key, key_len);
	struct cache_entry *e, **pp;

	if (key_len + len > c->max_bytes / 8 || c->max_entries == 0)
		return 0; /* too big to be worth a slot */
	e = malloc(sizeof(*e) + key_len + len);
	if (!e)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	memset(e, 0, sizeof(*e));
	e->hash = hash;
	memcpy(e->gen, gen, sizeof(e->gen));
	e->key_len = key_len;
	e->value_len = len;
	memcpy(e->data, key, key_len);
	memcpy(e->data + key_len, value, len);

	pthread_mutex_lock(&c->lock);
	pp = find(c, hash, key, key_len);
	if (*pp && newer_or_same(*pp, gen)) {
		/* another thread put it meanwhile, from data as new or newer */
		pthread_mutex_unlock(&c->lock);
		entry_free(e);
		return 0;
	}
	if (*pp)
		drop(c, pp); /* stale */
	while (c->tail &&
	       (c->count + 1 > c->max_entries || c->bytes + key_len + len > c->max_bytes)) {
		struct cache_entry *old = c->tail;

		drop(c, find(c, old->hash, old->data, old->key_len));
		c->evictions++;
	}
	pp = &c->buckets[hash & (c->nbuckets - 1)];
	e->chain = *pp;
	*pp = e;
	lru_push(c, e);
	c->count++;
	c->bytes += key_len + len;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void oidc_cache_stats(oidc_cache *c, struct oidc_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	out->entries = c->count;
	out->bytes = c->bytes;
	out->hits = c->hits;
	out->misses = c->misses;
	out->evictions = c->evictions;
	out->stale = c->stale;
	pthread_mutex_unlock(&c->lock);
}
