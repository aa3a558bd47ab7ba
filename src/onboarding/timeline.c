/* The journey plan's timeline: facts, the text equivalent and the picture. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "onboarding/plan_check.h"
#include "onboarding/timeline.h"

/* Layout, in pixels of the viewBox. */
#define TL_WIDTH   960
#define TL_X0      270 /* the chart starts after the row labels */
#define TL_X1      940
#define TL_TOP     48
#define TL_ROW     30
#define TL_BAR     16
#define TL_LABEL   72 /* room for a month's label, "Sep 2027" */
#define TL_ROWS    (6 + PLAN_NDATES)
#define TL_HEIGHT  (TL_TOP + TL_ROWS * TL_ROW + 12)
#define TL_INK     "#212b32"
#define TL_GRID    "#d8dde0"
#define TL_BAND    "#f0f4f5"
#define TL_CRIT    "#d5281b"
#define TL_NOSTYLE "none"

enum { T_START, T_END, C_START, C_ANSWERS, C_ACHIEVED, FIRST_LIVE, LAST_LIVE, REVIEW_DUE };
#define NODES (PLAN_NDATES + 1)

static const char *const month_abbr[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct tl {
	const struct timeline_input *in;
	struct ymd d[NODES];
	char iso[NODES][WORKDAYS_DATE_LEN];
	char text[NODES][32];
	int64_t lo, hi; /* the axis, in days since 1970 */
	bool critical_first[NODES], critical_last[NODES];
	int path[NODES], npath; /* the critical path to the first site, in order */
	json_t *elements;
	int rc;
};

static const char *node_id(int k)
{
	return k == REVIEW_DUE ? "review_due" : plan_dates[k].id;
}

static const char *node_label(int k)
{
	return k == REVIEW_DUE ? "Review of conformance answers due" : plan_dates[k].event;
}

static void add(struct tl *t, json_t *el)
{
	if (json_array_append_new(t->elements, el))
		t->rc = CAREID_ENOMEM;
}

static int x_of(const struct tl *t, struct ymd d)
{
	return TL_X0 + (int)((plan_days(d) - t->lo) * (TL_X1 - TL_X0) / (t->hi - t->lo));
}

static int row_y(int row)
{
	return TL_TOP + row * TL_ROW;
}

static void rect(struct tl *t, int x, int y, int w, int h, const char *fill, const char *stroke,
                 int sw)
{
	add(t, json_pack("{s:{s:i, s:i, s:i, s:i, s:s, s:s, s:i}}", "svg_rect", "x", x, "y", y, "w",
	                 w, "h", h, "fill", fill, "stroke", stroke, "sw", sw));
}

static void line(struct tl *t, int x1, int y1, int x2, int y2, const char *stroke, int sw,
                 const char *dash)
{
	add(t, json_pack("{s:{s:i, s:i, s:i, s:i, s:s, s:i, s:s}}", "svg_line", "x1", x1, "y1", y1,
	                 "x2", x2, "y2", y2, "stroke", stroke, "sw", sw, "dash", dash));
}

static void text(struct tl *t, int x, int y, const char *anchor, int size, const char *s)
{
	add(t,
	    json_pack("{s:{s:i, s:i, s:s, s:i, s:s, s:s, s:s}}", "svg_text", "x", x, "y", y,
	              "anchor", anchor, "size", size, "weight", "normal", "fill", TL_INK, "s", s));
}

/* A bar from a to b in `row`, at least 3 pixels wide. */
static void bar(struct tl *t, int row, struct ymd a, struct ymd b, const char *fill, bool critical)
{
	int x = x_of(t, a), w = x_of(t, b) - x;

	rect(t, x, row_y(row) + (TL_ROW - TL_BAR) / 2, w < 3 ? 3 : w, TL_BAR, fill,
	     critical ? TL_CRIT : TL_INK, critical ? 3 : 1);
}

/* The axis: the first of the month before the first date to the first of
 * the month after the last one. */
static void axis_range(struct tl *t, const json_t *sites)
{
	struct ymd lo = t->d[0], hi = t->d[0], sd;
	const json_t *s;
	size_t i;

	for (int k = 0; k < NODES; k++) {
		if (workdays_date_cmp(t->d[k], lo) < 0)
			lo = t->d[k];
		if (workdays_date_cmp(t->d[k], hi) > 0)
			hi = t->d[k];
	}
	json_array_foreach(sites, i, s)
	{
		if (workdays_date_parse(&sd, json_string_value(json_object_get(s, "planned_date"))))
			continue;
		if (workdays_date_cmp(sd, lo) < 0)
			lo = sd;
		if (workdays_date_cmp(sd, hi) > 0)
			hi = sd;
	}
	lo.d = 1;
	hi = (struct ymd){hi.m == 12 ? hi.y + 1 : hi.y, hi.m == 12 ? 1 : hi.m + 1, 1};
	t->lo = plan_days(lo);
	t->hi = plan_days(hi);
}

static void grid(struct tl *t)
{
	static const int steps[] = {1, 2, 3, 6, 12, 24, 60, 120};
	struct ymd lo, m;
	int64_t day = t->lo;
	int months = 0, step = 1;
	char label[16];

	for (m = (struct ymd){1970, 1, 1}; day > plan_days(m);) /* the axis starts on a 1st */
		m = (struct ymd){m.m == 12 ? m.y + 1 : m.y, m.m == 12 ? 1 : m.m + 1, 1};
	lo = m;
	for (m = lo; plan_days(m) < t->hi; months++)
		m = (struct ymd){m.m == 12 ? m.y + 1 : m.y, m.m == 12 ? 1 : m.m + 1, 1};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		step = steps[i];
		if (months / step <= (TL_X1 - TL_X0) / TL_LABEL)
			break;
	}
	for (int k = 0; k < TL_ROWS; k += 2)
		rect(t, 0, row_y(k), TL_WIDTH, TL_ROW, TL_BAND, TL_NOSTYLE, 0);
	m = lo;
	for (int i = 0; plan_days(m) <= t->hi; i++) {
		if (i % step == 0) {
			int x = x_of(t, m);

			line(t, x, TL_TOP - 28, x, row_y(TL_ROWS), TL_GRID, 1, "");
			snprintf(label, sizeof(label), "%s %04d", month_abbr[m.m - 1], m.y);
			if (x + TL_LABEL <= TL_WIDTH)
				text(t, x + 3, 16, "start", 12, label);
		}
		m = (struct ymd){m.m == 12 ? m.y + 1 : m.y, m.m == 12 ? 1 : m.m + 1, 1};
	}
}

