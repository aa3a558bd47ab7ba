#include "core/workdays.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/error.h"

/* Day numbers count days since 1970-01-01 (day 0, a Thursday). */
#define DAY_MIN      (-719162) /* 0001-01-01 */
#define DAY_MAX      2932896   /* 9999-12-31 */
#define SECS_PER_DAY 86400

struct workdays {
	size_t nhol;
	size_t nyears;
	int32_t hol[WORKDAYS_MAX_EVENTS];   /* weekday holidays, sorted, distinct */
	int32_t years[WORKDAYS_MAX_EVENTS]; /* years with any event, sorted, distinct */
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
static int32_t day_number(struct ymd d)
{
	int64_t y = d.y - (d.m <= 2);
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (d.m + (d.m > 2 ? -3 : 9)) + 2) / 5 + d.d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int32_t)(era * 146097 + doe - 719468);
}

static struct ymd from_day_number(int64_t z)
{
	int64_t era, doe, yoe, doy, mp;
	struct ymd r;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	r.d = (int)(doy - (153 * mp + 2) / 5 + 1);
	r.m = (int)(mp < 10 ? mp + 3 : mp - 9);
	r.y = (int)(yoe + era * 400 + (r.m <= 2));
	return r;
}

static int weekday_of(int64_t z)
{
	return (int)floor_mod(z + 3, 7) + 1;
}

bool workdays_date_valid(struct ymd d)
{
	return d.y >= 1 && d.y <= 9999 && d.m >= 1 && d.m <= 12 && d.d >= 1 &&
	       d.d <= days_in_month(d.y, d.m);
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int workdays_date_parse(struct ymd *out, const char *s)
{
	struct ymd d;

	if (!s || strnlen(s, WORKDAYS_DATE_LEN) != WORKDAYS_DATE_LEN - 1 || s[4] != '-' ||
	    s[7] != '-' || !digits(s, 4, &d.y) || !digits(s + 5, 2, &d.m) ||
	    !digits(s + 8, 2, &d.d) || !workdays_date_valid(d))
		return careid_error_set(CAREID_EINVALID, "not a date in YYYY-MM-DD form");
	*out = d;
	return 0;
}

int workdays_date_format(char out[static WORKDAYS_DATE_LEN], struct ymd d)
{
	out[0] = '\0';
	if (!workdays_date_valid(d))
		return careid_error_set(CAREID_EINVALID, "invalid date %d-%d-%d", d.y, d.m, d.d);
	/* valid dates fit: years 1..9999, months 1..12, days 1..31 */
	snprintf(out, WORKDAYS_DATE_LEN, "%04u-%02u-%02u", (unsigned)d.y % 10000u,
	         (unsigned)d.m % 100u, (unsigned)d.d % 100u);
	return 0;
}

int workdays_date_cmp(struct ymd a, struct ymd b)
{
	if (a.y != b.y)
		return a.y < b.y ? -1 : 1;
	if (a.m != b.m)
		return a.m < b.m ? -1 : 1;
	if (a.d != b.d)
		return a.d < b.d ? -1 : 1;
	return 0;
}

int workdays_weekday(struct ymd d)
{
	return workdays_date_valid(d) ? weekday_of(day_number(d)) : 0;
}

/* The last Sunday of a 31-day month, as a day number. */
static int64_t last_sunday(int y, int m)
{
	int64_t last = day_number((struct ymd){y, m, 31});

	return last - weekday_of(last) % 7;
}

int workdays_london_date(struct ymd *out, int64_t unix_time)
{
	int64_t z, bst_start, bst_end;
	int y;

	if (unix_time < (int64_t)DAY_MIN * SECS_PER_DAY ||
	    unix_time >= ((int64_t)DAY_MAX + 1) * SECS_PER_DAY)
		return careid_error_set(CAREID_EINVALID, "time %lld outside years 1 to 9999",
		                        (long long)unix_time);
	z = floor_div(unix_time, SECS_PER_DAY);
	y = from_day_number(z).y;
	bst_start = last_sunday(y, 3) * SECS_PER_DAY + 3600;
	bst_end = last_sunday(y, 10) * SECS_PER_DAY + 3600;
	if (unix_time >= bst_start && unix_time < bst_end)
		z = floor_div(unix_time + 3600, SECS_PER_DAY);
	*out = from_day_number(z);
	return 0;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

static size_t sort_unique(int32_t *v, size_t n)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), cmp_i32);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

