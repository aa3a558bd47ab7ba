/* The journey plan's checks (errors, warnings, advice) and its form. Which
 * rule is an error and which a warning is explained in plan_check.h and
 * docs/onboarding-plan.md. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/utf8.h"
#include "onboarding/plan_check.h"

/* CIS1 retires at the end of February 2027 (CIS2-PROFILE.md). */
#define CIS1_RETIRES "2027-02-28"
/* a message naming a site: its name may take 200 characters of 4 bytes */
#define PLAN_MSG_MAX 1200

const struct plan_date_def plan_dates[PLAN_NDATES] = {
    {"testing_start", "Testing in INT starts", "testing starts", "Testing in INT starts"},
    {"testing_end", "Testing in INT ends", "testing ends", "Testing in INT ends"},
    {"conformance_start", "You start conformance", "you start conformance", "Conformance starts"},
    {"conformance_answers", "You submit your conformance answers",
     "you submit your conformance answers", "Conformance answers submitted"},
    {"conformance_achieved", "You achieve conformance", "you achieve conformance",
     "Conformance achieved"},
    {"first_site_live", "The first site goes live", "the first site goes live", "First site live"},
    {"last_site_live", "The last site goes live", "the last site goes live", "Last site live"},
};

enum { T_START, T_END, C_START, C_ANSWERS, C_ACHIEVED, FIRST_LIVE, LAST_LIVE };

/* a ≤ b; the error goes to b. Checked in this order, one error per date. */
static const struct {
	int a, b;
} date_order[] = {
    {T_START, T_END},    {T_START, C_START},       {C_START, C_ANSWERS},    {C_ANSWERS, C_ACHIEVED},
    {T_END, C_ACHIEVED}, {C_ACHIEVED, FIRST_LIVE}, {FIRST_LIVE, LAST_LIVE},
};

static const char *const month_names[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};

int plan_date_index(const char *id)
{
	for (int i = 0; id && i < PLAN_NDATES; i++) {
		if (strcmp(plan_dates[i].id, id) == 0)
			return i;
	}
	return -1;
}

/* --- small pure helpers ------------------------------------------------ */

int64_t plan_days(struct ymd d)
{
	/* Howard Hinnant's days_from_civil */
	int64_t y = d.y - (d.m <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (d.m + (d.m > 2 ? -3 : 9)) + 2) / 5 + d.d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static struct ymd civil(int64_t z)
{
	int64_t era, doe, yoe, doy, mp;
	struct ymd out;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	out.d = (int)(doy - (153 * mp + 2) / 5 + 1);
	out.m = (int)(mp < 10 ? mp + 3 : mp - 9);
	out.y = (int)(yoe + era * 400 + (out.m <= 2));
	return out;
}

bool plan_date_text(char out[32], const char *iso)
{
	struct ymd d;

	out[0] = '\0';
	if (workdays_date_parse(&d, iso))
		return false;
	snprintf(out, 32, "%d %s %04d", d.d, month_names[d.m - 1], d.y);
	return true;
}

static int64_t last_sunday(int y, int m)
{
	int64_t day = plan_days((struct ymd){y, m, 31});

	/* 1970-01-01 was a Thursday: (days + 4) % 7 is 0 on a Sunday */
	return day - ((day % 7 + 7 + 4) % 7);
}

void plan_time_text(char out[48], int64_t t)
{
	int64_t day = (t >= 0 ? t : t - 86399) / 86400, secs;
	struct ymd d = civil(day);
	int64_t bst_from = last_sunday(d.y, 3) * 86400 + 3600;
	int64_t bst_to = last_sunday(d.y, 10) * 86400 + 3600;
	int h, m;

	if (t >= bst_from && t < bst_to)
		t += 3600;
	day = (t >= 0 ? t : t - 86399) / 86400;
	d = civil(day);
	secs = t - day * 86400;
	h = (int)(secs / 3600);
	m = (int)(secs % 3600 / 60);
	snprintf(out, 48, "%d %s %04d at %d:%02d%s", d.d, month_names[d.m - 1], d.y,
	         h % 12 ? h % 12 : 12, m, h < 12 ? "am" : "pm");
}

void plan_int_text(char out[32], int64_t v)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%lld", (long long)(v < 0 ? -v : v)), o = 0;

	if (v < 0)
		out[o++] = '-';
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

char *plan_trim(const char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static bool has_control(const char *s, bool newlines)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && !(newlines && (c == '\n' || c == '\r' || c == '\t'))) || c == 0x7f)
			return true;
	}
	return false;
}

