/* Tests src/http/form.c: urlencoded and Cookie parsing, encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/error.h"
#include "http/form.h"

static int setup(void **state)
{
	*state = arena_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	arena_free(*state);
	return 0;
}

static int parse(arena *a, struct form *f, const char *s)
{
	return form_parse(f, a, s, strlen(s));
}

static void test_basic(void **state)
{
	struct form f;

	assert_int_equal(parse(*state, &f, "a=1&b=two&c"), 0);
	assert_int_equal(f.n, 3);
	assert_string_equal(form_get(&f, "a"), "1");
	assert_string_equal(form_get(&f, "b"), "two");
	assert_string_equal(form_get(&f, "c"), "");
	assert_null(form_get(&f, "d"));
	assert_string_equal(f.fields[2].name, "c");
}

static void test_empty(void **state)
{
	struct form f;

	assert_int_equal(parse(*state, &f, ""), 0);
	assert_int_equal(f.n, 0);
	assert_null(form_get(&f, "a"));
	assert_int_equal(parse(*state, &f, "&&&"), 0);
	assert_int_equal(f.n, 0);
	assert_int_equal(parse(*state, &f, "&a=1&&b=2&"), 0);
	assert_int_equal(f.n, 2);
	assert_int_equal(parse(*state, &f, "a="), 0);
	assert_string_equal(form_get(&f, "a"), "");
	assert_int_equal(parse(*state, &f, "=x"), 0);
	assert_string_equal(form_get(&f, ""), "x");
}

static void test_decoding(void **state)
{
	struct form f;

	assert_int_equal(parse(*state, &f, "redirect_uri=https%3A%2F%2Fa.example%2Fcb%3Fx%3D1"), 0);
	assert_string_equal(form_get(&f, "redirect_uri"), "https://a.example/cb?x=1");
	assert_int_equal(parse(*state, &f, "scope=openid+profile&q=a%2Bb&r=a%20b"), 0);
	assert_string_equal(form_get(&f, "scope"), "openid profile");
	assert_string_equal(form_get(&f, "q"), "a+b");
	assert_string_equal(form_get(&f, "r"), "a b");
	assert_int_equal(parse(*state, &f, "n%61me=%c3%A9t%C3%A9"), 0);
	assert_string_equal(form_get(&f, "name"), "\xc3\xa9t\xc3\xa9");
	/* '=' after the first belongs to the value */
	assert_int_equal(parse(*state, &f, "a=b=c"), 0);
	assert_string_equal(form_get(&f, "a"), "b=c");
	/* raw UTF-8 is accepted when valid */
	assert_int_equal(parse(*state, &f, "x=\xe2\x82\xac"), 0);
	assert_string_equal(form_get(&f, "x"), "\xe2\x82\xac");
}

static void test_length_bound(void **state)
{
	struct form f;
	const char s[] = "a=1&b=2";

	/* only `len` bytes are read, no NUL needed */
	assert_int_equal(form_parse(&f, *state, s, 3), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(form_get(&f, "a"), "1");
}

static void expect_error(arena *a, const char *s, int code)
{
	struct form f;

	f.n = 99;
	assert_int_equal(parse(a, &f, s), code);
	assert_int_equal(careid_error_last()->code, code);
	assert_int_equal(f.n, 0);
	assert_null(f.fields);
}

static void test_bad_percent(void **state)
{
	expect_error(*state, "a=%zz", CAREID_EINVALID);
	expect_error(*state, "a=%4", CAREID_EINVALID);
	expect_error(*state, "a=%", CAREID_EINVALID);
	expect_error(*state, "a=1&b=%g0", CAREID_EINVALID);
	expect_error(*state, "%=1", CAREID_EINVALID);
	expect_error(*state, "a%2=1", CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, "name"));
}

static void test_error_names_field(void **state)
{
	expect_error(*state, "ok=1&state=%zz", CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, "'state'"));
}

static void test_nul(void **state)
{
	struct form f;
	const char raw[] = "a=x\0y";

	expect_error(*state, "a=%00", CAREID_EINVALID);
	expect_error(*state, "%00=1", CAREID_EINVALID);
	assert_int_equal(form_parse(&f, *state, raw, sizeof(raw) - 1), CAREID_EINVALID);
}