/* The review's due date, and which dates lie on the critical paths: back
 * from the first site, through whichever of testing and the review of the
 * conformance answers ends later (the review on a tie). */
static void critical(struct tl *t)
{
	int back[NODES], n = 0;

	back[n++] = FIRST_LIVE;
	back[n++] = C_ACHIEVED;
	if (workdays_date_cmp(t->d[REVIEW_DUE], t->d[T_END]) >= 0) {
		back[n++] = REVIEW_DUE;
		back[n++] = C_ANSWERS;
		back[n++] = C_START;
	} else {
		back[n++] = T_END;
	}
	back[n++] = T_START;
	t->npath = n;
	for (int i = 0; i < n; i++) {
		t->path[i] = back[n - 1 - i];
		t->critical_first[back[i]] = t->critical_last[back[i]] = true;
	}
	t->critical_last[LAST_LIVE] = true;
}

static void windows_picture(struct tl *t, const json_t *sites)
{
	const json_t *s;
	size_t i;
	struct ymd sd;

	text(t, 8, row_y(0) + 20, "start", 14, "Testing in INT");
	bar(t, 0, t->d[T_START], t->d[T_END], "#005eb8", t->critical_first[T_END]);
	text(t, 8, row_y(1) + 20, "start", 14, "Assurance");
	bar(t, 1, t->d[C_START], t->d[C_ACHIEVED], "#330072", t->critical_first[C_START]);
	text(t, 8, row_y(2) + 20, "start", 14, "Review of answers (5 working days)");
	bar(t, 2, t->d[C_ANSWERS], t->d[REVIEW_DUE], "#ffb81c", t->critical_first[REVIEW_DUE]);
	text(t, 8, row_y(3) + 20, "start", 14, "Rollout to sites");
	bar(t, 3, t->d[FIRST_LIVE], t->d[LAST_LIVE], "#007f3b", true);
	json_array_foreach(sites, i, s)
	{
		int x;

		if (workdays_date_parse(&sd, json_string_value(json_object_get(s, "planned_date"))))
			continue;
		x = x_of(t, sd);
		line(t, x, row_y(3) + 2, x, row_y(3) + TL_ROW - 2, TL_INK, 2, "");
	}
}

