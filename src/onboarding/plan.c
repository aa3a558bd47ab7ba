/*
 * A product's journey plan (docs/onboarding-plan.md): every save is a new
 * version; the newest is the plan. The team changes it; the CIS2 onboarding
 * team reads it, its versions, checks and timeline, and comments, as the
 * team does. Comments are kept against the version they were written on; the
 * CIS2 team's are e-mailed to the product's team.
 *
 * Pages under /onboarding/products/{id}/plan:
 *   /plan                 the plan, its checks, timeline, versions, comments
 *   /plan/edit            the form (team only); POST saves a new version
 *   /plan/versions/{n}    version n, read-only, checked as of the day it was saved
 *   /plan/comments        POST a comment (fields csrf, version, comment)
 *   /plan/timeline.svg    the current timeline as an SVG file
 * The form's fields (stable; tests and scripts post them):
 *   csrf, base_version (the version the form was read from, "" when none),
 *   testing_start, testing_end, conformance_start, conformance_answers,
 *   conformance_achieved, first_site_live, last_site_live  (YYYY-MM-DD, or
 *       D/M/YYYY where a browser has no date picker),
 *   deployment_model (single_instance | instance_per_customer),
 *   site_{n}_name, site_{n}_ods_code, site_{n}_planned_date, site_{n}_users,
 *   site_{n}_auths_per_day, site_{n}_auths_peak_hour  (n = 1…8; a row left
 *       blank is dropped), rollout_notes,
 *   action: save (the default) | add_site (shows one more row, saves nothing).
 * API under /api/v1/products/{id}/plan: GET, PUT (the plan object, with an
 * optional "base_version"), GET /versions, GET /versions/{n}, GET and POST
 * /comments ({"body", "version"}).
 */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "onboarding/onboarding_int.h"
#include "onboarding/plan_check.h"
#include "onboarding/plan_int.h"
#include "onboarding/timeline.h"

#define COMMENT_MAX 2000

static void decref(void *p)
{
	json_decref(p);
}

json_t *plan_arena_json(struct ob_req *r, json_t *j)
{
	if (j && arena_defer(r->a, decref, j))
		return NULL;
	return j;
}

static bool granted(const struct ob_product *p)
{
	return p->cis2_access && strcmp(p->cis2_access, "granted") == 0;
}

/* --- store ------------------------------------------------------------- */

/* Version `n` of the plan, or the newest when n is 0; CAREID_ENOTFOUND. */
static int version_load(struct ob_req *r, const char *product_id, int n, struct plan_version *out)
{
	static const char sql_newest[] =
	    "SELECT p.version, p.plan, p.created_by, p.created_at, a.name FROM ob_plans p "
	    "LEFT JOIN onboarding_accounts a ON a.uid = p.created_by WHERE p.product_id = $1 "
	    "ORDER BY p.version DESC LIMIT 1";
	static const char sql_one[] =
	    "SELECT p.version, p.plan, p.created_by, p.created_at, a.name FROM ob_plans p "
	    "LEFT JOIN onboarding_accounts a ON a.uid = p.created_by WHERE p.product_id = $1 "
	    "AND p.version = $2";
	store_stmt *st = NULL;
	int rc = n ? store_query(r->o->s, &st, sql_one, "ti", product_id, (int64_t)n)
	           : store_query(r->o->s, &st, sql_newest, "t", product_id);

	memset(out, 0, sizeof(*out));
	if (!rc && (rc = store_next(st)) == 1) {
		out->n = (int)store_int(st, 0);
		out->plan = plan_arena_json(r, json_loads(store_text(st, 1), 0, NULL));
		out->by = arena_strdup(r->a, store_text(st, 2));
		out->at = store_int(st, 3);
		out->by_name =
		    arena_strdup(r->a, store_null(st, 4) ? "someone" : store_text(st, 4));
		rc = json_is_object(out->plan) && out->by && out->by_name ? 0 : CAREID_ESTORE;
	} else if (rc == 0) {
		rc = CAREID_ENOTFOUND;
	}
	store_done(st);
	return rc;
}

