/* Go-live and rollout (CIS2-PROFILE.md, "Go live"): the rollout sites of the
 * journey plan with their planned dates, sites marked live by the product's
 * team as they go, and a dashboard of planned against actual authentications
 * per day in Live, read from the identity provider's own audit trail.
 *
 * Days are calendar dates in England: ob_today() for today (or the date a
 * test fixed), workdays_london_date() for the day of an instant. */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/workdays.h"
#include "onboarding/chart.h"
#include "onboarding/onboarding_int.h"

#define ODS_MAX 16

/* What the pages and the API show, loaded once per request. */
struct golive {
	char today[WORKDAYS_DATE_LEN];
	json_t *plan;                       /* the current plan, NULL when there is none */
	int version;                        /* its version, 0 without a plan */
	json_t *clients;                    /* the product's Live client ids */
	char live_since[WORKDAYS_DATE_LEN]; /* day the first Live client was registered, or "" */
	json_t *sites; /* the table: plan sites, then sites live no longer in the plan */
	int planned, live, due, overdue;
};

static void decref(void *p)
{
	json_decref(p);
}

/* Hands `j` (a new reference) to the request's arena; NULL when it cannot. */
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

/* A figure of the plan (a draft may hold text): the integer, or -1. */
static json_int_t figure(const json_t *v)
{
	char *end;
	long long n;

	if (json_is_integer(v))
		return json_integer_value(v);
	if (!json_is_string(v) || !*json_string_value(v))
		return -1;
	n = strtoll(json_string_value(v), &end, 10);
	return *end ? -1 : (json_int_t)n;
}

static json_t *figure_json(const json_t *v)
{
	json_int_t n = figure(v);

	return n >= 0 ? json_integer(n) : json_null();
}

static int live_since_load(struct ob_req *r, const char *product_id, struct golive *g)
{
	static const char sql[] = "SELECT MIN(created_at) FROM ob_env_clients WHERE product_id = "
	                          "$1 AND env = 'live'";
	store_stmt *st = NULL;
	struct ymd d;
	int rc = store_query(r->o->s, &st, sql, "t", product_id);

	g->live_since[0] = '\0';
	if (!rc && (rc = store_next(st)) == 1) {
		rc = 0;
		if (!store_null(st, 0) && !workdays_london_date(&d, store_int(st, 0)))
			rc = workdays_date_format(g->live_since, d);
	}
	store_done(st);
	return rc;
}

/* The sites marked live: {ods_code: {live_on, marked_by}} (a new object). */
static int marks_load(struct ob_req *r, const char *product_id, json_t **out)
{
	static const char sql[] = "SELECT s.ods_code, s.live_on, a.name FROM ob_sites_live s "
	                          "LEFT JOIN onboarding_accounts a ON a.uid = s.marked_by WHERE "
	                          "s.product_id = $1 ORDER BY s.live_on, s.ods_code";
	store_stmt *st = NULL;
	json_t *marks = json_object();
	int rc = marks ? store_query(r->o->s, &st, sql, "t", product_id) : CAREID_ENOMEM;

	while (!rc && (rc = store_next(st)) == 1)
		rc = json_object_set_new(marks, store_text(st, 0),
		                         json_pack("{s:s, s:s?}", "live_on", store_text(st, 1),
		                                   "marked_by", store_text(st, 2)))
		         ? careid_error_set(CAREID_ENOMEM, "out of memory")
		         : 0;
	store_done(st);
	if (rc < 0) {
		json_decref(marks);
		return rc;
	}
	*out = marks;
	return 0;
}