/* A critical path as one red bar, with a white break at each step. */
static void path_picture(struct tl *t, int row, const char *label, bool to_last)
{
	struct ymd end = to_last ? t->d[LAST_LIVE] : t->d[FIRST_LIVE];

	text(t, 8, row_y(row) + 20, "start", 14, label);
	rect(t, x_of(t, t->d[T_START]), row_y(row) + (TL_ROW - TL_BAR) / 2,
	     x_of(t, end) - x_of(t, t->d[T_START]) < 3 ? 3 : x_of(t, end) - x_of(t, t->d[T_START]),
	     TL_BAR, TL_CRIT, TL_NOSTYLE, 0);
	for (int i = 1; i < t->npath + (to_last ? 1 : 0); i++) {
		int k = i < t->npath ? t->path[i] : FIRST_LIVE, x = x_of(t, t->d[k]);

		line(t, x, row_y(row) + (TL_ROW - TL_BAR) / 2, x,
		     row_y(row) + (TL_ROW + TL_BAR) / 2, "#ffffff", 2, "");
	}
}

static void milestones_picture(struct tl *t)
{
	char points[96];

	for (int k = 0; k < PLAN_NDATES; k++) {
		int row = 6 + k, x = x_of(t, t->d[k]), y = row_y(row) + TL_ROW / 2;
		bool crit = t->critical_last[k];

		text(t, 8, row_y(row) + 20, "start", 14, plan_dates[k].event);
		snprintf(points, sizeof(points), "%d,%d %d,%d %d,%d %d,%d", x, y - 8, x + 8, y, x,
		         y + 8, x - 8, y);
		add(t, json_pack("{s:{s:s, s:s, s:s}}", "svg_poly", "points", points, "fill",
		                 crit ? TL_CRIT : TL_INK, "stroke", TL_INK));
	}
}

/* A dashed line for today, when it falls on the axis; whether it does. */
static bool today_line(struct tl *t)
{
	struct ymd today;
	int x;

	if (!t->in->today || workdays_date_parse(&today, t->in->today) ||
	    plan_days(today) < t->lo || plan_days(today) > t->hi)
		return false;
	x = x_of(t, today);
	line(t, x, TL_TOP - 12, x, row_y(TL_ROWS), TL_INK, 2, "6 4");
	text(t, x + 4, TL_TOP - 4, "start", 12, "Today");
	return true;
}

/* --- facts --------------------------------------------------------------- */

static const char *planned(const json_t *site)
{
	const char *d = json_string_value(json_object_get(site, "planned_date"));

	return d ? d : "";
}

/* Working days from a to b, both counted (as plan_check's durations). */
static int span(const struct tl *t, int a, int b)
{
	return workdays_between(t->in->wd, t->d[a], t->d[b]) +
	       (workdays_is_working(t->in->wd, t->d[a]) ? 1 : 0);
}

static json_t *dated(const struct tl *t, int k)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "id", node_id(k), "label", node_label(k), "date",
	                 t->iso[k], "date_text", t->text[k]);
}

static json_t *window(const struct tl *t, const char *id, const char *label, int a, int b)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "id", id, "label", label, "from",
	                 t->iso[a], "to", t->iso[b], "from_text", t->text[a], "to_text", t->text[b],
	                 "working_days", b == REVIEW_DUE ? PLAN_REVIEW_DAYS : span(t, a, b));
}