static void test_bad_utf8(void **state)
{
	expect_error(*state, "a=%ff", CAREID_EINVALID);
	expect_error(*state, "a=%c0%af", CAREID_EINVALID);       /* overlong '/' */
	expect_error(*state, "a=%e0%80%af", CAREID_EINVALID);    /* overlong, 3 bytes */
	expect_error(*state, "a=%ed%a0%80", CAREID_EINVALID);    /* surrogate */
	expect_error(*state, "a=%f4%90%80%80", CAREID_EINVALID); /* > U+10FFFF */
	expect_error(*state, "a=%c3", CAREID_EINVALID);          /* truncated */
	expect_error(*state, "a=%80", CAREID_EINVALID);          /* lone continuation */
	expect_error(*state, "a=\xc3(", CAREID_EINVALID);        /* raw, bad continuation */
	expect_error(*state, "%fe=1", CAREID_EINVALID);
}

static void test_caps(void **state)
{
	arena *a = *state;
	char *s = arena_alloc(a, 3 * FORM_MAX_VALUE + 64);
	struct form f;
	size_t n;

	/* value at the cap passes, one more byte fails */
	memcpy(s, "v=", 2);
	memset(s + 2, 'x', FORM_MAX_VALUE);
	assert_int_equal(form_parse(&f, a, s, 2 + FORM_MAX_VALUE), 0);
	assert_int_equal(strlen(form_get(&f, "v")), FORM_MAX_VALUE);
	s[2 + FORM_MAX_VALUE] = 'x';
	assert_int_equal(form_parse(&f, a, s, 3 + FORM_MAX_VALUE), CAREID_ETOOBIG);
	assert_int_equal(f.n, 0);
	/* the cap is on decoded bytes: %41 counts once */
	for (n = 0; n < FORM_MAX_VALUE; n++)
		memcpy(s + 2 + 3 * n, "%41", 3);
	assert_int_equal(form_parse(&f, a, s, 2 + 3 * FORM_MAX_VALUE), 0);
	/* name cap */
	memset(s, 'n', FORM_MAX_NAME);
	memcpy(s + FORM_MAX_NAME, "=1", 2);
	assert_int_equal(form_parse(&f, a, s, FORM_MAX_NAME + 2), 0);
	memset(s, 'n', FORM_MAX_NAME + 1);
	memcpy(s + FORM_MAX_NAME + 1, "=1", 2);
	assert_int_equal(form_parse(&f, a, s, FORM_MAX_NAME + 3), CAREID_ETOOBIG);
}

static void test_max_fields(void **state)
{
	arena *a = *state;
	char *s = arena_alloc(a, 8 * (FORM_MAX_FIELDS + 1));
	struct form f;
	size_t len = 0;

	for (int i = 0; i < FORM_MAX_FIELDS; i++)
		len += (size_t)snprintf(s + len, 8, "f%d=1&", i);
	assert_int_equal(form_parse(&f, a, s, len), 0);
	assert_int_equal(f.n, FORM_MAX_FIELDS);
	len += (size_t)snprintf(s + len, 8, "g=1");
	assert_int_equal(form_parse(&f, a, s, len), CAREID_ETOOBIG);
	assert_int_equal(f.n, 0);
}

static void test_duplicates(void **state)
{
	struct form f;

	assert_int_equal(parse(*state, &f, "a=1&b=2&c=3"), 0);
	assert_null(form_first_duplicate(&f));
	assert_int_equal(form_count(&f, "a"), 1);
	assert_int_equal(form_count(&f, "z"), 0);
	assert_int_equal(parse(*state, &f, "a=1&b=2&b=3&a=4"), 0);
	assert_string_equal(form_first_duplicate(&f), "b");
	assert_int_equal(form_count(&f, "a"), 2);
	assert_int_equal(form_count(&f, "b"), 2);
	assert_string_equal(form_get(&f, "a"), "1");
	/* the same name, spelled differently on the wire */
	assert_int_equal(parse(*state, &f, "scope=a&sc%6fpe=b"), 0);
	assert_string_equal(form_first_duplicate(&f), "scope");
}

