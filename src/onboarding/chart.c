/* The planned-against-actual chart's figures and geometry (chart.h). Every
 * coordinate is an integer computed with integer arithmetic: the same input
 * gives the same SVG on every machine. */
#include "onboarding/chart.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"

/* The drawing, in SVG user units (the SVG scales to its container). */
#define PLOT_LEFT   72
#define PLOT_RIGHT  16
#define PLOT_TOP    32
#define PLOT_HEIGHT 240
#define PLOT_BELOW  60
#define PLOT_WIDTH  600 /* at most; a whole number of units per day */
#define BAR_MAX     40
#define X_LABELS    8 /* at most this many dates under the axis */

static const char *const month_names[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};

/* Days since 1970-01-01 (Howard Hinnant's days_from_civil). */
static int64_t day_number(struct ymd d)
{
	int64_t y = d.y - (d.m <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * ((d.m + 9) % 12) + 2) / 5 + d.d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static struct ymd from_day_number(int64_t z)
{
	int64_t era, doe, yoe, doy, mp, y;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return (struct ymd){(int)(y + (mp >= 10)), (int)(mp < 10 ? mp + 3 : mp - 9),
	                    (int)(doy - (153 * mp + 2) / 5 + 1)};
}

struct ymd chart_date_add(struct ymd d, int days)
{
	struct ymd out;

	if (!workdays_date_valid(d))
		return d;
	out = from_day_number(day_number(d) + days);
	return workdays_date_valid(out) ? out : d;
}

int64_t chart_date_diff(struct ymd a, struct ymd b)
{
	return day_number(b) - day_number(a);
}

int chart_days_init(struct chart_days *c, struct ymd start, struct ymd end, struct ymd today)
{
	struct ymd to;
	int64_t span;

	memset(c, 0, sizeof(*c));
	c->today = -1;
	if (!workdays_date_valid(start) || !workdays_date_valid(end) || !workdays_date_valid(today))
		return careid_error_set(CAREID_EINVALID, "the chart needs valid dates");
	to = workdays_date_cmp(end, today) > 0 ? end : today;
	if (workdays_date_cmp(start, to) > 0)
		start = to;
	span = chart_date_diff(start, to) + 1;
	c->span = (int)span;
	c->from = start;
	c->to = to;
	if (span > CHART_MAX_DAYS) {
		struct ymd last = chart_date_add(start, CHART_MAX_DAYS - 1);

		c->capped = true;
		if (workdays_date_cmp(today, last) > 0) {
			c->to = today;
			c->from = chart_date_add(today, -(CHART_MAX_DAYS - 1));
		} else {
			c->to = last;
		}
		span = CHART_MAX_DAYS;
	}
	c->n = (int)span;
	span = chart_date_diff(c->from, today);
	if (span >= 0 && span < c->n)
		c->today = (int)span;
	c->first_future = span < 0 ? 0 : span >= c->n ? c->n : (int)span + 1;
	return 0;
}

void chart_days_plan(struct chart_days *c, const struct chart_site *sites, size_t nsites)
{
	int64_t first = day_number(c->from);

	memset(c->planned, 0, sizeof(c->planned));
	for (size_t i = 0; i < nsites; i++) {
		int64_t per_day = sites[i].per_day, k;

		if (!workdays_date_valid(sites[i].planned) || per_day <= 0)
			continue;
		if (per_day > CHART_MAX_PER_DAY)
			per_day = CHART_MAX_PER_DAY;
		k = day_number(sites[i].planned) - first;
		for (int64_t d = k < 0 ? 0 : k; d < c->n; d++)
			c->planned[d] += per_day;
	}
}

bool chart_days_count(struct chart_days *c, int64_t unix_time)
{
	struct ymd day;
	int64_t i;

	if (workdays_london_date(&day, unix_time))
		return false;
	i = chart_date_diff(c->from, day);
	if (i < 0 || i >= c->n)
		return false;
	c->actual[i]++;
	return true;
}

void chart_days_instants(const struct chart_days *c, int64_t *from, int64_t *to)
{
	/* Midnight in London is midnight UTC, or an hour before it in summer. */
	*from = day_number(c->from) * 86400 - 3600;
	*to = (day_number(c->to) + 1) * 86400;
}

void chart_number(char out[32], int64_t v)
{
	char digits[24];
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	int n, o = 0;

	n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)u);
	if (v < 0)
		out[o++] = '-';
	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

void chart_date_words(char out[32], struct ymd d, bool long_form)
{
	if (!workdays_date_valid(d)) {
		snprintf(out, 32, "?");
		return;
	}
	if (long_form)
		snprintf(out, 32, "%d %s %04d", d.d, month_names[d.m - 1], d.y);
	else
		snprintf(out, 32, "%d %.3s", d.d, month_names[d.m - 1]);
}

/* The top of the y axis and its step: 1, 2 or 5 times a power of ten, so
 * that about four steps cover the largest figure. */
