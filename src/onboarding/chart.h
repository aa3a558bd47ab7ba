/*
 * The go-live dashboard's chart (golive.c): authentications per day in Live,
 * planned against actual, as data that the templates draw. ob_golive_chart.html
 * draws the SVG (role="img" with <title> and <desc>; bars for actual sign-ins,
 * a dashed stepped line for the plan, axes with labels, a legend that tells
 * them apart by shape as well as colour) and ob_golive_dashboard.html puts the
 * same figures in a table after it. The templates escape every text; nothing
 * here writes markup.
 *
 * Pure: no store, no clock, no locale. The caller passes today's date and the
 * sign-in instants; days are calendar dates in England, an instant's day is
 * workdays_london_date()'s. The same input always gives the same output.
 */
#ifndef CAREID_ONBOARDING_CHART_H
#define CAREID_ONBOARDING_CHART_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/workdays.h"

/* The most days a chart shows (about four months of rollout). */
#define CHART_MAX_DAYS 120

/* A planned per-site figure above this counts as this (the sums stay exact). */
#define CHART_MAX_PER_DAY 100000000

/* A rollout site of the plan, as far as the chart is concerned. */
struct chart_site {
	struct ymd planned; /* the day it is planned to go live */
	int64_t per_day;    /* authentications a day expected once it is live */
};

/*
 * Days from `from` to `to` (inclusive, n of them) with, for each, the planned
 * and the actual number of authentications. A plain value: no allocations.
 */
struct chart_days {
	struct ymd from, to;
	int n;            /* 1..CHART_MAX_DAYS */
	int span;         /* days from the start to the end before the cap (>= n) */
	bool capped;      /* span > CHART_MAX_DAYS: only n of the span's days are shown */
	int today;        /* index of today, or -1 when today is not shown */
	int first_future; /* index of the first day after today (n: none shown) */
	int64_t planned[CHART_MAX_DAYS];
	int64_t actual[CHART_MAX_DAYS];
};

/*
 * Chooses the days: from `start` to the later of `end` and `today` (`start`
 * is moved back to that day when it is later). When that span is longer than
 * CHART_MAX_DAYS, the first CHART_MAX_DAYS days are shown, or, once today is
 * beyond them, the CHART_MAX_DAYS days that end today: the days with actual
 * figures stay in view. Every count starts at zero. CAREID_EINVALID when a
 * date is not valid.
 */
int chart_days_init(struct chart_days *c, struct ymd start, struct ymd end, struct ymd today);

/*
 * The plan: on each day, the sum of `per_day` of the sites planned to be live
 * on or before it. Sites with an invalid date count for nothing; a negative
 * figure counts as 0, one over CHART_MAX_PER_DAY as that. Replaces earlier
 * planned figures.
 */
void chart_days_plan(struct chart_days *c, const struct chart_site *sites, size_t nsites);

/* Counts one sign-in at `unix_time` on its day in England. False (nothing
 * counted) when that day is not shown. */
bool chart_days_count(struct chart_days *c, int64_t unix_time);

/* The instants [*from, *to) that can fall on the days shown, in Unix time,
 * with an hour's margin for British Summer Time: a query for sign-ins uses
 * them, and chart_days_count() drops what falls outside. */
void chart_days_instants(const struct chart_days *c, int64_t *from, int64_t *to);

/* Date arithmetic (proleptic Gregorian calendar, valid dates only). */
struct ymd chart_date_add(struct ymd d, int days);
/* Days from `a` to `b`: positive when `b` is later. */
int64_t chart_date_diff(struct ymd a, struct ymd b);

/*
 * Everything the templates need, as a new JSON object (NULL when out of
 * memory). `subject` names what is charted (a product's name) and goes in
 * the chart's title; it is text, escaped by the template.
 *   title, desc         the SVG's <title> and <desc>: what the chart shows
 *                       and its main figures, in words
 *   width, height, view_box
 *   plot {left, top, right, bottom}           the plotting area
 *   bars [{x, y, w, h, date, actual}]         one per day with sign-ins
 *   planned_path        the stepped line, an SVG path ("M… H… V…")
 *   y_ticks [{y, label}], x_ticks [{x, label}], y_label_x, x_label_y,
 *   x_tick_end, x_title_x, x_title_y, y_title_x, y_title_y   label places
 *   today {x, y1, y2, label_y} (absent when today is not shown)
 *   rows [{date, label, planned, actual, future, is_today}]   the table,
 *                       one per day, numbers as text with thousands
 *                       separators ("" for actual on days after today)
 *   from, to, days, span, capped, capped_text (absent when not capped)
 *   totals {planned_to_date, actual_to_date, planned_today, actual_today}
 *                       as numbers
 */
json_t *chart_json(const struct chart_days *c, const char *subject);

/* Writes `v` with thousands separators ("12,000", "-5"). */
void chart_number(char out[32], int64_t v);

/* Writes `d` as "28 November 2026" (long) or "28 Nov" (short). */
void chart_date_words(char out[32], struct ymd d, bool long_form);

#endif
