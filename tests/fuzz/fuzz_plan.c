/*
 * Fuzz target: the journey plan (src/onboarding/plan_check.h, timeline.h),
 * what a team sends to PUT /api/v1/products/{id}/plan and posts from the plan
 * page's form. The first byte selects what the rest is ('0' + n, or any byte
 * modulo 2):
 *   0  a JSON body, read as the API reads it (an object, no repeated
 *      members), given to plan_validate();
 *   1  an urlencoded body of the plan page's form, through form_parse() and
 *      plan_from_form(), then plan_validate().
 * A plan that validates then goes through plan_review() and timeline_build()
 * and timeline_svg(), with the bank holidays of
 * etc/bank-holidays-england-and-wales.json and with none (from
 * CAREID_SOURCE_DIR, else next to this file), and with the context the input
 * gives in members (JSON) or fields (form) the plan ignores: "today", "title"
 * (the timeline's) and "saq" (an object of SAQ answers, as JSON text in a
 * form; used only when its answers pass etc/onboarding/saq.json's checks, as
 * an approved SAQ's do).
 *
 * What cannot be driven here: plan.c and plan_pages.c need a live request
 * (struct ob_req, the store, the templates' page contexts); they are the
 * e2e tests' (tests/e2e/onboarding-journey.test.mjs).
 *
 * Promises checked (abort() when broken): validation and the form reader
 * fail only for memory; errors are {field, id, message} with one per form
 * field, and a plan exactly when there is none; a valid plan keeps the rules
 * of plan_check.h (dates in order and in years, 1 to 200 sites in the
 * rollout window with one on the first-site date, ODS codes upper-case and
 * unique, counts in range, names trimmed, only known members), validates
 * again to itself, and comes back the same through the page's form; the
 * review and the timeline of a valid plan succeed, are deterministic, list
 * every site as an event in date order, and its SVG escapes every text.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/workdays.h"
#include "http/form.h"
#include "onboarding/plan_check.h"
#include "onboarding/questionnaire.h"
#include "onboarding/timeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (64 * 1024)

/* a ≤ b for these pairs of plan_dates (plan_check.h: "dates in order") */
static const int date_order[][2] = {{0, 1}, {0, 2}, {2, 3}, {3, 4}, {1, 4}, {4, 5}, {5, 6}};

static workdays *holidays; /* NULL when the file cannot be read */
static questionnaire *saq_def;
static bool ready;

static void release(void)
{
	workdays_free(holidays);
	questionnaire_free(saq_def);
}

static void source_path(char *out, size_t cap, const char *rel)
{
	const char *src = getenv("CAREID_SOURCE_DIR");
	const char *slash = strrchr(__FILE__, '/');

	if (src)
		snprintf(out, cap, "%s/%s", src, rel);
	else
		snprintf(out, cap, "%.*s/../../%s", slash ? (int)(slash - __FILE__) : 1,
		         slash ? __FILE__ : ".", rel);
}