/* --- validation -------------------------------------------------------- */

struct check {
	json_t *errors; /* [{field, id, message}] */
	json_t *seen;   /* {id: true}: one error per form field */
	int rc;
};

__attribute__((format(printf, 4, 5))) static void error_at(struct check *c, const char *field,
                                                           const char *id, const char *fmt, ...)
{
	char msg[PLAN_MSG_MAX];
	va_list ap;

	if (json_object_get(c->seen, id))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	utf8_trim_partial(msg);
	va_end(ap);
	json_object_set_new(c->seen, id, json_true());
	if (json_array_append_new(
	        c->errors, json_pack("{s:s, s:s, s:s}", "field", field, "id", id, "message", msg)))
		c->rc = CAREID_ENOMEM;
}

static bool in_years(struct ymd d)
{
	return d.y >= PLAN_FIRST_YEAR && d.y <= PLAN_LAST_YEAR;
}

/* The valid dates into d[], ok[]; errors for the others; the order rules. */
static void check_dates(struct check *c, const json_t *in, json_t *out, struct ymd d[PLAN_NDATES],
                        bool ok[PLAN_NDATES])
{
	char field[64], a[32], b[32];

	for (int i = 0; i < PLAN_NDATES; i++) {
		const char *id = plan_dates[i].id;
		const json_t *v = json_object_get(in, id);

		ok[i] = false;
		snprintf(field, sizeof(field), "dates.%s", id);
		if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
			error_at(c, field, id, "Enter the date %s", plan_dates[i].name);
		else if (!json_is_string(v) || workdays_date_parse(&d[i], json_string_value(v)))
			error_at(c, field, id, "The date %s must be a real date",
			         plan_dates[i].name);
		else if (!in_years(d[i]))
			error_at(c, field, id,
			         "The date %s must be between 1 January %d and 31 December %d",
			         plan_dates[i].name, PLAN_FIRST_YEAR, PLAN_LAST_YEAR);
		else
			ok[i] = true;
		if (ok[i])
			json_object_set_new(out, id, json_string(json_string_value(v)));
	}
	for (size_t k = 0; k < sizeof(date_order) / sizeof(date_order[0]); k++) {
		int i = date_order[k].a, j = date_order[k].b;

		if (!ok[i] || !ok[j] || workdays_date_cmp(d[i], d[j]) <= 0)
			continue;
		workdays_date_format(a, d[i]);
		plan_date_text(b, a);
		snprintf(field, sizeof(field), "dates.%s", plan_dates[j].id);
		error_at(c, field, plan_dates[j].id,
		         "The date %s must be on or after the date %s (%s)", plan_dates[j].name,
		         plan_dates[i].name, b);
	}
}

/* A whole number 0..max from JSON: its value, or -1 (with an error). */
static long long check_count(struct check *c, const json_t *v, int site, const char *key,
                             const char *what, const char *missing, long long max)
{
	char field[64], id[64], maxt[32];

	snprintf(field, sizeof(field), "sites[%d].%s", site, key);
	snprintf(id, sizeof(id), "site_%d_%s", site + 1, key);
	if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
		error_at(c, field, id, "Site %d: enter the %s", site + 1, missing);
		return -1;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= max)
		return json_integer_value(v);
	plan_int_text(maxt, max);
	error_at(c, field, id, "Site %d: the %s must be a whole number from 0 to %s", site + 1,
	         what, maxt);
	return -1;
}

/* A site's text member, trimmed; NULL (with an error) when missing or bad. */
static char *check_site_text(struct check *c, const json_t *site, int i, const char *key,
                             const char *what)
{
	const json_t *v = json_object_get(site, key);
	char field[64], id[64], *s = json_is_string(v) ? plan_trim(json_string_value(v)) : NULL;

	snprintf(field, sizeof(field), "sites[%d].%s", i, key);
	snprintf(id, sizeof(id), "site_%d_%s", i + 1, key);
	if (json_is_string(v) && !s) {
		c->rc = CAREID_ENOMEM;
		return NULL;
	}
	if (!s || !*s)
		error_at(c, field, id, "Site %d: enter the site's %s", i + 1, what);
	else if (has_control(s, false))
		error_at(c, field, id,
		         "Site %d: the site's %s must be text without control characters", i + 1,
		         what);
	else
		return s;
	free(s);
	return NULL;
}

