/*
 * Tests src/core/workdays.c: England's working-day calendar for the review SLA.
 *
 * Every expected date below was worked out by hand from a printed calendar
 * and GOV.UK's bank holiday list, never from the code under test. The Unix
 * times were converted with `date -u -d <instant> +%s`, the UTC instant shown
 * beside each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "core/error.h"
#include "core/workdays.h"

static struct ymd D(const char *s) {
	struct ymd d = {0, 0, 0};

	if (workdays_date_parse(&d, s) != 0)
		fail_msg("test date %s does not parse", s);
	return d;
}

/* Asserts that `got` is the date written `want`. */
#define assert_date(got, want)                                                                     \
	do {                                                                                       \
		char buf_[WORKDAYS_DATE_LEN];                                                      \
		assert_int_equal(workdays_date_format(buf_, (got)), 0);                            \
		assert_string_equal(buf_, (want));                                                 \
	} while (0)

static int
setup_real(void **state)
{
	const char *src = getenv("CAREID_SOURCE_DIR");
	char path[4096];
	workdays *w = NULL;

	if (!src)
		return -1;
	snprintf(path, sizeof(path), "%s/etc/bank-holidays-england-and-wales.json", src);
	if (workdays_load(&w, path) != 0) {
		fprintf(stderr, "%s\n", careid_error_last()->message);
		return -1;
	}
	*state = w;
	return 0;
}

static int teardown_real(void **state)
{
	workdays_free(*state);
	return 0;
}

/* Writes `text` to a fresh file under CAREID_TEST_TMP and loads it. */
static int load_text(workdays **out, const char *name, const char *text)
{
	const char *tmp = getenv("CAREID_TEST_TMP");
	char path[4096];
	FILE *f;

	assert_non_null(tmp);
	mkdir(tmp, 0700);
	snprintf(path, sizeof(path), "%s/workdays-%s.json", tmp, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return workdays_load(out, path);
}

static void test_parse_format(void **state)
{
	struct ymd d;
	char buf[WORKDAYS_DATE_LEN];

	(void)state;
	assert_int_equal(workdays_date_parse(&d, "2026-04-03"), 0);
	assert_int_equal(d.y, 2026);
	assert_int_equal(d.m, 4);
	assert_int_equal(d.d, 3);
	assert_date(d, "2026-04-03");
	assert_date(D("2028-02-29"), "2028-02-29");
	assert_date(D("2000-02-29"), "2000-02-29");
	assert_date(D("0001-01-01"), "0001-01-01");
	assert_date(D("9999-12-31"), "9999-12-31");
	assert_int_equal(workdays_date_format(buf, (struct ymd){2026, 2, 30}), CAREID_EINVALID);
	assert_string_equal(buf, "");
	assert_int_equal(workdays_date_format(buf, (struct ymd){10000, 1, 1}), CAREID_EINVALID);
	assert_true(workdays_date_cmp(D("2026-12-31"), D("2027-01-01")) < 0);
	assert_true(workdays_date_cmp(D("2026-05-01"), D("2026-04-30")) > 0);
	assert_int_equal(workdays_date_cmp(D("2026-05-01"), D("2026-05-01")), 0);
	assert_int_equal(workdays_weekday(D("2026-04-03")), 5); /* Good Friday */
	assert_int_equal(workdays_weekday(D("2026-06-06")), 6);
	assert_int_equal(workdays_weekday(D("2026-06-07")), 7);
	assert_int_equal(workdays_weekday(D("2026-06-08")), 1);
	assert_int_equal(workdays_weekday(D("2028-02-29")), 2);
	assert_int_equal(workdays_weekday(D("1970-01-01")), 4);
	assert_int_equal(workdays_weekday((struct ymd){2026, 13, 1}), 0);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
	    "2026-02-30",
	    "2026-13-01",
	    "2026-1-1",
	    "2026-01-1",
	    "2026-1-01",
	    "2026-01-01x",
	    "2026-01-01 ",
	    " 2026-01-01",
	    "2026-01-01T00:00:00Z",
	    "",
	    "2026/01/01",
	    "2026-00-10",
	    "2026-01-00",
	    "2026-01-32",
	    "2026-04-31",
	    "2027-02-29",
	    "2100-02-29",
	    "0000-01-01",
	    "+026-01-01",
	    "-026-01-01",
	    "20260101",
	    "2026-01-+1",
	    "2026-0a-01",
	    "26-01-01",
	    "12026-01-01",
	};
	struct ymd d = {1, 2, 3};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (workdays_date_parse(&d, bad[i]) != CAREID_EINVALID)
			fail_msg("\"%s\" was accepted", bad[i]);
	}
	assert_int_equal(workdays_date_parse(&d, NULL), CAREID_EINVALID);
	/* untouched on failure */
	assert_int_equal(d.y, 1);
	assert_int_equal(d.m, 2);
	assert_int_equal(d.d, 3);
}