static void fuzz_init(void)
{
	char path[4096];

	source_path(path, sizeof(path), "etc/bank-holidays-england-and-wales.json");
	if (workdays_load(&holidays, path) != 0)
		holidays = NULL;
	source_path(path, sizeof(path), "etc/onboarding/saq.json");
	if (questionnaire_load(&saq_def, path) != 0)
		saq_def = NULL;
	atexit(release);
	ready = true;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool trimmed(const char *s)
{
	size_t n = strlen(s);

	return n && !strchr(" \t\r\n\v\f", s[0]) && !strchr(" \t\r\n\v\f", s[n - 1]);
}

static struct ymd date_of(const json_t *v)
{
	struct ymd d;

	if (workdays_date_parse(&d, json_string_value(v)) || d.y < PLAN_FIRST_YEAR ||
	    d.y > PLAN_LAST_YEAR)
		abort();
	return d;
}

static json_int_t count_of(const json_t *site, const char *key, json_int_t max)
{
	const json_t *v = json_object_get(site, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		abort();
	return json_integer_value(v);
}

/* plan_validate()'s errors: an array of {field, id, message}, one per id. */
static void check_errors(const json_t *errors)
{
	json_t *ids = json_object();
	const json_t *e;
	size_t i;

	if (!ids || !json_is_array(errors))
		abort();
	json_array_foreach(errors, i, e)
	{
		const char *field = json_string_value(json_object_get(e, "field"));
		const char *id = json_string_value(json_object_get(e, "id"));
		const char *msg = json_string_value(json_object_get(e, "message"));

		if (json_object_size(e) != 3 || !field || !*field || !id || !*id || !msg || !*msg ||
		    json_object_get(ids, id) || json_object_set_new(ids, id, json_true()))
			abort();
	}
	json_decref(ids);
}

/* A valid plan keeps every rule of plan_check.h. */
static void check_plan(const json_t *plan)
{
	const json_t *dates = json_object_get(plan, "dates"),
	             *sites = json_object_get(plan, "sites");
	const char *model = json_string_value(json_object_get(plan, "deployment_model"));
	const json_t *notes = json_object_get(plan, "rollout_notes"), *s;
	json_t *odses = json_object();
	struct ymd d[PLAN_NDATES];
	bool on_first = false;
	size_t i;

	if (!odses || json_object_size(plan) != 3u + (notes != NULL) ||
	    json_object_size(dates) != PLAN_NDATES || !model ||
	    (strcmp(model, "single_instance") != 0 && strcmp(model, "instance_per_customer") != 0))
		abort();
	if (notes && (!json_is_string(notes) || !json_string_length(notes) ||
	              !trimmed(json_string_value(notes)) ||
	              utf8_chars(json_string_value(notes)) > PLAN_NOTES_MAX))
		abort();
	for (int k = 0; k < PLAN_NDATES; k++)
		d[k] = date_of(json_object_get(dates, plan_dates[k].id));
	for (size_t k = 0; k < sizeof(date_order) / sizeof(date_order[0]); k++)
		if (workdays_date_cmp(d[date_order[k][0]], d[date_order[k][1]]) > 0)
			abort();
	if (!json_is_array(sites) || json_array_size(sites) == 0 ||
	    json_array_size(sites) > PLAN_MAX_SITES)
		abort();
	json_array_foreach(sites, i, s)
	{
		const char *name = json_string_value(json_object_get(s, "name"));
		const char *ods = json_string_value(json_object_get(s, "ods_code"));
		struct ymd sd = date_of(json_object_get(s, "planned_date"));
		size_t n = ods ? strlen(ods) : 0;

		if (json_object_size(s) != 6 || !name || !trimmed(name) || has_control(name) ||
		    utf8_chars(name) > PLAN_NAME_MAX || n < 3 || n > 10)
			abort();
		for (size_t k = 0; k < n; k++)
			if (!((ods[k] >= 'A' && ods[k] <= 'Z') || (ods[k] >= '0' && ods[k] <= '9')))
				abort();
		if (json_object_get(odses, ods) || json_object_set_new(odses, ods, json_true()))
			abort();
		if (workdays_date_cmp(sd, d[5]) < 0 || workdays_date_cmp(sd, d[6]) > 0)
			abort();
		on_first = on_first || workdays_date_cmp(sd, d[5]) == 0;
		count_of(s, "users", PLAN_USERS_MAX);
		if (count_of(s, "auths_peak_hour", PLAN_AUTHS_MAX) >
		    count_of(s, "auths_per_day", PLAN_AUTHS_MAX))
			abort();
	}
	if (!on_first)
		abort();
	json_decref(odses);
}

/* Validates `in`; checks the result; `*plan_out` is the plan or NULL. */
static void validate(json_t **plan_out, const json_t *in)
{
	json_t *plan = NULL, *errors = NULL;

	if (plan_validate(&plan, &errors, in) != 0)
		abort();
	check_errors(errors);
	if (!plan != !!json_array_size(errors))
		abort();
	json_decref(errors);
	if (plan)
		check_plan(plan);
	*plan_out = plan;
}

/* plan_from_form() promises: only the plan's members, rows as the form has. */
static void check_from_form(const json_t *plan, int rows)
{
	const json_t *notes = json_object_get(plan, "rollout_notes");
	const json_t *dates = json_object_get(plan, "dates"), *v;
	const char *key;

	if (rows < 0 || rows > PLAN_FORM_SITES || !json_is_object(dates) ||
	    json_object_size(dates) > PLAN_NDATES ||
	    json_array_size(json_object_get(plan, "sites")) > (size_t)rows ||
	    !json_is_array(json_object_get(plan, "sites")))
		abort();
	json_object_foreach((json_t *)dates, key, v)
	{
		if (plan_date_index(key) < 0 || !json_is_string(v) || !json_string_length(v))
			abort();
	}
	json_object_foreach((json_t *)plan, key, v)
	{
		if (strcmp(key, "dates") != 0 && strcmp(key, "sites") != 0 &&
		    strcmp(key, "deployment_model") != 0 && strcmp(key, "rollout_notes") != 0)
			abort();
	}
	if (notes && (!json_is_string(notes) || strchr(json_string_value(notes), '\r')))
		abort();
}

/* The plan as the page's form would post it. */
static char *as_form(arena *a, const json_t *plan)
{
	const json_t *dates = json_object_get(plan, "dates"),
	             *sites = json_object_get(plan, "sites");
	static const char *const site_keys[] = {"name",  "ods_code",      "planned_date",
	                                        "users", "auths_per_day", "auths_peak_hour"};
	const json_t *s;
	struct buf b;
	size_t i;
	char *out;
	int rc = 0;

	buf_init(&b, 1 << 20);
	for (int k = 0; k < PLAN_NDATES && !rc; k++)
		rc = buf_printf(&b, "%s=%s&", plan_dates[k].id,
		                json_string_value(json_object_get(dates, plan_dates[k].id)));
	json_array_foreach(sites, i, s)
	{
		for (int k = 0; k < 6 && !rc; k++) {
			const json_t *v = json_object_get(s, site_keys[k]);
			char num[32];

			if (json_is_integer(v))
				snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				         json_integer_value(v));
			rc = buf_printf(
			    &b, "site_%zu_%s=%s&", i + 1, site_keys[k],
			    form_encode(a, json_is_integer(v) ? num : json_string_value(v)));
		}
	}
	if (!rc && json_object_get(plan, "rollout_notes"))
		rc = buf_printf(
		    &b, "rollout_notes=%s&",
		    form_encode(a, json_string_value(json_object_get(plan, "rollout_notes"))));
	if (!rc)
		rc = buf_printf(&b, "deployment_model=%s",
		                json_string_value(json_object_get(plan, "deployment_model")));
	if (rc)
		abort();
	out = arena_strndup(a, b.ptr, b.len);
	buf_release(&b);
	return out;
}

/* A valid plan with up to PLAN_FORM_SITES sites comes back the same through
 * the page's form (notes with a CR excepted: the form turns CRs into LFs). */
static void form_round_trip(const json_t *plan)
{
	const json_t *notes = json_object_get(plan, "rollout_notes");
	arena *a;
	struct form f;
	json_t *typed = NULL, *again = NULL;
	char *body;
	int rows;

	if (json_array_size(json_object_get(plan, "sites")) > PLAN_FORM_SITES ||
	    (notes && strchr(json_string_value(notes), '\r')))
		return;
	a = arena_new();
	if (!a)
		return;
	body = as_form(a, plan);
	if (!body || form_parse(&f, a, body, strlen(body)) != 0 ||
	    plan_from_form(&typed, &f, &rows) != 0)
		abort();
	validate(&again, typed);
	if (!again || !json_equal(again, plan))
		abort();
	json_decref(typed);
	json_decref(again);
	arena_free(a);
}

static void check_findings(const json_t *list, bool with_field)
{
	const json_t *e;
	size_t i;

	if (!json_is_array(list))
		abort();
	json_array_foreach(list, i, e)
	{
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));

		if (!code || !*code || !msg || !*msg ||
		    (with_field && !json_string_value(json_object_get(e, "field"))))
			abort();
	}
}