static bool ods_ok(char *s)
{
	size_t n = strlen(s);

	for (char *p = s; *p; p++) {
		if (!isalnum((unsigned char)*p))
			return false;
		*p = (char)toupper((unsigned char)*p);
	}
	return n >= 3 && n <= 10;
}

struct window {
	bool ok; /* both rollout dates valid */
	struct ymd first, last;
};

static void field_id(char field[64], char id[64], int i, const char *key)
{
	snprintf(field, 64, "sites[%d].%s", i, key);
	snprintf(id, 64, "site_%d_%s", i + 1, key);
}

/* The site's ODS code, upper-cased, when well formed and not repeated. */
static char *check_ods(struct check *c, const json_t *site, int i, json_t *odses)
{
	char field[64], id[64], *ods = check_site_text(c, site, i, "ods_code", "ODS code");
	const json_t *prev;

	field_id(field, id, i, "ods_code");
	if (ods && !ods_ok(ods))
		error_at(
		    c, field, id,
		    "Site %d: the ODS code must be 3 to 10 letters or numbers, like RR8 or Y12345",
		    i + 1);
	else if (ods && (prev = json_object_get(odses, ods)))
		error_at(c, field, id, "Site %d: ODS code %s is already used by site %d", i + 1,
		         ods, (int)json_integer_value(prev) + 1);
	else if (ods && !json_object_set_new(odses, ods, json_integer(i)))
		return ods;
	free(ods);
	return NULL;
}

/* The site's date, when real and inside the rollout window. */
static bool check_site_date(struct check *c, const json_t *pd, int i, const struct window *w,
                            struct ymd *d)
{
	char field[64], id[64], a[32], b[32], iso[WORKDAYS_DATE_LEN];

	field_id(field, id, i, "planned_date");
	if (!pd || json_is_null(pd) || (json_is_string(pd) && !json_string_length(pd))) {
		error_at(c, field, id, "Site %d: enter the date the site goes live", i + 1);
		return false;
	}
	if (!json_is_string(pd) || workdays_date_parse(d, json_string_value(pd)) || !in_years(*d)) {
		error_at(c, field, id, "Site %d: the date the site goes live must be a real date",
		         i + 1);
		return false;
	}
	if (!w->ok || (workdays_date_cmp(*d, w->first) >= 0 && workdays_date_cmp(*d, w->last) <= 0))
		return true;
	workdays_date_format(iso, w->first);
	plan_date_text(a, iso);
	workdays_date_format(iso, w->last);
	plan_date_text(b, iso);
	error_at(c, field, id,
	         "Site %d: the date the site goes live must be between the dates the first and "
	         "last sites go live (%s and %s)",
	         i + 1, a, b);
	return false;
}

/*
 * Checks site `i`; appends the saved form of the site to `out` when it has
 * no error. *date_ok says whether *d is its (valid, in-window) date.
 */
static void check_site(struct check *c, const json_t *site, int i, const struct window *w,
                       json_t *odses, json_t *out, struct ymd *d, bool *date_ok)
{
	char *name = check_site_text(c, site, i, "name", "name");
	char *ods = check_ods(c, site, i, odses);
	char field[64], id[64], text[32];
	long long users, day, peak;

	field_id(field, id, i, "name");
	if (name && utf8_chars(name) > PLAN_NAME_MAX) {
		error_at(c, field, id, "Site %d: the site's name must be %d characters or fewer",
		         i + 1, PLAN_NAME_MAX);
		free(name);
		name = NULL;
	}
	*date_ok = check_site_date(c, json_object_get(site, "planned_date"), i, w, d);
	users = check_count(c, json_object_get(site, "users"), i, "users", "number of users",
	                    "number of users", PLAN_USERS_MAX);
	day = check_count(c, json_object_get(site, "auths_per_day"), i, "auths_per_day",
	                  "authentications per day", "expected authentications per day",
	                  PLAN_AUTHS_MAX);
	peak = check_count(c, json_object_get(site, "auths_peak_hour"), i, "auths_peak_hour",
	                   "authentications at the peak hour",
	                   "expected authentications at the peak hour", PLAN_AUTHS_MAX);
	if (day >= 0 && peak > day) {
		field_id(field, id, i, "auths_peak_hour");
		plan_int_text(text, day);
		error_at(c, field, id,
		         "Site %d: the authentications at the peak hour cannot be more than the "
		         "authentications per day (%s)",
		         i + 1, text);
		peak = -1;
	}
	if (name && ods && *date_ok && users >= 0 && day >= 0 && peak >= 0) {
		workdays_date_format(text, *d);
		if (json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "name",
		                                         name, "ods_code", ods, "planned_date",
		                                         text, "users", (json_int_t)users,
		                                         "auths_per_day", (json_int_t)day,
		                                         "auths_peak_hour", (json_int_t)peak)))
			c->rc = CAREID_ENOMEM;
	}
	free(name);
	free(ods);
}