static void check_london(int64_t t, const char *want)
{
	struct ymd d;

	assert_int_equal(workdays_london_date(&d, t), 0);
	assert_date(d, want);
}

static void test_london_date(void **state)
{
	struct ymd d;

	(void)state;
	/* GMT in winter: UTC midnight is London midnight */
	check_london(1768435199, "2026-01-14"); /* 2026-01-14T23:59:59Z */
	check_london(1768435200, "2026-01-15"); /* 2026-01-15T00:00:00Z */
	/* BST in summer: 23:00 UTC is already tomorrow in London */
	check_london(1784069999, "2026-07-14"); /* 2026-07-14T22:59:59Z = 23:59:59 BST */
	check_london(1784070000, "2026-07-15"); /* 2026-07-14T23:00:00Z = 00:00 BST */
	/* Clocks go forward on Sunday 2026-03-29 at 01:00 UTC */
	check_london(1774740600, "2026-03-28"); /* 2026-03-28T23:30:00Z, still GMT */
	check_london(1774745999, "2026-03-29"); /* 2026-03-29T00:59:59Z GMT */
	check_london(1774746000, "2026-03-29"); /* 2026-03-29T01:00:00Z = 02:00 BST */
	check_london(1774825199, "2026-03-29"); /* 2026-03-29T22:59:59Z = 23:59:59 BST */
	check_london(1774825200, "2026-03-30"); /* 2026-03-29T23:00:00Z = 00:00 BST */
	/* Clocks go back on Sunday 2026-10-25 at 01:00 UTC */
	check_london(1792882799, "2026-10-24"); /* 2026-10-24T22:59:59Z = 23:59:59 BST */
	check_london(1792882800, "2026-10-25"); /* 2026-10-24T23:00:00Z = 00:00 BST */
	check_london(1792889999, "2026-10-25"); /* 2026-10-25T00:59:59Z = 01:59:59 BST */
	check_london(1792890000, "2026-10-25"); /* 2026-10-25T01:00:00Z = 01:00 GMT */
	check_london(1792969200, "2026-10-25"); /* 2026-10-25T23:00:00Z GMT */
	check_london(1792972799, "2026-10-25"); /* 2026-10-25T23:59:59Z GMT */
	check_london(1792972800, "2026-10-26"); /* 2026-10-26T00:00:00Z */
	/* 2027: forward on 28 March, back on 31 October */
	check_london(1806193800, "2027-03-28"); /* 2027-03-28T00:30:00Z GMT */
	check_london(1824939000, "2027-10-31"); /* 2027-10-30T23:30:00Z = 00:30 BST */
	check_london(1824942600, "2027-10-31"); /* 2027-10-31T00:30:00Z = 01:30 BST */
	/* leap day 2028, in GMT */
	check_london(1835393400, "2028-02-28"); /* 2028-02-28T23:30:00Z */
	check_london(1835438400, "2028-02-29"); /* 2028-02-29T12:00:00Z */
	check_london(1835479800, "2028-02-29"); /* 2028-02-29T23:30:00Z */
	/* before the epoch (negative times floor, not truncate) */
	check_london(-314409601, "1960-01-14"); /* 1960-01-14T23:59:59Z */
	check_london(-314407800, "1960-01-15"); /* 1960-01-15T00:30:00Z */
	/* the ends of the supported range */
	check_london(-62135596800LL, "0001-01-01");
	check_london(253402300799LL, "9999-12-31");
	assert_int_equal(workdays_london_date(&d, -62135596801LL), CAREID_EINVALID);
	assert_int_equal(workdays_london_date(&d, 253402300800LL), CAREID_EINVALID);
	assert_int_equal(workdays_london_date(&d, INT64_MIN), CAREID_EINVALID);
	assert_int_equal(workdays_london_date(&d, INT64_MAX), CAREID_EINVALID);
}

