/* Tests src/onboarding/timeline.c: the facts of a plan's timeline (windows,
 * review due date, critical paths, sites and events in order), the picture's
 * layout, escaping and determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/workdays.h"
#include "onboarding/timeline.h"

static const char base_json[] =
    "{\"dates\": {\"testing_start\": \"2026-11-02\", \"testing_end\": \"2026-11-27\","
    " \"conformance_start\": \"2026-11-16\", \"conformance_answers\": \"2026-12-01\","
    " \"conformance_achieved\": \"2027-01-15\", \"first_site_live\": \"2027-03-01\","
    " \"last_site_live\": \"2027-09-01\"},"
    " \"deployment_model\": \"single_instance\","
    " \"sites\": [{\"name\": \"Leeds General Infirmary\", \"ods_code\": \"RR8\","
    "   \"planned_date\": \"2027-03-01\", \"users\": 400, \"auths_per_day\": 1200,"
    "   \"auths_peak_hour\": 300},"
    "  {\"name\": \"St James's\", \"ods_code\": \"RR801\", \"planned_date\": \"2027-09-01\","
    "   \"users\": 600, \"auths_per_day\": 1800, \"auths_peak_hour\": 450},"
    "  {\"name\": \"Wharfedale <Otley>\", \"ods_code\": \"RR813\", \"planned_date\": "
    "\"2027-06-01\", \"users\": 50, \"auths_per_day\": 100, \"auths_peak_hour\": 20},"
    "  {\"name\": \"Chapel Allerton\", \"ods_code\": \"RR814\", \"planned_date\": "
    "\"2027-03-01\", \"users\": 70, \"auths_per_day\": 150, \"auths_peak_hour\": 30}]}";

static const char *const holidays[] = {"2026-12-25", "2026-12-28", "2027-01-01", "2027-03-26",
                                       "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30"};

static int setup(void **state)
{
	workdays *wd = NULL;

	if (workdays_from_dates(&wd, holidays, sizeof(holidays) / sizeof(holidays[0])))
		return -1;
	*state = wd;
	return 0;
}

static int teardown(void **state)
{
	workdays_free(*state);
	return 0;
}

static json_t *plan_with(const char *date_id, const char *value)
{
	json_t *p = json_loads(base_json, 0, NULL);

	assert_non_null(p);
	if (date_id)
		json_object_set_new(json_object_get(p, "dates"), date_id, json_string(value));
	return p;
}

static json_t *build(const workdays *wd, const json_t *plan, const char *today, const char *title)
{
	json_t *out = NULL;

	assert_int_equal(timeline_build(&out, &(struct timeline_input){plan, title, today, wd}), 0);
	assert_non_null(out);
	return out;
}

/* "a b c" of `key` over a list. */
static void joined(char *out, size_t size, const json_t *list, const char *key, const char *sep)
{
	size_t i, n = 0;
	const json_t *e;

	out[0] = '\0';
	json_array_foreach(list, i, e) n += (size_t)snprintf(
	    out + n, size - n, "%s%s", i ? sep : "", json_string_value(json_object_get(e, key)));
}

static char *svg_of(const json_t *tl)
{
	struct buf b;
	char *s;

	buf_init(&b, 1 << 20);
	assert_int_equal(timeline_svg(&b, json_object_get(tl, "svg")), 0);
	s = buf_detach(&b, NULL);
	assert_non_null(s);
	return s;
}

static void test_facts(void **state)
{
	json_t *plan = plan_with(NULL, NULL), *tl = build(*state, plan, "2026-12-01", "T");
	const json_t *facts = json_object_get(tl, "facts"), *w;
	char got[1024];

	joined(got, sizeof(got), json_object_get(facts, "milestones"), "date", " ");
	assert_string_equal(got,
	                    "2026-11-02 2026-11-27 2026-11-16 2026-12-01 2027-01-15 2027-03-01 "
	                    "2027-09-01");
	joined(got, sizeof(got), json_object_get(facts, "milestones"), "label", "|");
	assert_string_equal(got, "Testing in INT starts|Testing in INT ends|Conformance starts|"
	                         "Conformance answers submitted|Conformance achieved|First site "
	                         "live|Last site live");
	assert_string_equal(json_string_value(json_object_get(facts, "review_due")), "2026-12-08");
	w = json_object_get(facts, "windows");
	joined(got, sizeof(got), w, "id", " ");
	assert_string_equal(got, "testing assurance review rollout");
	/* working days, both ends counted, bank holidays left out */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(w, 0), "working_days")),
	                 20);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(w, 1), "working_days")),
	                 42);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(w, 2), "working_days")),
	                 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(w, 2), "to_text")),
	                    "8 December 2026");
	assert_string_equal(json_string_value(json_object_get(json_array_get(w, 3), "label")),
	                    "Rollout");
	/* sites by date; the same day keeps the plan's order */
	joined(got, sizeof(got), json_object_get(facts, "sites"), "ods_code", " ");
	assert_string_equal(got, "RR8 RR814 RR813 RR801");
	json_decref(tl);
	json_decref(plan);
}

