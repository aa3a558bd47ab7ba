/* Tests src/onboarding/plan_check.c and plan_form.c: every rule of the
 * journey plan's checks with its exact message (errors, warnings, advice),
 * the form reader and the text helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/error.h"
#include "core/workdays.h"
#include "http/form.h"
#include "onboarding/plan_check.h"

/* A plan with nothing to warn about (as of 1 June 2026) for the SAQ below. */
static const char base_json[] =
    "{\"dates\": {\"testing_start\": \"2026-11-02\", \"testing_end\": \"2026-11-27\","
    " \"conformance_start\": \"2026-11-16\", \"conformance_answers\": \"2026-12-01\","
    " \"conformance_achieved\": \"2027-01-15\", \"first_site_live\": \"2027-03-01\","
    " \"last_site_live\": \"2027-09-01\"},"
    " \"deployment_model\": \"single_instance\", \"extra\": true,"
    " \"sites\": [{\"name\": \" Leeds General Infirmary \", \"ods_code\": \"rr8\","
    "   \"planned_date\": \"2027-03-01\", \"users\": 400, \"auths_per_day\": 1200,"
    "   \"auths_peak_hour\": 300},"
    "  {\"name\": \"St James's\", \"ods_code\": \"RR801\", \"planned_date\": \"2027-09-01\","
    "   \"users\": 600, \"auths_per_day\": 1800, \"auths_peak_hour\": 450}]}";

static const char saq_json[] =
    "{\"auths_per_day\": 3000, \"auths_peak_hour\": \"750\", \"authenticators\": [\"smartcard\","
    " \"fido2\"], \"national_apis\": [\"pds\"], \"cis1_migration\": \"no\","
    " \"deployment_model\": \"single_instance\"}";

/* England and Wales bank holidays around the plan. */
static const char *const holidays[] = {"2026-12-25", "2026-12-28", "2027-01-01", "2027-03-26",
                                       "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30"};

struct fixture {
	workdays *wd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || workdays_from_dates(&f->wd, holidays, sizeof(holidays) / sizeof(holidays[0])))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	workdays_free(f->wd);
	free(f);
	return 0;
}

static json_t *base(void)
{
	json_t *j = json_loads(base_json, 0, NULL);

	assert_non_null(j);
	return j;
}

static json_t *site(json_t *plan, size_t i)
{
	return json_array_get(json_object_get(plan, "sites"), i);
}

static void set_date(json_t *plan, const char *id, const char *v)
{
	json_object_set_new(json_object_get(plan, "dates"), id, json_string(v));
}

/* Validates `in` (taken) and returns its errors (the plan is checked to be
 * there exactly when there are none). */
static json_t *errors_of(json_t *in)
{
	json_t *plan = NULL, *errors = NULL;

	assert_int_equal(plan_validate(&plan, &errors, in), 0);
	assert_non_null(errors);
	if (json_array_size(errors))
		assert_null(plan);
	else
		assert_non_null(plan);
	json_decref(plan);
	json_decref(in);
	return errors;
}

/* The message for `field` ("" when none); the `id` is checked too. */
static const char *message_of(const json_t *errors, const char *field, const char *id)
{
	size_t i;
	const json_t *e;

	json_array_foreach(errors, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "field")), field) == 0) {
			assert_string_equal(json_string_value(json_object_get(e, "id")), id);
			return json_string_value(json_object_get(e, "message"));
		}
	}
	return "";
}

/* `in` (taken) has exactly one error: on `field`/`id`, saying `message`. */
static void one_error(json_t *in, const char *field, const char *id, const char *message)
{
	json_t *errors = errors_of(in);

	if (json_array_size(errors) != 1) {
		char *s = json_dumps(errors, JSON_INDENT(1));

		fprintf(stderr, "expected one error, got %s\n", s);
		free(s);
	}
	assert_int_equal(json_array_size(errors), 1);
	assert_string_equal(message_of(errors, field, id), message);
	json_decref(errors);
}

static json_t *valid(json_t *in)
{
	json_t *plan = NULL, *errors = NULL;

	assert_int_equal(plan_validate(&plan, &errors, in), 0);
	assert_int_equal(json_array_size(errors), 0);
	json_decref(errors);
	json_decref(in);
	assert_non_null(plan);
	return plan;
}

/* --- errors ------------------------------------------------------------ */

static void test_valid_plan_normalised(void **state)
{
	json_t *plan = valid(base());

	(void)state;
	assert_null(json_object_get(plan, "extra"));
	assert_string_equal(json_string_value(json_object_get(site(plan, 0), "name")),
	                    "Leeds General Infirmary");
	assert_string_equal(json_string_value(json_object_get(site(plan, 0), "ods_code")), "RR8");
	assert_int_equal(json_integer_value(json_object_get(site(plan, 1), "auths_peak_hour")),
	                 450);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(plan, "dates"), "last_site_live")),
	    "2027-09-01");
	assert_null(json_object_get(plan, "rollout_notes"));
	json_decref(plan);
}