static const char *const models[] = {"single_instance", "instance_per_customer"};

static void check_model(struct check *c, const json_t *v, json_t *plan)
{
	const char *s = json_string_value(v);

	for (size_t i = 0; s && i < sizeof(models) / sizeof(models[0]); i++) {
		if (strcmp(s, models[i]) == 0) {
			json_object_set_new(plan, "deployment_model", json_string(models[i]));
			return;
		}
	}
	error_at(c, "deployment_model", "deployment_model",
	         "Select how your product will be deployed");
}

static void check_notes(struct check *c, const json_t *v, json_t *plan)
{
	char *s;

	if (!v || json_is_null(v))
		return;
	if (!json_is_string(v)) {
		error_at(c, "rollout_notes", "rollout_notes", "The rollout notes must be text");
		return;
	}
	s = plan_trim(json_string_value(v));
	if (!s) {
		c->rc = CAREID_ENOMEM;
		return;
	}
	if (has_control(s, true))
		error_at(c, "rollout_notes", "rollout_notes",
		         "The rollout notes must be text without control characters");
	else if (utf8_chars(s) > PLAN_NOTES_MAX)
		error_at(c, "rollout_notes", "rollout_notes",
		         "The rollout notes must be 2,000 characters or fewer");
	else if (*s)
		json_object_set_new(plan, "rollout_notes", json_string(s));
	free(s);
}

/* Every site, then the rule that one goes live on the first-site date. */
static void check_sites(struct check *c, const json_t *sites, const struct ymd d[PLAN_NDATES],
                        const bool ok[PLAN_NDATES], json_t *plan, json_t *site_errors)
{
	struct window w = {ok[FIRST_LIVE] && ok[LAST_LIVE], d[FIRST_LIVE], d[LAST_LIVE]};
	json_t *out = json_array(), *odses = json_object(), *main_errors = c->errors;
	size_t n = json_array_size(sites);
	bool all_dates = true, on_first = false;
	char iso[WORKDAYS_DATE_LEN], text[32];

	if (!out || !odses) {
		c->rc = CAREID_ENOMEM;
		goto out;
	}
	if (!json_is_array(sites) || n == 0) {
		error_at(
		    c, "sites", "sites",
		    "Add at least one rollout site, with its name, ODS code and the date it goes "
		    "live");
		goto out;
	}
	if (n > PLAN_MAX_SITES) {
		error_at(c, "sites", "sites", "A plan can have up to %d sites", PLAN_MAX_SITES);
		goto out;
	}
	/* the sites' own errors come after the list's (page order) */
	c->errors = site_errors;
	for (size_t i = 0; i < n; i++) {
		struct ymd sd;
		bool date_ok;

		check_site(c, json_array_get(sites, i), (int)i, &w, odses, out, &sd, &date_ok);
		all_dates = all_dates && date_ok;
		on_first = on_first || (date_ok && w.ok && workdays_date_cmp(sd, w.first) == 0);
	}
	c->errors = main_errors;
	if (w.ok && all_dates && !on_first) {
		workdays_date_format(iso, w.first);
		plan_date_text(text, iso);
		error_at(
		    c, "sites", "sites",
		    "No site goes live on the date the first site goes live (%s): plan your first "
		    "site for that date, or change the date",
		    text);
	}
	json_object_set(plan, "sites", out);
out:
	json_decref(out);
	json_decref(odses);
}

