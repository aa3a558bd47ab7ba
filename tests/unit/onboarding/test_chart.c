/* Tests src/onboarding/chart.c: the days a chart shows (and its 120-day cap),
 * planned sums, sign-ins counted on their day in England, the figures as JSON
 * and the SVG and legend through the real template, escaped. */
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
#include "http/template.h"
#include "onboarding/chart.h"

static struct ymd D(int y, int m, int d) {
	return (struct ymd){y, m, d};
}

static void
assert_date(struct ymd got, int y, int m, int d)
{
	char want[16], have[16];

	snprintf(want, sizeof(want), "%04d-%02d-%02d", y, m, d);
	snprintf(have, sizeof(have), "%04d-%02d-%02d", got.y, got.m, got.d);
	assert_string_equal(have, want);
}

/* Unix time of a UTC instant. */
static int64_t utc(int y, int m, int d, int hh, int mm)
{
	return chart_date_diff(D(1970, 1, 1), D(y, m, d)) * 86400 + hh * 3600 + mm * 60;
}

static void test_dates(void **state)
{
	(void)state;
	assert_date(chart_date_add(D(2026, 2, 28), 1), 2026, 3, 1);
	assert_date(chart_date_add(D(2028, 2, 28), 1), 2028, 2, 29);
	assert_date(chart_date_add(D(2026, 12, 31), 1), 2027, 1, 1);
	assert_date(chart_date_add(D(2026, 3, 1), -1), 2026, 2, 28);
	assert_date(chart_date_add(D(2000, 3, 1), -1), 2000, 2, 29);
	assert_date(chart_date_add(D(2026, 11, 28), -119), 2026, 8, 1);
	assert_int_equal(chart_date_diff(D(2026, 1, 1), D(2027, 1, 1)), 365);
	assert_int_equal(chart_date_diff(D(2028, 1, 1), D(2029, 1, 1)), 366);
	assert_int_equal(chart_date_diff(D(2026, 5, 10), D(2026, 5, 1)), -9);
	assert_int_equal(chart_date_diff(D(1970, 1, 1), D(1970, 1, 2)), 1);
	/* an invalid date is returned unchanged */
	assert_date(chart_date_add(D(2026, 2, 30), 1), 2026, 2, 30);
	assert_date(chart_date_add(D(9999, 12, 31), 1), 9999, 12, 31);
}

static void test_numbers_and_words(void **state)
{
	char s[32];

	(void)state;
	chart_number(s, 0);
	assert_string_equal(s, "0");
	chart_number(s, 999);
	assert_string_equal(s, "999");
	chart_number(s, 1000);
	assert_string_equal(s, "1,000");
	chart_number(s, 1234567);
	assert_string_equal(s, "1,234,567");
	chart_number(s, -12000);
	assert_string_equal(s, "-12,000");
	chart_number(s, INT64_MIN);
	assert_string_equal(s, "-9,223,372,036,854,775,808");
	chart_date_words(s, D(2026, 11, 28), true);
	assert_string_equal(s, "28 November 2026");
	chart_date_words(s, D(2026, 9, 1), false);
	assert_string_equal(s, "1 Sep");
}

static void test_days_plain(void **state)
{
	struct chart_days c;

	(void)state;
	/* from the first site to the last site's date, today inside */
	assert_int_equal(chart_days_init(&c, D(2026, 11, 20), D(2026, 12, 5), D(2026, 11, 28)), 0);
	assert_date(c.from, 2026, 11, 20);
	assert_date(c.to, 2026, 12, 5);
	assert_int_equal(c.n, 16);
	assert_int_equal(c.span, 16);
	assert_false(c.capped);
	assert_int_equal(c.today, 8);
	assert_int_equal(c.first_future, 9);
	/* the last site's date has passed: up to today */
	assert_int_equal(chart_days_init(&c, D(2026, 11, 20), D(2026, 11, 22), D(2026, 11, 28)), 0);
	assert_date(c.to, 2026, 11, 28);
	assert_int_equal(c.n, 9);
	assert_int_equal(c.today, 8);
	assert_int_equal(c.first_future, 9);
	/* all in the future: today not shown, every day to come */
	assert_int_equal(chart_days_init(&c, D(2027, 1, 4), D(2027, 1, 10), D(2026, 11, 28)), 0);
	assert_int_equal(c.n, 7);
	assert_int_equal(c.today, -1);
	assert_int_equal(c.first_future, 0);
	/* a start after the end moves back to it: one day */
	assert_int_equal(chart_days_init(&c, D(2026, 12, 1), D(2026, 11, 1), D(2026, 11, 28)), 0);
	assert_date(c.from, 2026, 11, 28);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.today, 0);
	assert_int_equal(chart_days_init(&c, D(2026, 2, 30), D(2026, 3, 1), D(2026, 3, 1)),
	                 CAREID_EINVALID);
}