static void test_empty_plan(void **state)
{
	static const char *const expected[][3] = {
	    {"dates.testing_start", "testing_start", "Enter the date testing starts"},
	    {"dates.testing_end", "testing_end", "Enter the date testing ends"},
	    {"dates.conformance_start", "conformance_start",
	     "Enter the date you start conformance"},
	    {"dates.conformance_answers", "conformance_answers",
	     "Enter the date you submit your conformance answers"},
	    {"dates.conformance_achieved", "conformance_achieved",
	     "Enter the date you achieve conformance"},
	    {"dates.first_site_live", "first_site_live", "Enter the date the first site goes live"},
	    {"dates.last_site_live", "last_site_live", "Enter the date the last site goes live"},
	    {"deployment_model", "deployment_model", "Select how your product will be deployed"},
	    {"sites", "sites",
	     "Add at least one rollout site, with its name, ODS code and the date it goes live"},
	};
	json_t *errors = errors_of(json_object());

	(void)state;
	assert_int_equal(json_array_size(errors), sizeof(expected) / sizeof(expected[0]));
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		json_t *e = json_array_get(errors, i);

		assert_string_equal(json_string_value(json_object_get(e, "field")), expected[i][0]);
		assert_string_equal(json_string_value(json_object_get(e, "id")), expected[i][1]);
		assert_string_equal(json_string_value(json_object_get(e, "message")),
		                    expected[i][2]);
	}
	json_decref(errors);
	/* not an object at all: the same */
	errors = errors_of(json_string("plan"));
	assert_int_equal(json_array_size(errors), sizeof(expected) / sizeof(expected[0]));
	json_decref(errors);
}

static void test_dates_not_real(void **state)
{
	json_t *in = base();

	(void)state;
	set_date(in, "testing_start", "2027-02-30");
	one_error(in, "dates.testing_start", "testing_start",
	          "The date testing starts must be a real date");
	in = base();
	json_object_set_new(json_object_get(in, "dates"), "testing_end", json_integer(20261127));
	one_error(in, "dates.testing_end", "testing_end",
	          "The date testing ends must be a real date");
	in = base();
	set_date(in, "conformance_start", "16/11/2026"); /* the API takes YYYY-MM-DD only */
	one_error(in, "dates.conformance_start", "conformance_start",
	          "The date you start conformance must be a real date");
	in = base();
	set_date(in, "testing_start", "2019-12-31");
	one_error(in, "dates.testing_start", "testing_start",
	          "The date testing starts must be between 1 January 2020 and 31 December 2040");
	in = base();
	set_date(in, "last_site_live", "");
	one_error(in, "dates.last_site_live", "last_site_live",
	          "Enter the date the last site goes live");
}

static void test_dates_in_order(void **state)
{
	json_t *in = base(), *errors;

	(void)state;
	set_date(in, "testing_end", "2026-11-01");
	one_error(in, "dates.testing_end", "testing_end",
	          "The date testing ends must be on or after the date testing starts (2 November "
	          "2026)");
	in = base();
	set_date(in, "conformance_start", "2026-10-30");
	one_error(in, "dates.conformance_start", "conformance_start",
	          "The date you start conformance must be on or after the date testing starts (2 "
	          "November 2026)");
	in = base();
	set_date(in, "conformance_answers", "2026-11-13");
	one_error(in, "dates.conformance_answers", "conformance_answers",
	          "The date you submit your conformance answers must be on or after the date you "
	          "start conformance (16 November 2026)");
	in = base();
	set_date(in, "conformance_achieved", "2026-11-30");
	one_error(in, "dates.conformance_achieved", "conformance_achieved",
	          "The date you achieve conformance must be on or after the date you submit your "
	          "conformance answers (1 December 2026)");
	in = base();
	set_date(in, "testing_end", "2027-01-20");
	one_error(in, "dates.conformance_achieved", "conformance_achieved",
	          "The date you achieve conformance must be on or after the date testing ends (20 "
	          "January 2027)");
	/* one error per date: the first rule broken */
	in = base();
	set_date(in, "testing_end", "2027-01-20");
	set_date(in, "conformance_achieved", "2026-11-30");
	one_error(in, "dates.conformance_achieved", "conformance_achieved",
	          "The date you achieve conformance must be on or after the date you submit your "
	          "conformance answers (1 December 2026)");
	in = base();
	set_date(in, "first_site_live", "2027-01-14");
	json_object_set_new(site(in, 0), "planned_date", json_string("2027-01-14"));
	one_error(in, "dates.first_site_live", "first_site_live",
	          "The date the first site goes live must be on or after the date you achieve "
	          "conformance (15 January 2027)");
	in = base();
	set_date(in, "last_site_live", "2027-02-28");
	errors = errors_of(in);
	assert_string_equal(message_of(errors, "dates.last_site_live", "last_site_live"),
	                    "The date the last site goes live must be on or after the date the "
	                    "first site goes live (1 March 2027)");
	json_decref(errors);
	/* the same day is fine everywhere */
	in = base();
	set_date(in, "testing_end", "2026-11-02");
	set_date(in, "conformance_start", "2026-11-02");
	set_date(in, "last_site_live", "2027-03-01");
	json_object_set_new(site(in, 1), "planned_date", json_string("2027-03-01"));
	json_decref(valid(in));
}

static void test_deployment_model(void **state)
{
	json_t *in = base();

	(void)state;
	json_object_set_new(in, "deployment_model", json_string("cloud"));
	one_error(in, "deployment_model", "deployment_model",
	          "Select how your product will be deployed");
	in = base();
	json_object_set_new(in, "deployment_model", json_string("instance_per_customer"));
	json_decref(valid(in));
}