static void test_weekends(void **state)
{
	workdays *w = *state;

	/* June 2026 has no bank holiday: Mon 1 … Fri 5, Sat 6, Sun 7 */
	assert_true(workdays_is_working(w, D("2026-06-05")));
	assert_false(workdays_is_working(w, D("2026-06-06")));
	assert_false(workdays_is_working(w, D("2026-06-07")));
	assert_true(workdays_is_working(w, D("2026-06-08")));
	assert_false(workdays_is_working(w, (struct ymd){2026, 6, 31}));
	/* Friday, Saturday and Sunday submissions are all due the next Friday */
	assert_date(workdays_add(w, D("2026-06-05"), 5), "2026-06-12");
	assert_date(workdays_add(w, D("2026-06-06"), 5), "2026-06-12");
	assert_date(workdays_add(w, D("2026-06-07"), 5), "2026-06-12");
	assert_date(workdays_add(w, D("2026-06-08"), 5), "2026-06-15");
	assert_date(workdays_add(w, D("2026-06-10"), 5), "2026-06-17");
	assert_date(workdays_add(w, D("2026-06-05"), 1), "2026-06-08");
	assert_date(workdays_add(w, D("2026-06-06"), 1), "2026-06-08");
	assert_date(workdays_add(w, D("2026-06-06"), 0), "2026-06-06");
	/* backwards */
	assert_date(workdays_add(w, D("2026-06-08"), -1), "2026-06-05");
	assert_date(workdays_add(w, D("2026-06-07"), -1), "2026-06-05");
	assert_date(workdays_add(w, D("2026-06-12"), -5), "2026-06-05");
	/* between counts (from, to] */
	assert_int_equal(workdays_between(w, D("2026-06-05"), D("2026-06-12")), 5);
	assert_int_equal(workdays_between(w, D("2026-06-06"), D("2026-06-12")), 5);
	assert_int_equal(workdays_between(w, D("2026-06-05"), D("2026-06-07")), 0);
	assert_int_equal(workdays_between(w, D("2026-06-05"), D("2026-06-08")), 1);
	assert_int_equal(workdays_between(w, D("2026-06-08"), D("2026-06-08")), 0);
	assert_int_equal(workdays_between(w, D("2026-06-12"), D("2026-06-05")), -5);
	/* Mon 1 June to Tue 30 June 2026: 22 weekdays, none a holiday */
	assert_int_equal(workdays_between(w, D("2026-05-31"), D("2026-06-30")), 22);
	/* invalid input is returned unchanged / counts nothing */
	assert_int_equal(workdays_add(w, (struct ymd){2026, 2, 30}, 5).d, 30);
	assert_int_equal(workdays_between(w, (struct ymd){2026, 2, 30}, D("2026-06-30")), 0);
	/* no list at all: weekends only */
	assert_date(workdays_add(NULL, D("2026-04-02"), 1), "2026-04-03");
	assert_true(workdays_is_working(NULL, D("2026-04-03")));
}