int plan_current(struct ob_req *r, const char *product_id, json_t **plan_out, int *version_out)
{
	struct plan_version v;
	int rc = version_load(r, product_id, 0, &v);

	if (rc)
		return rc;
	*plan_out = json_incref(v.plan);
	*version_out = v.n;
	return 0;
}

/* [{version, created_by, created_at, when}], newest first. */
int plan_versions_list(struct ob_req *r, const char *product_id, json_t **out)
{
	static const char sql[] =
	    "SELECT p.version, p.created_at, a.name FROM ob_plans p LEFT JOIN "
	    "onboarding_accounts a ON a.uid = p.created_by WHERE p.product_id = $1 "
	    "ORDER BY p.version DESC LIMIT 500";
	json_t *list = json_array();
	store_stmt *st = NULL;
	char when[48];
	int rc = list ? store_query(r->o->s, &st, sql, "t", product_id) : CAREID_ENOMEM;

	while (!rc && (rc = store_next(st)) == 1) {
		plan_time_text(when, store_int(st, 1));
		rc = json_array_append_new(
		         list,
		         json_pack("{s:i, s:s, s:I, s:s}", "version", (int)store_int(st, 0),
		                   "created_by", store_null(st, 2) ? "someone" : store_text(st, 2),
		                   "created_at", (json_int_t)store_int(st, 1), "when", when))
		         ? CAREID_ENOMEM
		         : 0;
	}
	store_done(st);
	if (rc < 0) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

/*
 * The approved SAQ answers of a member of the product's team (the owners'
 * first), for advice; NULL when none. The SAQ belongs to an account, the plan
 * to a product: the team is what joins them.
 */
static json_t *team_saq(struct ob_req *r, const char *team_id)
{
	static const char sql[] =
	    "SELECT s.answers FROM saqs s JOIN ob_team_members m ON m.uid = s.uid WHERE "
	    "m.team_id = $1 AND s.state = 'approved' ORDER BY CASE WHEN m.role = 'owner' THEN 0 "
	    "ELSE 1 END, s.updated_at DESC, s.id LIMIT 1";
	store_stmt *st = NULL;
	json_t *answers = NULL;

	if (store_query(r->o->s, &st, sql, "t", team_id) == 0 && store_next(st) == 1)
		answers = json_loads(store_text(st, 0), 0, NULL);
	store_done(st);
	if (!json_is_object(answers)) {
		json_decref(answers);
		return NULL;
	}
	return plan_arena_json(r, answers);
}

/*
 * Saves `plan` as the next version, with its audit event. `base` (-1 for
 * any) is the version the change was made from: CAREID_EUSED when another
 * was saved since.
 */
static int version_save(struct ob_req *r, const struct ob_product *p, const json_t *plan, int base,
                        int nwarnings, int *n_out)
{
	static const char sql_max[] =
	    "SELECT COALESCE(MAX(version), 0) FROM ob_plans WHERE product_id = $1";
	static const char sql_add[] =
	    "INSERT INTO ob_plans (product_id, version, plan, created_by, "
	    "created_at) VALUES ($1, $2, $3, $4, $5)";
	char *text = json_dumps(plan, JSON_COMPACT | JSON_SORT_KEYS);
	store_stmt *st = NULL;
	json_t *detail = NULL;
	int n = 0, rc;

	if (!text)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_begin(r->o->s);
	if (rc)
		goto out;
	rc = store_query(r->o->s, &st, sql_max, "t", p->id);
	if (!rc && (rc = store_next(st)) == 1) {
		n = (int)store_int(st, 0);
		rc = 0;
	}
	store_done(st);
	if (!rc && base >= 0 && base != n)
		rc = careid_error_set(CAREID_EUSED, "version %d was saved meanwhile", n);
	if (!rc)
		rc = store_exec(r->o->s, sql_add, "titti", p->id, (int64_t)n + 1, text, r->uid,
		                clock_now());
	detail =
	    json_pack("{s:i, s:i, s:i}", "version", n + 1, "sites",
	              (int)json_array_size(json_object_get(plan, "sites")), "warnings", nwarnings);
	if (rc >= 0)
		rc = audit_record(r->o->s, r->uid, "plan.saved",
		                  arena_printf(r->a, "product:%s", p->id), detail);
	if (rc >= 0)
		rc = store_commit(r->o->s);
	else
		store_rollback(r->o->s);
out:
	json_decref(detail);
	free(text);
	if (rc < 0)
		return rc;
	*n_out = n + 1;
	return 0;
}

/* Comments, newest first; `version` 0 for every version. */
int plan_comments_list(struct ob_req *r, const struct ob_product *p, int version, json_t **out)
{
	static const char sql[] =
	    "SELECT c.id, c.plan_version, c.body, c.created_at, a.name, a.is_reviewer, m.uid "
	    "FROM ob_plan_comments c LEFT JOIN onboarding_accounts a ON a.uid = c.author "
	    "LEFT JOIN ob_team_members m ON m.uid = c.author AND m.team_id = $2 "
	    "WHERE c.product_id = $1 AND (c.plan_version = $3 OR $4 = 0) ORDER BY c.id DESC "
	    "LIMIT 500";
	json_t *list = json_array();
	store_stmt *st = NULL;
	char when[48];
	int rc = list ? store_query(r->o->s, &st, sql, "ttii", p->id, p->team_id, (int64_t)version,
	                            (int64_t)version)
	              : CAREID_ENOMEM;

	while (!rc && (rc = store_next(st)) == 1) {
		/* the CIS2 team: a reviewer who is not in the product's team */
		bool cis2 = store_int(st, 5) == 1 && store_null(st, 6);

		plan_time_text(when, store_int(st, 3));
		rc = json_array_append_new(
		         list,
		         json_pack("{s:s, s:i, s:s, s:I, s:s, s:s, s:s}", "id", store_text(st, 0),
		                   "version", (int)store_int(st, 1), "body", store_text(st, 2),
		                   "created_at", (json_int_t)store_int(st, 3), "when", when,
		                   "author", store_null(st, 4) ? "someone" : store_text(st, 4),
		                   "by", cis2 ? "cis2" : "team"))
		         ? CAREID_ENOMEM
		         : 0;
	}
	store_done(st);
	if (rc < 0) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

/* Why a comment cannot be kept, or NULL. */
static const char *comment_problem(const char *body)
{
	size_t chars = 0;

	if (!body || !*body)
		return "Enter your comment";
	for (const char *s = body; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f)
			return "Your comment must be text without control characters";
		chars += (c & 0xC0) != 0x80;
	}
	return chars > COMMENT_MAX ? "Your comment must be 2,000 characters or fewer" : NULL;
}

static int mail_team(struct ob_req *r, const char *team_id, const char *subject, const char *body)
{
	json_t *emails = NULL, *e;
	size_t i;
	int rc = body ? orgs_team_emails(r, team_id, &emails) : CAREID_ENOMEM;

	json_array_foreach(emails, i, e)
	{
		if (!rc)
			rc = notify_mail(r, json_string_value(e), subject, body);
	}
	json_decref(emails);
	return rc;
}

/*
 * Keeps a comment on `version` with its audit event; a comment by the CIS2
 * team is e-mailed to the product's team in the same transaction. Ids sort
 * in the order comments were written (a sequence per product, then random).
 */
static int comment_add(struct ob_req *r, const struct ob_product *p, int version, const char *body,
                       char **id_out)
{
	static const char sql_count[] =
	    "SELECT COUNT(*) FROM ob_plan_comments WHERE product_id = $1";
	static const char sql_add[] = "INSERT INTO ob_plan_comments (id, product_id, plan_version, "
	                              "author, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
	const char *rnd = ob_random_id(r), *by = p->as_reviewer ? "cis2" : "team";
	store_stmt *st = NULL;
	json_t *detail = NULL;
	char *id = NULL, *mail;
	int64_t count = 0;
	int rc = rnd ? store_begin(r->o->s) : CAREID_ENOMEM;

	if (rc)
		return rc;
	rc = store_query(r->o->s, &st, sql_count, "t", p->id);
	if (!rc && (rc = store_next(st)) == 1) {
		count = store_int(st, 0);
		rc = 0;
	}
	store_done(st);
	id = arena_printf(r->a, "%08lld-%s", (long long)count + 1, rnd);
	if (!rc)
		rc = id ? store_exec(r->o->s, sql_add, "ttitti", id, p->id, (int64_t)version,
		                     r->uid, body, clock_now())
		        : CAREID_ENOMEM;
	if (rc >= 0 && p->as_reviewer) {
		mail =
		    arena_printf(r->a,
		                 "Hello,\n\n%s of the CIS2 onboarding team commented on version %d "
		                 "of the journey plan of %s:\n\n%s\n\nRead the plan and reply:\n"
		                 "%s/onboarding/products/%s/plan#comments\n",
		                 r->name, version, p->name, body, r->o->public_url, p->id);
		rc = mail_team(
		    r, p->team_id,
		    arena_printf(r->a, "The CIS2 team commented on your plan for %s", p->name),
		    mail);
	}
	detail =
	    json_pack("{s:i, s:s, s:s}", "version", version, "comment", id ? id : "", "by", by);
	if (rc >= 0)
		rc = audit_record(r->o->s, r->uid, "plan.commented",
		                  arena_printf(r->a, "product:%s", p->id), detail);
	json_decref(detail);
	if (rc < 0) {
		store_rollback(r->o->s);
		return rc;
	}
	rc = store_commit(r->o->s);
	*id_out = id;
	return rc;
}

/* --- checks and timeline ----------------------------------------------- */

/*
 * Warnings, advice and the timeline of a saved version: the current plan as
 * of today, an older version as of the day it was saved (what its authors
 * saw); both as of the fixed day when the server has one (--review-date).
 * {warnings, advice, timeline, checked_on} into the arena.
 */
int plan_assess(struct ob_req *r, const struct ob_product *p, const struct plan_version *v,
                bool current, json_t **out)
{
	struct ymd day;
	char today[11], title[256];
	struct plan_context c = {today, r->o->wd, team_saq(r, p->team_id)};
	json_t *warnings = NULL, *advice = NULL, *tl = NULL;
	int rc = 0;

	*out = NULL;
	if (current || r->o->today[0]) /* a fixed day (--review-date) holds for every check */
		rc = ob_today(r->o, today);
	else if (!(rc = workdays_london_date(&day, v->at)))
		rc = workdays_date_format(today, day);
	if (!rc)
		rc = plan_review(&warnings, &advice, v->plan, &c);
	snprintf(title, sizeof(title), "Timeline of the journey plan for %s, version %d", p->name,
	         v->n);
	if (!rc)
		rc = timeline_build(&tl, &(struct timeline_input){v->plan, title, today, r->o->wd});
	if (rc == CAREID_EINVALID) { /* saved under other rules: shown, not checked */
		json_decref(warnings);
		json_decref(advice);
		warnings = json_array();
		advice = json_array();
		tl = json_object();
		rc = 0;
	}
	if (!rc)
		*out = plan_arena_json(r, json_pack("{s:o, s:o, s:o, s:s}", "warnings", warnings,
		                                    "advice", advice, "timeline", tl, "checked_on",
		                                    today));
	else {
		json_decref(warnings);
		json_decref(advice);
	}
	return rc ? rc : *out ? 0 : CAREID_ENOMEM;
}

/* The API's view of a version. */
static json_t *version_json(const struct ob_product *p, const struct plan_version *v,
                            const json_t *checks)
{
	const json_t *tl = json_object_get(checks, "timeline");

	return json_pack("{s:s, s:i, s:I, s:s, s:O, s:O, s:O, s:O, s:O, s:O}", "product_id", p->id,
	                 "version", v->n, "created_at", (json_int_t)v->at, "created_by", v->by_name,
	                 "plan", v->plan, "checked_on", json_object_get(checks, "checked_on"),
	                 "warnings", json_object_get(checks, "warnings"), "advice",
	                 json_object_get(checks, "advice"), "timeline",
	                 json_object_get(tl, "facts"), "events", json_object_get(tl, "events"));
}

static int redirect(struct ob_req *r, const char *loc)
{
	return loc ? http_redirect(r->res, 303, loc) : CAREID_ENOMEM;
}

static int read_only(struct ob_req *r)
{
	return ob_error(r, 403, "read_only",
	                "The CIS2 onboarding team can read and comment on a plan, but only the "
	                "product's team can change it.");
}

static int edit_get(struct ob_req *r, const struct ob_product *p)
{
	struct plan_version v;
	json_t *saq, *draft;
	int rc = version_load(r, p->id, 0, &v);

	if (rc == CAREID_ENOTFOUND) {
		/* a first plan starts from the SAQ's deployment model */
		saq = team_saq(r, p->team_id);
		draft = plan_arena_json(r, json_pack("{s:O?}", "deployment_model",
		                                     json_object_get(saq, "deployment_model")));
		return draft
		           ? plan_edit_page(r, p, &(struct plan_edit){200, draft, NULL, 1, 0, NULL})
		           : CAREID_ENOMEM;
	}
	if (rc)
		return rc;
	if (json_array_size(json_object_get(v.plan, "sites")) > PLAN_FORM_SITES)
		return ob_message(
		    r, 409, "Change this plan through the API",
		    arena_printf(
		        r->a,
		        "This plan has %zu sites; this form holds up to %d. Change it through "
		        "the API: PUT /api/v1/products/%s/plan.",
		        json_array_size(json_object_get(v.plan, "sites")), PLAN_FORM_SITES, p->id));
	return plan_edit_page(
	    r, p,
	    &(struct plan_edit){200, v.plan, NULL,
	                        (int)json_array_size(json_object_get(v.plan, "sites")), v.n, NULL});
}

/* How many warnings a plan has today (for the audit event). */
static int warning_count(struct ob_req *r, const struct ob_product *p, const json_t *plan)
{
	char today[11];
	struct plan_context c = {today, r->o->wd, team_saq(r, p->team_id)};
	json_t *warnings = NULL, *advice = NULL;
	int n = 0;

	if (!ob_today(r->o, today) && !plan_review(&warnings, &advice, plan, &c))
		n = (int)json_array_size(warnings);
	json_decref(warnings);
	json_decref(advice);
	return n;
}

static int edit_post(struct ob_req *r, const struct ob_product *p)
{
	const char *action = form_get(&r->req->form, "action");
	const char *base_text = form_get(&r->req->form, "base_version");
	long long base = -1; /* a script that sends no base_version replaces any version */
	json_t *input = NULL, *plan = NULL, *errors = NULL;
	int rows = 0, n, rc, shown;

	if (base_text && *base_text && !plan_int_parse(base_text, &base))
		base = -2; /* never a version: the save is refused as stale */
	rc = plan_from_form(&input, &r->req->form, &rows);
	if (rc || !plan_arena_json(r, input))
		return rc ? rc : CAREID_ENOMEM;
	shown = (int)json_array_size(json_object_get(input, "sites"));
	if (action && strcmp(action, "add_site") == 0) {
		n = (shown > rows ? shown : rows) + 1;
		return plan_edit_page(r, p,
		                      &(struct plan_edit){200, input, NULL,
		                                          n > PLAN_FORM_SITES ? PLAN_FORM_SITES : n,
		                                          (int)base, NULL});
	}
	rc = plan_validate(&plan, &errors, input);
	if (rc || !plan_arena_json(r, errors))
		return rc ? rc : CAREID_ENOMEM;
	if (json_array_size(errors))
		return plan_edit_page(
		    r, p,
		    &(struct plan_edit){400, input, errors, shown ? shown : 1, (int)base, NULL});
	if (!plan_arena_json(r, plan))
		return CAREID_ENOMEM;
	rc = version_save(r, p, plan, (int)base, warning_count(r, p, plan), &n);
	if (rc == CAREID_EUSED) {
		struct plan_version v;

		rc = version_load(r, p->id, 0, &v);
		return rc ? rc
		          : plan_edit_page(r, p,
		                           &(struct plan_edit){
		                               409, input, NULL, shown ? shown : 1, v.n,
		                               arena_printf(r->a,
		                                            "Someone saved version %d of the plan "
		                                            "while you were changing it. Your "
		                                            "changes are still here and have not "
		                                            "been saved: read version %d, then "
		                                            "save again to replace it.",
		                                            v.n, v.n)});
	}
	if (rc)
		return rc;
	return redirect(r, arena_printf(r->a, "/onboarding/products/%s/plan?saved=%d", p->id, n));
}

/* The version a comment is about: the form's (or body's), else the newest. */
static int comment_version(struct ob_req *r, const struct ob_product *p, const json_t *given,
                           struct plan_version *v)
{
	long long n = 0;

	if (json_is_integer(given))
		n = json_integer_value(given);
	else if (json_is_string(given) && *json_string_value(given) &&
	         !plan_int_parse(json_string_value(given), &n))
		return CAREID_ENOTFOUND;
	if (n < 0 || n > 1000000000)
		return CAREID_ENOTFOUND;
	return version_load(r, p->id, (int)n, v);
}

static int comment_post(struct ob_req *r, const struct ob_product *p)
{
	const char *version = form_get(&r->req->form, "version");
	const char *raw = form_get(&r->req->form, "comment"), *problem;
	char *body = raw ? plan_trim(raw) : NULL, *id = NULL;
	json_t *given = version ? json_string(version) : NULL;
	struct plan_version v, newest;
	int rc = comment_version(r, p, given, &v);

	json_decref(given);
	if (rc == CAREID_ENOTFOUND)
		rc = ob_error(r, 404, "not_found",
		              "There is no such version of the plan to comment on.");
	else if (!rc)
		rc = version_load(r, p->id, 0, &newest);
	if (rc || (raw && !body)) {
		free(body);
		return rc ? rc : CAREID_ENOMEM;
	}
	if ((problem = comment_problem(body))) {
		struct plan_view w = {400,  &v,      newest.n,
		                      NULL, problem, arena_strdup(r->a, raw ? raw : "")};

		free(body);
		return plan_view_page(r, p, &w);
	}
	rc = comment_add(r, p, v.n, body, &id);
	free(body);
	if (rc)
		return rc;
	return redirect(
	    r, v.n == newest.n
	           ? arena_printf(r->a, "/onboarding/products/%s/plan?commented=1#comments", p->id)
	           : arena_printf(r->a,
	                          "/onboarding/products/%s/plan/versions/%d?commented=1"
	                          "#comments",
	                          p->id, v.n));
}

static int timeline_file(struct ob_req *r, const struct ob_product *p)
{
	struct plan_version v;
	json_t *checks = NULL;
	struct buf b;
	int rc = version_load(r, p->id, 0, &v);

	if (rc == CAREID_ENOTFOUND)
		return ob_error(r, 404, "not_found", "This product has no plan yet.");
	if (!rc)
		rc = plan_assess(r, p, &v, true, &checks);
	if (rc)
		return rc;
	buf_init(&b, 1 << 20);
	rc = buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	if (!rc)
		rc = timeline_svg(&b, json_object_get(json_object_get(checks, "timeline"), "svg"));
	if (!rc)
		rc = http_add_header(r->res, "Content-Disposition",
		                     "attachment; filename=\"journey-plan-timeline.svg\"");
	if (!rc)
		rc = http_add_header(r->res, "Cache-Control", "no-store");
	if (!rc)
		rc = http_send(r->res, 200, "image/svg+xml; charset=utf-8", b.ptr, b.len);
	buf_release(&b);
	return rc;
}

/* "/plan/versions/12" → 12; 0 when `rest` is not a version's path. */
static int version_of(const char *rest)
{
	const char *s = rest + strlen("/plan/versions/");
	long long n = 0;

	if (strncmp(rest, "/plan/versions/", 15) != 0 || !*s || strlen(s) > 9 || *s == '0')
		return 0;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return 0;
	}
	return plan_int_parse(s, &n) ? (int)n : 0;
}