static void test_no_sites(void **state)
{
	json_t *in = base(), *many;

	(void)state;
	json_object_set_new(in, "sites", json_array());
	one_error(
	    in, "sites", "sites",
	    "Add at least one rollout site, with its name, ODS code and the date it goes live");
	in = base();
	json_object_del(in, "sites");
	one_error(
	    in, "sites", "sites",
	    "Add at least one rollout site, with its name, ODS code and the date it goes live");
	in = base();
	json_object_set_new(in, "sites", json_string("Leeds"));
	one_error(
	    in, "sites", "sites",
	    "Add at least one rollout site, with its name, ODS code and the date it goes live");
	in = base();
	many = json_object_get(in, "sites");
	while (json_array_size(many) <= PLAN_MAX_SITES)
		json_array_append(many, json_array_get(many, 0));
	one_error(in, "sites", "sites", "A plan can have up to 200 sites");
}

static void test_site_name(void **state)
{
	char longname[PLAN_NAME_MAX + 2];
	json_t *in = base();

	(void)state;
	json_object_del(site(in, 0), "name");
	one_error(in, "sites[0].name", "site_1_name", "Site 1: enter the site's name");
	in = base();
	json_object_set_new(site(in, 1), "name", json_string("   "));
	one_error(in, "sites[1].name", "site_2_name", "Site 2: enter the site's name");
	in = base();
	json_object_set_new(site(in, 0), "name", json_string("Leeds\x01"));
	one_error(in, "sites[0].name", "site_1_name",
	          "Site 1: the site's name must be text without control characters");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	in = base();
	json_object_set_new(site(in, 0), "name", json_string(longname));
	one_error(in, "sites[0].name", "site_1_name",
	          "Site 1: the site's name must be 200 characters or fewer");
	longname[PLAN_NAME_MAX] = '\0';
	in = base();
	json_object_set_new(site(in, 0), "name", json_string(longname));
	json_decref(valid(in));
}

static void test_site_ods_code(void **state)
{
	static const char *const bad[] = {"R-8", "AB", "ABCDEFGHIJK", "RR 8"};
	json_t *in = base(), *plan;

	(void)state;
	json_object_del(site(in, 1), "ods_code");
	one_error(in, "sites[1].ods_code", "site_2_ods_code", "Site 2: enter the site's ODS code");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in = base();
		json_object_set_new(site(in, 1), "ods_code", json_string(bad[i]));
		one_error(
		    in, "sites[1].ods_code", "site_2_ods_code",
		    "Site 2: the ODS code must be 3 to 10 letters or numbers, like RR8 or Y12345");
	}
	in = base();
	json_object_set_new(site(in, 1), "ods_code", json_string(" Rr8 "));
	one_error(in, "sites[1].ods_code", "site_2_ods_code",
	          "Site 2: ODS code RR8 is already used by site 1");
	in = base();
	json_object_set_new(site(in, 1), "ods_code", json_string("y12345abcd"));
	plan = valid(in);
	assert_string_equal(json_string_value(json_object_get(site(plan, 1), "ods_code")),
	                    "Y12345ABCD");
	json_decref(plan);
}

static void test_site_date(void **state)
{
	json_t *in = base();

	(void)state;
	json_object_del(site(in, 1), "planned_date");
	one_error(in, "sites[1].planned_date", "site_2_planned_date",
	          "Site 2: enter the date the site goes live");
	in = base();
	json_object_set_new(site(in, 1), "planned_date", json_string("2027-13-01"));
	one_error(in, "sites[1].planned_date", "site_2_planned_date",
	          "Site 2: the date the site goes live must be a real date");
	in = base();
	json_object_set_new(site(in, 1), "planned_date", json_string("2027-09-02"));
	one_error(
	    in, "sites[1].planned_date", "site_2_planned_date",
	    "Site 2: the date the site goes live must be between the dates the first and last "
	    "sites go live (1 March 2027 and 1 September 2027)");
	in = base();
	json_object_set_new(site(in, 1), "planned_date", json_string("2027-02-28"));
	one_error(
	    in, "sites[1].planned_date", "site_2_planned_date",
	    "Site 2: the date the site goes live must be between the dates the first and last "
	    "sites go live (1 March 2027 and 1 September 2027)");
}

static void test_site_numbers(void **state)
{
	static const struct {
		const char *key, *missing, *bad;
	} cases[] = {
	    {"users", "Site 1: enter the number of users",
	     "Site 1: the number of users must be a whole number from 0 to 2,000,000"},
	    {"auths_per_day", "Site 1: enter the expected authentications per day",
	     "Site 1: the authentications per day must be a whole number from 0 to 1,000,000"},
	    {"auths_peak_hour", "Site 1: enter the expected authentications at the peak hour",
	     "Site 1: the authentications at the peak hour must be a whole number from 0 to "
	     "1,000,000"},
	};
	char field[64], id[64];
	json_t *in;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *bad[] = {
		    json_integer(-1), json_string("12"), json_real(1.5), json_true(),
		    json_integer(strcmp(cases[i].key, "users") == 0 ? 2000001 : 1000001)};

		snprintf(field, sizeof(field), "sites[0].%s", cases[i].key);
		snprintf(id, sizeof(id), "site_1_%s", cases[i].key);
		in = base();
		json_object_del(site(in, 0), cases[i].key);
		one_error(in, field, id, cases[i].missing);
		for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			in = base();
			json_object_set_new(site(in, 0), cases[i].key, bad[j]);
			if (strcmp(cases[i].key, "auths_per_day") == 0) /* keep the peak below */
				json_object_set_new(site(in, 0), "auths_peak_hour",
				                    json_integer(0));
			one_error(in, field, id, cases[i].bad);
		}
	}
	in = base();
	json_object_set_new(site(in, 0), "auths_peak_hour", json_integer(1201));
	one_error(in, "sites[0].auths_peak_hour", "site_1_auths_peak_hour",
	          "Site 1: the authentications at the peak hour cannot be more than the "
	          "authentications per day (1,200)");
	in = base();
	json_object_set_new(site(in, 0), "users", json_integer(0));
	json_object_set_new(site(in, 0), "auths_per_day", json_integer(0));
	json_object_set_new(site(in, 0), "auths_peak_hour", json_integer(0));
	json_decref(valid(in));
}