/* Adds one parsed date to a calendar being built. */
static void add_date(workdays *w, struct ymd d)
{
	int32_t z = day_number(d);

	w->years[w->nyears++] = d.y;
	if (weekday_of(z) <= 5)
		w->hol[w->nhol++] = z;
}

static void finish(workdays *w)
{
	w->nhol = sort_unique(w->hol, w->nhol);
	w->nyears = sort_unique(w->years, w->nyears);
}

int workdays_from_dates(workdays **out, const char *const *dates, size_t n)
{
	workdays *w;
	struct ymd d;

	if (n > WORKDAYS_MAX_EVENTS)
		return careid_error_set(CAREID_ETOOBIG, "%zu dates, at most %d", n,
		                        WORKDAYS_MAX_EVENTS);
	if (n > 0 && !dates)
		return careid_error_set(CAREID_EINVALID, "no dates given");
	w = calloc(1, sizeof(*w));
	if (!w)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (workdays_date_parse(&d, dates[i]) < 0) {
			free(w);
			return careid_error_set(
			    CAREID_EINVALID,
			    "dates[%zu]: \"%.40s\" is not a date in YYYY-MM-DD form", i,
			    dates[i] ? dates[i] : "(null)");
		}
		add_date(w, d);
	}
	finish(w);
	*out = w;
	return 0;
}