static int view_page(struct ob_req *r, const struct ob_product *p, int n)
{
	const char *saved = form_get(&r->req->query, "saved");
	bool commented = form_get(&r->req->query, "commented") != NULL;
	struct plan_version v, newest;
	struct plan_view w = {200, NULL, 0, NULL, NULL, NULL};
	int rc = version_load(r, p->id, 0, &newest);

	if (rc == CAREID_ENOTFOUND && !n)
		return plan_view_page(r, p, &w);
	if (!rc && n)
		rc = version_load(r, p->id, n, &v);
	if (rc == CAREID_ENOTFOUND)
		return ob_error(r, 404, "not_found", "There is no such version of the plan.");
	if (rc)
		return rc;
	w.v = n ? &v : &newest;
	w.newest = newest.n;
	if (saved && !n)
		w.notice = arena_printf(r->a, "Version %d of the plan has been saved.", newest.n);
	else if (commented)
		w.notice = "Your comment has been added.";
	return plan_view_page(r, p, &w);
}

int plan_handle(struct ob_req *r, const struct ob_product *p, const char *rest)
{
	bool post = strcmp(r->req->method, "POST") == 0;
	int n = version_of(rest);

	if (!granted(p))
		return ob_error(r, 403, "cis2_not_granted",
		                "CIS2 Authentication must be added to this product first");
	if (strcmp(rest, "/plan") == 0 && !post)
		return view_page(r, p, 0);
	if (n && !post)
		return view_page(r, p, n);
	if (strcmp(rest, "/plan/edit") == 0) {
		if (p->as_reviewer)
			return read_only(r);
		return post ? edit_post(r, p) : edit_get(r, p);
	}
	if (strcmp(rest, "/plan/comments") == 0)
		return post
		           ? comment_post(r, p)
		           : redirect(r, arena_printf(r->a, "/onboarding/products/%s/plan#comments",
		                                      p->id));
	if (strcmp(rest, "/plan/versions") == 0 && !post)
		return redirect(r,
		                arena_printf(r->a, "/onboarding/products/%s/plan#versions", p->id));
	if (strcmp(rest, "/plan/timeline.svg") == 0 && !post)
		return timeline_file(r, p);
	return ob_error(r, 404, "not_found", "There is no such page.");
}

