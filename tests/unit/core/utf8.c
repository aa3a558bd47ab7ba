/* utf8_trim_partial(): text cut by snprintf() inside a character. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <jansson.h>

#include "core/error.h"
#include "core/utf8.h"

static void trims(const char *in, const char *want)
{
	char s[64];

	snprintf(s, sizeof(s), "%s", in);
	assert_int_equal(utf8_trim_partial(s), strlen(want));
	assert_string_equal(s, want);
}

static void test_whole_text_kept(void **state)
{
	(void)state;
	trims("", "");
	trims("plain", "plain");
	trims("caf\xc3\xa9", "caf\xc3\xa9");                     /* 2 bytes */
	trims("\xe2\x82\xac 5", "\xe2\x82\xac 5");               /* 3 bytes */
	trims("ward \xf0\x9f\x8f\xa5", "ward \xf0\x9f\x8f\xa5"); /* 4 bytes */
}

static void test_cut_character_dropped(void **state)
{
	(void)state;
	trims("caf\xc3", "caf");
	trims("a\xe2", "a");
	trims("a\xe2\x82", "a");
	trims("ward \xf0", "ward ");
	trims("ward \xf0\x9f", "ward ");
	trims("ward \xf0\x9f\x8f", "ward ");
	trims("\xf0\x9f\x8f", "");
}

/* A message quoting a long name, cut at its buffer: still a JSON string. */
static void test_error_message_stays_utf8(void **state)
{
	char name[2 * 300 + 1];
	json_t *j;

	(void)state;
	for (int i = 0; i < 300; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[sizeof(name) - 1] = '\0';
	for (int lead = 0; lead < 2; lead++) {
		careid_error_set(CAREID_EINVALID,
		                 "%sredirect URI https://x.example/%s is not valid",
		                 lead ? "x" : "", name);
		j = json_string(careid_error_last()->message);
		assert_non_null(j);
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_text_kept),
	    cmocka_unit_test(test_cut_character_dropped),
	    cmocka_unit_test(test_error_message_stays_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