static int read_file(char **out, size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int rc = 0;

	if (!f)
		return careid_error_set(CAREID_EIO, "cannot read %s: %s", path, strerror(errno));
	buf = malloc(WORKDAYS_MAX_FILE + 1);
	if (!buf) {
		fclose(f);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	n = fread(buf, 1, WORKDAYS_MAX_FILE + 1, f);
	if (ferror(f))
		rc = careid_error_set(CAREID_EIO, "cannot read %s", path);
	else if (n > WORKDAYS_MAX_FILE)
		rc = careid_error_set(CAREID_ETOOBIG, "%s: larger than %d bytes", path,
		                      WORKDAYS_MAX_FILE);
	fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int parse_events(workdays *w, const char *path, json_t *root)
{
	json_t *div = json_object_get(root, "england-and-wales");
	json_t *name, *events, *ev;
	size_t i;

	if (!json_is_object(div))
		div = root;
	if (!json_is_object(div))
		return careid_error_set(CAREID_EINVALID, "%s: expected a JSON object", path);
	name = json_object_get(div, "division");
	if (name &&
	    (!json_is_string(name) || strcmp(json_string_value(name), "england-and-wales") != 0))
		return careid_error_set(CAREID_EINVALID,
		                        "%s: \"division\" must be \"england-and-wales\"", path);
	events = json_object_get(div, "events");
	if (!json_is_array(events) || json_array_size(events) == 0)
		return careid_error_set(CAREID_EINVALID,
		                        "%s: expected a non-empty \"events\" array", path);
	if (json_array_size(events) > WORKDAYS_MAX_EVENTS)
		return careid_error_set(CAREID_ETOOBIG, "%s: %zu events, at most %d", path,
		                        json_array_size(events), WORKDAYS_MAX_EVENTS);
	json_array_foreach(events, i, ev)
	{
		const char *date = json_string_value(json_object_get(ev, "date"));
		const char *title = json_string_value(json_object_get(ev, "title"));
		struct ymd d;

		if (!title)
			title = "untitled";
		if (!date)
			return careid_error_set(CAREID_EINVALID,
			                        "%s: events[%zu] (%.60s): no \"date\" string", path,
			                        i, title);
		if (workdays_date_parse(&d, date) < 0)
			return careid_error_set(
			    CAREID_EINVALID,
			    "%s: events[%zu] (%.60s): \"%.40s\" is not a real date in "
			    "YYYY-MM-DD form",
			    path, i, title, date);
		add_date(w, d);
	}
	finish(w);
	return 0;
}

int workdays_load(workdays **out, const char *path)
{
	workdays *w = NULL;
	json_t *root = NULL;
	json_error_t jerr;
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = read_file(&text, &len, path);
	if (rc < 0)
		goto out;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		rc = careid_error_set(CAREID_EINVALID, "%s:%d:%d: not JSON: %s", path, jerr.line,
		                      jerr.column, jerr.text);
		goto out;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	rc = parse_events(w, path, root);
	if (rc < 0)
		goto out;
	*out = w;
	w = NULL;
out:
	free(w);
	json_decref(root);
	free(text);
	return rc;
}

void workdays_free(workdays *w)
{
	free(w);
}

static bool is_holiday(const workdays *w, int32_t z)
{
	return w && bsearch(&z, w->hol, w->nhol, sizeof(z), cmp_i32);
}

static bool working(const workdays *w, int64_t z)
{
	return weekday_of(z) <= 5 && !is_holiday(w, (int32_t)z);
}

bool workdays_is_working(const workdays *w, struct ymd d)
{
	return workdays_date_valid(d) && working(w, day_number(d));
}

struct ymd workdays_add(const workdays *w, struct ymd start, int n)
{
	int64_t z;
	int step = n < 0 ? -1 : 1;
	int left = n < 0 ? (n < -WORKDAYS_MAX_N ? WORKDAYS_MAX_N : -n)
	                 : (n > WORKDAYS_MAX_N ? WORKDAYS_MAX_N : n);

	if (!workdays_date_valid(start))
		return start;
	z = day_number(start);
	while (left > 0 && z + step >= DAY_MIN && z + step <= DAY_MAX) {
		z += step;
		if (working(w, z))
			left--;
	}
	return from_day_number(z);
}

/* Mondays to Fridays in an arbitrary fixed origin up to and including day z:
 * differences of this give weekday counts over any interval. */
static int64_t weekdays_upto(int64_t z)
{
	int64_t q = z - 4 + 1; /* day 4, 1970-01-05, is a Monday */
	int64_t r = floor_mod(q, 7);

	return 5 * floor_div(q, 7) + (r < 5 ? r : 5);
}

/* Holidays on or before day z. */
static size_t holidays_upto(const workdays *w, int64_t z)
{
	size_t lo = 0, hi = w ? w->nhol : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->hol[mid] <= z)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int workdays_between(const workdays *w, struct ymd from, struct ymd to)
{
	int64_t a, b;

	if (!workdays_date_valid(from) || !workdays_date_valid(to))
		return 0;
	a = day_number(from);
	b = day_number(to);
	if (b < a)
		return -workdays_between(w, to, from);
	return (int)(weekdays_upto(b) - weekdays_upto(a) -
	             (int64_t)(holidays_upto(w, b) - holidays_upto(w, a)));
}

enum workdays_state workdays_state(struct ymd due, struct ymd today)
{
	int c = workdays_date_cmp(today, due);

	return c < 0 ? WORKDAYS_ON_TRACK : c == 0 ? WORKDAYS_DUE_TODAY : WORKDAYS_OVERDUE;
}

bool workdays_covers(const workdays *w, int year)
{
	int32_t y = year;

	return w && bsearch(&y, w->years, w->nyears, sizeof(y), cmp_i32);
}

bool workdays_covers_range(const workdays *w, struct ymd from, struct ymd to)
{
	int lo = from.y < to.y ? from.y : to.y, hi = from.y < to.y ? to.y : from.y;

	if (!w || !workdays_date_valid(from) || !workdays_date_valid(to))
		return false;
	for (int y = lo; y <= hi; y++)
		if (!workdays_covers(w, y))
			return false;
	return true;
}

int workdays_last_year(const workdays *w)
{
	return w && w->nyears ? w->years[w->nyears - 1] : 0;
}