static void test_first_site_required(void **state)
{
	json_t *in = base();

	(void)state;
	json_object_set_new(site(in, 0), "planned_date", json_string("2027-03-02"));
	one_error(
	    in, "sites", "sites",
	    "No site goes live on the date the first site goes live (1 March 2027): plan your "
	    "first site for that date, or change the date");
	/* not when a site's date is wrong already (that error comes first) */
	in = base();
	json_object_set_new(site(in, 0), "planned_date", json_string("2027-02-02"));
	one_error(
	    in, "sites[0].planned_date", "site_1_planned_date",
	    "Site 1: the date the site goes live must be between the dates the first and last "
	    "sites go live (1 March 2027 and 1 September 2027)");
}

static void test_rollout_notes(void **state)
{
	char notes[PLAN_NOTES_MAX + 2];
	json_t *in = base(), *plan;

	(void)state;
	json_object_set_new(in, "rollout_notes", json_integer(5));
	one_error(in, "rollout_notes", "rollout_notes", "The rollout notes must be text");
	in = base();
	json_object_set_new(in, "rollout_notes", json_string("one\x02two"));
	one_error(in, "rollout_notes", "rollout_notes",
	          "The rollout notes must be text without control characters");
	memset(notes, 'x', sizeof(notes) - 1);
	notes[sizeof(notes) - 1] = '\0';
	in = base();
	json_object_set_new(in, "rollout_notes", json_string(notes));
	one_error(in, "rollout_notes", "rollout_notes",
	          "The rollout notes must be 2,000 characters or fewer");
	in = base();
	json_object_set_new(in, "rollout_notes",
	                    json_string("  One ward first.\nThen the rest.\n"));
	plan = valid(in);
	assert_string_equal(json_string_value(json_object_get(plan, "rollout_notes")),
	                    "One ward first.\nThen the rest.");
	json_decref(plan);
}

static void test_errors_in_page_order(void **state)
{
	json_t *in = base(), *errors;
	static const char *const ids[] = {"testing_end", "deployment_model", "site_1_ods_code",
	                                  "site_2_users", "rollout_notes"};

	(void)state;
	json_object_set_new(in, "rollout_notes", json_true());
	json_object_set_new(site(in, 1), "users", json_string("many"));
	json_object_set_new(site(in, 0), "ods_code", json_string("?"));
	json_object_del(in, "deployment_model");
	set_date(in, "testing_end", "2026-10-01");
	errors = errors_of(in);
	assert_int_equal(json_array_size(errors), sizeof(ids) / sizeof(ids[0]));
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(errors, i), "id")), ids[i]);
	json_decref(errors);
}

/* --- warnings ---------------------------------------------------------- */

struct findings {
	json_t *warnings, *advice;
};

static struct findings review_at(const struct fixture *f, json_t *in, const char *today,
                                 const char *saq_text)
{
	json_t *plan = valid(in), *saq = saq_text ? json_loads(saq_text, 0, NULL) : NULL;
	struct plan_context c = {today, f->wd, saq};
	struct findings out = {NULL, NULL};

	assert_int_equal(plan_review(&out.warnings, &out.advice, plan, &c), 0);
	json_decref(plan);
	json_decref(saq);
	return out;
}

static void findings_free(struct findings *x)
{
	json_decref(x->warnings);
	json_decref(x->advice);
}

/* The list has exactly these codes, and `code` says `message` (about `field`). */
static void expect(const json_t *list, const char *codes, const char *code, const char *field,
                   const char *message)
{
	char got[512] = "";
	size_t i, n = 0;
	const json_t *e;
	bool found = false;

	json_array_foreach(list, i, e)
	{
		const char *c = json_string_value(json_object_get(e, "code"));

		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s", i ? " " : "", c);
		if (code && strcmp(c, code) == 0 && !found) {
			found = true;
			assert_string_equal(json_string_value(json_object_get(e, "message")),
			                    message);
			if (field)
				assert_string_equal(json_string_value(json_object_get(e, "field")),
				                    field);
		}
	}
	assert_string_equal(got, codes);
	assert_true(!code || found);
}

static void test_no_warnings(void **state)
{
	struct findings x = review_at(*state, base(), "2026-06-01", saq_json);

	expect(x.warnings, "", NULL, NULL, NULL);
	findings_free(&x);
}