/* One row of the sites table. */
static json_t *site_json(struct ob_req *r, struct golive *g, const json_t *s, const json_t *mark,
                         int index)
{
	const char *planned = json_string_value(json_object_get(s, "planned_date"));
	const char *live_on = json_string_value(json_object_get(mark, "live_on"));
	struct ymd d;
	bool due = planned && !workdays_date_parse(&d, planned) && strcmp(planned, g->today) <= 0;
	bool overdue = !live_on && planned && due && strcmp(planned, g->today) < 0;
	const char *status = live_on ? arena_printf(r->a, "Live since %s", words(r, live_on))
	                     : overdue
	                         ? arena_printf(r->a, "Not live: planned for %s", words(r, planned))
	                     : planned ? arena_printf(r->a, "Planned for %s", words(r, planned))
	                               : "No planned date";

	g->due += due;
	g->overdue += overdue;
	return json_pack(
	    "{s:s?, s:s?, s:s?, s:o, s:o, s:o, s:b, s:s?, s:s?, s:s?, s:s, s:b, s:b, "
	    "s:i}",
	    "name", json_string_value(json_object_get(s, "name")), "ods_code",
	    json_string_value(json_object_get(s, "ods_code")), "planned_date", planned, "users",
	    figure_json(json_object_get(s, "users")), "auths_per_day",
	    figure_json(json_object_get(s, "auths_per_day")), "auths_peak_hour",
	    figure_json(json_object_get(s, "auths_peak_hour")), "live", live_on != NULL, "live_on",
	    live_on, "live_on_text", live_on ? words(r, live_on) : NULL, "marked_by",
	    json_string_value(json_object_get(mark, "marked_by")), "status_text",
	    status ? status : "", "overdue", overdue, "in_plan", index >= 0, "index", index);
}