static void review(const json_t *plan, const struct plan_context *c)
{
	json_t *warnings = NULL, *advice = NULL, *w2 = NULL, *a2 = NULL;

	if (plan_review(&warnings, &advice, plan, c) != 0)
		abort();
	check_findings(warnings, true);
	check_findings(advice, false);
	if (plan_review(&w2, &a2, plan, c) != 0 || !json_equal(warnings, w2) ||
	    !json_equal(advice, a2))
		abort();
	json_decref(warnings);
	json_decref(advice);
	json_decref(w2);
	json_decref(a2);
}

/* Every '<' opens one of the picture's own tags, every '&' an entity. */
static void check_svg_text(const char *s)
{
	static const char *const tags[] = {"svg ",  "/svg>",  "title ",  "/title>",
	                                   "desc ", "/desc>", "rect ",   "line ",
	                                   "text ", "/text>", "polygon "};
	static const char *const entities[] = {"amp;", "lt;", "gt;", "quot;", "#39;"};

	for (const char *p = s; (p = strpbrk(p, "<&")); p++) {
		const char *const *list = *p == '<' ? tags : entities;
		size_t n = *p == '<' ? sizeof(tags) / sizeof(tags[0]) : 5;
		bool ok = false;

		for (size_t i = 0; i < n && !ok; i++)
			ok = strncmp(p + 1, list[i], strlen(list[i])) == 0;
		if (!ok)
			abort();
	}
}