static void test_review_sla(void **state)
{
	json_t *in = base();
	struct findings x;

	set_date(in, "conformance_answers", "2027-01-12");
	x = review_at(*state, in, "2026-06-01", saq_json);
	expect(x.warnings, "review_sla", "review_sla", "dates.conformance_achieved",
	       "The CIS2 team takes up to 5 working days to review conformance answers: answers "
	       "submitted on 12 January 2027 may not be reviewed until 19 January 2027, after the "
	       "date you achieve conformance (15 January 2027)");
	findings_free(&x);
	/* exactly 5 working days is enough */
	in = base();
	set_date(in, "conformance_answers", "2027-01-08");
	x = review_at(*state, in, "2026-06-01", saq_json);
	expect(x.warnings, "", NULL, NULL, NULL);
	findings_free(&x);
	/* bank holidays do not count: 21 to 29 December 2026 is 4 working days */
	in = base();
	set_date(in, "conformance_answers", "2026-12-21");
	set_date(in, "conformance_achieved", "2026-12-29");
	x = review_at(*state, in, "2026-06-01", saq_json);
	expect(
	    x.warnings, "review_sla", "review_sla", "dates.conformance_achieved",
	    "The CIS2 team takes up to 5 working days to review conformance answers: answers "
	    "submitted on 21 December 2026 may not be reviewed until 30 December 2026, after the "
	    "date you achieve conformance (29 December 2026)");
	findings_free(&x);
}

static void test_testing_duration(void **state)
{
	json_t *in = base();
	struct findings x;

	set_date(in, "testing_end", "2026-11-04");
	x = review_at(*state, in, "2026-06-01", saq_json);
	expect(
	    x.warnings, "testing_short", "testing_short", "dates.testing_end",
	    "Testing in INT usually takes 1 to 4 weeks (5 to 20 working days); the plan allows 3 "
	    "working days, from 2 November 2026 to 4 November 2026");
	findings_free(&x);
	in = base();
	set_date(in, "testing_end", "2026-11-02");
	x = review_at(*state, in, "2026-06-01", saq_json);
	expect(
	    x.warnings, "testing_short", "testing_short", "dates.testing_end",
	    "Testing in INT usually takes 1 to 4 weeks (5 to 20 working days); the plan allows 1 "
	    "working day, from 2 November 2026 to 2 November 2026");
	findings_free(&x);
	in = base(); /* Monday to Friday: one week */
	set_date(in, "testing_end", "2026-11-06");
	x = review_at(*state, in, "2026-06-01", saq_json);
	expect(x.warnings, "", NULL, NULL, NULL);
	findings_free(&x);
	in = base();
	set_date(in, "testing_end", "2026-12-04");
	x = review_at(*state, in, "2026-06-01", saq_json);
	expect(
	    x.warnings, "testing_long", "testing_long", "dates.testing_end",
	    "Testing in INT usually takes 1 to 4 weeks (5 to 20 working days); the plan allows 25 "
	    "working days, from 2 November 2026 to 4 December 2026");
	findings_free(&x);
}

static void test_assurance_duration(void **state)
{
	json_t *in = base();
	struct findings x;

	set_date(in, "testing_end", "2026-11-20");
	set_date(in, "conformance_answers", "2026-11-17");
	set_date(in, "conformance_achieved", "2026-11-26");
	x = review_at(*state, in, "2026-06-01", saq_json);
	expect(x.warnings, "assurance_short", "assurance_short", "dates.conformance_achieved",
	       "Assurance usually takes 2 to 12 weeks (10 to 60 working days); the plan allows 9 "
	       "working days, from 16 November 2026 to 26 November 2026");
	findings_free(&x);
	in = base();
	set_date(in, "conformance_achieved", "2027-02-26");
	x = review_at(*state, in, "2026-06-01", saq_json);
	expect(x.warnings, "assurance_long", "assurance_long", "dates.conformance_achieved",
	       "Assurance usually takes 2 to 12 weeks (10 to 60 working days); the plan allows 72 "
	       "working days, from 16 November 2026 to 26 February 2027");
	findings_free(&x);
}

static void test_go_live_and_last_site(void **state)
{
	json_t *in = base();
	struct findings x;

	set_date(in, "first_site_live", "2027-01-15");
	json_object_set_new(site(in, 0), "planned_date", json_string("2027-01-15"));
	x = review_at(*state, in, "2026-06-01", saq_json);
	expect(x.warnings, "go_live_same_day", "go_live_same_day", "dates.first_site_live",
	       "The first site goes live the day you achieve conformance (15 January 2027): allow "
	       "time to accept the Connection Agreement and register your Live client");
	findings_free(&x);
	in = base();
	json_object_set_new(site(in, 1), "planned_date", json_string("2027-08-02"));
	x = review_at(*state, in, "2026-06-01", saq_json);
	expect(
	    x.warnings, "last_site_missing", "last_site_missing", "sites",
	    "No site goes live on the date the last site goes live (1 September 2027): plan your "
	    "last site for that date, or change the date");
	findings_free(&x);
}