static void test_easter_2026(void **state)
{
	workdays *w = *state;

	/* Good Friday 3 April, Easter Monday 6 April */
	assert_true(workdays_is_working(w, D("2026-04-02")));
	assert_false(workdays_is_working(w, D("2026-04-03")));
	assert_false(workdays_is_working(w, D("2026-04-06")));
	assert_true(workdays_is_working(w, D("2026-04-07")));
	/* Thu 2 April: Tue 7, Wed 8, Thu 9, Fri 10, Mon 13 */
	assert_date(workdays_add(w, D("2026-04-02"), 5), "2026-04-13");
	assert_date(workdays_add(w, D("2026-04-02"), 1), "2026-04-07");
	assert_date(workdays_add(w, D("2026-04-01"), 2), "2026-04-07");
	/* submitted on Good Friday itself, or over the weekend */
	assert_date(workdays_add(w, D("2026-04-03"), 5), "2026-04-13");
	assert_date(workdays_add(w, D("2026-04-05"), 5), "2026-04-13");
	assert_date(workdays_add(w, D("2026-04-06"), 1), "2026-04-07");
	/* Mon 30 March: Tue 31, Wed 1, Thu 2, Tue 7, Wed 8 */
	assert_date(workdays_add(w, D("2026-03-30"), 5), "2026-04-08");
	assert_date(workdays_add(w, D("2026-04-07"), -1), "2026-04-02");
	assert_int_equal(workdays_between(w, D("2026-04-02"), D("2026-04-13")), 5);
	assert_int_equal(workdays_between(w, D("2026-04-02"), D("2026-04-06")), 0);
	assert_int_equal(workdays_between(w, D("2026-04-13"), D("2026-04-02")), -5);
	/* April 2026: 22 weekdays less the two Easter holidays */
	assert_int_equal(workdays_between(w, D("2026-03-31"), D("2026-04-30")), 20);
}

static void test_may_2026(void **state)
{
	workdays *w = *state;

	/* early May bank holiday Mon 4 May, spring bank holiday Mon 25 May */
	assert_false(workdays_is_working(w, D("2026-05-04")));
	assert_false(workdays_is_working(w, D("2026-05-25")));
	assert_true(workdays_is_working(w, D("2026-05-26")));
	/* Fri 1 May: Tue 5, Wed 6, Thu 7, Fri 8, Mon 11 */
	assert_date(workdays_add(w, D("2026-05-01"), 5), "2026-05-11");
	/* Tue 19 May: Wed 20, Thu 21, Fri 22, Tue 26, Wed 27 */
	assert_date(workdays_add(w, D("2026-05-19"), 5), "2026-05-27");
	/* Sat 23 May: Tue 26 … Mon 1 June */
	assert_date(workdays_add(w, D("2026-05-23"), 5), "2026-06-01");
	/* May 2026: 21 weekdays less two holidays */
	assert_int_equal(workdays_between(w, D("2026-04-30"), D("2026-05-31")), 19);
	assert_int_equal(workdays_between(w, D("2026-05-01"), D("2026-05-29")), 18);
}

static void test_christmas_2026(void **state)
{
	workdays *w = *state;

	/* Christmas Day Fri 25, Boxing Day Sat 26 → substitute Mon 28;
	 * New Year's Day Fri 1 January 2027 */
	assert_true(workdays_is_working(w, D("2026-12-24")));
	assert_false(workdays_is_working(w, D("2026-12-25")));
	assert_false(workdays_is_working(w, D("2026-12-26")));
	assert_false(workdays_is_working(w, D("2026-12-28")));
	assert_true(workdays_is_working(w, D("2026-12-29")));
	assert_true(workdays_is_working(w, D("2026-12-31")));
	assert_false(workdays_is_working(w, D("2027-01-01")));
	assert_true(workdays_is_working(w, D("2027-01-04")));
	/* Thu 24 Dec: Tue 29, Wed 30, Thu 31, Mon 4, Tue 5 */
	assert_date(workdays_add(w, D("2026-12-24"), 5), "2027-01-05");
	assert_date(workdays_add(w, D("2026-12-23"), 1), "2026-12-24");
	assert_date(workdays_add(w, D("2026-12-23"), 2), "2026-12-29");
	assert_date(workdays_add(w, D("2026-12-31"), 1), "2027-01-04");
	/* submitted on Christmas Day: Tue 29, Wed 30, Thu 31, Mon 4, Tue 5 */
	assert_date(workdays_add(w, D("2026-12-25"), 5), "2027-01-05");
	assert_date(workdays_add(w, D("2027-01-04"), -3), "2026-12-29");
	assert_date(workdays_add(w, D("2027-01-04"), -4), "2026-12-24");
	assert_int_equal(workdays_between(w, D("2026-12-24"), D("2027-01-05")), 5);
	assert_int_equal(workdays_between(w, D("2026-12-24"), D("2026-12-28")), 0);
}