static void test_critical_path(void **state)
{
	json_t *plan = plan_with(NULL, NULL), *tl = build(*state, plan, NULL, "T");
	const json_t *cp = json_object_get(json_object_get(tl, "facts"), "critical_path");
	char got[1024];

	/* the review of the answers (due 8 December) ends after testing (27 November) */
	joined(got, sizeof(got), json_object_get(json_object_get(cp, "first_site"), "steps"), "id",
	       " ");
	assert_string_equal(got, "testing_start conformance_start conformance_answers review_due "
	                         "conformance_achieved first_site_live");
	joined(got, sizeof(got), json_object_get(json_object_get(cp, "last_site"), "steps"), "id",
	       " ");
	assert_string_equal(got, "testing_start conformance_start conformance_answers review_due "
	                         "conformance_achieved first_site_live last_site_live");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(cp, "first_site"), "text")),
	    "Testing in INT starts (2 November 2026), then Conformance starts (16 "
	    "November 2026), then Conformance answers submitted (1 December 2026), "
	    "then Review of conformance answers due (8 December 2026), then "
	    "Conformance achieved (15 January 2027), then First site live (1 March "
	    "2027)");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(cp, "first_site"), "working_days")),
	    83);
	json_decref(tl);
	json_decref(plan);
	/* testing that ends after the review is due is on the path instead */
	plan = plan_with("testing_end", "2026-12-09");
	tl = build(*state, plan, NULL, "T");
	cp = json_object_get(json_object_get(tl, "facts"), "critical_path");
	joined(got, sizeof(got), json_object_get(json_object_get(cp, "first_site"), "steps"), "id",
	       " ");
	assert_string_equal(got, "testing_start testing_end conformance_achieved first_site_live");
	json_decref(tl);
	json_decref(plan);
	/* a tie goes to the review */
	plan = plan_with("testing_end", "2026-12-08");
	tl = build(*state, plan, NULL, "T");
	cp = json_object_get(json_object_get(tl, "facts"), "critical_path");
	joined(got, sizeof(got), json_object_get(json_object_get(cp, "first_site"), "steps"), "id",
	       " ");
	assert_string_equal(got, "testing_start conformance_start conformance_answers review_due "
	                         "conformance_achieved first_site_live");
	json_decref(tl);
	json_decref(plan);
}

static void test_events(void **state)
{
	json_t *plan = plan_with(NULL, NULL), *tl = build(*state, plan, NULL, "T");
	const json_t *ev = json_object_get(tl, "events"), *e;
	char got[2048];
	size_t i, n = 0;

	joined(got, sizeof(got), ev, "text", "|");
	assert_string_equal(got,
	                    "Testing in INT starts|Conformance starts|Testing in INT ends|"
	                    "Conformance answers submitted|Review of conformance answers due|"
	                    "Conformance achieved|First site live|Site goes live: Leeds General "
	                    "Infirmary (RR8)|Site goes live: Chapel Allerton (RR814)|Site goes "
	                    "live: Wharfedale <Otley> (RR813)|Site goes live: St James's "
	                    "(RR801)|Last site live");
	json_array_foreach(ev, i, e) n += json_is_true(json_object_get(e, "critical"));
	/* every step of the path to the last site, and nothing else */
	assert_int_equal(n, 7);
	assert_false(json_is_true(json_object_get(json_array_get(ev, 2), "critical")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 4), "date_text")),
	                    "8 December 2026");
	json_decref(tl);
	json_decref(plan);
}

/* A long name of many-byte characters is kept whole (it was once cut to a
 * buffer inside a character, and the site fell out of the events). */