int plan_validate(json_t **plan_out, json_t **errors_out, const json_t *input)
{
	struct check c = {json_array(), json_object(), 0};
	json_t *plan = json_object(), *dates = json_object(), *site_errors = json_array();
	const json_t *in_dates = json_object_get(input, "dates");
	struct ymd d[PLAN_NDATES];
	bool ok[PLAN_NDATES];
	size_t i;
	json_t *e;

	*plan_out = NULL;
	*errors_out = NULL;
	if (!c.errors || !c.seen || !plan || !dates || !site_errors) {
		c.rc = CAREID_ENOMEM;
		goto out;
	}
	check_dates(&c, json_is_object(in_dates) ? in_dates : NULL, dates, d, ok);
	json_object_set(plan, "dates", dates);
	check_model(&c, json_object_get(input, "deployment_model"), plan);
	check_sites(&c, json_object_get(input, "sites"), d, ok, plan, site_errors);
	json_array_foreach(site_errors, i, e) json_array_append(c.errors, e);
	check_notes(&c, json_object_get(input, "rollout_notes"), plan);
out:
	json_decref(dates);
	json_decref(site_errors);
	json_decref(c.seen);
	if (c.rc) {
		json_decref(c.errors);
		json_decref(plan);
		return c.rc;
	}
	*errors_out = c.errors;
	if (json_array_size(c.errors) == 0)
		*plan_out = plan;
	else
		json_decref(plan);
	return 0;
}

/* --- warnings and advice ----------------------------------------------- */

struct review {
	json_t *warnings, *advice;
	const struct plan_context *c;
	struct ymd d[PLAN_NDATES];
	char text[PLAN_NDATES][32]; /* the dates as words */
	int rc;
};

__attribute__((format(printf, 4, 5))) static void note(struct review *rv, json_t *list,
                                                       const char *code, const char *fmt, ...)
{
	char msg[PLAN_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_trim_partial(msg);
	if (json_array_append_new(list, json_pack("{s:s, s:s}", "code", code, "message", msg)))
		rv->rc = CAREID_ENOMEM;
}

/* A warning about `field` (a path in the plan). */
/* `msg` was written with snprintf(): a site's name may have been cut inside
 * a character, and a JSON string must be valid UTF-8. */
static void warn(struct review *rv, const char *code, const char *field, char *msg)
{
	utf8_trim_partial(msg);
	if (json_array_append_new(rv->warnings, json_pack("{s:s, s:s, s:s}", "code", code, "field",
	                                                  field, "message", msg)))
		rv->rc = CAREID_ENOMEM;
}

/* Working days from a to b, both counted when they are working days. */
static int span_working(const workdays *wd, struct ymd a, struct ymd b)
{
	return workdays_between(wd, a, b) + (workdays_is_working(wd, a) ? 1 : 0);
}

static const char *plural(int n)
{
	return n == 1 ? "" : "s";
}

static void warn_durations(struct review *rv)
{
	const workdays *wd = rv->c->wd;
	struct ymd *d = rv->d;
	char msg[PLAN_MSG_MAX], due_iso[WORKDAYS_DATE_LEN], due[32];
	int n;

	if (workdays_between(wd, d[C_ANSWERS], d[C_ACHIEVED]) < PLAN_REVIEW_DAYS) {
		workdays_date_format(due_iso, workdays_add(wd, d[C_ANSWERS], PLAN_REVIEW_DAYS));
		plan_date_text(due, due_iso);
		snprintf(msg, sizeof(msg),
		         "The CIS2 team takes up to 5 working days to review conformance answers: "
		         "answers submitted on %s may not be reviewed until %s, after the date you "
		         "achieve conformance (%s)",
		         rv->text[C_ANSWERS], due, rv->text[C_ACHIEVED]);
		warn(rv, "review_sla", "dates.conformance_achieved", msg);
	}
	n = span_working(wd, d[T_START], d[T_END]);
	if (n < 5 || n > 20) {
		snprintf(
		    msg, sizeof(msg),
		    "Testing in INT usually takes 1 to 4 weeks (5 to 20 working days); the plan "
		    "allows %d working day%s, from %s to %s",
		    n, plural(n), rv->text[T_START], rv->text[T_END]);
		warn(rv, n < 5 ? "testing_short" : "testing_long", "dates.testing_end", msg);
	}
	n = span_working(wd, d[C_START], d[C_ACHIEVED]);
	if (n < 10 || n > 60) {
		snprintf(msg, sizeof(msg),
		         "Assurance usually takes 2 to 12 weeks (10 to 60 working days); the plan "
		         "allows %d working day%s, from %s to %s",
		         n, plural(n), rv->text[C_START], rv->text[C_ACHIEVED]);
		warn(rv, n < 10 ? "assurance_short" : "assurance_long",
		     "dates.conformance_achieved", msg);
	}
}

static const char *saq_text(const json_t *saq, const char *key)
{
	return json_string_value(json_object_get(saq, key));
}

static bool saq_yes(const json_t *saq, const char *key)
{
	const json_t *v = json_object_get(saq, key);

	return json_is_true(v) || (json_is_string(v) && strcmp(json_string_value(v), "yes") == 0);
}

/* A whole number from the SAQ (stored as a number, or digits); -1 when none. */
static long long saq_int(const json_t *saq, const char *key)
{
	const json_t *v = json_object_get(saq, key);
	long long n;

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v) && plan_int_parse(json_string_value(v), &n))
		return n;
	return -1;
}