static void test_days_capped(void **state)
{
	struct chart_days c;

	(void)state;
	/* exactly 120 days: not capped */
	assert_int_equal(chart_days_init(&c, D(2026, 8, 1), D(2026, 11, 28), D(2026, 8, 10)), 0);
	assert_int_equal(c.n, 120);
	assert_false(c.capped);
	/* a year of rollout, today early in it: the first 120 days */
	assert_int_equal(chart_days_init(&c, D(2026, 11, 1), D(2027, 10, 31), D(2026, 11, 28)), 0);
	assert_true(c.capped);
	assert_int_equal(c.span, 365);
	assert_int_equal(c.n, CHART_MAX_DAYS);
	assert_date(c.from, 2026, 11, 1);
	assert_date(c.to, 2027, 2, 28);
	assert_int_equal(c.today, 27);
	/* today beyond the first 120 days: the 120 days that end today */
	assert_int_equal(chart_days_init(&c, D(2026, 1, 1), D(2027, 10, 31), D(2026, 11, 28)), 0);
	assert_true(c.capped);
	assert_date(c.from, 2026, 8, 1);
	assert_date(c.to, 2026, 11, 28);
	assert_int_equal(c.today, 119);
	assert_int_equal(c.first_future, 120);
	/* a rollout that ended long ago: the last 120 days up to today */
	assert_int_equal(chart_days_init(&c, D(2025, 1, 1), D(2025, 6, 1), D(2026, 11, 28)), 0);
	assert_true(c.capped);
	assert_date(c.to, 2026, 11, 28);
	assert_int_equal(c.n, 120);
}

static void test_planned_sums(void **state)
{
	const struct chart_site sites[] = {
	    {D(2026, 11, 20), 40},        /* the first day */
	    {D(2026, 11, 22), 25},        /* from day 2 */
	    {D(2026, 11, 22), 5},         /* the same day: added */
	    {D(2026, 11, 10), 1000},      /* before the days shown: from day 0 */
	    {D(2026, 11, 30), 7},         /* after the days shown: never */
	    {D(2026, 2, 30), 999},        /* invalid date: nothing */
	    {D(2026, 11, 21), -50},       /* negative: nothing */
	    {D(2026, 11, 23), INT64_MAX}, /* capped per site */
	};
	struct chart_days c;

	(void)state;
	assert_int_equal(chart_days_init(&c, D(2026, 11, 20), D(2026, 11, 24), D(2026, 11, 28)), 0);
	assert_int_equal(c.n, 9);
	chart_days_plan(&c, sites, sizeof(sites) / sizeof(sites[0]));
	assert_int_equal(c.planned[0], 1040);
	assert_int_equal(c.planned[1], 1040);
	assert_int_equal(c.planned[2], 1070);
	assert_int_equal(c.planned[3], 1070 + CHART_MAX_PER_DAY);
	assert_int_equal(c.planned[8], 1070 + CHART_MAX_PER_DAY);
	/* planning again replaces the figures */
	chart_days_plan(&c, sites, 1);
	assert_int_equal(c.planned[8], 40);
	chart_days_plan(&c, NULL, 0);
	assert_int_equal(c.planned[0], 0);
}

static void test_count_by_day_in_england(void **state)
{
	struct chart_days c;
	int64_t from, to;

	(void)state;
	/* summer time: 23:30 UTC on 1 July is 00:30 on 2 July in London */
	assert_int_equal(chart_days_init(&c, D(2026, 7, 1), D(2026, 7, 3), D(2026, 7, 3)), 0);
	assert_true(chart_days_count(&c, utc(2026, 7, 1, 22, 59)));
	assert_true(chart_days_count(&c, utc(2026, 7, 1, 23, 0)));
	assert_true(chart_days_count(&c, utc(2026, 7, 1, 23, 30)));
	assert_true(chart_days_count(&c, utc(2026, 6, 30, 23, 0))); /* 00:00 BST, 1 July */
	assert_false(chart_days_count(&c, utc(2026, 6, 30, 22, 59)));
	assert_false(chart_days_count(&c, utc(2026, 7, 3, 23, 0))); /* 4 July in London */
	assert_int_equal(c.actual[0], 2);
	assert_int_equal(c.actual[1], 2);
	assert_int_equal(c.actual[2], 0);
	chart_days_instants(&c, &from, &to);
	assert_int_equal(from, utc(2026, 7, 1, 0, 0) - 3600);
	assert_int_equal(to, utc(2026, 7, 4, 0, 0));
	/* winter: London is UTC */
	assert_int_equal(chart_days_init(&c, D(2026, 11, 27), D(2026, 11, 28), D(2026, 11, 28)), 0);
	assert_true(chart_days_count(&c, utc(2026, 11, 27, 23, 59)));
	assert_true(chart_days_count(&c, utc(2026, 11, 28, 0, 0)));
	assert_int_equal(c.actual[0], 1);
	assert_int_equal(c.actual[1], 1);
}

