/* Clients' JWKS fetched from their jwks_uri, cached so that a token request
 * does not cost an outbound fetch: kept JWKS_CACHE_TTL seconds, refetched
 * early at most once per JWKS_REFETCH_MIN seconds (a client that rotated its
 * key), and never fetched on behalf of junk faster than that. Entries are per
 * client: two clients sharing a URI are fetched and throttled apart. A
 * deployment not on loopback fetches only from public addresses
 * (fetch_public_only()): a JWKS URI is the supplier's choice. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "http/fetch.h"
#include "oidc/oidc_int.h"

#define JWKS_CACHE_SIZE  128
#define JWKS_CACHE_TTL   300
#define JWKS_REFETCH_MIN 10

struct jwks_entry {
	char *key;    /* the client, then its URI: "env client_id uri" */
	json_t *jwks; /* NULL after a failed fetch */
	int64_t fetched_at;
};

struct jwks_cache {
	bool public_only; /* read-only after jwks_cache_new() */
	pthread_mutex_t lock;
	struct jwks_entry entries[JWKS_CACHE_SIZE];
};

jwks_cache *jwks_cache_new(const char *public_url)
{
	jwks_cache *c = calloc(1, sizeof(*c));

	if (c && pthread_mutex_init(&c->lock, NULL)) {
		free(c);
		return NULL;
	}
	if (c)
		c->public_only = fetch_public_only(public_url);
	return c;
}

void jwks_cache_free(jwks_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < JWKS_CACHE_SIZE; i++) {
		free(c->entries[i].key);
		json_decref(c->entries[i].jwks);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int fetch(json_t **out, const char *uri, bool public_only)
{
	struct fetch_result fr = {0};
	json_t *keys;
	int rc = fetch_get_opts(&fr, uri,
	                        &(struct fetch_opts){.timeout_s = 5, .public_only = public_only});

	*out = NULL;
	if (!rc && fr.status == 200) {
		*out = json_loads(fr.body.ptr, 0, NULL);
		keys = json_object_get(*out, "keys");
		if (!json_is_array(keys)) {
			json_decref(*out);
			*out = NULL;
		}
	}
	buf_release(&fr.body);
	if (rc)
		return rc;
	return *out ? 0 : careid_error_set(CAREID_EIO, "%s answered no JWKS", uri);
}

/* The entry for `uri` (with the lock held), or the oldest slot to reuse. */
static struct jwks_entry *find(jwks_cache *c, const char *key, bool *hit)
{
	struct jwks_entry *oldest = &c->entries[0];

	*hit = false;
	for (size_t i = 0; i < JWKS_CACHE_SIZE; i++) {
		struct jwks_entry *e = &c->entries[i];

		if (e->key && strcmp(e->key, key) == 0) {
			*hit = true;
			return e;
		}
		if (!e->key || e->fetched_at < oldest->fetched_at)
			oldest = e;
	}
	return oldest;
}

int jwks_cache_get(jwks_cache *c, const char *client, const char *uri, bool refresh, json_t **out)
{
	char key[1200];
	int64_t now = clock_now();
	struct jwks_entry *e;
	json_t *fresh = NULL;
	bool hit;
	int rc;

	*out = NULL;
	if (snprintf(key, sizeof(key), "%s %s", client, uri) >= (int)sizeof(key))
		return careid_error_set(CAREID_EINVALID, "JWKS URI too long");
	pthread_mutex_lock(&c->lock);
	e = find(c, key, &hit);
	if (hit && (now - e->fetched_at < JWKS_CACHE_TTL) &&
	    (!refresh || now - e->fetched_at < JWKS_REFETCH_MIN)) {
		*out = json_incref(e->jwks);
		pthread_mutex_unlock(&c->lock);
		return *out ? 0 : careid_error_set(CAREID_EIO, "the client's JWKS is unavailable");
	}
	pthread_mutex_unlock(&c->lock);

	/* Fetch without the lock; two threads may fetch at once, harmlessly. */
	rc = fetch(&fresh, uri, c->public_only);

	pthread_mutex_lock(&c->lock);
	e = find(c, key, &hit);
	if (!hit) {
		free(e->key);
		json_decref(e->jwks);
		e->jwks = NULL;
		e->key = strdup(key);
	}
	if (e->key) {
		json_decref(e->jwks);
		e->jwks = json_incref(fresh);
		e->fetched_at = now;
	}
	pthread_mutex_unlock(&c->lock);
	*out = fresh;
	return rc;
}