static void test_cis1_retirement(void **state)
{
	struct findings x = review_at(*state, base(), "2026-06-01",
	                              "{\"cis1_migration\": \"yes\", \"authenticators\": "
	                              "[\"smartcard\", \"windows_hello\"]}");
	json_t *in;

	expect(
	    x.warnings, "cis1_retirement", "cis1_retirement", "dates.last_site_live",
	    "CIS1 retires at the end of February 2027, but the last site goes live on 1 September "
	    "2027: sites still using CIS1 after February 2027 cannot sign in");
	findings_free(&x);
	in = base();
	set_date(in, "last_site_live", "2027-03-01");
	json_object_set_new(site(in, 1), "planned_date", json_string("2027-03-01"));
	set_date(in, "first_site_live", "2027-02-01");
	json_object_set_new(site(in, 0), "planned_date", json_string("2027-02-01"));
	x = review_at(*state, in, "2026-06-01", "{\"cis1_migration\": \"yes\"}");
	expect(x.warnings, "cis1_retirement", NULL, NULL, NULL);
	findings_free(&x);
	in = base();
	set_date(in, "last_site_live", "2027-02-26");
	json_object_set_new(site(in, 1), "planned_date", json_string("2027-02-26"));
	set_date(in, "first_site_live", "2027-02-01");
	json_object_set_new(site(in, 0), "planned_date", json_string("2027-02-01"));
	x = review_at(*state, in, "2026-06-01", "{\"cis1_migration\": \"yes\"}");
	expect(x.warnings, "", NULL, NULL, NULL);
	findings_free(&x);
}

static void test_dates_in_the_past(void **state)
{
	struct findings x = review_at(*state, base(), "2026-11-20", saq_json);

	expect(x.warnings, "date_past date_past", "date_past", "dates.testing_start",
	       "The date testing starts (2 November 2026) is in the past");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(x.warnings, 1), "message")),
	    "The date you start conformance (16 November 2026) is in the past");
	findings_free(&x);
	x = review_at(*state, base(), "2027-03-02", saq_json);
	expect(x.warnings,
	       "date_past date_past date_past date_past date_past date_past site_date_past",
	       "site_date_past", "sites[0].planned_date",
	       "Site 1 (Leeds General Infirmary) goes live on a date in the past (1 March 2027)");
	findings_free(&x);
	/* today itself is not past */
	x = review_at(*state, base(), "2026-11-02", saq_json);
	expect(x.warnings, "", NULL, NULL, NULL);
	findings_free(&x);
}

/* --- advice ------------------------------------------------------------ */

static void test_advice_national_apis(void **state)
{
	struct findings x = review_at(*state, base(), "2026-06-01", saq_json);

	expect(
	    x.advice, "national_apis smartcard_users", "national_apis", NULL,
	    "Your product uses national APIs (Personal Demographics Service (PDS)): they can only "
	    "be tested in the INT environment, so test them there while you test CIS2 "
	    "Authentication (2 November 2026 to 27 November 2026)");
	findings_free(&x);
	x = review_at(*state, base(), "2026-06-01",
	              "{\"national_apis\": [\"pds\", \"eps\", \"gp_connect\"]}");
	expect(x.advice, "national_apis", "national_apis", NULL,
	       "Your product uses national APIs (Personal Demographics Service (PDS), Electronic "
	       "Prescription Service (EPS) and GP Connect): they can only be tested in the INT "
	       "environment, so test them there while you test CIS2 Authentication (2 November "
	       "2026 to 27 November 2026)");
	findings_free(&x);
	x = review_at(*state, base(), "2026-06-01", "{\"national_apis\": [\"none\"]}");
	expect(x.advice, "", NULL, NULL, NULL);
	findings_free(&x);
}

static void test_advice_authenticators(void **state)
{
	struct findings x = review_at(
	    *state, base(), "2026-06-01",
	    "{\"cis1_migration\": \"yes\", \"authenticators\": [\"smartcard\", \"fido2\"]}");

	expect(
	    x.advice, "cis1_migration smartcard_users", "cis1_migration", NULL,
	    "Your product is migrating from CIS1: technical conformance must be shown in INT with "
	    "an authenticator other than a smartcard, which proves every CIS1 dependency has "
	    "gone. Test with one your users have: FIDO2 security key");
	findings_free(&x);
	x = review_at(*state, base(), "2026-06-01",
	              "{\"cis1_migration\": \"yes\", \"authenticators\": [\"smartcard\"]}");
	expect(
	    x.advice, "cis1_migration smartcard_only", "cis1_migration", NULL,
	    "Your product is migrating from CIS1: technical conformance must be shown in INT with "
	    "an authenticator other than a smartcard, which proves every CIS1 dependency has "
	    "gone. Your users only have smartcards, so plan how your testers will get another "
	    "authenticator, such as a FIDO2 security key or Windows Hello for Business");
	expect(x.advice, "cis1_migration smartcard_only", "smartcard_only", NULL,
	       "Your users only have smartcards: user groups with only a smartcard could also use "
	       "other authenticators, such as FIDO2 security keys, Windows Hello for Business, the "
	       "iPad app or an authenticator app");
	findings_free(&x);
	x = review_at(
	    *state, base(), "2026-06-01",
	    "{\"authenticators\": [\"smartcard\", \"fido2\", \"windows_hello\", \"ipad\"]}");
	expect(x.advice, "smartcard_users", "smartcard_users", NULL,
	       "User groups who have only a smartcard could also use the other authenticators you "
	       "listed: FIDO2 security key, Windows Hello for Business and iPad app");
	findings_free(&x);
	x = review_at(*state, base(), "2026-06-01", "{\"authenticators\": [\"fido2\"]}");
	expect(x.advice, "", NULL, NULL, NULL);
	findings_free(&x);
}