static void y_scale(int64_t max, int64_t *top, int64_t *step)
{
	int64_t raw = (max + 3) / 4, p = 1;

	*step = 1;
	for (;;) {
		if (p >= raw) {
			*step = p;
			break;
		}
		if (2 * p >= raw) {
			*step = 2 * p;
			break;
		}
		if (5 * p >= raw) {
			*step = 5 * p;
			break;
		}
		p *= 10;
	}
	*top = max <= 0 ? 4 * *step : (max + *step - 1) / *step * *step;
}

struct geometry {
	int dw;     /* units per day */
	int width;  /* of the whole drawing */
	int height; /* of the whole drawing */
	int base;   /* y of the x axis */
	int64_t top;
	int64_t step;
};

static int y_of(const struct geometry *g, int64_t v)
{
	return g->base - (int)((v * PLOT_HEIGHT + g->top / 2) / g->top);
}

static bool put(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0;
}

static bool put_int(json_t *o, const char *key, int64_t v)
{
	return put(o, key, json_integer((json_int_t)v));
}

static json_t *bars_json(const struct chart_days *c, const struct geometry *g)
{
	json_t *bars = json_array();
	int w = g->dw * 3 / 5;

	if (w < 1)
		w = 1;
	if (w > BAR_MAX)
		w = BAR_MAX;
	for (int i = 0; bars && i < c->n; i++) {
		char date[WORKDAYS_DATE_LEN];
		int y;

		if (!c->actual[i])
			continue;
		y = y_of(g, c->actual[i]);
		workdays_date_format(date, chart_date_add(c->from, i));
		if (json_array_append_new(bars,
		                          json_pack("{s:i, s:i, s:i, s:i, s:s, s:I}", "x",
		                                    PLOT_LEFT + i * g->dw + (g->dw - w) / 2, "y", y,
		                                    "w", w, "h", g->base - y, "date", date,
		                                    "actual", (json_int_t)c->actual[i]))) {
			json_decref(bars);
			return NULL;
		}
	}
	return bars;
}

/* The plan as a step: level across each day, vertical at day boundaries. */
static json_t *planned_path(const struct chart_days *c, const struct geometry *g)
{
	struct buf b;
	json_t *out = NULL;
	int rc;

	buf_init(&b, 16 * 1024);
	rc = buf_printf(&b, "M%d %d H%d", PLOT_LEFT, y_of(g, c->planned[0]), PLOT_LEFT + g->dw);
	for (int i = 1; !rc && i < c->n; i++)
		rc =
		    buf_printf(&b, " V%d H%d", y_of(g, c->planned[i]), PLOT_LEFT + (i + 1) * g->dw);
	if (!rc)
		out = json_string(b.ptr);
	buf_release(&b);
	return out;
}

static json_t *y_ticks_json(const struct geometry *g)
{
	json_t *ticks = json_array();

	for (int64_t v = 0; ticks && v <= g->top; v += g->step) {
		char label[32];

		chart_number(label, v);
		if (json_array_append_new(
		        ticks, json_pack("{s:i, s:s}", "y", y_of(g, v), "label", label))) {
			json_decref(ticks);
			return NULL;
		}
	}
	return ticks;
}

static json_t *x_ticks_json(const struct chart_days *c, const struct geometry *g)
{
	int every = (c->n + X_LABELS - 1) / X_LABELS;
	json_t *ticks = json_array();

	for (int i = 0; ticks && i < c->n; i += every) {
		char label[32];

		chart_date_words(label, chart_date_add(c->from, i), false);
		if (json_array_append_new(ticks, json_pack("{s:i, s:s}", "x",
		                                           PLOT_LEFT + i * g->dw + g->dw / 2,
		                                           "label", label))) {
			json_decref(ticks);
			return NULL;
		}
	}
	return ticks;
}

static json_t *rows_json(const struct chart_days *c)
{
	json_t *rows = json_array();

	for (int i = 0; rows && i < c->n; i++) {
		struct ymd d = chart_date_add(c->from, i);
		char date[WORKDAYS_DATE_LEN], label[32], planned[32], actual[32];
		bool future = i >= c->first_future;

		workdays_date_format(date, d);
		chart_date_words(label, d, true);
		chart_number(planned, c->planned[i]);
		chart_number(actual, c->actual[i]);
		if (json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "date",
		                                          date, "label", label, "planned", planned,
		                                          "actual", future ? "" : actual, "future",
		                                          future, "is_today", i == c->today))) {
			json_decref(rows);
			return NULL;
		}
	}
	return rows;
}