static void warn_dates(struct review *rv, const json_t *sites)
{
	char msg[PLAN_MSG_MAX], iso[WORKDAYS_DATE_LEN], text[32], field[64];
	struct ymd today, retires, sd;
	bool on_last = false;
	const json_t *s;
	size_t i;

	if (workdays_date_cmp(rv->d[FIRST_LIVE], rv->d[C_ACHIEVED]) == 0) {
		snprintf(
		    msg, sizeof(msg),
		    "The first site goes live the day you achieve conformance (%s): allow time "
		    "to accept the Connection Agreement and register your Live client",
		    rv->text[FIRST_LIVE]);
		warn(rv, "go_live_same_day", "dates.first_site_live", msg);
	}
	json_array_foreach(sites, i, s)
	{
		if (!workdays_date_parse(&sd,
		                         json_string_value(json_object_get(s, "planned_date"))))
			on_last = on_last || workdays_date_cmp(sd, rv->d[LAST_LIVE]) == 0;
	}
	if (!on_last) {
		snprintf(
		    msg, sizeof(msg),
		    "No site goes live on the date the last site goes live (%s): plan your last "
		    "site for that date, or change the date",
		    rv->text[LAST_LIVE]);
		warn(rv, "last_site_missing", "sites", msg);
	}
	workdays_date_parse(&retires, CIS1_RETIRES);
	if (saq_yes(rv->c->saq, "cis1_migration") &&
	    workdays_date_cmp(rv->d[LAST_LIVE], retires) > 0) {
		snprintf(msg, sizeof(msg),
		         "CIS1 retires at the end of February 2027, but the last site goes live on "
		         "%s: sites still using CIS1 after February 2027 cannot sign in",
		         rv->text[LAST_LIVE]);
		warn(rv, "cis1_retirement", "dates.last_site_live", msg);
	}
	if (!rv->c->today || workdays_date_parse(&today, rv->c->today))
		return;
	for (int k = 0; k < PLAN_NDATES; k++) {
		if (workdays_date_cmp(rv->d[k], today) >= 0)
			continue;
		snprintf(msg, sizeof(msg), "The date %s (%s) is in the past", plan_dates[k].name,
		         rv->text[k]);
		snprintf(field, sizeof(field), "dates.%s", plan_dates[k].id);
		warn(rv, "date_past", field, msg);
	}
	json_array_foreach(sites, i, s)
	{
		const char *pd = json_string_value(json_object_get(s, "planned_date"));

		if (workdays_date_parse(&sd, pd) || workdays_date_cmp(sd, today) >= 0)
			continue;
		workdays_date_format(iso, sd);
		plan_date_text(text, iso);
		snprintf(msg, sizeof(msg), "Site %zu (%s) goes live on a date in the past (%s)",
		         i + 1, json_string_value(json_object_get(s, "name")), text);
		snprintf(field, sizeof(field), "sites[%zu].planned_date", i);
		warn(rv, "site_date_past", field, msg);
	}
}