static void test_advice_volumes(void **state)
{
	struct findings x = review_at(*state, base(), "2026-06-01",
	                              "{\"auths_per_day\": 2000, \"auths_peak_hour\": 500}");

	expect(
	    x.advice, "volume_more peak_more", "volume_more", NULL,
	    "The sites in the plan add up to 3,000 authentications a day, more than the 2,000 in "
	    "your SAQ: tell the CIS2 team, who plan capacity from these numbers");
	expect(
	    x.advice, "volume_more peak_more", "peak_more", NULL,
	    "The sites in the plan add up to 750 authentications at the peak hour, more than the "
	    "500 in your SAQ: tell the CIS2 team, who plan capacity from these numbers");
	findings_free(&x);
	x = review_at(*state, base(), "2026-06-01",
	              "{\"auths_per_day\": 7000, \"auths_peak_hour\": 1600}");
	expect(x.advice, "volume_less peak_less", "volume_less", NULL,
	       "The sites in the plan add up to 3,000 authentications a day, less than half the "
	       "7,000 in your SAQ: add the other sites you will roll out to, or tell the CIS2 team "
	       "the new estimate");
	expect(x.advice, "volume_less peak_less", "peak_less", NULL,
	       "The sites in the plan add up to 750 authentications at the peak hour, less than "
	       "half the 1,600 in your SAQ: add the other sites you will roll out to, or tell the "
	       "CIS2 team the new estimate");
	findings_free(&x);
	/* within a quarter over and half under: nothing to say */
	x = review_at(*state, base(), "2026-06-01",
	              "{\"auths_per_day\": 2400, \"auths_peak_hour\": 1500}");
	expect(x.advice, "", NULL, NULL, NULL);
	findings_free(&x);
}

static void test_advice_deployment(void **state)
{
	json_t *in = base();
	struct findings x = review_at(*state, base(), "2026-06-01",
	                              "{\"deployment_model\": \"instance_per_customer\"}");

	expect(x.advice, "deployment_differs", "deployment_differs", NULL,
	       "Your SAQ says one instance per customer, but the plan says one instance for all "
	       "customers: tell the CIS2 team");
	findings_free(&x);
	json_object_set_new(in, "deployment_model", json_string("instance_per_customer"));
	x = review_at(*state, in, "2026-06-01",
	              "{\"deployment_model\": \"instance_per_customer\"}");
	expect(
	    x.advice, "instance_per_customer", "instance_per_customer", NULL,
	    "With one instance per customer, each customer's instance needs its own client "
	    "registration and Live credentials: plan them before each customer's first site goes "
	    "live");
	findings_free(&x);
}

static void test_advice_without_saq(void **state)
{
	struct findings x = review_at(*state, base(), "2026-06-01", NULL);

	expect(
	    x.advice, "no_saq", "no_saq", NULL,
	    "No approved Service Assessment Questionnaire was found for your team, so this advice "
	    "does not take its answers into account");
	findings_free(&x);
}

static void test_review_refuses_invalid_plan(void **state)
{
	json_t *w = NULL, *a = NULL, *plan = json_object();
	struct plan_context c = {"2026-06-01", NULL, NULL};

	(void)state;
	assert_int_equal(plan_review(&w, &a, plan, &c), CAREID_EINVALID);
	assert_null(w);
	assert_null(a);
	json_decref(plan);
}

/* --- the form ------------------------------------------------------------ */

static json_t *from_form(const char *body, int *rows)
{
	arena *a = arena_new();
	struct form f;
	json_t *plan = NULL;

	assert_non_null(a);
	assert_int_equal(form_parse(&f, a, body, strlen(body)), 0);
	assert_int_equal(plan_from_form(&plan, &f, rows), 0);
	arena_free(a);
	return plan;
}

static void test_form(void **state)
{
	int rows = 0;
	json_t *plan = from_form(
	    "testing_start=2%2F11%2F2026&testing_end=2026-11-27&conformance_start=31%2F02%2F2027"
	    "&deployment_model=single_instance&site_1_name=+Leeds+&site_1_ods_code=rr8"
	    "&site_1_planned_date=1%2F3%2F2027&site_1_users=1%2C200&site_1_auths_per_day=lots"
	    "&site_1_auths_peak_hour=&site_2_name=&site_2_ods_code=&site_3_name=York"
	    "&site_9_name=Nine&rollout_notes=a%0D%0Ab&csrf=x&action=save",
	    &rows);
	json_t *dates = json_object_get(plan, "dates"), *s0 = site(plan, 0);
	char *text;

	(void)state;
	assert_int_equal(rows, 3);
	assert_string_equal(json_string_value(json_object_get(dates, "testing_start")),
	                    "2026-11-02");
	assert_string_equal(json_string_value(json_object_get(dates, "testing_end")), "2026-11-27");
	assert_string_equal(json_string_value(json_object_get(dates, "conformance_start")),
	                    "31/02/2027");
	assert_null(json_object_get(dates, "last_site_live"));
	assert_int_equal(json_array_size(json_object_get(plan, "sites")), 2);
	assert_string_equal(json_string_value(json_object_get(s0, "name")), "Leeds");
	assert_string_equal(json_string_value(json_object_get(s0, "ods_code")), "rr8");
	assert_string_equal(json_string_value(json_object_get(s0, "planned_date")), "2027-03-01");
	assert_int_equal(json_integer_value(json_object_get(s0, "users")), 1200);
	assert_string_equal(json_string_value(json_object_get(s0, "auths_per_day")), "lots");
	assert_null(json_object_get(s0, "auths_peak_hour"));
	text = json_dumps(site(plan, 1), JSON_COMPACT);
	assert_string_equal(text, "{\"name\":\"York\"}");
	free(text);
	assert_string_equal(json_string_value(json_object_get(plan, "rollout_notes")), "a\nb");
	assert_string_equal(json_string_value(json_object_get(plan, "deployment_model")),
	                    "single_instance");
	json_decref(plan);
	/* a blank row between two is dropped; the rows counted are the form's */
	plan = from_form("site_1_name=Leeds&site_2_name=+&site_3_name=York", &rows);
	assert_int_equal(rows, 3);
	text = json_dumps(plan, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"dates\":{},\"sites\":[{\"name\":\"Leeds\"},{\"name\":"
	                          "\"York\"}]}");
	free(text);
	json_decref(plan);
	/* nothing at all: an empty plan, which validation explains */
	plan = from_form("csrf=x", &rows);
	assert_int_equal(rows, 0);
	text = json_dumps(plan, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"dates\":{},\"sites\":[]}");
	free(text);
	json_decref(plan);
}