/* The sites by date; sites on the same day keep the plan's order. */
static json_t *sites_by_date(const json_t *sites)
{
	size_t n = json_array_size(sites);
	size_t *order = calloc(n ? n : 1, sizeof(*order));
	json_t *out = json_array();

	if (!out || !order) {
		free(order);
		json_decref(out);
		return NULL;
	}
	/* insertion sort (stable; n ≤ PLAN_MAX_SITES) on the ISO dates */
	for (size_t i = 0; i < n; i++) {
		const char *d = planned(json_array_get(sites, i));
		size_t j = i;

		for (; j > 0 && strcmp(planned(json_array_get(sites, order[j - 1])), d) > 0; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *s = json_array_get(sites, order[i]);
		char words[32];

		plan_date_text(words, planned(s));
		json_array_append_new(out, json_pack("{s:O, s:O, s:s, s:s}", "name",
		                                     json_object_get(s, "name"), "ods_code",
		                                     json_object_get(s, "ods_code"), "date",
		                                     planned(s), "date_text", words));
	}
	free(order);
	return out;
}

static json_t *path_json(const struct tl *t, bool to_last)
{
	json_t *steps = json_array();
	struct buf b;
	int end = to_last ? LAST_LIVE : FIRST_LIVE, rc = 0;
	json_t *out;

	buf_init(&b, 2048);
	for (int i = 0; i < t->npath + (to_last ? 1 : 0); i++) {
		int k = i < t->npath ? t->path[i] : LAST_LIVE;

		json_array_append_new(steps, dated(t, k));
		if (!rc)
			rc = buf_printf(&b, "%s%s (%s)", i ? ", then " : "", node_label(k),
			                t->text[k]);
	}
	out = json_pack("{s:o, s:i, s:s}", "steps", steps, "working_days", span(t, T_START, end),
	                "text", b.ptr);
	buf_release(&b);
	return rc ? (json_decref(out), NULL) : out;
}

static json_t *facts(const struct tl *t, json_t *sites)
{
	json_t *milestones = json_array(), *windows = json_array();

	for (int k = 0; k < PLAN_NDATES; k++)
		json_array_append_new(milestones, dated(t, k));
	json_array_append_new(windows, window(t, "testing", "Testing in INT", T_START, T_END));
	json_array_append_new(windows, window(t, "assurance", "Assurance", C_START, C_ACHIEVED));
	json_array_append_new(windows,
	                      window(t, "review", "Review of conformance answers (5 working days)",
	                             C_ANSWERS, REVIEW_DUE));
	json_array_append_new(windows, window(t, "rollout", "Rollout", FIRST_LIVE, LAST_LIVE));
	return json_pack("{s:o, s:o, s:O, s:{s:o, s:o}, s:s}", "milestones", milestones, "windows",
	                 windows, "sites", sites, "critical_path", "first_site",
	                 path_json(t, false), "last_site", path_json(t, true), "review_due",
	                 t->iso[REVIEW_DUE]);
}

/* Rank of an event on its day: journey order, sites just after the first
 * site's milestone. */
struct event {
	const char *date;
	int rank;
	json_t *json;
};

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	int c = strcmp(x->date, y->date);

	return c ? c : x->rank - y->rank;
}

static json_t *events(const struct tl *t, const json_t *sites)
{
	size_t n = 0, cap = NODES + json_array_size(sites);
	struct event *ev = calloc(cap, sizeof(*ev));
	json_t *out = json_array(), *s;
	static const int rank[NODES] = {0, 1, 2, 3, 5, 6, 1000, 4};
	size_t i;

	if (!ev || !out) {
		free(ev);
		json_decref(out);
		return NULL;
	}
	for (int k = 0; k < NODES; k++)
		ev[n++] = (struct event){t->iso[k], rank[k],
		                         json_pack("{s:s, s:s, s:s, s:b}", "date", t->iso[k],
		                                   "date_text", t->text[k], "text", node_label(k),
		                                   "critical", t->critical_last[k])};
	json_array_foreach(sites, i, s)
	{
		const char *d = json_string_value(json_object_get(s, "date"));
		/* whole: a name cut to a buffer could end inside a character */
		json_t *what = json_sprintf("Site goes live: %s (%s)",
		                            json_string_value(json_object_get(s, "name")),
		                            json_string_value(json_object_get(s, "ods_code")));

		ev[n++] = (struct event){d, 7 + (int)i,
		                         json_pack("{s:s, s:O, s:o, s:b}", "date", d, "date_text",
		                                   json_object_get(s, "date_text"), "text", what,
		                                   "critical", false)};
	}
	qsort(ev, n, sizeof(*ev), event_cmp);
	for (i = 0; i < n; i++)
		json_array_append_new(out, ev[i].json);
	free(ev);
	return out;
}