static void test_year_end_2027(void **state)
{
	workdays *w = *state;

	/* 25 and 26 December 2027 are Saturday and Sunday: substitutes Mon 27 and
	 * Tue 28. New Year's Day 2028 is a Saturday: substitute Mon 3 January. */
	assert_true(workdays_is_working(w, D("2027-12-24")));
	assert_false(workdays_is_working(w, D("2027-12-25")));
	assert_false(workdays_is_working(w, D("2027-12-26")));
	assert_false(workdays_is_working(w, D("2027-12-27")));
	assert_false(workdays_is_working(w, D("2027-12-28")));
	assert_true(workdays_is_working(w, D("2027-12-29")));
	assert_true(workdays_is_working(w, D("2027-12-31")));
	assert_false(workdays_is_working(w, D("2028-01-03")));
	assert_true(workdays_is_working(w, D("2028-01-04")));
	/* Fri 24 Dec: Wed 29, Thu 30, Fri 31, Tue 4, Wed 5 */
	assert_date(workdays_add(w, D("2027-12-24"), 5), "2028-01-05");
	assert_date(workdays_add(w, D("2027-12-23"), 1), "2027-12-24");
	assert_date(workdays_add(w, D("2027-12-23"), 2), "2027-12-29");
	assert_date(workdays_add(w, D("2027-12-31"), 1), "2028-01-04");
	assert_int_equal(workdays_between(w, D("2027-12-24"), D("2028-01-05")), 5);
	/* December 2027: 23 weekdays less the 27th and 28th */
	assert_int_equal(workdays_between(w, D("2027-11-30"), D("2027-12-31")), 21);
}

static void test_leap_day_2028(void **state)
{
	workdays *w = *state;

	/* Tue 29 February 2028 is an ordinary working day */
	assert_true(workdays_is_working(w, D("2028-02-29")));
	/* Fri 25 Feb: Mon 28, Tue 29 */
	assert_date(workdays_add(w, D("2028-02-25"), 2), "2028-02-29");
	/* Fri 25 Feb: Mon 28, Tue 29, Wed 1, Thu 2, Fri 3 */
	assert_date(workdays_add(w, D("2028-02-25"), 5), "2028-03-03");
	/* Tue 29 Feb: Wed 1, Thu 2, Fri 3, Mon 6, Tue 7 */
	assert_date(workdays_add(w, D("2028-02-29"), 5), "2028-03-07");
	assert_date(workdays_add(w, D("2028-03-01"), -1), "2028-02-29");
	/* February 2028 has 21 weekdays */
	assert_int_equal(workdays_between(w, D("2028-01-31"), D("2028-02-29")), 21);
	/* and Easter 2028: Good Friday 14 April, Easter Monday 17 April */
	assert_date(workdays_add(w, D("2028-04-13"), 1), "2028-04-18");
}

static void test_state(void **state)
{
	struct ymd due = D("2026-06-10");

	(void)state;
	assert_int_equal(workdays_state(due, D("2026-06-09")), WORKDAYS_ON_TRACK);
	assert_int_equal(workdays_state(due, D("2026-06-10")), WORKDAYS_DUE_TODAY);
	assert_int_equal(workdays_state(due, D("2026-06-11")), WORKDAYS_OVERDUE);
	assert_int_equal(workdays_state(D("2026-06-30"), D("2026-07-01")), WORKDAYS_OVERDUE);
	assert_int_equal(workdays_state(D("2027-01-01"), D("2026-12-31")), WORKDAYS_ON_TRACK);
}