static const struct {
	const char *code, *name;
} api_names[] = {
    {"pds", "Personal Demographics Service (PDS)"},
    {"eps", "Electronic Prescription Service (EPS)"},
    {"ers", "e-Referral Service (e-RS)"},
    {"scr", "Summary Care Record (SCR)"},
    {"nrl", "National Record Locator (NRL)"},
    {"gp_connect", "GP Connect"},
};

static const struct {
	const char *code, *name;
} authn_names[] = {
    {"fido2", "FIDO2 security key"},
    {"windows_hello", "Windows Hello for Business"},
    {"ipad", "iPad app"},
    {"authenticator_app", "authenticator app"},
    {"nhsmail", "NHSmail"},
    {"passkey", "passkey"},
    {"virtual_smartcard", "virtual smartcard"},
};

/* "a, b and c" of the SAQ's codes in `list` (other than skip), by `names`. */
static int list_text(struct buf *b, const json_t *list, const char *skip,
                     const char *(*name_of)(const char *))
{
	size_t i, n = 0, total = 0;
	const json_t *v;
	int rc = 0;

	json_array_foreach(list, i, v) total +=
	    json_is_string(v) && strcmp(json_string_value(v), skip) != 0;
	json_array_foreach(list, i, v)
	{
		const char *code = json_string_value(v);

		if (!code || strcmp(code, skip) == 0)
			continue;
		if (!rc && n)
			rc = buf_puts(b, n + 1 == total ? " and " : ", ");
		if (!rc)
			rc = buf_puts(b, name_of(code));
		n++;
	}
	return rc;
}

static const char *api_name(const char *code)
{
	for (size_t i = 0; i < sizeof(api_names) / sizeof(api_names[0]); i++) {
		if (strcmp(api_names[i].code, code) == 0)
			return api_names[i].name;
	}
	return code;
}

static const char *authn_name(const char *code)
{
	for (size_t i = 0; i < sizeof(authn_names) / sizeof(authn_names[0]); i++) {
		if (strcmp(authn_names[i].code, code) == 0)
			return authn_names[i].name;
	}
	return code;
}

static bool list_has(const json_t *list, const char *code)
{
	size_t i;
	const json_t *v;

	json_array_foreach(list, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), code) == 0)
			return true;
	}
	return false;
}

static void advise_saq(struct review *rv)
{
	const json_t *saq = rv->c->saq, *apis = json_object_get(saq, "national_apis");
	const json_t *authn = json_object_get(saq, "authenticators");
	size_t others = json_array_size(authn) - (list_has(authn, "smartcard") ? 1 : 0);
	struct buf b;

	buf_init(&b, 1024);
	if (json_array_size(apis) && !list_has(apis, "none") &&
	    !list_text(&b, apis, "none", api_name))
		note(
		    rv, rv->advice, "national_apis",
		    "Your product uses national APIs (%s): they can only be tested in the INT "
		    "environment, so test them there while you test CIS2 Authentication (%s to %s)",
		    b.ptr, rv->text[T_START], rv->text[T_END]);
	buf_reset(&b);
	if (saq_yes(saq, "cis1_migration")) {
		if (others && !list_text(&b, authn, "smartcard", authn_name))
			note(rv, rv->advice, "cis1_migration",
			     "Your product is migrating from CIS1: technical conformance must be "
			     "shown in "
			     "INT with an authenticator other than a smartcard, which proves every "
			     "CIS1 "
			     "dependency has gone. Test with one your users have: %s",
			     b.ptr);
		else
			note(rv, rv->advice, "cis1_migration",
			     "Your product is migrating from CIS1: technical conformance must be "
			     "shown in "
			     "INT with an authenticator other than a smartcard, which proves every "
			     "CIS1 "
			     "dependency has gone. Your users only have smartcards, so plan how "
			     "your "
			     "testers will get another authenticator, such as a FIDO2 security key "
			     "or "
			     "Windows Hello for Business");
	}
	buf_reset(&b);
	if (list_has(authn, "smartcard") && !others)
		note(
		    rv, rv->advice, "smartcard_only",
		    "Your users only have smartcards: user groups with only a smartcard could also "
		    "use other authenticators, such as FIDO2 security keys, Windows Hello for "
		    "Business, the iPad app or an authenticator app");
	else if (list_has(authn, "smartcard") && !list_text(&b, authn, "smartcard", authn_name))
		note(
		    rv, rv->advice, "smartcard_users",
		    "User groups who have only a smartcard could also use the other authenticators "
		    "you listed: %s",
		    b.ptr);
	buf_release(&b);
}

