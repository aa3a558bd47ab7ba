/* Tests src/http/template.c: the Mustache subset, escaping, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "http/template.h"

static int setup(void **state)
{
	templates *t;

	if (templates_new(&t))
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	templates_free(*state);
	return 0;
}

/* Parses `text` as "t", renders it with the JSON context `ctx`, checks the output. */
static void expect_render(templates *t, const char *name, const char *text, const char *ctx,
                          const char *want)
{
	json_t *j = ctx ? json_loads(ctx, 0, NULL) : NULL;
	struct buf out;

	assert_true(!ctx || j);
	assert_int_equal(templates_parse_string(t, name, text), 0);
	buf_init(&out, 65536);
	assert_int_equal(templates_render(t, name, j, &out), 0);
	assert_string_equal(out.ptr, want);
	buf_release(&out);
	json_decref(j);
}

static void test_text_and_vars(void **state)
{
	templates *t = *state;

	expect_render(t, "a", "plain <b>html</b>", "{}", "plain <b>html</b>");
	expect_render(t, "b", "Hi {{name}}!", "{\"name\":\"Ann\"}", "Hi Ann!");
	expect_render(t, "c", "{{ name }}|{{missing}}|{{n}}|{{r}}|{{t}}|{{f}}|{{z}}",
	              "{\"name\":\"x\",\"n\":42,\"r\":1.5,\"t\":true,\"f\":false,\"z\":null}",
	              "x||42|1.5|true|false|");
	expect_render(t, "d", "{{user.given_name}} {{user.address.city}} {{user.nope.x}}",
	              "{\"user\":{\"given_name\":\"Eva\",\"address\":{\"city\":\"Bern\"}}}",
	              "Eva Bern ");
	expect_render(t, "e", "empty", NULL, "empty");
	expect_render(t, "f", "", "{}", "");
	expect_render(t, "g", "{{o}}{{a}}", "{\"o\":{\"x\":1},\"a\":[1]}", "");
	expect_render(t, "h", "a {{! a comment, with {braces} }}b", "{}", "a b");
}

static void test_escaping(void **state)
{
	expect_render(
	    *state, "x", "<p title=\"{{v}}\">{{v}}</p>",
	    "{\"v\":\"\\\"><script>alert('x')</script>&\"}",
	    "<p title=\"&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;&#x2F;script&gt;&amp;\">"
	    "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;&#x2F;script&gt;&amp;</p>");
}

static void test_sections(void **state)
{
	templates *t = *state;

	expect_render(t, "a", "{{#show}}yes{{/show}}{{^show}}no{{/show}}", "{\"show\":true}",
	              "yes");
	expect_render(t, "b", "{{#show}}yes{{/show}}{{^show}}no{{/show}}", "{\"show\":false}",
	              "no");
	expect_render(t, "c", "{{#s}}yes{{/s}}{{^s}}no{{/s}}", "{}", "no");
	expect_render(t, "d", "{{#s}}yes{{/s}}{{^s}}no{{/s}}", "{\"s\":\"\"}", "no");
	expect_render(t, "e", "{{#s}}yes{{/s}}{{^s}}no{{/s}}", "{\"s\":[]}", "no");
	expect_render(t, "f", "{{#s}}yes{{/s}}{{^s}}no{{/s}}", "{\"s\":null}", "no");
	expect_render(t, "g", "{{#s}}yes{{/s}}", "{\"s\":0}", "yes");
	/* objects are pushed; lookups walk up the stack */
	expect_render(t, "h", "{{#user}}{{name}} of {{org}}{{/user}}",
	              "{\"org\":\"Clinic\",\"user\":{\"name\":\"Bo\"}}", "Bo of Clinic");
	/* arrays: once per element, {{.}} is the element */
	expect_render(t, "i", "<ul>{{#items}}<li>{{.}}</li>{{/items}}</ul>",
	              "{\"items\":[\"a\",\"<b>\",3]}",
	              "<ul><li>a</li><li>&lt;b&gt;</li><li>3</li></ul>");
	expect_render(t, "j", "{{#roles}}[{{name}}:{{id}}]{{/roles}}",
	              "{\"roles\":[{\"name\":\"nurse\",\"id\":1},{\"name\":\"doc\",\"id\":2}]}",
	              "[nurse:1][doc:2]");
	/* a name missing in the element is found in the outer context */
	expect_render(t, "k", "{{#xs}}{{v}}{{sep}}{{/xs}}",
	              "{\"sep\":\",\",\"xs\":[{\"v\":1},{\"v\":2}]}", "1,2,");
	/* dotted section names and nesting */
	expect_render(t, "l", "{{#a.b}}{{c}}{{#d}}+{{e}}{{/d}}{{/a.b}}",
	              "{\"a\":{\"b\":{\"c\":\"C\",\"d\":[{\"e\":1},{\"e\":2}]}}}", "C+1+2");
}

