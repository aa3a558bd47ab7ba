/*
 * Working days in England, for the onboarding review SLA ("reviewed within 5
 * working days"): every day except Saturdays, Sundays and the England and
 * Wales bank holidays.
 *
 * Bank holidays are data, not code: the operator keeps
 * etc/bank-holidays-england-and-wales.json up to date (same shape as the
 * "england-and-wales" division of https://www.gov.uk/bank-holidays.json) and
 * careid reads it at start with workdays_load(). Dates are calendar dates in
 * England; an instant (careid's clock is UTC) becomes one with
 * workdays_london_date().
 *
 * Beyond the data. The calendar knows nothing about years the file does not
 * list: there, only weekends are excluded, so a due date that runs past the
 * end of the list may be a day or two early. Nothing fails; instead callers
 * check workdays_covers_range(w, submitted, due) and, when it is false, flag
 * the due date as provisional and ask the operator to update the file
 * (workdays_last_year() says where the list ends).
 *
 * Thread safety: a `workdays` is immutable once built, so one instance may be
 * shared by every thread without a lock. All date functions are pure.
 */
#ifndef CAREID_CORE_WORKDAYS_H
#define CAREID_CORE_WORKDAYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A date in the proleptic Gregorian calendar: y 1..9999, m 1..12, d 1..31.
 * A plain value, copied freely. "Valid" below means a real date in that range
 * (workdays_date_valid()); every date this module returns is valid.
 */
struct ymd {
	int y, m, d;
};

/* Size of the buffer workdays_date_format() writes: "YYYY-MM-DD" and a NUL. */
#define WORKDAYS_DATE_LEN 11

/* At most this many events in a file or a workdays_from_dates() list. */
#define WORKDAYS_MAX_EVENTS 1000

/* At most this many bytes in a bank holiday file. */
#define WORKDAYS_MAX_FILE (256 * 1024)

/* workdays_add() moves at most this many working days (about 40 years). */
#define WORKDAYS_MAX_N 10000

/* Whether `d` is a real date with a year in 1..9999. */
bool workdays_date_valid(struct ymd d);

/*
 * Parses exactly "YYYY-MM-DD": four-digit year 0001..9999, two-digit month and
 * day, a real date (2026-02-30 and 2027-02-29 are rejected), nothing before or
 * after. Returns 0 and sets `*out`, or CAREID_EINVALID (`*out` untouched; `s`
 * may be NULL).
 */
int workdays_date_parse(struct ymd *out, const char *s);

/*
 * Writes `d` as "YYYY-MM-DD" into `out`. Returns 0, or CAREID_EINVALID if `d`
 * is not valid (then `out` is the empty string).
 */
int workdays_date_format(char out[static WORKDAYS_DATE_LEN], struct ymd d);

/* <0, 0 or >0 as `a` is before, the same day as or after `b`. */
int workdays_date_cmp(struct ymd a, struct ymd b);

/* ISO weekday of a valid date: 1 Monday … 6 Saturday, 7 Sunday; 0 if invalid. */
int workdays_weekday(struct ymd d);

/*
 * The calendar date in England at the instant `unix_time` (seconds since the
 * Unix epoch, UTC). England keeps GMT, and BST (UTC+1) from 01:00 UTC on the
 * last Sunday of March until 01:00 UTC on the last Sunday of October. This
 * rule is built in (no TZ database, no TZ variable) and applied to every
 * year, so dates before 1996, when the rule differed, are not historical.
 * Returns 0, or CAREID_EINVALID if the instant lies outside years 1..9999.
 */
int workdays_london_date(struct ymd *out, int64_t unix_time);

/*
 * A set of bank holidays. Opaque and immutable; freed with workdays_free().
 * A NULL `workdays *` is accepted wherever a `const workdays *` is read and
 * means "no bank holiday list": weekends only, no year covered.
 */
typedef struct workdays workdays;

