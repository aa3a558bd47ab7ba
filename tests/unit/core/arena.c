/* Tests src/core/arena.c: per-request arenas and cleanup hooks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"

static void test_alloc(void **state)
{
	arena *a = arena_new();
	unsigned char *p, *q;

	(void)state;
	assert_non_null(a);
	p = arena_alloc(a, 10);
	q = arena_alloc(a, 10);
	assert_non_null(p);
	assert_non_null(q);
	assert_ptr_not_equal(p, q);
	for (int i = 0; i < 10; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal((uintptr_t)p % sizeof(max_align_t), 0);
	assert_int_equal((uintptr_t)q % sizeof(max_align_t), 0);
	memset(p, 0xaa, 10);
	assert_int_equal(q[0], 0);
	/* larger than a chunk, and many small ones after it */
	p = arena_alloc(a, 100000);
	assert_non_null(p);
	memset(p, 1, 100000);
	for (int i = 0; i < 2000; i++) {
		q = arena_alloc(a, 24);
		assert_non_null(q);
		assert_int_equal(q[23], 0);
		memset(q, 2, 24);
	}
	assert_int_equal(p[99999], 1);
	assert_null(arena_alloc(a, SIZE_MAX));
	assert_non_null(arena_alloc(a, 0));
	arena_free(a);
	arena_free(NULL);
}

static void test_strings(void **state)
{
	arena *a = arena_new();

	(void)state;
	assert_string_equal(arena_strdup(a, "hello"), "hello");
	assert_null(arena_strdup(a, NULL));
	assert_string_equal(arena_strndup(a, "hello", 3), "hel");
	assert_string_equal(arena_strndup(a, "", 0), "");
	assert_string_equal(arena_printf(a, "%s-%d", "x", 7), "x-7");
	assert_string_equal(arena_printf(a, "%s", ""), "");
	arena_free(a);
}

static int order[8];
static int norder;

static void hook(void *p)
{
	order[norder++] = *(int *)p;
}

static void test_defer(void **state)
{
	arena *a = arena_new();
	static int one = 1, two = 2, three = 3;

	(void)state;
	norder = 0;
	assert_int_equal(arena_defer(a, hook, &one), 0);
	assert_int_equal(arena_defer(a, hook, &two), 0);
	assert_int_equal(arena_defer(a, hook, &three), 0);
	assert_int_equal(norder, 0);
	arena_free(a);
	/* reverse order of registration */
	assert_int_equal(norder, 3);
	assert_int_equal(order[0], 3);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 1);
}

static void test_defer_frees_objects(void **state)
{
	arena *a = arena_new();
	char *owned = malloc(32);

	(void)state;
	/* the leak checker proves the hook ran */
	assert_int_equal(arena_defer(a, free, owned), 0);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alloc),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_defer),
	    cmocka_unit_test(test_defer_frees_objects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