static int golive_load(struct ob_req *r, const struct ob_product *p, struct golive *g)
{
	json_t *marks = NULL, *plan = NULL, *s, *row;
	const char *ods;
	size_t i;
	int rc;

	memset(g, 0, sizeof(*g));
	rc = ob_today(r->o, g->today);
	if (!rc) {
		rc = plan_current(r, p->id, &plan, &g->version);
		if (rc == CAREID_ENOTFOUND) {
			g->version = 0;
			rc = 0;
		}
		g->plan = keep(r, plan);
		if (plan && !g->plan)
			rc = CAREID_ENOMEM;
	}
	if (!rc && !(rc = envclients_list(r, p->id, "live", &g->clients)))
		rc = keep(r, g->clients) ? 0 : CAREID_ENOMEM;
	if (!rc)
		rc = live_since_load(r, p->id, g);
	if (!rc && !(rc = marks_load(r, p->id, &marks)))
		rc = keep(r, marks) ? 0 : CAREID_ENOMEM;
	if (!rc)
		rc = (g->sites = keep(r, json_array())) ? 0 : CAREID_ENOMEM;
	if (rc)
		return rc;
	json_array_foreach(json_object_get(g->plan, "sites"), i, s)
	{
		ods = json_string_value(json_object_get(s, "ods_code"));
		row = json_is_object(s)
		          ? site_json(r, g, s, ods ? json_object_get(marks, ods) : NULL, (int)i)
		          : NULL;
		if (!row || json_array_append_new(g->sites, row))
			return careid_error_set(CAREID_ENOMEM, "out of memory");
		g->planned++;
		g->live += json_is_true(json_object_get(row, "live"));
	}
	/* sites marked live that a later version of the plan dropped */
	json_object_foreach(marks, ods, s)
	{
		bool in_plan = false;
		json_t *only;

		json_array_foreach(g->sites, i, row)
		{
			const char *o = json_string_value(json_object_get(row, "ods_code"));

			in_plan = in_plan || (o && strcmp(o, ods) == 0);
		}
		if (in_plan)
			continue;
		only = json_pack("{s:s}", "ods_code", ods);
		row = only ? site_json(r, g, only, s, -1) : NULL;
		json_decref(only);
		if (!row || json_array_append_new(g->sites, row))
			return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	return 0;
}

/* The row of the plan's site with this ODS code, or NULL. */
static json_t *site_find(const struct golive *g, const char *ods)
{
	json_t *row;
	size_t i;

	json_array_foreach(g->sites, i, row)
	{
		const char *o = json_string_value(json_object_get(row, "ods_code"));

		if (o && ods && strcmp(o, ods) == 0 &&
		    json_is_true(json_object_get(row, "in_plan")))
			return row;
	}
	return NULL;
}

/* Why this caller cannot mark sites live, or NULL when they can. */
static const char *mark_refusal(const struct ob_product *p, const struct golive *g)
{
	if (p->as_reviewer)
		return "The product's team marks its sites live; the CIS2 onboarding team can "
		       "only view them.";
	if (!json_array_size(g->clients))
		return "A site can be marked live once the product has a Live client: register "
		       "one in its environments after technical conformance is achieved and the "
		       "Connection Agreement accepted.";
	if (!g->planned)
		return "Add the rollout sites to the journey plan first: only sites in the plan "
		       "can be marked live.";
	return NULL;
}

static json_t *golive_json(const struct ob_product *p, const struct golive *g)
{
	const char *why = mark_refusal(p, g);

	return json_pack("{s:s, s:s, s:s, s:i, s:O, s:s?, s:O, s:i, s:i, s:i, s:i, s:b, s:s?}",
	                 "product_id", p->id, "product_name", p->name, "today", g->today,
	                 "plan_version", g->version, "live_clients", g->clients, "live_since",
	                 g->live_since[0] ? g->live_since : NULL, "sites", g->sites,
	                 "sites_planned", g->planned, "sites_live", g->live, "sites_due", g->due,
	                 "sites_overdue", g->overdue, "can_mark", why == NULL, "refusal", why);
}

/*
 * Marks the plan's site `ods` live on `date` ("" or NULL: today). What is
 * wrong with the input goes in `errors` (field → message) with the HTTP
 * status and error code to answer; nothing is saved then. Returns a
 * negative code only when the store fails.
 */
static int mark_live(struct ob_req *r, const struct ob_product *p, const struct golive *g,
                     const char *ods, const char *date, json_t *errors, int *status,
                     const char **code)
{
	static const char sql[] = "INSERT INTO ob_sites_live (product_id, ods_code, live_on, "
	                          "marked_by, marked_at) VALUES ($1, $2, $3, $4, $5)";
	const char *why = mark_refusal(p, g), *name;
	json_t *site = site_find(g, ods), *detail;
	struct ymd d;
	int rc;

#define REFUSE(st, c, field, ...)                                                                  \
	do {                                                                                       \
		*status = (st);                                                                    \
		*code = (c);                                                                       \
		json_object_set_new(errors, field, json_string(arena_printf(r->a, __VA_ARGS__)));  \
	} while (0)
	if (why) {
		REFUSE(p->as_reviewer ? 403 : 409,
		       p->as_reviewer                ? "forbidden"
		       : json_array_size(g->clients) ? "no_plan"
		                                     : "no_live_client",
		       "ods_code", "%s", why);
		return 0;
	}
	if (!ods || !*ods)
		REFUSE(400, "invalid_site", "ods_code", "Choose the site that went live");
	else if (!site)
		REFUSE(
		    400, "invalid_site", "ods_code",
		    "%.*s is not the ODS code of a rollout site in the journey plan (version %d)",
		    ODS_MAX, ods, g->version);
	if (!date || !*date)
		date = g->today;
	if (workdays_date_parse(&d, date))
		REFUSE(400, "invalid_site", "live_on",
		       "Enter the date the site went live as a real date, for example %s",
		       g->today);
	else if (strcmp(date, g->today) > 0)
		REFUSE(400, "invalid_site", "live_on",
		       "The date the site went live cannot be in the future (today is %s)",
		       words(r, g->today));
	else if (strcmp(date, g->live_since) < 0)
		REFUSE(400, "invalid_site", "live_on",
		       "The site cannot have gone live before the product's first Live client was "
		       "registered, on %s",
		       words(r, g->live_since));
	if (json_object_size(errors))
		return 0;
	name = json_string_value(json_object_get(site, "name"));
	if (json_is_true(json_object_get(site, "live"))) {
		REFUSE(409, "already_live", "ods_code", "%s (%s) was marked live on %s already",
		       name ? name : ods, ods,
		       words(r, json_string_value(json_object_get(site, "live_on"))));
		return 0;
	}
	rc = store_begin(r->o->s);
	if (rc)
		return rc;
	rc = store_exec(r->o->s, sql, "tttti", p->id, ods, date, r->uid, clock_now());
	if (rc == CAREID_EEXISTS) { /* marked meanwhile */
		store_rollback(r->o->s);
		REFUSE(409, "already_live", "ods_code", "%s (%s) has been marked live already",
		       name ? name : ods, ods);
		return 0;
	}
	detail = json_pack("{s:s, s:s?, s:s, s:i}", "ods_code", ods, "name", name, "live_on", date,
	                   "plan_version", g->version);
	if (rc >= 0)
		rc = detail ? audit_record(r->o->s, r->uid, "site.live",
		                           arena_printf(r->a, "product:%s", p->id), detail)
		            : CAREID_ENOMEM;
	json_decref(detail);
	if (rc < 0) {
		store_rollback(r->o->s);
		return rc;
	}
#undef REFUSE
	return store_commit(r->o->s);
}

/* A sign-in in Live counts on its day. */
static int signin_count(void *ctx, const struct audit_event *e)
{
	const char *env = json_string_value(json_object_get(e->detail, "env"));

	if (env && strcmp(env, "live") == 0)
		chart_days_count(ctx, e->at);
	return 0;
}

/* The days the dashboard shows: from the first planned (or actual) site to
 * the later of the last site's planned date and today. */
static int dashboard_days(struct ob_req *r, const struct golive *g, struct chart_days *c)
{
	static const char *const signins[] = {"signin.succeeded", NULL};
	json_t *sites = json_object_get(g->plan, "sites"), *s, *id;
	const char *last =
	    json_string_value(json_object_get(json_object_get(g->plan, "dates"), "last_site_live"));
	const char *first = NULL, *end = NULL;
	struct chart_site *cs;
	struct ymd start, stop, today;
	int64_t from, to;
	size_t i, n = 0;
	int rc;

	json_array_foreach(g->sites, i, s)
	{
		const char *planned = json_string_value(json_object_get(s, "planned_date"));
		const char *live_on = json_string_value(json_object_get(s, "live_on"));

		if (planned && !workdays_date_parse(&start, planned)) {
			first = !first || strcmp(planned, first) < 0 ? planned : first;
			end = !end || strcmp(planned, end) > 0 ? planned : end;
		}
		if (live_on && (!first || strcmp(live_on, first) < 0))
			first = live_on;
	}
	if (!first)
		first = g->live_since[0] ? g->live_since : g->today;
	if (last && !workdays_date_parse(&stop, last))
		end = last;
	if (workdays_date_parse(&start, first) || workdays_date_parse(&today, g->today))
		return careid_error_set(CAREID_EINVALID, "bad dates");
	if (!end || workdays_date_parse(&stop, end))
		stop = start;
	rc = chart_days_init(c, start, stop, today);
	if (rc)
		return rc;
	cs = arena_alloc(r->a, (json_array_size(sites) + 1) * sizeof(*cs));
	if (!cs)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	json_array_foreach(sites, i, s)
	{
		if (workdays_date_parse(&cs[n].planned,
		                        json_string_value(json_object_get(s, "planned_date"))))
			continue;
		cs[n++].per_day = figure(json_object_get(s, "auths_per_day"));
	}
	chart_days_plan(c, cs, n);
	/* Sign-ins of the product's Live clients, read by client from the audit
	 * trail; a client id may be registered in other environments too. */
	chart_days_instants(c, &from, &to);
	json_array_foreach(g->clients, i, id)
	{
		struct audit_client_query q = {.client_id = json_string_value(id),
		                               .actions = signins,
		                               .since = from,
		                               .until = to};

		if (!q.client_id)
			continue;
		rc = audit_client_events(r->o->s, &q, signin_count, c);
		if (rc)
			return rc;
	}
	return 0;
}

static json_t *dashboard_json(const struct ob_product *p, const struct golive *g,
                              const struct chart_days *c, json_t *chart)
{
	json_t *series = json_array();
	json_t *o;

	for (int i = 0; series && i < c->n; i++) {
		char date[WORKDAYS_DATE_LEN];

		workdays_date_format(date, chart_date_add(c->from, i));
		json_array_append_new(
		    series, json_pack(i < c->first_future ? "{s:s, s:I, s:I}" : "{s:s, s:I, s:n}",
		                      "date", date, "planned", (json_int_t)c->planned[i], "actual",
		                      (json_int_t)c->actual[i]));
	}
	o = json_pack("{s:s, s:s, s:O, s:O, s:O, s:O, s:O?, s:o, s:O, s:i, s:i, s:i, s:O}",
	              "product_id", p->id, "today", g->today, "from",
	              json_object_get(chart, "from"), "to", json_object_get(chart, "to"), "span",
	              json_object_get(chart, "span"), "capped", json_object_get(chart, "capped"),
	              "capped_text", json_object_get(chart, "capped_text"), "days", series,
	              "totals", json_object_get(chart, "totals"), "sites_planned", g->planned,
	              "sites_live", g->live, "sites_due", g->due, "live_clients", g->clients);
	return o;
}

/* The chart (chart_json()) and the days as JSON for the API. */
static int dashboard(struct ob_req *r, const struct ob_product *p, const struct golive *g,
                     json_t **chart_out, json_t **api_out)
{
	struct chart_days *c = arena_alloc(r->a, sizeof(*c));
	json_t *chart;
	int rc = c ? dashboard_days(r, g, c) : CAREID_ENOMEM;

	if (rc)
		return rc;
	chart = chart_json(c, p->name);
	if (!chart)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (api_out) {
		*api_out = dashboard_json(p, g, c, chart);
		json_decref(chart);
		return *api_out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	*chart_out = chart;
	return 0;
}

static json_t *error_list(const json_t *errors, bool can_mark, size_t choices)
{
	json_t *list = json_array();
	const char *field;
	json_t *v;

	json_object_foreach((json_t *)errors, field, v)
	{
		/* the first radio stands for the choice of site */
		const char *href = !can_mark                       ? "#refusal"
		                   : strcmp(field, "live_on") == 0 ? "#live_on"
		                   : choices                       ? "#site-0"
		                                                   : "#sites";
		json_array_append_new(list, json_pack("{s:s, s:O}", "href", href, "text", v));
	}
	return list;
}

static int golive_page(struct ob_req *r, int status, const struct ob_product *p,
                       const struct golive *g, json_t *values, json_t *errors, const char *notice)
{
	const char *chosen = json_string_value(json_object_get(values, "ods_code"));
	json_t *choices = json_array(), *row;
	size_t i;

	json_array_foreach(g->sites, i, row)
	{
		const char *ods = json_string_value(json_object_get(row, "ods_code"));
		const char *name = json_string_value(json_object_get(row, "name"));

		if (json_is_true(json_object_get(row, "live")) ||
		    !json_is_true(json_object_get(row, "in_plan")) || !ods)
			continue;
		json_array_append_new(
		    choices, json_pack("{s:s, s:s, s:s, s:s, s:b}", "id",
		                       arena_printf(r->a, "site-%zu", json_array_size(choices)),
		                       "ods_code", ods, "name", name ? name : ods, "status_text",
		                       json_string_value(json_object_get(row, "status_text")),
		                       "checked", chosen && strcmp(chosen, ods) == 0));
	}
	if (!json_object_get(values, "live_on"))
		json_object_set_new(values, "live_on", json_string(g->today));
	return ob_page(
	    r, status, "ob_golive",
	    json_pack("{s:s, s:{s:s, s:s}, s:o, s:o, s:b, s:o, s:o, s:o, s:b, s:s?, s:s, s:s?}",
	              "title", arena_printf(r->a, "Go live: %s", p->name), "product", "id", p->id,
	              "name", p->name, "golive", golive_json(p, g), "choices", choices,
	              "has_choices", json_array_size(choices) > 0, "values", values, "errors",
	              errors, "error_list",
	              error_list(errors, mark_refusal(p, g) == NULL, json_array_size(choices)),
	              "has_errors", json_object_size(errors) > 0, "notice", notice, "today_text",
	              words(r, g->today), "live_since_text",
	              g->live_since[0] ? words(r, g->live_since) : NULL));
}

static int dashboard_page(struct ob_req *r, const struct ob_product *p, const struct golive *g)
{
	json_t *chart = NULL;
	int rc = dashboard(r, p, g, &chart, NULL);

	if (rc)
		return rc;
	return ob_page(r, 200, "ob_golive_dashboard",
	               json_pack("{s:s, s:{s:s, s:s}, s:o, s:o, s:s}", "title",
	                         arena_printf(r->a, "Rollout dashboard: %s", p->name), "product",
	                         "id", p->id, "name", p->name, "golive", golive_json(p, g), "chart",
	                         chart, "today_text", words(r, g->today)));
}

int golive_handle(struct ob_req *r, const struct ob_product *p, const char *rest)
{
	bool post = strcmp(r->req->method, "POST") == 0;
	const char *ods, *date, *code = NULL, *marked;
	json_t *errors, *values, *site;
	struct golive g;
	int rc, status = 200;

	if (strcmp(rest, "/golive") != 0 && strcmp(rest, "/golive/dashboard") != 0)
		return ob_error(r, 404, "not_found", "There is no such page.");
	if (strcmp(p->cis2_access, "granted") != 0)
		return ob_error(r, 403, "cis2_not_granted",
		                "CIS2 Authentication must be added to this product first");
	rc = golive_load(r, p, &g);
	if (rc)
		return rc;
	if (strcmp(rest, "/golive/dashboard") == 0)
		return post ? ob_error(r, 405, "method_not_allowed", "The dashboard is read only.")
		            : dashboard_page(r, p, &g);
	if (!post) {
		marked = form_get(&r->req->query, "marked");
		site = marked ? site_find(&g, marked) : NULL;
		return golive_page(
		    r, 200, p, &g, json_object(), json_object(),
		    site && json_is_true(json_object_get(site, "live"))
		        ? arena_printf(r->a, "%s (%s) is marked live from %s.",
		                       json_string_value(json_object_get(site, "name")), marked,
		                       json_string_value(json_object_get(site, "live_on_text")))
		        : NULL);
	}
	ods = form_get(&r->req->form, "ods_code");
	date = form_get(&r->req->form, "live_on");
	errors = json_object();
	rc = errors ? mark_live(r, p, &g, ods, date, errors, &status, &code) : CAREID_ENOMEM;
	if (rc || !json_object_size(errors)) {
		json_decref(errors);
		return rc ? rc
		          : http_redirect(r->res, 303,
		                          arena_printf(r->a,
		                                       "/onboarding/products/%s/golive?marked=%s",
		                                       p->id, form_encode(r->a, ods)));
	}
	values = json_pack("{s:s?, s:s?}", "ods_code", ods, "live_on", date);
	return golive_page(r, status, p, &g, values, errors, NULL);
}

int golive_api(struct ob_req *r, const struct ob_product *p, const char *rest)
{
	const char *m = r->req->method, *code = NULL;
	json_t *body, *errors, *out = NULL;
	struct golive g;
	int rc, status = 200;
	bool get = strcmp(m, "GET") == 0;

	if (strcmp(rest, "/golive") != 0 && strcmp(rest, "/golive/dashboard") != 0 &&
	    strcmp(rest, "/golive/sites") != 0)
		return ob_error(r, 404, "not_found", "There is no such API resource.");
	if (strcmp(p->cis2_access, "granted") != 0)
		return ob_error(r, 403, "cis2_not_granted",
		                "CIS2 Authentication must be added to this product first");
	if (!get && !(strcmp(rest, "/golive/sites") == 0 && strcmp(m, "POST") == 0))
		return ob_error(r, 405, "method_not_allowed",
		                "GET /golive, GET /golive/dashboard, POST /golive/sites.");
	rc = golive_load(r, p, &g);
	if (rc)
		return rc;
	if (get && strcmp(rest, "/golive/dashboard") == 0) {
		rc = dashboard(r, p, &g, NULL, &out);
		return rc ? rc : ob_json(r, 200, out);
	}
	if (get)
		return ob_json(r, 200, golive_json(p, &g));
	body = ob_json_body(r, &rc);
	if (!body)
		return rc;
	if ((json_object_get(body, "ods_code") &&
	     !json_is_string(json_object_get(body, "ods_code"))) ||
	    (json_object_get(body, "live_on") &&
	     !json_is_string(json_object_get(body, "live_on")))) {
		json_decref(body);
		return ob_error(r, 400, "invalid_request",
		                "ods_code must be a string, and live_on a date as \"YYYY-MM-DD\".");
	}
	errors = json_object();
	rc = errors ? mark_live(r, p, &g, json_string_value(json_object_get(body, "ods_code")),
	                        json_string_value(json_object_get(body, "live_on")), errors,
	                        &status, &code)
	            : CAREID_ENOMEM;
	if (!rc && json_object_size(errors)) {
		const char *first = json_string_value(json_object_get(errors, "ods_code"));

		json_decref(body);
		return ob_json(
		    r, status,
		    json_pack("{s:s, s:s, s:o}", "error", code, "message",
		              first ? first : json_string_value(json_object_get(errors, "live_on")),
		              "errors", errors));
	}
	if (!rc)
		rc = golive_load(r, p, &g);
	if (!rc)
		out = json_pack("{s:O?, s:o}", "site",
		                site_find(&g, json_string_value(json_object_get(body, "ods_code"))),
		                "golive", golive_json(p, &g));
	json_decref(body);
	json_decref(errors);
	return rc ? rc : ob_json(r, 201, out);
}