int timeline_build(json_t **out, const struct timeline_input *in)
{
	struct tl t = {.in = in};
	const json_t *dates = json_object_get(in->plan, "dates");
	const json_t *sites = json_object_get(in->plan, "sites");
	json_t *sorted = NULL, *svg = NULL;
	char desc[512];
	bool has_today;

	*out = NULL;
	for (int k = 0; k < PLAN_NDATES; k++) {
		const char *iso = json_string_value(json_object_get(dates, plan_dates[k].id));

		if (workdays_date_parse(&t.d[k], iso))
			return careid_error_set(CAREID_EINVALID, "timeline: the plan is not valid");
	}
	t.d[REVIEW_DUE] = workdays_add(in->wd, t.d[C_ANSWERS], PLAN_REVIEW_DAYS);
	for (int k = 0; k < NODES; k++) {
		workdays_date_format(t.iso[k], t.d[k]);
		plan_date_text(t.text[k], t.iso[k]);
	}
	critical(&t);
	axis_range(&t, sites);
	t.elements = json_array();
	sorted = sites_by_date(sites);
	if (!t.elements || !sorted) {
		t.rc = CAREID_ENOMEM;
		goto out;
	}
	grid(&t);
	windows_picture(&t, sites);
	path_picture(&t, 4, "Critical path to the first site", false);
	path_picture(&t, 5, "Critical path to the last site", true);
	milestones_picture(&t);
	has_today = today_line(&t);
	snprintf(
	    desc, sizeof(desc),
	    "Testing in INT from %s to %s; assurance from %s to %s; first site live on %s and "
	    "last site live on %s, %zu site%s in all. The table that follows lists every date.",
	    t.text[T_START], t.text[T_END], t.text[C_START], t.text[C_ACHIEVED], t.text[FIRST_LIVE],
	    t.text[LAST_LIVE], json_array_size(sites), json_array_size(sites) == 1 ? "" : "s");
	svg = json_pack("{s:i, s:i, s:s, s:s, s:b, s:O}", "width", TL_WIDTH, "height", TL_HEIGHT,
	                "title", in->title ? in->title : "Timeline of the journey plan", "desc",
	                desc, "has_today", has_today, "elements", t.elements);
	if (!t.rc && svg)
		*out = json_pack("{s:o, s:o, s:o}", "facts", facts(&t, sorted), "events",
		                 events(&t, sorted), "svg", svg);
	else
		json_decref(svg);
	if (!t.rc && !*out)
		t.rc = CAREID_ENOMEM;
out:
	json_decref(sorted);
	json_decref(t.elements);
	return t.rc;
}

/* --- the standalone SVG -------------------------------------------------- */

/* XML text and attribute values: & < > " ' escaped. */
static int xml_escape(struct buf *b, const char *s)
{
	int rc = 0;

	for (; s && *s && !rc; s++) {
		switch (*s) {
		case '&':
			rc = buf_puts(b, "&amp;");
			break;
		case '<':
			rc = buf_puts(b, "&lt;");
			break;
		case '>':
			rc = buf_puts(b, "&gt;");
			break;
		case '"':
			rc = buf_puts(b, "&quot;");
			break;
		case '\'':
			rc = buf_puts(b, "&#39;");
			break;
		default:
			rc = buf_putc(b, *s);
		}
	}
	return rc;
}

static int attr_i(struct buf *b, const char *name, const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		return careid_error_set(CAREID_EINVALID, "timeline: %s is not a number", key);
	return buf_printf(b, " %s=\"%" JSON_INTEGER_FORMAT "\"", name, json_integer_value(v));
}

static int attr_s(struct buf *b, const char *name, const json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	int rc;

	if (!v)
		return careid_error_set(CAREID_EINVALID, "timeline: %s is not text", key);
	rc = buf_printf(b, " %s=\"", name);
	if (!rc)
		rc = xml_escape(b, v);
	return rc ? rc : buf_putc(b, '"');
}

