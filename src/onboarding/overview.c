/* The CIS2 onboarding team's view of every product (/onboarding/cis2 and
 * /api/v1/cis2/products): organisation and team, where each product is in
 * its journey, its open reviews with their due dates (overdue ones flagged,
 * in working days as the review queue counts them), its plan's milestones
 * that have passed without being reached, and team comments on its plan
 * that nobody in the CIS2 team has answered yet. Reviewers only. */
#include <string.h>

#include "core/error.h"
#include "core/workdays.h"
#include "onboarding/chart.h"
#include "onboarding/onboarding_int.h"

#define PRODUCTS_MAX   1000
#define SLIPPING_SITES 5 /* sites named one by one; more are counted */

static void decref(void *p)
{
	json_decref(p);
}

static json_t *keep(struct ob_req *r, json_t *j)
{
	if (j && arena_defer(r->a, decref, j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static const char *words(struct ob_req *r, const char *date)
{
	struct ymd d;
	char out[32];

	if (workdays_date_parse(&d, date))
		return date;
	chart_date_words(out, d, true);
	return arena_strdup(r->a, out);
}

static int require_reviewer(struct ob_req *r)
{
	int rc = ob_require_account(r);

	if (rc)
		return rc;
	if (!r->reviewer)
		return ob_error(r, 403, "forbidden",
		                "Only the CIS2 onboarding team can see every product's progress.")
		           ?: 1;
	return 0;
}

static const char *kind_label(const char *kind, const char *stage)
{
	if (strcmp(kind, "saq") == 0)
		return "Service Assessment Questionnaire";
	if (strcmp(kind, "access") == 0)
		return "CIS2 Authentication request";
	if (strcmp(kind, "conformance") == 0)
		return "Technical conformance";
	if (strcmp(kind, "stage") == 0 && stage && strcmp(stage, "non_functional") == 0)
		return "Non-functional requirements";
	if (strcmp(kind, "stage") == 0)
		return "Setup and eligibility";
	return kind;
}

/* Where a review stands against its due date (reviews.c's words). */
static const char *review_state(const char *due, const char *today, const char **label)
{
	struct ymd d, t;

	*label = "Unknown";
	if (workdays_date_parse(&d, due) || workdays_date_parse(&t, today))
		return "unknown";
	switch (workdays_state(d, t)) {
	case WORKDAYS_ON_TRACK:
		*label = "On track";
		return "on_track";
	case WORKDAYS_DUE_TODAY:
		*label = "Due today";
		return "due_today";
	case WORKDAYS_OVERDUE:
		*label = "Overdue";
		return "overdue";
	}
	return "unknown";
}

/*
 * Every open review: those about a product in `by_product` (product id → a
 * new array), the others (Service Assessment Questionnaires: an applicant's,
 * not a product's) in `others`.
 */
static int open_reviews(struct ob_req *r, const char *today, json_t *by_product, json_t *others,
                        int *open, int *overdue)
{
	static const char sql[] =
	    "SELECT r.id, r.subject_kind, r.subject_id, r.submission, r.due_date, s.product_id, "
	    "s.stage, a.name, a.email FROM reviews r LEFT JOIN ob_stages s ON r.subject_kind = "
	    "'stage' AND s.id = r.subject_id LEFT JOIN onboarding_accounts a ON a.uid = "
	    "r.submitted_by WHERE r.decision IS NULL ORDER BY r.due_date, r.submitted_at, r.id";
	store_stmt *st = NULL;
	int rc = store_query(r->o->s, &st, sql, "");

	while (!rc && (rc = store_next(st)) == 1) {
		const char *kind = store_text(st, 1), *label, *due = store_text(st, 4);
		const char *product = strcmp(kind, "stage") == 0 ? store_text(st, 5)
		                      : strcmp(kind, "saq") == 0 ? NULL
		                                                 : store_text(st, 2);
		const char *state = review_state(due, today, &label);
		json_t *list = product ? json_object_get(by_product, product) : others;
		json_t *row = json_pack(
		    "{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:b, s:s?, s:s?, s:s}", "id",
		    store_text(st, 0), "kind", kind, "kind_label",
		    kind_label(kind, store_text(st, 6)), "submission", (json_int_t)store_int(st, 3),
		    "due_date", due, "due_text", words(r, due), "state", state, "state_label",
		    label, "overdue", strcmp(state, "overdue") == 0, "applicant", store_text(st, 7),
		    "email", store_text(st, 8), "href",
		    arena_printf(r->a, "/onboarding/review/%s", store_text(st, 0)));

		rc = 0;
		if (!row)
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		else if (!list) /* a product's review that no product listed holds */
			json_decref(row);
		else if (json_array_append_new(list, row))
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		else {
			*open += 1;
			*overdue += strcmp(state, "overdue") == 0;
		}
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* The ODS codes of the sites marked live: {product id: {ods code: live_on}}. */
static int live_sites(struct ob_req *r, json_t *out)
{
	static const char sql[] = "SELECT product_id, ods_code, live_on FROM ob_sites_live";
	store_stmt *st = NULL;
	int rc = store_query(r->o->s, &st, sql, "");

	while (!rc && (rc = store_next(st)) == 1) {
		json_t *p = json_object_get(out, store_text(st, 0));

		rc = 0;
		if (!p && (json_object_set_new(out, store_text(st, 0), json_object()) ||
		           !(p = json_object_get(out, store_text(st, 0)))))
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		else if (json_object_set_new(p, store_text(st, 1), json_string(store_text(st, 2))))
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* Team comments on plans made after the CIS2 team's last comment on that
 * plan: {product id: count}. */
static int comments_waiting(struct ob_req *r, json_t *out)
{
	static const char sql[] =
	    "SELECT c.product_id, COUNT(*) FROM ob_plan_comments c JOIN onboarding_accounts a ON "
	    "a.uid = c.author WHERE a.is_reviewer = 0 AND c.created_at > COALESCE((SELECT "
	    "MAX(c2.created_at) FROM ob_plan_comments c2 JOIN onboarding_accounts a2 ON a2.uid = "
	    "c2.author WHERE a2.is_reviewer = 1 AND c2.product_id = c.product_id), 0) GROUP BY "
	    "c.product_id";
	store_stmt *st = NULL;
	int rc = store_query(r->o->s, &st, sql, "");

	while (!rc && (rc = store_next(st)) == 1)
		rc = json_object_set_new(out, store_text(st, 0), json_integer(store_int(st, 1)))
		         ? careid_error_set(CAREID_ENOMEM, "out of memory")
		         : 0;
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* The first task of the journey not completed yet: {id, title, status_text,
 * href, done, tasks, has_tasks} (a new object; before CIS2 Authentication is
 * added, the request's state, with no tasks). */
static int stage_of(struct ob_req *r, const struct ob_product *p, json_t **out)
{
	json_t *tasks = NULL, *t, *current = NULL;
	size_t i, done = 0;
	int rc;

	*out = NULL;
	if (strcmp(p->cis2_access, "granted") != 0) {
		const char *a = p->cis2_access;

		*out = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "id", "access", "title",
		                 "CIS2 Authentication", "status_text",
		                 strcmp(a, "requested") == 0  ? "Requested"
		                 : strcmp(a, "declined") == 0 ? "Declined"
		                                              : "Not requested",
		                 "href", arena_printf(r->a, "/onboarding/products/%s", p->id),
		                 "done", 0, "tasks", 0);
		return *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	rc = journey_tasks(r, p, &tasks);
	if (rc)
		return rc;
	json_array_foreach(tasks, i, t)
	{
		if (json_is_true(json_object_get(t, "completed")))
			done++;
		else if (!current)
			current = t;
	}
	if (current)
		*out = json_pack("{s:O, s:O, s:O, s:O, s:i, s:i}", "id",
		                 json_object_get(current, "id"), "title",
		                 json_object_get(current, "title"), "status_text",
		                 json_object_get(current, "status_text"), "href",
		                 json_object_get(current, "href"), "done", (int)done, "tasks",
		                 (int)json_array_size(tasks));
	else
		*out =
		    json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "id", "rolled_out", "title",
		              "Rolled out", "status_text", "Every site in the plan is live", "href",
		              arena_printf(r->a, "/onboarding/products/%s/golive", p->id), "done",
		              (int)done, "tasks", (int)json_array_size(tasks));
	json_decref(tasks);
	if (*out && json_object_set_new(*out, "has_tasks", json_true())) {
		json_decref(*out);
		*out = NULL;
	}
	return *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
}

static int slip(json_t *list, const char *milestone, const char *date, const char *ods,
                const char *text)
{
	json_t *row = text ? json_pack("{s:s, s:s, s:s?, s:s}", "milestone", milestone,
	                               "planned_date", date, "ods_code", ods, "text", text)
	                   : NULL;

	if (!row || json_array_append_new(list, row))
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	return 0;
}

/* A date of the plan that has passed: before today, and a real date. */
static bool passed(const char *date, const char *today)
{
	struct ymd d;

	return date && !workdays_date_parse(&d, date) && strcmp(date, today) < 0;
}

/*
 * The plan's milestones that passed without being reached (a new array, empty
 * when on track); `*has_plan` false when there is no plan yet.
 */
static int slipping(struct ob_req *r, const char *id, const char *today, const json_t *live,
                    json_t **out, bool *has_plan)
{
	json_t *plan = NULL, *dates, *s, *list = json_array();
	const char *d;
	int version = 0, rc, late = 0, not_live = 0, nsites;
	size_t i;

	*out = NULL;
	*has_plan = false;
	rc = list ? plan_current(r, id, &plan, &version) : CAREID_ENOMEM;
	if (rc == CAREID_ENOTFOUND) {
		*out = list;
		return 0;
	}
	if (rc) {
		json_decref(list);
		return rc;
	}
	*has_plan = true;
	dates = json_object_get(plan, "dates");
	nsites = (int)json_array_size(json_object_get(plan, "sites"));
	d = json_string_value(json_object_get(dates, "conformance_achieved"));
	if (passed(d, today) && !conformance_achieved(r, id))
		rc = slip(list, "conformance_achieved", d, NULL,
		          arena_printf(r->a,
		                       "Technical conformance was planned by %s and is not "
		                       "achieved",
		                       words(r, d)));
	d = json_string_value(json_object_get(dates, "first_site_live"));
	if (!rc && passed(d, today) && !json_object_size(live))
		rc = slip(list, "first_site_live", d, NULL,
		          arena_printf(r->a,
		                       "The first site was planned to be live on %s; no site "
		                       "is live",
		                       words(r, d)));
	json_array_foreach(json_object_get(plan, "sites"), i, s)
	{
		const char *ods = json_string_value(json_object_get(s, "ods_code"));
		const char *name = json_string_value(json_object_get(s, "name"));

		if (ods && json_object_get(live, ods))
			continue;
		not_live++;
		d = json_string_value(json_object_get(s, "planned_date"));
		if (rc || !passed(d, today))
			continue;
		if (++late <= SLIPPING_SITES)
			rc = slip(list, "site", d, ods,
			          arena_printf(r->a, "%s (%s) was planned to go live on %s",
			                       name ? name : "A site", ods ? ods : "no ODS code",
			                       words(r, d)));
	}
	if (!rc && late > SLIPPING_SITES)
		rc = slip(list, "sites", today, NULL,
		          arena_printf(r->a, "%d more sites are past their planned date",
		                       late - SLIPPING_SITES));
	d = json_string_value(json_object_get(dates, "last_site_live"));
	if (!rc && passed(d, today) && not_live)
		rc = slip(list, "last_site_live", d, NULL,
		          arena_printf(r->a,
		                       "The last site was planned to be live on %s; %d of %d "
		                       "sites are not live",
		                       words(r, d), not_live, nsites));
	json_decref(plan);
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

/* Every product, with what the CIS2 team watches; see the file comment. */
static int overview(struct ob_req *r, json_t **out)
{
	static const char sql[] =
	    "SELECT p.id, p.name, p.cis2_access, p.team_id, t.name, o.name, o.ods_code FROM "
	    "ob_products p JOIN ob_teams t ON t.id = p.team_id JOIN ob_organisations o ON o.id = "
	    "t.org_id ORDER BY o.name, p.name, p.id LIMIT 1000";
	char today[WORKDAYS_DATE_LEN];
	json_t *products = keep(r, json_array()), *reviews = keep(r, json_object());
	json_t *others = json_array(), *live = keep(r, json_object());
	json_t *comments = keep(r, json_object()), *row;
	int open = 0, overdue = 0, slips = 0, waiting = 0, rc;
	store_stmt *st = NULL;
	size_t i;

	*out = NULL;
	rc = products && reviews && live && comments && others ? ob_today(r->o, today)
	                                                       : CAREID_ENOMEM;
	if (!rc)
		rc = store_query(r->o->s, &st, sql, "");
	while (!rc && (rc = store_next(st)) == 1) {
		const char *id = store_text(st, 0);

		row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "name",
		                store_text(st, 1), "cis2_access", store_text(st, 2), "team_id",
		                store_text(st, 3), "team", store_text(st, 4), "organisation",
		                store_text(st, 5), "ods_code", store_text(st, 6), "href",
		                arena_printf(r->a, "/onboarding/products/%s", id));
		rc = !row || json_array_append_new(products, row) ||
		             json_object_set_new(reviews, id, json_array())
		         ? careid_error_set(CAREID_ENOMEM, "out of memory")
		         : 0;
	}
	store_done(st);
	if (!rc)
		rc = open_reviews(r, today, reviews, others, &open, &overdue);
	if (!rc)
		rc = live_sites(r, live);
	if (!rc)
		rc = comments_waiting(r, comments);
	json_array_foreach(products, i, row)
	{
		struct ob_product p = {NULL,
		                       json_string_value(json_object_get(row, "id")),
		                       json_string_value(json_object_get(row, "name")),
		                       json_string_value(json_object_get(row, "cis2_access")),
		                       json_string_value(json_object_get(row, "team_id")),
		                       true};
		json_t *stage = NULL, *slips_of = NULL, *rv = json_object_get(reviews, p.id);
		json_int_t n = json_integer_value(json_object_get(comments, p.id));
		bool has_plan = false;
		int late = 0;
		size_t k;
		json_t *v;

		if (rc)
			break;
		rc = stage_of(r, &p, &stage);
		if (!rc)
			rc = slipping(r, p.id, today, json_object_get(live, p.id), &slips_of,
			              &has_plan);
		json_array_foreach(rv, k, v)
		{
			late += json_is_true(json_object_get(v, "overdue"));
		}
		slips += json_array_size(slips_of) > 0;
		waiting += n > 0;
		if (!rc && (json_object_set_new(row, "stage", stage) ||
		            json_object_set_new(row, "slipping", slips_of) ||
		            json_object_set(row, "reviews", rv) ||
		            json_object_set_new(row, "overdue_reviews", json_integer(late)) ||
		            json_object_set_new(row, "has_reviews",
		                                json_boolean(json_array_size(rv) > 0)) ||
		            json_object_set_new(row, "is_slipping",
		                                json_boolean(json_array_size(slips_of) > 0)) ||
		            json_object_set_new(row, "has_plan", json_boolean(has_plan)) ||
		            json_object_set_new(row, "unanswered_comments", json_integer(n))))
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		else if (rc) {
			json_decref(stage);
			json_decref(slips_of);
		}
	}
	if (!rc)
		*out = json_pack(
		    "{s:s, s:s, s:O, s:b, s:o, s:{s:I, s:i, s:i, s:i, s:i, s:b}}", "today", today,
		    "today_text", words(r, today), "products", products, "has_applications",
		    json_array_size(others) > 0, "applications", others, "counts", "products",
		    (json_int_t)json_array_size(products), "open_reviews", open, "overdue_reviews",
		    overdue, "plans_slipping", slips, "plans_with_comments", waiting, "truncated",
		    json_array_size(products) >= PRODUCTS_MAX);
	else
		json_decref(others);
	return rc ? rc : *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
}

int overview_handle(struct ob_req *r)
{
	json_t *o = NULL;
	int rc = require_reviewer(r);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (strcmp(r->path, "/cis2") != 0)
		return ob_error(r, 404, "not_found", "There is no such page.");
	if (strcmp(r->req->method, "GET") != 0)
		return ob_error(r, 405, "method_not_allowed", "This page is read only.");
	rc = overview(r, &o);
	if (rc)
		return rc;
	json_object_set_new(o, "title", json_string("Every product"));
	return ob_page(r, 200, "ob_cis2", o);
}

int overview_api(struct ob_req *r)
{
	json_t *o = NULL;
	int rc = require_reviewer(r);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (strcmp(r->path, "/cis2/products") != 0)
		return ob_error(r, 404, "not_found", "There is no such API resource.");
	if (strcmp(r->req->method, "GET") != 0)
		return ob_error(r, 405, "method_not_allowed", "GET /cis2/products.");
	rc = overview(r, &o);
	return rc ? rc : ob_json(r, 200, o);
}