/* --- API --------------------------------------------------------------- */

static int api_version(struct ob_req *r, const struct ob_product *p, int n, int status)
{
	struct plan_version v, newest;
	json_t *checks = NULL;
	int rc = version_load(r, p->id, 0, &newest);

	if (!rc && n)
		rc = version_load(r, p->id, n, &v);
	if (rc == CAREID_ENOTFOUND)
		return ob_error(r, 404, n ? "not_found" : "no_plan",
		                n ? "There is no such version of the plan."
		                  : "This product has no plan yet: PUT one.");
	if (!rc)
		rc = plan_assess(r, p, n ? &v : &newest, !n || n == newest.n, &checks);
	return rc ? rc : ob_json(r, status, version_json(p, n ? &v : &newest, checks));
}

static int api_put(struct ob_req *r, const struct ob_product *p)
{
	json_t *body, *plan = NULL, *errors = NULL, *by_field, *e;
	const json_t *base;
	size_t i;
	int rc, n;

	if (p->as_reviewer)
		return read_only(r);
	body = ob_json_body(r, &rc);
	if (!body)
		return rc;
	base = json_object_get(body, "base_version");
	if (base && !json_is_integer(base)) {
		json_decref(body);
		return ob_error(r, 400, "invalid_request",
		                "base_version must be the number of the version you changed.");
	}
	rc = plan_validate(&plan, &errors, body);
	n = base ? (int)json_integer_value(base) : -1;
	json_decref(body);
	if (rc)
		return rc;
	if (json_array_size(errors)) {
		by_field = json_object();
		json_array_foreach(errors, i, e)
		    json_object_set(by_field, json_string_value(json_object_get(e, "field")),
		                    json_object_get(e, "message"));
		return ob_json(r, 400,
		               json_pack("{s:s, s:s, s:o, s:o}", "error", "invalid_plan", "message",
		                         "The plan has errors; nothing was saved.", "errors",
		                         by_field, "problems", errors));
	}
	json_decref(errors);
	if (!plan_arena_json(r, plan))
		return CAREID_ENOMEM;
	rc = version_save(r, p, plan, n < 0 ? -1 : n, warning_count(r, p, plan), &n);
	if (rc == CAREID_EUSED)
		return ob_error(r, 409, "plan_changed",
		                "Another version of the plan was saved since base_version: read it "
		                "(GET /plan), then send your changes again.");
	return rc ? rc : api_version(r, p, n, 201);
}