static void test_long_site_name(void **state)
{
	json_t *plan = plan_with(NULL, NULL), *tl, *site;
	char name[152 * 2 + 1], want[400];
	const json_t *e;
	size_t i;
	bool found = false;

	for (i = 0; i < 152; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[sizeof(name) - 1] = '\0';
	site = json_array_get(json_object_get(plan, "sites"), 0);
	json_object_set_new(site, "name", json_string(name));
	tl = build(*state, plan, NULL, "T");
	snprintf(want, sizeof(want), "Site goes live: %s (RR8)", name);
	json_array_foreach(json_object_get(tl, "events"), i, e) found =
	    found || strcmp(json_string_value(json_object_get(e, "text")), want) == 0;
	assert_true(found);
	json_decref(tl);
	json_decref(plan);
}

static void test_picture_layout(void **state)
{
	json_t *plan = plan_with(NULL, NULL), *tl = build(*state, plan, "2026-12-01", "T");
	const json_t *svg = json_object_get(tl, "svg");
	char *s = svg_of(tl);

	assert_int_equal(json_integer_value(json_object_get(svg, "width")), 960);
	assert_int_equal(json_integer_value(json_object_get(svg, "height")), 450);
	assert_string_equal(
	    json_string_value(json_object_get(svg, "desc")),
	    "Testing in INT from 2 November 2026 to 27 November 2026; assurance from "
	    "16 November 2026 to 15 January 2027; first site live on 1 March 2027 and "
	    "last site live on 1 September 2027, 4 sites in all. The table that "
	    "follows lists every date.");
	/* the axis runs from 1 November 2026 to 1 October 2027 (334 days, 670 px) */
	assert_non_null(strstr(s, "<text x=\"273\" y=\"16\" text-anchor=\"start\" font-size=\"12\" "
	                          "font-weight=\"normal\" fill=\"#212b32\">Nov 2026</text>"));
	/* testing: 2 to 27 November, not on the critical path */
	assert_non_null(strstr(s, "<rect x=\"272\" y=\"55\" width=\"50\" height=\"16\" "
	                          "fill=\"#005eb8\" stroke=\"#212b32\" stroke-width=\"1\"/>"));
	/* assurance on the critical path: outlined in red */
	assert_non_null(strstr(s, "fill=\"#330072\" stroke=\"#d5281b\" stroke-width=\"3\"/>"));
	/* the rollout, with a tick for each of the 4 sites (two on 1 March) */
	assert_non_null(strstr(s, "fill=\"#007f3b\" stroke=\"#d5281b\" stroke-width=\"3\"/>"));
	assert_non_null(strstr(s, "<line x1=\"510\" y1=\"140\" x2=\"510\" y2=\"166\" "
	                          "stroke=\"#212b32\" stroke-width=\"2\"/>"));
	/* today, dashed */
	assert_non_null(strstr(s, "stroke-dasharray=\"6 4\"/>\n<text"));
	assert_non_null(strstr(s, ">Today</text>"));
	assert_true(json_is_true(json_object_get(svg, "has_today")));
	/* a diamond per milestone; the ones on the path red */
	assert_non_null(strstr(s, "<polygon points=\"272,235 280,243 272,251 264,243\" "
	                          "fill=\"#d5281b\" stroke=\"#212b32\"/>"));
	assert_non_null(strstr(s, "fill=\"#212b32\" stroke=\"#212b32\"/>")); /* testing ends */
	assert_non_null(strstr(s, "role=\"img\" aria-labelledby=\"timeline-title timeline-desc\""));
	assert_true(strncmp(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 960 450\"",
	                    60) == 0);
	assert_string_equal(s + strlen(s) - 7, "</svg>\n");
	free(s);
	json_decref(tl);
	/* no today line outside the axis */
	tl = build(*state, plan, "2028-01-01", "T");
	s = svg_of(tl);
	assert_null(strstr(s, "Today"));
	assert_null(strstr(s, "stroke-dasharray"));
	assert_true(json_is_false(json_object_get(json_object_get(tl, "svg"), "has_today")));
	free(s);
	json_decref(tl);
	json_decref(plan);
}

static void test_month_labels_fit(void **state)
{
	json_t *plan = json_loads(
	    "{\"dates\": {\"testing_start\": \"2020-01-06\", \"testing_end\": \"2020-01-31\","
	    " \"conformance_start\": \"2020-01-06\", \"conformance_answers\": \"2020-02-03\","
	    " \"conformance_achieved\": \"2020-03-02\", \"first_site_live\": \"2020-03-02\","
	    " \"last_site_live\": \"2040-12-31\"}, \"sites\": [{\"name\": \"A\", \"ods_code\": "
	    "\"AAA\", \"planned_date\": \"2020-03-02\"}]}",
	    0, NULL);
	json_t *tl = build(*state, plan, NULL, "T");
	const json_t *els = json_object_get(json_object_get(tl, "svg"), "elements"), *e;
	size_t i, labels = 0;
	int last_x = -1000;

	json_array_foreach(els, i, e)
	{
		const json_t *t = json_object_get(e, "svg_text");
		int x = (int)json_integer_value(json_object_get(t, "x"));

		if (!t || json_integer_value(json_object_get(t, "y")) != 16)
			continue;
		labels++;
		assert_true(x - last_x >= 72); /* no label runs into the next */
		assert_true(x + 72 <= 960 + 3);
		last_x = x;
	}
	assert_true(labels >= 4 && labels <= 9);
	json_decref(tl);
	json_decref(plan);
}

static void test_escaping_and_determinism(void **state)
{
	json_t *plan = plan_with(NULL, NULL);
	json_t *a = build(*state, plan, "2026-12-01", "Plan for <Ward & \"View\"> 'live'");
	json_t *b = build(*state, plan, "2026-12-01", "Plan for <Ward & \"View\"> 'live'");
	char *sa = svg_of(a), *sb = svg_of(b), *ja, *jb;

	assert_string_equal(sa, sb);
	ja = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
	jb = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(ja, jb);
	assert_non_null(strstr(sa, "<title id=\"timeline-title\">Plan for &lt;Ward &amp; "
	                           "&quot;View&quot;&gt; &#39;live&#39;</title>"));
	assert_null(strstr(sa, "<Ward"));
	/* the model keeps the text as it is: the page's template escapes it */
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "svg"), "title")),
	                    "Plan for <Ward & \"View\"> 'live'");
	free(sa);
	free(sb);
	free(ja);
	free(jb);
	json_decref(a);
	json_decref(b);
	json_decref(plan);
}