static void test_partials(void **state)
{
	templates *t = *state;
	json_t *j = json_pack("{s:s, s:[s,s]}", "title", "T", "xs", "a", "b");
	struct buf out;

	assert_int_equal(templates_parse_string(t, "head", "<title>{{title}}</title>"), 0);
	assert_int_equal(templates_parse_string(t, "item", "<i>{{.}}</i>"), 0);
	assert_int_equal(templates_parse_string(t, "page", "{{> head}}{{#xs}}{{>item}}{{/xs}}"), 0);
	buf_init(&out, 4096);
	assert_int_equal(templates_render(t, "page", j, &out), 0);
	assert_string_equal(out.ptr, "<title>T</title><i>a</i><i>b</i>");
	buf_release(&out);
	json_decref(j);
}

static void test_render_errors(void **state)
{
	templates *t = *state;
	struct buf out;

	buf_init(&out, 4096);
	assert_int_equal(templates_render(t, "nope", NULL, &out), CAREID_ENOTFOUND);
	assert_int_equal(templates_parse_string(t, "p", "a{{> missing}}"), 0);
	assert_int_equal(templates_render(t, "p", NULL, &out), CAREID_ENOTFOUND);
	assert_int_equal(templates_parse_string(t, "self", "x{{> self}}"), 0);
	buf_reset(&out);
	assert_int_equal(templates_render(t, "self", NULL, &out), CAREID_ETOOBIG);
	buf_release(&out);

	buf_init(&out, 8);
	assert_int_equal(templates_parse_string(t, "long", "0123456789"), 0);
	assert_int_equal(templates_render(t, "long", NULL, &out), CAREID_ETOOBIG);
	buf_release(&out);
}

static void expect_syntax_error(templates *t, const char *text, const char *where)
{
	assert_int_equal(templates_parse_string(t, "bad", text), CAREID_EINVALID);
	assert_int_equal(careid_error_last()->code, CAREID_EINVALID);
	if (strncmp(careid_error_last()->message, where, strlen(where)) != 0)
		fail_msg("message '%s' does not start with '%s'", careid_error_last()->message,
		         where);
}

static void test_syntax_errors(void **state)
{
	templates *t = *state;
	char deep[512] = "", *p = deep;

	expect_syntax_error(t, "a\nb {{#s}}\nc", "bad:2: section 's' is never closed");
	expect_syntax_error(t, "{{#a}}{{#b}}\n{{/a}}{{/b}}", "bad:2: '{{/a}}' does not match 'b'");
	expect_syntax_error(t, "x\n\n{{/a}}", "bad:3: '{{/a}}' closes no section");
	expect_syntax_error(t, "{{&raw}}", "bad:1: unknown tag");
	expect_syntax_error(t, "{{{raw}}}", "bad:1: unknown tag");
	expect_syntax_error(t, "{{=<% %>=}}", "bad:1: unknown tag");
	expect_syntax_error(t, "{{}}", "bad:1: unknown tag");
	expect_syntax_error(t, "{{a b}}", "bad:1: unknown tag");
	expect_syntax_error(t, "{{a..b}}", "bad:1: unknown tag");
	expect_syntax_error(t, "{{.a}}", "bad:1: unknown tag");
	expect_syntax_error(t, "{{> .}}", "bad:1: unknown tag");
	expect_syntax_error(t, "line\n{{name", "bad:2: unclosed tag");
	for (int i = 0; i < 17; i++)
		p += snprintf(p, 16, "{{#s%d}}", i);
	expect_syntax_error(t, deep, "bad:1: sections nested deeper than 16");
	/* nothing was added on failure */
	assert_int_equal(templates_parse_string(t, "bad", "ok"), 0);
	assert_int_equal(templates_parse_string(t, "bad", "again"), CAREID_EEXISTS);
}

static void test_load_embedded(void **state)
{
	templates *t = NULL;

	(void)state;
	/* whatever web/templates holds must parse, and its partials resolve */
	assert_int_equal(templates_load(&t), 0);
	assert_non_null(t);
	templates_free(t);
	templates_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_text_and_vars, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sections, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partials, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_render_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
	    cmocka_unit_test(test_load_embedded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