/* The figures in words, for the SVG's <desc> (the table has every day). */
static json_t *desc_json(const struct chart_days *c, const char *subject, int64_t planned_to_date,
                         int64_t actual_to_date)
{
	char from[32], to[32], a[32], p[32], at[32], pt[32];
	struct buf b;
	json_t *out = NULL;
	int rc;

	chart_date_words(from, c->from, true);
	chart_date_words(to, c->to, true);
	chart_number(a, actual_to_date);
	chart_number(p, planned_to_date);
	buf_init(&b, 4096);
	rc = buf_printf(&b, "Authentications per day in Live for %s, from %s to %s (%d day%s).",
	                subject, from, to, c->n, c->n == 1 ? "" : "s");
	if (!rc && c->capped)
		rc = buf_printf(&b, " Only %d of the rollout's %d days are shown.", c->n, c->span);
	if (!rc && c->first_future == 0)
		rc = buf_puts(&b, " None of these days has come yet.");
	else if (!rc)
		rc = buf_printf(&b, " Up to today: %s actual sign-in%s against %s planned.", a,
		                actual_to_date == 1 ? "" : "s", p);
	if (!rc && c->today >= 0) {
		chart_number(at, c->actual[c->today]);
		chart_number(pt, c->planned[c->today]);
		rc = buf_printf(&b, " Today: %s actual against %s planned.", at, pt);
	}
	if (!rc)
		rc = buf_puts(&b, " Bars show the actual sign-ins of each day; the dashed stepped "
		                  "line shows the plan. The table after the chart gives each day's "
		                  "figures.");
	if (!rc)
		out = json_string(b.ptr);
	buf_release(&b);
	return out;
}

json_t *chart_json(const struct chart_days *c, const char *subject)
{
	struct geometry g = {0};
	int64_t max = 0, planned_to_date = 0, actual_to_date = 0;
	char from[WORKDAYS_DATE_LEN], to[WORKDAYS_DATE_LEN];
	json_t *o = json_object(), *plot;
	bool ok;

	if (!o || c->n < 1 || c->n > CHART_MAX_DAYS) {
		json_decref(o);
		return NULL;
	}
	for (int i = 0; i < c->n; i++) {
		if (c->planned[i] > max)
			max = c->planned[i];
		if (c->actual[i] > max)
			max = c->actual[i];
		if (i < c->first_future) {
			planned_to_date += c->planned[i];
			actual_to_date += c->actual[i];
		}
	}
	g.dw = PLOT_WIDTH / c->n;
	g.width = PLOT_LEFT + g.dw * c->n + PLOT_RIGHT;
	g.height = PLOT_TOP + PLOT_HEIGHT + PLOT_BELOW;
	g.base = PLOT_TOP + PLOT_HEIGHT;
	y_scale(max, &g.top, &g.step);
	workdays_date_format(from, c->from);
	workdays_date_format(to, c->to);
	plot = json_pack("{s:i, s:i, s:i, s:i}", "left", PLOT_LEFT, "top", PLOT_TOP, "right",
	                 PLOT_LEFT + g.dw * c->n, "bottom", g.base);
	ok = put(o, "title",
	         json_sprintf("Authentications per day in Live: %s, planned and actual", subject));
	ok = ok && put(o, "desc", desc_json(c, subject, planned_to_date, actual_to_date));
	ok = ok && put_int(o, "width", g.width) && put_int(o, "height", g.height);
	ok = ok && put(o, "view_box", json_sprintf("0 0 %d %d", g.width, g.height));
	if (ok) {
		ok = put(o, "plot", plot);
		plot = NULL;
	}
	ok = ok && put(o, "bars", bars_json(c, &g));
	ok = ok && put(o, "planned_path", planned_path(c, &g));
	ok = ok && put(o, "y_ticks", y_ticks_json(&g)) && put(o, "x_ticks", x_ticks_json(c, &g));
	ok = ok && put_int(o, "x_label_y", g.base + 20) && put_int(o, "x_tick_end", g.base + 5);
	ok = ok && put_int(o, "x_title_x", PLOT_LEFT + g.dw * c->n / 2) &&
	     put_int(o, "x_title_y", g.height - 10);
	ok = ok && put_int(o, "y_title_x", -(PLOT_TOP + PLOT_HEIGHT / 2)) &&
	     put_int(o, "y_title_y", 18) && put_int(o, "y_label_x", PLOT_LEFT - 8);
	if (ok && c->today >= 0)
		ok = put(o, "today",
		         json_pack("{s:i, s:i, s:i, s:i}", "x",
		                   PLOT_LEFT + c->today * g.dw + g.dw / 2, "y1", PLOT_TOP - 6, "y2",
		                   g.base, "label_y", PLOT_TOP - 12));
	ok = ok && put(o, "rows", rows_json(c));
	ok = ok && put(o, "from", json_string(from)) && put(o, "to", json_string(to));
	ok = ok && put_int(o, "days", c->n) && put_int(o, "span", c->span);
	ok = ok && put(o, "capped", json_boolean(c->capped));
	if (ok && c->capped) {
		char f[32], t[32];

		chart_date_words(f, c->from, true);
		chart_date_words(t, c->to, true);
		ok = put(o, "capped_text",
		         json_sprintf("The rollout spans %d days; the chart shows at most %d, "
		                      "from %s to %s.",
		                      c->span, CHART_MAX_DAYS, f, t));
	}
	ok = ok &&
	     put(o, "totals",
	         json_pack("{s:I, s:I, s:I, s:I}", "planned_to_date", (json_int_t)planned_to_date,
	                   "actual_to_date", (json_int_t)actual_to_date, "planned_today",
	                   (json_int_t)(c->today >= 0 ? c->planned[c->today] : 0), "actual_today",
	                   (json_int_t)(c->today >= 0 ? c->actual[c->today] : 0)));
	json_decref(plot);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
