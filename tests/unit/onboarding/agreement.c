/* Tests src/onboarding/agreement.c's pure parts: the Connection Agreement's
 * text (etc/onboarding/connection-agreement.json and what a wrong one gets)
 * and the checks of an acceptance (the box, the typed full name). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "onboarding/agreement_int.h"

static void test_etc_text(void **state)
{
	const char *src = getenv("CAREID_SOURCE_DIR");
	json_t *t = NULL, *c;
	char path[1024];
	size_t i;

	(void)state;
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/etc/onboarding/connection-agreement.json", src);
	if (agreement_text_load(&t, path) != 0)
		fail_msg("%s", careid_error_last()->message);
	assert_int_equal(json_integer_value(json_object_get(t, "version")), 1);
	/* the sample says it is one */
	assert_non_null(strstr(json_string_value(json_object_get(t, "notice")), "careid's sample"));
	assert_non_null(
	    strstr(json_string_value(json_object_get(t, "notice")), "not NHS England's"));
	/* the obligations the brief lists, each a clause */
	{
		static const char *const headings[] = {"Conditions of use",
		                                       "Protecting credentials and keys",
		                                       "Security incident reporting",
		                                       "Change notification",
		                                       "Clinical safety",
		                                       "Audit"};
		for (size_t h = 0; h < sizeof(headings) / sizeof(headings[0]); h++) {
			bool found = false;

			json_array_foreach(json_object_get(t, "clauses"), i, c)
			{
				found = found ||
				        strcmp(json_string_value(json_object_get(c, "heading")),
				               headings[h]) == 0;
			}
			if (!found)
				fail_msg("no clause '%s'", headings[h]);
		}
	}
	json_decref(t);

	assert_int_equal(agreement_text_load(&t, "/nonexistent/connection-agreement.json"),
	                 CAREID_EIO);
	assert_null(t);
}

static void expect_bad(const char *text, const char *message)
{
	json_t *t = (json_t *)1;

	assert_int_equal(agreement_text_parse(&t, text, "a.json"), CAREID_EINVALID);
	assert_null(t);
	if (!strstr(careid_error_last()->message, message))
		fail_msg("'%s' does not say '%s'", careid_error_last()->message, message);
}

#define OK_HEAD "\"id\":\"a\",\"version\":2,\"title\":\"T\",\"notice\":\"Sample\""
#define CLAUSE  "{\"heading\":\"H\",\"paragraphs\":[\"P\"]}"

static void test_bad_texts(void **state)
{
	json_t *t = NULL;

	(void)state;
	assert_int_equal(
	    agreement_text_parse(&t, "{" OK_HEAD ",\"clauses\":[" CLAUSE "]}", "a.json"), 0);
	assert_int_equal(json_integer_value(json_object_get(t, "version")), 2);
	json_decref(t);

	expect_bad("[]", "a.json: not a JSON object");
	expect_bad("{", "a.json: line 1");
	expect_bad("{" OK_HEAD ",\"clauses\":[" CLAUSE "],\"claus\":[]}", "unknown key 'claus'");
	expect_bad("{\"id\":\"a\",\"version\":1,\"title\":\"T\",\"clauses\":[" CLAUSE "]}",
	           "\"notice\"");
	expect_bad(
	    "{\"id\":\"a\",\"version\":0,\"title\":\"T\",\"notice\":\"N\",\"clauses\":[" CLAUSE
	    "]}",
	    "\"version\" must be an integer");
	expect_bad(
	    "{\"id\":\"a\",\"version\":\"1\",\"title\":\"T\",\"notice\":\"N\",\"clauses\":[" CLAUSE
	    "]}",
	    "\"version\" must be an integer");
	expect_bad("{" OK_HEAD ",\"clauses\":[]}", "1 to 50 clauses");
	expect_bad("{" OK_HEAD ",\"clauses\":[{\"heading\":\"H\",\"paragraphs\":[]}]}",
	           "clause 1 needs");
	expect_bad("{" OK_HEAD ",\"clauses\":[" CLAUSE
	           ",{\"heading\":\"\",\"paragraphs\":[\"P\"]}]}",
	           "clause 2 needs");
	expect_bad("{" OK_HEAD ",\"clauses\":[{\"heading\":\"H\",\"paragrahps\":[\"P\"]}]}",
	           "clause 1: unknown key 'paragrahps'");
	expect_bad("{" OK_HEAD ",\"introduction\":\"not a list\",\"clauses\":[" CLAUSE "]}",
	           "\"introduction\"");
	expect_bad("{" OK_HEAD ",\"version\":3,\"clauses\":[" CLAUSE "]}", "line 1");
}

static const char *err(json_t *e, const char *field)
{
	return json_string_value(json_object_get(e, field));
}

static void test_input(void **state)
{
	json_t *e;
	char long_name[2 * AGREEMENT_NAME_MAX + 2];

	(void)state;
	e = agreement_input_errors(true, "Alex Okonkwo");
	assert_int_equal(json_object_size(e), 0);
	json_decref(e);
	/* 200 characters, some of them two bytes long */
	memset(long_name, 'a', AGREEMENT_NAME_MAX);
	memcpy(long_name, "\xc3\xa9\xc3\xa9", 4);
	long_name[AGREEMENT_NAME_MAX + 2] = '\0';
	e = agreement_input_errors(true, long_name);
	assert_int_equal(json_object_size(e), 0);
	json_decref(e);

	e = agreement_input_errors(false, "");
	assert_int_equal(json_object_size(e), 2);
	assert_string_equal(err(e, "accept"), "Tick the box to accept the Connection Agreement on "
	                                      "behalf of your organisation");
	assert_string_equal(err(e, "full_name"), "Enter your full name");
	json_decref(e);
	e = agreement_input_errors(true, NULL);
	assert_string_equal(err(e, "full_name"), "Enter your full name");
	assert_null(err(e, "accept"));
	json_decref(e);
	e = agreement_input_errors(true, "   ");
	assert_string_equal(err(e, "full_name"), "Enter your full name");
	json_decref(e);
	e = agreement_input_errors(true, "Alex\nOkonkwo");
	assert_string_equal(err(e, "full_name"),
	                    "Full name must not contain line breaks or control characters");
	json_decref(e);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	e = agreement_input_errors(true, long_name);
	assert_string_equal(err(e, "full_name"), "Full name must be 200 characters or fewer");
	json_decref(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_etc_text),
	    cmocka_unit_test(test_bad_texts),
	    cmocka_unit_test(test_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