static void timeline(const json_t *plan, const char *title, const char *today, const workdays *wd)
{
	struct timeline_input in = {plan, title, today, wd};
	json_t *tl = NULL, *tl2 = NULL;
	const json_t *events, *ev;
	const char *prev = "";
	struct buf svg;
	char *text;
	size_t i;

	if (timeline_build(&tl, &in) != 0 || !tl)
		abort();
	events = json_object_get(tl, "events");
	if (json_array_size(json_object_get(json_object_get(tl, "facts"), "milestones")) !=
	        PLAN_NDATES ||
	    json_array_size(json_object_get(json_object_get(tl, "facts"), "sites")) !=
	        json_array_size(json_object_get(plan, "sites")) ||
	    json_array_size(events) !=
	        PLAN_NDATES + 1 + json_array_size(json_object_get(plan, "sites")))
		abort();
	json_array_foreach(events, i, ev)
	{
		const char *d = json_string_value(json_object_get(ev, "date"));

		if (!d || strcmp(prev, d) > 0 || !json_string_value(json_object_get(ev, "text")))
			abort();
		prev = d;
	}
	if (timeline_build(&tl2, &in) != 0 || !json_equal(tl, tl2))
		abort();
	buf_init(&svg, 1 << 22);
	if (timeline_svg(&svg, json_object_get(tl, "svg")) != 0)
		abort();
	check_svg_text(svg.ptr);
	buf_release(&svg);
	/* the page renders it: it must serialise */
	text = json_dumps(tl, 0);
	if (!text)
		abort();
	free(text);
	json_decref(tl);
	json_decref(tl2);
}

/* SAQ answers as an approved SAQ holds them: every answer passes the
 * definition's checks (a draft's: not every question need be answered). */
static json_t *approved_saq(const json_t *answers)
{
	json_t *picked = NULL, *errors = NULL;

	if (!saq_def || !json_is_object(answers) ||
	    questionnaire_answers_pick(&picked, saq_def, NULL, answers) != 0)
		return NULL;
	if (questionnaire_validate(&errors, saq_def, NULL, picked, QUESTIONNAIRE_DRAFT) != 0 ||
	    json_object_size(errors)) {
		json_decref(picked);
		picked = NULL;
	}
	json_decref(errors);
	return picked;
}

static void valid_plan(const json_t *plan, const char *today, const char *title, const json_t *saq)
{
	const workdays *cals[] = {holidays, NULL};

	json_t *again = NULL;

	validate(&again, plan);
	if (!again || !json_equal(again, plan))
		abort();
	json_decref(again);
	form_round_trip(plan);
	for (size_t i = 0; i < 2; i++) {
		struct plan_context c = {today, cals[i], saq};
		struct plan_context none = {today, cals[i], NULL};

		review(plan, &c);
		if (saq)
			review(plan, &none);
		timeline(plan, title, today, cals[i]);
		if (!cals[0])
			break;
	}
}

static void run(const json_t *in, const char *today, const char *title, const json_t *saq_in)
{
	json_t *plan = NULL, *saq = approved_saq(saq_in);

	validate(&plan, in);
	if (plan)
		valid_plan(plan, today, title, saq);
	json_decref(plan);
	json_decref(saq);
}

static void from_json(const char *text, size_t len)
{
	json_t *in = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);

	if (json_is_object(in))
		run(in, json_string_value(json_object_get(in, "today")),
		    json_string_value(json_object_get(in, "title")), json_object_get(in, "saq"));
	json_decref(in);
}

static void from_form(const char *text, size_t len)
{
	arena *a = arena_new();
	struct form f;
	json_t *typed = NULL, *saq = NULL;
	int rows = -1;

	if (!a)
		return;
	if (form_parse(&f, a, text, len) == 0) {
		if (plan_from_form(&typed, &f, &rows) != 0)
			abort();
		check_from_form(typed, rows);
		if (form_get(&f, "saq"))
			saq = json_loads(form_get(&f, "saq"), JSON_REJECT_DUPLICATES, NULL);
		run(typed, form_get(&f, "today"), form_get(&f, "title"), saq);
		json_decref(typed);
		json_decref(saq);
	}
	arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		fuzz_init();
	if (size < 1 || size > INPUT_MAX)
		return 0;
	if ((uint8_t)(data[0] - '0') % 2 == 0)
		from_json((const char *)data + 1, size - 1);
	else
		from_form((const char *)data + 1, size - 1);
	return 0;
}