/* Three days, today the second: sites from day 0 (40 a day) and day 1 (25). */
static json_t *small_chart(struct chart_days *c, const char *subject)
{
	const struct chart_site sites[] = {{D(2026, 11, 27), 40}, {D(2026, 11, 28), 25}};

	assert_int_equal(chart_days_init(c, D(2026, 11, 27), D(2026, 11, 29), D(2026, 11, 28)), 0);
	chart_days_plan(c, sites, 2);
	c->actual[0] = 12;
	c->actual[1] = 3;
	return chart_json(c, subject);
}

static void test_json(void **state)
{
	struct chart_days c;
	json_t *j = small_chart(&c, "WardView"), *rows, *ticks, *bars, *t;

	(void)state;
	assert_non_null(j);
	/* 600 units over 3 days: 200 a day; y axis 0..80 in steps of 20 */
	assert_int_equal(json_integer_value(json_object_get(j, "width")), 72 + 600 + 16);
	assert_string_equal(json_string_value(json_object_get(j, "view_box")), "0 0 688 332");
	assert_string_equal(json_string_value(json_object_get(j, "planned_path")),
	                    "M72 152 H272 V77 H472 V77 H672");
	ticks = json_object_get(j, "y_ticks");
	assert_int_equal(json_array_size(ticks), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ticks, 4), "label")),
	                    "80");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ticks, 4), "y")), 32);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ticks, 0), "y")), 272);
	/* a bar per day with sign-ins; 3/5 of the day's width, at most 40 */
	bars = json_object_get(j, "bars");
	assert_int_equal(json_array_size(bars), 2);
	t = json_array_get(bars, 0);
	assert_int_equal(json_integer_value(json_object_get(t, "x")), 72 + 80);
	assert_int_equal(json_integer_value(json_object_get(t, "w")), 40);
	assert_int_equal(json_integer_value(json_object_get(t, "y")), 272 - 36);
	assert_int_equal(json_integer_value(json_object_get(t, "h")), 36);
	assert_string_equal(json_string_value(json_object_get(t, "date")), "2026-11-27");
	/* the table: tomorrow has no actual figure yet */
	rows = json_object_get(j, "rows");
	assert_int_equal(json_array_size(rows), 3);
	t = json_array_get(rows, 1);
	assert_string_equal(json_string_value(json_object_get(t, "date")), "2026-11-28");
	assert_string_equal(json_string_value(json_object_get(t, "label")), "28 November 2026");
	assert_string_equal(json_string_value(json_object_get(t, "planned")), "65");
	assert_string_equal(json_string_value(json_object_get(t, "actual")), "3");
	assert_true(json_is_true(json_object_get(t, "is_today")));
	t = json_array_get(rows, 2);
	assert_string_equal(json_string_value(json_object_get(t, "actual")), "");
	assert_true(json_is_true(json_object_get(t, "future")));
	t = json_object_get(j, "totals");
	assert_int_equal(json_integer_value(json_object_get(t, "planned_to_date")), 105);
	assert_int_equal(json_integer_value(json_object_get(t, "actual_to_date")), 15);
	assert_int_equal(json_integer_value(json_object_get(t, "planned_today")), 65);
	assert_int_equal(json_integer_value(json_object_get(t, "actual_today")), 3);
	assert_non_null(json_object_get(j, "today"));
	assert_false(json_is_true(json_object_get(j, "capped")));
	assert_null(json_object_get(j, "capped_text"));
	assert_string_equal(json_string_value(json_object_get(j, "desc")),
	                    "Authentications per day in Live for WardView, from 27 November 2026 "
	                    "to 29 November 2026 (3 days). Up to today: 15 actual sign-ins "
	                    "against 105 planned. Today: 3 actual against 65 planned. Bars show "
	                    "the actual sign-ins of each day; the dashed stepped line shows the "
	                    "plan. The table after the chart gives each day's figures.");
	json_decref(j);
}

