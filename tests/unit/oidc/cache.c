/* tests for src/oidc/cache.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "oidc/oidc_int.h"

static const int64_t G1[OIDC_CACHE_GENS] = {1, 1};

/* 1 and the value (in `a`) when `key` is cached under `gen`. */
static int get(oidc_cache *c, arena *a, const char *key, const int64_t gen[OIDC_CACHE_GENS],
               char **out)
{
	size_t len = 0;
	int rc = oidc_cache_get(c, a, key, strlen(key), gen, out, &len);

	if (rc == 1)
		assert_int_equal(len, strlen(*out));
	return rc;
}

static void put(oidc_cache *c, const char *key, const int64_t gen[OIDC_CACHE_GENS],
                const char *value)
{
	assert_int_equal(oidc_cache_put(c, key, strlen(key), gen, value, strlen(value)), 0);
}

static void test_get_put_and_generations(void **state)
{
	oidc_cache *c = oidc_cache_new(16, 1 << 16);
	arena *a = arena_new();
	int64_t dir_moved[OIDC_CACHE_GENS] = {2, 1}, clients_moved[OIDC_CACHE_GENS] = {1, 2};
	struct oidc_cache_stats st;
	char *v = NULL;

	(void)state;
	assert_non_null(c);
	assert_non_null(a);
	assert_int_equal(get(c, a, "k1", G1, &v), 0);
	assert_null(v);
	put(c, "k1", G1, "{\"sub\":\"1\"}");
	assert_int_equal(get(c, a, "k1", G1, &v), 1);
	assert_string_equal(v, "{\"sub\":\"1\"}");
	/* a key is its bytes: a prefix or a longer key is another key */
	assert_int_equal(get(c, a, "k", G1, &v), 0);
	assert_int_equal(get(c, a, "k12", G1, &v), 0);
	/* put again under the same generations (another thread computed the
	 * same answer meanwhile): the first is kept */
	put(c, "k1", G1, "same");
	assert_int_equal(get(c, a, "k1", G1, &v), 1);
	assert_string_equal(v, "{\"sub\":\"1\"}");
	/* a slower request's answer from older data does not replace a newer
	 * one; an answer from newer data replaces an older one */
	{
		const int64_t g0[OIDC_CACHE_GENS] = {0, 1}, g2[OIDC_CACHE_GENS] = {2, 2};

		put(c, "k3", g2, "newer");
		put(c, "k3", g0, "older");
		assert_int_equal(get(c, a, "k3", g2, &v), 1);
		assert_string_equal(v, "newer");
		put(c, "k4", G1, "old");
		put(c, "k4", g2, "new");
		assert_int_equal(get(c, a, "k4", g2, &v), 1);
		assert_string_equal(v, "new");
		assert_int_equal(get(c, a, "k3", G1, &v), 0); /* dropped: other generations */
		assert_int_equal(get(c, a, "k4", G1, &v), 0);
	}
	/* either generation moving makes the entry stale: dropped, not served */
	put(c, "k2", G1, "x");
	assert_int_equal(get(c, a, "k1", dir_moved, &v), 0);
	assert_int_equal(get(c, a, "k1", G1, &v), 0); /* gone, also for the old ones */
	assert_int_equal(get(c, a, "k2", clients_moved, &v), 0);
	oidc_cache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.stale, 4);
	assert_int_equal(st.hits, 4);
	arena_free(a);
	oidc_cache_free(c);
	oidc_cache_free(NULL);
}

static void test_entry_cap_evicts_least_recently_used(void **state)
{
	oidc_cache *c = oidc_cache_new(3, 1 << 16);
	arena *a = arena_new();
	struct oidc_cache_stats st;
	char *v;

	(void)state;
	put(c, "a", G1, "1");
	put(c, "b", G1, "2");
	put(c, "c", G1, "3");
	assert_int_equal(get(c, a, "a", G1, &v), 1); /* a is now the most recent */
	put(c, "d", G1, "4");                        /* evicts b */
	assert_int_equal(get(c, a, "b", G1, &v), 0);
	assert_int_equal(get(c, a, "a", G1, &v), 1);
	assert_int_equal(get(c, a, "c", G1, &v), 1);
	assert_int_equal(get(c, a, "d", G1, &v), 1);
	oidc_cache_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evictions, 1);
	for (int i = 0; i < 100; i++) {
		char k[16];

		snprintf(k, sizeof(k), "key%d", i);
		put(c, k, G1, "v");
		oidc_cache_stats(c, &st);
		assert_true(st.entries <= 3);
	}
	assert_int_equal(get(c, a, "key99", G1, &v), 1);
	assert_int_equal(get(c, a, "key96", G1, &v), 0);
	arena_free(a);
	oidc_cache_free(c); /* frees what is left: ASan's leak check */
}

static void test_byte_cap(void **state)
{
	oidc_cache *c = oidc_cache_new(100, 800);
	arena *a = arena_new();
	struct oidc_cache_stats st;
	char big[200], *v;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* over an eighth of the budget: not kept */
	put(c, "big", G1, big);
	assert_int_equal(get(c, a, "big", G1, &v), 0);
	big[90] = '\0';
	for (int i = 0; i < 20; i++) {
		char k[16];

		snprintf(k, sizeof(k), "k%02d", i);
		put(c, k, G1, big);
		oidc_cache_stats(c, &st);
		assert_true(st.bytes <= 800);
	}
	oidc_cache_stats(c, &st);
	assert_int_equal(st.entries, 8); /* 8 × (3 + 90) bytes */
	assert_int_equal(get(c, a, "k19", G1, &v), 1);
	assert_int_equal(get(c, a, "k11", G1, &v), 0);
	arena_free(a);
	oidc_cache_free(c);
}

static void test_zero_cap_keeps_nothing(void **state)
{
	oidc_cache *c = oidc_cache_new(0, 0);
	arena *a = arena_new();
	char *v;

	(void)state;
	put(c, "a", G1, "1");
	assert_int_equal(get(c, a, "a", G1, &v), 0);
	arena_free(a);
	oidc_cache_free(c);
}

struct worker {
	oidc_cache *c;
	int id;
	int bad;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;
	arena *a = arena_new();

	for (int i = 0; i < 20000 && a; i++) {
		char k[32], val[32], *v;
		int64_t gen[OIDC_CACHE_GENS] = {i % 3, 1};
		size_t len;

		snprintf(k, sizeof(k), "k%d", i % 97);
		snprintf(val, sizeof(val), "v%d", i % 97);
		if (oidc_cache_get(w->c, a, k, strlen(k), gen, &v, &len) == 1 &&
		    strcmp(v, val) != 0)
			w->bad++;
		else if (oidc_cache_put(w->c, k, strlen(k), gen, val, strlen(val)))
			w->bad++;
	}
	arena_free(a);
	return NULL;
}

static void test_threads(void **state)
{
	oidc_cache *c = oidc_cache_new(32, 4096);
	pthread_t t[4];
	struct worker w[4];
	struct oidc_cache_stats st;

	(void)state;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){c, i, 0};
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	oidc_cache_stats(c, &st);
	assert_true(st.entries <= 32);
	assert_true(st.bytes <= 4096);
	oidc_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_put_and_generations),
	    cmocka_unit_test(test_entry_cap_evicts_least_recently_used),
	    cmocka_unit_test(test_byte_cap),
	    cmocka_unit_test(test_zero_cap_keeps_nothing),
	    cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