/* --- text helpers ------------------------------------------------------ */

static void test_texts(void **state)
{
	char out[48];
	long long n;

	(void)state;
	assert_true(plan_date_text(out, "2027-03-01"));
	assert_string_equal(out, "1 March 2027");
	assert_false(plan_date_text(out, "2027-02-29"));
	assert_string_equal(out, "");
	assert_false(plan_date_text(out, NULL));
	plan_time_text(out, 1800021900); /* 2027-01-15 14:05 UTC, GMT */
	assert_string_equal(out, "15 January 2027 at 2:05pm");
	plan_time_text(out, 1814441400); /* 2027-07-01 11:30 UTC, BST */
	assert_string_equal(out, "1 July 2027 at 12:30pm");
	plan_time_text(out, 1814484600); /* 2027-07-01 23:30 UTC: the next day in London */
	assert_string_equal(out, "2 July 2027 at 12:30am");
	plan_time_text(out, 1806195540); /* 2027-03-28 00:59 UTC: still GMT */
	assert_string_equal(out, "28 March 2027 at 12:59am");
	plan_time_text(out, 1806195600); /* 01:00 UTC: BST begins */
	assert_string_equal(out, "28 March 2027 at 2:00am");
	plan_time_text(out, 1824944340); /* 2027-10-31 00:59 UTC: still BST */
	assert_string_equal(out, "31 October 2027 at 1:59am");
	plan_time_text(out, 1824944400); /* 01:00 UTC: GMT again */
	assert_string_equal(out, "31 October 2027 at 1:00am");
	plan_int_text(out, 0);
	assert_string_equal(out, "0");
	plan_int_text(out, 999);
	assert_string_equal(out, "999");
	plan_int_text(out, 1000);
	assert_string_equal(out, "1,000");
	plan_int_text(out, 1234567);
	assert_string_equal(out, "1,234,567");
	plan_int_text(out, -1200);
	assert_string_equal(out, "-1,200");
	assert_true(plan_int_parse("1,200", &n) && n == 1200);
	assert_false(plan_int_parse("1,,200", &n));
	assert_false(plan_int_parse("-3", &n));
	assert_false(plan_int_parse("", &n));
	assert_int_equal(plan_days((struct ymd){1970, 1, 1}), 0);
	assert_int_equal(plan_days((struct ymd){2027, 3, 1}) - plan_days((struct ymd){2027, 2, 28}),
	                 1);
	assert_int_equal(plan_date_index("first_site_live"), 5);
	assert_int_equal(plan_date_index("go_live"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_plan_normalised),
	    cmocka_unit_test(test_empty_plan),
	    cmocka_unit_test(test_dates_not_real),
	    cmocka_unit_test(test_dates_in_order),
	    cmocka_unit_test(test_deployment_model),
	    cmocka_unit_test(test_no_sites),
	    cmocka_unit_test(test_site_name),
	    cmocka_unit_test(test_site_ods_code),
	    cmocka_unit_test(test_site_date),
	    cmocka_unit_test(test_site_numbers),
	    cmocka_unit_test(test_first_site_required),
	    cmocka_unit_test(test_rollout_notes),
	    cmocka_unit_test(test_errors_in_page_order),
	    cmocka_unit_test(test_no_warnings),
	    cmocka_unit_test(test_review_sla),
	    cmocka_unit_test(test_testing_duration),
	    cmocka_unit_test(test_assurance_duration),
	    cmocka_unit_test(test_go_live_and_last_site),
	    cmocka_unit_test(test_cis1_retirement),
	    cmocka_unit_test(test_dates_in_the_past),
	    cmocka_unit_test(test_advice_national_apis),
	    cmocka_unit_test(test_advice_authenticators),
	    cmocka_unit_test(test_advice_volumes),
	    cmocka_unit_test(test_advice_deployment),
	    cmocka_unit_test(test_advice_without_saq),
	    cmocka_unit_test(test_review_refuses_invalid_plan),
	    cmocka_unit_test(test_form),
	    cmocka_unit_test(test_texts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