static void test_svg_model_checked(void **state)
{
	struct buf b;
	json_t *bad;
	json_t *plan = plan_with(NULL, NULL), *tl = build(*state, plan, NULL, "T");

	buf_init(&b, 1 << 16);
	bad = json_pack("{s:i, s:i}", "width", 10, "height", 10);
	assert_int_equal(timeline_svg(&b, bad), CAREID_EINVALID);
	json_decref(bad);
	buf_reset(&b);
	bad = json_pack("{s:i, s:i, s:s, s:s, s:[{s:{}}]}", "width", 10, "height", 10, "title", "t",
	                "desc", "d", "elements", "svg_circle");
	assert_int_equal(timeline_svg(&b, bad), CAREID_EINVALID);
	json_decref(bad);
	buf_reset(&b);
	bad = json_pack("{s:i, s:i, s:s, s:s, s:[{s:{s:s}}]}", "width", 10, "height", 10, "title",
	                "t", "desc", "d", "elements", "svg_rect", "x", "1");
	assert_int_equal(timeline_svg(&b, bad), CAREID_EINVALID);
	json_decref(bad);
	buf_release(&b);
	buf_init(&b, 100); /* too small for the picture */
	assert_int_equal(timeline_svg(&b, json_object_get(tl, "svg")), CAREID_ETOOBIG);
	buf_release(&b);
	json_decref(tl);
	json_decref(plan);
}

static void test_invalid_plan(void **state)
{
	json_t *out = NULL, *plan = plan_with("testing_end", "2026-11-31");

	assert_int_equal(timeline_build(&out, &(struct timeline_input){plan, "T", NULL, *state}),
	                 CAREID_EINVALID);
	assert_null(out);
	json_decref(plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_facts),
	    cmocka_unit_test(test_critical_path),
	    cmocka_unit_test(test_events),
	    cmocka_unit_test(test_long_site_name),
	    cmocka_unit_test(test_picture_layout),
	    cmocka_unit_test(test_month_labels_fit),
	    cmocka_unit_test(test_escaping_and_determinism),
	    cmocka_unit_test(test_svg_model_checked),
	    cmocka_unit_test(test_invalid_plan),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
