/*
 * Internals shared by plan.c (routes, store, API) and plan_pages.c (the
 * pages' contexts) of the journey plan.
 */
#ifndef CAREID_ONBOARDING_PLAN_INT_H
#define CAREID_ONBOARDING_PLAN_INT_H

#include "onboarding/onboarding_int.h"

/* A saved version of a plan. */
struct plan_version {
	int n;
	json_t *plan; /* owned by the request's arena */
	const char *by, *by_name;
	int64_t at;
};

/* Hands `j` (a new reference) to the request's arena; NULL when it cannot
 * (then `j` has been released). */
json_t *plan_arena_json(struct ob_req *r, json_t *j);

/* [{version, created_by, created_at, when}], newest first (new array). */
int plan_versions_list(struct ob_req *r, const char *product_id, json_t **out);

/* [{id, version, body, created_at, when, author, by: cis2|team}], newest
 * first (new array); `version` 0 for the comments on every version. */
int plan_comments_list(struct ob_req *r, const struct ob_product *p, int version, json_t **out);

/* {warnings, advice, timeline, checked_on} of a version, in the arena: the
 * current plan as of today, an older version as of the day it was saved. */
int plan_assess(struct ob_req *r, const struct ob_product *p, const struct plan_version *v,
                bool current, json_t **out);

/* The plan page (ob_plan.html): a version, its checks, timeline, the
 * versions and the comments. */
struct plan_view {
	int status;
	const struct plan_version *v; /* NULL when there is no plan */
	int newest;
	const char *notice;
	const char *comment_error, *comment_value;
};
int plan_view_page(struct ob_req *r, const struct ob_product *p, const struct plan_view *w);

/* The plan's form (ob_plan_edit.html). */
struct plan_edit {
	int status;
	const json_t *plan;   /* as typed, or as saved */
	const json_t *errors; /* plan_validate()'s, or NULL */
	int rows;             /* site rows to show */
	int base;             /* the version the form started from (0: none, <0: not known) */
	const char *notice;
};
int plan_edit_page(struct ob_req *r, const struct ob_product *p, const struct plan_edit *e);

#endif