/*
 * Reads the bank holiday file at `path`. Accepted shapes:
 *   {"division": "england-and-wales", "events": [{"title": …, "date": "YYYY-MM-DD", …}, …]}
 * and the whole of GOV.UK's bank-holidays.json, from which only the
 * "england-and-wales" member is read. "division" is optional but, if present,
 * must be "england-and-wales" (another nation's holidays would silently
 * shift every due date). Each event needs a strictly formatted "date"; other
 * members ("title", "notes", "bunting") are ignored. Events may come in any
 * order and repeat; a weekend date is allowed and changes nothing.
 *
 * On success returns 0 and sets `*out`, which the caller frees with
 * workdays_free(). Errors (with a message naming the file and the offending
 * entry): CAREID_EIO if the file cannot be read; CAREID_ETOOBIG over
 * WORKDAYS_MAX_FILE bytes or WORKDAYS_MAX_EVENTS events; CAREID_EINVALID if it
 * is not JSON, has no non-empty "events" array, names another division, or an
 * entry lacks a valid date; CAREID_ENOMEM.
 */
int workdays_load(workdays **out, const char *path);

/*
 * Builds a calendar from `n` dates in "YYYY-MM-DD" form (for tests and tools;
 * the strings are not kept). `n` may be 0: weekends only, no year covered.
 * Returns 0 and sets `*out` (free with workdays_free()), CAREID_EINVALID for a
 * bad date (the message names its index), CAREID_ETOOBIG if `n` exceeds
 * WORKDAYS_MAX_EVENTS, or CAREID_ENOMEM.
 */
int workdays_from_dates(workdays **out, const char *const *dates, size_t n);

/* Frees `w`; NULL is fine. */
void workdays_free(workdays *w);

/* Whether `d` is a working day: a Monday to Friday that is not a listed bank
 * holiday. False for an invalid date. */
bool workdays_is_working(const workdays *w, struct ymd d);

/*
 * The date `n` working days after `start`: the n-th working day strictly after
 * `start`. The start day never counts, working or not, so for n = 5 a
 * submission on Friday, Saturday or Sunday is due on the following Friday
 * (when no bank holiday intervenes). n = 0 gives `start` itself; n < 0 counts
 * back to the |n|-th working day strictly before `start`.
 *
 * Invariant: workdays_between(w, start, workdays_add(w, start, n)) == n.
 * |n| is clamped to WORKDAYS_MAX_N and the result to years 1..9999; an invalid
 * `start` is returned unchanged.
 */
struct ymd workdays_add(const workdays *w, struct ymd start, int n);

/*
 * The number of working days in (from, to]: `from` excluded, `to` included.
 * 0 when from == to; negative (minus the count over (to, from]) when `to` is
 * before `from`. 0 if either date is invalid.
 */
int workdays_between(const workdays *w, struct ymd from, struct ymd to);

/* Where a review stands against its due date, both in England's calendar. */
enum workdays_state {
	WORKDAYS_ON_TRACK,  /* today is before the due date */
	WORKDAYS_DUE_TODAY, /* today is the due date */
	WORKDAYS_OVERDUE,   /* today is after the due date */
};

enum workdays_state workdays_state(struct ymd due, struct ymd today);

/*
 * Whether the list has data for `year`: at least one event dated in it.
 * England has eight or more bank holidays a year, so a year with none is one
 * the file does not reach. False for a NULL `w`.
 */
bool workdays_covers(const workdays *w, int year);

/*
 * Whether every year from `from`'s to `to`'s (in either order) is covered:
 * the "warning flag" for a due date computed with workdays_add(). False when
 * it is not, for an invalid date, or for a NULL `w`.
 */
bool workdays_covers_range(const workdays *w, struct ymd from, struct ymd to);

/* The last year with data, or 0 when there is none (NULL `w` or empty list). */
int workdays_last_year(const workdays *w);

#endif