static int element(struct buf *b, const json_t *el)
{
	const json_t *o;
	int rc;

	if ((o = json_object_get(el, "svg_rect"))) {
		rc = buf_puts(b, "<rect");
		rc = rc ? rc : attr_i(b, "x", o, "x");
		rc = rc ? rc : attr_i(b, "y", o, "y");
		rc = rc ? rc : attr_i(b, "width", o, "w");
		rc = rc ? rc : attr_i(b, "height", o, "h");
		rc = rc ? rc : attr_s(b, "fill", o, "fill");
		rc = rc ? rc : attr_s(b, "stroke", o, "stroke");
		rc = rc ? rc : attr_i(b, "stroke-width", o, "sw");
		return rc ? rc : buf_puts(b, "/>\n");
	}
	if ((o = json_object_get(el, "svg_line"))) {
		rc = buf_puts(b, "<line");
		rc = rc ? rc : attr_i(b, "x1", o, "x1");
		rc = rc ? rc : attr_i(b, "y1", o, "y1");
		rc = rc ? rc : attr_i(b, "x2", o, "x2");
		rc = rc ? rc : attr_i(b, "y2", o, "y2");
		rc = rc ? rc : attr_s(b, "stroke", o, "stroke");
		rc = rc ? rc : attr_i(b, "stroke-width", o, "sw");
		if (!rc && json_string_length(json_object_get(o, "dash")))
			rc = attr_s(b, "stroke-dasharray", o, "dash");
		return rc ? rc : buf_puts(b, "/>\n");
	}
	if ((o = json_object_get(el, "svg_text"))) {
		rc = buf_puts(b, "<text");
		rc = rc ? rc : attr_i(b, "x", o, "x");
		rc = rc ? rc : attr_i(b, "y", o, "y");
		rc = rc ? rc : attr_s(b, "text-anchor", o, "anchor");
		rc = rc ? rc : attr_i(b, "font-size", o, "size");
		rc = rc ? rc : attr_s(b, "font-weight", o, "weight");
		rc = rc ? rc : attr_s(b, "fill", o, "fill");
		rc = rc ? rc : buf_putc(b, '>');
		rc = rc ? rc : xml_escape(b, json_string_value(json_object_get(o, "s")));
		return rc ? rc : buf_puts(b, "</text>\n");
	}
	if ((o = json_object_get(el, "svg_poly"))) {
		rc = buf_puts(b, "<polygon");
		rc = rc ? rc : attr_s(b, "points", o, "points");
		rc = rc ? rc : attr_s(b, "fill", o, "fill");
		rc = rc ? rc : attr_s(b, "stroke", o, "stroke");
		return rc ? rc : buf_puts(b, "/>\n");
	}
	return careid_error_set(CAREID_EINVALID, "timeline: unknown element");
}

int timeline_svg(struct buf *b, const json_t *svg)
{
	const json_t *els = json_object_get(svg, "elements"), *el;
	json_int_t w = json_integer_value(json_object_get(svg, "width"));
	json_int_t h = json_integer_value(json_object_get(svg, "height"));
	size_t i;
	int rc;

	if (!json_is_array(els) || w <= 0 || h <= 0)
		return careid_error_set(CAREID_EINVALID, "timeline: not a timeline picture");
	rc = buf_printf(
	    b,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %" JSON_INTEGER_FORMAT
	    " %" JSON_INTEGER_FORMAT "\" width=\"%" JSON_INTEGER_FORMAT
	    "\" height=\"%" JSON_INTEGER_FORMAT
	    "\" role=\"img\" aria-labelledby=\"timeline-title timeline-desc\" "
	    "font-family=\"Arial, sans-serif\">\n<title id=\"timeline-title\">",
	    w, h, w, h);
	rc = rc ? rc : xml_escape(b, json_string_value(json_object_get(svg, "title")));
	rc = rc ? rc : buf_puts(b, "</title>\n<desc id=\"timeline-desc\">");
	rc = rc ? rc : xml_escape(b, json_string_value(json_object_get(svg, "desc")));
	rc = rc ? rc : buf_puts(b, "</desc>\n");
	json_array_foreach(els, i, el)
	{
		if (!rc)
			rc = element(b, el);
	}
	return rc ? rc : buf_puts(b, "</svg>\n");
}