static void test_covers(void **state)
{
	workdays *w = *state;
	workdays *t = NULL;
	static const char *const one[] = {"2030-05-06", "2030-05-06", "2030-01-05"};

	assert_false(workdays_covers(w, 2023));
	assert_true(workdays_covers(w, 2024));
	assert_true(workdays_covers(w, 2026));
	assert_true(workdays_covers(w, 2028));
	assert_false(workdays_covers(w, 2029));
	assert_int_equal(workdays_last_year(w), 2028);
	assert_true(workdays_covers_range(w, D("2026-12-24"), D("2027-01-05")));
	assert_false(workdays_covers_range(w, D("2028-12-22"), D("2029-01-02")));
	assert_false(workdays_covers_range(w, D("2029-01-02"), D("2028-12-22")));
	/* beyond the data only weekends are excluded: Christmas 2029 (a
	 * Tuesday) counts as a working day, hence the flag */
	assert_true(workdays_is_working(w, D("2029-12-25")));
	assert_false(workdays_is_working(w, D("2029-12-22")));
	assert_date(workdays_add(w, D("2029-12-24"), 1), "2029-12-25");

	assert_false(workdays_covers(NULL, 2026));
	assert_false(workdays_covers_range(NULL, D("2026-01-02"), D("2026-01-09")));
	assert_int_equal(workdays_last_year(NULL), 0);

	/* from_dates: duplicates and order do not matter; a Saturday (5 Jan
	 * 2030) changes no count but its year is still covered */
	assert_int_equal(workdays_from_dates(&t, one, 3), 0);
	assert_true(workdays_covers(t, 2030));
	assert_false(workdays_covers(t, 2026));
	assert_false(workdays_is_working(t, D("2030-05-06")));
	/* Fri 3 May 2030: Tue 7 */
	assert_date(workdays_add(t, D("2030-05-03"), 1), "2030-05-07");
	assert_int_equal(workdays_between(t, D("2030-01-04"), D("2030-01-07")), 1);
	workdays_free(t);

	t = NULL;
	assert_int_equal(workdays_from_dates(&t, NULL, 0), 0);
	assert_int_equal(workdays_last_year(t), 0);
	assert_true(workdays_is_working(t, D("2026-12-25")));
	workdays_free(t);
	workdays_free(NULL);
}

static void test_from_dates_bad(void **state)
{
	static const char *const bad[] = {"2026-01-01", "2026-02-30"};
	static const char *const nul[] = {"2026-01-01", NULL};
	workdays *t = NULL;

	(void)state;
	assert_int_equal(workdays_from_dates(&t, bad, 2), CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, "dates[1]"));
	assert_non_null(strstr(careid_error_last()->message, "2026-02-30"));
	assert_int_equal(workdays_from_dates(&t, nul, 2), CAREID_EINVALID);
	assert_int_equal(workdays_from_dates(&t, NULL, 1), CAREID_EINVALID);
	assert_int_equal(workdays_from_dates(&t, bad, WORKDAYS_MAX_EVENTS + 1), CAREID_ETOOBIG);
	assert_null(t);
}

static void test_load_malformed(void **state)
{
	workdays *w = NULL;
	const char *msg;

	(void)state;
	assert_int_equal(load_text(&w, "baddate",
	                           "{\"division\":\"england-and-wales\",\"events\":["
	                           "{\"title\":\"Good Friday\",\"date\":\"2026-04-03\"},"
	                           "{\"title\":\"Boxing Day\",\"date\":\"2026-02-30\"}]}"),
	                 CAREID_EINVALID);
	msg = careid_error_last()->message;
	assert_non_null(strstr(msg, "events[1]"));
	assert_non_null(strstr(msg, "2026-02-30"));
	assert_non_null(strstr(msg, "Boxing Day"));
	assert_int_equal(load_text(&w, "loosedate", "{\"events\":[{\"date\":\"2026-4-3\"}]}"),
	                 CAREID_EINVALID);
	assert_int_equal(load_text(&w, "numdate", "{\"events\":[{\"date\":20260403}]}"),
	                 CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, "no \"date\""));
	assert_int_equal(load_text(&w, "nodate", "{\"events\":[{\"title\":\"x\"}]}"),
	                 CAREID_EINVALID);
	assert_int_equal(load_text(&w, "notobj", "{\"events\":[\"2026-04-03\"]}"), CAREID_EINVALID);
	assert_int_equal(load_text(&w, "notjson", "2026-04-03, 2026-04-06\n"), CAREID_EINVALID);
	assert_int_equal(load_text(&w, "truncated", "{\"events\":[{\"date\":\"2026-04-03\"}"),
	                 CAREID_EINVALID);
	assert_int_equal(load_text(&w, "empty", ""), CAREID_EINVALID);
	assert_int_equal(load_text(&w, "noevents", "{\"division\":\"england-and-wales\"}"),
	                 CAREID_EINVALID);
	assert_int_equal(load_text(&w, "emptyevents", "{\"events\":[]}"), CAREID_EINVALID);
	assert_int_equal(load_text(&w, "eventsobj", "{\"events\":{\"date\":\"2026-04-03\"}}"),
	                 CAREID_EINVALID);
	assert_int_equal(load_text(&w, "array", "[{\"date\":\"2026-04-03\"}]"), CAREID_EINVALID);
	assert_int_equal(
	    load_text(&w, "scotland",
	              "{\"division\":\"scotland\",\"events\":[{\"date\":\"2026-11-30\"}]}"),
	    CAREID_EINVALID);
	assert_int_equal(
	    load_text(&w, "dupkey", "{\"events\":[{\"date\":\"2026-04-03\"}],\"events\":[]}"),
	    CAREID_EINVALID);
	assert_null(w);

	assert_int_equal(workdays_load(&w, "/nonexistent/bank-holidays.json"), CAREID_EIO);
	assert_null(w);
}

