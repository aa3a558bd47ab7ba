/* Tests src/core/buf.c: capped growable buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/error.h"

static void test_init_empty(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 16);
	assert_non_null(b.ptr);
	assert_string_equal(b.ptr, "");
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 16);
	buf_reset(&b);
	assert_string_equal(b.ptr, "");
	buf_release(&b);
	buf_release(&b);
	assert_string_equal(b.ptr, "");
}

static void test_append(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_puts(&b, "ab"), 0);
	assert_int_equal(buf_putc(&b, 'c'), 0);
	assert_int_equal(buf_append(&b, "dxx", 1), 0);
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_int_equal(buf_printf(&b, "-%d-%s", 42, "z"), 0);
	assert_string_equal(b.ptr, "abcd-42-z");
	assert_int_equal(b.len, 9);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.ptr, "");
	assert_int_equal(buf_puts(&b, "again"), 0);
	assert_string_equal(b.ptr, "again");
	buf_release(&b);
}

static void test_growth(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 10000);
	assert_int_equal(strlen(b.ptr), 10000);
	assert_int_equal(b.ptr[26], 'a');
	buf_release(&b);
}

static void test_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 5);
	assert_int_equal(buf_puts(&b, "12345"), 0);
	assert_int_equal(buf_putc(&b, '6'), CAREID_ETOOBIG);
	assert_int_equal(careid_error_last()->code, CAREID_ETOOBIG);
	assert_string_equal(b.ptr, "12345"); /* unchanged */
	assert_int_equal(buf_printf(&b, "%s", "x"), CAREID_ETOOBIG);
	assert_int_equal(buf_append(&b, "x", SIZE_MAX), CAREID_ETOOBIG);
	assert_int_equal(b.len, 5);
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%d", 123456), CAREID_ETOOBIG);
	assert_int_equal(b.len, 0);
	buf_release(&b);

	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(buf_putc(&b, 'x'), CAREID_ETOOBIG);
	buf_release(&b);
}

static void test_detach(void **state)
{
	struct buf b;
	size_t len = 99;
	char *p;

	(void)state;
	buf_init(&b, 64);
	p = buf_detach(&b, &len);
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	free(p);
	assert_int_equal(buf_puts(&b, "hello"), 0);
	p = buf_detach(&b, &len);
	assert_string_equal(p, "hello");
	assert_int_equal(len, 5);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 64);
	assert_string_equal(b.ptr, "");
	free(p);
	assert_int_equal(buf_puts(&b, "reuse"), 0);
	p = buf_detach(&b, NULL);
	assert_string_equal(p, "reuse");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_empty), cmocka_unit_test(test_append),
	    cmocka_unit_test(test_growth),     cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_detach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