static const char *model_text(const char *m)
{
	return m && strcmp(m, "instance_per_customer") == 0 ? "one instance per customer"
	                                                    : "one instance for all customers";
}

/* Plan totals against the SAQ's estimate: more than 25% over, or under half. */
static void advise_volume(struct review *rv, long long planned, const char *key, const char *what)
{
	long long saq = saq_int(rv->c->saq, key);
	char a[32], b[32];

	if (saq < 0)
		return;
	plan_int_text(a, planned);
	plan_int_text(b, saq);
	if (planned * 4 > saq * 5)
		note(rv, rv->advice,
		     strcmp(key, "auths_per_day") == 0 ? "volume_more" : "peak_more",
		     "The sites in the plan add up to %s authentications %s, more than the %s in "
		     "your "
		     "SAQ: tell the CIS2 team, who plan capacity from these numbers",
		     a, what, b);
	else if (planned * 2 < saq)
		note(
		    rv, rv->advice, strcmp(key, "auths_per_day") == 0 ? "volume_less" : "peak_less",
		    "The sites in the plan add up to %s authentications %s, less than half the %s "
		    "in "
		    "your SAQ: add the other sites you will roll out to, or tell the CIS2 team the "
		    "new estimate",
		    a, what, b);
}

static void advise_plan(struct review *rv, const json_t *plan)
{
	const char *model = json_string_value(json_object_get(plan, "deployment_model"));
	const char *saq_model = saq_text(rv->c->saq, "deployment_model");
	const json_t *sites = json_object_get(plan, "sites"), *s;
	long long day = 0, peak = 0;
	size_t i;

	json_array_foreach(sites, i, s)
	{
		day += json_integer_value(json_object_get(s, "auths_per_day"));
		peak += json_integer_value(json_object_get(s, "auths_peak_hour"));
	}
	advise_volume(rv, day, "auths_per_day", "a day");
	advise_volume(rv, peak, "auths_peak_hour", "at the peak hour");
	if (model && saq_model && strcmp(model, saq_model) != 0)
		note(rv, rv->advice, "deployment_differs",
		     "Your SAQ says %s, but the plan says %s: tell the CIS2 team",
		     model_text(saq_model), model_text(model));
	if (model && strcmp(model, "instance_per_customer") == 0)
		note(
		    rv, rv->advice, "instance_per_customer",
		    "With one instance per customer, each customer's instance needs its own client "
		    "registration and Live credentials: plan them before each customer's first "
		    "site goes live");
}

int plan_review(json_t **warnings_out, json_t **advice_out, const json_t *plan,
                const struct plan_context *c)
{
	struct review rv = {json_array(), json_array(), c, {{0}}, {{0}}, 0};
	const json_t *dates = json_object_get(plan, "dates");

	*warnings_out = *advice_out = NULL;
	if (!rv.warnings || !rv.advice)
		rv.rc = CAREID_ENOMEM;
	for (int k = 0; !rv.rc && k < PLAN_NDATES; k++) {
		const char *iso = json_string_value(json_object_get(dates, plan_dates[k].id));

		if (workdays_date_parse(&rv.d[k], iso))
			rv.rc =
			    careid_error_set(CAREID_EINVALID, "plan_review: the plan is not valid");
		else
			plan_date_text(rv.text[k], iso);
	}
	if (!rv.rc) {
		warn_durations(&rv);
		warn_dates(&rv, json_object_get(plan, "sites"));
		if (c->saq)
			advise_saq(&rv);
		advise_plan(&rv, plan);
		if (!c->saq)
			note(&rv, rv.advice, "no_saq",
			     "No approved Service Assessment Questionnaire was found for your "
			     "team, so "
			     "this advice does not take its answers into account");
	}
	if (rv.rc) {
		json_decref(rv.warnings);
		json_decref(rv.advice);
		return rv.rc;
	}
	*warnings_out = rv.warnings;
	*advice_out = rv.advice;
	return 0;
}