static int api_comments(struct ob_req *r, const struct ob_product *p, bool post)
{
	json_t *list = NULL, *body, *c;
	struct plan_version v;
	const char *problem;
	char *text = NULL, *id = NULL;
	size_t i;
	int rc;

	if (!post) {
		rc = plan_comments_list(r, p, 0, &list);
		return rc ? rc : ob_json(r, 200, json_pack("{s:o}", "comments", list));
	}
	body = ob_json_body(r, &rc);
	if (!body)
		return rc;
	if (!plan_arena_json(r, body))
		return CAREID_ENOMEM;
	rc = comment_version(r, p, json_object_get(body, "version"), &v);
	if (rc == CAREID_ENOTFOUND)
		return ob_error(r, 404, "not_found",
		                "There is no such version of the plan to comment on.");
	if (rc)
		return rc;
	if (json_string_value(json_object_get(body, "body")) &&
	    !(text = plan_trim(json_string_value(json_object_get(body, "body")))))
		return CAREID_ENOMEM;
	if ((problem = comment_problem(text))) {
		free(text);
		return ob_json(r, 400,
		               json_pack("{s:s, s:s, s:{s:s}}", "error", "invalid_comment",
		                         "message", problem, "errors", "body", problem));
	}
	rc = comment_add(r, p, v.n, text, &id);
	free(text);
	if (!rc)
		rc = plan_comments_list(r, p, v.n, &list);
	if (rc)
		return rc;
	json_array_foreach(list, i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0) {
			json_incref(c);
			json_decref(list);
			return ob_json(r, 201, c);
		}
	}
	json_decref(list);
	return careid_error_set(CAREID_ESTORE, "the comment was not found after it was added");
}