static void test_load_caps(void **state)
{
	size_t n = WORKDAYS_MAX_EVENTS + 1, len = 32 + n * 24;
	char *text = malloc(len), *p = text;
	workdays *w = NULL;

	(void)state;
	assert_non_null(text);
	p += snprintf(p, len, "{\"events\":[");
	for (size_t i = 0; i < n; i++)
		p += snprintf(p, len - (size_t)(p - text), "%s{\"date\":\"2026-04-03\"}",
		              i ? "," : "");
	snprintf(p, len - (size_t)(p - text), "]}");
	assert_int_equal(load_text(&w, "toomany", text), CAREID_ETOOBIG);
	assert_null(w);
	free(text);
}

static void test_load_shapes(void **state)
{
	workdays *w = NULL;

	(void)state;
	/* GOV.UK's whole file: only england-and-wales is read */
	assert_int_equal(
	    load_text(&w, "govuk",
	              "{\"england-and-wales\":{\"division\":\"england-and-wales\",\"events\":["
	              "{\"title\":\"Christmas Day\",\"date\":\"2026-12-25\",\"notes\":\"\","
	              "\"bunting\":true},"
	              "{\"title\":\"Good Friday\",\"date\":\"2026-04-03\",\"notes\":\"\","
	              "\"bunting\":false}]},"
	              "\"scotland\":{\"division\":\"scotland\",\"events\":["
	              "{\"title\":\"St Andrew’s Day\",\"date\":\"2026-11-30\",\"notes\":\"\","
	              "\"bunting\":true}]}}"),
	    0);
	assert_false(workdays_is_working(w, D("2026-04-03")));
	assert_false(workdays_is_working(w, D("2026-12-25")));
	assert_true(workdays_is_working(w, D("2026-11-30"))); /* Scottish only */
	workdays_free(w);
	w = NULL;
	/* unsorted, with a duplicate, no division */
	assert_int_equal(
	    load_text(&w, "unsorted",
	              "{\"events\":[{\"date\":\"2026-12-28\"},{\"date\":\"2026-04-06\"},"
	              "{\"date\":\"2026-12-28\"},{\"date\":\"2026-04-03\"}]}"),
	    0);
	assert_date(workdays_add(w, D("2026-04-02"), 1), "2026-04-07");
	assert_date(workdays_add(w, D("2026-12-24"), 2), "2026-12-29");
	workdays_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_format),   cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_london_date),    cmocka_unit_test(test_weekends),
	    cmocka_unit_test(test_easter_2026),    cmocka_unit_test(test_may_2026),
	    cmocka_unit_test(test_christmas_2026), cmocka_unit_test(test_year_end_2027),
	    cmocka_unit_test(test_leap_day_2028),  cmocka_unit_test(test_state),
	    cmocka_unit_test(test_covers),         cmocka_unit_test(test_from_dates_bad),
	    cmocka_unit_test(test_load_malformed), cmocka_unit_test(test_load_caps),
	    cmocka_unit_test(test_load_shapes),
	};

	return cmocka_run_group_tests(tests, setup_real, teardown_real);
}