static void test_json_capped_and_empty(void **state)
{
	struct chart_days c;
	json_t *j, *ticks;

	(void)state;
	assert_int_equal(chart_days_init(&c, D(2026, 1, 1), D(2027, 10, 31), D(2026, 11, 28)), 0);
	j = chart_json(&c, "X");
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "capped")));
	assert_int_equal(json_integer_value(json_object_get(j, "days")), 120);
	assert_int_equal(json_integer_value(json_object_get(j, "span")), 669);
	assert_string_equal(json_string_value(json_object_get(j, "capped_text")),
	                    "The rollout spans 669 days; the chart shows at most 120, from "
	                    "1 August 2026 to 28 November 2026.");
	assert_non_null(strstr(json_string_value(json_object_get(j, "desc")),
	                       "Only 120 of the rollout's 669 days are shown."));
	/* 5 units a day; 8 dates under the axis at most; nothing at all: 0..4 */
	assert_int_equal(json_integer_value(json_object_get(j, "width")), 72 + 600 + 16);
	assert_int_equal(json_array_size(json_object_get(j, "x_ticks")), 8);
	assert_int_equal(json_array_size(json_object_get(j, "bars")), 0);
	ticks = json_object_get(j, "y_ticks");
	assert_int_equal(json_array_size(ticks), 5);
	json_decref(j);
	/* big figures: 1, 2 or 5 times a power of ten per step */
	assert_int_equal(chart_days_init(&c, D(2026, 11, 28), D(2026, 11, 28), D(2026, 11, 28)), 0);
	c.planned[0] = 12000;
	c.actual[0] = 11999;
	j = chart_json(&c, "X");
	ticks = json_object_get(j, "y_ticks");
	assert_int_equal(json_array_size(ticks), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ticks, 1), "label")),
	                    "5,000");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ticks, 3), "label")),
	                    "15,000");
	json_decref(j);
	/* nothing has come yet */
	assert_int_equal(chart_days_init(&c, D(2027, 1, 4), D(2027, 1, 10), D(2026, 11, 28)), 0);
	j = chart_json(&c, "X");
	assert_null(json_object_get(j, "today"));
	assert_non_null(
	    strstr(json_string_value(json_object_get(j, "desc")), "None of these days has come"));
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(j, "rows"), 0), "actual")),
	                    "");
	json_decref(j);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_svg_through_template(void **state)
{
	templates *t = NULL;
	struct chart_days c;
	struct buf out;
	json_t *ctx;

	(void)state;
	assert_int_equal(templates_load(&t), 0);
	ctx = json_pack("{s:o}", "chart", small_chart(&c, "<script>alert(\"x\")</script> & Co"));
	assert_non_null(ctx);
	buf_init(&out, 1 << 20);
	assert_int_equal(templates_render(t, "ob_golive_chart", ctx, &out), 0);
	/* one image, named and described, every text escaped */
	assert_int_equal(count(out.ptr, "role=\"img\""), 1);
	assert_non_null(
	    strstr(out.ptr, "aria-labelledby=\"golive-chart-title golive-chart-desc\""));
	assert_non_null(strstr(out.ptr,
	                       "<title id=\"golive-chart-title\">Authentications per day "
	                       "in Live: &lt;script&gt;alert(&quot;x&quot;)&lt;&#x2F;script&gt; "
	                       "&amp; Co, planned and actual</title>"));
	assert_non_null(strstr(out.ptr, "<desc id=\"golive-chart-desc\">Authentications per day in "
	                                "Live for &lt;script&gt;"));
	assert_null(strstr(out.ptr, "<script"));
	/* bars (hatched, outlined), the dashed stepped line, axes, labels */
	assert_int_equal(count(out.ptr, "fill=\"url(#golive-chart-hatch)\""), 2 + 1);
	assert_non_null(strstr(out.ptr, "<rect x=\"152\" y=\"236\" width=\"40\" height=\"36\""));
	assert_non_null(strstr(out.ptr, "d=\"M72 152 H272 V77 H472 V77 H672\""));
	assert_non_null(strstr(out.ptr, "stroke-dasharray=\"8 4\""));
	assert_non_null(strstr(out.ptr, ">27 Nov</text>"));
	assert_non_null(strstr(out.ptr, ">80</text>"));
	assert_non_null(strstr(out.ptr, ">Sign-ins per day</text>"));
	assert_non_null(strstr(out.ptr, ">Today</text>"));
	/* a legend in words: shape, not colour alone */
	assert_non_null(strstr(out.ptr, "Hatched bars: actual sign-ins"));
	assert_non_null(strstr(out.ptr, "Dashed stepped line: planned sign-ins"));
	assert_null(strstr(out.ptr, "style="));
	/* deterministic */
	{
		struct buf again;

		buf_init(&again, 1 << 20);
		assert_int_equal(templates_render(t, "ob_golive_chart", ctx, &again), 0);
		assert_string_equal(again.ptr, out.ptr);
		buf_release(&again);
	}
	buf_release(&out);
	json_decref(ctx);
	templates_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dates),
	    cmocka_unit_test(test_numbers_and_words),
	    cmocka_unit_test(test_days_plain),
	    cmocka_unit_test(test_days_capped),
	    cmocka_unit_test(test_planned_sums),
	    cmocka_unit_test(test_count_by_day_in_england),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_json_capped_and_empty),
	    cmocka_unit_test(test_svg_through_template),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