int plan_api(struct ob_req *r, const struct ob_product *p, const char *rest)
{
	const char *m = r->req->method;
	bool get = strcmp(m, "GET") == 0;
	int n = version_of(rest);

	if (!granted(p))
		return ob_error(r, 403, "cis2_not_granted",
		                "CIS2 Authentication must be added to this product first");
	if (strcmp(rest, "/plan") == 0 && get)
		return api_version(r, p, 0, 200);
	if (strcmp(rest, "/plan") == 0 && strcmp(m, "PUT") == 0)
		return api_put(r, p);
	if (strcmp(rest, "/plan/versions") == 0 && get) {
		json_t *list = NULL;
		int rc = plan_versions_list(r, p->id, &list);

		return rc ? rc : ob_json(r, 200, json_pack("{s:o}", "versions", list));
	}
	if (n && get)
		return api_version(r, p, n, 200);
	if (strcmp(rest, "/plan/comments") == 0 && (get || strcmp(m, "POST") == 0))
		return api_comments(r, p, !get);
	if (strcmp(rest, "/plan") == 0 || strcmp(rest, "/plan/versions") == 0 || n ||
	    strcmp(rest, "/plan/comments") == 0)
		return ob_error(
		    r, 405, "method_not_allowed",
		    "GET or PUT /plan, GET /plan/versions[/{n}], GET or POST /plan/comments.");
	return ob_error(r, 404, "not_found", "There is no such resource.");
}
