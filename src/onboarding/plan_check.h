/*
 * The journey plan's checks, as the CIS2 onboarding team would make them
 * (CIS2-PROFILE.md, "Onboarding"), and reading the plan's form. Pure: no
 * store, no clock (today is given), so every rule is unit-tested with its
 * exact message (tests/unit/onboarding/test_plan_check.c).
 *
 * A plan is the JSON object documented in onboarding_int.h ("Journey plan"),
 * plus an optional "rollout_notes" (text, at most 2,000 characters).
 *
 * Three kinds of finding:
 *   errors    the plan cannot be saved (nothing is saved): a missing or
 *             unreal date, dates out of order, no sites, a site without a
 *             name, a malformed or repeated ODS code, numbers that are not
 *             whole numbers of 0 or more, a peak hour above the day, a site
 *             outside the rollout window, no site on the first-site date.
 *             These make the plan meaningless or contradict itself.
 *   warnings  saved, but the CIS2 team would query them: less (or more) time
 *             than the published durations (review of conformance answers 5
 *             working days, testing 1 to 4 weeks, assurance 2 to 12 weeks),
 *             dates already past, no site on the last-site date, going live
 *             the day conformance is achieved, a CIS1 migration finishing
 *             after CIS1 retires. A plan may have good reasons for these.
 *   advice    drawn from the plan and the team's approved SAQ: things to
 *             plan for (national APIs only testable in INT, CIS1 migrations
 *             tested without a smartcard, smartcard-only users, volumes that
 *             differ from the SAQ, the deployment model).
 */
#ifndef CAREID_ONBOARDING_PLAN_CHECK_H
#define CAREID_ONBOARDING_PLAN_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/workdays.h"
#include "http/form.h"

#define PLAN_MAX_SITES   200
#define PLAN_NOTES_MAX   2000
#define PLAN_NAME_MAX    200
#define PLAN_USERS_MAX   2000000
#define PLAN_AUTHS_MAX   1000000
#define PLAN_FIRST_YEAR  2020
#define PLAN_LAST_YEAR   2040
#define PLAN_REVIEW_DAYS 5 /* working days to review conformance answers */

/* Site rows the page's form holds: 13 other fields + 6 per site stay under
 * the 64 fields a form may have (http/form.h); more sites through the API. */
#define PLAN_FORM_SITES 8

#define PLAN_NDATES 7

/* The plan's dates, in the order a journey passes them. */
struct plan_date_def {
	const char *id;    /* member of "dates", and the form field */
	const char *label; /* the form's label */
	const char *name;  /* for messages: "Enter the date <name>" */
	const char *event; /* for the timeline: "<Event>" happens on a date */
};
extern const struct plan_date_def plan_dates[PLAN_NDATES];

/* Index of a date id in plan_dates, or -1. */
int plan_date_index(const char *id);

/*
 * plan_form.c: reads the page's form (field names in plan.c's header) into
 * a plan, as typed: numbers that are not whole numbers, and dates that are
 * not dates, stay strings so they can be shown again with their error.
 * D/M/YYYY (typed where a browser has no date picker) becomes YYYY-MM-DD.
 * Site rows left entirely blank are dropped (that is how a site is
 * removed). *rows_out is the number of rows the form had. `*out` is new.
 */
int plan_from_form(json_t **out, const struct form *f, int *rows_out);

/*
 * Validates `input` and builds the plan to save: only known members,
 * strings trimmed, ODS codes upper-cased. `*errors_out` is a new array of
 * {"field", "id", "message"} in the page's order, one per field: "field" is
 * the member's path ("dates.testing_end", "sites[0].ods_code", "sites"),
 * "id" the form field it belongs to ("testing_end", "site_1_ods_code",
 * "sites"). When it is empty, `*plan_out` is the plan (new); otherwise
 * `*plan_out` is NULL. CAREID_ENOMEM only.
 */
int plan_validate(json_t **plan_out, json_t **errors_out, const json_t *input);

/* The team's approved SAQ answers (NULL when there is none) and the day. */
struct plan_context {
	const char *today; /* YYYY-MM-DD */
	const workdays *wd;
	const json_t *saq; /* answers of etc/onboarding/saq.json, or NULL */
};

/*
 * Warnings and advice for a valid plan (plan_validate's output). Each is
 * {"code", "message"}, warnings with "field" too; new arrays, in a fixed
 * order so that the same plan always reads the same.
 */
int plan_review(json_t **warnings_out, json_t **advice_out, const json_t *plan,
                const struct plan_context *c);

/* "2027-03-01" → "1 March 2027"; false (out "") when `iso` is not a date. */
bool plan_date_text(char out[32], const char *iso);

/* A Unix time as "1 March 2027 at 2:05pm" in England (GMT or BST). */
void plan_time_text(char out[48], int64_t t);

/* Days from 1970-01-01 to `d` (negative before), for date arithmetic. */
int64_t plan_days(struct ymd d);

/* 12345 → "12,345". */
void plan_int_text(char out[32], int64_t v);

/* A whole number as typed: "1200" or "1,200" (at most 15 digits). */
bool plan_int_parse(const char *s, long long *out);

/* A copy of `s` without leading and trailing white space (free() it); NULL
 * when out of memory. */
char *plan_trim(const char *s);

#endif