static void test_cookie(void **state)
{
	struct form f;

	assert_int_equal(cookie_parse(&f, *state, "a=1; b=two;c=3"), 0);
	assert_int_equal(f.n, 3);
	assert_string_equal(form_get(&f, "a"), "1");
	assert_string_equal(form_get(&f, "b"), "two");
	assert_string_equal(form_get(&f, "c"), "3");
	/* no decoding, quotes removed, whitespace trimmed, '=' in value kept */
	assert_int_equal(cookie_parse(&f, *state, " sid = \"a%20b\" ;x=a=b; y=\"\""), 0);
	assert_string_equal(form_get(&f, "sid"), "a%20b");
	assert_string_equal(form_get(&f, "x"), "a=b");
	assert_string_equal(form_get(&f, "y"), "");
	/* a single quote is not a pair of quotes */
	assert_int_equal(cookie_parse(&f, *state, "q=\""), 0);
	assert_string_equal(form_get(&f, "q"), "\"");
	/* no '=' or empty name: skipped */
	assert_int_equal(cookie_parse(&f, *state, "flag; =v; ; a=1;"), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(form_get(&f, "a"), "1");
	assert_int_equal(cookie_parse(&f, *state, ""), 0);
	assert_int_equal(f.n, 0);
	/* pairs with control characters or bad UTF-8 are skipped, not fatal */
	assert_int_equal(cookie_parse(&f, *state, "bad=\x01x; u=\xff; ok=1"), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(form_get(&f, "ok"), "1");
	/* duplicates are kept in order */
	assert_int_equal(cookie_parse(&f, *state, "s=1; s=2"), 0);
	assert_int_equal(form_count(&f, "s"), 2);
	assert_string_equal(form_get(&f, "s"), "1");
}

static void test_cookie_caps(void **state)
{
	arena *a = *state;
	char *s = arena_alloc(a, FORM_MAX_VALUE + 64 + 8 * (FORM_MAX_FIELDS + 1));
	struct form f;
	size_t len = 0;

	memcpy(s, "v=", 2);
	memset(s + 2, 'x', FORM_MAX_VALUE);
	s[2 + FORM_MAX_VALUE] = '\0';
	assert_int_equal(cookie_parse(&f, a, s), 0);
	s[2 + FORM_MAX_VALUE] = 'x';
	s[3 + FORM_MAX_VALUE] = '\0';
	assert_int_equal(cookie_parse(&f, a, s), CAREID_ETOOBIG);
	assert_int_equal(f.n, 0);
	memset(s, 'n', FORM_MAX_NAME + 1);
	memcpy(s + FORM_MAX_NAME + 1, "=1", 3);
	assert_int_equal(cookie_parse(&f, a, s), CAREID_ETOOBIG);
	for (int i = 0; i < FORM_MAX_FIELDS; i++)
		len += (size_t)snprintf(s + len, 8, "c%d=1;", i);
	assert_int_equal(cookie_parse(&f, a, s), 0);
	assert_int_equal(f.n, FORM_MAX_FIELDS);
	snprintf(s + len, 8, "z=1");
	assert_int_equal(cookie_parse(&f, a, s), CAREID_ETOOBIG);
	assert_int_equal(careid_error_last()->code, CAREID_ETOOBIG);
}

static void test_encode(void **state)
{
	struct form f;
	const char *in = "a b&c=d/é~-._+%";
	char *enc = form_encode(*state, in);

	assert_string_equal(enc, "a%20b%26c%3Dd%2F%C3%A9~-._%2B%25");
	assert_string_equal(form_encode(*state, ""), "");
	assert_null(form_encode(*state, NULL));
	/* round trip */
	enc = arena_printf(*state, "k=%s", form_encode(*state, in));
	assert_int_equal(parse(*state, &f, enc), 0);
	assert_string_equal(form_get(&f, "k"), in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_decoding, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_length_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_percent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error_names_field, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nul, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_utf8, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cookie, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cookie_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_encode, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
