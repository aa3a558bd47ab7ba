/* The journey plan's page form, read into a plan (field names: plan.c). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "onboarding/plan_check.h"

/* Whole numbers as typed in a form: "1200" or "1,200"; false otherwise. */
bool plan_int_parse(const char *s, long long *out)
{
	long long v = 0;
	size_t n = strlen(s), nd = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == ',' && i > 0 && i + 1 < n && s[i - 1] != ',')
			continue;
		if (s[i] < '0' || s[i] > '9' || ++nd > 15)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return nd > 0;
}

/* "D/M/YYYY" → "YYYY-MM-DD" (only a real date); false otherwise. */
static bool date_from_dmy(const char *s, char out[WORKDAYS_DATE_LEN])
{
	int d = 0, m = 0, y = 0, nd = 0, nm = 0, ny = 0;
	const char *p = s;

	for (; isdigit((unsigned char)*p) && nd < 3; p++, nd++)
		d = d * 10 + (*p - '0');
	if (*p++ != '/')
		return false;
	for (; isdigit((unsigned char)*p) && nm < 3; p++, nm++)
		m = m * 10 + (*p - '0');
	if (*p++ != '/')
		return false;
	for (; isdigit((unsigned char)*p) && ny < 5; p++, ny++)
		y = y * 10 + (*p - '0');
	if (*p || nd < 1 || nd > 2 || nm < 1 || nm > 2 || ny != 4)
		return false;
	return workdays_date_format(out, (struct ymd){y, m, d}) == 0;
}

/* --- the form ---------------------------------------------------------- */

static const char *const site_fields[] = {"name",  "ods_code",      "planned_date",
                                          "users", "auths_per_day", "auths_peak_hour"};
#define SITE_NFIELDS 6

static const char *form_text(const struct form *f, const char *name, char **owned)
{
	const char *v = form_get(f, name);

	*owned = v ? plan_trim(v) : NULL;
	return *owned && **owned ? *owned : NULL;
}

/* Sets `key` to the typed date (ISO when it was D/M/YYYY); nothing when blank. */
static void set_date(json_t *obj, const char *key, const char *v)
{
	char iso[WORKDAYS_DATE_LEN];

	if (!v)
		return;
	json_object_set_new(obj, key, json_string(date_from_dmy(v, iso) ? iso : v));
}

static void set_number(json_t *obj, const char *key, const char *v)
{
	long long n;

	if (!v)
		return;
	json_object_set_new(obj, key, plan_int_parse(v, &n) ? json_integer(n) : json_string(v));
}

static int site_from_form(json_t *sites, const struct form *f, int row)
{
	json_t *site = json_object();
	char name[64], *owned[SITE_NFIELDS] = {0};
	const char *v[SITE_NFIELDS];
	int rc = site ? 0 : CAREID_ENOMEM;

	for (int i = 0; i < SITE_NFIELDS; i++) {
		snprintf(name, sizeof(name), "site_%d_%s", row, site_fields[i]);
		v[i] = form_text(f, name, &owned[i]);
	}
	if (site) {
		if (v[0])
			json_object_set_new(site, "name", json_string(v[0]));
		if (v[1])
			json_object_set_new(site, "ods_code", json_string(v[1]));
		set_date(site, "planned_date", v[2]);
		set_number(site, "users", v[3]);
		set_number(site, "auths_per_day", v[4]);
		set_number(site, "auths_peak_hour", v[5]);
		if (json_object_size(site))
			rc = json_array_append_new(sites, site) ? CAREID_ENOMEM : 0;
		else
			json_decref(site);
	}
	for (int i = 0; i < SITE_NFIELDS; i++)
		free(owned[i]);
	return rc;
}

/* The highest site row the form has a field of. */
static int form_rows(const struct form *f)
{
	int rows = 0;

	for (size_t i = 0; i < f->n; i++) {
		const char *n = f->fields[i].name;
		char *end;
		long row;

		if (strncmp(n, "site_", 5) != 0 || !isdigit((unsigned char)n[5]))
			continue;
		row = strtol(n + 5, &end, 10);
		if (*end == '_' && row > rows && row <= PLAN_FORM_SITES)
			rows = (int)row;
	}
	return rows;
}

int plan_from_form(json_t **out, const struct form *f, int *rows_out)
{
	json_t *plan = json_object(), *dates = json_object(), *sites = json_array();
	char *owned = NULL;
	const char *v;
	int rows = form_rows(f), rc = plan && dates && sites ? 0 : CAREID_ENOMEM;

	for (int i = 0; !rc && i < PLAN_NDATES; i++) {
		set_date(dates, plan_dates[i].id, form_text(f, plan_dates[i].id, &owned));
		free(owned);
	}
	for (int row = 1; !rc && row <= rows; row++) {
		rc = site_from_form(sites, f, row);
	}
	if (rc) {
		json_decref(plan);
		json_decref(dates);
		json_decref(sites);
		return rc;
	}
	json_object_set_new(plan, "dates", dates);
	if ((v = form_text(f, "deployment_model", &owned)))
		json_object_set_new(plan, "deployment_model", json_string(v));
	free(owned);
	json_object_set_new(plan, "sites", sites);
	if ((v = form_text(f, "rollout_notes", &owned))) {
		struct buf b;

		buf_init(&b, strlen(v) + 1);
		for (const char *p = v; *p && !rc; p++) /* CRLF from the browser → LF */
			rc =
			    p[0] == '\r' && p[1] == '\n' ? 0 : buf_putc(&b, *p == '\r' ? '\n' : *p);
		json_object_set_new(plan, "rollout_notes", json_string(b.ptr));
		buf_release(&b);
	}
	free(owned);
	*rows_out = rows;
	*out = plan;
	return rc;
}
